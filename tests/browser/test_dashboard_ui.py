"""The dashboard in Chromium: figures equal the service's, the period selector, drill-down links."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from northwind_app.db.engine import session_scope
from northwind_app.money import format_money, format_number
from northwind_app.services import dashboard as dash


def _kpis(url, preset="all", year=None):
    with session_scope(url) as s:
        return dash.dashboard(s, dash.resolve_period(s, preset, year)).kpis


def test_kpis_equal_the_service_figures(page, app_db_url):
    page.goto("/")
    k = _kpis(app_db_url)
    expect(page.get_by_test_id("kpi-revenue")).to_have_text(format_money(k.revenue))
    expect(page.get_by_test_id("kpi-orders")).to_have_text(format_number(k.orders))
    expect(page.get_by_test_id("kpi-units")).to_have_text(format_number(k.units_sold))
    expect(page.get_by_test_id("kpi-not_shipped")).to_have_text(format_number(k.not_shipped))
    expect(page.get_by_test_id("top-customers-row")).to_have_count(10)
    expect(page.get_by_test_id("top-products-row").first).to_contain_text("Côte de Blaye")


def test_period_selector_follows_the_url(page, app_db_url):
    page.goto("/")
    page.get_by_role("radio", name="A year").click()
    expect(page).to_have_url(re.compile(r"period=year"))
    page.get_by_test_id("period-year").click()
    page.get_by_role("option", name="1997").click()
    expect(page).to_have_url(re.compile(r"year=1997"))
    expect(page.get_by_test_id("kpi-revenue")).to_have_text(
        format_money(_kpis(app_db_url, "year", 1997).revenue))
    expect(page.get_by_test_id("period-text")).to_have_text("Jan 1997 – Dec 1997")
    page.reload()
    expect(page.get_by_test_id("period-text")).to_have_text("Jan 1997 – Dec 1997")
    page.goto("/?period=quarter&year=1998&quarter=1")
    expect(page.get_by_test_id("period-text")).to_have_text("Jan 1998 – Mar 1998")


def test_drill_down_from_ranking_and_chart_to_filtered_lists(page):
    page.goto("/")
    page.get_by_test_id("top-customers-row").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/orders\?customer_id=QUICK"))
    expect(page.get_by_test_id("list-range")).to_contain_text("of 28")
    page.goto("/")
    page.get_by_test_id("chart-months").locator(".recharts-bar-rectangle").first.click()
    expect(page).to_have_url(re.compile(r"/orders\?date_from=1996-07-01&date_to=1996-07-31"))
    expect(page.get_by_test_id("list-range")).to_have_text("Rows 1–22 of 22")
