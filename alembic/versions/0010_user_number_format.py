"""users.number_format: how the screens read and show numbers and dates for each user

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

One of formats.FORMATS ("en" 1,234.56, "de" 1.234,56, "fr" 1 234,56). NULL until the user's
first sign-in sets it from the browser's language; existing users keep NULL and get theirs on
their next sign-in.

Re-runnable: MariaDB commits each DDL statement at once (a failed run is not rolled back), so
each step checks whether it is done already. ADD/DROP COLUMN directly on SQLite too (3.35+),
never batch mode's rebuild of `users` (with foreign keys on, dropping the old table would
cascade to every session and token).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "number_format"


def _has_column(offline: bool) -> bool:
    """Whether `users` has the column now; offline (no database to ask), `offline`."""
    if context.is_offline_mode():
        return offline
    return COLUMN in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}


def upgrade() -> None:
    if not _has_column(False):
        op.add_column("users", sa.Column(COLUMN, sqlmodel.sql.sqltypes.AutoString(length=8),
                                         nullable=True))


def downgrade() -> None:
    if _has_column(True):
        op.execute(f"ALTER TABLE users DROP COLUMN {COLUMN}")
