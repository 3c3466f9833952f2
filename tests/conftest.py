"""Shared fixtures. Database tests run on SQLite always and on MariaDB when reachable
(or fail when NORTHWIND_REQUIRE_MARIADB=1, as CI sets). Each database a test gets is a copy of
a template built once per test process (tests/dbutil.py), so it is the test's own to change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import dbutil
from tests.dbutil import TestDatabase, require_backend

BACKENDS = ["sqlite", "mariadb"]


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With pytest-xdist (scripts/test.sh runs two workers): each module's tests stay on one
    worker, so its module-wide fixtures (servers, databases) are made once; and all browser
    tests are on one worker, and all tests of the Galera topology (tests/cluster: one topology
    per session), since their shared production app server is built once per
    session in one web folder (.web-test) that a second worker's build would overwrite.
    (xdist's own `--dist loadgroup` marks do not group under pytest 9: it renames the test
    ids through an attribute pytest no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByModuleBrowserTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            for together in ("tests/browser/", "tests/cluster/"):  # (one Galera topology)
                if path.startswith(together):
                    return together.rstrip("/")
            return path

    return ByModuleBrowserTogether(config, log)


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
