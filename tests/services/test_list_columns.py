"""The columns each user hides in each list of the screens (users.list_columns, migration
0012): kept with the user beside the number format, one user's choice never another's, names
checked. Both backends."""

from __future__ import annotations

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import inspect

from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.migrations import alembic_config, schema_differences, upgrade_to_head
from northwind_app.services import auth, users
from northwind_app.services.auth import SYSTEM
from northwind_app.services.errors import Forbidden, Invalid


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def demo_db(empty_db):
    with session_scope(empty_db, write=True) as session:
        users.create_demo_users(session, SYSTEM)
    return empty_db


def _actor(url: str, username: str) -> auth.Actor:
    with session_scope(url) as session:
        return auth.actor_of(users.find_user(session, username))


def _set(url: str, actor: auth.Actor, name, hidden) -> dict:
    with session_scope(url, write=True) as session:
        return users.set_list_columns(session, actor, name, hidden)


def _get(url: str, actor: auth.Actor) -> dict:
    with session_scope(url) as session:
        return users.list_columns(session, actor)


def test_each_user_keeps_their_own_hidden_columns_per_list(demo_db):
    sales, viewer = _actor(demo_db, "sales"), _actor(demo_db, "viewer")
    assert _get(demo_db, sales) == {}  # every column shown until a choice is made
    assert _set(demo_db, sales, "orders", ["employee", "shipper"]) == {
        "orders": ["employee", "shipper"]}
    _set(demo_db, sales, "customer_orders", ["ship_country", "ship_country"])  # once each
    _set(demo_db, viewer, "orders", ["total"])
    assert _get(demo_db, sales) == {"orders": ["employee", "shipper"],
                                    "customer_orders": ["ship_country"]}
    assert _get(demo_db, viewer) == {"orders": ["total"]}
    # Showing every column again forgets the list.
    assert _set(demo_db, sales, "orders", []) == {"customer_orders": ["ship_country"]}
    assert _get(demo_db, sales) == {"customer_orders": ["ship_country"]}
    assert _get(demo_db, SYSTEM) == {}


@pytest.mark.parametrize(("name", "hidden", "field"), [
    ("Orders", ["employee"], "list"),                  # names are lower case
    ("orders; drop", ["employee"], "list"),
    ("x" * 65, ["employee"], "list"),
    (None, ["employee"], "list"),
    ("orders", "employee", "hidden"),                  # a list of names, not a text
    ("orders", ["<b>employee</b>"], "hidden"),
    ("orders", ["employee{display:block}"], "hidden"),  # nothing that is not a name
    ("orders", [1], "hidden"),
    ("orders", ["c"] * (users.MAX_HIDDEN_COLUMNS + 1), "hidden"),
])
def test_names_are_checked(demo_db, name, hidden, field):
    sales = _actor(demo_db, "sales")
    with pytest.raises(Invalid) as refused:
        _set(demo_db, sales, name, hidden)
    assert field in refused.value.fields
    assert _get(demo_db, sales) == {}


def test_lists_kept_are_bounded_and_the_system_has_none(demo_db):
    sales = _actor(demo_db, "sales")
    for index in range(users.MAX_LISTS):
        _set(demo_db, sales, f"list_{index}", ["a"])
    with pytest.raises(Invalid):
        _set(demo_db, sales, "one_more", ["a"])
    _set(demo_db, sales, "list_0", ["b"])  # a list already kept may change
    assert _get(demo_db, sales)["list_0"] == ["b"]
    with pytest.raises(Forbidden):
        _set(demo_db, SYSTEM, "orders", ["employee"])


def test_migration_0012_adds_the_column_and_runs_again(empty_db):
    """MariaDB does not roll back DDL: 0012 checks before each step."""
    config, engine = alembic_config(empty_db), get_engine(empty_db)

    def columns() -> set[str]:
        inspect(engine).clear_cache()
        return {c["name"] for c in inspect(engine).get_columns("users")}

    command.downgrade(config, "0011")
    assert "list_columns" not in columns()
    command.stamp(config, "0012")  # as if upgraded, but the column is not there
    command.downgrade(config, "0011")
    upgrade_to_head(empty_db)
    assert "list_columns" in columns() and schema_differences(engine) == []
    command.stamp(config, "0011")  # every step done, the version not written
    upgrade_to_head(empty_db)
    assert schema_differences(engine) == []
