"""Live screens (issue #23) in Chromium, with two signed-in browser contexts of different
users: what one changes (through the API, the screens or the command line) the other's open
screen shows without a reload, within the time the assertions allow; and a viewer's tab
receives nothing its role may not read."""

from __future__ import annotations

import random
import re
import string
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order
from northwind_app.services import orders, users
from northwind_app.services.auth import SYSTEM

LIVE_MS = 5_000  # a change shows within this (its target is far less: bench)

NEW_ORDER = {
    "customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04",
    "required_date": "2099-08-01", "ship_via": 3, "freight": "32.38",
    "ship_name": "Vins et alcools Chevalier", "ship_city": "Reims", "ship_country": "France",
    "lines": [{"product_id": 11, "quantity": 1}],
}


@pytest.fixture(autouse=True)
def _orders_made_here_go(app_db_url):
    """The shared server's other tests count orders: the ones a test here made are deleted
    afterwards (cancelled or not, none of them shipped)."""
    with session_scope(app_db_url) as session:
        last = session.execute(select(func.max(Order.order_id))).scalar()
    yield
    with session_scope(app_db_url, write=True) as session:
        made = session.execute(select(Order.order_id).where(Order.order_id > last)).scalars()
        for order_id in list(made):
            orders.delete_order(session, order_id, actor=SYSTEM)


@pytest.fixture
def api(app_url, app_db_url):
    """An API client with a token of the demo sales user (Margaret Peacock)."""
    with session_scope(app_db_url, write=True) as session:
        user = users.find_user(session, "sales")
        token, _view = users.create_api_token(session, SYSTEM, user.user_id, "live test")
    with httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        yield client


def _make_user(app_db_url: str, role: str) -> tuple[str, int]:
    username = f"live-{role}-{uuid.uuid4().hex[:6]}"
    with session_scope(app_db_url, write=True) as session:
        user = users.create_user(session, SYSTEM, {"username": username, "role": role,
                                                   "password": "Live-test-password-1",
                                                   "full_name": f"Live {role}"})
    return username, user["user_id"]


def _create(api) -> int:
    created = api.post("/api/orders", json=NEW_ORDER)
    assert created.status_code == 201, created.text
    return created.json()["order_id"]


def _rows(page: Page):
    return page.get_by_test_id("list-row")


def _loaded(page: Page) -> None:
    expect(page.get_by_test_id("list-table")).to_have_attribute("data-loading", "false")


def test_orders_list_follows_a_change_made_through_the_api(page_as, api):
    viewer = page_as("viewer")
    viewer.goto("/orders?sort=-order_id&status=new")
    _loaded(viewer)
    range_text = viewer.get_by_test_id("list-range").inner_text()

    order_id = _create(api)  # new: it matches the view and appears
    start = time.monotonic()
    row = _rows(viewer).filter(has_text=f"{order_id}")
    expect(row).to_have_count(1, timeout=LIVE_MS)
    print(f"list: API commit → row shown in {time.monotonic() - start:.3f} s")
    expect(row).to_have_attribute("data-changed", "true")
    expect(viewer.get_by_test_id("list-range")).not_to_have_text(range_text)
    # The view is kept: its filters and sort are still in the address and applied.
    assert "status=new" in viewer.url and "sort=-order_id" in viewer.url

    # A change that takes the order out of the view (cancelled: no longer "new") removes it.
    cancelled = api.post(f"/api/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    expect(row).to_have_count(0, timeout=LIVE_MS)
    expect(viewer.get_by_test_id("list-range")).to_have_text(range_text)


def test_orders_list_follows_a_change_made_by_another_process(page_as, app_db_url):
    """As the command line writes: through the services, in another process than the server,
    which learns of it by reading the change feed.
    The whole list (50 rows, taller than the window), scrolled down: the new order appears
    and the page stays where the user scrolled it; its cancellation shows in its row."""
    viewer = page_as("viewer")
    viewer.goto("/orders?sort=-order_id")
    _loaded(viewer)
    viewer.evaluate("window.scrollTo(0, 300)")
    scrolled = viewer.evaluate("window.scrollY")
    assert scrolled > 0, "the list should be taller than the window"
    data = orders.parse_order_input({**NEW_ORDER, "freight": "1.00"})
    with session_scope(app_db_url, write=True) as session:
        order_id = orders.create_order(session, data, actor=SYSTEM)
    start = time.monotonic()
    row = _rows(viewer).filter(has_text=str(order_id))
    expect(row).to_have_count(1, timeout=LIVE_MS)
    print(f"list: another process's commit → row shown in {time.monotonic() - start:.3f} s")
    assert viewer.evaluate("window.scrollY") == scrolled
    with session_scope(app_db_url, write=True) as session:
        orders.cancel_order(session, order_id, actor=SYSTEM)
    expect(row).to_contain_text(re.compile("cancelled", re.I), timeout=LIVE_MS)
    assert viewer.evaluate("window.scrollY") == scrolled


def test_orders_list_follows_a_change_made_on_another_users_screen(page_as, api):
    """Two signed-in users: the sales user cancels an order on its page; the viewer's list
    of new orders, open meanwhile, loses it, and its count follows."""
    order_id = _create(api)
    viewer = page_as("viewer")
    viewer.goto("/orders?sort=-order_id&status=new")
    _loaded(viewer)
    row = _rows(viewer).filter(has_text=str(order_id))
    expect(row).to_have_count(1)
    range_text = viewer.get_by_test_id("list-range").inner_text()

    sales = page_as("sales")
    sales.goto(f"/orders/{order_id}")
    sales.get_by_test_id("cancel-order").click()
    sales.get_by_test_id("confirm-cancel").click()
    expect(sales.get_by_test_id("order-status")).to_have_text("Cancelled")
    start = time.monotonic()
    expect(row).to_have_count(0, timeout=LIVE_MS)
    print(f"list: another user's cancel → row gone in {time.monotonic() - start:.3f} s")
    expect(viewer.get_by_test_id("list-range")).not_to_have_text(range_text)


@pytest.mark.parametrize("command", [["set-role", "{user}", "viewer"], ["deactivate", "{user}"]])
def test_role_change_or_deactivation_reaches_the_users_open_tabs_at_once(page_as, app_db_url,
                                                                         command):
    """Made with the real command line (`python -m northwind_app.users`, another process than
    the server, which hears of it from the change feed). Either signs the user out everywhere
    (services/users.py); the open tab goes to the login page at once, not at its next action
    or 15 s later."""
    username, _user_id = _make_user(app_db_url, "sales")
    tab = page_as(username)
    tab.goto("/orders")
    _loaded(tab)
    expect(tab.get_by_test_id("new-order")).to_be_visible()

    done = subprocess.run(
        [sys.executable, "-m", "northwind_app.users", "--database-url", app_db_url,
         *[part.format(user=username) for part in command]],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    start = time.monotonic()
    expect(tab).to_have_url(re.compile(r"/login"), timeout=LIVE_MS)
    print(f"{command[0]} → tab on the login page in {time.monotonic() - start:.3f} s")


def test_customer_page_follows_changes_and_says_who_else_is_here(page_as, api, app_db_url):
    """A record page updates in place (its fields and its orders list) and shows who else
    has it open; a deleted record says who deleted it and when."""
    key = _new_customer(api)
    viewer = page_as("viewer")
    viewer.goto(f"/customers/{key}")
    expect(viewer.get_by_test_id("record-heading")).to_contain_text("Live Traders")
    expect(viewer.get_by_test_id("presence")).to_have_count(0)

    admin = page_as("admin")  # a second user opens the same record
    admin.goto(f"/customers/{key}")
    expect(admin.get_by_test_id("presence")).to_have_text(re.compile("Also here: Demo Viewer$"))
    expect(viewer.get_by_test_id("presence")).to_contain_text("Also here:", timeout=LIVE_MS)
    admin.goto("/orders")  # and leaves it
    expect(viewer.get_by_test_id("presence")).to_have_count(0, timeout=LIVE_MS)

    changed = api.patch(f"/api/customers/{key}", json={"company_name": "Live Traders Ltd"})
    assert changed.status_code == 200, changed.text
    expect(viewer.get_by_test_id("record-heading")).to_contain_text("Live Traders Ltd",
                                                                     timeout=LIVE_MS)
    order = dict(NEW_ORDER, customer_id=key)
    made = api.post("/api/orders", json=order)
    assert made.status_code == 201, made.text
    order_id = made.json()["order_id"]
    expect(_rows(viewer).filter(has_text=str(order_id))).to_have_count(1, timeout=LIVE_MS)

    assert api.delete(f"/api/orders/{order_id}").status_code == 204
    expect(_rows(viewer).filter(has_text=str(order_id))).to_have_count(0, timeout=LIVE_MS)
    assert api.delete(f"/api/customers/{key}").status_code == 204
    expect(viewer.get_by_test_id("record-gone")).to_have_text(
        re.compile(rf"Customer {key} was deleted by sales on "), timeout=LIVE_MS)


def _new_customer(api) -> str:
    key = "L" + "".join(random.choice(string.ascii_uppercase) for _ in range(4))
    created = api.post("/api/customers", json={"customer_id": key,
                                               "company_name": "Live Traders", "city": "Reims"})
    assert created.status_code == 201, created.text
    return created.json()["customer_id"]


def test_a_record_form_says_who_else_is_here_and_who_changed_the_record(page_as, api):
    """The customer form being edited: its record's page shows the editor as editing, the
    form shows who else has the record open; a change by someone else raises the banner
    (who, what; the typing stays), and the form can save over it after review. Leaving for a
    page that watches nothing (the account page) ends the presence."""
    key = _new_customer(api)
    admin = page_as("admin")
    admin.goto(f"/customers/{key}/edit")
    company = admin.get_by_test_id("input-company_name")
    expect(company).to_have_value("Live Traders")
    viewer = page_as("viewer")
    viewer.goto(f"/customers/{key}")
    expect(viewer.get_by_test_id("presence")).to_have_text(
        re.compile(r"Also here: .* \(editing\)$"), timeout=LIVE_MS)
    expect(admin.get_by_test_id("presence")).to_have_text(
        re.compile(r"Also here: Demo Viewer$"), timeout=LIVE_MS)
    company.fill("Live Traders (typed)")

    changed = api.patch(f"/api/customers/{key}", json={"company_name": "Live Traders Ltd"})
    assert changed.status_code == 200, changed.text
    banner = admin.get_by_test_id("changed-banner-text")
    expect(banner).to_contain_text("changed this customer", timeout=LIVE_MS)
    expect(banner).to_contain_text("Company Live Traders → Live Traders Ltd")
    expect(company).to_have_value("Live Traders (typed)")
    expect(viewer.get_by_test_id("record-heading")).to_contain_text("Live Traders Ltd",
                                                                     timeout=LIVE_MS)

    admin.get_by_test_id("banner-keep").click()
    expect(admin.get_by_test_id("changed-banner")).to_have_count(0)
    admin.get_by_test_id("save-record").click()
    expect(admin).to_have_url(re.compile(rf"/customers/{key}$"))
    expect(viewer.get_by_test_id("record-heading")).to_contain_text("Live Traders (typed)",
                                                                     timeout=LIVE_MS)
    # The admin is on the customer's page now: viewing (no "(editing)").
    expect(viewer.get_by_test_id("presence")).to_have_text(
        re.compile(r"Also here: Demo Admin$"), timeout=LIVE_MS)
    admin.goto("/account")
    expect(viewer.get_by_test_id("presence")).to_have_count(0, timeout=LIVE_MS)
    assert api.delete(f"/api/customers/{key}").status_code == 204


def test_a_forms_banner_fits_a_phone_and_is_answered_from_the_keyboard(page_as, api):
    """The product form on a 390 px phone, someone else changing its price: the banner and
    "Also here" fit the screen (nothing sticks out, the layout test's check), and the
    keyboard alone reaches "Keep editing" and dismisses the banner."""
    from tests.browser.test_layout_ui import CHECK_LAYOUT

    product = api.post("/api/products", json={"product_name": f"Live {uuid.uuid4().hex[:6]}",
                                               "unit_price": "12.50", "units_in_stock": 7,
                                               "category_id": 1, "supplier_id": 1})
    assert product.status_code == 201, product.text
    product_id = product.json()["product_id"]
    phone = page_as("admin")
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"/products/{product_id}/edit")
    expect(phone.get_by_test_id("input-unit_price")).to_have_value("12.50")
    viewer = page_as("viewer")
    viewer.goto(f"/products/{product_id}")
    expect(phone.get_by_test_id("presence")).to_contain_text("Also here:", timeout=LIVE_MS)

    changed = api.patch(f"/api/products/{product_id}", json={"unit_price": "14.00"})
    assert changed.status_code == 200, changed.text
    expect(phone.get_by_test_id("changed-banner-text")).to_contain_text(
        "changed this product", timeout=LIVE_MS)
    expect(phone.get_by_test_id("changed-banner-text")).to_contain_text("14.00")
    assert phone.evaluate(CHECK_LAYOUT) == []

    phone.get_by_test_id("input-product_name").click()  # the user is in the form
    phone.keyboard.press("Shift+Tab")  # back up: the banner's last button
    expect(phone.get_by_test_id("banner-keep")).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone.get_by_test_id("changed-banner")).to_have_count(0)
    expect(phone.get_by_test_id("input-unit_price")).to_have_value("12.50")  # as it was
    assert api.delete(f"/api/products/{product_id}").status_code == 204


def test_product_stock_and_dashboard_follow_orders(page_as, api):
    viewer = page_as("viewer")
    viewer.goto("/products/11")
    stock = viewer.get_by_test_id("field-units_in_stock")
    expect(stock).to_have_text(re.compile(r"^\d+$"))
    before = int(stock.inner_text())
    sales = page_as("sales")
    sales.goto("/")
    orders_kpi = sales.get_by_test_id("kpi-orders")
    expect(orders_kpi).not_to_have_text("0")
    orders_before = orders_kpi.inner_text()

    order_id = _create(api)  # one unit of product 11
    expect(stock).to_have_text(str(before - 1), timeout=LIVE_MS)
    expect(orders_kpi).not_to_have_text(orders_before, timeout=LIVE_MS)
    assert api.post(f"/api/orders/{order_id}/cancel").status_code == 200
    expect(stock).to_have_text(str(before), timeout=LIVE_MS)
    expect(orders_kpi).to_have_text(orders_before, timeout=LIVE_MS)


def test_a_viewer_tab_gets_nothing_its_role_may_not_read(page_as, app_db_url):
    """The users list is for admins: an admin's follows a new account; a viewer's tab on
    /users is refused, and the same change sends it nothing (a refresh would be its own
    event, refused like a click)."""
    admin = page_as("admin")
    admin.goto("/users")
    _loaded(admin)
    viewer = page_as("viewer")
    frames: list[str] = []
    viewer.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload if isinstance(payload, str) else "")))
    viewer.goto("/users")
    viewer.wait_for_timeout(500)
    username, _user_id = _make_user(app_db_url, "viewer")
    expect(_rows(admin).filter(has_text=username)).to_have_count(1, timeout=LIVE_MS)
    viewer.wait_for_timeout(1500)
    assert frames and not any(username in frame for frame in frames)
    assert _rows(viewer).count() == 0


def test_order_page_and_form_follow_a_change_by_someone_else(page_as, api):
    """The order page updates in place and says who else is here; the form being edited gets
    a banner naming who changed what (the typing stays) and can save over it; a deletion
    reaches the page with who and when."""
    order_id = _create(api)  # by the sales user (Margaret Peacock), freight 32.38
    viewer = page_as("viewer")
    viewer.goto(f"/orders/{order_id}")
    expect(viewer.get_by_test_id("order-freight")).to_have_text("$32.38")
    admin = page_as("admin")
    admin.goto(f"/orders/{order_id}/edit")
    freight = admin.get_by_test_id("input-freight")
    expect(freight).to_have_value("32.38")
    expect(viewer.get_by_test_id("presence")).to_have_text(
        re.compile(r"Also here: .* \(editing\)$"), timeout=LIVE_MS)
    freight.fill("35.00")  # typing, not saved yet

    changed = api.patch(f"/api/orders/{order_id}", json={"freight": "40.00"})
    assert changed.status_code == 200, changed.text
    start = time.monotonic()
    expect(viewer.get_by_test_id("order-freight")).to_have_text("$40.00", timeout=LIVE_MS)
    print(f"order page: API commit → shown in {time.monotonic() - start:.3f} s")
    banner = admin.get_by_test_id("changed-banner-text")
    expect(banner).to_contain_text("changed this order", timeout=LIVE_MS)
    expect(banner).to_contain_text("Freight $32.38 → $40.00")
    expect(freight).to_have_value("35.00")  # what was typed stays

    admin.get_by_test_id("banner-keep").click()  # save over it, after review
    expect(admin.get_by_test_id("changed-banner")).to_have_count(0)
    admin.get_by_test_id("save-order").click()
    expect(admin).to_have_url(re.compile(rf"/orders/{order_id}$"))
    expect(viewer.get_by_test_id("order-freight")).to_have_text("$35.00", timeout=LIVE_MS)

    # Cancelled by someone else: the page says so, who and when.
    assert api.post(f"/api/orders/{order_id}/cancel").status_code == 200
    expect(viewer.get_by_test_id("order-cancelled")).to_contain_text(
        re.compile(r"^Cancelled by sales on .+: kept for the record"), timeout=LIVE_MS)
    assert api.delete(f"/api/orders/{order_id}").status_code == 204
    expect(viewer.get_by_test_id("order-gone")).to_have_text(
        re.compile(rf"Order {order_id} was deleted by sales on "), timeout=LIVE_MS)


def test_order_form_lines_follow_stock_taken_by_others(page_as, api):
    order_id = _create(api)  # a line of product 11
    admin = page_as("admin")
    admin.goto(f"/orders/{order_id}/edit")
    stock = admin.get_by_test_id("line-stock")
    expect(stock).to_have_text(re.compile(r"^\d+ in stock$"))
    before = int(stock.inner_text().split()[0])
    # The product picker, open on the same product, shows its stock too.
    admin.get_by_test_id("product-search").fill("Queso Cabrales")
    option = admin.get_by_test_id("product-option").filter(has_text="Queso Cabrales")
    expect(option).to_contain_text(f"{before} in stock")
    _create(api)  # someone else takes one more unit of product 11
    expect(stock).to_have_text(f"{before - 1} in stock", timeout=LIVE_MS)
    expect(option).to_contain_text(f"{before - 1} in stock", timeout=LIVE_MS)


def test_a_list_refresh_is_pushed_to_the_views_tabs_and_kept_in_their_state(app_url,
                                                                            app_db_url, api):
    """Two raw websocket tabs (a viewer's cookie) on the orders list: a change reaches both
    as one pushed update each (rows, count, range), with no refresh event asked of them
    (live/registry.py's views); what was pushed is the tab's server-side state afterwards
    (its next event, here a hydrate as after a reconnect, sends the rows it shows); and a
    list the viewer may not read (users) never gets rows, pushed or not."""
    from northwind_app.pages.orders import OrdersState
    from northwind_app.pages.users import UsersListState
    from tests.browser.test_websocket_attack import FIELD_MARKER, Attacker, _cookie_header

    name, rows_key = OrdersState.get_full_name(), f"rows{FIELD_MARKER}"

    def shown(update: dict) -> list[dict]:
        return ((update.get("delta") or {}).get(name) or {}).get(rows_key) or []

    def wait_for(tab: Attacker, test, what: str) -> dict:
        deadline = time.monotonic() + LIVE_MS / 1000 * 2
        seen = 0
        while time.monotonic() < deadline:
            for update in tab.updates[seen:]:
                seen += 1
                if test(update):
                    return update
            time.sleep(0.05)
        raise AssertionError(f"no update with {what}: {tab.updates[-3:]}")

    cookie = _cookie_header(app_db_url, app_url, "viewer")
    with Attacker(app_url, cookie) as first, Attacker(app_url, cookie) as second:
        for tab in (first, second):
            tab.hydrate("/orders")
            tab.send(f"{name}.load", {}, "/orders")
            wait_for(tab, lambda u: bool(shown(u)), "the list's rows")
            tab.send(f"{UsersListState.get_full_name()}.load", {}, "/orders")
        time.sleep(0.5)  # the tabs' last events have run (the view is registered)
        marks = [len(tab.updates) for tab in (first, second)]

        order_id = _create(api)
        href = f"/orders/{order_id}"
        for tab, mark in zip((first, second), marks):
            update = wait_for(tab, lambda u: any(r.get("href") == href for r in shown(u)),
                              f"order {order_id} in the rows")
            delta = update["delta"][name]
            assert f"range_text{FIELD_MARKER}" in delta and f"total{FIELD_MARKER}" in delta
            assert delta[f"changed_rows{FIELD_MARKER}"] == [href]
            asked = [event["name"] for later in tab.updates[mark:]
                     for event in later.get("events") or []]
            assert not any(e.endswith(".live_refresh") for e in asked), asked

        state = first.hydrate("/orders")
        assert any(row.get("href") == href for row in state[name][rows_key])
        for tab in (first, second):
            users_rows = [((u.get("delta") or {}).get(UsersListState.get_full_name()) or {})
                          .get(rows_key) for u in tab.updates]
            assert not any(users_rows), "a viewer's tab received the users list"
