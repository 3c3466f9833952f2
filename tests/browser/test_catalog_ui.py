"""Customers, products and the other reference screens in Chromium (classic data)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Product
from tests.browser.conftest import settled


def _choose(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option).click()


def test_customer_list_search_filter_and_detail(page):
    page.goto("/customers")
    expect(page.get_by_test_id("list-range")).to_contain_text("of 91")
    _choose(page, "filter-country", "Germany")
    expect(page).to_have_url(re.compile(r"country=Germany"))
    expect(page.get_by_test_id("list-range")).to_have_text("Rows 1–11 of 11")
    page.get_by_test_id("list-search").fill("alfreds")
    expect(page.get_by_test_id("list-row")).to_have_count(1)
    page.get_by_role("link", name="Alfreds Futterkiste").click()
    expect(page).to_have_url(re.compile(r"/customers/ALFKI$"))
    expect(page.get_by_test_id("field-order_count")).to_have_text("6")
    expect(page.get_by_test_id("field-revenue")).to_have_text("$4,273.00")
    expect(page.get_by_test_id("field-first_order_date")).to_have_text("Aug 25, 1997")
    expect(page.get_by_test_id("list-row")).to_have_count(6)


def test_delete_customer_with_orders_is_refused(page):
    page.goto("/customers/ALFKI")
    page.get_by_test_id("delete-record").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("delete-error")).to_have_text(
        "Customer ALFKI has 6 orders and cannot be deleted.")
    page.keyboard.press("Escape")
    page.goto("/customers?q=ALFKI")
    expect(page.get_by_test_id("list-row")).to_have_count(1)


def test_create_edit_and_delete_a_customer(page):
    page.goto("/customers/new")
    page.get_by_test_id("input-customer_id").fill("zz1")
    page.get_by_test_id("save-record").click()
    expect(page.get_by_test_id("error-customer_id")).to_contain_text("5 letters")
    expect(page.get_by_test_id("error-company_name")).to_contain_text("required")
    page.get_by_test_id("input-customer_id").fill("ZZTOP")
    page.get_by_test_id("input-company_name").fill("Zeta Trading Östersund")
    page.get_by_test_id("input-country").fill("Sweden")
    settled(page, "customer_id", "company_name")
    page.get_by_test_id("save-record").click()
    page.wait_for_url(re.compile(r"/customers/ZZTOP$"))
    expect(page.get_by_test_id("record-heading")).to_contain_text("Zeta Trading Östersund")
    expect(page.get_by_test_id("list-empty")).to_be_visible()

    page.get_by_test_id("edit-record").click()
    page.wait_for_url(re.compile(r"/customers/ZZTOP/edit$"))
    expect(page.get_by_test_id("input-company_name")).to_have_value("Zeta Trading Östersund")
    page.get_by_test_id("input-city").fill("Östersund")
    page.get_by_test_id("save-record").click()
    page.wait_for_url(re.compile(r"/customers/ZZTOP$"))
    expect(page.get_by_text("Östersund", exact=False).first).to_be_visible()

    page.get_by_test_id("delete-record").click()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(re.compile(r"/customers$"))
    page.goto("/customers/ZZTOP")
    expect(page.get_by_test_id("record-not-found")).to_be_visible()


def test_create_and_edit_a_product(page):
    page.goto("/products/new")
    page.get_by_test_id("input-product_name").fill("Nordic Lingonberry Jam")
    _choose(page, "input-category_id", "Condiments")
    _choose(page, "input-supplier_id", "Svensk Sjöföda AB")
    page.get_by_test_id("input-unit_price").fill("12.345")  # 12345 where "." groups (de)
    page.get_by_test_id("input-units_in_stock").fill("-4")
    page.get_by_test_id("save-record").click()
    expect(page.get_by_test_id("error-unit_price")).to_have_text(
        "12.345 is ambiguous in the 1,234.56 format; type 12.3450 or 12345.00, whichever you mean")
    page.get_by_test_id("input-unit_price").fill("12.3450")
    settled(page, "unit_price")
    page.get_by_test_id("save-record").click()
    # The first refusal named only the unreadable price (nothing was sent); this one the stock.
    expect(page.get_by_test_id("error-units_in_stock")).to_be_visible()
    expect(page.get_by_test_id("error-unit_price")).to_have_count(0)
    page.get_by_test_id("input-units_in_stock").fill("40")
    settled(page, "units_in_stock")
    page.get_by_test_id("save-record").click()
    page.wait_for_url(re.compile(r"/products/\d+$"))
    expect(page.get_by_test_id("record-heading")).to_contain_text("Nordic Lingonberry Jam")
    expect(page.get_by_test_id("field-unit_price")).to_have_text("$12.35")
    expect(page.get_by_test_id("product-category")).to_have_text("Condiments")

    page.get_by_test_id("edit-record").click()
    expect(page.get_by_test_id("input-unit_price")).to_have_value("12.3450")
    page.get_by_test_id("input-unit_price").fill("13.50")
    page.get_by_test_id("save-record").click()
    page.wait_for_url(re.compile(r"/products/\d+$"))
    expect(page.get_by_test_id("field-unit_price")).to_have_text("$13.50")
    page.get_by_test_id("discontinue").click()
    expect(page.get_by_test_id("undiscontinue")).to_be_visible()


def test_product_with_orders_cannot_be_deleted_and_shows_sales(page):
    page.goto("/products/38")
    expect(page.get_by_test_id("record-heading")).to_contain_text("Côte de Blaye")
    expect(page.get_by_test_id("field-revenue")).to_have_text("$141,396.74")
    expect(page.get_by_test_id("product-chart")).to_be_visible()
    page.get_by_test_id("delete-record").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("delete-error")).to_contain_text("discontinu")


def test_products_filters(page, app_db_url):
    with session_scope(app_db_url) as s:
        discontinued = s.execute(select(func.count()).where(Product.discontinued)).scalar_one()
    assert discontinued >= 8  # the classic 8, plus any a test discontinued
    page.goto("/products?discontinued=true")
    expect(page.get_by_test_id("list-range")).to_have_text(
        f"Rows 1–{discontinued} of {discontinued}")
    expect(page.get_by_test_id("list-row").filter(has_text="Discontinued")).to_have_count(discontinued)
    page.goto("/products?stock=low_stock&discontinued=false&sort=units_in_stock")
    expect(page.get_by_test_id("list-row").first).to_contain_text("Low stock")
    # One rule: none in stock is "Out of stock" (not "Low stock") in the list, the filter and
    # on the product's page; "Discontinued" wins over either.
    page.goto("/products?stock=out_of_stock&discontinued=false")
    rows = page.get_by_test_id("list-row")
    expect(rows.filter(has_text="Gorgonzola Telino")).to_contain_text("Out of stock")
    expect(rows.filter(has_text="Low stock")).to_have_count(0)
    page.goto("/products?stock=out_of_stock&discontinued=true")
    expect(rows.filter(has_text="Alice Mutton")).to_contain_text("Discontinued")
    page.goto("/products/31")
    expect(page.get_by_test_id("product-out-of-stock")).to_be_visible()
    expect(page.get_by_test_id("product-low-stock")).to_have_count(0)


def test_employee_supplier_category_shipper_pages_link_together(page):
    page.goto("/employees/2")
    expect(page.get_by_test_id("record-heading")).to_contain_text("Andrew Fuller")
    expect(page.get_by_test_id("direct-report")).to_have_count(5)
    page.get_by_test_id("direct-report").filter(has_text="Nancy Davolio").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/employees/1$"))
    expect(page.get_by_test_id("employee-manager")).to_have_text("Andrew Fuller")
    expect(page.get_by_test_id("territory")).to_have_count(2)
    expect(page.get_by_test_id("employee-year")).to_have_count(3)

    page.goto("/suppliers/1")
    expect(page.get_by_test_id("record-heading")).to_contain_text("Exotic Liquids")
    expect(page.get_by_test_id("list-row")).to_have_count(3)
    page.get_by_role("link", name="Chai").click()
    expect(page).to_have_url(re.compile(r"/products/1$"))

    page.goto("/categories/1")
    expect(page.get_by_test_id("category-revenue")).to_have_text("$267,868.18")

    page.goto("/shippers/1")
    expect(page.get_by_test_id("record-heading")).to_contain_text("Speedy Express")
    expect(page.get_by_test_id("shipper-late-rate")).to_contain_text("%")
    expect(page.get_by_test_id("shipper-average-days")).to_contain_text("days")
