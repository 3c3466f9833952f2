"""Live screens across hosts (issue #23): two app processes on different ports sharing one
Redis and one database (two hosts, in effect). A change made through one (its API) reaches a
tab on the other at once: each announces its commits on Redis, each listens.

Its own servers in the production shape (scripts/run.sh's launcher, Redis, one worker each),
one frontend build (.web-test-live-redis, built by the first), Redis database and SQLite
database (classic data, demo users)."""

from __future__ import annotations

import os
import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope
from northwind_app.services import users
from northwind_app.services.auth import SYSTEM
from tests.browser.conftest import TIMEOUT_MS, classic_app_db, session_cookie
from tests.prodserver import AppServer, own_redis_db

START_TIMEOUT = 900
LIVE_MS = 5_000


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    """(database URL, [(base URL, server)] × 2) of two app processes on one Redis."""
    tmp = tmp_path_factory.mktemp("live-redis")
    db_url = classic_app_db(tmp / "live.db")
    web = os.environ.get("NORTHWIND_TEST_LIVE_WEB_WORKDIR", ".web-test-live-redis")
    with own_redis_db() as redis_url:
        servers = []
        try:
            for name in ("one", "two"):  # one after the other: the second reuses the build
                server = AppServer(
                    ["-m", "northwind_app.serve", "run", "--env", "prod", "--single-port"],
                    {"NORTHWIND_DATABASE_URL": db_url, "REFLEX_REDIS_URL": redis_url,
                     "GRANIAN_WORKERS": "1", "REFLEX_WEB_WORKDIR": web,
                     "REFLEX_STATES_WORKDIR": str(tmp / f"states-{name}")},
                    tmp / f"server-{name}.log")
                servers.append(server)
                server.wait_ready(("/api/health", "/"), START_TIMEOUT)
            yield db_url, servers
        finally:
            for server in servers:
                server.stop()


def _page(browser, base: str, db_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([session_cookie(db_url, base, username)])
    return context.new_page()


def _token(db_url: str, username: str) -> str:
    with session_scope(db_url, write=True) as session:
        user = users.find_user(session, username)
        token, _view = users.create_api_token(session, SYSTEM, user.user_id, "live test")
    return token


def test_an_account_change_through_one_host_reaches_a_tab_on_the_other(browser, two_hosts):
    db_url, (one, two) = two_hosts
    username = f"live-{uuid.uuid4().hex[:6]}"
    with session_scope(db_url, write=True) as session:
        user_id = users.create_user(session, SYSTEM, {
            "username": username, "role": "sales", "password": "Live-test-password-1"})["user_id"]
    tab = _page(browser, two.base, db_url, username)
    tab.goto("/orders")
    expect(tab.get_by_test_id("new-order")).to_be_visible()

    admin = httpx.Client(base_url=one.base, timeout=30,
                         headers={"Authorization": f"Bearer {_token(db_url, 'admin')}"})
    changed = admin.patch(f"/api/users/{user_id}", json={"active": False})
    assert changed.status_code == 200, changed.text
    start = time.monotonic()
    expect(tab).to_have_url(re.compile(r"/login"), timeout=LIVE_MS)
    print(f"host one's API → tab on host two signed out in {time.monotonic() - start:.3f} s")
    tab.context.close()
