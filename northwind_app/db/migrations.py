"""Running Alembic from code: bring a database to head, and compare it with the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context, op
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, inspect, text

from northwind_app.db import models
from northwind_app.db.types import ExactDecimal
from northwind_app.settings import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def _compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Compare ExactDecimal by what it is on this dialect (BIGINT on SQLite, DECIMAL elsewhere)."""
    if isinstance(metadata_type, ExactDecimal):
        impl = metadata_type.load_dialect_impl(context.dialect)
        return context.impl.compare_type(inspected_column, Column(metadata_column.name, impl))
    return None  # default comparison


def _render_item(type_, obj, autogen_context):
    if type_ == "type" and isinstance(obj, ExactDecimal):
        autogen_context.imports.add("from northwind_app.db.types import ExactDecimal")
        return repr(obj)
    if type_ == "type" and obj.__class__.__module__.startswith("sqlmodel"):
        autogen_context.imports.add("import sqlmodel")
    return False


def column_names(table: str, offline: set[str]) -> set[str]:
    """For a migration step that must be re-runnable (MariaDB commits each DDL statement at
    once, so an interrupted run leaves part of a step done): the columns `table` has now;
    offline (no database to ask: `alembic upgrade --sql`), `offline`, the state the step
    assumes."""
    if context.is_offline_mode():
        return offline
    return {column["name"] for column in inspect(op.get_bind()).get_columns(table)}


def _inspector():
    return inspect(op.get_bind())  # a new one each time: the schema changes under it


def table_exists(table: str) -> bool:
    """Whether `table` exists now (offline: no, the step runs)."""
    return not context.is_offline_mode() and _inspector().has_table(table)


def index_exists(table: str, name: str) -> bool:
    """Whether `table` has an index `name` now (offline: no)."""
    if context.is_offline_mode() or not _inspector().has_table(table):
        return False
    return any(index["name"] == name for index in _inspector().get_indexes(table))


def index_columns(table: str, name: str) -> list[str] | None:
    """The columns of `table`'s index `name`, None if there is none (offline: None)."""
    if context.is_offline_mode() or not _inspector().has_table(table):
        return None
    for index in _inspector().get_indexes(table):
        if index["name"] == name:
            return list(index["column_names"])
    return None


def trigger_exists(name: str) -> bool:
    """Whether a trigger `name` exists in the database now (offline: no)."""
    if context.is_offline_mode():
        return False
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = :name"
    else:
        sql = ("SELECT COUNT(*) FROM information_schema.TRIGGERS "
               "WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = :name")
    return bool(bind.execute(text(sql), {"name": name}).scalar())


# Re-runnable steps (MariaDB and MySQL commit each DDL statement at once, so a migration that
# fails halfway leaves its first steps done and its revision not recorded: the next run
# starts it again). Each does its work only if it is not done yet. Inspected, not
# `IF NOT EXISTS`: MySQL has no CREATE INDEX IF NOT EXISTS. Offline (`alembic upgrade
# --sql`) every step is written out.

def create_table(name: str, *columns, **kw) -> None:
    if not table_exists(name):
        op.create_table(name, *columns, **kw)


def create_index(name: str, table: str, columns: list[str], **kw) -> None:
    if not index_exists(table, name):
        op.create_index(name, table, columns, **kw)


def drop_index(name: str, table: str) -> None:
    if context.is_offline_mode() or index_exists(table, name):
        op.drop_index(name, table_name=table)


def drop_table(name: str) -> None:
    if context.is_offline_mode() or table_exists(name):
        op.drop_table(name)


def add_column(table: str, column: Column) -> None:
    if column.name not in column_names(table, set()):
        op.add_column(table, column)


def configure_kwargs(target_metadata) -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": _compare_type,
        "render_item": _render_item,
        "render_as_batch": True,
    }


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT) / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def schema_differences(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models (empty = parity)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": _compare_type}
        )
        return compare_metadata(context, models.metadata)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
