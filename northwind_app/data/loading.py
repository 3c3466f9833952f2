"""Helpers shared by the loaders: emptiness checks, replacing data, batched inserts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from northwind_app.db.models import (
    LOAD_ORDER, ROLLUPS, SEARCH_TABLES, Customer, Order, OrderSearchValue, Product, User,
)
from northwind_app.services.orders import SEARCH_VALUE_COLUMNS

# Set in a session, pauses migration 0008's MariaDB triggers that add the searched values of
# the orders and customers written (see search_values_paused).
SEARCH_VALUES_PAUSED = "@northwind_search_values_paused"


class NotEmptyError(RuntimeError):
    """The target database already has data and replacing it was not asked for."""


def data_counts(conn: Connection) -> dict[str, int]:
    return {
        model.__tablename__: conn.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Order, Customer, Product)
    }


def is_empty(conn: Connection) -> bool:
    return not any(
        conn.execute(select(model.__table__).limit(1)).first() for model in LOAD_ORDER
    )


def ensure_empty_or_replace(conn: Connection, replace: bool) -> None:
    """Refuse to load into a database that has data, unless `replace` is set."""
    if is_empty(conn):
        return
    if not replace:
        counts = ", ".join(f"{n:,} {table}" for table, n in data_counts(conn).items())
        raise NotEmptyError(
            f"The database is not empty ({counts}). Nothing was loaded. "
            "Run again with --replace to delete all Northwind data and load afresh."
        )
    clear_all(conn)


def clear_all(conn: Connection) -> None:
    """Delete every Northwind row (children first), inside the caller's transaction.
    Accounts and the audit trail stay; accounts lose their link to a (deleted) employee."""
    conn.execute(update(User).values(employee_id=None))
    # The search's values too (deletes leave them; the load's inserts add them back).
    derived = [*ROLLUPS, *SEARCH_TABLES]
    if conn.dialect.name == "sqlite":
        for model in [*derived, *reversed(LOAD_ORDER)]:
            conn.execute(delete(model))
        return
    # MariaDB/MySQL: TRUNCATE would commit implicitly; DELETE keeps it one transaction.
    conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
    try:
        for model in [*derived, *reversed(LOAD_ORDER)]:
            conn.execute(delete(model))
    finally:
        conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def batched(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_rows(conn: Connection, model, rows: Iterable[dict], batch_size: int = 5000) -> int:
    count = 0
    table = model.__table__
    for batch in batched(rows, batch_size):
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


# Rows per INSERT statement of `insert_written` (a 10,000-order batch's lines are ~1 MB of SQL).
ROWS_PER_STATEMENT = 5000
_WRITTEN: dict[type, Callable[[Any], str]] = {
    int: str,
    Decimal: lambda value: format(value, "f"),  # as PyMySQL writes a Decimal
    dt.date: lambda value: f"'{value.isoformat()}'",
    type(None): lambda _value: "NULL",
}


def insert_written(conn: Connection, model, rows: list[dict]) -> None:
    """Insert `rows` (all with the same keys) as `conn.execute(table.insert(), rows)` does,
    with each column's bind processing, but on PyMySQL with the values written into the SQL
    here: PyMySQL's executemany writes each value through several Python calls (for the 1M
    demo orders, 30M values: most of the generator's Python time). Strings and any other
    type are still written by the driver's own `escape`; other drivers get the plain
    executemany."""
    table = model.__table__
    if not rows:
        return
    if conn.dialect.driver != "pymysql":
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    processors = [column.type._cached_bind_processor(conn.dialect) for column in columns]
    escape = conn.connection.dbapi_connection.escape
    written = _WRITTEN
    head = (f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} ("
            + ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in columns)
            + ") VALUES ")
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        values = []
        for row in rows[start:start + ROWS_PER_STATEMENT]:
            items = []
            for name, process in zip(names, processors):
                value = row[name]
                if process is not None:
                    value = process(value)
                write = written.get(type(value))
                items.append(write(value) if write is not None else escape(value))
            values.append("(" + ",".join(items) + ")")
        # The driver %-formats the statement even without parameters: a % is written %%.
        conn.exec_driver_sql((head + ",".join(values)).replace("%", "%%"))


@contextmanager
def references_unchecked(conn: Connection) -> Iterator[None]:
    """Inserts inside without MariaDB/MySQL checking each row's foreign keys (the session's
    foreign_key_checks, as mysqldump's output does), for rows whose references are right by
    construction: the demo generator's (tests/db/test_loaders.py checks every foreign key of a
    generated database). Measured on MariaDB: 200,000 orders ~5% faster, 1M orders 183 s ->
    142-168 s (the checked parents outgrow the buffer pool). The session's setting is restored
    however the block ends, so it never outlives the load in a pooled connection. On SQLite
    the rows stay checked (its foreign-key pragma cannot change inside a transaction)."""
    if conn.dialect.name == "sqlite":
        yield
        return
    before = conn.exec_driver_sql("SELECT @@SESSION.foreign_key_checks").scalar_one()
    conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"SET SESSION foreign_key_checks = {int(before)}")


@contextmanager
def search_values_paused(conn: Connection) -> Iterator[Callable[[Any, list[dict]], None]]:
    """Bulk inserts inside, each batch of rows also given to the function it yields
    (`add(model, rows)`): the values the search keeps (order_search_values) are inserted at
    the end, once each, instead of by migration 0008's triggers row by row (those add 13-17%
    to the 1M-order generation on MariaDB, 39% on SQLite).

    MariaDB's triggers skip their inserts while SEARCH_VALUES_PAUSED is set in the session (a
    check per row); it is cleared however the block ends, so it never outlives the load in a
    pooled connection. SQLite has no session variables but transactional DDL: the triggers
    are dropped and created again from their own stored SQL, in the load's transaction (a
    failed load rolls back to them). The values come from the rows given, not from the
    tables: reading a million rows the transaction has just written back through a secondary
    index costs InnoDB a clustered lookup per row (slower than the triggers)."""
    dialect = conn.dialect.name
    tables = {c.table.name for c in SEARCH_VALUE_COLUMNS}
    found: dict[str, set[str]] = {column.key: set() for column in SEARCH_VALUE_COLUMNS}

    def add(model, rows: list[dict]) -> None:
        for key in [c.key for c in SEARCH_VALUE_COLUMNS if c.table.name == model.__tablename__]:
            found[key].update(row[key] for row in rows if row.get(key) is not None)

    triggers = []
    if dialect == "sqlite":
        triggers = conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE "
            "'%search_values%' AND tbl_name IN (" + ", ".join(f"'{t}'" for t in tables) + ")"
        )).all()
        for name, _sql in triggers:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    else:
        conn.exec_driver_sql(f"SET {SEARCH_VALUES_PAUSED} = 1")
    try:
        yield add
    finally:
        if dialect == "sqlite":
            for _name, sql in triggers:
                conn.exec_driver_sql(sql)
        else:
            conn.exec_driver_sql(f"SET {SEARCH_VALUES_PAUSED} = NULL")
    values = [{"kind": kind, "value": value}
              for kind, distinct in found.items() for value in sorted(distinct)]
    ignore = "OR IGNORE" if dialect == "sqlite" else "IGNORE"
    for batch in batched(values, 5000):  # the trigger on the table adds their trigrams
        conn.execute(insert(OrderSearchValue).prefix_with(ignore), batch)


def analyze(conn: Connection) -> None:
    """Refresh the optimizer's statistics after a bulk load (stale ones pick bad plans)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")
    else:
        names = ", ".join(model.__tablename__ for model in [*LOAD_ORDER, *ROLLUPS, *SEARCH_TABLES])
        conn.exec_driver_sql(f"ANALYZE TABLE {names}").all()


def has_users(conn: Connection) -> bool:
    return conn.execute(select(User.user_id).limit(1)).first() is not None


def add_demo_users(conn: Connection) -> list[str]:
    """The documented demo accounts (admin, sales, viewer; see README) that are missing, in
    the caller's transaction. Only with demo data or when asked (--demo-users)."""
    from sqlmodel import Session

    from northwind_app.services.auth import SYSTEM
    from northwind_app.services.users import create_demo_users

    with Session(bind=conn) as session:
        created = create_demo_users(session, SYSTEM)
        session.flush()
    return created
