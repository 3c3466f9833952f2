"""Every use of another library's private API (northwind_app/private_apis.py) still works on
the pinned versions: each check fails with the use's name when an upgrade changes it. Fix the
code that relies on it (or find a public way), then the entry and its check."""

from __future__ import annotations

import inspect
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Numeric, Table, bindparam, create_engine, select
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TupleType

from northwind_app import private_apis
from northwind_app.db.types import Money

ROOT = Path(__file__).resolve().parents[2]
_TABLE = Table("t", MetaData(), Column("x", Integer), Column("price", Money()))


def _mysql():
    return mysql.dialect(paramstyle="pyformat")


def _use(what_starts: str) -> private_apis.PrivateUse:
    found = [use for use in private_apis.USES if use.what.startswith(what_starts)]
    assert len(found) == 1, what_starts
    return found[0]


def _relied_on(what: str, ok: bool, detail: str = "") -> None:
    use = _use(what)
    assert ok, (f"{use.library} changed a private API the project relies on: {use.what} "
                f"(used in {', '.join(use.where)}: {use.why}) {detail}")


# --- SQLAlchemy ------------------------------------------------------------------------------

def test_cached_result_processor():
    processor = private_apis.result_processor(Money(), _mysql())
    _relied_on("TypeEngine._cached_result_processor", callable(processor)
               and processor(Decimal("1.5")) == Decimal("1.5000")
               and str(processor(Decimal("1.5"))) == "1.5000")


def test_compiled_bind_processors():
    compiled = select(_TABLE.c.x).where(_TABLE.c.price == bindparam("p", type_=Money())) \
        .compile(dialect=_mysql())
    processors = private_apis.bind_processors(compiled)
    _relied_on("SQLCompiler._bind_processors", isinstance(processors, dict)
               and "p" in processors and callable(processors["p"]))


def test_tuple_type_flag():
    _relied_on("TypeEngine._is_tuple_type", private_apis.is_tuple_type(TupleType(Integer()))
               and not private_apis.is_tuple_type(Integer()))


def test_postcompile_placeholder():
    compiled = select(_TABLE.c.x).where(_TABLE.c.x.in_(bindparam("ids", expanding=True))) \
        .compile(dialect=_mysql())
    _relied_on("the '(__[POSTCOMPILE_name])' placeholder",
               compiled.string.count(private_apis.postcompile_placeholder("ids")) == 1,
               compiled.string)


def test_handle_dbapi_exception():
    parameters = list(inspect.signature(
        __import__("sqlalchemy").engine.Connection._handle_dbapi_exception).parameters)
    _relied_on("Connection._handle_dbapi_exception",
               parameters[1:6] == ["e", "statement", "parameters", "cursor", "context"],
               str(parameters))
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        with pytest.raises(OperationalError) as wrapped:
            private_apis.handle_dbapi_exception(
                connection, sqlite3.OperationalError("gone"), "SELECT 1", (), cursor)
    _relied_on("Connection._handle_dbapi_exception",
               isinstance(wrapped.value.orig, sqlite3.OperationalError))


def test_select_order_by_clauses():
    clauses = private_apis.order_by_clauses(select(_TABLE.c.x).order_by(_TABLE.c.x.desc()))
    _relied_on("Select._order_by_clauses", len(clauses) == 1
               and str(clauses[0].compile(dialect=_mysql())) == "t.x DESC")


def test_cached_bind_processor():
    processor = Money()._cached_bind_processor(_mysql())
    _relied_on("TypeEngine._cached_bind_processor", processor is None or callable(processor))


# --- PyMySQL ---------------------------------------------------------------------------------

def test_pymysql_packets():
    import pymysql
    from pymysql.protocol import FieldDescriptorPacket, MysqlPacket

    read = list(inspect.signature(pymysql.connections.Connection._read_packet).parameters)
    made = list(inspect.signature(FieldDescriptorPacket.__init__).parameters)
    source = inspect.getsource(pymysql.connections.MySQLResult)
    _relied_on("Connection._read_packet(packet_type)",
               read == ["self", "packet_type"] and made == ["self", "data", "encoding"]
               and callable(MysqlPacket.get_all_data)
               and "_read_packet(FieldDescriptorPacket)" in source, f"{read} {made}")


def test_pymysql_result_descriptions():
    import pymysql

    read = inspect.getsource(pymysql.connections.Connection._read_query_result)
    describe = inspect.getsource(pymysql.connections.MySQLResult._get_descriptions)
    _relied_on("Connection._read_query_result(unbuffered)",
               list(inspect.signature(pymysql.connections.Connection._read_query_result)
                    .parameters) == ["self", "unbuffered"]
               and "result = MySQLResult(self)" in read and "result.read()" in read
               and "result.init_unbuffered_query()" in read
               and "self.server_status = result.server_status" in read
               and "return result.affected_rows" in read
               and all(name in describe for name in (
                   "self.connection.use_unicode", "self.connection.encoding",
                   "self.connection.decoders", "self.connection._read_packet(FieldDescriptorPacket)",
                   "self.connection._read_packet()", "self.fields", "self.converters",
                   "self.description = ")))


def test_pymysql_timeouts():
    import pymysql

    connection = pymysql.connections.Connection(defer_connect=True, read_timeout=5,
                                                write_timeout=6)
    source = inspect.getsource(pymysql.connections.Connection)
    _relied_on("Connection._read_timeout",
               (connection._read_timeout, connection._write_timeout) == (5, 6)
               and "settimeout(self._read_timeout)" in source
               and "settimeout(self._write_timeout)" in source)


def test_pymysql_server_status():
    import pymysql

    connection = pymysql.connections.Connection(defer_connect=True)
    source = inspect.getsource(pymysql.connections.Connection)
    _relied_on("Connection.server_status", connection.autocommit_mode is False
               and "self.server_status = " in source)


# --- Reflex ----------------------------------------------------------------------------------

def test_reflex_state_internals():
    from reflex.state import BaseState

    from northwind_app.ui.auth import AuthState

    owners = {field._owner for field in AuthState.__fields__.values()}
    _relied_on("BaseState._get_root_state()", callable(BaseState._get_root_state)
               and AuthState in owners)
    _relied_on("BaseState._get_resolved_delta()",
               inspect.iscoroutinefunction(BaseState._get_resolved_delta)
               and callable(BaseState._clean))


def test_reflex_token_manager_internals():
    from reflex.app import EventNamespace
    from reflex.utils.token_manager import RedisTokenManager

    _relied_on("RedisTokenManager._reset_instance_id()",
               callable(RedisTokenManager._reset_instance_id)
               and "self._token_manager" in inspect.getsource(EventNamespace))


def test_reflex_socket_records():
    from reflex.app import EventNamespace
    from reflex.utils.token_manager import LocalTokenManager, SocketRecord

    manager = LocalTokenManager()
    _relied_on("EventNamespace._token_manager.token_to_socket",
               "self._token_manager" in inspect.getsource(EventNamespace)
               and manager.token_to_socket == {} and isinstance(manager.instance_id, str)
               and "instance_id" in SocketRecord.__dataclass_fields__)


def test_reflex_memoization_mode():
    import reflex as rx
    from reflex_base.constants.compiler import MemoizationDisposition, MemoizationMode

    _relied_on("Component._memoization_mode", hasattr(rx.Component, "_memoization_mode")
               and hasattr(MemoizationDisposition, "ALWAYS")
               and "disposition" in inspect.signature(MemoizationMode).parameters)


def test_reflex_builds_granian_server_when_it_runs():
    import reflex.utils.exec as reflex_exec

    source = inspect.getsource(reflex_exec.run_granian_backend_prod)
    _relied_on("reflex.utils.exec.run_granian_backend_prod",
               "from granian.server import Server" in source)


# --- Starlette -------------------------------------------------------------------------------

def test_starlette_route_path():
    from starlette._utils import get_route_path

    _relied_on("starlette._utils.get_route_path",
               get_route_path({"path": "/api/orders", "root_path": "/api"}) == "/orders")


def test_starlette_request_json_cache():
    from starlette.requests import Request

    source = inspect.getsource(Request.json)
    _relied_on("Request._json", 'hasattr(self, "_json")' in source
               and "return self._json" in source)


# --- React Router ----------------------------------------------------------------------------

# The React Router whose history entries ({usr, key, idx}) ui/table/url.py writes was checked at
# this version; a Reflex upgrade bringing another must be checked again (its
# createBrowserHistory: getHistoryState / pushState).
REACT_ROUTER_CHECKED = "8.4.0"


def test_react_router_history_entries():
    from reflex_base.constants.installer import PackageJson

    pinned = PackageJson.DEPENDENCIES.get("react-router")
    _relied_on("history.state entries", pinned == REACT_ROUTER_CHECKED,
               f"(Reflex now brings react-router {pinned}, checked: {REACT_ROUTER_CHECKED})")
    packages = sorted(ROOT.glob(".web*/node_modules/react-router/dist/development"))
    if not packages:
        return  # no compiled frontend here: the version is what was checked
    source = "\n".join(path.read_text(errors="replace")
                       for path in packages[0].rglob("*.js") if "getHistoryState" in path.name
                       or "function getHistoryState" in path.read_text(errors="replace"))
    _relied_on("history.state entries", all(
        part in source for part in ("usr: location.state", "key: location.key", "idx: index")),
        f"(getHistoryState in {packages[0]})")


def test_greenlet_spawn_and_await_only():
    import asyncio

    def inside(value):
        return private_apis.await_only(asyncio.sleep(0, result=value)) + 1

    result = asyncio.run(private_apis.greenlet_spawn(inside, 41))
    _relied_on("sqlalchemy.util.greenlet_spawn", result == 42)


def test_asyncmy_escape_writes_values_as_pymysql_does():
    import asyncio
    import datetime as dt

    import asyncmy.connection
    import pymysql

    async def made():  # (asyncmy's connection takes the running loop)
        return asyncmy.connection.Connection(host="127.0.0.1", charset="utf8mb4")

    ours = asyncio.run(made())
    theirs = pymysql.connections.Connection(defer_connect=True, charset="utf8mb4")
    theirs.server_status = 0  # (set by the handshake; both read NO_BACKSLASH_ESCAPES there)
    values = ["it's", 'a "b" \\ c\n', "Ö", 7, Decimal("12.3450"), dt.date(1997, 1, 2),
              dt.datetime(2026, 12, 6, 13, 45, 1, 5), None, True, (1, 2, 3), ("a", "b'")]
    _relied_on("Connection.escape(value)",
               [ours.escape(v) for v in values] == [theirs.escape(v) for v in values],
               str([(ours.escape(v), theirs.escape(v)) for v in values]))


def test_every_use_is_checked():
    checked = {
        "TypeEngine._cached_result_processor", "SQLCompiler._bind_processors",
        "TypeEngine._is_tuple_type", "the '(__[POSTCOMPILE_name])' placeholder",
        "Connection._handle_dbapi_exception", "Select._order_by_clauses",
        "TypeEngine._cached_bind_processor", "Connection._read_packet(packet_type)",
        "Connection._read_timeout", "Connection.server_status",
        "Connection._read_query_result(unbuffered)",
        "BaseState._get_root_state()", "BaseState._get_resolved_delta()",
        "RedisTokenManager._reset_instance_id()", "Component._memoization_mode",
        "EventNamespace._token_manager.token_to_socket",
        "reflex.utils.exec.run_granian_backend_prod", "starlette._utils.get_route_path",
        "Request._json", "history.state entries", "sqlalchemy.util.greenlet_spawn",
        "Connection.escape(value)",
    }
    for use in private_apis.USES:
        assert any(use.what.startswith(name) for name in checked), f"no check: {use.what}"
        for where in use.where:
            assert (ROOT / where).is_file(), f"{use.what}: no file {where}"
