"""Dashboard aggregates on the classic data (both backends), and rollups that never go stale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from northwind_app.services.auth import SYSTEM
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.money import cents
from northwind_app.services import dashboard as dash
from northwind_app.services import orders as svc
from northwind_app.services import rollups
from northwind_app.services.errors import Invalid

ALL = dash.DateRange()
Y1997 = dash.DateRange(dt.date(1997, 1, 1), dt.date(1997, 12, 1))
TODAY = dt.date(1998, 5, 7)


def _board(url, period=ALL):
    with session_scope(url) as s:
        return dash.dashboard(s, period, TODAY)


def test_all_time_kpis_match_the_classic_facts(classic_db_ro):
    k = _board(classic_db_ro).kpis
    assert cents(k.revenue) == Decimal("1265793.04")
    assert (k.orders, k.units_sold, k.not_shipped) == (830, 51317, 21)
    assert cents(k.average_order_value) == Decimal("1525.05")


def test_rankings_and_breakdowns(classic_db_ro):
    b = _board(classic_db_ro)
    assert [(r.label, cents(r.revenue)) for r in b.top_products[:2]] == [
        ("Côte de Blaye", Decimal("141396.74")), ("Thüringer Rostbratwurst", Decimal("80368.67"))]
    assert (b.top_customers[0].key, cents(b.top_customers[0].revenue)) == ("QUICK", Decimal("110277.31"))
    assert (b.top_employees[0].label, cents(b.top_employees[0].revenue)) == (
        "Margaret Peacock", Decimal("232890.85"))
    assert len(b.top_products) == len(b.top_customers) == 10 and len(b.top_employees) == 9
    assert (b.by_category[0].label, cents(b.by_category[0].revenue)) == ("Beverages", Decimal("267868.18"))
    assert (b.by_country[0].label, cents(b.by_country[0].revenue)) == ("USA", Decimal("245584.61"))
    for parts in (b.by_category, b.by_country, b.by_month):
        assert sum(p.revenue for p in parts) == b.kpis.revenue
    assert sum(p.orders for p in b.by_month) == 830
    assert (b.by_month[0].month, b.by_month[-1].month, len(b.by_month)) == ("1996-07", "1998-05", 23)


def test_a_year_and_a_quarter(classic_db_ro):
    year = _board(classic_db_ro, Y1997).kpis
    assert cents(year.revenue) == Decimal("617085.20") and year.orders == 408
    q1 = _board(classic_db_ro, dash.DateRange(dt.date(1998, 1, 1), dt.date(1998, 3, 1)))
    assert [m.month for m in q1.by_month] == ["1998-01", "1998-02", "1998-03"]


def test_range_must_be_whole_months(classic_db_ro):
    with pytest.raises(Invalid) as err:
        _board(classic_db_ro, dash.DateRange(dt.date(1997, 1, 5), dt.date(1996, 1, 1)))
    assert "start" in err.value.fields


def _snapshot(url):
    """Each rollup's sums per (month, key) over its counter slots."""
    with session_scope(url) as s:
        return rollups.totals(s)


def test_rollups_follow_every_order_change(classic_db):
    raw = {"customer_id": "ALFKI", "employee_id": 5, "order_date": "1998-05-07",
           "lines": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]}
    before = _board(classic_db).kpis
    order_id = write_transaction(lambda s: svc.create_order(s, svc.parse_order_input(raw), actor=SYSTEM), classic_db)
    after = _board(classic_db).kpis
    assert after.revenue - before.revenue == Decimal("55.00") and after.orders == before.orders + 1
    moved = {**raw, "customer_id": "BONAP", "order_date": "1997-02-03", "lines": [
        {"product_id": 3, "quantity": 4, "discount": "0.1"}]}
    write_transaction(lambda s: svc.update_order(s, order_id, svc.parse_order_input(moved), actor=SYSTEM), classic_db)
    write_transaction(lambda s: svc.update_order(s, 10248, svc.parse_order_input(
        {**svc.order_input_from_view(svc.get_order(s, 10248)), "employee_id": 1,
         "order_date": "1996-06-28"}), actor=SYSTEM), classic_db)
    write_transaction(lambda s: svc.delete_order(s, 11076, actor=SYSTEM), classic_db)
    write_transaction(lambda s: svc.cancel_order(s, 11075, actor=SYSTEM), classic_db)
    # Shipping, and a required date that makes a shipped order late, move the shipped counts.
    write_transaction(lambda s: svc.ship_order(s, 11077, "1998-05-06", 2, actor=SYSTEM),
                      classic_db)
    write_transaction(lambda s: svc.revise_order(s, 10250, {"required_date": "1996-07-09"},
                                                 partial=True, actor=SYSTEM), classic_db)
    incremental = _snapshot(classic_db)
    with session_scope(classic_db, write=True) as s:
        rollups.rebuild(s)
    assert incremental == _snapshot(classic_db)
    assert _board(classic_db).kpis.orders == 829  # +1 created, -1 deleted, -1 cancelled


def test_the_month_the_data_stops_in_is_partial(classic_db_ro):
    """The classic data's newest order is of May 6, 1998: May 1998 is the month so far, drawn
    as such (pages/home.py), not as a fall; a year's last month, complete, is not."""
    b = _board(classic_db_ro)
    assert b.last_order == dt.date(1998, 5, 6)
    assert [m.month for m in b.by_month if m.partial] == ["1998-05"]
    assert not any(m.partial for m in _board(classic_db_ro, Y1997).by_month)
    assert dash.is_partial_month(dt.date(1998, 5, 1), dt.date(1998, 5, 6))
    assert not dash.is_partial_month(dt.date(1998, 5, 1), dt.date(1998, 5, 31))
    assert not dash.is_partial_month(dt.date(1998, 4, 1), dt.date(1998, 5, 6))
    assert not dash.is_partial_month(dt.date(1998, 5, 1), None)


def test_last_12_months_end_on_the_day_of_the_newest_order(classic_db_ro):
    """Issue #24: "Last 12 months of data" is the twelve months ending with the newest order
    (May 6, 1998 in the classic data: May 7, 1997 – May 6, 1998), not whole calendar months
    and not "this year"; its figures equal the orders' own over exactly those days."""
    from sqlalchemy import func

    from northwind_app.db.models import Order, OrderDetail, Product
    from northwind_app.db.types import line_value

    with session_scope(classic_db_ro) as s:
        period = dash.resolve_period(s, "last12")
        assert (period.first_day, period.last_day) == (dt.date(1997, 5, 7), dt.date(1998, 5, 6))
        board = dash.dashboard(s, period, TODAY)
        days = (Order.order_date >= period.first_day, Order.order_date <= period.last_day,
                Order.cancelled_at.is_(None))
        revenue, orders = s.execute(select(func.sum(Order.subtotal), func.count())
                                    .where(*days)).one()
        units = s.execute(select(func.sum(OrderDetail.quantity))
                          .join(Order, Order.order_id == OrderDetail.order_id)
                          .where(*days)).scalar_one()
        product_revenue = dict(s.execute(
            select(Product.product_name, func.sum(line_value(
                OrderDetail.unit_price, OrderDetail.quantity, OrderDetail.discount)))
            .join(Order, Order.order_id == OrderDetail.order_id)
            .join(Product, Product.product_id == OrderDetail.product_id)
            .where(*days).group_by(Product.product_name)).all())
        year = dash.dashboard(s, dash.resolve_period(s, "year", 1998), TODAY)
    assert board.kpis.revenue == Decimal(revenue) and board.kpis.orders == orders
    assert board.kpis.units_sold == units
    top = board.top_products[0]
    assert cents(top.revenue) == cents(Decimal(product_revenue[top.label]))
    for parts in (board.by_category, board.by_country, board.by_month):
        assert sum(p.revenue for p in parts) == board.kpis.revenue
    assert sum(p.orders for p in board.by_month) == orders
    assert (board.by_month[0].month, board.by_month[-1].month) == ("1997-05", "1998-05")
    assert sum(e.revenue for e in board.top_employees) == board.kpis.revenue  # 9 employees
    assert board.kpis.revenue != year.kpis.revenue


def test_a_period_that_cuts_one_month_and_twelve_months_that_end_a_month(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        inside = dash.dashboard(s, dash.DateRange(dt.date(1997, 2, 1), dt.date(1997, 2, 1),
                                                  dt.date(1997, 2, 10), dt.date(1997, 2, 20)),
                                TODAY)
        from sqlalchemy import func

        from northwind_app.db.models import Order
        orders = s.execute(select(func.count()).where(
            Order.order_date.between(dt.date(1997, 2, 10), dt.date(1997, 2, 20)))).scalar_one()
    assert inside.kpis.orders == orders and [m.month for m in inside.by_month] == ["1997-02"]
    assert dash.year_before(dt.date(1998, 5, 31)) == dt.date(1997, 6, 1)  # whole months
    assert dash.year_before(dt.date(2024, 2, 29)) == dt.date(2023, 3, 1)


def test_the_quarter_view_opens_on_the_latest_quarter_with_orders(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        assert dash.latest_quarter(s, 1998) == 2  # the newest order: May 6, 1998
        assert dash.latest_quarter(s, 1997) == 4 and dash.latest_quarter(s, 1996) == 4


def test_the_year_choice_offers_only_years_with_orders(classic_db):
    with session_scope(classic_db) as s:
        assert dash.years_with_orders(s) == [1998, 1997, 1996]
    raw = {"customer_id": "ALFKI", "employee_id": 5, "order_date": "2026-12-06",
           "lines": [{"product_id": 1, "quantity": 2}]}
    write_transaction(lambda s: svc.create_order(s, svc.parse_order_input(raw), actor=SYSTEM),
                      classic_db)
    with session_scope(classic_db) as s:
        # No empty year between 1998 and 2026 is offered.
        assert dash.years_with_orders(s) == [2026, 1998, 1997, 1996]
        assert dash.latest_quarter(s, 1998) == 2  # an earlier year: its last with orders
        assert dash.latest_quarter(s, 2026) == 4 and dash.latest_quarter(s, 2020) == 1
