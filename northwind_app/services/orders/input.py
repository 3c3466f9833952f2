"""Order input: raw form or JSON values (strings or numbers) to a typed OrderInput, exactly,
every problem named by its field at once. Database checks happen on save (writes.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from northwind_app.db.models import Order
from northwind_app.money import parse_decimal
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Invalid
from northwind_app.services.validation import MAX_INT
from northwind_app.services.orders.detail import OrderDetailView


SHIP_FIELDS = ("ship_name", "ship_address", "ship_city", "ship_region", "ship_postal_code",
               "ship_country")
MAX_QUANTITY = 100_000


@dataclass
class LineInput:
    product_id: int
    quantity: int
    unit_price: Decimal | None = None  # None: the product's current price
    discount: Decimal = Decimal("0")


@dataclass
class OrderInput:
    customer_id: str
    employee_id: int
    order_date: dt.date
    required_date: dt.date | None = None
    shipped_date: dt.date | None = None
    ship_via: int | None = None
    freight: Decimal = Decimal("0")
    ship_name: str | None = None
    ship_address: str | None = None
    ship_city: str | None = None
    ship_region: str | None = None
    ship_postal_code: str | None = None
    ship_country: str | None = None
    lines: list[LineInput] = field(default_factory=list)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value, errors, name, *, minimum=None, maximum=None, required=True):
    if _blank(value):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, bool):
        errors[name] = "must be a whole number"
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError
    except (ValueError, ArithmeticError):
        errors[name] = "must be a whole number"
        return None
    # Range first, on the Decimal: int() of e.g. 1e999999999 would take forever.
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
        return None
    if maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum:,}"
        return None
    return int(number)


def _date(value, errors, name, *, required=False):
    if _blank(value):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        errors[name] = "must be a date (YYYY-MM-DD)"
        return None


def _decimal(value, errors, name, *, places, minimum=None, maximum=None, default=None):
    if _blank(value):
        return default
    try:
        number = parse_decimal(value, places=places)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    except ArithmeticError:  # more digits than decimal arithmetic holds, e.g. 1e400
        errors[name] = f"must be at most {maximum}" if maximum is not None else "is too large"
        return None
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
    elif maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum}"
    return number


def _text(value, errors, name, max_length):
    if _blank(value):
        return None
    text = str(value).strip()
    if len(text) > max_length:
        errors[name] = f"must be at most {max_length} characters"
    elif "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        errors[name] = "contains characters that cannot be stored"
    return text


def _check_not_future(shipped: dt.date, errors: dict[str, str]) -> None:
    """Shipping records what has happened: no date after today, by the server's clock."""
    today = dt.date.today()
    if shipped > today:
        errors["shipped_date"] = (f"must not be after today ({today.isoformat()}, the "
                                  "server's date): an order is marked shipped once it has left")


def parse_order_input(raw: Mapping[str, Any], actor: Actor | None = None) -> OrderInput:
    """Turn form or JSON values (strings or numbers) into an OrderInput, exactly.

    Field errors use the API's names, lines as ``lines[i].field`` (0-based); raises
    Invalid with every problem at once. Database checks happen on save. Without an
    employee_id the order is the `actor`'s, when their account is linked to an employee.
    """
    errors: dict[str, str] = {}
    columns = Order.__table__.c
    customer_id = _text(raw.get("customer_id"), errors, "customer_id", 5)
    if customer_id is None and "customer_id" not in errors:
        errors["customer_id"] = "is required"
    employee_raw = raw.get("employee_id")
    if _blank(employee_raw) and actor is not None and actor.employee_id is not None:
        employee_raw = actor.employee_id
    employee_id = _int(employee_raw, errors, "employee_id", minimum=1, maximum=MAX_INT)
    if actor is not None and errors.get("employee_id") == "is required":
        # Whether it may be left out depends on the account, which the request cannot show.
        errors["employee_id"] = "is required (your account is not linked to an employee)"
    order_date = _date(raw.get("order_date"), errors, "order_date", required=True)
    required_date = _date(raw.get("required_date"), errors, "required_date")
    shipped_date = _date(raw.get("shipped_date"), errors, "shipped_date")
    if order_date and required_date and required_date < order_date:
        errors["required_date"] = "must not be before the order date"
    if order_date and shipped_date and shipped_date < order_date:
        errors["shipped_date"] = "must not be before the order date"
    elif shipped_date and "shipped_date" not in errors:
        _check_not_future(shipped_date, errors)
    ship_via = _int(raw.get("ship_via"), errors, "ship_via", minimum=1, maximum=MAX_INT,
                    required=False)
    freight = _decimal(raw.get("freight"), errors, "freight", places=4, minimum=Decimal(0),
                       maximum=Decimal("999999999"), default=Decimal("0"))
    ship = {name: _text(raw.get(name), errors, name, columns[name].type.length)
            for name in SHIP_FIELDS}

    lines: list[LineInput] = []
    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, (list, tuple)) or not raw_lines:
        errors["lines"] = "an order needs at least one line"
        raw_lines = raw_lines if isinstance(raw_lines, (list, tuple)) else []
    seen: dict[int, int] = {}
    for index, raw_line in enumerate(raw_lines):
        prefix = f"lines[{index}]"
        if not isinstance(raw_line, Mapping):
            errors[prefix] = "must be an object with product_id and quantity"
            continue
        product_id = _int(raw_line.get("product_id"), errors, f"{prefix}.product_id", minimum=1,
                          maximum=MAX_INT)
        quantity = _int(raw_line.get("quantity"), errors, f"{prefix}.quantity", minimum=1,
                        maximum=MAX_QUANTITY)
        unit_price = _decimal(raw_line.get("unit_price"), errors, f"{prefix}.unit_price",
                              places=4, minimum=Decimal(0), maximum=Decimal("999999999"))
        discount = _decimal(raw_line.get("discount"), errors, f"{prefix}.discount", places=4,
                            minimum=Decimal(0), maximum=Decimal(1), default=Decimal("0"))
        if product_id is not None:
            if product_id in seen:
                errors[f"{prefix}.product_id"] = (
                    f"this product is already on line {seen[product_id] + 1}; "
                    "change that line's quantity instead")
            else:
                seen[product_id] = index
        if product_id is not None and quantity is not None:
            lines.append(LineInput(product_id, quantity, unit_price, discount or Decimal("0")))
    if errors:
        raise Invalid(fields=errors)
    return OrderInput(customer_id=customer_id.upper(), employee_id=employee_id,
                      order_date=order_date, required_date=required_date,
                      shipped_date=shipped_date, ship_via=ship_via, freight=freight,
                      lines=lines, **ship)


def order_input_from_view(view: OrderDetailView) -> dict[str, Any]:
    """The current order as raw input (for partial updates: merge changes, then parse)."""
    data = {name: getattr(view, name) for name in (
        "customer_id", "employee_id", "order_date", "required_date", "shipped_date",
        "ship_via", "freight", *SHIP_FIELDS)}
    data["lines"] = [{"product_id": line.product_id, "quantity": line.quantity,
                      "unit_price": line.unit_price, "discount": line.discount}
                     for line in view.lines]
    return data
