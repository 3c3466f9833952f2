"""users.time_zone: the time zone the screens show times in, for each user

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

An IANA name ("Europe/Berlin"). NULL until the user's first sign-in sets it from the
browser's zone; existing users keep NULL (UTC) and get theirs on their next sign-in.

Re-runnable: MariaDB commits each DDL statement at once (a failed run is not rolled back), so
each step checks whether it is done already. ADD/DROP COLUMN directly on SQLite too (3.35+),
never batch mode's rebuild of `users` (with foreign keys on, dropping the old table would
cascade to every session and token).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from northwind_app.db.migrations import column_names

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "time_zone"


def upgrade() -> None:
    if COLUMN not in column_names("users", set()):
        op.add_column("users", sa.Column(COLUMN, sqlmodel.sql.sqltypes.AutoString(length=64),
                                         nullable=True))


def downgrade() -> None:
    if COLUMN in column_names("users", {COLUMN}):
        op.execute(f"ALTER TABLE users DROP COLUMN {COLUMN}")
