"""What both fast paths share: the rows they return, and the column types they know.

The rows are tuples with attribute access by column label and a `_mapping`, like
SQLAlchemy's rows, so a caller cannot tell how they were read."""

from __future__ import annotations

import datetime as dt
import functools
import keyword
from collections import namedtuple
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.types import Float, TypeDecorator, TypeEngine

from northwind_app import private_apis


class Unsupported(Exception):
    """A statement (a column type, a label, a parameter) a fast path cannot read: it then
    simply runs."""


def driver_value(sql_type: TypeEngine) -> Callable[[Any], Any] | None:
    """What the driver would make of the column's JSON value, before SQLAlchemy's own result
    processing (None: the JSON value as it is); Unsupported for a type whose values neither
    fast path knows."""
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(sql_type, Date):
        return dt.date.fromisoformat
    if isinstance(sql_type, Float) or (isinstance(sql_type, Numeric) and not sql_type.asdecimal):
        raise Unsupported(repr(sql_type))
    if isinstance(sql_type, Numeric):
        return Decimal  # JSON integers (e.g. 12 for 12.00) as Decimal; fractions parse as Decimal
    if isinstance(sql_type, (Integer, String, Boolean)):
        return None
    raise Unsupported(repr(sql_type))


def result_processor(sql_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's own processing of a driver value, as SQLAlchemy applies it."""
    return private_apis.result_processor(sql_type, dialect)


def converter(sql_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    """A JSON value of the column as SQLAlchemy would have given it (None: as it is)."""
    driver = driver_value(sql_type)
    processor = result_processor(sql_type, dialect)
    if driver is None:
        return processor
    if processor is None:
        return lambda value: None if value is None else driver(value)
    return lambda value: processor(None if value is None else driver(value))


def labels(stmt: Select) -> list[str]:
    """The statement's column labels, which must serve as a row's attribute names."""
    names = list(stmt.selected_columns.keys())
    if len(set(names)) != len(names) or not all(
            name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            for name in names):
        raise Unsupported(f"column labels {names}")
    return names


@functools.lru_cache(maxsize=None)  # one class per distinct column list
def row_type(names: tuple[str, ...]) -> type:
    """A tuple class with the labels as attributes and SQLAlchemy's `_mapping`."""
    base = namedtuple("JsonRow", names)  # noqa: PYI024 - one per column list

    class JsonRow(base):
        __slots__ = ()

        @property
        def _mapping(self) -> Mapping[str, Any]:
            return dict(zip(self._fields, self))

    return JsonRow
