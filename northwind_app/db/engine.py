"""The process-wide SQLAlchemy engine and session factory.

SQLite runs with foreign keys on, WAL journaling and a busy timeout; MySQL/MariaDB gets a
connection pool with pre-ping and recycle. Sessions are synchronous: async callers (Reflex
event handlers) run service functions through `asyncio.to_thread`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from northwind_app.settings import settings

T = TypeVar("T")
# Per worker process: FastAPI's 40 request threads plus Reflex's event-handler threads.
POOL_SIZE = 20
POOL_OVERFLOW = 40


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_pre_ping=False,
            # More connections than request threads (FastAPI runs sync endpoints on 40), so a
            # request never waits for a connection held by a thread that is itself waiting.
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, issue BEGIN so that transactions are real.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in url and "mode=memory" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades.
            write = connection.get_execution_options().get("nw_write")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        isolation_level="READ COMMITTED",
    )


_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}


def get_engine(url: str | None = None) -> Engine:
    """The shared engine of a URL (default: the configured database)."""
    url = url or settings.database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def _factory(url: str) -> sessionmaker[Session]:
    if url not in _factories:
        _factories[url] = sessionmaker(bind=get_engine(url), class_=Session, expire_on_commit=False)
    return _factories[url]


DEADLOCK_CODES = {1205, 1213}  # MySQL/MariaDB: lock wait timeout, deadlock


def write_transaction(fn: Callable[[Session], T], url: str | None = None, retries: int = 3) -> T:
    """Run `fn(session)` in one write transaction, retrying it after a deadlock."""
    for attempt in range(retries + 1):
        try:
            with session_scope(url, write=True) as session:
                return fn(session)
        except OperationalError as exc:
            code = getattr(exc.orig, "args", [None])[0]
            if code not in DEADLOCK_CODES or attempt == retries:
                raise
    raise AssertionError("unreachable")


def dispose_engine(url: str) -> None:
    """Close and forget one URL's engine (tests do this before dropping a database)."""
    _factories.pop(url, None)
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def new_session(url: str | None = None) -> Session:
    """An unstarted session (no I/O until its first query); `begin` and `finish` it."""
    return _factory(url or settings.database_url)()


def begin(session: Session, *, write: bool = False) -> None:
    """Start `session`'s transaction; `write=True` marks one that will write: on SQLite it
    starts with BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-way."""
    if write:
        session.connection(execution_options={"nw_write": True})


def finish(session: Session, error: BaseException | None = None) -> None:
    """End `session`: commit it, or roll it back after `error`; then close it."""
    try:
        if error is None:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def session_scope(url: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    `write=True` marks a transaction that will write; on SQLite it starts with
    BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-transaction.
    """
    session = new_session(url)
    try:
        begin(session, write=write)
        yield session
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session)
