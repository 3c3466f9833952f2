"""Order status: the one definition, in Python (`status_of`) and in SQL (`status_condition`,
`status_rank`), used by the orders service, the dashboard and the rollups.

- *new*: not shipped, not past the required date;
- *late*: not shipped, past the required date;
- *shipped*: shipped on or before the required date (or without one);
- *shipped_late*: shipped after the required date;
- *cancelled*: cancelled before it shipped (kept, stock returned, counted in no revenue).

Only new and late depend on the day; a shipped or cancelled order's status never changes by
itself. A cancelled order is never shipped (services.orders enforces both), so the shipped
statuses need no test of `cancelled_at`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, literal

from northwind_app.db.models import Order
from northwind_app.services.errors import Invalid

NEW, LATE, SHIPPED, SHIPPED_LATE = "new", "late", "shipped", "shipped_late"
CANCELLED = "cancelled"
STATUSES = (NEW, LATE, SHIPPED, SHIPPED_LATE, CANCELLED)
STATUS_LABELS = {NEW: "New", LATE: "Late", SHIPPED: "Shipped", SHIPPED_LATE: "Shipped late",
                 CANCELLED: "Cancelled"}


def status_of(shipped: dt.date | None, required: dt.date | None, today: dt.date,
              cancelled: dt.datetime | None = None) -> str:
    if cancelled is not None:
        return CANCELLED
    if shipped is None:
        return LATE if required is not None and required < today else NEW
    return SHIPPED_LATE if required is not None and shipped > required else SHIPPED


def status_condition(status: str, today: dt.date):
    """The SQL form of `status_of` for one status (for filters)."""
    shipped, required = Order.shipped_date, Order.required_date
    open_ = Order.cancelled_at.is_(None)
    if status == NEW:
        return and_(shipped.is_(None), open_, (required.is_(None)) | (required >= today))
    if status == LATE:
        return and_(shipped.is_(None), open_, required < today)
    if status == SHIPPED:
        return and_(shipped.is_not(None), (required.is_(None)) | (shipped <= required))
    if status == SHIPPED_LATE:
        return and_(shipped.is_not(None), shipped > required)
    if status == CANCELLED:
        return Order.cancelled_at.is_not(None)
    raise Invalid(fields={"status": f"unknown status {status!r}; use one of: {', '.join(STATUSES)}"})


def status_rank(today: dt.date):
    """The SQL form of `status_of` as its position in STATUSES (sorting by status)."""
    return case(
        *((status_condition(s, today), literal(i)) for i, s in enumerate(STATUSES)),
        else_=literal(0),
    )
