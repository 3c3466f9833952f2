"""The order lifecycle and every refusal on the order screens (issue #21), in Chromium against
the running production app. Each conflict is made behind the page's back through the service
layer, as another user would, while the page shows the older order.

Orders are created through the service for customers no other browser test reads."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Order, Product
from northwind_app.services import orders as svc
from northwind_app.services.auth import SYSTEM, Actor

SALES = Actor(user_id=None, username="sales", role="sales")


def _create(url: str, customer: str = "LAZYK", quantity: int = 1) -> int:
    data = svc.parse_order_input({
        "customer_id": customer, "employee_id": 3, "order_date": "2026-01-05",
        "lines": [{"product_id": 1, "quantity": quantity}]})
    return write_transaction(lambda s: svc.create_order(s, data, actor=SYSTEM), url)


def _change_behind_its_back(url: str, order_id: int) -> None:
    write_transaction(lambda s: svc.revise_order(s, order_id, {"freight": "7.00"},
                                                 partial=True, actor=SALES), url)


def _stock(url: str) -> int:
    with session_scope(url) as s:
        return s.get(Product, 1).units_in_stock


def _open(page: Page, order_id: int) -> None:
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_test_id("order-heading")).to_contain_text(str(order_id))


def _reload_shows_the_change(page: Page, dialog_error: str) -> None:
    page.get_by_test_id(dialog_error).get_by_test_id("reload-order").click()
    expect(page.get_by_test_id(dialog_error)).to_have_count(0)
    expect(page.get_by_test_id("order-freight")).to_have_text("$7.00")


def test_ship_conflict_is_shown_in_the_dialog_with_a_reload(page, app_db_url):
    order_id = _create(app_db_url)
    _open(page, order_id)
    page.get_by_test_id("ship-order").click()
    _change_behind_its_back(app_db_url, order_id)
    page.get_by_test_id("confirm-ship").click()
    expect(page.get_by_test_id("ship-error")).to_contain_text("changed by someone else")
    with session_scope(app_db_url) as s:
        assert s.get(Order, order_id).shipped_date is None
    _reload_shows_the_change(page, "ship-error")
    page.get_by_test_id("ship-order").click()
    page.get_by_test_id("confirm-ship").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")


def test_cancel_conflict_then_cancel_keeps_the_order_and_returns_stock(page, app_db_url):
    order_id = _create(app_db_url, quantity=2)
    stock = _stock(app_db_url)
    _open(page, order_id)
    page.get_by_test_id("cancel-order").click()
    _change_behind_its_back(app_db_url, order_id)
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("cancel-error")).to_contain_text("changed by someone else")
    _reload_shows_the_change(page, "cancel-error")
    assert _stock(app_db_url) == stock
    page.get_by_test_id("cancel-order").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("order-cancelled")).to_be_visible()
    assert _stock(app_db_url) == stock + 2
    for action in ("edit", "ship", "cancel"):
        expect(page.get_by_test_id(f"{action}-order")).to_be_disabled()
        expect(page.get_by_test_id(f"{action}-unavailable")).to_contain_text("cancelled")
    expect(page.get_by_test_id("delete-order")).to_be_enabled()
    page.goto("/orders?status=cancelled")
    expect(page.get_by_test_id("list-row").filter(has_text=str(order_id))).to_contain_text(
        "Cancelled")


def test_delete_conflict_is_shown_with_a_reload(page, app_db_url):
    order_id = _create(app_db_url)
    _open(page, order_id)
    page.get_by_test_id("delete-order").click()
    _change_behind_its_back(app_db_url, order_id)
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("delete-error")).to_contain_text("changed by someone else")
    _reload_shows_the_change(page, "delete-error")
    page.get_by_test_id("delete-order").click()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(re.compile(r"/orders$"))
    with session_scope(app_db_url) as s:
        assert s.get(Order, order_id) is None


def test_action_on_an_order_deleted_meanwhile_says_so(page, app_db_url):
    order_id = _create(app_db_url)
    _open(page, order_id)
    page.get_by_test_id("ship-order").click()
    write_transaction(lambda s: svc.delete_order(s, order_id, actor=SALES), app_db_url)
    page.get_by_test_id("confirm-ship").click()
    expect(page.get_by_test_id("ship-error")).to_contain_text(
        f"Order {order_id} was deleted by sales on")
    page.get_by_test_id("ship-error").get_by_test_id("reload-order").click()
    expect(page.get_by_test_id("order-not-found")).to_be_visible()


def test_save_conflict_is_shown_with_a_reload(page, app_db_url):
    order_id = _create(app_db_url)
    page.goto(f"/orders/{order_id}/edit")
    expect(page.get_by_test_id("form-line")).to_have_count(1)
    _change_behind_its_back(app_db_url, order_id)
    page.get_by_test_id("form-line").first.get_by_test_id("line-quantity").fill("3")
    page.get_by_test_id("save-order").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("changed by someone else")
    page.get_by_test_id("reload-order").click()
    expect(page.get_by_test_id("form-error")).to_have_count(0)
    expect(page.get_by_test_id("input-freight")).to_have_value("7.00")


def test_saving_an_order_deleted_meanwhile_offers_to_save_it_as_new(page, app_db_url):
    order_id = _create(app_db_url)
    page.goto(f"/orders/{order_id}/edit")
    expect(page.get_by_test_id("form-line")).to_have_count(1)
    write_transaction(lambda s: svc.delete_order(s, order_id, actor=SALES), app_db_url)
    page.get_by_test_id("form-line").first.get_by_test_id("line-quantity").fill("4")
    page.get_by_test_id("save-order").click()
    error = page.get_by_test_id("form-error")
    expect(error).to_contain_text(f"Order {order_id} was deleted by sales on")
    expect(error).to_contain_text("Nothing was saved")
    expect(page.get_by_test_id("back-to-list")).to_be_visible()
    page.get_by_test_id("save-as-new").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    new_id = int(page.url.rstrip("/").split("/")[-1])  # SQLite may reuse the deleted id
    expect(page.get_by_test_id("order-line")).to_contain_text("Chai")
    with session_scope(app_db_url) as s:
        assert svc.get_order(s, new_id).lines[0].quantity == 4


def test_a_shipped_orders_edit_form_says_its_lines_are_frozen(page, app_db_url):
    page.goto("/orders/10250/edit")
    expect(page.get_by_test_id("lines-frozen")).to_contain_text("frozen")
    page.get_by_test_id("form-line").first.get_by_test_id("line-quantity").fill("1")
    page.get_by_test_id("save-order").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("lines are frozen")
    with session_scope(app_db_url) as s:
        assert svc.get_order(s, 10250).version == 1
