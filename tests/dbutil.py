"""Test databases: a fresh SQLite file or a fresh MariaDB database, migrated to head (and, if
asked, holding the classic data).

Migrating and loading the classic CSVs takes seconds on MariaDB, and most database tests want
exactly that state, so each test process (each xdist worker) builds it once per backend — a
*template* — and every test gets a copy of its own: on SQLite a copy of the file, on MariaDB a
new database with the template's tables (SHOW CREATE TABLE, so foreign keys and AUTO_INCREMENT
counters come along, unlike CREATE TABLE … LIKE), rows (INSERT … SELECT), views and then
triggers (after the rows, which the template's triggers have already accounted for) and
alembic_version. tests/db/test_schema.py checks that a copy has the template's schema.

MariaDB copies and drops are mostly the server's file work, so they overlap the tests: the
next copy of a template is made in a background thread while a test runs, and a dropped
database is dropped in the background too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from northwind_app.db.engine import dispose_engine, get_engine
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
    """Create a database for a backend, bring it to head (a copy of the migrated template) or
    to head with the classic data (a copy of the classic template), and drop it afterwards."""

    def __init__(self, backend: str, tmp_dir: Path, prefix: str = "nw_test"):
        self.backend = backend
        if backend == "sqlite":
            self.path = tmp_dir / f"nw-{uuid.uuid4().hex[:8]}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
            server = make_url(MARIADB_SERVER_URL)
            self.url = server.set(database=self.name).render_as_string(hide_password=False)
            self._server_engine = create_engine(MARIADB_SERVER_URL)
            with self._server_engine.begin() as conn:
                conn.execute(text(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_unicode_ci"))

    def migrate(self) -> TestDatabase:
        """Bring the (new, empty) database to head: a copy of the migrated template."""
        return self._copy_of(_template(self.backend, "empty"))

    def classic(self) -> TestDatabase:
        """Bring the (new, empty) database to head with the classic data: a copy."""
        return self._copy_of(_template(self.backend, "classic"))

    def _copy_of(self, template: _Template) -> TestDatabase:
        if self.backend == "sqlite":
            template.copy_to(self)
            return self
        ready = template.take()  # made while the previous test ran
        with self._server_engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE `{self.name}`"))  # still empty: quick
        self.name, self.url = ready.name, ready.url
        return self

    def run_migrations(self) -> TestDatabase:
        """Bring the database to head by running every migration (what the templates do)."""
        upgrade_to_head(self.url)
        return self

    def drop(self, wait: bool = False) -> None:
        dispose_engine(self.url)
        if self.backend == "mariadb":
            future = _in_background(self._drop, self.name)
            if wait:
                future.result()

    def _drop(self, name: str) -> None:
        with self._server_engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        self._server_engine.dispose()


# Makes the next MariaDB copy and drops finished ones while the tests run.
_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-databases")
_pending: set[Future] = set()


def _in_background(fn: Callable, *args) -> Future:
    future = _background.submit(fn, *args)
    _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


def settle() -> None:
    """Wait until no copy or drop runs in the background: for a test that counts what every
    database connection of the process sends (tests/db/test_engine.py)."""
    for future in list(_pending):
        future.exception()  # waits; a failed copy is reported to whoever takes it


@dataclass
class _Template:
    """A database built once per test process, and what copying it takes."""

    db: TestDatabase
    tables: list[str] = field(default_factory=list)  # MariaDB: base tables, in any order
    creates: list[str] = field(default_factory=list)  # MariaDB: tables, then views
    triggers: list[tuple[str, str]] = field(default_factory=list)  # (sql_mode, statement)
    spare: Future | None = None  # MariaDB: the next copy, being made

    def take(self) -> TestDatabase:
        """A new MariaDB copy (the spare, if one is ready or being made); starts the next."""
        future = self.spare or _in_background(self._new_copy)
        self.spare = _in_background(self._new_copy)
        return future.result()

    def _new_copy(self) -> TestDatabase:
        copy = TestDatabase("mariadb", Path(tempfile.gettempdir()))
        self.copy_to(copy)
        return copy

    def copy_to(self, target: TestDatabase) -> None:
        if target.backend == "sqlite":
            shutil.copyfile(self.db.path, target.path)
            return
        raw = target._server_engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"USE `{target.name}`")
            cursor.execute("SET SESSION foreign_key_checks = 0")
            for statement in self.creates:
                cursor.execute(statement)
            for table in self.tables:
                cursor.execute(f"INSERT INTO `{table}` SELECT * FROM `{self.db.name}`.`{table}`")
            for sql_mode, statement in self.triggers:
                cursor.execute("SET SESSION sql_mode = %s", (sql_mode,))
                cursor.execute(statement)
            raw.commit()
        finally:
            raw.close()  # back to the pool: the session variables go with the connection
            target._server_engine.dispose()


_templates: dict[tuple[str, str], _Template] = {}
_template_dir: Path | None = None


def _template(backend: str, kind: str) -> _Template:
    """The process's template of `kind` ("empty": migrated; "classic": with the classic data)
    for `backend`, built on first use."""
    global _template_dir
    key = (backend, kind)
    if key not in _templates:
        if _template_dir is None:
            _template_dir = Path(tempfile.mkdtemp(prefix="nw-templates-"))
        db = TestDatabase(backend, _template_dir, prefix="nw_tmpl")
        upgrade_to_head(db.url)
        if kind == "classic":
            from northwind_app.data.classic import load_classic

            with get_engine(db.url).begin() as conn:
                load_classic(conn, CLASSIC_DIR)
        if backend == "sqlite":
            with get_engine(db.url).connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        dispose_engine(db.url)  # the file is complete (no WAL left) and nobody holds it
        template = _Template(db)
        if backend == "mariadb":
            _describe(template)
        _templates[key] = template
    return _templates[key]


def _describe(template: _Template) -> None:
    """Read a MariaDB template's DDL: base tables, views, triggers."""
    name = template.db.name
    with template.db._server_engine.connect() as conn:
        objects = conn.execute(text(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = :db ORDER BY TABLE_NAME"), {"db": name}).all()
        views = []
        for table, kind in objects:
            if kind == "VIEW":
                create = conn.execute(text(f"SHOW CREATE VIEW `{name}`.`{table}`")).one()[1]
                views.append(create.replace(f"`{name}`.", ""))  # names the template
            else:
                template.tables.append(table)
                template.creates.append(
                    conn.execute(text(f"SHOW CREATE TABLE `{name}`.`{table}`")).one()[1])
        template.creates.extend(views)
        for (trigger,) in conn.execute(text(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA = :db ORDER BY ACTION_ORDER"), {"db": name}).all():
            row = conn.execute(text(f"SHOW CREATE TRIGGER `{name}`.`{trigger}`")).mappings().one()
            template.triggers.append((row["sql_mode"], row["SQL Original Statement"]))


def drop_templates() -> None:
    """Drop the templates this process built, and their spare copies (at the end of the
    session), and wait for every drop."""
    for template in _templates.values():
        if template.spare is not None:
            template.spare.result().drop(wait=True)
        template.db.drop(wait=True)
    _templates.clear()
    global _background
    _background.shutdown(wait=True)  # the tests' drops too
    _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-databases")
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy SQLite database `source` onto `target` through SQLite's backup API: unlike a file
    copy it takes what is still in `source`'s WAL, and it may overwrite a database that a
    server's pooled connections hold open (they see the copy from their next transaction)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def run_in_threads(target: Callable[[], None], count: int) -> None:
    """Run `target` in `count` threads at once and wait for them all."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
