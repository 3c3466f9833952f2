"""Exact decimal storage on every backend.

MariaDB/MySQL store money in ``DECIMAL(p, s)`` columns and do exact decimal arithmetic.
SQLite has no decimal type (its NUMERIC affinity is a binary float), so there the same
column is stored as a 64-bit integer count of ``10**-s`` units: 9.80 at scale 4 is 98000.
Integers add and multiply exactly in SQLite, so sums and line values stay exact as well.

The SQL constructs at the bottom (`line_value`, `rescale`) compile differently per dialect
so that services can write one query and get exact ``Decimal`` results on both backends.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, Date, Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """A fixed-point decimal: DECIMAL(precision, scale), or scaled BIGINT on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 19, scale: int = 4):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._unit = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _to_decimal(self, value) -> Decimal:
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal number: {value!r}") from exc
        if not number.is_finite():
            raise ValueError(f"not a finite decimal number: {value!r}")
        quantized = number.quantize(self._unit)
        if quantized != number:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        return quantized

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = self._to_decimal(value)
        if dialect.name == "sqlite":
            return int(number.scaleb(self.scale))
        return number

    def process_literal_param(self, value, dialect):
        bound = self.process_bind_param(value, dialect)
        return "NULL" if bound is None else str(bound)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):
                # Only reachable if something bypassed this type and wrote a float.
                raise ValueError(f"inexact value {value!r} found in an exact decimal column")
            return Decimal(int(value)).scaleb(-self.scale).quantize(self._unit)
        return Decimal(value).quantize(self._unit)

    def coerce_compared_value(self, op, value):
        return self

    def __repr__(self) -> str:
        return f"ExactDecimal({self.precision}, {self.scale})"


def Money() -> ExactDecimal:  # noqa: N802 - reads like a type
    """Unit prices and freight: DECIMAL(19, 4), like SQL Server's MONEY."""
    return ExactDecimal(19, 4)


def Fraction() -> ExactDecimal:  # noqa: N802
    """A discount between 0 and 1, exact to 1/10000."""
    return ExactDecimal(5, 4)


def Amount() -> ExactDecimal:  # noqa: N802
    """Exact sums of line values (price × quantity × (1 − discount)): 8 decimal places."""
    return ExactDecimal(28, 8)


AMOUNT_SCALE = 8


class line_value(FunctionElement):  # noqa: N801 - SQL function style
    """``unit_price × quantity × (1 − discount)`` as an exact SQL expression.

    Arguments: a Money column, an integer column and a Fraction column. The result has
    the `Amount` type (8 decimal places), so ``func.sum(line_value(...))`` is exact.
    """

    type = Amount()
    inherit_cache = True
    name = "line_value"


@compiles(line_value)
def _line_value_default(element, compiler, **kw):
    price, quantity, discount = (compiler.process(c, **kw) for c in element.clauses)
    return f"({price} * {quantity} * (1 - {discount}))"


@compiles(line_value, "sqlite")
def _line_value_sqlite(element, compiler, **kw):
    # price is scaled 10^4 and discount is scaled 10^4, so the product is scaled 10^8.
    price, quantity, discount = (compiler.process(c, **kw) for c in element.clauses)
    return f"({price} * {quantity} * (10000 - {discount}))"


class rescale(FunctionElement):  # noqa: N801
    """An ExactDecimal column expressed as an Amount (scale 8), e.g. freight + subtotal.

    On SQLite this multiplies the stored integer; elsewhere it is the value itself.
    The target scale is fixed so the statement cache key (the column) determines it.
    """

    inherit_cache = True
    name = "rescale"
    type = Amount()

    def __init__(self, column: ColumnElement):
        self.from_scale = column.type.scale
        super().__init__(column)


@compiles(rescale)
def _rescale_default(element, compiler, **kw):
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(rescale, "sqlite")
def _rescale_sqlite(element, compiler, **kw):
    factor = 10 ** (AMOUNT_SCALE - element.from_scale)
    inner = compiler.process(list(element.clauses)[0], **kw)
    return inner if factor == 1 else f"({inner} * {factor})"


class month_start(FunctionElement):  # noqa: N801
    """The first day of a date's month, as a DATE (monthly rollups group by it)."""

    inherit_cache = True
    name = "month_start"
    type = Date()


@compiles(month_start)
def _month_start_default(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    return f"DATE_SUB({col}, INTERVAL DAYOFMONTH({col}) - 1 DAY)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({compiler.process(list(element.clauses)[0], **kw)}, 'start of month')"


class days_between(FunctionElement):  # noqa: N801
    """Whole days from the first date to the second (later - earlier), as an integer."""

    inherit_cache = True
    name = "days_between"
    type = BigInteger()


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"DATEDIFF({end}, {start})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"
