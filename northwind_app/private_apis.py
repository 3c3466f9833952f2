"""Every use of another library's private API in the project, in one place.

A private API (a name with a leading underscore, an undocumented attribute or format, a
module the library calls internal) may change in any release without notice. Each use below
says where it is, what it relies on and why no public API does; tests/unit/test_private_apis.py
checks each one on the pinned versions (requirements.txt) and fails with the entry's name when
an upgrade changes it. Add an entry, and its test, with every new use.

The fast path's uses (db/fastpath) go through the functions at the bottom, so that the
library's name appears here only; the others are listed where the code could not be routed
through a function without obscuring it (subclasses overriding a library's private method).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# SQLAlchemy's asyncio machinery (db/loop_reads.py): `greenlet_spawn(fn, *args)` is an
# awaitable running fn in a greenlet, inside which `await_only(awaitable)` awaits on the loop.
from sqlalchemy import util as _sqlalchemy_util

greenlet_spawn = _sqlalchemy_util.greenlet_spawn
await_only = _sqlalchemy_util.await_only


@dataclass(frozen=True)
class PrivateUse:
    """One reliance on another library's private API."""

    library: str
    what: str  # the private name or format relied on
    where: tuple[str, ...]  # project files (module paths) using it
    why: str  # what it buys, and why no public API does it


USES: tuple[PrivateUse, ...] = (
    # --- SQLAlchemy: the fast path (db/fastpath) -----------------------------------------
    PrivateUse(
        "sqlalchemy", "TypeEngine._cached_result_processor(dialect, coltype)",
        ("northwind_app/db/fastpath/rows.py",),
        "Rows read by the fast path get the column type's own result processing (e.g. "
        "ExactDecimal's scale), exactly as SQLAlchemy gives it; the public "
        "result_processor() builds a new function per call, the cached one is what "
        "SQLAlchemy's own result objects use."),
    PrivateUse(
        "sqlalchemy", "SQLCompiler._bind_processors",
        ("northwind_app/db/fastpath/plans.py",),
        "A kept statement's parameters are processed as SQLAlchemy would before the driver "
        "sends them itself; the compiled statement keeps its processors only there."),
    PrivateUse(
        "sqlalchemy", "TypeEngine._is_tuple_type",
        ("northwind_app/db/fastpath/plans.py",),
        "An expanding IN of tuples cannot be sent as one driver parameter: such a statement "
        "is left to SQLAlchemy."),
    PrivateUse(
        "sqlalchemy", "the '(__[POSTCOMPILE_name])' placeholder of an expanding parameter",
        ("northwind_app/db/fastpath/plans.py",),
        "The fast path writes a page's IN list as one driver parameter (a tuple) in place of "
        "SQLAlchemy's post-compilation into one parameter per value."),
    PrivateUse(
        "sqlalchemy", "Connection._handle_dbapi_exception(e, statement, parameters, cursor, "
        "context)",
        ("northwind_app/db/fastpath/plans.py",),
        "A driver error of a statement the driver sent itself is wrapped and handled as "
        "SQLAlchemy's own (DBAPIError; a lost connection invalidated, the pool told)."),
    PrivateUse(
        "sqlalchemy", "Select._order_by_clauses",
        ("northwind_app/db/fastpath/json_rows.py",),
        "The JSON form numbers a statement's rows in its ORDER BY (ROW_NUMBER() OVER); "
        "Select has no public accessor of its ORDER BY."),
    PrivateUse(
        "sqlalchemy", "TypeEngine._cached_bind_processor(dialect)",
        ("northwind_app/data/loading.py",),
        "The bulk loader writes MariaDB INSERTs itself and processes values as SQLAlchemy "
        "would bind them."),
    PrivateUse(
        "sqlalchemy", "sqlalchemy.util.greenlet_spawn(fn, *args) / await_only(awaitable)",
        ("northwind_app/db/loop_reads.py",),
        "A read service (synchronous code) runs on the event loop with an async driver, "
        "each driver call awaited from inside it, as SQLAlchemy's own async dialects do; "
        "SQLAlchemy documents these only as the machinery of its asyncio extension."),
    # --- asyncmy ---------------------------------------------------------------------------
    PrivateUse(
        "asyncmy", "Connection.escape(value) (documented 'for internal use')",
        ("northwind_app/db/loop_reads.py",),
        "A kept statement's values are written into its SQL by the connection that sends it "
        "(quoting by the server's NO_BACKSLASH_ESCAPES mode), as on the thread path "
        "PyMySQL's own Connection.escape writes them."),
    # --- PyMySQL ---------------------------------------------------------------------------
    PrivateUse(
        "pymysql", "Connection._read_packet(packet_type) and protocol.FieldDescriptorPacket("
        "data, encoding) / MysqlPacket.get_all_data()",
        ("northwind_app/db/engine.py",),
        "A result's column definitions are parsed once per distinct definition, not for "
        "every result (PyMySQL parses each in Python; the detail's 27 columns cost more "
        "than its rows)."),
    PrivateUse(
        "pymysql", "Connection._read_query_result(unbuffered) and "
        "MySQLResult._get_descriptions() (its connection's use_unicode, encoding, decoders, "
        "_read_packet; its fields, converters, description)",
        ("northwind_app/db/engine.py",),
        "A result's column descriptions are made once per connection and column set, not "
        "for every result (PyMySQL describes each column in Python: ~40 µs of an order's "
        "detail)."),
    PrivateUse(
        "pymysql", "Connection._read_timeout / Connection._write_timeout",
        ("northwind_app/db/engine.py",),
        "A connect or ping waits at most its own deadline: PyMySQL sets the socket's "
        "timeout from these before each read or write and has no per-call timeout."),
    PrivateUse(
        "pymysql", "Connection.server_status / autocommit_mode (undocumented attributes)",
        ("northwind_app/db/engine.py",),
        "COMMIT and ROLLBACK are not sent when no transaction can be open (the server "
        "status says whether one is)."),
    # --- Reflex ----------------------------------------------------------------------------
    PrivateUse(
        "reflex", "BaseState._get_root_state(), field._owner of a state's __fields__",
        ("northwind_app/ui/auth.py",),
        "Signing out (or in as someone else) resets every app state of the tab, only the "
        "fields each state declares itself."),
    PrivateUse(
        "reflex", "BaseState._get_resolved_delta() and BaseState._clean()",
        ("northwind_app/ui/auth.py", "northwind_app/ui/outage.py"),
        "A middleware refusing an event (no permission, database down) still sends what the "
        "check changed, as Reflex's own event processing does."),
    PrivateUse(
        "reflex", "RedisTokenManager._reset_instance_id() and EventNamespace._token_manager",
        ("northwind_app/ui/workers.py",),
        "The worker-aware token manager replaces Reflex's in each worker and learns when "
        "Reflex gives the worker a new identity."),
    PrivateUse(
        "reflex", "EventNamespace._token_manager.token_to_socket (SocketRecord.instance_id)",
        ("northwind_app/live/tabs.py",),
        "A live nudge goes only to tabs whose websocket this worker holds (the others' are "
        "nudged by their own worker); Reflex records which socket is where only there."),
    PrivateUse(
        "reflex", "Component._memoization_mode with reflex_base MemoizationMode",
        ("northwind_app/ui/layout.py",),
        "The sidebar's links are memoized always, so a navigation re-renders only them."),
    PrivateUse(
        "reflex/granian", "reflex.utils.exec.run_granian_backend_prod looks up "
        "granian.server.Server when it runs",
        ("northwind_app/serve.py",),
        "Workers that die are respawned: serve.py swaps the module attribute (checked by "
        "tests/api/test_respawn.py)."),
    # --- Starlette -------------------------------------------------------------------------
    PrivateUse(
        "starlette", "starlette._utils.get_route_path(scope)",
        ("northwind_app/api/routing.py", "northwind_app/api/lean.py"),
        "Route matching against the path below the app's root path, as Starlette's own "
        "routes do."),
    PrivateUse(
        "starlette", "Request._json (the parsed body's cache)",
        ("northwind_app/api/routing.py",),
        "ExactJSONRequest parses numbers as Decimal and caches the result where Starlette "
        "(and FastAPI's body reading) looks for it."),
    # --- React Router (in JavaScript written by the UI) --------------------------------------
    PrivateUse(
        "react-router", "history.state entries {usr, key, idx}",
        ("northwind_app/ui/table/url.py",),
        "A list's controls push the address with history.pushState, in React Router's own "
        "entry format, so that back/forward and React Router's navigations keep working "
        "without a React Router navigation (which renders the whole page again)."),
)


# --- the fast path's uses, through these functions ----------------------------------------

POSTCOMPILE_MARK = "__[POSTCOMPILE_"


def postcompile_placeholder(name: str) -> str:
    """SQLAlchemy's placeholder of expanding parameter `name` in compiled SQL."""
    return f"({POSTCOMPILE_MARK}{name}])"


def result_processor(sql_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    return sql_type._cached_result_processor(dialect, None)


def bind_processors(compiled: Any) -> dict[str, Callable[[Any], Any]]:
    """A copy of a compiled statement's bind processors, by parameter name."""
    return dict(compiled._bind_processors)


def is_tuple_type(sql_type: Any) -> bool:
    return bool(sql_type._is_tuple_type)


def order_by_clauses(stmt: Any) -> list:
    return list(stmt._order_by_clauses)


def handle_dbapi_exception(connection: Any, exc: BaseException, statement: str,
                           parameters: Any, cursor: Any) -> None:
    """Raise `exc` as SQLAlchemy's handling of a driver error raises it."""
    connection._handle_dbapi_exception(exc, statement, parameters, cursor, None)

