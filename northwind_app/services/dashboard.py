"""Sales figures for the dashboard, exact, from the monthly rollups (never stale, see rollups.py).

Revenue is the sum of line values (unit price × quantity × (1 − discount)), without freight,
as in the classic dataset's facts (all-time revenue 1,265,793.04). The presets are all time,
the last 12 months of the data (the twelve months ending on the day of the newest order, which
need not start or end with a month: the rollups give the whole months inside, the orders
themselves the days of the months it cuts), a year and a quarter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlmodel import Session

from northwind_app.db.models import (
    Category, Customer, Employee, Order, OrderDetail, Product, SalesMonthCustomer, SalesMonthEmployee,
    SalesMonthProduct,
)
from northwind_app.db.types import days_between, line_value
from northwind_app.services.errors import Invalid
from northwind_app.services.orders import EMPLOYEE_NAME, LATE, status_condition

ZERO = Decimal(0)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    """The last day of `month`'s month."""
    return add_months(month.replace(day=1), 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class DateRange:
    """Months: `start` and `end` are first days of months, both included; None = open.
    `first_day` / `last_day` (within the start / end month) cut the first and last month:
    the period then begins / ends on those days."""

    start: dt.date | None = None
    end: dt.date | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    def validated(self) -> DateRange:
        errors = {}
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.day != 1:
                errors[name] = "must be the first day of a month"
        for name, month in (("first_day", self.start), ("last_day", self.end)):
            day = getattr(self, name)
            if day is not None and (month is None or day.replace(day=1) != month):
                errors[name] = "must be a day of the period's first (last) month"
        if not errors and self.start and self.end and self.start > self.end:
            errors["end"] = "must not be before the start"
        if errors:
            raise Invalid(fields=errors)
        return self

    @property
    def _cut_first(self) -> bool:
        return self.first_day is not None and self.first_day.day != 1

    @property
    def _cut_last(self) -> bool:
        return self.last_day is not None and self.last_day != month_end(self.last_day)

    def months(self, column) -> list:
        """Conditions on a rollup's month: the months wholly in the period."""
        conds = []
        if self.start:
            conds.append(column > self.start if self._cut_first else column >= self.start)
        if self.end:
            conds.append(column < self.end if self._cut_last else column <= self.end)
        return conds

    def cut_days(self) -> list[tuple[dt.date, dt.date]]:
        """(first, last day) of each month the period cuts (read from the orders)."""
        if self.start and self.end and self.start == self.end and (
                self._cut_first or self._cut_last):  # one month, cut
            return [(self.first_day or self.start, self.last_day or month_end(self.end))]
        cut = []
        if self._cut_first:
            cut.append((self.first_day, month_end(self.first_day)))
        if self._cut_last:
            cut.append((self.last_day.replace(day=1), self.last_day))
        return cut

    def order_dates(self) -> list:
        conds = []
        if self.start:
            conds.append(Order.order_date >= (self.first_day or self.start))
        if self.end:
            conds.append(Order.order_date <= self.last_day if self.last_day
                         else Order.order_date < add_months(self.end, 1))
        return conds


# The rollups' figures for a period, from the rollup table for the whole months and, for the
# days of a cut month, from the orders as `rollups.rebuild` computes them; each part summed by
# `by` before they are put together (a few rows, not every customer's every month).
_DATED = and_(Order.order_date.is_not(None), Order.cancelled_at.is_(None))
_KEYS = {SalesMonthCustomer: ("customer_id", "orders"),
         SalesMonthEmployee: ("employee_id", "orders"),
         SalesMonthProduct: ("product_id", "units")}


def _rows(model, period: DateRange, by: str | None):
    """`model`'s figures in `period` as a subquery of (`by`: "key" or "month", when given),
    count, revenue (count: orders, or units for products); sum them again by `by`."""
    t = model.__table__
    key, count = _KEYS[model]
    group = {"key": t.c[key], "month": t.c.month}.get(by or "")
    whole = select(*([group.label(by)] if by else []), func.sum(t.c[count]).label("count"),
                   func.sum(t.c.revenue).label("revenue")).where(*period.months(t.c.month))
    parts = [whole.group_by(group) if by else whole]
    for first, last in period.cut_days():
        days = and_(_DATED, Order.order_date >= first, Order.order_date <= last)
        if model is SalesMonthProduct:
            column = OrderDetail.product_id
            figures = (func.sum(OrderDetail.quantity),
                       func.sum(line_value(OrderDetail.unit_price, OrderDetail.quantity,
                                           OrderDetail.discount)))
        else:
            column = Order.customer_id if model is SalesMonthCustomer else Order.employee_id
            figures = (func.count(), func.sum(Order.subtotal))
        label = {"key": column, "month": literal(first.replace(day=1), t.c.month.type)}
        part = select(*([label[by]] if by else []), *figures)
        if model is SalesMonthProduct:
            part = part.select_from(OrderDetail).join(Order,
                                                      Order.order_id == OrderDetail.order_id)
        part = part.where(days)
        parts.append(part.group_by(column) if by == "key" else part)
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


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
    C, P = _rows(SalesMonthCustomer, period, None), _rows(SalesMonthProduct, period, None)
    revenue, orders = session.execute(
        select(func.coalesce(func.sum(C.c.revenue), ZERO),
               func.coalesce(func.sum(C.c.count), 0))).one()
    units = session.execute(select(func.coalesce(func.sum(P.c.count), 0))).scalar_one()
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
    C = _rows(SalesMonthCustomer, period, "month")
    rows = session.execute(
        select(C.c.month, func.sum(C.c.revenue), func.sum(C.c.count))
        .group_by(C.c.month).order_by(C.c.month)).all()
    # (MariaDB types the month of a UNION with a cut month as text: "1997-05-01".)
    points = []
    for month, revenue, count in rows:
        if not count:
            continue
        first = dt.date.fromisoformat(str(month)[:10])
        points.append(MonthPoint(first.strftime("%Y-%m"), revenue, int(count),
                                 partial=is_partial_month(first, last_order)))
    return points


def _totals(model, period: DateRange):
    """Revenue per key over the period, aggregated before any join (a small subquery)."""
    rows = _rows(model, period, "key")
    if not period.cut_days():  # one part, summed by key already
        return rows
    return (select(rows.c.key.label("key"), func.sum(rows.c.revenue).label("revenue"))
            .group_by(rows.c.key).subquery())


def _ranked(session: Session, stmt, limit: int | None) -> list[Ranked]:
    if limit:
        stmt = stmt.limit(limit)
    return [Ranked(str(k), str(name) if name is not None else str(k), value)
            for k, name, value in session.execute(stmt) if value]


def top_products(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    t = _totals(SalesMonthProduct, period)
    return _ranked(session, select(t.c.key, Product.product_name, t.c.revenue)
                   .join(Product, Product.product_id == t.c.key)
                   .order_by(t.c.revenue.desc(), t.c.key), limit)


def top_customers(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    t = _totals(SalesMonthCustomer, period)
    top = select(t.c.key, t.c.revenue).order_by(t.c.revenue.desc(), t.c.key).limit(limit).subquery()
    return _ranked(session, select(top.c.key, Customer.company_name, top.c.revenue)
                   .join(Customer, Customer.customer_id == top.c.key)
                   .order_by(top.c.revenue.desc(), top.c.key), None)


def top_employees(session: Session, period: DateRange, limit: int = 10) -> list[Ranked]:
    t = _totals(SalesMonthEmployee, period)
    return _ranked(session, select(t.c.key, EMPLOYEE_NAME, t.c.revenue)
                   .join(Employee, Employee.employee_id == t.c.key)
                   .order_by(t.c.revenue.desc(), t.c.key), limit)


def revenue_by_category(session: Session, period: DateRange) -> list[Ranked]:
    t = _totals(SalesMonthProduct, period)
    total = func.sum(t.c.revenue)
    return _ranked(session, select(Category.category_id, Category.category_name, total)
                   .select_from(t).join(Product, Product.product_id == t.c.key)
                   .join(Category, Category.category_id == Product.category_id)
                   .group_by(Category.category_id, Category.category_name)
                   .order_by(total.desc(), Category.category_id), None)


def revenue_by_country(session: Session, period: DateRange) -> list[Ranked]:
    """By the customer's country."""
    t = _totals(SalesMonthCustomer, period)
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


def year_before(day: dt.date) -> dt.date:
    """The day after the same day a year earlier: where twelve months ending on `day` start
    (Feb 29 → Mar 1 of the year before)."""
    try:
        return day.replace(year=day.year - 1) + dt.timedelta(days=1)
    except ValueError:  # Feb 29
        return dt.date(day.year - 1, 3, 1)


def resolve_period(session: Session, preset: str, year: int | None = None,
                   quarter: int | None = None) -> DateRange:
    """Turn a preset into a period. "last12": the twelve months ending on the day of the
    newest order (e.g. May 7, 1997 – May 6, 1998); the others are whole months."""
    if preset == "all":
        return DateRange()
    if preset == "last12":
        _, last = data_bounds(session)
        if last is None:
            return DateRange()
        first = year_before(last)
        return DateRange(first.replace(day=1), last.replace(day=1), first, last)
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


def latest_quarter(session: Session, year: int) -> int:
    """The latest quarter of `year` with orders (what "A quarter" opens on): the quarter of
    its newest month with orders (from the monthly rollups); Q1 when the year has none."""
    C = SalesMonthCustomer
    months = session.execute(
        select(C.month).where(C.month >= dt.date(year, 1, 1), C.month <= dt.date(year, 12, 1))
        .group_by(C.month).having(func.sum(C.orders) > 0)).scalars().all()
    if not months:
        return 1
    newest = max(m if isinstance(m, dt.date) else dt.date.fromisoformat(str(m)[:10])
                 for m in months)
    return (newest.month - 1) // 3 + 1


def years_with_orders(session: Session) -> list[int]:
    """The years that have orders, newest first (what the year choice offers): from the
    monthly rollups (summed over their slots), so a gap of years without orders (the classic
    data's 1998 and this year's new orders) offers none of its empty years."""
    C = SalesMonthCustomer
    months = session.execute(select(C.month).group_by(C.month)
                             .having(func.sum(C.orders) > 0)).scalars()
    return sorted({month.year if isinstance(month, dt.date)
                   else dt.date.fromisoformat(str(month)[:10]).year for month in months},
                  reverse=True)


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
