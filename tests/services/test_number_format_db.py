"""Each user's number format in the database (users.number_format, migration 0010): taken from
the browser's languages at the first sign-in only, changed by its owner (or an admin), audited,
carried by the verified session's actor. Both backends."""

from __future__ import annotations

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.migrations import alembic_config, schema_differences, upgrade_to_head
from northwind_app.db.models import AuditEntry, User
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


def _sign_in(url: str, username: str, language: str) -> tuple[auth.Actor, str]:
    """What the login page does (pages/login.py `_sign_in`)."""
    with session_scope(url, write=True) as session:
        actor = auth.authenticate(session, username, f"northwind-{username}",
                                  address="192.0.2.1")
        actor = users.default_number_format(session, actor, language)
        return actor, auth.start_session(session, actor)


def _stored(url: str, username: str) -> str | None:
    with session_scope(url) as session:
        return session.execute(select(User.number_format)
                               .where(User.username == username)).scalar_one()


def test_first_sign_in_takes_the_browsers_format_and_only_the_first(demo_db):
    assert _stored(demo_db, "sales") is None  # nobody has chosen yet
    actor, token = _sign_in(demo_db, "sales", "de-DE,de;q=0.9,en;q=0.8")
    assert actor.number_format == "de" and _stored(demo_db, "sales") == "de"
    with session_scope(demo_db, write=True) as session:  # the screens' identity carries it
        assert auth.session_actor(session, token).number_format == "de"
    actor, _ = _sign_in(demo_db, "sales", "fr-FR")  # a later sign-in keeps the user's choice
    assert actor.number_format == "de" and _stored(demo_db, "sales") == "de"
    actor, _ = _sign_in(demo_db, "viewer", "")  # no languages: English
    assert actor.number_format == "en" and _stored(demo_db, "viewer") == "en"


def test_users_change_their_own_format_and_it_is_audited(demo_db):
    with session_scope(demo_db, write=True) as session:
        sales = users.find_user(session, "sales")
        viewer = users.find_user(session, "viewer")
        sales_actor, viewer_id = auth.actor_of(sales), viewer.user_id
        changed = users.set_number_format(session, sales_actor, sales.user_id, "fr")
        assert changed.number_format == "fr"
        with pytest.raises(Invalid) as refused:
            users.set_number_format(session, sales_actor, sales.user_id, "1.234,56")
        assert refused.value.fields == {"number_format": "must be one of: en, de, fr"}
        with pytest.raises(Forbidden):  # not someone else's
            users.set_number_format(session, sales_actor, viewer_id, "de")
        admin = auth.actor_of(users.find_user(session, "admin"))
        assert users.set_number_format(session, admin, viewer_id, "de") == admin  # an admin may
    assert (_stored(demo_db, "sales"), _stored(demo_db, "viewer")) == ("fr", "de")
    with session_scope(demo_db) as session:
        entries = session.execute(select(AuditEntry.username, AuditEntry.changes)
                                  .where(AuditEntry.entity == "user", AuditEntry.action == "update")
                                  .order_by(AuditEntry.audit_id)).all()
    assert [(e.username, e.changes) for e in entries] == [
        ("sales", {"number_format": [None, "fr"]}), ("admin", {"number_format": [None, "de"]})]


def test_migration_0010_adds_the_column_and_runs_again(empty_db):
    """MariaDB does not roll back DDL: 0010 checks before each step, so a run whose version
    was not written (or a second downgrade) does no harm."""
    config, engine = alembic_config(empty_db), get_engine(empty_db)

    def columns() -> set[str]:
        inspect(engine).clear_cache()
        return {c["name"] for c in inspect(engine).get_columns("users")}

    command.downgrade(config, "0009")
    assert "number_format" not in columns()
    command.stamp(config, "0010")  # as if upgraded, but the column is not there
    command.downgrade(config, "0009")
    upgrade_to_head(empty_db)
    assert "number_format" in columns() and schema_differences(engine) == []
    command.stamp(config, "0009")  # every step done, the version not written
    upgrade_to_head(empty_db)
    assert schema_differences(engine) == []
