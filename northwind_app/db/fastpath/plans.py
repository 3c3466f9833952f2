"""Kept statements sent by the driver itself, and the store of every statement's plans.

A statement that is run again and again (a kept list view's, an order's detail) is compiled
once into a "plan": its SQL and how to bind its parameters and read its rows. Its SQL is then
sent by PyMySQL directly (`DriverStatement`; by asyncmy when the read runs on the event loop,
db/loop_reads.py, whose connection offers the same `escape`, `cursor().execute/fetch…`), with
SQLAlchemy's parameter processing and error handling: SQLAlchemy's execution path (the execution context, the result object, and
the post-compilation of an IN list into one bound parameter per value) costs more CPU per
statement than the driver's own call, above all for a page's 50-id IN list (see
bench/README.md).

Plans are built only for a statement met a second time (`PlanStore`): one made for a single
request (a search's) is never met again, and building its plan would cost more than it saves;
keeping plans of statements nobody keeps grew every worker's heap, whose full garbage
collections then paused every endpoint.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select

from northwind_app import private_apis
from northwind_app.db.fastpath.rows import Unsupported, driver_value, labels, result_processor, \
    row_type

# How many plans, and how many statements met once, are kept per process: more than every
# kept list view's (db/fastpath/__init__.py STATEMENTS_KEPT, a few statements each) and the
# detail's, so that kept statements keep theirs; the oldest go first.
PLANS_KEPT = 4096
_MISSING = object()


class DriverStatement:
    """A kept statement's SQL, run by PyMySQL itself. Parameters are processed as SQLAlchemy
    would (defaults, bind processors; an expanding IN list is sent as a tuple, which the
    driver writes as a parenthesised list), and a driver error goes through SQLAlchemy's own
    handling (wrapped as its DBAPIError; a lost connection is invalidated)."""

    def __init__(self, stmt: Select, dialect: Dialect):
        if dialect.driver != "pymysql" or dialect.paramstyle != "pyformat":
            raise Unsupported(f"driver {dialect.driver} ({dialect.paramstyle})")
        compiled = stmt.compile(dialect=dialect)
        if compiled.positional or compiled.escaped_bind_names:
            raise Unsupported("positional or escaped parameters")
        text = compiled.string
        processors = private_apis.bind_processors(compiled)
        self.expanding: dict[str, Callable[[Any], Any] | None] = {}
        self.defaults: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if bind.literal_execute or (bind.expanding and private_apis.is_tuple_type(bind.type)):
                raise Unsupported(f"parameter {name}")
            if bind.expanding:
                placeholder = private_apis.postcompile_placeholder(name)
                if text.count(placeholder) != 1:
                    raise Unsupported(f"parameter {name}")
                text = text.replace(placeholder, f"%({name})s")
                self.expanding[name] = processors.pop(name, None)
            if not bind.required:
                self.defaults[name] = bind.effective_value
        if private_apis.POSTCOMPILE_MARK in text:
            raise Unsupported("post-compiled SQL")
        self.text = text
        self.processors = processors

    def one(self, connection: Connection, params: Mapping[str, Any] | None) -> tuple | None:
        """The statement's one row; None when it cannot be sent this way (an empty IN list:
        the caller lets SQLAlchemy render it)."""
        return self._run(connection, params, one=True)

    def all(self, connection: Connection, params: Mapping[str, Any] | None) -> tuple | None:
        """The statement's rows as the driver returns them; None as for `one`."""
        return self._run(connection, params, one=False)

    def written(self, driver: Any, values: Mapping[str, Any]) -> str:
        """The SQL with `values` written in, as the driver's `execute(text, values)` writes
        it, but a tuple of ints (a page's ids) joined at once: the driver escapes each item
        in Python."""
        return self.text % {
            name: _int_list(value) if type(value) is tuple and all(
                type(item) is int for item in value) else driver.escape(value)
            for name, value in values.items()}

    def _run(self, connection: Connection, params: Mapping[str, Any] | None, *,
             one: bool) -> Any:
        values = {**self.defaults, **(params or {})}
        for name, process in self.expanding.items():
            items = values[name]
            if not items:
                return None
            values[name] = tuple(items if process is None else map(process, items))
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        driver = connection.connection.dbapi_connection
        cursor = driver.cursor()
        try:
            cursor.execute(self.written(driver, values))
            result = cursor.fetchone() if one else cursor.fetchall()
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy wraps and re-raises it
            private_apis.handle_dbapi_exception(connection, exc, self.text, values, cursor)
        finally:
            cursor.close()
        return result


def _int_list(items: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, items)) + ")"


def driver_statement(stmt: Select, dialect: Dialect) -> DriverStatement | None:
    """How the driver sends `stmt`, or None when it cannot (SQLAlchemy then runs it)."""
    try:
        return DriverStatement(stmt, dialect)
    except Unsupported:
        return None


def one_row(connection: Connection, stmt: Select, driver: DriverStatement | None,
            params: Mapping[str, Any] | None) -> Any:
    """`stmt`'s one row, sent by `driver` when it can, otherwise by SQLAlchemy."""
    row = None if driver is None else driver.one(connection, params)
    return connection.execute(stmt, params).one() if row is None else row


class PlainPlan:
    """A kept statement read as the driver reads rows (no JSON: for a few rows of many
    columns, e.g. an order's detail, where building JSON costs the server more than it saves
    Python), then given the column types' own result processing, as SQLAlchemy would."""

    def __init__(self, stmt: Select, dialect: Dialect):
        columns = list(stmt.selected_columns)
        for column in columns:
            driver_value(column.type)  # only types whose driver values are known
        self.row_type = row_type(tuple(labels(stmt)))
        processors = [result_processor(column.type, dialect) for column in columns]
        self.process = [(i, p) for i, p in enumerate(processors) if p is not None]
        self.driver = DriverStatement(stmt, dialect)

    def rows(self, connection: Connection, params: Mapping[str, Any] | None) -> list | None:
        """The rows; None when the driver cannot send the statement (see `DriverStatement`)."""
        found = self.driver.all(connection, params)
        if found is None:
            return None
        make = self.row_type._make
        if not self.process:
            return [make(row) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for index, process in self.process:
                values[index] = process(values[index])
            rows.append(make(values))
        return rows


class PlanStore:
    """Every statement's plans, by (kind, statement, other statement, dialect type): built
    the second time a statement is met (the first is only noted, by a weak reference that
    lets a statement made for one request go), kept by a strong reference, the oldest of
    more than `most` dropped. The dialect's type is in the key: a kept statement may serve
    several databases. Only MySQL/MariaDB has plans."""

    def __init__(self, most: int = PLANS_KEPT):
        self.most = most
        self.plans: dict[tuple, Any] = {}
        self.seen: dict[tuple, tuple] = {}  # key of ids -> weak references to its statements
        self.lock = threading.Lock()

    def get(self, kind: str, stmt: Select, other: Select | None, dialect: Dialect,
            build: Callable[[], Any]) -> Any:
        """The plan of `stmt` (with `other`, e.g. a scalar read beside it) of this `kind`;
        None off MySQL/MariaDB, the first time the statement is met, or when it has no such
        plan (also kept: the next time costs a lookup)."""
        if dialect.name != "mysql":
            return None
        key = (kind, stmt, other, type(dialect))
        plan = self.plans.get(key, _MISSING)
        if plan is not _MISSING:
            return plan
        if not self._met_before(kind, stmt, other, dialect):
            return None
        try:
            plan = build()
        except Unsupported:
            plan = None
        with self.lock:
            if len(self.plans) >= self.most:
                del self.plans[next(iter(self.plans))]
            self.plans[key] = plan
        return plan

    def peek(self, kind: str, stmt: Select, other: Select | None, dialect: Dialect) -> Any:
        """The plan kept for these statements, if any (for tests)."""
        return self.plans.get((kind, stmt, other, type(dialect)))

    def _met_before(self, kind: str, stmt: Select, other: Select | None,
                    dialect: Dialect) -> bool:
        key = (kind, id(stmt), id(other), type(dialect))
        with self.lock:
            refs = self.seen.pop(key, None)
            if refs is not None and refs[0]() is stmt \
                    and (other is None or refs[1]() is other):
                return True
            if len(self.seen) >= self.most:
                del self.seen[next(iter(self.seen))]
            self.seen[key] = (weakref.ref(stmt), None if other is None else weakref.ref(other))
            return False


STORE = PlanStore()
