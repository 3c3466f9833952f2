"""Monthly sales rollups: what the dashboard reads instead of scanning every order line.

Three tables hold, per month, each customer's and each employee's order count and revenue
(for employees also how many of the orders were shipped on time and late), and each product's
units and revenue (revenue = exact sum of line values). They are never
stale: the order service calls `record_change` in the same transaction as every create,
update and delete, subtracting the order's old contribution and adding its new one with
atomic upserts (`x = x + delta`, safe under concurrency). Loaders call `rebuild`.
Cancelled orders contribute nothing (cancelling one subtracts its contribution).

Hot rows: every order of an employee in a month adds to the same counters. One row per
(month, key) made two such orders wait for each other on one server and, written through two
nodes of a multi-primary Galera cluster, fail certification at COMMIT (first committer wins;
the loser is retried). So each (month, key) is a sharded counter: up to SLOTS rows (`slot`
in the primary key), each change adds to one slot chosen at random, and every reader sums
the slots. Two concurrent changes of one key now meet in one row with probability 1/SLOTS
per table. A slot may hold a negative part (an order counted in one slot is subtracted in
another); only the sum over the slots has a meaning. `rebuild` writes slot 0 alone, and
`fold` merges the slots back into slot 0 (optional upkeep: the rows are bounded by SLOTS per
key anyway). Measured in bench/README.md ("Rollup contention").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
import random
from decimal import Decimal

from sqlalchemy import Connection, and_, case, delete, func, insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from northwind_app.db.models import (
    ROLLUPS, Order, OrderDetail, SalesMonthCustomer, SalesMonthEmployee, SalesMonthProduct,
)
from northwind_app.db.types import line_value, month_start
from northwind_app.money import line_value as py_line_value
from northwind_app.services.orders.status import SHIPPED, SHIPPED_LATE, status_condition, status_of


# Counter rows per (month, key). Changing it needs no migration: readers sum whatever slots
# there are, and `fold` merges them.
SLOTS = 8


@dataclass
class Contribution:
    """What one order adds to the rollups."""

    month: dt.date
    customer_id: str
    employee_id: int
    subtotal: Decimal
    products: dict[int, tuple[int, Decimal]] = field(default_factory=dict)  # id -> (units, revenue)
    shipped: str | None = None  # SHIPPED or SHIPPED_LATE once shipped


def contribution(session: Session, order_id: int) -> Contribution | None:
    """The order's current contribution (None if it does not exist, has no date or is
    cancelled)."""
    header = session.execute(
        select(Order.order_date, Order.customer_id, Order.employee_id, Order.subtotal,
               Order.shipped_date, Order.required_date, Order.cancelled_at)
        .where(Order.order_id == order_id)).first()
    if header is None or header.order_date is None or header.cancelled_at is not None:
        return None
    products: dict[int, tuple[int, Decimal]] = {}
    for pid, price, qty, disc in session.execute(
            select(OrderDetail.product_id, OrderDetail.unit_price, OrderDetail.quantity,
                   OrderDetail.discount).where(OrderDetail.order_id == order_id)):
        products[pid] = (qty, py_line_value(price, qty, disc))
    shipped = None if header.shipped_date is None \
        else status_of(header.shipped_date, header.required_date, dt.date.min)  # day-free
    return Contribution(header.order_date.replace(day=1), header.customer_id, header.employee_id,
                        header.subtotal, products, shipped)


def _add(session: Session, model, keys: dict, increments: dict) -> None:
    table = model.__table__
    if session.get_bind().dialect.name == "sqlite":
        stmt = sqlite_insert(table).values(**keys, **increments)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: table.c[name] + stmt.excluded[name] for name in increments})
    else:
        stmt = mysql_insert(table).values(**keys, **increments)
        stmt = stmt.on_duplicate_key_update(
            {name: table.c[name] + stmt.inserted[name] for name in increments})
    session.execute(stmt)


def record_change(session: Session, before: Contribution | None, after: Contribution | None) -> None:
    """Move the rollups from an order's old contribution to its new one, in one slot (chosen
    at random) of each key's counter rows."""
    slot = random.randrange(SLOTS)
    customers: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    employees: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), 0, 0])
    products: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for sign, c in ((-1, before), (1, after)):
        if c is None:
            continue
        for bucket, key in ((customers, (c.month, c.customer_id)), (employees, (c.month, c.employee_id))):
            bucket[key][0] += sign
            bucket[key][1] += sign * c.subtotal
        if c.shipped is not None:
            employees[(c.month, c.employee_id)][2 if c.shipped == SHIPPED else 3] += sign
        for pid, (units, revenue) in c.products.items():
            products[(c.month, pid)][0] += sign * units
            products[(c.month, pid)][1] += sign * revenue
    # Sorted keys: concurrent transactions lock rollup rows in the same order (no deadlocks).
    for (month, cid), (n, revenue) in sorted(customers.items()):
        if n or revenue:
            _add(session, SalesMonthCustomer, {"month": month, "customer_id": cid, "slot": slot},
                 {"orders": n, "revenue": revenue})
    for (month, eid), (n, revenue, shipped, late) in sorted(employees.items()):
        if n or revenue or shipped or late:
            _add(session, SalesMonthEmployee, {"month": month, "employee_id": eid, "slot": slot},
                 {"orders": n, "revenue": revenue, "shipped": shipped, "shipped_late": late})
    for (month, pid), (units, revenue) in sorted(products.items()):
        if units or revenue:
            _add(session, SalesMonthProduct, {"month": month, "product_id": pid, "slot": slot},
                 {"units": units, "revenue": revenue})


def rebuild(conn: Connection | Session) -> None:
    """Recompute every rollup from the orders (after bulk loads), in the caller's transaction:
    one row per key, slot 0 (the column's default)."""
    for model in ROLLUPS:
        conn.execute(delete(model))
    month = month_start(Order.order_date)
    dated = and_(Order.order_date.is_not(None), Order.cancelled_at.is_(None))
    conn.execute(insert(SalesMonthCustomer).from_select(
        ["month", "customer_id", "orders", "revenue"],
        select(month, Order.customer_id, func.count(), func.sum(Order.subtotal))
        .where(dated).group_by(month, Order.customer_id)))
    conn.execute(insert(SalesMonthEmployee).from_select(
        ["month", "employee_id", "orders", "revenue", "shipped", "shipped_late"],
        select(month, Order.employee_id, func.count(), func.sum(Order.subtotal),
               *(func.sum(case((status_condition(status, dt.date.min), 1), else_=0))
                 for status in (SHIPPED, SHIPPED_LATE)))
        .where(dated).group_by(month, Order.employee_id)))
    conn.execute(insert(SalesMonthProduct).from_select(
        ["month", "product_id", "units", "revenue"],
        select(month, OrderDetail.product_id, func.sum(OrderDetail.quantity),
               func.sum(line_value(OrderDetail.unit_price, OrderDetail.quantity,
                                   OrderDetail.discount)))
        .join(Order, Order.order_id == OrderDetail.order_id)
        .where(dated).group_by(month, OrderDetail.product_id)))


_KEYS = {SalesMonthCustomer: "customer_id", SalesMonthEmployee: "employee_id",
         SalesMonthProduct: "product_id"}


def totals(conn: Connection | Session) -> dict[str, dict[tuple, tuple]]:
    """Each rollup table's sums over the slots: {table: {(month, key): (counters...)}},
    keys whose counters are all zero left out (what a rebuild would have)."""
    result = {}
    for model, key in _KEYS.items():
        table = model.__table__
        counters = [c for c in table.c if c.name not in ("month", key, "slot")]
        rows = conn.execute(select(table.c.month, table.c[key], *(func.sum(c) for c in counters))
                            .group_by(table.c.month, table.c[key]))
        result[table.name] = {(month, k): tuple(values) for month, k, *values in rows
                              if any(values)}
    return result


def fold(conn: Connection | Session) -> None:
    """Merge every key's slots into slot 0 (the sums stay), in the caller's transaction: an
    upkeep job for quiet hours (it writes every rollup row, so on Galera it conflicts with the
    order writes it meets), never needed for correctness."""
    for model, key in _KEYS.items():
        table = model.__table__
        counters = [c.name for c in table.c if c.name not in ("month", key, "slot")]
        spread = select(table.c.month, table.c[key]).where(table.c.slot != 0).distinct()
        keys = [tuple(row) for row in conn.execute(spread)]
        for month, k in sorted(keys):  # one key at a time, in a fixed order
            where = and_(table.c.month == month, table.c[key] == k)
            sums = conn.execute(select(*(func.coalesce(func.sum(table.c[c]), 0)
                                         for c in counters)).where(where)).one()
            conn.execute(delete(table).where(where))
            conn.execute(insert(table).values(month=month, **{key: k}, slot=0,
                                              **dict(zip(counters, sums, strict=True))))
