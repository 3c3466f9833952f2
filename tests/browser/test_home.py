"""The running app, in Chromium, shows live counts read from the database."""

from __future__ import annotations

from playwright.sync_api import expect



def test_home_shows_live_counts(page):
    page.goto("/")
    expect(page.get_by_test_id("count-orders")).to_have_text("830")
    expect(page.get_by_test_id("count-customers")).to_have_text("91")
    expect(page.get_by_test_id("count-products")).to_have_text("77")
    expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")


def test_dark_mode_toggle(page):
    page.goto("/")
    html = page.locator("html")
    before = html.get_attribute("class") or ""
    page.get_by_label("Toggle dark mode").click()
    expect(html).not_to_have_class(before) if before else expect(html).to_have_class("dark")
