"""A tab whose server worker is killed reconnects to another worker and carries on (issue #20).

Its own server in the production shape (scripts/run.sh's launcher, Redis, 2 workers) with
its own frontend build (.web-test-respawn), Redis database and SQLite database (classic data,
demo users). A signed-in tab half fills the new-order form; the worker holding its websocket
(found from the tab's socket record in Redis and the worker's presence channel) is
SIGKILLed. The server must stay up and replace the worker, the tab reconnect within seconds
without an error banner, keep its token (its state), its session and what was typed, and the
form still work; a tab on the other worker must not notice at all.
"""

from __future__ import annotations

import os
import re
import pickle
import signal
import time

import pytest
import redis
from playwright.sync_api import Page, expect

from northwind_app.ui.workers import presence_pattern
from tests.browser.conftest import TIMEOUT_MS, classic_app_db, session_cookie
from tests.prodserver import AppServer, own_redis_db, wait_for

START_TIMEOUT = 900
RECONNECT_SECONDS = 5


@pytest.fixture(scope="module")
def prod_app(tmp_path_factory):
    """(base URL, database URL, Redis URL, server) of the app in the production shape."""
    tmp = tmp_path_factory.mktemp("respawn")
    db_url = classic_app_db(tmp / "respawn.db")
    with own_redis_db() as redis_url:
        server = AppServer(
            ["-m", "northwind_app.serve", "run", "--env", "prod", "--single-port"],
            {"NORTHWIND_DATABASE_URL": db_url, "REFLEX_REDIS_URL": redis_url,
             "GRANIAN_WORKERS": "2",
             "REFLEX_WEB_WORKDIR": os.environ.get("NORTHWIND_TEST_RESPAWN_WEB_WORKDIR",
                                                  ".web-test-respawn")},
            tmp / "server.log")
        try:
            server.wait_ready(("/api/health", "/"), START_TIMEOUT)
            assert wait_for(lambda: len(server.workers()) == 2, 30), server.log()
            yield server.base, db_url, redis_url, server
        finally:
            server.stop()


def _signed_in_page(browser, base: str, db_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([session_cookie(db_url, base, username)])
    return context.new_page()


class Sockets:
    """The page's event websockets, as the browser opens and closes them."""

    def __init__(self, page: Page):
        self.opened = []
        page.on("websocket", lambda ws: self.opened.append(ws) if "/_event" in ws.url else None)

    def open(self) -> list:
        return [ws for ws in self.opened if not ws.is_closed()]


def _until(page: Page, condition, timeout: float):
    """wait_for, letting Playwright deliver the page's events (websocket opened, closed)
    while it waits: the sync API handles them only inside its own calls."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return result


def _token(page: Page) -> str:
    return page.evaluate("() => window.sessionStorage.getItem('token')")


def _tab_worker(page: Page, redis_url: str) -> int | None:
    """The pid of the worker holding the tab's websocket: Reflex's socket record of the
    tab's token names the worker's instance, whose presence channel ends in its pid."""
    client = redis.Redis.from_url(redis_url)
    raw = client.get(f"token_manager_socket_record_{_token(page)}")
    if raw is None:
        return None
    channels = client.pubsub_channels(presence_pattern(pickle.loads(raw).instance_id))
    return int(channels[0].rsplit(b":", 1)[1]) if channels else None


def _pick(page: Page, testid: str, text: str, option: str) -> None:
    page.get_by_test_id(f"{testid}-search").fill(text)
    page.get_by_test_id(f"{testid}-option").filter(has_text=option).first.click()


def test_tab_of_a_killed_worker_reconnects_with_its_form(browser, prod_app):
    base, db_url, redis_url, server = prod_app
    page = _signed_in_page(browser, base, db_url, "admin")
    sockets = Sockets(page)
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    _pick(page, "customer", "Around", "(AROUT)")
    expect(page.get_by_test_id("customer-selected")).to_contain_text("AROUT")
    page.get_by_test_id("input-freight").fill("12.34")
    _pick(page, "product", "Chai", "Chai")
    page.get_by_test_id("form-line").first.get_by_test_id("line-quantity").fill("3")
    # 3 × 18.00 + 12.34, computed by the server: it holds everything typed.
    expect(page.get_by_test_id("form-total")).to_have_text("$66.34")
    token = _token(page)
    victim = _until(page, lambda: _tab_worker(page, redis_url), 10)
    assert victim in server.workers(), (victim, server.workers())
    assert len(sockets.open()) == 1

    # A second tab, of another user, on the other worker (a new connection may land on
    # either, so reload until it does).
    other = _signed_in_page(browser, base, db_url, "viewer")
    other_sockets = Sockets(other)
    other.goto("/orders")
    expect(other.get_by_test_id("list-row").first).to_be_visible()
    for _ in range(12):
        if _until(other, lambda: _tab_worker(other, redis_url), 10) not in (None, victim):
            break
        other.reload()
        expect(other.get_by_test_id("list-row").first).to_be_visible()
    other_worker = _tab_worker(other, redis_url)
    assert other_worker not in (None, victim)
    # (A page left by a reload does not report its socket closed: count from here.)
    other_socket, other_count = other_sockets.opened[-1], len(other_sockets.opened)

    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()

    # The tab's socket closes and a new one opens, on a live worker, within seconds.
    assert _until(page, lambda: sockets.opened[0].is_closed(), RECONNECT_SECONDS)
    assert _until(page, lambda: len(sockets.open()) == 1, RECONNECT_SECONDS), sockets.opened
    now_on = _until(page, lambda: (w := _tab_worker(page, redis_url)) not in (None, victim)
                    and w, RECONNECT_SECONDS)
    assert now_on, "the tab's socket record still names the dead worker"
    reconnected = time.monotonic() - killed
    assert reconnected < RECONNECT_SECONDS

    # Server up, the dead worker replaced.
    assert wait_for(lambda: len(w := server.workers()) == 2 and victim not in w, 15), \
        server.log()
    assert server.proc.poll() is None, server.log()

    # The tab: same token (its state), still signed in, no error shown.
    assert _token(page) == token
    expect(page.get_by_text("Cannot connect to server")).to_have_count(0)
    assert "/orders/new" in page.url
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")

    # The form still works (a picker search answers, a change is computed) and holds what
    # was typed before: the server computes the total from its state, so a form reset by
    # the reconnection (its on_load runs again) shows up here whenever it happened.
    _pick(page, "product", "Chang", "Chang")
    line = page.get_by_test_id("form-line")
    expect(line).to_have_count(2)
    line.nth(1).get_by_test_id("line-quantity").fill("2")
    # 3 × 18.00 (Chai) + 2 × 19.00 (Chang) + 12.34 freight
    expect(page.get_by_test_id("form-total")).to_have_text("$104.34")
    expect(page.get_by_test_id("customer-selected")).to_contain_text("AROUT")
    expect(page.get_by_test_id("input-freight")).to_have_value("12.34")
    expect(line.first).to_contain_text("Chai")
    expect(line.first.get_by_test_id("line-quantity")).to_have_value("3")

    # The other tab noticed nothing: the same websocket all along.
    assert not other_socket.is_closed() and len(other_sockets.opened) == other_count
    assert _tab_worker(other, redis_url) == other_worker
    other.get_by_test_id("list-search").fill("vinet")
    expect(other.get_by_test_id("list-range")).to_have_text("Rows 1–5 of 5")
    assert not other_socket.is_closed() and len(other_sockets.opened) == other_count
    page.context.close()
    other.context.close()


def test_a_form_keeps_what_was_typed_over_a_reload_until_left_through_the_app(browser, prod_app):
    """The same rule without killing anything: a reload is a new websocket on the same page
    (ui/drafts.py). Leaving through the app (Cancel) and coming back by a link starts afresh."""
    base, db_url, _, _ = prod_app
    page = _signed_in_page(browser, base, db_url, "admin")
    page.goto("/customers/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New customer")
    page.get_by_test_id("input-customer_id").fill("ZZDRF")
    page.get_by_test_id("input-contact_name").fill("Dora Draft")
    page.get_by_test_id("save-record").click()
    # The server's answer to the save comes after it has the typing.
    expect(page.get_by_test_id("error-company_name")).to_contain_text("required")

    page.reload()
    expect(page.get_by_test_id("input-customer_id")).to_have_value("ZZDRF")
    # A save after the reload (the page's load, which would reset the form, has run before
    # it) still finds the id typed and only the company name missing.
    page.get_by_test_id("save-record").click()
    expect(page.get_by_test_id("error-company_name")).to_contain_text("required")
    expect(page.get_by_test_id("error-customer_id")).to_have_count(0)
    expect(page.get_by_test_id("input-customer_id")).to_have_value("ZZDRF")
    expect(page.get_by_test_id("input-contact_name")).to_have_value("Dora Draft")

    page.get_by_role("link", name="Cancel").click()  # a link styled as a button
    page.wait_for_url(re.compile(r"/customers/?$"))
    # The list's rows come from its load, which the server runs after the form's unmount.
    expect(page.get_by_test_id("list-row").first).to_be_visible()
    page.reload()  # a new websocket again: only leaving through the app dropped the draft
    page.get_by_test_id("new-record").click()
    page.wait_for_url(re.compile(r"/customers/new/?$"))
    expect(page.get_by_test_id("input-customer_id")).to_have_value("")
    expect(page.get_by_test_id("input-contact_name")).to_have_value("")
    page.context.close()
