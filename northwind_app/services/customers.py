"""Customers: list, detail with order statistics, and create/replace/update/delete.

Writers run them in ``write_transaction`` (db/engine.py): each function does
its checks and its change inside that one transaction and flushes, so a failure leaves
nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from northwind_app.db.models import Customer, Order
from northwind_app.money import ZERO
from northwind_app.services import audit
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Conflict, NotFound
from northwind_app.services.listing import Listing
from northwind_app.services.records import fetch_one, plural
from northwind_app.services.validation import Code, Rule, Text, clean_fields

COLUMNS = Customer.__table__.c

CUSTOMERS = Listing(
    stmt=select(Customer.customer_id, Customer.company_name, Customer.contact_name,
                Customer.contact_title, Customer.city, Customer.region, Customer.country,
                Customer.phone),
    sorts={"customer_id": Customer.customer_id, "company_name": Customer.company_name,
           "contact_name": Customer.contact_name, "city": Customer.city,
           "country": Customer.country},
    default_sort="company_name",
    tie_breaker=Customer.customer_id,
    search=[Customer.customer_id, Customer.company_name, Customer.contact_name,
            Customer.city, Customer.country],
    filters={"country": lambda value: Customer.country == value},
)

# Everything but the id, which is chosen once, at creation.
EDITABLE: dict[str, Rule] = {
    name: Text(COLUMNS[name])
    for name in ("company_name", "contact_name", "contact_title", "address", "city", "region",
                 "postal_code", "country", "phone", "fax")
}
NEW = {"customer_id": Code(COLUMNS.customer_id, "[A-Z]{5}", "exactly 5 letters A-Z"), **EDITABLE}


def customer_key(customer_id: str) -> str:
    """Customer ids are case-insensitive (stored uppercase) on every backend."""
    return customer_id.strip().upper()


def get_customer(session: Session, customer_id: str) -> dict[str, Any]:
    """All columns plus order_count, revenue (exact sum of order subtotals) and the dates of
    the first and last orders (None without orders)."""
    customer_id = customer_key(customer_id)
    customer = fetch_one(session, select(*COLUMNS).where(Customer.customer_id == customer_id),
                         f"Customer {customer_id} does not exist.")
    count, revenue, first, last = session.execute(
        select(func.count(Order.order_id), func.sum(Order.subtotal),
               func.min(Order.order_date), func.max(Order.order_date))
        .where(Order.customer_id == customer["customer_id"], Order.cancelled_at.is_(None))
    ).one()  # cancelled orders are no sales
    customer.update(order_count=count, revenue=revenue if revenue is not None else ZERO,
                    first_order_date=first, last_order_date=last)
    return customer


def audit_snapshot(record: Customer) -> dict[str, str | None]:
    return audit.snapshot(record.model_dump())


def _customer(session: Session, customer_id: str) -> Customer:
    customer_id = customer_key(customer_id)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return customer


def create_customer(session: Session, data: Mapping[str, Any], *,
                    actor: Actor) -> dict[str, Any]:
    actor.require(Permission.WRITE_RECORDS)
    values = clean_fields(NEW, data)
    customer_id = values["customer_id"]
    duplicate = Conflict(f"Customer {customer_id} already exists.",
                         {"customer_id": "is already used by another customer"})
    if session.get(Customer, customer_id) is not None:
        raise duplicate
    customer = Customer(**values)
    session.add(customer)
    try:
        session.flush()
    except IntegrityError:  # created concurrently since the check above
        raise duplicate from None
    audit.record(session, actor, "create", "customer", customer_id, None,
                 audit_snapshot(customer), summary=customer.company_name)
    return get_customer(session, customer_id)


def replace_customer(session: Session, customer_id: str,
                     data: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    """Full replacement: fields left out become empty (or fail when required)."""
    return _apply(session, customer_id, data, partial=False, actor=actor)


def update_customer(session: Session, customer_id: str,
                    changes: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    """Partial update: only the given fields change; None clears an optional field."""
    return _apply(session, customer_id, changes, partial=True, actor=actor)


def _apply(session: Session, customer_id: str, data: Mapping[str, Any], *,
           partial: bool, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.WRITE_RECORDS)
    customer = _customer(session, customer_id)
    before = audit_snapshot(customer)
    for name, value in clean_fields(EDITABLE, data, partial=partial).items():
        setattr(customer, name, value)
    session.flush()
    audit.record(session, actor, "update", "customer", customer.customer_id, before,
                 audit_snapshot(customer), summary=customer.company_name)
    return get_customer(session, customer.customer_id)


def delete_customer(session: Session, customer_id: str, *, actor: Actor) -> None:
    actor.require(Permission.WRITE_RECORDS)
    customer = _customer(session, customer_id)
    orders = session.execute(
        select(func.count()).where(Order.customer_id == customer.customer_id)).scalar_one()
    if orders:
        raise Conflict(f"Customer {customer.customer_id} has {plural(orders, 'order')} "
                       "and cannot be deleted.")
    audit.record(session, actor, "delete", "customer", customer.customer_id,
                 audit_snapshot(customer), None, summary=customer.company_name)
    session.delete(customer)
    session.flush()
