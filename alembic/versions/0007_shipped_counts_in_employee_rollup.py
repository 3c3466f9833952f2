"""shipped on time / late counts in the monthly employee rollup

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

The order lists count "shipped" and "shipped late" orders from the rollup instead of
reading every order (a shipped order's status does not depend on the day). Existing rows
are recomputed from the orders.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from northwind_app.db import migrations as m

from northwind_app.db.types import ExactDecimal, month_start

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("shipped", "shipped_late")


def upgrade() -> None:
    # Re-runnable: a column is added only if missing; the rows are recomputed on every run.
    for name in COLUMNS:
        m.add_column("sales_month_employee",
                     sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    order = sa.table("orders", sa.column("order_date", sa.Date()),
                     sa.column("employee_id", sa.Integer()),
                     sa.column("subtotal", ExactDecimal(28, 8)),
                     sa.column("shipped_date", sa.Date()), sa.column("required_date", sa.Date()))
    rollup = sa.table("sales_month_employee", *(sa.column(c) for c in (
        "month", "employee_id", "orders", "revenue", *COLUMNS)))
    shipped, required = order.c.shipped_date, order.c.required_date
    on_time = sa.and_(shipped.is_not(None), required.is_(None) | (shipped <= required))
    late = sa.and_(shipped.is_not(None), shipped > required)
    month = month_start(order.c.order_date)
    op.execute(rollup.delete())
    op.execute(rollup.insert().from_select(
        ["month", "employee_id", "orders", "revenue", *COLUMNS],
        sa.select(month, order.c.employee_id, sa.func.count(), sa.func.sum(order.c.subtotal),
                  sa.func.sum(sa.case((on_time, 1), else_=0)),
                  sa.func.sum(sa.case((late, 1), else_=0)))
        .where(order.c.order_date.is_not(None)).group_by(month, order.c.employee_id)))
    with op.batch_alter_table("sales_month_employee", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.alter_column(name, existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sales_month_employee", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
