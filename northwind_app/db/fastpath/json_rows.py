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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select

from northwind_app import private_apis
from northwind_app.db.fastpath.plans import DriverStatement, driver_statement, one_row
from northwind_app.db.fastpath.rows import Unsupported, converter, labels, row_type

_ROW_NUMBER = "nw_row_number"


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
        self.stmt = select(func.count(), func.json_arrayagg(func.json_array(
            numbered.c[_ROW_NUMBER], *(numbered.c[name] for name in names))))
        if scalar is not None:
            self.stmt = self.stmt.add_columns(scalar.scalar_subquery())
        self.driver = driver_statement(self.stmt, dialect)

    def one(self, connection: Connection, params: Mapping[str, Any] | None) -> Any:
        """The JSON statement's one row (count, rows' JSON[, scalar])."""
        return one_row(connection, self.stmt, self.driver, params)

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


class ValuesPlan:
    """The JSON form of a statement's one column: its values as one JSON array (the
    statement as a derived table, which keeps its own plan: its LIMIT keeps it from being
    merged)."""

    def __init__(self, stmt: Select, dialect: Dialect):
        if len(stmt.selected_columns) != 1:
            raise Unsupported("not one column")
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
