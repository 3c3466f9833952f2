"""Number formats on the screens (issue 21): a German-speaking user's "12,50" is 12.50 and is
shown as "12,50"; an English-format user's "12,50" is refused next to the field with how it
was read and what was probably meant; never a silent 1,250.00."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Product, User
from northwind_app.services import users
from northwind_app.services.auth import SYSTEM
from tests.browser.conftest import TIMEOUT_MS

PASSWORD = "correct-horse-42"


def _make_sales_user(app_db_url: str) -> str:
    username = f"numfmt-{uuid.uuid4().hex[:6]}"
    with session_scope(app_db_url, write=True) as session:
        users.create_user(session, SYSTEM, {"username": username, "password": PASSWORD,
                                            "role": "sales"})
    return username


def _signed_in(browser, app_url: str, username: str, locale: str) -> Page:
    """A browser whose language is `locale`, signed in with the login form (the first
    sign-in takes the user's format from it)."""
    context = browser.new_context(base_url=app_url, locale=locale,
                                  viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)  # the login page's URL ends in "/"
    return page


def _new_product(page: Page, name: str, price: str) -> None:
    page.goto("/products/new")
    page.get_by_test_id("input-product_name").fill(name)
    page.get_by_test_id("input-unit_price").fill(price)
    page.get_by_test_id("save-record").click()


def _order_line(page: Page, product: str):
    """A new order's form with one line of `product`."""
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    page.get_by_test_id("product-search").fill(product)
    page.get_by_test_id("product-option").filter(has_text=product).first.click()
    line = page.get_by_test_id("form-line").first
    expect(line).to_contain_text(product)
    return line


def _prices(app_db_url: str, name: str) -> list[Decimal]:
    with session_scope(app_db_url) as session:
        return list(session.execute(select(Product.unit_price)
                                    .where(Product.product_name == name)).scalars())


def test_german_format_reads_12_50_and_shows_12_50(browser, app_url, app_db_url):
    username = _make_sales_user(app_db_url)
    page = _signed_in(browser, app_url, username, "de-DE")
    try:
        with session_scope(app_db_url) as session:  # first sign-in: the browser's language
            assert session.execute(select(User.number_format)
                                   .where(User.username == username)).scalar_one() == "de"
        name = f"Apfelschorle {uuid.uuid4().hex[:4]}"
        _new_product(page, name, "12,50")
        page.wait_for_url(re.compile(r"/products/\d+$"))
        expect(page.get_by_test_id("field-unit_price")).to_have_text("12,50\xa0$")
        assert _prices(app_db_url, name) == [Decimal("12.50")]
        page.get_by_test_id("edit-record").click()
        expect(page.get_by_test_id("input-unit_price")).to_have_value("12,50")

        # The order form reads and shows the same format: price, discount (a percentage).
        line = _order_line(page, "Queso Cabrales")
        expect(line.get_by_test_id("line-unit_price")).to_have_value("21,00")
        line.get_by_test_id("line-quantity").fill("12")
        line.get_by_test_id("line-discount").fill("2,5")
        expect(line.get_by_test_id("line-total")).to_have_text("245,70\xa0$")  # 12 × 21 × 0.975
    finally:
        page.context.close()


def test_english_format_refuses_12_50_next_to_the_field(browser, app_url, app_db_url):
    username = _make_sales_user(app_db_url)
    page = _signed_in(browser, app_url, username, "en-US")
    try:
        name = f"Apple juice {uuid.uuid4().hex[:4]}"
        _new_product(page, name, "12,50")
        expect(page.get_by_test_id("error-unit_price")).to_have_text(
            "12,50 is not a number in the 1,234.56 format; did you mean 12.50?")
        expect(page.get_by_test_id("form-error")).to_contain_text("nothing was saved")
        assert _prices(app_db_url, name) == []

        # The order form too: the line price and the freight, each next to its field.
        line = _order_line(page, "Queso Cabrales")
        line.get_by_test_id("line-unit_price").fill("23,79")
        expect(line.get_by_test_id("line-total")).to_have_text("—")
        page.get_by_test_id("input-freight").fill("25,50")
        page.get_by_test_id("save-order").click()
        expect(line.get_by_test_id("line-error-unit_price")).to_have_text(
            "23,79 is not a number in the 1,234.56 format; did you mean 23.79?")
        expect(page.get_by_test_id("error-freight")).to_have_text(
            "25,50 is not a number in the 1,234.56 format; did you mean 25.50?")

        # Switching to the German format on the Account page: the same text now reads.
        page.goto("/account")
        page.get_by_test_id("input-number_format").click()
        page.get_by_role("option", name=re.compile("German")).click()
        expect(page.get_by_test_id("input-number_format")).to_contain_text("1.234,56")
        _new_product(page, name, "12,50")
        page.wait_for_url(re.compile(r"/products/\d+$"))
        expect(page.get_by_test_id("field-unit_price")).to_have_text("12,50\xa0$")
        assert _prices(app_db_url, name) == [Decimal("12.50")]
    finally:
        page.context.close()
