"""What a new order's form starts with: the defaults (`new_order_defaults`), optionally for a
customer ("New order for this customer") or as a copy of another order ("Duplicate").

A duplicate is a new order: it takes the source order's customer, shipper, freight, ship-to
address and lines (same products, quantities and discounts) at the products' prices today;
never its id, dates, shipment or status (dated today, required DEFAULT_REQUIRED_DAYS later,
not shipped, new), and its employee is the acting user's when their account is linked to one
(as every new order's), else the source order's. Lines of products discontinued since are
left out, each named in `notes`. Nothing is written: the form's save checks everything, the
stock included, as for any new order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from northwind_app.db.models import Customer, Product
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Invalid
from northwind_app.services.orders.choices import customer_ship_to
from northwind_app.services.orders.detail import get_order
from northwind_app.services.orders.input import SHIP_FIELDS, new_order_defaults
from northwind_app.services.validation import Code, WholeNumber, blank


@dataclass(frozen=True)
class DraftLine:
    product_id: int
    product_name: str
    unit_price: Decimal  # today's
    quantity: int
    discount: Decimal
    units_in_stock: int


@dataclass(frozen=True)
class OrderDraft:
    """A new order's starting values (nothing saved): `notes` say what was not copied."""

    order_date: dt.date
    required_date: dt.date
    employee_id: int | None
    freight: Decimal
    customer_id: str = ""
    customer_name: str = ""
    ship_via: int | None = None
    ship: dict[str, str] = field(default_factory=dict)  # SHIP_FIELDS -> text
    lines: tuple[DraftLine, ...] = ()
    source_order_id: int | None = None
    notes: tuple[str, ...] = ()


_CUSTOMER = Code(Customer.__table__.c.customer_id, "[A-Z]{5}", "exactly 5 letters A-Z")
_ORDER = WholeNumber(minimum=1)


def _ship_texts(values: dict) -> dict[str, str]:
    return {name: values.get(name) or "" for name in SHIP_FIELDS}


def new_order_draft(session: Session, actor: Actor, customer_id: object = None,
                    from_order: object = None, today: dt.date | None = None) -> OrderDraft:
    """The form of a new order: the defaults; with `customer_id`, that customer and their
    address as the ship-to; with `from_order` (an order id), a duplicate of that order (see
    the module docstring; it wins over `customer_id`). Invalid naming `customer` or `from`
    when the value cannot be one; NotFound when there is no such customer or order."""
    defaults = new_order_defaults(actor, today)
    base = dict(order_date=defaults.order_date, required_date=defaults.required_date,
                employee_id=defaults.employee_id, freight=defaults.freight)
    if not blank(from_order):
        try:
            order_id = _ORDER.convert(from_order)
        except ValueError as exc:
            raise Invalid(fields={"from": str(exc)}) from None
        return _duplicate(session, order_id, base)
    if not blank(customer_id):
        try:
            key = _CUSTOMER.convert(customer_id)
        except ValueError as exc:
            raise Invalid(fields={"customer": str(exc)}) from None
        ship = customer_ship_to(session, key)
        return OrderDraft(**base, customer_id=key, customer_name=ship["ship_name"] or key,
                          ship=_ship_texts(ship))
    return OrderDraft(**base)


def _duplicate(session: Session, order_id: int, base: dict) -> OrderDraft:
    source = get_order(session, order_id)
    ids = [line.product_id for line in source.lines]
    products = {row.product_id: row for row in session.execute(
        select(Product.product_id, Product.product_name, Product.unit_price,
               Product.units_in_stock, Product.discontinued)
        .where(Product.product_id.in_(ids)))} if ids else {}
    lines, notes = [], []
    for line in source.lines:
        product = products.get(line.product_id)
        if product is None or product.discontinued:
            notes.append(f"{line.product_name} is discontinued: its line was not copied.")
            continue
        lines.append(DraftLine(product.product_id, product.product_name, product.unit_price,
                               line.quantity, line.discount, product.units_in_stock))
    if base["employee_id"] is None:
        base = {**base, "employee_id": source.employee_id}
    base = {**base, "freight": source.freight}
    return OrderDraft(**base, customer_id=source.customer_id or "",
                      customer_name=source.customer_name or source.customer_id or "",
                      ship_via=source.ship_via,
                      ship=_ship_texts({name: getattr(source, name) for name in SHIP_FIELDS}),
                      lines=tuple(lines), source_order_id=source.order_id, notes=tuple(notes))
