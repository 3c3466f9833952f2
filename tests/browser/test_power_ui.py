"""The parts for power users, in Chromium against the running app (classic data): keyboard
shortcuts (and that they do not fire while typing), the command palette by keyboard,
breadcrumbs whose Back to list keeps the list's filters, sort and page, "New order for this
customer" and "Duplicate".

Orders made here are for WOLZA and WILMK, with products 60 and 61, which other tests do not
read."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from northwind_app import formats
from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order, OrderDetail, Product
from northwind_app.services.auth import SYSTEM
from tests import factories


def _rows_shown(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.get_by_test_id("list-row").first).to_be_visible()
    expect(page.get_by_test_id("list-table")).to_have_attribute("data-loading", "false")


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).rstrip("/") or "/"


def _blur(page: Page) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")


# -- shortcuts ----------------------------------------------------------------------------------

def test_shortcuts_go_focus_create_and_list_themselves(page):
    _rows_shown(page, "/orders")
    page.keyboard.press("g")
    page.keyboard.press("c")
    page.wait_for_url(re.compile(r"/customers/?$"))
    expect(page.get_by_test_id("page-title")).to_have_text("Customers")
    expect(page.get_by_test_id("list-row").first).to_be_visible()

    # `/` focuses the list's search box; typed there, shortcut keys are only text.
    page.keyboard.press("/")
    search = page.get_by_test_id("list-search")
    expect(search).to_be_focused()
    page.keyboard.type("gon?")
    expect(search).to_have_value("gon?")
    page.wait_for_timeout(800)
    assert _path(page).startswith("/customers")
    expect(page.get_by_test_id("shortcuts-help")).to_have_count(0)
    search.fill("")
    _blur(page)

    page.keyboard.press("n")  # the admin may create customers
    page.wait_for_url(re.compile(r"/customers/new/?$"))
    expect(page.get_by_test_id("form-heading")).to_have_text("New customer")
    # Not while typing in a form field either.
    page.get_by_test_id("input-company_name").click()
    page.keyboard.type("gp")
    expect(page.get_by_test_id("input-company_name")).to_have_value("gp")
    page.wait_for_timeout(800)
    assert _path(page) == "/customers/new"
    _blur(page)

    for keys, path, title in (("gp", "/products", "Products"), ("gd", "/", "Dashboard"),
                              ("go", "/orders", "Orders")):
        page.keyboard.press(keys[0])
        page.keyboard.press(keys[1])
        page.wait_for_url(lambda url, p=path: _path_of(url) == p)
        expect(page.get_by_test_id("page-title")).to_have_text(title)

    page.keyboard.press("?")
    help_dialog = page.get_by_test_id("shortcuts-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Go to customers")
    expect(help_dialog).to_contain_text("Command palette")
    page.keyboard.press("g")  # not while a dialog is open
    page.keyboard.press("c")
    page.wait_for_timeout(800)
    assert _path(page) == "/orders"
    page.keyboard.press("Escape")
    expect(help_dialog).to_have_count(0)

    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/orders/new/?$"))
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")


def _path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0].rstrip("/") or "/"


def test_n_creates_nothing_for_a_role_that_may_not(page_as):
    page = page_as("viewer")
    _rows_shown(page, "/orders")
    expect(page.get_by_test_id("new-order")).to_have_count(0)
    page.keyboard.press("n")
    page.wait_for_timeout(800)
    assert _path(page) == "/orders"


# -- command palette ----------------------------------------------------------------------------

def _options(page: Page):
    return page.get_by_test_id("palette-option")


def test_palette_by_keyboard(page):
    _rows_shown(page, "/orders")
    page.keyboard.press("Control+k")
    palette_input = page.get_by_test_id("palette-input")
    expect(palette_input).to_be_focused()
    expect(_options(page).first).to_contain_text("Dashboard")  # no text yet: the pages
    expect(page.get_by_role("listbox")).to_be_visible()

    palette_input.press_sequentially("10248", delay=30)
    expect(_options(page).first).to_contain_text("Order 10248")
    expect(_options(page).first).to_contain_text("Vins et alcools Chevalier")
    expect(_options(page).first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/10248/?$"))
    expect(page.get_by_test_id("order-heading")).to_have_text("Order 10248")
    expect(page.get_by_test_id("palette")).to_have_count(0)

    # Two products: ArrowDown moves to the second, ArrowUp back, End to the last; Enter opens.
    page.keyboard.press("Meta+k")
    palette_input.press_sequentially("queso", delay=30)
    expect(_options(page)).to_have_count(2)
    expect(_options(page).nth(0)).to_contain_text("Queso Cabrales")
    page.keyboard.press("ArrowDown")
    expect(_options(page).nth(1)).to_have_attribute("aria-selected", "true")
    option_id = _options(page).nth(1).get_attribute("id")
    expect(palette_input).to_have_attribute("aria-activedescendant", option_id)
    page.keyboard.press("ArrowUp")
    expect(_options(page).nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(_options(page).nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/products/12/?$"))
    expect(page.get_by_test_id("record-heading")).to_contain_text("Queso Manchego")

    # Ctrl-K also while typing in a field; Escape closes; the header's button opens it too.
    _rows_shown(page, "/customers")
    page.get_by_test_id("list-search").click()
    page.keyboard.press("Control+k")
    expect(palette_input).to_be_focused()
    palette_input.press_sequentially("alfki", delay=30)
    expect(_options(page).first).to_contain_text("Alfreds Futterkiste (ALFKI)")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("palette")).to_have_count(0)
    page.get_by_test_id("palette-button").click()
    expect(palette_input).to_be_focused()
    expect(palette_input).to_have_value("")
    palette_input.press_sequentially("audit", delay=30)
    expect(_options(page).first).to_contain_text("Audit trail")
    _options(page).first.click()
    page.wait_for_url(re.compile(r"/audit/?$"))


def test_palette_shows_a_role_only_what_it_may_open(page_as):
    page = page_as("viewer")
    _rows_shown(page, "/orders")
    page.keyboard.press("Control+k")
    page.get_by_test_id("palette-input").press_sequentially("new order", delay=30)
    expect(page.get_by_test_id("palette-empty")).to_be_visible()  # not for a viewer
    page.get_by_test_id("palette-input").fill("audit")
    expect(page.get_by_test_id("palette-empty")).to_be_visible()  # nor the audit trail
    page.get_by_test_id("palette-input").fill("orders")
    expect(_options(page)).to_have_text([re.compile("Orders")])
    page.get_by_test_id("palette-input").fill("x" * 201)
    expect(page.get_by_test_id("palette-message")).to_have_text(
        "The search must be at most 200 characters")


# -- breadcrumbs and back to the list -----------------------------------------------------------

def test_breadcrumbs_and_back_to_the_list_as_it_was(page):
    view = "/orders?sort=-total&page=2&status=shipped"
    _rows_shown(page, view)
    expect(page.get_by_test_id("page-number")).to_contain_text("Page 2 of")
    first = page.get_by_test_id("list-row").first.get_by_role("link").first
    order_id = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(rf"/orders/{order_id}/?$"))
    crumbs = page.get_by_test_id("breadcrumbs")
    expect(crumbs.get_by_test_id("breadcrumb-link")).to_have_text("Orders")
    expect(crumbs.get_by_test_id("breadcrumb-current")).to_have_text(order_id)
    expect(page.get_by_test_id("breadcrumb-back")).to_have_attribute("href", view)
    page.get_by_test_id("breadcrumb-back").click()
    page.wait_for_url(re.compile(r"/orders\?"))
    assert _path(page) == view
    expect(page.get_by_test_id("page-number")).to_contain_text("Page 2 of")
    expect(page.get_by_test_id("filter-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("sort-total")).to_have_attribute("aria-sort", "descending")

    # A customer's page and form: Customers › ALFKI › Edit, back to the filtered list.
    _rows_shown(page, "/customers?country=Germany")
    page.get_by_role("link", name="ALFKI", exact=True).click()
    page.wait_for_url(re.compile(r"/customers/ALFKI/?$"))
    expect(page.get_by_test_id("breadcrumbs")).to_have_text(re.compile(r"Customers\s*ALFKI"))
    page.get_by_test_id("edit-record").click()
    page.wait_for_url(re.compile(r"/customers/ALFKI/edit/?$"))
    crumbs = page.get_by_test_id("breadcrumbs")
    expect(crumbs.get_by_test_id("breadcrumb-link")).to_have_text(["Customers", "ALFKI"])
    expect(crumbs.get_by_test_id("breadcrumb-current")).to_have_text("Edit")
    crumbs.get_by_test_id("breadcrumb-link").nth(1).click()
    page.wait_for_url(re.compile(r"/customers/ALFKI/?$"))
    page.get_by_test_id("breadcrumb-back").click()
    page.wait_for_url(re.compile(r"/customers\?country=Germany$"))
    expect(page.get_by_test_id("list-row")).to_have_count(11)


def test_a_direct_visit_goes_back_to_the_plain_list_others_to_theirs(page):
    page.goto("/orders/10250")
    expect(page.get_by_test_id("order-heading")).to_have_text("Order 10250")
    expect(page.get_by_test_id("breadcrumb-back")).to_have_attribute("href", "/orders")
    page.goto("/products/11")
    expect(page.get_by_test_id("breadcrumbs")).to_have_text(re.compile(r"Products\s*11"))
    expect(page.get_by_test_id("breadcrumb-back")).to_have_attribute("href", "/products")
    _rows_shown(page, "/users?role=admin")
    page.get_by_test_id("list-row").first.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/users/\d+/?$"))
    expect(page.get_by_test_id("breadcrumb-link")).to_have_text("Users")
    expect(page.get_by_test_id("breadcrumb-back")).to_have_attribute("href", "/users?role=admin")


# -- new order for a customer, duplicate --------------------------------------------------------

def _order(url: str, order_id: int):
    with session_scope(url) as session:
        order = session.get(Order, order_id)
        lines = session.execute(select(OrderDetail.product_id, OrderDetail.quantity,
                                       OrderDetail.unit_price, OrderDetail.discount)
                                .where(OrderDetail.order_id == order_id)
                                .order_by(OrderDetail.product_id)).all()
        return order, [tuple(line) for line in lines]


def _price_text(url: str, product_id: int) -> str:
    with session_scope(url) as session:
        return formats.edit_text(session.get(Product, product_id).unit_price, "en")


def _set_stock(url: str, product_id: int, units: int) -> int:
    with session_scope(url, write=True) as session:
        before = session.get(Product, product_id).units_in_stock
        session.execute(update(Product).where(Product.product_id == product_id)
                        .values(units_in_stock=units))
    return before


def test_new_order_for_this_customer(page_as, app_db_url):
    page = page_as("sales")
    page.goto("/customers/WOLZA")
    page.get_by_test_id("new-order-for-customer").click()
    page.wait_for_url(re.compile(r"/orders/new\?customer=WOLZA$"))
    expect(page.get_by_test_id("customer-selected")).to_have_text("Wolski  Zajazd (WOLZA)")
    expect(page.get_by_test_id("input-ship_name")).to_have_value("Wolski  Zajazd")
    expect(page.get_by_test_id("input-ship_city")).to_have_value("Warszawa")
    expect(page.get_by_test_id("input-order_date")).to_have_value(dt.date.today().isoformat())
    page.get_by_test_id("product-search").fill("Camembert")
    page.get_by_test_id("product-option").filter(has_text="Camembert Pierrot").first.click()
    expect(page.get_by_test_id("form-line")).to_have_count(1)
    page.get_by_test_id("save-order").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    order, lines = _order(app_db_url, int(_path(page).split("/")[-1]))
    assert order.customer_id == "WOLZA" and order.employee_id == 4  # the sales user's
    assert [line[:2] for line in lines] == [(60, 1)]

    # An address naming no customer or order starts an empty form, saying why.
    page.goto("/orders/new?from=99999999")
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "Order 99999999 does not exist. The form starts empty.")
    expect(page.get_by_test_id("form-line")).to_have_count(0)
    page.goto("/orders/new?customer=ab1")
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "This address's customer must be exactly 5 letters A-Z. The form starts empty.")
    expect(page.get_by_test_id("customer-selected")).to_have_count(0)

    # A viewer is not offered it.
    viewer = page_as("viewer")
    viewer.goto("/customers/WOLZA")
    expect(viewer.get_by_test_id("record-heading")).to_contain_text("Wolski")
    expect(viewer.get_by_test_id("new-order-for-customer")).to_have_count(0)


def test_duplicate_an_order_at_todays_prices_stock_checked_at_save(page_as, app_db_url):
    source_id = factories.order(
        app_db_url, actor=SYSTEM, customer_id="WILMK", employee_id=5, ship_via=2,
        freight="7.25", order_date="1998-01-05", required_date="1998-02-02",
        shipped_date="1998-01-09", ship_name="Wilman Kala", ship_city="Helsinki",
        ship_country="Finland",
        lines=[{"product_id": 60, "quantity": 4, "unit_price": "20.00", "discount": "0.1"},
               {"product_id": 61, "quantity": 3, "unit_price": "20.00"}])
    page = page_as("sales")
    page.goto(f"/orders/{source_id}")
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    page.get_by_test_id("duplicate-order").click()
    page.wait_for_url(re.compile(rf"/orders/new\?from={source_id}$"))
    expect(page.get_by_test_id("prefill-note")).to_contain_text(f"A copy of order {source_id}")
    expect(page.get_by_test_id("customer-selected")).to_contain_text("(WILMK)")
    expect(page.get_by_test_id("input-ship_city")).to_have_value("Helsinki")
    expect(page.get_by_test_id("input-freight")).to_have_value("7.25")
    expect(page.get_by_test_id("input-order_date")).to_have_value(dt.date.today().isoformat())
    lines = page.get_by_test_id("form-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("Camembert Pierrot")
    expect(lines.nth(0).get_by_test_id("line-unit_price")).to_have_value(
        _price_text(app_db_url, 60))  # today's price, not the 20.00 of the source
    expect(lines.nth(0).get_by_test_id("line-quantity")).to_have_value("4")
    expect(lines.nth(0).get_by_test_id("line-discount")).to_have_value("10")

    # The stock is checked at save, as for any new order.
    stock = _set_stock(app_db_url, 61, 1)
    try:
        page.get_by_test_id("save-order").click()
        expect(page.get_by_test_id("line-error-quantity")).to_contain_text("1 in stock")
        assert "/orders/new" in page.url
    finally:
        _set_stock(app_db_url, 61, stock)
    page.get_by_test_id("save-order").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    copy_id = int(_path(page).split("/")[-1])
    assert copy_id != source_id
    expect(page.get_by_test_id("order-status")).to_have_text("New")
    copy, copy_lines = _order(app_db_url, copy_id)
    assert copy.customer_id == "WILMK" and copy.shipped_date is None
    assert copy.order_date == dt.date.today() and copy.employee_id == 4
    with session_scope(app_db_url) as session:
        today = {p: session.get(Product, p).unit_price for p in (60, 61)}
    assert copy_lines == [(60, 4, today[60], Decimal("0.1")), (61, 3, today[61], Decimal("0"))]

    viewer = page_as("viewer")
    viewer.goto(f"/orders/{source_id}")
    expect(viewer.get_by_test_id("order-heading")).to_have_text(f"Order {source_id}")
    expect(viewer.get_by_test_id("duplicate-order")).to_have_count(0)
