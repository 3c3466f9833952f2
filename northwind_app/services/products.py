"""Products: list with category and supplier names, detail with sales figures, and
create/replace/update/delete (see `services.customers` for the transaction convention)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from northwind_app.db.models import Category, Order, OrderDetail, Product, Supplier
from northwind_app.db.types import line_value
from northwind_app.money import ZERO
from northwind_app.services import audit
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Conflict, NotFound
from northwind_app.services.listing import Listing
from northwind_app.services.records import fetch_one, plural
from northwind_app.services.validation import (
    Amount, Flag, Reference, Rule, Text, WholeNumber, check_references, clean_fields, row_id,
)

COLUMNS = Product.__table__.c
CATEGORY_NAME = Category.category_name.label("category_name")
SUPPLIER_NAME = Supplier.company_name.label("supplier_name")

# A product's stock level, one rule for badges, the product page and the list's filters:
# out of stock at 0 units; low when above 0 but at or below the reorder level; in stock
# otherwise. The badge shows "Discontinued" instead, whatever the stock.
IN_STOCK, LOW_STOCK, OUT_OF_STOCK, DISCONTINUED = (
    "in_stock", "low_stock", "out_of_stock", "discontinued")
STOCK_BADGES = {IN_STOCK: ("Active", "green"), LOW_STOCK: ("Low stock", "orange"),
                OUT_OF_STOCK: ("Out of stock", "red"), DISCONTINUED: ("Discontinued", "gray")}


def stock_level(units_in_stock: int, reorder_level: int) -> str:
    """IN_STOCK, LOW_STOCK or OUT_OF_STOCK (the SQL forms are STOCK_LEVELS)."""
    if units_in_stock <= 0:
        return OUT_OF_STOCK
    return LOW_STOCK if units_in_stock <= reorder_level else IN_STOCK


def stock_badge(units_in_stock: int, reorder_level: int, discontinued: bool) -> tuple[str, str]:
    """(label, color) of a product's one badge: "Discontinued" wins, then the stock level."""
    return STOCK_BADGES[DISCONTINUED if discontinued
                        else stock_level(units_in_stock, reorder_level)]


def is_low_stock(units_in_stock: int, reorder_level: int) -> bool:
    """Low stock, not out of it: see `stock_level`."""
    return stock_level(units_in_stock, reorder_level) == LOW_STOCK


STOCK_LEVELS = {  # = stock_level, in SQL
    IN_STOCK: Product.units_in_stock > 0,
    LOW_STOCK: (Product.units_in_stock > 0) & (Product.units_in_stock <= Product.reorder_level),
    OUT_OF_STOCK: Product.units_in_stock <= 0,
}


def _stock_filter(level: str):
    if level not in STOCK_LEVELS:
        raise ValueError(f"must be one of: {', '.join(STOCK_LEVELS)}")
    return STOCK_LEVELS[level]


def _with_names(*columns):
    return (select(*columns, CATEGORY_NAME, SUPPLIER_NAME)
            .outerjoin(Category, Category.category_id == Product.category_id)
            .outerjoin(Supplier, Supplier.supplier_id == Product.supplier_id))


PRODUCTS = Listing(
    stmt=_with_names(*COLUMNS),
    sorts={"product_name": Product.product_name, "unit_price": Product.unit_price,
           "units_in_stock": Product.units_in_stock, "category_name": Category.category_name,
           "supplier_name": Supplier.company_name, "product_id": Product.product_id},
    default_sort="product_name",
    tie_breaker=Product.product_id,
    search=[Product.product_name],
    filters={"category_id": lambda value: Product.category_id == row_id(value),
             "supplier_id": lambda value: Product.supplier_id == row_id(value),
             "stock": _stock_filter,
             "discontinued": lambda value: Product.discontinued == Flag().convert(value)},
)

MAX_PRICE = Decimal(10) ** 9  # unit prices are below it

RULES: dict[str, Rule] = {
    "product_name": Text(COLUMNS.product_name),
    "supplier_id": Reference(Supplier, "supplier"),
    "category_id": Reference(Category, "category"),
    "quantity_per_unit": Text(COLUMNS.quantity_per_unit),
    # Below 10^9, as an order's amounts: 10^15 (DECIMAL(19, 4) on MariaDB) did not fit
    # SQLite's 64-bit integer of 10^-4 units (db/types.py) and failed with a 500.
    "unit_price": Amount(places=4, required=True, below=MAX_PRICE),
    "units_in_stock": WholeNumber(default=0),
    "units_on_order": WholeNumber(default=0),
    "reorder_level": WholeNumber(default=0),
    "discontinued": Flag(default=False),
}

LINE_VALUE = line_value(OrderDetail.unit_price, OrderDetail.quantity, OrderDetail.discount)


def get_product(session: Session, product_id: int) -> dict[str, Any]:
    """All columns, category and supplier names, and sales: order_count (orders with the
    product), units_sold and revenue (exact sum of line values)."""
    product = fetch_one(session, _with_names(*COLUMNS).where(Product.product_id == product_id),
                        f"Product {product_id} does not exist.")
    orders, units, revenue = session.execute(
        select(func.count(), func.sum(OrderDetail.quantity), func.sum(LINE_VALUE))
        .where(OrderDetail.product_id == product_id, OrderDetail.order_id.not_in(
            select(Order.order_id).where(Order.cancelled_at.is_not(None))))
    ).one()  # cancelled orders are no sales
    product.update(order_count=orders, units_sold=int(units or 0),
                   revenue=revenue if revenue is not None else ZERO)
    return product


def audit_snapshot(record: Product) -> dict[str, str | None]:
    return audit.snapshot(record.model_dump())


def _product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist.")
    return product


def _clean(session: Session, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    values = clean_fields(RULES, data, partial=partial)
    check_references(session, RULES, values)
    return values


def create_product(session: Session, data: Mapping[str, Any], *,
                   actor: Actor) -> dict[str, Any]:
    actor.require(Permission.WRITE_RECORDS)
    product = Product(**_clean(session, data))
    session.add(product)
    session.flush()
    audit.record(session, actor, "create", "product", product.product_id, None,
                 audit_snapshot(product), summary=product.product_name)
    return get_product(session, product.product_id)


def replace_product(session: Session, product_id: int, data: Mapping[str, Any], *,
                    actor: Actor) -> dict[str, Any]:
    """Full replacement: fields left out get their defaults (or fail when required)."""
    return _apply(session, product_id, data, partial=False, actor=actor)


def update_product(session: Session, product_id: int, changes: Mapping[str, Any], *,
                   actor: Actor) -> dict[str, Any]:
    """Partial update: only the given fields change; None clears an optional field."""
    return _apply(session, product_id, changes, partial=True, actor=actor)


def _apply(session: Session, product_id: int, data: Mapping[str, Any], *,
           partial: bool, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.WRITE_RECORDS)
    product = _product(session, product_id)
    before = audit_snapshot(product)
    for name, value in _clean(session, data, partial=partial).items():
        setattr(product, name, value)
    session.flush()
    audit.record(session, actor, "update", "product", product_id, before,
                 audit_snapshot(product), summary=product.product_name)
    return get_product(session, product_id)


def delete_product(session: Session, product_id: int, *, actor: Actor) -> None:
    actor.require(Permission.WRITE_RECORDS)
    product = _product(session, product_id)
    lines = session.execute(
        select(func.count()).where(OrderDetail.product_id == product_id)).scalar_one()
    if lines:
        raise Conflict(f"Product {product_id} ({product.product_name}) is on "
                       f"{plural(lines, 'order line')} and cannot be deleted; "
                       "mark it discontinued instead.")
    audit.record(session, actor, "delete", "product", product_id, audit_snapshot(product), None,
                 summary=product.product_name)
    session.delete(product)
    session.flush()
