"""Alembic owns the schema: the migrated database matches the models on every backend."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import inspect, text

from northwind_app.db.engine import get_engine
from northwind_app.db.migrations import current_revision, schema_differences
from northwind_app.db.models import LOAD_ORDER
from northwind_app.settings import PROJECT_ROOT
from tests import dbutil


@pytest.fixture
def migrated_db(backend, tmp_path):
    """A database brought to head by running the migrations (not a copy of the template)."""
    db = dbutil.TestDatabase(backend, tmp_path).run_migrations()
    yield db.url
    db.drop()


def _schema(url: str) -> dict:
    """Everything a database's schema is made of, as the database itself shows it (DDL of
    every table, view and trigger) plus the Alembic revision."""
    engine = get_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Batch migrations rebuild tables with their constraints in no fixed order.
            objects = {(kind, name): sorted(line.strip().rstrip(",") for line in
                                            (sql or "").splitlines())
                       for kind, name, sql in conn.execute(text(
                           "SELECT type, name, sql FROM sqlite_master "
                           "WHERE name NOT LIKE 'sqlite_%'"))}
        else:
            database = conn.execute(text("SELECT DATABASE()")).scalar()
            objects = {}
            for name, kind in conn.execute(text(
                    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE()")):
                what = "VIEW" if kind == "VIEW" else "TABLE"
                create = conn.execute(text(f"SHOW CREATE {what} `{name}`")).one()[1]
                # The AUTO_INCREMENT counter is data, compared below with the rows.
                objects[(what, name)] = " ".join(
                    part for part in create.replace(f"`{database}`.", "").split()
                    if not part.startswith("AUTO_INCREMENT="))
            for (name,) in conn.execute(text(
                    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                    "WHERE TRIGGER_SCHEMA = DATABASE()")):
                row = conn.execute(text(f"SHOW CREATE TRIGGER `{name}`")).mappings().one()
                objects[("TRIGGER", name)] = (row["sql_mode"], row["SQL Original Statement"])
        objects["revision"] = current_revision(engine)
    return objects


def test_migrated_schema_matches_models(migrated_db):
    engine = get_engine(migrated_db)
    assert current_revision(engine) is not None
    assert schema_differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert {model.__tablename__ for model in LOAD_ORDER} <= tables


def test_test_databases_are_exact_copies_of_a_migrated_database(migrated_db, empty_db,
                                                                classic_db):
    """The tests' databases are copies of templates (tests/dbutil.py): they must have every
    table, index, foreign key, view and trigger that migrating gives, and the revision."""
    schema = _schema(migrated_db)
    assert [key for key in schema if key[0] in ("TRIGGER", "trigger")]  # 0008's triggers
    assert _schema(empty_db) == schema
    assert _schema(classic_db) == schema


def test_classic_copies_hold_the_rows_and_counters(classic_db):
    """A copy holds the classic rows, its triggers' rows, and AUTO_INCREMENT counters that
    continue after them, so the next order gets a number after the last one's (not
    necessarily the next one: a Galera node steps them by the node count)."""
    with get_engine(classic_db).begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM orders")).scalar() == 830
        assert conn.execute(text("SELECT COUNT(*) FROM order_search_values")).scalar() > 0
        new = conn.execute(text("INSERT INTO shippers (company_name) VALUES ('Next')")).lastrowid
        assert new > 3 and conn.execute(text(
            "SELECT MAX(shipper_id) FROM shippers")).scalar() == new


def test_parity_check_detects_drift(empty_db):
    """The parity test above can fail: a dropped index is reported as a difference."""
    engine = get_engine(empty_db)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP INDEX ix_orders_order_date_id"))
        else:
            conn.execute(text("ALTER TABLE orders DROP INDEX ix_orders_ship_country"))
    differences = schema_differences(engine)
    assert any(diff[0] == "add_index" for diff in differences)


def test_list_screen_indexes_exist(empty_db):
    indexes = {ix["name"] for ix in inspect(get_engine(empty_db)).get_indexes("orders")}
    assert {"ix_orders_order_date_id", "ix_orders_customer_status", "ix_orders_employee_status",
            "ix_orders_ship_via_status", "ix_orders_shipped_required", "ix_orders_total_id"} <= indexes


def test_money_columns_are_decimal_on_mariadb_and_integer_on_sqlite(empty_db):
    columns = {c["name"]: c["type"] for c in inspect(get_engine(empty_db)).get_columns("order_details")}
    kind = str(columns["unit_price"]).upper()
    if empty_db.startswith("sqlite"):
        assert kind == "BIGINT"
    else:
        assert kind.startswith("DECIMAL(19, 4)")
        assert str(columns["discount"]).upper().startswith("DECIMAL(5, 4)")


def test_reflex_db_migrate_brings_empty_database_to_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'reflex-migrate.db'}"
    env = {**os.environ, "NORTHWIND_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "reflex", "db", "migrate"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    engine = get_engine(url)
    assert current_revision(engine) is not None
    assert schema_differences(engine) == []
