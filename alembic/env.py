"""Alembic environment: targets the SQLModel metadata, reads the app's database URL."""

from __future__ import annotations

from alembic import context

from northwind_app.db import models  # noqa: F401 - registers every table
from northwind_app.db.engine import Timeouts, make_engine
from northwind_app.db.migrations import configure_kwargs
from northwind_app.settings import settings

config = context.config
target_metadata = models.metadata


def _url() -> str:
    return config.attributes.get("database_url") or settings.database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **configure_kwargs(target_metadata))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **configure_kwargs(target_metadata))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url(), timeouts=Timeouts.bulk())  # a migration may run for minutes
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **configure_kwargs(target_metadata))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
