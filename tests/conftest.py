"""Shared fixtures. Database tests run on SQLite always and on MariaDB when reachable
(or fail when NORTHWIND_REQUIRE_MARIADB=1, as CI sets). Each database a test gets is a copy of
a template built once per test process (tests/dbutil.py), so it is the test's own to change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import dbutil
from tests.dbutil import TestDatabase, require_backend

BACKENDS = ["sqlite", "mariadb"]


@pytest.fixture(scope="session", autouse=True)
def _drop_database_templates() -> Iterator[None]:
    yield
    dbutil.drop_templates()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    require_backend(request.param)
    return request.param


@pytest.fixture
def empty_db(backend, tmp_path) -> Iterator[str]:
    """URL of a migrated, empty database (fresh for each test)."""
    db = TestDatabase(backend, tmp_path).migrate()
    yield db.url
    db.drop()


@pytest.fixture
def classic_db(backend, tmp_path) -> Iterator[str]:
    """URL of a fresh database holding the classic Northwind data (safe to modify)."""
    db = TestDatabase(backend, tmp_path).classic()
    yield db.url
    db.drop()


@pytest.fixture(scope="module", params=BACKENDS)
def classic_db_ro(request, tmp_path_factory) -> Iterator[str]:
    """Module-wide classic database for read-only tests (do not modify it)."""
    require_backend(request.param)
    db = TestDatabase(request.param, tmp_path_factory.mktemp("classic")).classic()
    yield db.url
    db.drop()
