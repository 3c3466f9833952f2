"""Live screens (issue #23) in Chromium, with two signed-in browser contexts of different
users: what one changes (through the API, the screens or the command line) the other's open
screen shows without a reload, within the time the assertions allow; and a viewer's tab
receives nothing its role may not read."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope
from northwind_app.services import users
from northwind_app.services.auth import SYSTEM
from northwind_app.settings import PROJECT_ROOT

LIVE_MS = 5_000  # a change shows within this (its target is far less: bench)

NEW_ORDER = {
    "customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04",
    "required_date": "2099-08-01", "ship_via": 3, "freight": "32.38",
    "ship_name": "Vins et alcools Chevalier", "ship_city": "Reims", "ship_country": "France",
    "lines": [{"product_id": 11, "quantity": 1}],
}


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


def _as_admin(app_db_url: str, fn) -> None:
    """A change by the command line (another process than the server: the server hears of it
    from the change feed)."""
    with session_scope(app_db_url, write=True) as session:
        fn(session)


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


@pytest.mark.parametrize("change", [{"role": "viewer"}, {"active": False}])
def test_role_change_or_deactivation_reaches_the_users_open_tabs_at_once(page_as, app_db_url,
                                                                         change):
    """Either signs the user out everywhere (services/users.py); the open tab goes to the login
    page at once, not at its next action or 15 s later."""
    username, user_id = _make_user(app_db_url, "sales")
    tab = page_as(username)
    tab.goto("/orders")
    _loaded(tab)
    expect(tab.get_by_test_id("new-order")).to_be_visible()

    _as_admin(app_db_url, lambda s: users.update_user(s, SYSTEM, user_id, change))
    start = time.monotonic()
    expect(tab).to_have_url(re.compile(r"/login"), timeout=LIVE_MS)
    print(f"{change} → tab on the login page in {time.monotonic() - start:.3f} s")
