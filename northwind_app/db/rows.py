"""Reading many small rows fast on MySQL/MariaDB: the whole result as one JSON value.

PyMySQL parses every value of a result in Python; a page of 50 orders (12 columns) spent most
of its time there. `fetch_rows` asks the server for the rows as one JSON array of arrays
(`JSON_ARRAYAGG(JSON_ARRAY(...))` over the statement as a derived table), which Python's C
JSON parser reads at once, then gives each value the type SQLAlchemy would have given it (the
driver's conversion for its SQL type, then the column type's own result processing, e.g.
`ExactDecimal`'s). The rows keep the statement's ORDER BY: it is computed in the derived table
as a ROW_NUMBER, so use this for statements that read a bounded set of rows (a page's rows by
their ids), not for one that finds a page among many rows. `fetch_rows_and_scalar` also
reads one value beside them in the same statement (a list's count: one round trip less), and
`fetch_values` a statement's one column as a set (a page's ids).

It pays where there are many values: the server spends more on building the JSON than on
sending rows (for a page of 50 orders ~0.13 ms more of MariaDB's CPU, ~0.4 ms less of
Python's); for an order's detail (a few lines) it measured slower in all, so that reads rows.

The JSON value is limited by the server's `max_allowed_packet` (16 MB by default) and, on
MariaDB, `group_concat_max_len`, which the engine raises for its connections (db/engine.py);
a result that does not fit is an error, never a shortened list.

A statement's JSON form (its "plan") is built once and kept in a dict the caller owns and
passes as `plans`: a kept list view keeps its plans as long as it keeps its statements. A
statement made for one request is read plainly (no `plans`): building its plan would cost more
than it saves, and keeping plans of statements nobody keeps grew every worker's heap, whose
full garbage collections then took 100-250 ms (measured: tail latency of every endpoint).

A kept statement (a plan's JSON form, or with `fetch_rows(as_json=False)` the statement itself,
e.g. an order's detail) is sent by PyMySQL directly (`_DriverStatement`), with SQLAlchemy's
parameter processing and error handling: SQLAlchemy's execution path cost more CPU than the
driver's call, above all for a page's 50-id IN list (orders list 0.98 -> 0.81 ms per request).

Anywhere else (SQLite, whose driver is C, or a statement selecting a type without a known JSON
form) the statement simply runs. The rows are tuples with attribute access by column label
and a `_mapping`, like SQLAlchemy's rows.
"""

from __future__ import annotations

import datetime as dt
import json
import functools
import keyword
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, func, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select
from sqlalchemy.types import Float, TypeDecorator, TypeEngine
from sqlmodel import Session

_ROW_NUMBER = "nw_row_number"


class _Unsupported(Exception):
    """A selected column whose type has no known JSON form."""


def _driver_value(sql_type: TypeEngine) -> Callable[[Any], Any] | None:
    """What the driver would make of the column's JSON value, before SQLAlchemy's own result
    processing (None: the JSON value as it is)."""
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(sql_type, Date):
        return dt.date.fromisoformat
    if isinstance(sql_type, Float) or (isinstance(sql_type, Numeric) and not sql_type.asdecimal):
        raise _Unsupported(repr(sql_type))
    if isinstance(sql_type, Numeric):
        return Decimal  # JSON integers (e.g. 12 for 12.00) as Decimal; fractions parse as Decimal
    if isinstance(sql_type, (Integer, String, Boolean)):
        return None
    raise _Unsupported(repr(sql_type))


def _converter(sql_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    driver = _driver_value(sql_type)
    processor = sql_type._cached_result_processor(dialect, None)
    if driver is None:
        return processor
    if processor is None:
        return lambda value: None if value is None else driver(value)
    return lambda value: processor(None if value is None else driver(value))


class _DriverStatement:
    """A kept statement's SQL, run by the driver itself: SQLAlchemy's execution path (the
    execution context, the result object, and the post-compilation of an IN list into one
    bound parameter per value) cost ~25 µs of CPU per statement more than the driver's own
    call, more with a page's 50 ids (measured). Parameters are processed as SQLAlchemy
    would (defaults, bind processors; an expanding IN list is sent as a tuple, which the
    driver writes as a parenthesised list), and a driver error goes through SQLAlchemy's own
    handling (wrapped as its DBAPIError; a lost connection is invalidated)."""

    def __init__(self, stmt: Select, dialect: Dialect):
        if dialect.driver != "pymysql" or dialect.paramstyle != "pyformat":
            raise _Unsupported(f"driver {dialect.driver} ({dialect.paramstyle})")
        compiled = stmt.compile(dialect=dialect)
        if compiled.positional or compiled.escaped_bind_names:
            raise _Unsupported("positional or escaped parameters")
        text = compiled.string
        processors = dict(compiled._bind_processors)
        self.expanding: dict[str, Callable[[Any], Any] | None] = {}
        self.defaults: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if bind.literal_execute or (bind.expanding and bind.type._is_tuple_type):
                raise _Unsupported(f"parameter {name}")
            if bind.expanding:
                placeholder = f"(__[POSTCOMPILE_{name}])"
                if text.count(placeholder) != 1:
                    raise _Unsupported(f"parameter {name}")
                text = text.replace(placeholder, f"%({name})s")
                self.expanding[name] = processors.pop(name, None)
            if not bind.required:
                self.defaults[name] = bind.effective_value
        if "__[POSTCOMPILE_" in text:
            raise _Unsupported("post-compiled SQL")
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
        in Python (~25 µs for 50)."""
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
            connection._handle_dbapi_exception(exc, self.text, values, cursor, None)
        finally:
            cursor.close()
        return result


def _int_list(items: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, items)) + ")"


def _labels(stmt: Select) -> list[str]:
    """The statement's column labels, which must serve as a row's attribute names."""
    names = list(stmt.selected_columns.keys())
    if len(set(names)) != len(names) or not all(
            name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            for name in names):
        raise _Unsupported(f"column labels {names}")
    return names


class _PlainPlan:
    """A kept statement read as the driver reads rows (no JSON: for a few rows of many
    columns, e.g. an order's detail, where building JSON costs the server more than it saves
    Python), then given the column types' own result processing, as SQLAlchemy would."""

    def __init__(self, stmt: Select, dialect: Dialect):
        columns = list(stmt.selected_columns)
        for column in columns:
            _driver_value(column.type)  # only types whose driver values are known
        self.row_type = _row_type(tuple(_labels(stmt)))
        processors = [column.type._cached_result_processor(dialect, None) for column in columns]
        self.process = [(i, p) for i, p in enumerate(processors) if p is not None]
        self.driver = _DriverStatement(stmt, dialect)

    def rows(self, connection: Connection, params: Mapping[str, Any] | None) -> list | None:
        """The rows; None when the driver cannot send the statement (see `_DriverStatement`)."""
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


class _Plan:
    """One statement's JSON form and how to read it back."""

    def __init__(self, stmt: Select, dialect: Dialect, scalar: Select | None):
        columns = list(stmt.selected_columns)
        names = _labels(stmt)
        converters = [_converter(column.type, dialect) for column in columns]
        self.convert = [(i + 1, c) for i, c in enumerate(converters) if c is not None]
        self.row_type = _row_type(tuple(names))
        numbered = stmt.add_columns(
            func.row_number().over(order_by=list(stmt._order_by_clauses)).label(_ROW_NUMBER)
        ).order_by(None).subquery()
        self.stmt = select(func.count(), func.json_arrayagg(func.json_array(
            numbered.c[_ROW_NUMBER], *(numbered.c[name] for name in names))))
        if scalar is not None:
            self.stmt = self.stmt.add_columns(scalar.scalar_subquery())
        self.driver = _driver_statement(self.stmt, dialect)

    def one(self, connection: Connection, params: Mapping[str, Any] | None) -> Any:
        """The JSON statement's one row (count, rows' JSON[, scalar])."""
        return _one_row(connection, self.stmt, self.driver, params)

    def rows(self, count: int, text: str | bytes | None, *_scalar: Any) -> list:
        if count == 0:
            return []
        if text is None:  # the server's NULL for a result over max_allowed_packet
            raise RuntimeError(f"{count} rows did not fit in one JSON value")
        values = json.loads(text, parse_float=Decimal)
        if len(values) != count:
            raise RuntimeError(f"{count} rows, {len(values)} read back")
        values.sort(key=itemgetter(0))
        for index, convert in self.convert:
            for value in values:
                value[index] = convert(value[index])
        make = self.row_type._make
        return [make(value[1:]) for value in values]


def _driver_statement(stmt: Select, dialect: Dialect) -> _DriverStatement | None:
    try:
        return _DriverStatement(stmt, dialect)
    except _Unsupported:
        return None


@functools.lru_cache(maxsize=None)  # one class per distinct column list
def _row_type(names: tuple[str, ...]) -> type:
    base = namedtuple("JsonRow", names)  # noqa: PYI024 - one per column list

    class JsonRow(base):
        __slots__ = ()

        @property
        def _mapping(self) -> Mapping[str, Any]:
            return dict(zip(self._fields, self))

    return JsonRow


def _kept(plans: dict | None, dialect: Dialect, key: tuple, build: Callable[[], Any]) -> Any:
    """The plan under `key` in `plans`, built by `build` on first use (None, and kept as
    None, when the statement has no such form); None without `plans` (a statement made for
    one request) or off MySQL/MariaDB. The caller owns `plans` and its lifetime: a plan
    refers to its statements. (The dialect's type is in the key: a kept view may serve
    several databases.)"""
    if plans is None or dialect.name != "mysql":
        return None
    key = (*key, type(dialect))
    if key not in plans:
        try:
            plans[key] = build()
        except _Unsupported:
            plans[key] = None
    return plans[key]


def _plan(plans: dict | None, stmt: Select, dialect: Dialect,
          scalar: Select | None = None) -> _Plan | None:
    """`stmt`'s JSON plan (with `scalar` read beside it), kept as `_kept` keeps plans."""
    return _kept(plans, dialect, ("rows", stmt, scalar), lambda: _Plan(stmt, dialect, scalar))


def _one_row(connection: Connection, stmt: Select, driver: _DriverStatement | None,
             params: Mapping[str, Any] | None) -> Any:
    """`stmt`'s one row, sent by `driver` when it can, otherwise by SQLAlchemy."""
    row = None if driver is None else driver.one(connection, params)
    return connection.execute(stmt, params).one() if row is None else row


def fetch_rows(session: Session, stmt: Select, params: Mapping[str, Any] | None = None,
               plans: dict | None = None, *, as_json: bool = True) -> Sequence:
    """Every row of `stmt` (a bounded set, see above) in its order; when the caller keeps the
    statement and its plans in `plans`, as JSON, or with `as_json=False` as the driver reads
    rows (both sent by the driver itself)."""
    dialect = session.get_bind().dialect
    connection = session.connection()  # Core execution: no ORM result layer for plain rows
    if not as_json:
        plain = _plain_plan(plans, stmt, dialect)
        rows = None if plain is None else plain.rows(connection, params)
        return connection.execute(stmt, params).all() if rows is None else rows
    plan = _plan(plans, stmt, dialect)
    if plan is None:
        return connection.execute(stmt, params).all()
    return plan.rows(*plan.one(connection, params))


def _plain_plan(plans: dict | None, stmt: Select, dialect: Dialect) -> _PlainPlan | None:
    """`stmt`'s plain plan, kept as `_kept` keeps plans."""
    return _kept(plans, dialect, ("plain", stmt), lambda: _PlainPlan(stmt, dialect))


def _values_plan(plans: dict | None, stmt: Select, dialect: Dialect
                 ) -> tuple[Select, Callable | None, _DriverStatement | None] | None:
    """The JSON form of `stmt`'s one column, its values' converter and how the driver sends
    it, kept as `_kept` keeps plans."""

    def build() -> tuple[Select, Callable | None, _DriverStatement | None]:
        if len(stmt.selected_columns) != 1:
            raise _Unsupported("not one column")
        convert = _converter(stmt.selected_columns[0].type, dialect)
        json_stmt = select(func.count(), func.json_arrayagg(stmt.subquery().c[0]))
        return json_stmt, convert, _driver_statement(json_stmt, dialect)

    return _kept(plans, dialect, ("values", stmt), build)


def fetch_values(session: Session, stmt: Select, params: Mapping[str, Any] | None = None,
                 plans: dict | None = None) -> list:
    """The values of `stmt`'s one column, IN NO PARTICULAR ORDER (a set, e.g. a page's ids,
    whose rows a statement with the ORDER BY then reads): on MySQL/MariaDB as one JSON array
    over the statement as a derived table, which keeps its own plan (its LIMIT keeps it from
    being merged)."""
    connection = session.connection()
    plan = _values_plan(plans, stmt, session.get_bind().dialect)
    if plan is None:
        return list(connection.execute(stmt, params).scalars())
    json_stmt, convert, driver = plan
    count, text = _one_row(connection, json_stmt, driver, params)
    if count == 0:
        return []
    if text is None:
        raise RuntimeError(f"{count} values did not fit in one JSON value")
    values = json.loads(text, parse_float=Decimal)
    if len(values) != count:
        raise RuntimeError(f"{count} values, {len(values)} read back")
    return values if convert is None else [convert(value) for value in values]


def fetch_rows_and_scalar(session: Session, stmt: Select, params: Mapping[str, Any] | None,
                          scalar: Select, plans: dict | None = None) -> tuple[Sequence, Any]:
    """`fetch_rows(session, stmt, params)` and the value of `scalar` (a statement of one
    value, e.g. the count of a list's matches, taking the same parameters), in one statement
    on MySQL/MariaDB (a scalar subquery beside the rows), in two elsewhere."""
    plan = _plan(plans, stmt, session.get_bind().dialect, scalar)
    connection = session.connection()
    if plan is None:
        rows = connection.execute(stmt, params).all()
        return rows, connection.execute(scalar, params).scalar_one()
    result = plan.one(connection, params)
    return plan.rows(*result), result[2]
