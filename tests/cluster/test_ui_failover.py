"""A signed-in tab through haproxy survives the loss of its app host (issue #26): on the Galera
topology (tests/cluster/conftest.py: app 1 on node 1, app 2 on node 2, haproxy with no
stickiness in front), a user fills half the order form, the app process holding the tab's
websocket is killed (its whole process group: the host is gone). The tab reconnects through
haproxy to the other app process, keeps its session and what was typed (its state is in the
shared Redis), and the order saves, through the other Galera node, and opens at once
(wsrep_sync_wait: the detail page's read sees the commit); the third node, which no app
process uses, holds it too.

Both app processes serve one frontend build, made once and copied to each (the harness does
what deploy/ does: `python -m northwind_app.serve build`, then NORTHWIND_PREBUILT_FRONTEND=1 on
every host), so a page from one host loads its scripts from the other, under the same CSP.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import time

import redis
from playwright.sync_api import Page, expect
from sqlalchemy import func, select, update

from northwind_app.db.engine import dispose_engine, session_scope
from northwind_app.db.models import Order, OrderDetail, Product
from northwind_app.ui.workers import presence_pattern
from tests.browser.conftest import TIMEOUT_MS, session_cookie
from tests.cluster.harness import same_frontend
from tests.prodserver import wait_for

RECONNECT_SECONDS = 15  # haproxy marks the dead host down within ~2 s (inter 1s, fall 2)


def _token(page: Page) -> str:
    return page.evaluate("() => window.sessionStorage.getItem('token')")


def _tab_worker(page: Page, redis_url: str) -> int | None:
    """The pid of the worker holding the tab's websocket (as tests/browser/test_respawn_ui)."""
    client = redis.Redis.from_url(redis_url)
    raw = client.get(f"token_manager_socket_record_{_token(page)}")
    if raw is None:
        return None
    channels = client.pubsub_channels(presence_pattern(pickle.loads(raw).instance_id))
    return int(channels[0].rsplit(b":", 1)[1]) if channels else None


def _until(page: Page, condition, timeout: float):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return result


def _choose(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def _pick(page: Page, testid: str, text: str, option: str) -> None:
    page.get_by_test_id(f"{testid}-search").fill(text)
    page.get_by_test_id(f"{testid}-option").filter(has_text=option).first.click()


def test_a_tab_through_haproxy_survives_its_app_host_killed_mid_form(browser, cluster_topology):
    top = cluster_topology
    # The order's two products in stock, whatever the session's other tests sold of them
    # (the low-stock proof sells one product out).
    with session_scope(top.db_url, write=True) as session:
        session.execute(update(Product).where(Product.product_name.in_(("Chai", "Chang")))
                        .values(units_in_stock=100))
    same_frontend(top.apps)  # without stickiness a page and its scripts come from any host
    context = browser.new_context(base_url=top.base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([session_cookie(top.db_url, top.base, "admin")])
    page = context.new_page()
    seen: list[str] = []  # what the browser saw go wrong, for a failure's message
    page.on("console", lambda m: seen.append(f"console {m.type}: {m.text[:300]}")
            if m.type in ("error", "warning") else None)
    page.on("requestfailed", lambda r: seen.append(f"failed {r.url}: {r.failure}"))
    page.on("response", lambda r: seen.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("websocket", lambda ws: seen.append(f"websocket {ws.url}"))
    page.goto("/orders/new")
    try:
        expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nbrowser: {seen}\napps: "
                             f"{[app.log(2000) for app in top.apps]}") from exc
    _pick(page, "customer", "Around", "(AROUT)")
    expect(page.get_by_test_id("customer-selected")).to_contain_text("AROUT")
    _choose(page, "input-employee_id", "Nancy Davolio")
    page.get_by_test_id("input-freight").fill("12.34")
    _pick(page, "product", "Chai", "Chai")
    page.get_by_test_id("form-line").first.get_by_test_id("line-quantity").fill("3")
    expect(page.get_by_test_id("form-total")).to_have_text("$66.34")  # the server holds it
    token = _token(page)
    worker = _until(page, lambda: _tab_worker(page, top.redis_url), 10)
    hosts = [i for i, app in enumerate(top.apps) if worker in app.workers()]
    assert len(hosts) == 1, (worker, [app.workers() for app in top.apps])
    dead = top.apps[hosts[0]]
    os.killpg(dead.proc.pid, signal.SIGKILL)  # the host is gone, workers and all
    dead.proc.wait(timeout=30)
    killed = time.monotonic()
    try:
        survivor = top.apps[1 - hosts[0]]
        now_on = _until(page, lambda: (w := _tab_worker(page, top.redis_url)) != worker
                        and w, RECONNECT_SECONDS)
        assert now_on in survivor.workers(), (now_on, survivor.workers())
        print(f"\ntab reconnected to the other app host in {time.monotonic() - killed:.1f} s")
        assert _token(page) == token  # the same state, from Redis
        expect(page.get_by_text("Cannot connect to server")).to_have_count(0)
        assert "/orders/new" in page.url
        expect(page.get_by_test_id("customer-selected")).to_contain_text("AROUT")
        expect(page.get_by_test_id("input-employee_id")).to_contain_text("Nancy Davolio")
        expect(page.get_by_test_id("input-freight")).to_have_value("12.34")
        line = page.get_by_test_id("form-line")
        expect(line.first).to_contain_text("Chai")
        expect(line.first.get_by_test_id("line-quantity")).to_have_value("3")
        # Still working, still signed in: a change is computed, the order saves and opens.
        _pick(page, "product", "Chang", "Chang")
        expect(line).to_have_count(2)
        line.nth(1).get_by_test_id("line-quantity").fill("2")
        expect(page.get_by_test_id("form-total")).to_have_text("$104.34")
        _choose(page, "input-ship_via", "Speedy Express")
        page.get_by_test_id("save-order").click()
        expect(page).to_have_url(re.compile(r"/orders/\d+/?$"))
        expect(page.get_by_test_id("order-customer")).to_contain_text("Around the Horn")
        expect(page.get_by_test_id("order-total")).to_have_text("$104.34")
        expect(page.get_by_test_id("order-line")).to_have_count(2)
        order_id = int(re.search(r"/orders/(\d+)", page.url).group(1))
        other = top.cluster.nodes[2].url()  # the node neither app process writes through
        try:
            with session_scope(other) as session:
                order = session.get(Order, order_id)
                assert order is not None and order.customer_id == "AROUT"
                assert session.scalar(select(func.count()).select_from(OrderDetail)
                                      .where(OrderDetail.order_id == order_id)) == 2
        finally:
            dispose_engine(other)
    finally:
        context.close()
        # Back to two app hosts for whatever runs next (same port: haproxy's server line).
        top.restart_app(hosts[0])
        assert wait_for(lambda: top.haproxy.servers_up() == len(top.apps), 30)
    # Neither app process, started or restarted, compiled or built into its copy.
    assert all(top.copies_unchanged().values()), top.copies_unchanged()
    same_frontend(top.apps)
