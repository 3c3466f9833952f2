"""Sales figures for the dashboard, exact, from the monthly rollups (never stale, see rollups.py).

Revenue is the sum of line values (unit price × quantity × (1 − discount)), without freight,
as in the classic dataset's facts (all-time revenue 1,265,793.04). Periods are whole months:
the presets are all time, the last 12 months of the data, a year and a quarter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlmodel import Session

from northwind_app.db.models import (
    Category, Customer, Employee, Order, Product, SalesMonthCustomer, SalesMonthEmployee,
    SalesMonthProduct,
)
from northwind_app.db.types import days_between
from northwind_app.services.errors import Invalid
from northwind_app.services.orders import EMPLOYEE_NAME, LATE, status_condition

ZERO = Decimal(0)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class DateRange:
    """Whole months: `start` and `end` are first days of months, both included; None = open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def validated(self) -> DateRange:
        errors = {}
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.day != 1:
                errors[name] = "must be the first day of a month"
        if not errors and self.start and self.end and self.start > self.end:
            errors["end"] = "must not be before the start"
        if errors:
            raise Invalid(fields=errors)
        return self

    def months(self, column) -> list:
        conds = []
        if self.start:
            conds.append(column >= self.start)
        if self.end:
            conds.append(column <= self.end)
        return conds

    def order_dates(self) -> list:
        conds = []
        if self.start:
            conds.append(Order.order_date >= self.start)
        if self.end:
            conds.append(Order.order_date < add_months(self.end, 1))
        return conds


@dataclass
class Kpis:
    revenue: Decimal
    orders: int
    average_order_value: Decimal
    units_sold: int
    not_shipped: int
    late: int


@dataclass
class MonthPoint:
    month: str  # "1997-03"
    revenue: Decimal
    orders: int
    # The month of the newest order, which ends before the month does: its figures are those
    # of the month so far (drawn as such, not as a fall).
    partial: bool = False


@dataclass
class Ranked:
    key: str
    label: str
    revenue: Decimal


@dataclass
class Dashboard:
    range: DateRange
    kpis: Kpis
    by_month: list[MonthPoint]
    top_products: list[Ranked]
    top_customers: list[Ranked]
    top_employees: list[Ranked]
    by_category: list[Ranked]
    by_country: list[Ranked]
    last_order: dt.date | None = None  # the newest order's date (the data's end)


def data_bounds(session: Session) -> tuple[dt.date | None, dt.date | None]:
    """First and last order dates (the presets are relative to the data, not to today)."""
    return tuple(session.execute(select(func.min(Order.order_date), func.max(Order.order_date))).one())


def kpis(session: Session, period: DateRange, today: dt.date) -> Kpis:
    C, P = SalesMonthCustomer, SalesMonthProduct
    revenue, orders = session.execute(
        select(func.coalesce(func.sum(C.revenue), ZERO), func.coalesce(func.sum(C.orders), 0))
        .where(*period.months(C.month))).one()
    units = session.execute(select(func.coalesce(func.sum(P.units), 0))
                            .where(*period.months(P.month))).scalar_one()
    dates = period.order_dates()
    not_shipped = session.execute(
        select(func.count()).select_from(Order).where(Order.shipped_date.is_(None),
                                                    Order.cancelled_at.is_(None), *dates)).scalar_one()
    late = session.execute(
        select(func.count()).select_from(Order).where(status_condition(LATE, today), *dates)).scalar_one()
    revenue, orders = Decimal(revenue), int(orders)
    return Kpis(revenue=revenue, orders=orders,
                average_order_value=(revenue / orders) if orders else ZERO,
                units_sold=int(units), not_shipped=not_shipped, late=late)


def is_partial_month(month: dt.date, last_order: dt.date | None) -> bool:
    """Whether `month` (its first day) is the month of the data's newest order and that
    order came before the month's last day: the data stops inside it."""
    return (last_order is not None and month == last_order.replace(day=1)
            and last_order < add_months(month, 1) - dt.timedelta(days=1))


def revenue_by_month(session: Session, period: DateRange,
                     last_order: dt.date | None = None) -> list[MonthPoint]:
    """Revenue and orders per month of the period; the month of `last_order` (the newest
    order's date) is marked partial when the data stops before its end."""
    C = SalesMonthCustomer
    rows = session.execute(
        select(C.month, func.sum(C.revenue), func.sum(C.orders))
        .where(*period.months(C.month)).group_by(C.month).order_by(C.month)).all()
    return [MonthPoint(month.strftime("%Y-%m"), revenue, int(count),
                       partial=is_partial_month(month, last_order))
            for month, revenue, count in rows if count]


def _totals(key, revenue, period_column, period: DateRange):
    """Revenue per key over the period, aggregated before any join (a small subquery)."""
    return (select(key.label("key"), func.sum(revenue).label("revenue"))
            .where(*period.months(period_column)).group_by(key).subquery())


def _ranked(session: Session, stmt, limit: int | None) -> list[Ranked]:
    if limit:
        stmt = stmt.limit(limit)
    return [Ranked(str(k), str(name) if name is not None else str(k), value)
            for k, name, value in session.execute(stmt) if value]


def top_products(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    P = SalesMonthProduct
    t = _totals(P.product_id, P.revenue, P.month, period)
    return _ranked(session, select(t.c.key, Product.product_name, t.c.revenue)
                   .join(Product, Product.product_id == t.c.key)
                   .order_by(t.c.revenue.desc(), t.c.key), limit)


def top_customers(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    C = SalesMonthCustomer
    t = _totals(C.customer_id, C.revenue, C.month, period)
    top = select(t.c.key, t.c.revenue).order_by(t.c.revenue.desc(), t.c.key).limit(limit).subquery()
    return _ranked(session, select(top.c.key, Customer.company_name, top.c.revenue)
                   .join(Customer, Customer.customer_id == top.c.key)
                   .order_by(top.c.revenue.desc(), top.c.key), None)


def top_employees(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    E = SalesMonthEmployee
    t = _totals(E.employee_id, E.revenue, E.month, period)
    return _ranked(session, select(t.c.key, EMPLOYEE_NAME, t.c.revenue)
                   .join(Employee, Employee.employee_id == t.c.key)
                   .order_by(t.c.revenue.desc(), t.c.key), limit)


def revenue_by_category(session: Session, period: DateRange) -> list[Ranked]:
    P = SalesMonthProduct
    t = _totals(P.product_id, P.revenue, P.month, period)
    total = func.sum(t.c.revenue)
    return _ranked(session, select(Category.category_id, Category.category_name, total)
                   .select_from(t).join(Product, Product.product_id == t.c.key)
                   .join(Category, Category.category_id == Product.category_id)
                   .group_by(Category.category_id, Category.category_name)
                   .order_by(total.desc(), Category.category_id), None)


def revenue_by_country(session: Session, period: DateRange) -> list[Ranked]:
    """By the customer's country."""
    C = SalesMonthCustomer
    t = _totals(C.customer_id, C.revenue, C.month, period)
    total = func.sum(t.c.revenue)
    return _ranked(session, select(Customer.country, Customer.country, total)
                   .select_from(t).join(Customer, Customer.customer_id == t.c.key)
                   .where(Customer.country.is_not(None))
                   .group_by(Customer.country).order_by(total.desc(), Customer.country), None)


def dashboard(session: Session, period: DateRange, today: dt.date | None = None) -> Dashboard:
    period = period.validated()
    today = today or dt.date.today()
    _, last_order = data_bounds(session)
    return Dashboard(
        range=period,
        kpis=kpis(session, period, today),
        by_month=revenue_by_month(session, period, last_order),
        top_products=top_products(session, period),
        top_customers=top_customers(session, period),
        top_employees=top_employees(session, period),
        by_category=revenue_by_category(session, period),
        by_country=revenue_by_country(session, period),
        last_order=last_order,
    )


PRESETS = {"all": "All time", "last12": "Last 12 months of data", "year": "A year",
           "quarter": "A quarter"}


def resolve_period(session: Session, preset: str, year: int | None = None,
                   quarter: int | None = None) -> DateRange:
    """Turn a preset into whole months. "last12" ends with the month of the newest order."""
    if preset == "all":
        return DateRange()
    if preset == "last12":
        _, last = data_bounds(session)
        if last is None:
            return DateRange()
        end = last.replace(day=1)
        return DateRange(add_months(end, -11), end)
    errors = {}
    if year is None or not 1900 <= year <= 9999:
        errors["year"] = "choose a year"
    if preset == "quarter" and (quarter is None or not 1 <= quarter <= 4):
        errors["quarter"] = "choose a quarter from 1 to 4"
    if preset not in PRESETS:
        errors["preset"] = f"must be one of: {', '.join(PRESETS)}"
    if errors:
        raise Invalid(fields=errors)
    if preset == "year":
        return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 1))
    first = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return DateRange(first, add_months(first, 2))


def years_with_orders(session: Session) -> list[int]:
    first, last = data_bounds(session)
    return list(range(last.year, first.year - 1, -1)) if first and last else []


# --- figures for detail pages (from the same rollups) -------------------------------------

def product_sales_by_month(session: Session, product_id: int) -> list[MonthPoint]:
    """Revenue per month for one product; `orders` holds the units sold that month."""
    P = SalesMonthProduct
    units = func.sum(P.units)  # over the month's counter slots (services/rollups.py)
    return [MonthPoint(month.strftime("%Y-%m"), revenue, int(total))
            for month, total, revenue in session.execute(
                select(P.month, units, func.sum(P.revenue)).where(P.product_id == product_id)
                .group_by(P.month).having(units != 0).order_by(P.month))]


def employee_sales_by_year(session: Session, employee_id: int) -> list[tuple[int, int, Decimal]]:
    """(year, orders, revenue) for one employee, oldest year first (summed over the months
    and their counter slots)."""
    E = SalesMonthEmployee
    totals: dict[int, list] = {}
    for month, orders, revenue in session.execute(
            select(E.month, E.orders, E.revenue).where(E.employee_id == employee_id)):
        entry = totals.setdefault(month.year, [0, ZERO])
        entry[0] += orders
        entry[1] += revenue
    return [(year, n, revenue) for year, (n, revenue) in sorted(totals.items()) if n]


def category_revenue(session: Session, category_id: int) -> tuple[Decimal, int]:
    """All-time (revenue, units sold) of a category's products."""
    P = SalesMonthProduct
    revenue, units = session.execute(
        select(func.coalesce(func.sum(P.revenue), ZERO), func.coalesce(func.sum(P.units), 0))
        .join(Product, Product.product_id == P.product_id)
        .where(Product.category_id == category_id)).one()
    return Decimal(revenue), int(units)


@dataclass
class ShipperPerformance:
    shipped: int
    average_days: Decimal | None  # from order date to shipped date
    late: int  # shipped after the required date
    late_rate: Decimal | None  # late / shipped, 0–1


def shipper_performance(session: Session, shipper_id: int) -> ShipperPerformance:
    shipped, total_days, late = session.execute(
        select(func.count(), func.sum(days_between(Order.order_date, Order.shipped_date)),
               func.sum(case((Order.shipped_date > Order.required_date, 1), else_=0)))
        .where(Order.ship_via == shipper_id, Order.shipped_date.is_not(None))).one()
    if not shipped:
        return ShipperPerformance(0, None, 0, None)
    return ShipperPerformance(shipped, Decimal(int(total_days or 0)) / shipped, int(late or 0),
                              Decimal(int(late or 0)) / shipped)
