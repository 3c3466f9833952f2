"""Order writes: save (create or update, whole or partial), delete, ship, cancel; the lifecycle.

`save_order` is the one door for a save from raw input, for the screens and the API alike.

Rules that live here and nowhere else (the status has status.py, stock stock.py):
- an order's subtotal is the exact sum of its line values and is stored with the lines;
- every change increments `orders.version`; a save carrying an older version is refused;
- the lifecycle (README "The order lifecycle"): an order is open until it ships or is
  cancelled. Shipping records what has happened (no date after today, the server's date, nor
  before the order date). A shipped order's lines are frozen and it cannot be deleted or
  cancelled (its goods have left). An open order can be cancelled: it is kept with its lines,
  its stock returned, and it counts in no revenue or rollup; a cancelled order cannot be
  changed or shipped. Only orders that never shipped can be deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from northwind_app.db.models import Customer, Employee, Order, OrderDetail, Product, Shipper
from northwind_app.money import order_subtotal, order_total
from northwind_app.services import audit, rollups
from northwind_app.services.auth import Actor, Permission, utcnow
from northwind_app.services.errors import Conflict, NotFound, Invalid
from northwind_app.services.orders.status import CANCELLED, status_of
from northwind_app.services.orders.detail import OrderDetailView, get_order
from northwind_app.services.orders.input import (
    OrderInput, SHIP_FIELDS, _check_not_future, check_shipment, order_input_from_view,
    parse_order_input,
)
from northwind_app.services.orders.stock import _apply_stock, _current_lines


def _check_references(session: Session, data: OrderInput, errors: dict[str, str]) -> None:
    if session.get(Customer, data.customer_id) is None:
        errors["customer_id"] = f"no customer with id {data.customer_id!r}"
    if session.get(Employee, data.employee_id) is None:
        errors["employee_id"] = f"no employee with id {data.employee_id}"
    if data.ship_via is not None and session.get(Shipper, data.ship_via) is None:
        errors["ship_via"] = f"no shipper with id {data.ship_via}"


def _lock_order(session: Session, order_id: int, expected_version: int | None) -> Order:
    order = session.execute(
        select(Order).where(Order.order_id == order_id).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(_missing_text(session, order_id))
    if expected_version is not None and order.version != expected_version:
        raise Conflict(
            f"Order {order_id} was changed by someone else since you opened it "
            f"(your version {expected_version}, now {order.version}). "
            "Reload it to see the changes, then make yours again.",
            {"version": "is out of date"},
        )
    return order


def _missing_text(session: Session, order_id: int) -> str:
    """Why an order is not there: who deleted it and when, from the audit trail."""
    deleted = audit.last_action(session, "order", order_id, "delete")
    if deleted is None:
        return f"Order {order_id} does not exist."
    return (f"Order {order_id} was deleted by {deleted.username} on "
            f"{audit.when_text(deleted.at)}.")


def _refuse_if_closed(order: Order, doing: str) -> None:
    """Conflict when the order is cancelled, whatever `doing` ("changed", "shipped", ...)."""
    if order.cancelled_at is not None:
        raise Conflict(f"Order {order.order_id} was cancelled on "
                       f"{audit.when_text(order.cancelled_at)}; a cancelled order cannot be "
                       f"{doing}.", {"status": "cancelled"})


def _write_lines(session: Session, order_id: int, data: OrderInput,
                 previous: dict[int, int]) -> Decimal:
    """Validate lines against products, adjust stock, replace the lines; returns subtotal."""
    product_ids = [line.product_id for line in data.lines]
    products = {
        p.product_id: p for p in session.execute(
            select(Product.product_id, Product.product_name, Product.unit_price,
                   Product.discontinued).where(Product.product_id.in_(product_ids))).all()
    }
    errors: dict[str, str] = {}
    line_fields: dict[int, str] = {}
    rows = []
    for index, line in enumerate(data.lines):
        product = products.get(line.product_id)
        if product is None:
            errors[f"lines[{index}].product_id"] = f"no product with id {line.product_id}"
            continue
        if product.discontinued and line.product_id not in previous:
            errors[f"lines[{index}].product_id"] = (
                f"{product.product_name} is discontinued and cannot be added to an order")
            continue
        line_fields[line.product_id] = f"lines[{index}].quantity"
        price = product.unit_price if line.unit_price is None else line.unit_price
        rows.append({"order_id": order_id, "product_id": line.product_id, "unit_price": price,
                     "quantity": line.quantity, "discount": line.discount})
    if errors:
        raise Invalid(fields=errors)
    wanted = {row["product_id"]: row["quantity"] for row in rows}
    deltas = {pid: wanted.get(pid, 0) - previous.get(pid, 0) for pid in set(wanted) | set(previous)}
    _apply_stock(session, deltas, line_fields, wanted)
    session.execute(delete(OrderDetail).where(OrderDetail.order_id == order_id))
    session.execute(insert(OrderDetail), rows)
    return order_subtotal((r["unit_price"], r["quantity"], r["discount"]) for r in rows)


def _header_values(data: OrderInput) -> dict[str, Any]:
    return {
        "customer_id": data.customer_id, "employee_id": data.employee_id,
        "order_date": data.order_date, "required_date": data.required_date,
        "shipped_date": data.shipped_date, "ship_via": data.ship_via, "freight": data.freight,
        **{name: getattr(data, name) for name in SHIP_FIELDS},
    }


AUDITED_FIELDS = ("customer_id", "employee_id", "order_date", "required_date", "shipped_date",
                  "ship_via", "freight", *SHIP_FIELDS, "total")


def audit_snapshot(session: Session, order_id: int) -> dict[str, str | None]:
    """The order as the audit trail compares it: header fields, then one field per line
    value ("line 11 Queso Cabrales: quantity"), then the total."""
    order = session.execute(select(*(getattr(Order, name) for name in AUDITED_FIELDS))
                            .where(Order.order_id == order_id)).one()
    values: dict[str, Any] = dict(zip(AUDITED_FIELDS, order, strict=True))
    total = values.pop("total")
    for product_id, name, quantity, price, discount in session.execute(
            select(OrderDetail.product_id, Product.product_name, OrderDetail.quantity,
                   OrderDetail.unit_price, OrderDetail.discount)
            .join(Product, Product.product_id == OrderDetail.product_id)
            .where(OrderDetail.order_id == order_id).order_by(OrderDetail.product_id)):
        label = f"line {product_id} {name}"
        values[f"{label}: quantity"] = quantity
        values[f"{label}: unit_price"] = price
        values[f"{label}: discount"] = discount
    values["total"] = total
    return audit.snapshot(values)


def create_order(session: Session, data: OrderInput, *, actor: Actor) -> int:
    """Insert an order with its lines and take stock; returns the new order id."""
    actor.require(Permission.WRITE_ORDERS)
    errors: dict[str, str] = {}
    _check_references(session, data, errors)
    if errors:
        raise Invalid(fields=errors)
    order = Order(**_header_values(data), subtotal=Decimal("0"), total=Decimal("0"), version=1)
    session.add(order)
    session.flush()
    order.subtotal = _write_lines(session, order.order_id, data, previous={})
    order.total = order_total(order.subtotal, order.freight)
    session.flush()
    rollups.record_change(session, None, rollups.contribution(session, order.order_id))
    audit.record(session, actor, "create", "order", order.order_id, None,
                 audit_snapshot(session, order.order_id), summary=f"order {order.order_id}")
    return order.order_id


def _check_frozen_lines(session: Session, order: Order, data: OrderInput) -> None:
    """A shipped order's lines are frozen: Conflict unless `data` has the same lines (a line
    without a unit price keeps the stored one)."""
    stored = {pid: (quantity, price, discount) for pid, quantity, price, discount in
              session.execute(select(OrderDetail.product_id, OrderDetail.quantity,
                                     OrderDetail.unit_price, OrderDetail.discount)
                              .where(OrderDetail.order_id == order.order_id))}
    given = {line.product_id: (line.quantity,
                               stored.get(line.product_id, (0, None))[1]
                               if line.unit_price is None else line.unit_price,
                               line.discount) for line in data.lines}
    if given != stored:
        raise Conflict(f"Order {order.order_id} shipped on {order.shipped_date.isoformat()}: "
                       "its lines are frozen (the goods have left), so nothing was saved. "
                       "Reload it to see its lines.", {"lines": "cannot change once shipped"})


def update_order(session: Session, order_id: int, data: OrderInput,
                 expected_version: int | None = None, *, actor: Actor) -> int:
    """Replace an order's header and lines; stock moves by the change. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "changed")
    shipped = order.shipped_date
    if shipped is not None and data.shipped_date is None:
        raise Conflict(f"Order {order_id} shipped on {shipped.isoformat()}; a shipped order "
                       "stays shipped.", {"shipped_date": "cannot be cleared once shipped"})
    snapshot_before = audit_snapshot(session, order_id)
    errors: dict[str, str] = {}
    _check_references(session, data, errors)
    if errors:
        raise Invalid(fields=errors)
    before = rollups.contribution(session, order_id)
    if shipped is not None:
        _check_frozen_lines(session, order, data)  # unchanged: nothing to write
        subtotal = order.subtotal
    else:
        previous = _current_lines(session, order_id)
        subtotal = _write_lines(session, order_id, data, previous)
    for name, value in _header_values(data).items():
        setattr(order, name, value)
    order.subtotal = subtotal
    order.total = order_total(subtotal, order.freight)
    order.version += 1
    session.flush()
    rollups.record_change(session, before, rollups.contribution(session, order_id))
    audit.record(session, actor, "update", "order", order_id, snapshot_before,
                 audit_snapshot(session, order_id), summary=f"order {order_id}")
    return order.version


def revise_order(session: Session, order_id: int, changes: Mapping[str, Any], *, partial: bool,
                 expected_version: int | None = None, actor: Actor) -> int:
    """Update an order from raw input (strings or numbers, as `parse_order_input` takes them).

    `partial`: `changes` is merged onto the current order (a None clears an optional field;
    `lines`, when given, replaces every line). Otherwise `changes` is the whole order and the
    fields it leaves out take their defaults. Either way the shipped date stays as it is unless
    `changes` names it (orders are shipped with `ship_order`). Returns the new version.
    """
    actor.require(Permission.WRITE_ORDERS)
    _lock_order(session, order_id, expected_version)  # first: a stale version is a Conflict
    current = get_order(session, order_id)
    raw = order_input_from_view(current) if partial else {"shipped_date": current.shipped_date}
    raw.update(changes)
    return update_order(session, order_id, parse_order_input(raw), expected_version, actor=actor)


@dataclass(frozen=True)
class SavedOrder:
    """A saved order: its id and its version now (what the next save must carry)."""

    order_id: int
    version: int


def save_order(session: Session, order_id: int | None, raw: Mapping[str, Any],
               version: int | None = None, *, actor: Actor, partial: bool = False) -> SavedOrder:
    """Save an order from raw input (strings or numbers, as `parse_order_input` takes them):
    a new order when `order_id` is None (an order without employee_id is the actor's, when
    their account is linked to an employee), else a revision of that order (`revise_order`:
    `partial` merges `raw` onto it; `version`, when given, must be its current one).
    Invalid, NotFound, Conflict or Forbidden when refused; nothing is written then."""
    actor.require(Permission.WRITE_ORDERS)
    if order_id is None:
        new_id = create_order(session, parse_order_input(raw, actor), actor=actor)
        return SavedOrder(new_id, session.get(Order, new_id).version)
    return SavedOrder(order_id, revise_order(session, order_id, raw, partial=partial,
                                             expected_version=version, actor=actor))


def delete_order(session: Session, order_id: int, expected_version: int | None = None, *,
                 actor: Actor) -> None:
    """Delete an order that never shipped, and its lines; an open order's quantities go back
    in stock (a cancelled one's already have). A shipped order is a Conflict: its goods have
    left."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} shipped on {order.shipped_date.isoformat()}; a "
                       "shipped order cannot be deleted (its goods have left).",
                       {"shipped_date": "is set: the order has shipped"})
    audit.record(session, actor, "delete", "order", order_id, audit_snapshot(session, order_id),
                 None, summary=f"order {order_id}")
    rollups.record_change(session, rollups.contribution(session, order_id), None)
    if order.cancelled_at is None:
        previous = _current_lines(session, order_id)
        _apply_stock(session, {pid: -qty for pid, qty in previous.items()}, {})
    session.execute(delete(OrderDetail).where(OrderDetail.order_id == order_id))
    session.execute(delete(Order).where(Order.order_id == order_id))


def ship_order(session: Session, order_id: int, shipped_date: Any, ship_via: Any,
               expected_version: int | None = None, *, actor: Actor) -> int:
    """Mark an order shipped on a date with a shipper. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    shipped, shipper = check_shipment(shipped_date, ship_via)
    errors: dict[str, str] = {}
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "shipped")
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} was already shipped on {order.shipped_date.isoformat()}.",
                       {"shipped_date": "already set"})
    if order.order_date and shipped < order.order_date:
        errors["shipped_date"] = "must not be before the order date"
    else:
        _check_not_future(shipped, errors)
    if session.get(Shipper, shipper) is None:
        errors["ship_via"] = f"no shipper with id {shipper}"
    if errors:
        raise Invalid(fields=errors)
    before = {"shipped_date": audit.text(None), "ship_via": audit.text(order.ship_via)}
    counted = rollups.contribution(session, order_id)
    order.shipped_date = shipped
    order.ship_via = shipper
    order.version += 1
    session.flush()
    rollups.record_change(session, counted, rollups.contribution(session, order_id))
    audit.record(session, actor, "ship", "order", order_id, before,
                 {"shipped_date": audit.text(shipped), "ship_via": audit.text(shipper)},
                 summary=f"order {order_id}")
    return order.version


def cancel_order(session: Session, order_id: int, expected_version: int | None = None, *,
                 actor: Actor) -> int:
    """Cancel an open order: it is kept with its lines, its quantities go back in stock and
    it leaves the revenue and the rollups. Conflict when it has shipped or is cancelled
    already. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "cancelled again")
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} shipped on {order.shipped_date.isoformat()}; a "
                       "shipped order cannot be cancelled (its goods have left).",
                       {"shipped_date": "is set: the order has shipped"})
    counted = rollups.contribution(session, order_id)
    previous = _current_lines(session, order_id)
    _apply_stock(session, {pid: -qty for pid, qty in previous.items()}, {})
    order.cancelled_at = utcnow().replace(microsecond=0)
    order.version += 1
    session.flush()
    rollups.record_change(session, counted, None)
    audit.record(session, actor, "cancel", "order", order_id, {"status": audit.text(
        status_of(order.shipped_date, order.required_date, dt.date.today()))},
        {"status": CANCELLED}, summary=f"order {order_id}")
    return order.version


@dataclass(frozen=True)
class Actions:
    """What can be done to an order now, and why not: each `*_blocked` is "" when the action
    is available, else the reason to show beside its disabled button."""

    edit_blocked: str
    lines_blocked: str
    ship_blocked: str
    cancel_blocked: str
    delete_blocked: str


def order_actions(order: OrderDetailView, actor: Actor | None) -> Actions:
    """The lifecycle's answer for the order page (the write functions enforce the same)."""
    if actor is not None and not actor.can(Permission.WRITE_ORDERS):
        reason = "Your role may not change orders."
        return Actions(reason, reason, reason, reason, reason)
    if order.cancelled_at is not None:
        reason = "The order is cancelled."
        return Actions(reason, reason, reason, reason, "")
    if order.shipped_date is not None:
        left = f"The order shipped on {order.shipped_date.isoformat()}; its goods have left."
        return Actions("", "Its lines are frozen: the order has shipped.",
                       "The order has shipped already.", left, left)
    return Actions("", "", "", "", "")
