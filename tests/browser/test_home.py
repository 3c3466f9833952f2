"""The running app, in Chromium, shows live counts read from the database."""

from __future__ import annotations

from playwright.sync_api import expect

from northwind_app.db.engine import session_scope
from northwind_app.money import format_number
from northwind_app.services.stats import entity_counts


def test_home_shows_live_counts(page, app_db_url):
    with session_scope(app_db_url) as s:
        counts = entity_counts(s)
    assert counts["customers"] >= 91 and counts["products"] >= 77 and counts["orders"] >= 830
    page.goto("/")
    for name, count in counts.items():  # other tests may have added rows: compare live
        expect(page.get_by_test_id(f"count-{name}")).to_have_text(format_number(count))
    expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")


def test_dark_mode_toggle(page):
    page.goto("/")
    html = page.locator("html")
    expect(html).to_have_class("light")
    page.get_by_label("Toggle dark mode").click()
    expect(html).to_have_class("dark")
