"""API fixtures: clients of a real server (see tests/api/server.py) on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.server import UNREACHABLE_DB, api_client


@pytest.fixture(scope="module")
def api_ro(classic_db_ro) -> Iterator[httpx.Client]:
    """Client of an API over the module's read-only classic database (both backends)."""
    with api_client(classic_db_ro) as client:
        yield client


@pytest.fixture
def api(classic_db) -> Iterator[httpx.Client]:
    """Client of an API over a fresh classic database that tests may change (both backends)."""
    with api_client(classic_db) as client:
        yield client


@pytest.fixture(scope="module")
def api_down() -> Iterator[httpx.Client]:
    """Client of an API whose database cannot be reached."""
    with api_client(UNREACHABLE_DB) as client:
        yield client
