"""Money rules, in one place.

- A line's value is ``unit_price × quantity × (1 − discount)``, exact (no rounding).
- An order's subtotal is the exact sum of its line values; its total adds freight.
- Figures are rounded to cents (half up) only when shown or sent.

`line_value` below is the Python form; `northwind_app.db.types.line_value` is the same rule
as an SQL expression for aggregates. Tests check the two agree on real data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import format_currency

from northwind_app import formats


CENT = Decimal("0.01")
ZERO = Decimal("0")
CURRENCY = "USD"
LOCALE = "en_US"
# What the API and the services take as text: digits, "." as the only decimal separator, no
# grouping, no exponent (people's formats are read by the screens, see formats.py).
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
PLAIN_DECIMAL_TEXT = "a number with digits and \".\" as the only decimal separator, no grouping " \
    "(e.g. 1234.50)"


def line_value(unit_price: Decimal, quantity: int, discount: Decimal) -> Decimal:
    return unit_price * quantity * (1 - discount)


def order_subtotal(lines: Iterable[tuple[Decimal, int, Decimal]]) -> Decimal:
    return sum((line_value(p, q, d) for p, q, d in lines), ZERO)


def order_total(subtotal: Decimal, freight: Decimal) -> Decimal:
    """What the customer pays: the subtotal plus freight, exact."""
    return subtotal + freight


def cents(value: Decimal) -> Decimal:
    """Round an exact amount to cents, half up (how invoices round)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | None) -> str:
    """The API's representation: a plain decimal string with two places, e.g. "440.00"."""
    return "" if value is None else str(cents(value))


def plain_amount(value: Decimal) -> str:
    """For editable fields: "18.00", or every digit when there are more than cents ("0.1250")."""
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value.normalize())


def format_money(value: Decimal | None, fmt: str | None = None) -> str:
    """For people, in their format (`fmt`, default the signed-in user's, formats.current):
    "$1,265,793.04", "1.265.793,04 $", "1 265 793,04 $US"."""
    if value is None:
        return ""
    return format_currency(cents(value), CURRENCY, locale=formats.get(fmt).locale)


def format_whole_money(value: int | Decimal, fmt: str | None = None) -> str:
    """A whole amount, for a chart's axis, in the user's format without cents: "$400,000",
    "400.000 $", "400 000 $US"."""
    locale = formats.get(fmt).locale
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(Decimal(value).to_integral_value(ROUND_HALF_UP), CURRENCY,
                           format=pattern, locale=locale, currency_digits=False)


def format_number(value: int | Decimal | None, fmt: str | None = None) -> str:
    """A count or quantity in the user's format: "1,234", "1.234", "1 234"."""
    return "" if value is None else formats.number_text(value, fmt)


def format_percent(fraction: Decimal | None, fmt: str | None = None) -> str:
    """0.15 -> "15%", 0.125 -> "12.5%" ("12,5%" where the decimal separator is a comma)."""
    if fraction is None:
        return ""
    return f"{(fraction * 100).normalize():f}".replace(".", formats.get(fmt).decimal) + "%"


def parse_decimal(text: str | int | Decimal | None, *, places: int) -> Decimal:
    """Parse API or service input exactly, locale-free: a number (int, Decimal — JSON numbers
    arrive as Decimal — or float), or text in PLAIN_DECIMAL form ("1234.50"; never "1,234.50"
    or "12,50", whose comma means different things to different people). ValueError with a
    readable message when not possible. People's input is read by `formats.parse_number`."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValueError("is required")
    if isinstance(text, bool):
        raise ValueError("must be a number")
    if isinstance(text, float):
        text = repr(text)
    elif isinstance(text, str):
        if not PLAIN_DECIMAL.fullmatch(text.strip()):
            lowered = text.strip().lower()
            if lowered.lstrip("+-") in ("inf", "infinity", "nan", "snan"):
                raise ValueError("must be a finite number")
            raise ValueError(f"must be {PLAIN_DECIMAL_TEXT}")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value != value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise ValueError(f"must have at most {places} decimal places")
    return value
