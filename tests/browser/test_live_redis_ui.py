"""Live screens across hosts (issue #23): two app processes on different ports sharing one
Redis and one database (two hosts, in effect). A change made through one (its API) reaches a
tab on the other at once: each announces its commits on Redis, each listens.

Its own servers in the production shape (scripts/run.sh's launcher, Redis; host one runs one
Granian worker, host two two workers, so N workers on one host are covered too), its own
Redis database and SQLite database (classic data, demo users). Each host has its own
frontend build: a build holds the address its pages open their websocket on (the host's
own port here, where production has one address in front of every host and one build,
deploy/), and a second `reflex run` in the same folder would rebuild the first host's pages
under it (their inline scripts no longer those its Content-Security-Policy allows). The
second folder starts as a copy of the first, so its build reuses the installed packages."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope
from northwind_app.services import users
from northwind_app.services.auth import SYSTEM
from tests.browser.conftest import TIMEOUT_MS, classic_app_db, session_cookie
from tests.browser.test_live_ui import NEW_ORDER
from tests.prodserver import PROJECT_ROOT, AppServer, own_redis_db

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
            for name, workers in (("one", "1"), ("two", "2")):
                if name == "two":  # its own copy of the first's folder (see above)
                    source, web = PROJECT_ROOT / web, f"{web}-two"
                    shutil.rmtree(PROJECT_ROOT / web, ignore_errors=True)
                    shutil.copytree(source, PROJECT_ROOT / web, symlinks=True)
                server = AppServer(
                    ["-m", "northwind_app.serve", "run", "--env", "prod", "--single-port"],
                    {"NORTHWIND_DATABASE_URL": db_url, "REFLEX_REDIS_URL": redis_url,
                     "GRANIAN_WORKERS": workers, "REFLEX_WEB_WORKDIR": web,
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


def test_orders_made_and_changed_through_one_host_reach_tabs_on_the_other(browser, two_hosts):
    """Both ways: host one's API (one worker) → a list and an order page on host two (two
    workers: the tab's socket is on either), and host two's API (whichever worker answers) →
    a list on host one."""
    from northwind_app.security_headers import inline_script_hashes

    db_url, (one, two) = two_hosts
    for host in (one, two):  # each host's pages run under its policy (its own build)
        page = httpx.get(f"{host.base}/orders/", timeout=30)
        policy = page.headers["content-security-policy"]
        assert [h for h in inline_script_hashes(page.text) if h not in policy] == []
    on_two = _page(browser, two.base, db_url, "viewer")
    on_one = _page(browser, one.base, db_url, "viewer")
    for tab in (on_two, on_one):
        tab.goto("/orders?sort=-order_id")
        expect(tab.get_by_test_id("list-table")).to_have_attribute("data-loading", "false")
    api = {base: httpx.Client(base_url=base, timeout=30,
                              headers={"Authorization": f"Bearer {_token(db_url, 'sales')}"})
           for base in (one.base, two.base)}

    made = api[one.base].post("/api/orders", json=NEW_ORDER)
    assert made.status_code == 201, made.text
    order_id = made.json()["order_id"]
    start = time.monotonic()
    for tab in (on_two, on_one):
        expect(tab.get_by_test_id("list-row").filter(has_text=str(order_id))).to_have_count(
            1, timeout=LIVE_MS)
    print(f"host one's API → list on host two in {time.monotonic() - start:.3f} s")

    on_two.goto(f"/orders/{order_id}")
    expect(on_two.get_by_test_id("order-freight")).to_have_text("$32.38")
    changed = api[one.base].patch(f"/api/orders/{order_id}", json={"freight": "40.00"})
    assert changed.status_code == 200, changed.text
    expect(on_two.get_by_test_id("order-freight")).to_have_text("$40.00", timeout=LIVE_MS)

    for _ in range(3):  # host two's API: its answering worker varies
        again = api[two.base].post("/api/orders", json=NEW_ORDER)
        assert again.status_code == 201, again.text
        expect(on_one.get_by_test_id("list-row").filter(
            has_text=str(again.json()["order_id"]))).to_have_count(1, timeout=LIVE_MS)
    for tab in (on_two, on_one):
        tab.context.close()
    for client in api.values():
        client.close()
