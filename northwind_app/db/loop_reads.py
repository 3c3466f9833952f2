"""Reads on the event loop: the API's two hottest GETs (api/lean.py) run their service call on
the worker's own event loop, through asyncmy, instead of in a worker thread through PyMySQL.

Why (issue #25, bench/README.md): a worker thread per read costs more than the read. Under
load the request's coroutine hands the read to a thread and waits for it (anyio's hop: ~90 µs
of CPU in-process), and the loop and the threads then contend for the GIL, which the
production server's per-thread CPU showed as ~290 µs in the worker threads per GET by id
against ~150 µs of actual driver work. Awaiting the same read on the loop does not block the
loop (asyncmy waits for the server asynchronously), so the worker serves other requests and
websockets meanwhile: GET by id went from 561–633 to 378–379 µs of server CPU per request.

How, without a second copy of any service: the service function runs unchanged inside
SQLAlchemy's `greenlet_spawn`, given a `LoopSession` that offers what the read services use
(`connection()`, `get_bind()`); the fast path (db/fastpath/) sends the statements it has a plan
for through `connection.connection.dbapi_connection`, which here is an asyncmy connection whose
every call is awaited on the loop (`await_only`). So the statements, their SQL, the values
written into them (by the connection's own `escape`), the rows' types (asyncmy converts as
PyMySQL does) and the rules applied to them are the thread path's. Whatever needs more than a
planned statement — a statement met for the first time (its plan is built the second time it
is met, in the thread path), SQLAlchemy's own execution — raises `NotOnTheLoop`, and the caller
runs the call in a thread as before.

Where it applies: MySQL/MariaDB through PyMySQL on this machine (a loopback host, no URL
options but the charset): the thread path's connections may use TLS to a remote server
("preferred"), which these connections would not, so a remote database keeps the thread path.
Each connection is like the read engine's: autocommit, the same session settings
(`engine.session_settings`: read only, `group_concat_max_len`); a read waits at most the
configured read timeout (`DatabaseTimeout`, which the API answers 503 as it answers a hung
database), and a connection that failed in any way is closed, never reused.
NORTHWIND_LOOP_READS=0 turns it off (to measure one path against the other).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import asyncmy
from sqlalchemy.engine import Engine, make_url

from northwind_app import private_apis
from northwind_app.db.engine import Timeouts, get_engine, session_settings
from northwind_app.services.errors import ServiceError
from northwind_app.settings import settings

T = TypeVar("T")

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class NotOnTheLoop(Exception):
    """The call needs what only the thread path offers (a statement without a plan, an ORM
    query): run it in a worker thread."""


class DatabaseTimeout(Exception):
    """The database did not answer within the read timeout (hung or overloaded)."""


def eligible(url: str) -> bool:
    """Whether reads of `url` may run on the loop (see the module's docstring)."""
    parsed = make_url(url)
    return (parsed.get_backend_name() == "mysql" and parsed.get_driver_name() == "pymysql"
            and (parsed.host or "") in _LOOPBACK
            and set(parsed.query) <= {"charset"})


class LoopReads:
    """The loop reads of one database URL: one small asyncmy pool per event loop (per worker)."""

    def __init__(self, url: str):
        self.url = url
        # Fixed for the URL's life, as its engines' are (db/engine.py's get_engine).
        self.timeouts = Timeouts.configured()
        parsed = make_url(url)
        self.connect_args = dict(
            host=parsed.host, port=parsed.port or 3306, user=parsed.username or "",
            password=parsed.password or "", db=parsed.database,
            charset=parsed.query.get("charset", "utf8mb4"), autocommit=True)
        self.pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = \
            weakref.WeakKeyDictionary()
        self.ready: weakref.WeakSet[Any] = weakref.WeakSet()  # connections set up
        self.served = 0  # calls answered on the loop (for tests and measurements)

    @property
    def engine(self) -> Engine:
        """The thread path's read engine: its dialect is the statements' (the plans are its)."""
        return get_engine(self.url, read_only=True)

    async def _pool(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self.pools.get(loop)
        if pool is None:
            pool = await asyncmy.create_pool(
                minsize=0, maxsize=settings.api_threads, pool_recycle=1800,
                connect_timeout=self.timeouts.connect, **self.connect_args)
            pool = self.pools.setdefault(loop, pool)
        return pool

    async def run(self, call: Callable[[LoopSession], T]) -> T:
        """`call(session)` on this loop; NotOnTheLoop when it needs the thread path,
        DatabaseTimeout when the database did not answer in time, the driver's or the
        service's exception otherwise."""
        pool = await self._pool()
        connection = None
        try:
            # One deadline for the whole read (asyncio.timeout: no task per wait, unlike
            # wait_for), as the thread path's read timeout bounds each of its statements.
            async with asyncio.timeout(self.timeouts.read):
                connection = await pool.acquire()
                if connection not in self.ready:
                    await self._set_up(connection)
                result = await private_apis.greenlet_spawn(
                    call, LoopSession(connection, self.engine))
        except BaseException as exc:
            # A refusal (the order does not exist) or a statement left to the thread path
            # leaves the connection as it was; after anything else (the driver's error, the
            # deadline, a cancelled request) it is in no known state and is not reused.
            if connection is not None and not isinstance(exc, (NotOnTheLoop, ServiceError)):
                connection.close()
            if isinstance(exc, TimeoutError):
                raise DatabaseTimeout() from exc
            raise
        finally:
            if connection is not None:
                pool.release(connection)
        self.served += 1
        return result

    async def _set_up(self, connection: Any) -> None:
        """The read engine's session settings (db/engine.py)."""
        async with connection.cursor() as cursor:
            for statement in session_settings(self.timeouts, read_only=True):
                await cursor.execute(statement)
        self.ready.add(connection)


class LoopSession:
    """The part of a read session the services use on the fast path (see ReadConnection in
    db/engine.py): `connection()` for the plans, `get_bind()` for the dialect."""

    __slots__ = ("_connection", "_engine")

    def __init__(self, connection: Any, engine: Engine):
        self._connection = _LoopConnection(_LoopDriver(connection))
        self._engine = engine

    def connection(self, **_options: Any) -> _LoopConnection:
        return self._connection

    def get_bind(self, *_args: Any, **_kwargs: Any) -> Engine:
        return self._engine

    def execute(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotOnTheLoop("a statement without a plan")

    scalar = execute


class _LoopConnection:
    """What the fast path reaches through a Core connection: its driver connection
    (`connection.connection.dbapi_connection`). Anything else is the thread path's."""

    __slots__ = ("connection", "dbapi_connection")

    def __init__(self, driver: _LoopDriver):
        self.connection = self  # SQLAlchemy's pool proxy sits here on the thread path
        self.dbapi_connection = driver

    def __getattr__(self, name: str) -> Any:
        raise NotOnTheLoop(f"connection.{name}")

    def _handle_dbapi_exception(self, exc: BaseException, *_args: Any) -> None:
        raise exc  # (private_apis.handle_dbapi_exception: the caller sees the driver's error)


class _LoopDriver:
    """An asyncmy connection with a DB-API face for code running in `greenlet_spawn`."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Any):
        self._connection = connection

    def escape(self, value: Any) -> str:
        return self._connection.escape(value)

    def cursor(self) -> _LoopCursor:
        return _LoopCursor(self._connection.cursor())


class _LoopCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any):
        self._cursor = cursor

    def execute(self, sql: str) -> Any:
        return private_apis.await_only(self._cursor.execute(sql))

    def fetchone(self) -> Any:
        return private_apis.await_only(self._cursor.fetchone())

    def fetchall(self) -> Any:
        return private_apis.await_only(self._cursor.fetchall())

    def close(self) -> None:
        private_apis.await_only(self._cursor.close())


_READS: dict[str, LoopReads | None] = {}


def loop_reads(url: str | None) -> LoopReads | None:
    """The loop reads of `url` (default: the configured database), None where they do not
    apply (off, another database, a remote host)."""
    url = url or settings.database_url
    if url not in _READS:
        _READS[url] = LoopReads(url) if settings.loop_reads and eligible(url) else None
    return _READS[url]
