"""users.list_columns: the columns each user hides in each list of the screens

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

A JSON object, list name -> the keys of the columns the user hid in it (`{"orders":
["employee", "shipper"]}`), kept beside the user's number format (services/users.py:
`list_columns`, `set_list_columns`). NULL: every column of every list shown.

Re-runnable, like 0010: MariaDB commits each DDL statement at once, so each step checks
whether it is done already; ADD/DROP COLUMN directly on SQLite too (3.35+), never batch
mode's rebuild of `users` (with foreign keys on, dropping the old table would cascade to every
session and token).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from northwind_app.db.migrations import column_names

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "list_columns"


def upgrade() -> None:
    if COLUMN not in column_names("users", set()):
        op.add_column("users", sa.Column(COLUMN, sa.JSON(), nullable=True))


def downgrade() -> None:
    if COLUMN in column_names("users", {COLUMN}):
        op.execute(f"ALTER TABLE users DROP COLUMN {COLUMN}")
