"""The classic Northwind CSV import reproduces the dataset's known facts on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import (
    Customer, Employee, Order, OrderDetail, Product, Supplier, Territory,
)
from northwind_app.db.types import line_value, rescale
from northwind_app.money import cents

LINE = line_value(OrderDetail.unit_price, OrderDetail.quantity, OrderDetail.discount)

ROW_COUNTS = {"categories": 8, "customers": 91, "employees": 9, "employee_territories": 49,
              "order_details": 2155, "orders": 830, "products": 77, "regions": 4,
              "shippers": 3, "suppliers": 29, "territories": 53}


def test_row_counts(classic_db_ro):
    from northwind_app.db.models import LOAD_ORDER
    with session_scope(classic_db_ro) as s:
        counts = {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in LOAD_ORDER}
    assert counts == ROW_COUNTS


def test_total_sales_and_freight(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        total = s.execute(select(func.sum(LINE))).scalar_one()
        assert cents(total) == Decimal("1265793.04")
        assert s.execute(select(func.sum(Order.subtotal))).scalar_one() == total
        assert s.execute(select(func.sum(Order.freight))).scalar_one() == Decimal("64942.69")


def test_order_10248(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        lines = s.execute(select(LINE).where(OrderDetail.order_id == 10248)).scalars().all()
        assert len(lines) == 3 and sum(lines) == Decimal("440.00")
        order = s.get(Order, 10248)
        assert order.freight == Decimal("32.38")
        assert order.subtotal == Decimal("440")
        assert cents(order.subtotal + order.freight) == Decimal("472.38")
        total = s.execute(select(Order.subtotal + rescale(Order.freight))
                          .where(Order.order_id == 10248)).scalar_one()
        assert total == Decimal("472.38")
        customer = s.get(Customer, order.customer_id)
        assert (customer.customer_id, customer.company_name) == ("VINET", "Vins et alcools Chevalier")


def test_stored_subtotals_match_sql_line_sums(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        per_order = dict(s.execute(select(OrderDetail.order_id, func.sum(LINE))
                                   .group_by(OrderDetail.order_id)).all())
        stored = dict(s.execute(select(Order.order_id, Order.subtotal)).all())
    assert stored == per_order


def test_dates_nulls_and_flags(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        first, last = s.execute(select(func.min(Order.order_date), func.max(Order.order_date))).one()
        assert (first, last) == (dt.date(1996, 7, 4), dt.date(1998, 5, 6))
        unshipped = s.execute(select(func.count()).where(Order.shipped_date.is_(None))).scalar_one()
        assert unshipped == 21
        discontinued = s.execute(select(func.count()).where(Product.discontinued)).scalar_one()
        assert discontinued == 8
        assert s.get(Customer, "ALFKI").region is None
        assert s.get(Supplier, 1).fax is None
        assert s.get(Employee, 2).reports_to is None
        assert s.get(Employee, 1).reports_to == 2
        assert s.get(Territory, "01581").territory_description.strip() == "Westboro"


def test_utf8_names_intact(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        companies = set(s.execute(select(Customer.company_name)).scalars())
        products = set(s.execute(select(Product.product_name)).scalars())
    assert "Ottilies Käseladen" in companies
    assert "Côte de Blaye" in products
    assert "Antonio Moreno Taquería" in companies
