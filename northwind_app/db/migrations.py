"""Running Alembic from code: bring a database to head, and compare it with the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context, op
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, inspect

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
