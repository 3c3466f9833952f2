"""Helpers shared by the loaders: emptiness checks, replacing data, batched inserts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import Connection, delete, func, select, text, update

from northwind_app.db.models import LOAD_ORDER, ROLLUPS, Customer, Order, Product, User


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
    if conn.dialect.name == "sqlite":
        for model in [*ROLLUPS, *reversed(LOAD_ORDER)]:
            conn.execute(delete(model))
        return
    # MariaDB/MySQL: TRUNCATE would commit implicitly; DELETE keeps it one transaction.
    conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
    try:
        for model in [*ROLLUPS, *reversed(LOAD_ORDER)]:
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


def analyze(conn: Connection) -> None:
    """Refresh the optimizer's statistics after a bulk load (stale ones pick bad plans)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")
    else:
        names = ", ".join(model.__tablename__ for model in [*LOAD_ORDER, *ROLLUPS])
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
