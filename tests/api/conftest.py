"""API fixtures: clients of a real server (see tests/api/server.py) on each backend. Clients
send the demo admin's API token unless a request sets its own Authorization header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher

from northwind_app.services import auth
from tests.api.server import UNKNOWN_TOKEN, UNREACHABLE_DB, api_client, demo_tokens


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at the production cost takes most of a second per hash here, and every test
    database gets three demo users: API tests hash with the least cost instead (same code,
    same algorithm; tests/services/test_auth.py, outside this folder, runs with the real parameters)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


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
def tokens_ro(classic_db_ro) -> dict[str, str]:
    """API tokens of the demo admin, sales and viewer users of `api_ro`'s database, by role."""
    return demo_tokens(classic_db_ro)


@pytest.fixture
def tokens(classic_db) -> dict[str, str]:
    """API tokens of the demo users of `api`'s database, by role."""
    return demo_tokens(classic_db)


@pytest.fixture(scope="module")
def api_down() -> Iterator[httpx.Client]:
    """Client of an API whose database cannot be reached (its token cannot be checked)."""
    with api_client(UNREACHABLE_DB, token=UNKNOWN_TOKEN) as client:
        yield client
