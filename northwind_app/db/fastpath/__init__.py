"""The MariaDB fast path: every trick that reads rows faster than SQLAlchemy's usual way, in
one place. Services build SQLAlchemy statements and read them through these functions; what
they get is what running the statement gives (values, types, order), however it was read.

- `fetch_rows(session, stmt, params)`: every row of a statement reading a bounded set of rows
  (a page's rows by their ids); `few_rows=True` for a handful of rows of many columns (an
  order's detail);
- `fetch_rows_and_scalar(session, stmt, params, scalar)`: the same and one more value (a
  list's count) in one round trip;
- `fetch_values(session, stmt, params)`: a statement's one column as a set (a page's ids);
- `kept_statements`: a decorator keeping the statements a function builds (a list view's), so
  that a request costs no statement building and SQLAlchemy finds their compiled SQL at once;
- `per_database(session, sqlite=..., mysql=...)`: a tuning value that depends on the engine.

On MySQL/MariaDB a statement met more than once gets a plan (plans.py): sent by PyMySQL
itself, and read as one JSON value built by the server (json_rows.py) or as the driver's rows
(few rows). Everywhere else (SQLite, whose driver is C), for a statement met once, or one
selecting a type without a known JSON form, the statement simply runs. Every use of another
library's private API is in northwind_app/private_apis.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.sql import Select
from sqlmodel import Session

from northwind_app.db.fastpath.json_rows import JsonPlan, ValuesPlan
from northwind_app.db.fastpath.plans import STORE, PlainPlan

__all__ = ["STATEMENTS_KEPT", "fetch_rows", "fetch_rows_and_scalar", "fetch_values",
           "kept_statements", "per_database"]

# How many sets of built statements a `kept_statements` function keeps (the most recently
# used): a list's views (filters and sort) that people page through.
STATEMENTS_KEPT = 256

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def kept_statements(build: F) -> F:
    """`build` (a function of hashable arguments returning statements), its results kept for
    the STATEMENTS_KEPT most recently used arguments. Statements kept this way are met again
    and so read by their plans."""
    return functools.lru_cache(maxsize=STATEMENTS_KEPT)(build)  # type: ignore[return-value]


def per_database(session: Session, *, sqlite: T, mysql: T) -> T:
    """The value for the session's database engine (a threshold tuned per engine)."""
    return sqlite if session.get_bind().dialect.name == "sqlite" else mysql


def fetch_rows(session: Session, stmt: Select, params: Mapping[str, Any] | None = None, *,
               few_rows: bool = False) -> Sequence:
    """Every row of `stmt` (a bounded set of rows) in its order. `few_rows`: a handful of
    rows (an order's lines), for which building JSON costs the server more than it saves."""
    dialect = session.get_bind().dialect
    connection = session.connection()  # Core execution: no ORM result layer for plain rows
    if few_rows:
        plain = STORE.get("plain", stmt, None, dialect, lambda: PlainPlan(stmt, dialect))
        rows = None if plain is None else plain.rows(connection, params)
        return connection.execute(stmt, params).all() if rows is None else rows
    plan = STORE.get("rows", stmt, None, dialect, lambda: JsonPlan(stmt, dialect, None))
    if plan is None:
        return connection.execute(stmt, params).all()
    return plan.read(connection, params)


def fetch_rows_and_scalar(session: Session, stmt: Select, params: Mapping[str, Any] | None,
                          scalar: Select) -> tuple[Sequence, Any]:
    """`fetch_rows(session, stmt, params)` and the value of `scalar` (a statement of one
    value, e.g. the count of a list's matches, taking the same parameters), in one statement
    on MySQL/MariaDB (a scalar subquery beside the rows), in two elsewhere."""
    dialect = session.get_bind().dialect
    plan = STORE.get("rows", stmt, scalar, dialect, lambda: JsonPlan(stmt, dialect, scalar))
    connection = session.connection()
    if plan is None:
        rows = connection.execute(stmt, params).all()
        return rows, connection.execute(scalar, params).scalar_one()
    return plan.read_with_scalar(connection, params)


def fetch_values(session: Session, stmt: Select,
                 params: Mapping[str, Any] | None = None) -> list:
    """The values of `stmt`'s one column, IN NO PARTICULAR ORDER (a set, e.g. a page's ids,
    whose rows a statement with the ORDER BY then reads)."""
    dialect = session.get_bind().dialect
    plan = STORE.get("values", stmt, None, dialect, lambda: ValuesPlan(stmt, dialect))
    connection = session.connection()
    if plan is None:
        return list(connection.execute(stmt, params).scalars())
    return plan.values(connection, params)
