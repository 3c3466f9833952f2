"""Alembic owns the schema: the migrated database matches the models on every backend."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import inspect, text

from northwind_app.db.engine import get_engine
from northwind_app.db.migrations import current_revision, schema_differences
from northwind_app.db.models import LOAD_ORDER
from northwind_app.settings import PROJECT_ROOT


def test_migrated_schema_matches_models(empty_db):
    engine = get_engine(empty_db)
    assert current_revision(engine) is not None
    assert schema_differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert {model.__tablename__ for model in LOAD_ORDER} <= tables


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
