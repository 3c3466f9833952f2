"""The monthly rollups as sharded counters (services/rollups.py): concurrent order changes by
one employee in one month spread over the key's slots, the sums over the slots stay exactly
what a rebuild from the orders gives, and `fold` merges the slots without changing a sum."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select, update

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Product, SalesMonthEmployee
from northwind_app.services import orders as svc
from northwind_app.services import dashboard, rollups
from northwind_app.services.auth import SYSTEM
from tests import factories

WRITERS = {"ALFKI": (11, 12), "BONAP": (13, 14)}  # customer → its products (no shared stock)
STEPS = 12
MONTH = "1998-05"


def _writer(url: str, customer: str, products: tuple[int, ...], errors: list) -> None:
    try:
        for step in range(STEPS):
            lines = [{"product_id": pid, "quantity": 1 + step % 3} for pid in products]
            order_id = factories.order(url, customer_id=customer, employee_id=5,
                                       order_date=f"{MONTH}-{1 + step % 28:02d}", lines=lines)
            if step % 4 == 1:  # a change of date and lines moves its contribution
                write_transaction(lambda s: svc.revise_order(
                    s, order_id, {"order_date": f"{MONTH}-20", "lines": lines[:1]},
                    partial=True, actor=SYSTEM), url)
            if step % 3 == 2:
                write_transaction(lambda s: svc.ship_order(s, order_id, f"{MONTH}-25", 2,
                                                           actor=SYSTEM), url)
            elif step % 5 == 4:
                write_transaction(lambda s: svc.cancel_order(s, order_id, actor=SYSTEM), url)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_concurrent_changes_of_one_employee_month_sum_to_a_rebuild(classic_db):
    with session_scope(classic_db, write=True) as s:
        s.execute(update(Product).where(Product.product_id.in_(
            [pid for products in WRITERS.values() for pid in products])).values(
                units_in_stock=100_000))
    errors: list = []
    threads = [threading.Thread(target=_writer, args=(classic_db, customer, products, errors))
               for customer, products in WRITERS.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    with session_scope(classic_db) as s:
        incremental = rollups.totals(s)
        slots = s.execute(select(func.count()).select_from(SalesMonthEmployee).where(
            SalesMonthEmployee.employee_id == 5,
            func.extract("month", SalesMonthEmployee.month) == 5,
            func.extract("year", SalesMonthEmployee.month) == 1998)).scalar_one()
    # The classic data's row (slot 0) and the 2 × 12 changes' random slots: several rows.
    assert slots > 2, slots
    with session_scope(classic_db) as s:  # the readers of single keys sum the slots
        months = dashboard.product_sales_by_month(s, 11)
        years = dashboard.employee_sales_by_year(s, 5)
    may = incremental["sales_month_product"][(dt.date(1998, 5, 1), 11)]
    assert [(p.orders, p.revenue) for p in months if p.month == "1998-05"] == [may]
    assert [(n, revenue) for year, n, revenue in years if year == 1998] == [(
        sum(v[0] for (month, e), v in incremental["sales_month_employee"].items()
            if e == 5 and month.year == 1998),
        sum(v[1] for (month, e), v in incremental["sales_month_employee"].items()
            if e == 5 and month.year == 1998))]
    with session_scope(classic_db, write=True) as s:
        rollups.fold(s)
    with session_scope(classic_db) as s:
        assert rollups.totals(s) == incremental
        assert s.execute(select(func.count()).select_from(SalesMonthEmployee)
                         .where(SalesMonthEmployee.slot != 0)).scalar_one() == 0
    with session_scope(classic_db, write=True) as s:
        rollups.rebuild(s)
    with session_scope(classic_db) as s:
        assert rollups.totals(s) == incremental
