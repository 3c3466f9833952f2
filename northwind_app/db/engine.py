"""The process-wide SQLAlchemy engines and session factories.

SQLite runs with foreign keys on, WAL journaling and a busy timeout. MySQL/MariaDB gets a
connection pool with recycle, and no round trip that does nothing (each costs a short request
about as much as a query, see `_Connection` and `_ping_if_idle`): a connection idle for less
than PING_AFTER_IDLE seconds is not pinged, and COMMIT/ROLLBACK are only sent when a
transaction can be open. Read-only sessions (`new_session(read_only=True)`: the API's GET
requests) use a second pool whose connections are in autocommit and READ ONLY: under READ
COMMITTED every statement reads its own snapshot anyway, so a read transaction only added its
COMMIT; and the server refuses any write made through them.

Sessions are synchronous: async callers (Reflex event handlers) run service functions
through `asyncio.to_thread`.

Every write goes through `write_transaction`, which runs it again after a deadlock or a
lock-wait timeout (`RETRYABLE_CODES`) and, when the conflict persists, raises
services.errors.WriteConflict (409): never a 503, which means the database is unreachable.
A dead or hung MySQL/MariaDB server fails requests fast: connections have connect, read and
write timeouts (settings; bulk loads and migrations have no read/write timeout, see
`get_engine(bulk=True)`), and `health_check` has its own short deadline.
"""

from __future__ import annotations

import logging
import math
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import pymysql
from pymysql.constants.SERVER_STATUS import SERVER_STATUS_IN_TRANS
from pymysql.protocol import FieldDescriptorPacket, MysqlPacket
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from tenacity import (
    RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt,
    stop_before_delay, wait_random_exponential,
)

from northwind_app.services.errors import WriteConflict
from northwind_app.settings import settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# Per engine and worker process (MySQL has two engines, read-only and read-write). A pool keeps
# POOL_SIZE connections and opens up to POOL_OVERFLOW more for a burst (API endpoints run in up
# to settings.api_threads threads, token and session lookups and Reflex's event handlers in
# threads of their own). 5 workers keep at most 100, within MariaDB's default max_connections
# of 151, which a pool's full overflow in every worker would pass (see bench/README.md).
POOL_SIZE = 10
POOL_OVERFLOW = 40
# A pooled MySQL connection is pinged before use only after this long unused. One that was
# just used is alive unless the server went away in between; then the request fails (503,
# errors.py), the pool drops every connection it holds, and the next request reconnects.
PING_AFTER_IDLE = 1.0
GROUP_CONCAT_MAX_LEN = 64 * 1024 * 1024
FIELDS_KEPT = 4096  # parsed column definitions kept per process (_Connection._read_packet)
RESULTS_KEPT = 256  # column sets' descriptions kept per connection (_Result)
_USED = "nw_used"  # connection record info: when it was last checked in (monotonic)


class _Connection(pymysql.connections.Connection):
    """PyMySQL's connection without COMMIT or ROLLBACK round trips that cannot do anything.

    Without autocommit, a transaction starts with a statement: when none was sent since the
    last COMMIT or ROLLBACK (the pool rolls back every connection it takes back, also after a
    commit), nothing is open. In autocommit, one is open only after an explicit BEGIN, which
    the server reports in its status; the status of an unbuffered result is read too late to
    trust, so those always end with the command."""

    _statements = True  # sent since the last COMMIT/ROLLBACK (unknown: assume so)
    _unsure = True  # the server status may be stale
    # Column definitions already parsed, by their packet's bytes (see _read_packet).
    _fields: ClassVar[dict[tuple[bytes, str], FieldDescriptorPacket]] = {}

    # PyMySQL's "preferred" TLS (no ssl options: TLS when the server offers it) builds a new
    # default SSL context for every connection, loading the system's CA bundle: about 30 ms
    # of CPU per connection (0.4 ms without), paid whenever the pool opens one (every overflow
    # connection under load). One context made once serves them all; explicit ssl options
    # (a CA in the URL) still get their own.
    _preferred_ssl: ClassVar[ssl.SSLContext | None] = None

    def _create_ssl_ctx(self, sslp):
        if sslp:
            return super()._create_ssl_ctx(sslp)
        if _Connection._preferred_ssl is None:
            _Connection._preferred_ssl = super()._create_ssl_ctx(sslp)
        return _Connection._preferred_ssl

    def connect(self, sock=None):
        """Connect within `connect_timeout`, greeting and sign-in included: PyMySQL waits for
        the server's handshake as long as for any answer (read_timeout), and the kernel of a
        hung server still accepts the TCP connection."""
        with self._timeouts(self.connect_timeout):
            super().connect(sock)

    def ping_within(self, seconds: float | None) -> None:
        """A ping that waits at most `seconds` for the server (None: the usual timeouts)."""
        with self._timeouts(seconds):
            self.ping(reconnect=False)

    @contextmanager
    def _timeouts(self, seconds: float | None) -> Iterator[None]:
        # PyMySQL sets the socket's timeout from these before each read or write.
        if seconds is None:
            yield
            return
        kept = self._read_timeout, self._write_timeout
        self._read_timeout = self._write_timeout = seconds
        try:
            yield
        finally:
            self._read_timeout, self._write_timeout = kept

    def query(self, sql, unbuffered=False):
        self._statements = self._unsure = True
        result = super().query(sql, unbuffered)
        self._unsure = unbuffered
        return result

    def _read_packet(self, packet_type=MysqlPacket):
        """A result's column definition is parsed once per distinct definition: PyMySQL
        parses each one in Python for every result (for a few rows of many columns, such
        as an order's detail, that costs more than the rows), yet a statement's definitions
        are the same bytes each time. The parsed packets are only read
        (MySQLResult._get_descriptions). A private API: northwind_app/private_apis.py."""
        if packet_type is not FieldDescriptorPacket:
            return super()._read_packet(packet_type)
        return self._field(super()._read_packet(MysqlPacket).get_all_data())

    def _field(self, data: bytes) -> FieldDescriptorPacket:
        """The parsed column definition of these bytes (kept)."""
        key = (data, self.encoding)
        field = self._fields.get(key)
        if field is None:
            if len(self._fields) >= FIELDS_KEPT:
                self._fields.clear()
            field = self._fields[key] = FieldDescriptorPacket(data, self.encoding)
        return field

    def _field_data(self) -> bytes:
        """The next packet's bytes (a column definition's, not parsed)."""
        return super()._read_packet(MysqlPacket).get_all_data()

    def _read_query_result(self, unbuffered=False):
        # PyMySQL's own, reading the result with _Result (a private API:
        # northwind_app/private_apis.py).
        self._result = None
        result = _Result(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows

    def _may_be_in_transaction(self) -> bool:
        if self.autocommit_mode:
            return self._unsure or bool(self.server_status & SERVER_STATUS_IN_TRANS)
        return self._statements

    def commit(self):
        if self._may_be_in_transaction():
            super().commit()
            self._statements = self._unsure = False

    def rollback(self):
        if self._may_be_in_transaction():
            super().rollback()
            self._statements = self._unsure = False


class _Result(pymysql.connections.MySQLResult):
    """PyMySQL's result, whose column descriptions (the parsed definitions, the cursor's
    description, each column's decoding) are made once per connection and column set: a
    result's column definitions are still read, as bytes, but PyMySQL describes each one in
    Python for every result, which cost an order's detail (28 columns, a few rows) ~40 µs
    of its ~300 (bench/README.md, issue #25). The kept lists are only read. The first time,
    PyMySQL's own `_get_descriptions` describes them (from the definitions just read)."""

    def _get_descriptions(self):
        connection = self.connection
        datas = tuple(connection._field_data() for _ in range(self.field_count))
        kept = connection.__dict__.setdefault("_nw_descriptions", {})
        key = (datas, connection.encoding)
        described = kept.get(key)
        if described is None:
            self.connection = _Described(connection, datas)
            try:
                super()._get_descriptions()
            finally:
                self.connection = connection
            if len(kept) >= RESULTS_KEPT:
                kept.clear()
            described = kept[key] = (self.fields, self.converters, self.description)
        self.fields, self.converters, self.description = described
        eof_packet = connection._read_packet()
        assert eof_packet.is_eof_packet(), "Protocol error, expecting EOF"


class _Described:
    """What `MySQLResult._get_descriptions` reads from its connection, the column
    definitions being the bytes already read (parsed once, `_Connection._read_packet`)."""

    _EOF = b"\xfe\x00\x00\x02\x00"

    def __init__(self, connection: _Connection, datas: tuple[bytes, ...]):
        self.connection = connection
        self.datas = iter(datas)
        self.use_unicode = connection.use_unicode
        self.encoding = connection.encoding
        self.decoders = connection.decoders

    def _read_packet(self, packet_type=MysqlPacket):
        if packet_type is FieldDescriptorPacket:
            return self.connection._field(next(self.datas))
        return MysqlPacket(self._EOF, self.encoding)


@dataclass(frozen=True)
class Timeouts:
    """Seconds a MySQL/MariaDB connection waits: to connect (and for a ping), for any answer
    (read), for the server to take a request (write), and, in the server, for a row lock
    (None: no limit / the server's default)."""

    connect: float
    read: float | None
    write: float | None
    lock_wait: int | None

    @classmethod
    def configured(cls) -> Timeouts:
        read = settings.db_read_timeout
        # A lock wait must end (1205, retried by write_transaction) before the read times
        # out (the connection is then dropped and the request answered 503).
        lock_wait = max(1, min(settings.db_lock_wait_timeout, math.ceil(read) - 1))
        return cls(settings.db_connect_timeout, read, settings.db_write_timeout, lock_wait)

    @classmethod
    def bulk(cls) -> Timeouts:
        """Loads and migrations: one statement may rightly run for minutes."""
        return cls(settings.db_connect_timeout, None, None, None)

    @classmethod
    def health(cls) -> Timeouts:
        seconds = settings.health_timeout
        return cls(seconds, seconds, seconds, None)


def session_settings(timeouts: Timeouts, *, read_only: bool) -> list[str]:
    """The statements that set up a new MySQL/MariaDB connection of ours (the engines' here,
    the event loop's reads' in db/loop_reads.py)."""
    # Room for a page of rows read as one JSON value (db/fastpath/json_rows.py): MariaDB's
    # JSON_ARRAYAGG is cut at this length (1 MB by default; MySQL has no such limit).
    lock_wait = ("" if timeouts.lock_wait is None
                 else f", innodb_lock_wait_timeout = {int(timeouts.lock_wait)}")
    statements = [f"SET SESSION group_concat_max_len = {GROUP_CONCAT_MAX_LEN}{lock_wait}"]
    if read_only:
        statements.append("SET SESSION TRANSACTION READ ONLY")
    return statements


def make_engine(url: str, *, read_only: bool = False, timeouts: Timeouts | None = None,
                pool_size: int = POOL_SIZE, causal: bool = True) -> Engine:
    """An engine for `url`; on MySQL/MariaDB with `timeouts` (default: the configured ones).
    `causal=False`: on a Galera node, its reads do not wait for the cluster's latest commits
    (`wsrep_sync_wait = 0` whatever the server's default; see `health_check`)."""
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
    timeouts = timeouts or Timeouts.configured()
    pymysql_driver = make_url(url).get_driver_name() == "pymysql"
    engine = create_engine(
        url,
        pool_pre_ping=not pymysql_driver,  # another driver: the pool's own ping, every time
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=POOL_OVERFLOW,
        isolation_level="AUTOCOMMIT" if read_only else "READ COMMITTED",
        connect_args=_timeout_args(timeouts) if pymysql_driver else {},
    )

    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for statement in session_settings(timeouts, read_only=read_only):
            cursor.execute(statement)
        if not causal:
            try:
                cursor.execute("SET SESSION wsrep_sync_wait = 0")
            except pymysql.MySQLError:  # not MariaDB (1193: no such variable)
                pass
        cursor.close()

    if not pymysql_driver:
        return engine

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        return _Connection(*cargs, **cparams)

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get(_USED, 0.0) > PING_AFTER_IDLE:
            try:  # a live server answers a ping at once, however busy
                dbapi_connection.ping_within(timeouts.connect)
            except pymysql.Error as exc:  # the pool replaces it and tries again
                raise DisconnectionError(str(exc)) from exc

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection, record):
        record.info[_USED] = time.monotonic()

    return engine


def _timeout_args(timeouts: Timeouts) -> dict[str, float]:
    args = {"connect_timeout": timeouts.connect}
    if timeouts.read is not None:
        args["read_timeout"] = timeouts.read
    if timeouts.write is not None:
        args["write_timeout"] = timeouts.write
    return args


_engines: dict[tuple[str, bool], Engine] = {}
_factories: dict[tuple[str, bool], sessionmaker[Session]] = {}
_other_engines: dict[tuple[str, str], Engine] = {}  # (url, "bulk" or "health")


def get_engine(url: str | None = None, *, read_only: bool = False, bulk: bool = False) -> Engine:
    """The shared engine of a URL (default: the configured database); `read_only`: its
    read-only engine (MySQL/MariaDB; SQLite has one engine for both); `bulk`: the engine of
    loads and migrations, whose statements have no read/write timeout."""
    url = url or settings.database_url
    if bulk and not url.startswith("sqlite"):
        return _other_engine(url, "bulk")
    key = (url, read_only and not url.startswith("sqlite"))
    if key not in _engines:
        _engines[key] = make_engine(url, read_only=key[1])
    return _engines[key]


def _other_engine(url: str, kind: str) -> Engine:
    key = (url, kind)
    if key not in _other_engines:
        if kind == "bulk":
            _other_engines[key] = make_engine(url, timeouts=Timeouts.bulk())
        else:  # connections that give up after the health check's deadline, as many as
            # checks run at once (api/app.py)
            _other_engines[key] = make_engine(url, read_only=True, timeouts=Timeouts.health(),
                                              pool_size=settings.api_threads, causal=False)
    return _other_engines[key]


def health_check(url: str | None = None) -> str:
    """Ask the database for `SELECT 1`; on MySQL/MariaDB through connections that wait at most
    `settings.health_timeout` seconds for it (a down or hung server raises DBAPIError within
    that, or twice that when a stale connection must be replaced first: callers should also
    stop waiting after their deadline). Returns the dialect's name.

    On a Galera node the check does not wait for causal reads (wsrep_sync_wait): while the
    cluster reforms after losing a node, every node holds such reads for seconds, and a
    load balancer that counted that as down would take every app host out at once. A node
    that is not in the primary component still fails the check (error 1047)."""
    url = url or settings.database_url
    engine = get_engine(url) if url.startswith("sqlite") else _other_engine(url, "health")
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1").scalar_one()
    return engine.dialect.name


def _factory(url: str, read_only: bool) -> sessionmaker[Session]:
    key = (url, read_only)
    if key not in _factories:
        _factories[key] = sessionmaker(bind=get_engine(url, read_only=read_only),
                                       class_=Session, expire_on_commit=False)
    return _factories[key]


# MySQL/MariaDB errors after which the whole transaction can simply run again: 1213 deadlock
# (the server rolled the transaction back; Galera also reports a certification failure so,
# at COMMIT) and 1205 lock wait timeout (only the statement was undone; the runner rolls
# back the rest).
RETRYABLE_CODES = frozenset({1205, 1213})
# Back-off before try n+1: random (full jitter) between 0 and RETRY_FIRST_WAIT × 2^(n-1),
# at most RETRY_MAX_WAIT; no new try once RETRY_BUDGET seconds have passed since the first.
RETRY_FIRST_WAIT = 0.05
RETRY_MAX_WAIT = 2.0
RETRY_BUDGET = 30.0


def is_retryable(exc: BaseException) -> bool:
    """Whether `exc` is a transient conflict with concurrent transactions (RETRYABLE_CODES)."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    args = getattr(exc.orig, "args", None) or (None,)
    return args[0] in RETRYABLE_CODES


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("Write transaction conflicted (try %d, %s); trying again in %.3f s",
             state.attempt_number, getattr(exc, "orig", exc), state.upcoming_sleep)


def write_transaction(fn: Callable[[Session], T], url: str | None = None, *,
                      attempts: int | None = None) -> T:
    """Run `fn(session)` in one write transaction (committed when it returns) and return its
    result: THE way to write. After a deadlock or a lock-wait timeout the transaction is
    rolled back and `fn` runs again in a new one, after a jittered exponential back-off, up to
    `attempts` tries (default: settings.write_attempts) within RETRY_BUDGET seconds; then
    WriteConflict (409: nothing was saved, try again). Any other error is raised at once.

    So `fn` may run more than once: everything it does must be in the transaction (audit
    entries included), or be harmless to repeat (forgetting cached tokens)."""
    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(attempts or settings.write_attempts)
        | stop_before_delay(RETRY_BUDGET),
        wait=wait_random_exponential(multiplier=RETRY_FIRST_WAIT, max=RETRY_MAX_WAIT),
        before_sleep=_log_retry,
    )

    def attempt() -> T:
        with session_scope(url, write=True) as session:
            return fn(session)

    try:
        return retrying(attempt)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        log.warning("Write transaction given up after %d conflicting tries: %s",
                    exc.last_attempt.attempt_number, getattr(cause, "orig", cause))
        raise WriteConflict() from cause


def dispose_engine(url: str) -> None:
    """Close and forget one URL's engines (tests do this before dropping a database)."""
    engines = []
    for read_only in (False, True):
        _factories.pop((url, read_only), None)
        engines.append(_engines.pop((url, read_only), None))
    engines += [_other_engines.pop((url, kind), None) for kind in ("bulk", "health")]
    for engine in engines:
        if engine is not None:
            engine.dispose()


def new_session(url: str | None = None, *, read_only: bool = False) -> Session:
    """An unstarted session (no I/O until its first query); `begin` and `finish` it.
    `read_only`: on MySQL/MariaDB, one on the read-only engine (any write fails)."""
    return _factory(url or settings.database_url, read_only)()


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


class ReadConnection:
    """A read's database access without an ORM Session, for the API's hottest GETs
    (api/lean.py): the subset of `Session` that the read services use (`connection()`,
    `get_bind()`, `execute()`), on one pooled Core connection of the read engine that
    `new_session(read_only=True)` binds: the same pool, so the same semantics (on
    MySQL/MariaDB autocommit and READ ONLY, the server refusing any write; on SQLite the
    one engine, its read transaction rolled back at the end, never committed). A Session's
    unit of work, identity map and transaction bookkeeping cost a short read a third of
    its Python time (bench/README.md, issue #25), and a read uses none of them.

    Statements run as Core statements: a service given one must select columns, not ORM
    entities (the list's and the detail's do); `session.get` and the like do not exist."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Connection):
        self._connection = connection

    def connection(self, **_options: Any) -> Connection:
        return self._connection

    def get_bind(self, *_args: Any, **_kwargs: Any) -> Engine:
        return self._connection.engine

    def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        return self._connection.execute(statement, params, **kwargs)

    def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        return self._connection.scalar(statement, params, **kwargs)


def run_read(call: Callable[[ReadConnection], T], url: str | None = None) -> T:
    """`call` given a `ReadConnection` on `url` (default: the configured database), the
    connection taken from the read pool before and given back after it."""
    with get_engine(url or settings.database_url, read_only=True).connect() as connection:
        return call(ReadConnection(connection))


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
