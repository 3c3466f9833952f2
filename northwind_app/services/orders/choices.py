"""Lookups for the order form's pickers: customers, employees, shippers, products."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from northwind_app.db.models import Customer, Employee, Product, Shipper
from northwind_app.services.errors import NotFound
from northwind_app.services.listing import search_clause
from northwind_app.services.orders.query import EMPLOYEE_NAME
from northwind_app.services.validation import MAX_INT


@dataclass
class Choice:
    value: str
    label: str
    detail: str = ""


def customer_choices(session: Session, text: str = "", limit: int = 20) -> list[Choice]:
    cond = search_clause(text, [Customer.customer_id, Customer.company_name, Customer.city])
    stmt = select(Customer.customer_id, Customer.company_name, Customer.city, Customer.country)
    if cond is not None:
        stmt = stmt.where(cond)
    return [Choice(cid, f"{name} ({cid})", ", ".join(x for x in (city, country) if x))
            for cid, name, city, country in
            session.execute(stmt.order_by(Customer.company_name).limit(limit))]


def employee_choices(session: Session) -> list[Choice]:
    return [Choice(str(eid), name, title or "")
            for eid, name, title in session.execute(
                select(Employee.employee_id, EMPLOYEE_NAME, Employee.title)
                .order_by(Employee.last_name, Employee.first_name))]


def shipper_choices(session: Session) -> list[Choice]:
    return [Choice(str(sid), name, phone or "") for sid, name, phone in session.execute(
        select(Shipper.shipper_id, Shipper.company_name, Shipper.phone).order_by(Shipper.company_name))]


@dataclass
class ProductChoice:
    product_id: int
    product_name: str
    unit_price: Decimal
    units_in_stock: int
    discontinued: bool


def product_choices(session: Session, text: str = "", limit: int = 20,
                    include_discontinued: bool = False) -> list[ProductChoice]:
    stmt = select(Product.product_id, Product.product_name, Product.unit_price,
                  Product.units_in_stock, Product.discontinued)
    cond = search_clause(text, [Product.product_name])
    if text.strip().isascii() and text.strip().isdigit() and int(text.strip()) <= MAX_INT:
        cond = Product.product_id == int(text.strip()) if cond is None else \
            cond | (Product.product_id == int(text.strip()))
    if cond is not None:
        stmt = stmt.where(cond)
    if not include_discontinued:
        stmt = stmt.where(Product.discontinued.is_(False))
    return [ProductChoice(*row) for row in
            session.execute(stmt.order_by(Product.product_name).limit(limit))]


def customer_ship_to(session: Session, customer_id: str) -> dict[str, str | None]:
    """A customer's address as the default ship-to of a new order."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return {"ship_name": customer.company_name, "ship_address": customer.address,
            "ship_city": customer.city, "ship_region": customer.region,
            "ship_postal_code": customer.postal_code, "ship_country": customer.country}


def stock_levels(session: Session, product_ids: list[int]) -> dict[int, int]:
    """Units in stock by product id (the order form's lines follow other users' orders)."""
    if not product_ids:
        return {}
    return dict(session.execute(select(Product.product_id, Product.units_in_stock)
                                .where(Product.product_id.in_(product_ids))).tuples().all())
