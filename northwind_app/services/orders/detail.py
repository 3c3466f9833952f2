"""One order as its page and the API show it: header, names, lines, totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlmodel import Session

from northwind_app.db.models import Customer, Employee, Order, OrderDetail, Product, Shipper
from northwind_app.db.fastpath import fetch_rows
from northwind_app.money import line_value, order_subtotal, order_total
from northwind_app.services.errors import NotFound
from northwind_app.services.orders.status import status_of
from northwind_app.services.orders.query import EMPLOYEE_NAME


@dataclass
class OrderLine:
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int
    discount: Decimal
    line_total: Decimal
    units_in_stock: int = 0
    discontinued: bool = False


@dataclass
class OrderDetailView:
    order_id: int
    version: int
    customer_id: str | None
    customer_name: str | None
    customer_contact: str | None
    customer_phone: str | None
    employee_id: int | None
    employee_name: str | None
    ship_via: int | None
    shipper_name: str | None
    order_date: dt.date | None
    required_date: dt.date | None
    shipped_date: dt.date | None
    status: str
    freight: Decimal
    ship_name: str | None
    ship_address: str | None
    ship_city: str | None
    ship_region: str | None
    ship_postal_code: str | None
    ship_country: str | None
    lines: list[OrderLine]
    subtotal: Decimal
    total: Decimal
    cancelled_at: dt.datetime | None = None


# The detail in one statement, built once (the order id is bound per call, so the fast path
# meets the same statement every time): the order with its names, one row per line (a single
# row of NULL line columns when it has none).
_DETAIL = (
    select(Order.order_id, Order.version, Order.customer_id,
           Customer.company_name.label("customer_name"), Customer.contact_name, Customer.phone,
           Order.employee_id, EMPLOYEE_NAME.label("employee_name"), Order.ship_via,
           Shipper.company_name.label("shipper_name"), Order.order_date, Order.required_date,
           Order.shipped_date, Order.freight, Order.ship_name, Order.ship_address,
           Order.ship_city, Order.ship_region, Order.ship_postal_code, Order.ship_country,
           OrderDetail.product_id, Product.product_name, OrderDetail.unit_price,
           OrderDetail.quantity, OrderDetail.discount, Product.units_in_stock,
           Product.discontinued, Order.cancelled_at)
    .select_from(Order)
    .outerjoin(Customer, Customer.customer_id == Order.customer_id)
    .outerjoin(Employee, Employee.employee_id == Order.employee_id)
    .outerjoin(Shipper, Shipper.shipper_id == Order.ship_via)
    .outerjoin(OrderDetail, OrderDetail.order_id == Order.order_id)
    .outerjoin(Product, Product.product_id == OrderDetail.product_id)
    .where(Order.order_id == bindparam("order_id"))
    .order_by(Product.product_name, OrderDetail.product_id)
)


def get_order(session: Session, order_id: int, today: dt.date | None = None) -> OrderDetailView:
    today = today or dt.date.today()
    rows = fetch_rows(session, _DETAIL, {"order_id": order_id}, few_rows=True)
    if not rows:
        raise NotFound(f"Order {order_id} does not exist.")
    o = rows[0]
    lines = [
        OrderLine(product_id=r.product_id, product_name=r.product_name,
                  unit_price=r.unit_price, quantity=r.quantity, discount=r.discount,
                  line_total=line_value(r.unit_price, r.quantity, r.discount),
                  units_in_stock=r.units_in_stock, discontinued=r.discontinued)
        for r in rows if r.product_id is not None
    ]
    subtotal = order_subtotal((line.unit_price, line.quantity, line.discount) for line in lines)
    return OrderDetailView(
        order_id=o.order_id, version=o.version,
        customer_id=o.customer_id, customer_name=o.customer_name,
        customer_contact=o.contact_name, customer_phone=o.phone, employee_id=o.employee_id,
        employee_name=o.employee_name, ship_via=o.ship_via, shipper_name=o.shipper_name,
        order_date=o.order_date, required_date=o.required_date, shipped_date=o.shipped_date,
        status=status_of(o.shipped_date, o.required_date, today, o.cancelled_at),
        freight=o.freight, ship_name=o.ship_name, ship_address=o.ship_address,
        ship_city=o.ship_city, ship_region=o.ship_region,
        ship_postal_code=o.ship_postal_code, ship_country=o.ship_country,
        lines=lines, subtotal=subtotal, total=order_total(subtotal, o.freight),
        cancelled_at=o.cancelled_at,
    )
