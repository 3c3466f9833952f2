"""sign-in throttling per username and client address (sign_in_throttle) instead of a lock on
the account (users.failed_logins, users.locked_until dropped)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

The account lock let anyone lock anyone out by typing five wrong passwords. Failed sign-ins
are now counted per (username, client address), per address and per username in
`sign_in_throttle` (see services/throttle.py), for existing and unknown usernames alike; the
per-account counter and lock go.

Re-runnable: MariaDB commits each DDL statement at once (a failed run is not rolled back), so
every step checks whether it is done already and a half-applied run can simply be run again.
The table has a primary key (Galera replicates only those). The columns are dropped with
ALTER TABLE ... DROP COLUMN on SQLite too (3.35+), not by batch mode's rebuild of `users`:
with foreign keys on, dropping the old `users` table would cascade to every session and
token.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from northwind_app.db import migrations as m
from northwind_app.db.migrations import column_names

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "sign_in_throttle"
INDEX = "ix_sign_in_throttle_window_start"
USER_COLUMNS = ("failed_logins", "locked_until")


def upgrade() -> None:
    m.create_table(
        TABLE,
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("scope", "username", "address"),
    )
    m.create_index(INDEX, TABLE, ["window_start"], unique=False)
    present = column_names("users", set(USER_COLUMNS))
    for column in USER_COLUMNS:
        if column in present:
            op.execute(f"ALTER TABLE users DROP COLUMN {column}")


def downgrade() -> None:
    present = column_names("users", set())
    if "failed_logins" not in present:
        op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                         server_default="0"))
    if "locked_until" not in present:
        op.add_column("users", sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(),
                                         nullable=True))
    op.drop_index(INDEX, table_name=TABLE, if_exists=True)
    op.drop_table(TABLE, if_exists=True)
