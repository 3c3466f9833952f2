"""Test databases: a fresh SQLite file or a fresh MariaDB database, migrated to head."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from northwind_app.db.engine import dispose_engine
from northwind_app.db.migrations import upgrade_to_head

# The classic CSV files live beside the repository (../shared), never inside it.
CLASSIC_DIR = Path(
    os.environ.get("NORTHWIND_CLASSIC_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "northwind-classic"
)

MARIADB_SERVER_URL = os.environ.get(
    "NORTHWIND_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4"
)
REQUIRE_MARIADB = os.environ.get("NORTHWIND_REQUIRE_MARIADB") == "1"

_mariadb_checked: bool | None = None
_mariadb_error = ""


def mariadb_available() -> bool:
    global _mariadb_checked, _mariadb_error
    if _mariadb_checked is None:
        try:
            engine = create_engine(MARIADB_SERVER_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _mariadb_checked = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _mariadb_checked = False
            _mariadb_error = str(exc).splitlines()[0]
    return _mariadb_checked


def require_backend(backend: str) -> None:
    if backend == "mariadb" and not mariadb_available():
        message = f"MariaDB not reachable at {MARIADB_SERVER_URL}: {_mariadb_error}"
        if REQUIRE_MARIADB:
            pytest.fail(message + " (NORTHWIND_REQUIRE_MARIADB=1)")
        pytest.skip(message)


class TestDatabase:
    """Create a database for a backend, migrate it, and drop it afterwards."""

    def __init__(self, backend: str, tmp_dir: Path):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_dir / f'nw-{uuid.uuid4().hex[:8]}.db'}"
        else:
            self.name = f"nw_test_{uuid.uuid4().hex[:12]}"
            server = make_url(MARIADB_SERVER_URL)
            self.url = server.set(database=self.name).render_as_string(hide_password=False)
            self._server_engine = create_engine(MARIADB_SERVER_URL)
            with self._server_engine.begin() as conn:
                conn.execute(text(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_unicode_ci"))

    def migrate(self) -> TestDatabase:
        upgrade_to_head(self.url)
        return self

    def drop(self) -> None:
        dispose_engine(self.url)
        if self.backend == "mariadb":
            with self._server_engine.begin() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{self.name}`"))
            self._server_engine.dispose()


def run_in_threads(target: Callable[[], None], count: int) -> None:
    """Run `target` in `count` threads at once and wait for them all."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
