"""indexes on orders.ship_city and orders.ship_name (with the status dates) for the search

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

The orders search matches a text anywhere in the ship city or ship name (LIKE '%text%'),
which no index can seek. These columns have few distinct values (about one per customer), so
the search first reads the distinct values that contain the text from these indexes alone,
then finds the orders by those values through the same indexes instead of reading every
order row. The order date and the status dates make the indexes covering for that page's
default sort, status filter and count: at 1M orders with MariaDB's default 128 MiB buffer
pool a city's ~4,500 orders are otherwise ~4,500 table pages read from disk (350-650 ms
against 47 ms).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from northwind_app.db import migrations as m

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_DATES = ["order_date", "shipped_date", "required_date"]
INDEXES = [("ix_orders_ship_city_status", ["ship_city", *STATUS_DATES]),
           ("ix_orders_ship_name_status", ["ship_name", *STATUS_DATES])]


def upgrade() -> None:  # re-runnable: each index is created only if missing
    for name, columns in INDEXES:
        m.create_index(name, "orders", columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name, _columns in INDEXES:
            batch_op.drop_index(name)
