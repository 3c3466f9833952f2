"""rollup counters sharded over slots: `slot` joins the primary key of the sales_month_* tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Every order change adds its contribution to the monthly rollup rows of its customer, its
employee and its products. With one row per (month, key), two orders of one employee in one
month write the same row: on one server the second waits for the first to commit; on a
multi-primary Galera cluster, written through two nodes, one of them fails certification at
COMMIT (a deadlock error, retried). Each (month, key) now has up to rollups.SLOTS rows, a
change adds to one slot chosen at random, and the readers sum the slots (they all summed
already, but one). The existing rows become slot 0, as the loaders' rebuild writes them.

Each table is rebuilt as a copy (new table with the wider primary key, rows copied, old table
dropped, the copy renamed): one way for SQLite and MariaDB. Re-runnable (MariaDB commits each
DDL statement at once): a table that has `slot` is done; a copy left by a failed run is filled
again; a copy whose original is gone already is only renamed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

from northwind_app.db import migrations as m
from northwind_app.db.migrations import column_names
from northwind_app.db.types import ExactDecimal

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOT = "slot"


def _columns(key: Callable[[], sa.Column], counters: Sequence[str]) -> Callable[[bool], list]:
    def make(slotted: bool) -> list:
        columns = [sa.Column("month", sa.Date(), nullable=False), key()]
        if slotted:
            columns.append(sa.Column(SLOT, sa.Integer(), autoincrement=False, nullable=False,
                                     server_default="0"))
        columns += [sa.Column(name, sa.Integer(), nullable=False) for name in counters]
        columns.append(sa.Column("revenue", ExactDecimal(28, 8), nullable=False))
        key_columns = ["month", columns[1].name] + ([SLOT] if slotted else [])
        return [*columns, sa.PrimaryKeyConstraint(*key_columns)]
    return make


TABLES = {  # name: (key column, counters, columns with / without the slot)
    "sales_month_customer": ("customer_id", ("orders",), _columns(
        lambda: sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=5),
                          nullable=False), ("orders",))),
    "sales_month_employee": ("employee_id", ("orders", "shipped", "shipped_late"), _columns(
        lambda: sa.Column("employee_id", sa.Integer(), autoincrement=False, nullable=False),
        ("orders", "shipped", "shipped_late"))),
    "sales_month_product": ("product_id", ("units",), _columns(
        lambda: sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        ("units",))),
}


def _rebuild(name: str, slotted: bool, copy: Callable[[str, str], str]) -> None:
    """Replace table `name` by a copy with (slotted) or without the slot, re-runnably."""
    if not context.is_offline_mode() and m.table_exists(name) and \
            (SLOT in column_names(name, set())) == slotted:
        return  # done (offline, every step is written out)
    new = f"{name}_new"
    m.create_table(new, *TABLES[name][2](slotted))
    if context.is_offline_mode() or m.table_exists(name):
        op.execute(f"DELETE FROM {new}")  # a failed run may have filled part of it
        op.execute(copy(name, new))
        op.drop_table(name)
    op.rename_table(new, name)


def upgrade() -> None:
    for name, (key, counters, _) in TABLES.items():
        names = ", ".join(["month", key, *counters, "revenue"])
        _rebuild(name, True, lambda old, new, names=names:
                 f"INSERT INTO {new} ({names}, {SLOT}) SELECT {names}, 0 FROM {old}")


def downgrade() -> None:
    for name, (key, counters, _) in TABLES.items():
        names = ", ".join(["month", key, *counters, "revenue"])
        sums = ", ".join(["month", key, *(f"SUM({c})" for c in (*counters, "revenue"))])
        _rebuild(name, False, lambda old, new, names=names, sums=sums, key=key:
                 f"INSERT INTO {new} ({names}) SELECT {sums} FROM {old} GROUP BY month, {key}")
