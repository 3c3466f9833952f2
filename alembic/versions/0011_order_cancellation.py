"""order cancellation: orders.cancelled_at (the order lifecycle)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06

An open order can be cancelled instead of deleted: it is kept with its lines, its stock is
returned and it counts in no revenue or rollup (services/orders/writes.py, cancel_order). The time
it was cancelled is `orders.cancelled_at` (NULL: not cancelled), indexed with the order date:
the unfiltered order count adds the few cancelled dated orders to the rollups' count from the
index alone, and the "cancelled" filter finds them. Downgrading forgets the cancellations
(the cancelled orders would count again, their stock already returned). No order is
cancelled yet, so the rollups stay as they are.

Re-runnable, like 0009: MariaDB commits each DDL statement at once, so each step checks
whether it is done already. The column is added with ALTER TABLE ... ADD COLUMN on SQLite
too, not by batch mode's rebuild of `orders`: with foreign keys on, dropping the old table
would cascade to every order line.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from northwind_app.db import migrations as m
from northwind_app.db.migrations import column_names

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "cancelled_at"
INDEX = "ix_orders_cancelled_at"


def upgrade() -> None:
    if COLUMN not in column_names("orders", set()):
        op.add_column("orders", sa.Column(COLUMN, sqlmodel.sql.sqltypes.UTCDateTime(),
                                          nullable=True))
    m.create_index(INDEX, "orders", [COLUMN, "order_date"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="orders", if_exists=True)
    if COLUMN in column_names("orders", {COLUMN}):
        op.execute(f"ALTER TABLE orders DROP COLUMN {COLUMN}")
