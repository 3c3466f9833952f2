"""First run: migrate the embedded database and fill it with demo data when it is empty.

Runs once per start (guarded by a file lock so several workers do not race) and only for
the embedded default SQLite database; a configured production database is never seeded.
"""

from __future__ import annotations

import fcntl
import logging

from northwind_app.data.demo import load_demo
from northwind_app.data.loading import add_demo_users, has_users, is_empty
from northwind_app.db.engine import get_engine
from northwind_app.db.migrations import upgrade_to_head
from northwind_app.settings import DEFAULT_SQLITE_PATH, settings

log = logging.getLogger(__name__)


def prepare_embedded_database() -> bool:
    """Returns True when demo data was loaded."""
    if not settings.is_default_database:
        return False
    lock_path = DEFAULT_SQLITE_PATH.with_suffix(".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        upgrade_to_head()
        engine = get_engine()
        with engine.connect() as conn:
            empty, users = is_empty(conn), has_users(conn)
        if not empty:
            if not users:  # an embedded database seeded before accounts existed
                with engine.begin() as conn:
                    add_demo_users(conn)
            return False
        log.warning("Empty embedded database: loading %s demo orders", settings.demo_orders)
        with engine.begin() as conn:
            load_demo(conn, orders=settings.demo_orders)
            add_demo_users(conn)
        return True
