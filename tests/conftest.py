"""Shared fixtures. Database tests run on SQLite always and on MariaDB when reachable
(or fail when NORTHWIND_REQUIRE_MARIADB=1, as CI sets)."""

from __future__ import annotations

import pytest

from northwind_app.data.classic import load_classic
from northwind_app.db.engine import get_engine
from tests.dbutil import CLASSIC_DIR, TestDatabase, require_backend

BACKENDS = ["sqlite", "mariadb"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    require_backend(request.param)
    return request.param


@pytest.fixture
def empty_db(backend, tmp_path):
    """URL of a migrated, empty database (fresh for each test)."""
    db = TestDatabase(backend, tmp_path).migrate()
    yield db.url
    db.drop()


@pytest.fixture
def classic_db(empty_db):
    """URL of a fresh database holding the classic Northwind data (safe to modify)."""
    with get_engine(empty_db).begin() as conn:
        load_classic(conn, CLASSIC_DIR)
    return empty_db


@pytest.fixture(scope="module", params=BACKENDS)
def classic_db_ro(request, tmp_path_factory):
    """Module-wide classic database for read-only tests (do not modify it)."""
    require_backend(request.param)
    db = TestDatabase(request.param, tmp_path_factory.mktemp("classic")).migrate()
    with get_engine(db.url).begin() as conn:
        load_classic(conn, CLASSIC_DIR)
    yield db.url
    db.drop()
