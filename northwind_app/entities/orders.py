"""Orders as a list other pages embed (a customer's, an employee's, a shipper's, a product's
orders). The orders screens themselves (list, detail, form) are pages/orders*.py; this reads
their columns and rows, so an embedded list looks like the orders list."""

from __future__ import annotations

from northwind_app.entities.base import Entity
from northwind_app.pages.orders import COLUMNS, OrdersListing


def _as_shown(row: dict) -> dict[str, str]:
    return row  # OrdersListing's rows are display strings already


ORDERS = Entity(
    name="orders", noun="order", title="Orders",
    listing=OrdersListing,
    columns=tuple(COLUMNS),
    row=_as_shown,
    search_placeholder="Order id, customer, ship name or city",
)
