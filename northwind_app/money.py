"""Money rules, in one place.

- A line's value is ``unit_price × quantity × (1 − discount)``, exact (no rounding).
- An order's subtotal is the exact sum of its line values; its total adds freight.
- Figures are rounded to cents (half up) only when shown or sent.

`line_value` below is the Python form; `northwind_app.db.types.line_value` is the same rule
as an SQL expression for aggregates. Tests check the two agree on real data.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal


CENT = Decimal("0.01")
ZERO = Decimal("0")
CURRENCY = "USD"
LOCALE = "en_US"


def line_value(unit_price: Decimal, quantity: int, discount: Decimal) -> Decimal:
    return unit_price * quantity * (1 - discount)


def order_subtotal(lines: Iterable[tuple[Decimal, int, Decimal]]) -> Decimal:
    return sum((line_value(p, q, d) for p, q, d in lines), ZERO)


def cents(value: Decimal) -> Decimal:
    """Round an exact amount to cents, half up (how invoices round)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | None) -> str:
    """The API's representation: a plain decimal string with two places, e.g. "440.00"."""
    return "" if value is None else str(cents(value))


def plain_amount(value: Decimal) -> str:
    """For editable fields: "18.00", or every digit when there are more than cents ("0.1250")."""
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value.normalize())


def format_money(value: Decimal | None) -> str:
    """For people: "$1,265,793.04"."""
    if value is None:
        return ""
    return format_currency(cents(value), CURRENCY, locale=LOCALE)


def format_number(value: int | Decimal | None) -> str:
    return "" if value is None else format_decimal(value, locale=LOCALE)


def format_percent(fraction: Decimal | None) -> str:
    """0.15 -> "15%", 0.125 -> "12.5%"."""
    if fraction is None:
        return ""
    return f"{(fraction * 100).normalize():f}%"


def parse_decimal(text: str | int | Decimal | None, *, places: int) -> Decimal:
    """Parse user or API input exactly; ValueError with a readable message when not possible."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValueError("is required")
    if isinstance(text, float):
        text = repr(text)
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value != value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise ValueError(f"must have at most {places} decimal places")
    return value
