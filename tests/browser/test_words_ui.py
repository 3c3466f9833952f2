"""Words a user understands (issue #24), in Chromium: history and audit entries with names,
labels, money and the user's time zone; filter refusals in the filter's words beside it and an
unknown sort ignored with a notice; unknown addresses and missing records inside the app shell
with a way back; the dashboard's defaults; the login form's sentences and its cleared password."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.services import audit, users
from northwind_app.services import dashboard as dash
from northwind_app.services import orders as svc
from northwind_app.services.auth import SYSTEM, Actor
from tests.browser.conftest import TIMEOUT_MS, session_cookie
from tests.factories import customer as new_customer
from tests.factories import order as new_order
from tests.factories import unique_code, user as new_user

ALICE = Actor(user_id=None, username="alice", role="sales")


def _context_page(browser, app_url, app_db_url, username: str | None, **options) -> Page:
    context = browser.new_context(base_url=app_url, viewport={"width": 1366, "height": 900},
                                  **options)
    context.set_default_timeout(TIMEOUT_MS)
    if username:
        context.add_cookies([session_cookie(app_db_url, app_url, username)])
    return context.new_page()


def test_history_and_audit_show_names_money_and_the_users_time_zone(browser, app_url,
                                                                    app_db_url, page):
    username = f"tz-{unique_code().lower()}"
    account = new_user(app_db_url, "admin", username=username)
    write_transaction(lambda s: users.set_time_zone(s, SYSTEM, account.user_id, "Asia/Kolkata"),
                      app_db_url)
    # Of a customer of its own (other tests count the classic customers' orders); "Germany":
    # no new country in the dashboard's figures.
    customer_id = new_customer(app_db_url, company_name="Words Test GmbH")
    order_id = new_order(app_db_url, customer_id=customer_id, employee_id=5, ship_via=1,
                         order_date="1998-05-06", required_date="1998-06-03")
    write_transaction(lambda s: svc.revise_order(
        s, order_id, {"employee_id": 4, "ship_via": 3, "freight": "1234.5",
                      "lines": [{"product_id": 1, "quantity": 7},
                                {"product_id": 2, "quantity": 3, "unit_price": "19.00"}]},
        partial=True, actor=ALICE), app_db_url)
    with session_scope(app_db_url) as s:
        at = audit.history(s, "order", order_id)[0].at
    local = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(ZoneInfo("Asia/Kolkata"))

    mine = _context_page(browser, app_url, app_db_url, username)
    try:
        mine.goto(f"/orders/{order_id}")
        entry = mine.get_by_test_id("history-entry").first
        expect(entry).to_contain_text("Margaret Peacock")
        for text in ("Employee", "Steven Buchanan", "Ship via", "Speedy Express",
                     "Federal Shipping", "Freight", "$12.30", "$1,234.50",
                     "line Chai: quantity", "Total"):
            expect(entry).to_contain_text(text)
        for raw in ("employee_id", "ship_via", "freight", "line 1 Chai", "1234.5000"):
            expect(entry).not_to_contain_text(raw)
        # When, in the user's zone (+05:30), in their format.
        expect(entry).to_contain_text(
            f"{local:%b} {local.day}, {local.year}, {local.hour % 12 or 12}:{local:%M}")
        expect(entry).to_contain_text("+0530")
        expect(entry).not_to_contain_text("UTC")

        # The audit trail says the same.
        mine.goto(f"/audit?entity=order&key={order_id}&action=update")
        changes = mine.get_by_test_id("list-row").get_by_test_id("audit-changes")
        expect(changes).to_contain_text("Employee: Steven Buchanan → Margaret Peacock")
        expect(changes).to_contain_text("Ship via: Speedy Express → Federal Shipping")
        expect(mine.get_by_test_id("list-row")).to_contain_text("+0530")

        # Another zone chosen on the account page: times follow at once.
        mine.goto("/account")
        select = mine.get_by_test_id("input-time_zone")
        expect(select).to_have_value("Asia/Kolkata")
        select.select_option("America/Sao_Paulo")  # -03:00, no summer time
        expect(select).to_have_value("America/Sao_Paulo")
        mine.goto(f"/orders/{order_id}")
        expect(mine.get_by_test_id("history-entry").first).to_contain_text("-0300")
    finally:
        mine.context.close()


def test_the_first_sign_in_takes_the_browsers_time_zone(browser, app_url, app_db_url):
    username = f"tz-{unique_code().lower()}"
    new_user(app_db_url, "viewer", username=username, password="correct horse 24")
    login = _context_page(browser, app_url, app_db_url, None, timezone_id="Pacific/Auckland")
    try:
        login.goto("/login")
        login.locator("#username").fill(username)
        login.locator("#password").fill("correct horse 24")
        login.get_by_test_id("login-submit").click()
        expect(login.get_by_test_id("user-menu")).to_be_visible()  # signed in, on "/"
        with session_scope(app_db_url) as s:
            assert users.find_user(s, username).time_zone == "Pacific/Auckland"
        login.goto("/account")
        expect(login.get_by_test_id("input-time_zone")).to_have_value("Pacific/Auckland")
        expect(login.get_by_test_id("use-browser-zone")).to_contain_text("Pacific/Auckland")
    finally:
        login.context.close()


def test_filter_refusals_are_said_beside_the_filter_and_an_unknown_sort_is_ignored(page):
    page.goto("/orders?date_from=1997-05-01&date_to=1997-04-01")
    expect(page.get_by_test_id("filter-error-date_to")).to_have_text(
        "The end date is before the start date")
    expect(page.get_by_test_id("list-error")).to_have_count(0)
    expect(page.get_by_text("date_to: must not be before date_from")).to_have_count(0)
    # The audit trail's date filters say the same.
    page.goto("/audit?date_from=2026-05-01&date_to=2026-04-01")
    expect(page.get_by_test_id("filter-error-date_to")).to_have_text(
        "The end date is before the start date")
    expect(page.get_by_test_id("list-error")).to_have_count(0)

    page.goto("/orders?sort=foo")
    expect(page.get_by_test_id("list-notice")).to_have_text(
        "Unknown sort 'foo' ignored; sorted by order date, newest first.")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    expect(page.get_by_test_id("list-error")).to_have_count(0)
    expect(page.get_by_text("order_id")).to_have_count(0)  # no list of sort keys
    # Every list: the catalog's too.
    page.goto("/customers?sort=-nonsense")
    expect(page.get_by_test_id("list-notice")).to_contain_text(
        "Unknown sort '-nonsense' ignored; sorted by")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    # A known sort: no notice.
    page.goto("/orders?sort=total")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    expect(page.get_by_test_id("list-notice")).to_have_count(0)


def test_unknown_addresses_and_missing_records_stay_in_the_shell_with_a_way_back(page):
    page.goto("/no/such/page")
    expect(page.get_by_test_id("page-not-found")).to_be_visible()
    expect(page.get_by_test_id("missing-path")).to_have_text("/no/such/page")
    expect(page.get_by_test_id("nav-orders")).to_be_visible()  # the sidebar
    expect(page.get_by_test_id("user-menu")).to_be_visible()  # the header
    page.get_by_test_id("back-dashboard").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_test_id("kpi-revenue")).to_be_visible()

    for path, testid, back in (("/orders/99999999", "order-not-found", "/orders"),
                               ("/orders/99999999/invoice", "order-not-found", "/orders"),
                               ("/customers/NOONE", "record-not-found", "/customers"),
                               ("/products/99999999", "record-not-found", "/products"),
                               ("/employees/99999999", "record-not-found", "/employees"),
                               ("/suppliers/99999999", "record-not-found", "/suppliers"),
                               ("/categories/99999999", "record-not-found", "/categories"),
                               ("/shippers/99999999", "record-not-found", "/shippers"),
                               ("/users/99999999", "record-not-found", "/users")):
        page.goto(path)
        box = page.get_by_test_id(testid)
        expect(box).to_be_visible()
        expect(page.get_by_test_id("nav-orders")).to_be_visible()
        link = box.get_by_role("link")
        expect(link).to_have_attribute("href", back)
    page.get_by_test_id("record-not-found").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/users$"))
    expect(page.get_by_test_id("list-row").first).to_be_visible()


def test_an_unknown_address_signed_out_goes_through_the_login(anonymous_page):
    page = anonymous_page
    page.goto("/no/such/page")
    page.wait_for_url(re.compile(r"/login\?next=%2Fno%2Fsuch%2Fpage"))
    page.locator("#username").fill("viewer")
    page.locator("#password").fill("northwind-viewer")
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(re.compile(r"/no/such/page$"))
    expect(page.get_by_test_id("page-not-found")).to_be_visible()


def test_the_dashboard_opens_the_latest_quarter_and_names_its_rankings_honestly(page,
                                                                               app_db_url):
    with session_scope(app_db_url) as s:
        _, last = dash.data_bounds(s)
        years = dash.years_with_orders(s)  # newest first; other tests may add today's orders
    quarter = (last.month - 1) // 3 + 1
    page.goto("/?period=quarter")
    first = dt.date(last.year, 3 * quarter - 2, 1)
    end = dash.add_months(first, 2)
    expect(page.get_by_test_id("period-text")).to_have_text(f"{first:%b %Y} – {end:%b %Y}")
    expect(page.get_by_test_id("period-quarter")).to_contain_text(f"Q{quarter}")
    # An earlier year with orders opens on its latest quarter with orders.
    earlier = years[1]
    with session_scope(app_db_url) as s:
        late_quarter = dash.latest_quarter(s, earlier)
    page.goto(f"/?period=quarter&year={earlier}")
    start = dt.date(earlier, 3 * late_quarter - 2, 1)
    expect(page.get_by_test_id("period-text")).to_have_text(
        f"{start:%b %Y} – {dash.add_months(start, 2):%b %Y}")
    page.goto("/")
    expect(page.get_by_text("Top employees", exact=True)).to_be_visible()
    expect(page.get_by_text("Top 10 employees")).to_have_count(0)


def test_login_says_what_is_missing_in_sentences_and_clears_a_wrong_password(anonymous_page):
    page = anonymous_page
    page.goto("/login")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("username-error")).to_have_text("Enter your user name.")
    expect(page.get_by_test_id("password-error")).to_have_text("Enter your password.")
    page.locator("#username").fill("viewer")
    page.locator("#password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("password-error")).to_contain_text("Wrong username or password")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#username")).to_have_value("viewer")
