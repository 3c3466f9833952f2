"""Reading many small rows fast on MySQL/MariaDB: the whole result as one JSON value.

PyMySQL parses every value of a result in Python; a page of 50 orders (12 columns) spent most
of its time there. A statement's JSON plan asks the server for the rows as one JSON array of
arrays (`JSON_ARRAYAGG(JSON_ARRAY(...))` over the statement as a derived table), which
Python's C JSON parser reads at once, then gives each value the type SQLAlchemy would have
given it (the driver's conversion for its SQL type, then the column type's own result
processing, e.g. `ExactDecimal`'s). The rows keep the statement's ORDER BY: it is computed in
the derived table as a ROW_NUMBER, so this is for statements that read a bounded set of rows
(a page's rows by their ids), not for one that finds a page among many rows. A plan may also
read one value beside the rows in the same statement (a list's count: one round trip less);
a values plan reads a statement's one column as a set (a page's ids).

It pays where there are many values: the server spends a little more CPU on building the JSON
than on sending rows, Python much less on reading them; for a few rows (an order's detail) it
costs more than it saves, so those are read plainly (plans.PlainPlan). Figures: bench/README.md.

The JSON value is limited by the server's `max_allowed_packet` (16 MB by default) and, on
MariaDB, `group_concat_max_len`, which the engine raises for its connections (db/engine.py);
a result that does not fit is an error, never a shortened list.

No on-disk temporary table: MariaDB 10.11 (seen on 10.11.19) can crash with signal 11 when
it fails to create the Aria temporary table that GROUP_CONCAT/JSON_ARRAYAGG builds for its
argument, which happens under concurrent load (`Item_func_group_concat::setup` →
`create_tmp_table` fails → `Create_tmp_table::cleanup_on_failure` → `ha_maria::drop_table`
on a table never opened). That table is on disk whenever the argument is a BLOB, and
`JSON_ARRAY(...)` always is (TEXT). So a row's JSON is aggregated as a CHAR(ROW_CHARS) —
MariaDB keeps strings of at most 512 characters in a memory table — by GROUP_CONCAT (whose
default separator is the comma); a row whose JSON is longer is left out (NULL, which
GROUP_CONCAT skips) and the statement, read back with fewer rows than its count, is then run
plainly: the same rows, never a cut one. bench/crash_stress.py is the load that crashed it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, case, cast, func, \
    literal_column, select
from sqlalchemy.dialects.mysql import CHAR
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select

from northwind_app import private_apis
from northwind_app.db.fastpath.plans import DriverStatement, driver_statement, one_row
from northwind_app.db.fastpath.rows import Unsupported, converter, labels, row_type

_ROW_NUMBER = "nw_row_number"

# The longest string MariaDB keeps in an in-memory temporary table (CONVERT_IF_BIGGER_TO_BLOB):
# a row's JSON up to this length is aggregated without an on-disk table.
ROW_CHARS = 512


# A session variable holding the row's JSON between its length check and its CAST, so that
# the server builds each row's JSON once, not twice (a third of the statement's CPU).
_ROW_JSON = literal_column("@nw_row_json")


def in_memory_json(value: Any) -> Any:
    """`value` (a JSON text: a TEXT expression) as a CHAR(ROW_CHARS), or NULL when longer:
    an aggregate of it needs no on-disk temporary table, and never holds a cut value.
    `value` is computed once: assigned to a session variable in the length check, which
    CASE evaluates before its result (`CASE WHEN CHAR_LENGTH(@v := value) <= 512 THEN
    CAST(@v AS CHAR(512)) END`)."""
    return case((func.char_length(_ROW_JSON.op(":=")(value)) <= ROW_CHARS,
                 cast(_ROW_JSON, CHAR(ROW_CHARS, charset="utf8mb4"))))


def json_array_text(values: Any) -> Any:
    """The JSON array of the (non-NULL) JSON texts `values`, aggregated in memory."""
    return func.concat(literal_column("'['"), func.group_concat(values), literal_column("']'"))


class JsonPlan:
    """One statement's JSON form and how to read it back."""

    def __init__(self, stmt: Select, dialect: Dialect, scalar: Select | None):
        columns = list(stmt.selected_columns)
        names = labels(stmt)
        converters = [converter(column.type, dialect) for column in columns]
        self.convert = [(i + 1, c) for i, c in enumerate(converters) if c is not None]
        self.row_type = row_type(tuple(names))
        numbered = stmt.add_columns(
            func.row_number().over(order_by=private_apis.order_by_clauses(stmt))
            .label(_ROW_NUMBER)
        ).order_by(None).subquery()
        self.source, self.scalar = stmt, scalar
        self.stmt = select(func.count(), json_array_text(in_memory_json(func.json_array(
            numbered.c[_ROW_NUMBER], *(numbered.c[name] for name in names)))))
        if scalar is not None:
            self.stmt = self.stmt.add_columns(scalar.scalar_subquery())
        self.driver = driver_statement(self.stmt, dialect)

    def one(self, connection: Connection, params: Mapping[str, Any] | None) -> Any:
        """The JSON statement's one row (count, rows' JSON[, scalar])."""
        return one_row(connection, self.stmt, self.driver, params)

    def read(self, connection: Connection, params: Mapping[str, Any] | None) -> list:
        """The statement's rows."""
        rows = self.rows(*self.one(connection, params))
        return connection.execute(self.source, params).all() if rows is None else rows

    def read_with_scalar(self, connection: Connection,
                         params: Mapping[str, Any] | None) -> tuple[list, Any]:
        """The statement's rows and the scalar's value."""
        result = self.one(connection, params)
        rows = self.rows(*result)
        if rows is None:
            return (connection.execute(self.source, params).all(),
                    connection.execute(self.scalar, params).scalar_one())
        return rows, result[2]

    def rows(self, count: int, text: str | bytes | None, *_scalar: Any) -> list | None:
        """The rows read from the JSON; None when a row's JSON was too long to be in it
        (the statement is then run plainly)."""
        if count == 0:
            return []
        if text is None:  # every row too long, or a result over max_allowed_packet
            return None
        values = json.loads(text, parse_float=Decimal)
        if len(values) < count:  # rows longer than ROW_CHARS were left out
            return None
        if len(values) != count:
            raise RuntimeError(f"{count} rows, {len(values)} read back")
        values.sort(key=itemgetter(0))
        for index, convert in self.convert:
            for value in values:
                value[index] = convert(value[index])
        make = self.row_type._make
        return [make(value[1:]) for value in values]


class ValuesPlan:
    """The JSON form of a statement's one column: its values as one JSON array (the
    statement as a derived table, which keeps its own plan: its LIMIT keeps it from being
    merged)."""

    def __init__(self, stmt: Select, dialect: Dialect):
        if len(stmt.selected_columns) != 1:
            raise Unsupported("not one column")
        if not _short(stmt.selected_columns[0].type):  # its aggregate would be on disk
            raise Unsupported(repr(stmt.selected_columns[0].type))
        self.convert: Callable[[Any], Any] | None = converter(
            stmt.selected_columns[0].type, dialect)
        self.stmt = select(func.count(), func.json_arrayagg(stmt.subquery().c[0]))
        self.driver: DriverStatement | None = driver_statement(self.stmt, dialect)

    def values(self, connection: Connection, params: Mapping[str, Any] | None) -> list:
        count, text = one_row(connection, self.stmt, self.driver, params)
        if count == 0:
            return []
        if text is None:
            raise RuntimeError(f"{count} values did not fit in one JSON value")
        values = json.loads(text, parse_float=Decimal)
        if len(values) != count:
            raise RuntimeError(f"{count} values, {len(values)} read back")
        return values if self.convert is None else [self.convert(value) for value in values]


def _short(sql_type: Any) -> bool:
    """Whether MariaDB keeps a column of this type in an in-memory temporary table."""
    sql_type = getattr(sql_type, "impl_instance", sql_type)
    if isinstance(sql_type, String):
        return sql_type.length is not None and sql_type.length <= ROW_CHARS
    return isinstance(sql_type, (Boolean, Date, DateTime, Integer, Numeric))
