"""Order input: raw form or JSON values (strings or numbers) to a typed OrderInput, exactly,
every problem named by its field at once, with the field rules of services/validation.py.
Database checks happen on save (writes.py). Also what the order form needs without a save:
a new order's defaults and the live totals of what is typed (`preview_totals`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from northwind_app.db.models import Order
from northwind_app.money import line_value, order_subtotal, order_total
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Invalid
from northwind_app.services.validation import Amount, Day, Rule, Text, WholeNumber, blank
from northwind_app.services.orders.detail import OrderDetailView


SHIP_FIELDS = ("ship_name", "ship_address", "ship_city", "ship_region", "ship_postal_code",
               "ship_country")
MAX_QUANTITY = 100_000
MAX_AMOUNT = Decimal("999999999")  # a unit price or a freight


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


# The rules of each field (services/validation.py words their messages for the whole app).
_COLUMNS = Order.__table__.c
_CUSTOMER = Text(_COLUMNS.customer_id, required=True)
_ID = WholeNumber(minimum=1, required=True)  # an employee, a product, a shipment's shipper
_SHIPPER = WholeNumber(minimum=1)
_REQUIRED_DAY = Day(required=True)
_DATE = Day()
_FREIGHT = Amount(places=4, maximum=MAX_AMOUNT, default=Decimal("0"))
_SHIP = {name: Text(_COLUMNS[name], required=False) for name in SHIP_FIELDS}
_QUANTITY = WholeNumber(minimum=1, maximum=MAX_QUANTITY, required=True)
_UNIT_PRICE = Amount(places=4, maximum=MAX_AMOUNT)  # None: the product's current price
_DISCOUNT = Amount(places=4, maximum=Decimal(1), default=Decimal("0"))


def _clean(rule: Rule, value: Any, errors: dict[str, str], name: str) -> Any:
    """`rule` applied to `value`; None with the message in `errors[name]` when it fails."""
    try:
        return rule.clean(value)
    except ValueError as exc:
        errors[name] = str(exc)
        return None


def _check_not_future(shipped: dt.date, errors: dict[str, str]) -> None:
    """Shipping records what has happened: no date after today, by the server's clock."""
    today = dt.date.today()
    if shipped > today:
        errors["shipped_date"] = (f"must not be after today ({today.isoformat()}, the "
                                  "server's date): an order is marked shipped once it has left")


def check_shipment(shipped_date: Any, ship_via: Any) -> tuple[dt.date, int]:
    """A shipment's date and shipper as given (both required); Invalid naming each bad one.
    (The order's own date and the shipper's existence are checked on save.)"""
    errors: dict[str, str] = {}
    shipped = _clean(_REQUIRED_DAY, shipped_date, errors, "shipped_date")
    shipper = _clean(_ID, ship_via, errors, "ship_via")
    if errors:
        raise Invalid(fields=errors)
    return shipped, shipper


def duplicate_text(line_number: int, product: str = "this product") -> str:
    """Why a product cannot have a second line (each product once per order)."""
    return f"{product} is already on line {line_number}; change that line's quantity instead"


def _lines(raw_lines: Any, errors: dict[str, str]) -> list[LineInput | None]:
    """Each raw line typed (None where it has a problem, named in `errors`)."""
    lines: list[LineInput | None] = []
    seen: dict[int, int] = {}
    for index, raw_line in enumerate(raw_lines):
        prefix = f"lines[{index}]"
        if not isinstance(raw_line, Mapping):
            errors[prefix] = "must be an object with product_id and quantity"
            lines.append(None)
            continue
        before = len(errors)
        product_id = _clean(_ID, raw_line.get("product_id"), errors, f"{prefix}.product_id")
        quantity = _clean(_QUANTITY, raw_line.get("quantity"), errors, f"{prefix}.quantity")
        unit_price = _clean(_UNIT_PRICE, raw_line.get("unit_price"), errors,
                            f"{prefix}.unit_price")
        discount = _clean(_DISCOUNT, raw_line.get("discount"), errors, f"{prefix}.discount")
        if product_id is not None:
            if product_id in seen:
                errors[f"{prefix}.product_id"] = duplicate_text(seen[product_id] + 1)
            else:
                seen[product_id] = index
        lines.append(LineInput(product_id, quantity, unit_price, discount)
                     if len(errors) == before else None)
    return lines


def parse_order_input(raw: Mapping[str, Any], actor: Actor | None = None) -> OrderInput:
    """Turn form or JSON values (strings or numbers) into an OrderInput, exactly.

    Field errors use the API's names, lines as ``lines[i].field`` (0-based); raises
    Invalid with every problem at once. Database checks happen on save. Without an
    employee_id the order is the `actor`'s, when their account is linked to an employee.
    """
    errors: dict[str, str] = {}
    customer_id = _clean(_CUSTOMER, raw.get("customer_id"), errors, "customer_id")
    employee_raw = raw.get("employee_id")
    if blank(employee_raw) and actor is not None and actor.employee_id is not None:
        employee_raw = actor.employee_id
    employee_id = _clean(_ID, employee_raw, errors, "employee_id")
    if actor is not None and errors.get("employee_id") == "is required":
        # Whether it may be left out depends on the account, which the request cannot show.
        errors["employee_id"] = "is required (your account is not linked to an employee)"
    order_date = _clean(_REQUIRED_DAY, raw.get("order_date"), errors, "order_date")
    required_date = _clean(_DATE, raw.get("required_date"), errors, "required_date")
    shipped_date = _clean(_DATE, raw.get("shipped_date"), errors, "shipped_date")
    if order_date and required_date and required_date < order_date:
        errors["required_date"] = "must not be before the order date"
    if order_date and shipped_date and shipped_date < order_date:
        errors["shipped_date"] = "must not be before the order date"
    elif shipped_date and "shipped_date" not in errors:
        _check_not_future(shipped_date, errors)
    ship_via = _clean(_SHIPPER, raw.get("ship_via"), errors, "ship_via")
    freight = _clean(_FREIGHT, raw.get("freight"), errors, "freight")
    ship = {name: _clean(rule, raw.get(name), errors, name) for name, rule in _SHIP.items()}

    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, (list, tuple)) or not raw_lines:
        errors["lines"] = "an order needs at least one line"
        raw_lines = raw_lines if isinstance(raw_lines, (list, tuple)) else []
    lines = _lines(raw_lines, errors)
    if errors:
        raise Invalid(fields=errors)
    return OrderInput(customer_id=customer_id.upper(), employee_id=employee_id,
                      order_date=order_date, required_date=required_date,
                      shipped_date=shipped_date, ship_via=ship_via, freight=freight,
                      lines=[line for line in lines if line is not None], **ship)


@dataclass(frozen=True)
class Totals:
    """An order's figures as typed so far (`preview_totals`): each line's value (None where
    the line has a problem), the subtotal and total (None while any figure has one), the
    freight, and the problems by field, worded and keyed as a save would name them."""

    lines: list[Decimal | None]
    subtotal: Decimal | None
    freight: Decimal | None
    total: Decimal | None
    problems: dict[str, str]


def preview_totals(raw: Mapping[str, Any]) -> Totals:
    """The totals of raw order input (the lines and the freight, as `parse_order_input` takes
    them; a line without a unit price has no value yet, the save would take the product's).
    Pure: no database, for the form's live figures; the save computes the same money rules."""
    problems: dict[str, str] = {}
    freight = _clean(_FREIGHT, raw.get("freight"), problems, "freight")
    raw_lines = raw.get("lines")
    lines = _lines(raw_lines if isinstance(raw_lines, (list, tuple)) else [], problems)
    figures = [None if line is None or line.unit_price is None
               else (line.unit_price, line.quantity, line.discount) for line in lines]
    values = [None if figure is None else line_value(*figure) for figure in figures]
    subtotal = order_subtotal(figures) if None not in figures else None  # type: ignore[arg-type]
    total = order_total(subtotal, freight) if subtotal is not None and freight is not None \
        else None
    return Totals(values, subtotal, freight, total, problems)


@dataclass(frozen=True)
class NewOrder:
    """What a new order starts with (`new_order_defaults`)."""

    order_date: dt.date
    required_date: dt.date
    employee_id: int | None
    freight: Decimal


DEFAULT_REQUIRED_DAYS = 28  # a new order is required four weeks after it is taken


def new_order_defaults(actor: Actor, today: dt.date | None = None) -> NewOrder:
    """A new order's starting values: taken today, required DEFAULT_REQUIRED_DAYS later, by
    the actor's employee (a sales user's orders are their own), no freight."""
    today = today or dt.date.today()
    return NewOrder(order_date=today,
                    required_date=today + dt.timedelta(days=DEFAULT_REQUIRED_DAYS),
                    employee_id=actor.employee_id, freight=Decimal("0"))


def order_input_from_view(view: OrderDetailView) -> dict[str, Any]:
    """The current order as raw input (for partial updates: merge changes, then parse)."""
    data = {name: getattr(view, name) for name in (
        "customer_id", "employee_id", "order_date", "required_date", "shipped_date",
        "ship_via", "freight", *SHIP_FIELDS)}
    data["lines"] = [{"product_id": line.product_id, "quantity": line.quantity,
                      "unit_price": line.unit_price, "discount": line.discount}
                     for line in view.lines]
    return data
