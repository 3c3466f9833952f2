"""Accounts and admin screens in Chromium: users (create, role, deactivate, the last admin),
the account page (password, API tokens that work against the REST API until revoked), the
audit trail with its URL filters, and what non-admins get on the admin pages."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order
from northwind_app.money import format_money
from northwind_app.services import audit, users
from northwind_app.services.auth import SYSTEM
from northwind_app.ui.auth import COOKIE_NAME

PASSWORD = "correct-horse-42"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _choose(page: Page, testid: str, option: str | re.Pattern) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=isinstance(option, str)).click()


def _login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_test_id("login-submit").click()


def _make_user(app_db_url: str, role: str = "viewer", password: str = PASSWORD) -> tuple[str, int]:
    """An account made through the service (for tests whose subject is not its creation)."""
    username = _unique(role)
    with session_scope(app_db_url, write=True) as session:
        user = users.create_user(session, SYSTEM, {"username": username, "password": password,
                                                   "role": role, "full_name": f"Test {role}"})
    return username, user["user_id"]


def _user_id(app_db_url: str, username: str) -> int:
    with session_scope(app_db_url) as session:
        return users.find_user(session, username).user_id


def _session_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE_NAME)


def test_admin_creates_a_sales_user_who_then_signs_in(page, anonymous_page):
    username = _unique("jane")
    page.goto("/users")
    expect(page.get_by_test_id("nav-users")).to_be_visible()
    expect(page.get_by_test_id("nav-audit trail")).to_be_visible()
    expect(page.get_by_test_id("list-row").filter(has_text="Demo Admin")).to_have_count(1)
    page.get_by_test_id("new-user").click()
    page.wait_for_url(re.compile(r"/users/new$"))
    page.get_by_test_id("input-username").fill(username)
    page.get_by_test_id("input-full_name").fill("Jane Sales")
    _choose(page, "input-role", re.compile(r"^sales"))
    _choose(page, "input-employee_id", "Nancy Davolio")
    page.get_by_test_id("input-password").fill("short")
    page.get_by_test_id("input-repeat_password").fill("short")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("error-password")).to_contain_text("at least 8 characters")
    page.get_by_test_id("input-password").fill(PASSWORD)
    page.get_by_test_id("input-repeat_password").fill(PASSWORD + "x")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("error-repeat_password")).to_contain_text("does not match")
    expect(page).to_have_url(re.compile(r"/users/new$"))
    page.get_by_test_id("input-repeat_password").fill(PASSWORD)
    page.get_by_test_id("save-user").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))
    expect(page.get_by_test_id("record-heading")).to_have_text(username)
    expect(page.get_by_test_id("user-role-badge")).to_have_text("sales")
    expect(page.get_by_test_id("profile-employee")).to_have_text("Nancy Davolio")
    expect(page.get_by_test_id("history-entry").first).to_contain_text("create")

    # The same username again is refused next to the field.
    page.goto("/users/new")
    page.get_by_test_id("input-username").fill(username.upper())
    page.get_by_test_id("input-password").fill(PASSWORD)
    page.get_by_test_id("input-repeat_password").fill(PASSWORD)
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("error-username")).to_contain_text("already taken")

    # The list finds the user by search and role filter, both kept in the URL.
    page.goto("/users")
    _choose(page, "filter-role", "Sales")
    expect(page).to_have_url(re.compile(r"role=sales"))
    page.get_by_test_id("list-search").fill(username)
    expect(page).to_have_url(re.compile(rf"q={username}"))
    expect(page.get_by_test_id("list-row")).to_have_count(1)
    expect(page.get_by_test_id("list-row")).to_contain_text("Nancy Davolio")
    page.reload()
    expect(page.get_by_test_id("list-row")).to_have_count(1)

    # The new account signs in with the login form and has the sales role.
    _login(anonymous_page, username, PASSWORD)
    anonymous_page.wait_for_url(re.compile(r"/$"))
    expect(anonymous_page.get_by_test_id("user-role")).to_have_text("sales")
    expect(anonymous_page.get_by_test_id("user-name")).to_have_text("Jane Sales")


def test_role_change_and_deactivation_end_the_users_sessions(page, page_as, app_db_url):
    username, user_id = _make_user(app_db_url, "viewer")
    theirs = page_as(username)
    theirs.goto("/orders")
    expect(theirs.get_by_test_id("user-role")).to_have_text("viewer")

    page.goto(f"/users/{user_id}")
    expect(page.get_by_test_id("user-role-badge")).to_have_text("viewer")
    _choose(page, "input-role", re.compile(r"^sales"))
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("user-role-badge")).to_have_text("sales")
    entry = page.get_by_test_id("history-entry").first
    expect(entry).to_contain_text(re.compile(r"Role\s*viewer\s*→\s*sales"))
    # Their browser was signed out: a fresh tab on the same cookie gets the login page.
    stale = theirs.context.new_page()
    stale.goto("/orders")
    stale.wait_for_url(re.compile(r"/login\?next="))

    # Signed in again (as sales now), then deactivated: the session stops working.
    theirs = page_as(username)
    theirs.goto("/orders")
    expect(theirs.get_by_test_id("user-role")).to_have_text("sales")
    page.get_by_test_id("input-active").click()
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("user-active-badge")).to_have_text("Deactivated")
    stale = theirs.context.new_page()
    stale.goto("/customers")
    stale.wait_for_url(re.compile(r"/login\?next="))
    _login(stale, username, PASSWORD)
    expect(stale.get_by_test_id("password-error")).to_contain_text("Wrong username or password")

    page.goto("/users?active=false")
    expect(page.get_by_test_id("list-row").filter(has_text=username)).to_have_count(1)
    expect(page.get_by_test_id("list-row").filter(has_text="Active")).to_have_count(0)


def test_the_last_admin_cannot_be_demoted_or_deactivated(page, app_db_url):
    admin_id = _user_id(app_db_url, "admin")
    page.goto(f"/users/{admin_id}")
    expect(page.get_by_test_id("user-role-badge")).to_have_text("admin")
    _choose(page, "input-role", re.compile(r"^viewer"))
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("last active admin")
    expect(page.get_by_test_id("error-role")).to_contain_text("must stay an admin")
    _choose(page, "input-role", re.compile(r"^admin"))
    page.get_by_test_id("input-active").click()
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("last active admin")
    page.reload()
    expect(page.get_by_test_id("user-role-badge")).to_have_text("admin")
    expect(page.get_by_test_id("user-active-badge")).to_have_text("Active")
    with session_scope(app_db_url) as session:
        assert users.find_user(session, "admin").role == "admin"


def test_api_token_is_shown_once_works_and_stops_working_when_revoked(page_as, app_url):
    page = page_as("sales")
    page.goto("/account")
    expect(page.get_by_test_id("profile-username")).to_have_text("sales")
    expect(page.get_by_test_id("profile-role")).to_have_text("sales")
    expect(page.get_by_test_id("profile-role-description")).to_contain_text(
        "Create, edit, ship and delete orders")
    expect(page.get_by_test_id("profile-employee")).to_have_text("Margaret Peacock")

    page.get_by_test_id("create-token").click()
    expect(page.get_by_test_id("error-token_name")).to_contain_text("is required")
    name = _unique("export")
    page.get_by_test_id("input-token_name").fill(name)
    page.get_by_test_id("input-token_days").fill("30")
    page.get_by_test_id("create-token").click()
    shown = page.get_by_test_id("new-token")
    expect(shown).to_have_text(re.compile(r"^nwt_\S{20,}$"))
    token = shown.inner_text()
    expect(page.get_by_role("dialog")).to_contain_text("will not be shown again")
    page.get_by_test_id("close-token").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    row = page.get_by_test_id("token-row").filter(has_text=name)
    expect(row.get_by_test_id("token-state")).to_have_text("active")
    expect(row).to_contain_text(token[:12] + "…")
    page.reload()
    expect(row).to_be_visible()
    assert token not in page.content()

    headers = {"Authorization": f"Bearer {token}"}
    # Without the browser's session cookie (which may read the API), nothing but the token.
    assert httpx.get(app_url + "/api/me").status_code == 401
    me = page.request.get("/api/me", headers=headers)
    assert me.status == 200, me.text()
    assert me.json()["username"] == "sales"
    assert page.request.get("/api/orders?limit=1", headers=headers).status == 200

    row.get_by_test_id("revoke-token").click()
    page.get_by_test_id("confirm-delete").click()
    expect(row.get_by_test_id("token-state")).to_have_text("revoked")
    expect(row.get_by_test_id("revoke-token")).to_have_count(0)
    # A revoked token is refused, even next to a valid session cookie.
    assert page.request.get("/api/me", headers=headers).status == 401
    assert httpx.get(app_url + "/api/orders?limit=1", headers=headers).status_code == 401


def test_change_own_password(page_as, browser, app_url, app_db_url):
    username, _ = _make_user(app_db_url, "viewer")
    page = page_as(username)
    old_token = _session_token(page)
    page.goto("/account")
    form = page.get_by_test_id("change-password")
    new_password = "a-new-secret-99"
    form.get_by_test_id("input-current_password").fill("not-my-password")
    form.get_by_test_id("input-new_password").fill(new_password)
    form.get_by_test_id("input-repeat_password").fill(new_password)
    form.get_by_test_id("submit-password").click()
    expect(form.get_by_test_id("error-current_password")).to_have_text(
        "is not your current password")
    expect(form.get_by_test_id("error-new_password")).to_have_count(0)
    form.get_by_test_id("input-current_password").fill(PASSWORD)
    form.get_by_test_id("input-repeat_password").fill(new_password + "!")
    form.get_by_test_id("submit-password").click()
    expect(form.get_by_test_id("error-repeat_password")).to_contain_text("does not match")
    expect(form.get_by_test_id("error-current_password")).to_have_count(0)
    form.get_by_test_id("input-repeat_password").fill(new_password)
    form.get_by_test_id("submit-password").click()
    expect(form.get_by_test_id("password-done")).to_contain_text("Password changed")
    expect(form.get_by_test_id("input-current_password")).to_have_value("")

    # This browser stays signed in on a new session (a fresh tab checks it at once) …
    again = page.context.new_page()
    again.goto("/account")
    expect(again.get_by_test_id("profile-username")).to_have_text(username)
    assert _session_token(page) != old_token
    # … while the old session is over, and the new password signs in.
    other = browser.new_context(base_url=app_url)
    try:
        other.add_cookies([{"name": COOKIE_NAME, "value": old_token, "url": app_url,
                            "sameSite": "Strict"}])
        stale = other.new_page()
        stale.goto("/orders")
        stale.wait_for_url(re.compile(r"/login\?next="))
        _login(stale, username, new_password)
        stale.wait_for_url(re.compile(r"/$"))
        expect(stale.get_by_test_id("user-name")).to_have_text("Test viewer")
    finally:
        other.close()


def test_audit_trail_shows_an_order_edit_and_filters_in_the_url(page, page_as, app_db_url):
    order_id = 10262
    with session_scope(app_db_url) as session:
        before = session.get(Order, order_id).freight
    after = before + Decimal("1.25")
    sales = page_as("sales")
    sales.goto(f"/orders/{order_id}/edit")
    sales.get_by_test_id("input-freight").fill(str(after))
    sales.get_by_test_id("save-order").click()
    sales.wait_for_url(re.compile(rf"/orders/{order_id}$"))
    change = f"Freight: {format_money(before)} → {format_money(after)}"  # (the admin's: en)

    page.goto("/audit")
    expect(page.get_by_test_id("list-row").first).to_contain_text(change)  # newest first
    _choose(page, "filter-entity", "order")
    expect(page).to_have_url(re.compile(r"entity=order"))
    page.get_by_test_id("filter-key").fill(str(order_id))
    expect(page).to_have_url(re.compile(rf"key={order_id}"))
    _choose(page, "filter-username", "sales")
    expect(page).to_have_url(re.compile(r"username=sales"))
    rows = page.get_by_test_id("list-row")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("sales")
    expect(rows).to_contain_text("update")
    expect(rows.get_by_test_id("audit-changes")).to_contain_text(change)
    page.reload()  # the URL keeps the filters
    expect(page.get_by_test_id("filter-key")).to_have_value(str(order_id))
    expect(page.get_by_test_id("filter-entity")).to_contain_text("order")
    expect(rows).to_have_count(1)
    _choose(page, "filter-action", "delete")
    expect(page).to_have_url(re.compile(r"action=delete"))
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    page.goto(f"/audit?key={order_id}&date_to=2000-01-01")
    expect(page.get_by_test_id("filter-date_to")).to_have_value("2000-01-01")
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    page.goto(f"/audit?key={order_id}&username=sales")
    page.get_by_test_id("audit-record").first.click()
    page.wait_for_url(re.compile(rf"/orders/{order_id}$"))


def test_audit_hides_long_change_lists_behind_more(page, app_db_url):
    username, user_id = _make_user(app_db_url, "viewer")
    page.goto(f"/audit?entity=user&key={user_id}&action=create")
    row = page.get_by_test_id("list-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("audit-changes")).to_contain_text(f"User name: — → {username}")
    # username, full_name, role shown; active behind "+1 more"
    expect(row.get_by_test_id("audit-more")).to_have_text("+1 more")
    expect(row.get_by_test_id("audit-more-changes")).not_to_be_visible()
    row.get_by_test_id("audit-more").click()
    expect(row.get_by_test_id("audit-more-changes")).to_contain_text("Active: — → yes")


@pytest.mark.parametrize("role", ["viewer", "sales"])
@pytest.mark.parametrize("path", ["/users", "/users/new", "/users/1", "/audit"])
def test_non_admins_get_forbidden_on_admin_pages(page_as, role, path):
    page = page_as(role)
    page.goto(path)
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("list-row")).to_have_count(0)
    expect(page.get_by_test_id("save-user")).to_have_count(0)
    expect(page.get_by_test_id("profile")).to_have_count(0)
    expect(page.get_by_test_id("nav-users")).to_have_count(0)
    expect(page.get_by_test_id("nav-audit trail")).to_have_count(0)
    expect(page.get_by_test_id("nav-orders")).to_be_visible()




def test_lists_that_need_no_actor_still_load(page_as):
    """The shared table passes the signed-in user only to lists that ask for it."""
    page = page_as("viewer")
    page.goto("/customers?country=Germany")
    expect(page.get_by_test_id("list-range")).to_have_text("Rows 1–11 of 11")
    expect(page.get_by_test_id("list-error")).to_have_count(0)
