"""The keyboard alone: the pickers are comboboxes (WAI-ARIA: role, aria-expanded,
aria-activedescendant, arrows, Home/End, Enter, Escape), Enter in an order-form field
submits the form (in the line picker it picks), and an order is created, edited and shipped
with Tab / Shift+Tab, typing, arrows, Enter and Space only: no click, no focus() call.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order
from northwind_app.services import orders as svc

MAX_TABS = 80


def _focused(page: Page) -> str:
    """The test id of the focused element (or its tag)."""
    return page.evaluate("""() => { const e = document.activeElement;
        return e ? (e.dataset.testid || e.tagName.toLowerCase()) : ''; }""")


def tab_to(page: Page, testid: str, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until the element with `testid` has the focus."""
    for _ in range(MAX_TABS):
        if _focused(page) == testid:
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{testid} never got the focus with the keyboard")


def _type(page: Page, text: str) -> None:
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text, delay=30)


def test_customer_picker_is_a_combobox(page_as, app_db_url):
    with session_scope(app_db_url) as session:  # what "vers" finds (12 at most are shown)
        matches = len(svc.customer_choices(session, "vers", limit=12))
    assert matches >= 2
    page = page_as("sales")
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    box = page.get_by_role("combobox", name="Customer")
    expect(box).to_have_attribute("aria-expanded", "false")
    tab_to(page, "customer-search")
    page.keyboard.type("vers", delay=30)  # Frankenversand and Versailles
    listbox = page.get_by_role("listbox", name="Customer")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", "customer-listbox")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(matches)
    expect(options.filter(has_text="Frankenversand")).to_have_count(1)
    expect(options.filter(has_text="Versailles")).to_have_count(1)
    last = f"customer-option-{matches - 1}"
    expect(options.first).to_have_attribute("aria-selected", "false")

    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "customer-option-0")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(box).to_have_attribute("aria-activedescendant", last)
    expect(options.last).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    page.keyboard.press("ArrowDown")  # stays on the last
    expect(box).to_have_attribute("aria-activedescendant", last)
    page.keyboard.press("Home")
    expect(box).to_have_attribute("aria-activedescendant", "customer-option-0")
    page.keyboard.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", "customer-option-0")

    # Escape closes the list, the text stays; ArrowDown opens it again; a second Escape
    # clears the text.
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_have_count(0)
    expect(box).to_have_value("vers")
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-activedescendant", "customer-option-0")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    expect(box).to_have_value("")
    expect(box).to_have_attribute("aria-expanded", "false")

    # Typed fast, then ArrowDown and Enter at once: the first match is picked.
    page.keyboard.type("Frankenv")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("customer-selected")).to_have_text("Frankenversand (FRANK)")
    expect(page.get_by_test_id("input-ship_name")).to_have_value("Frankenversand")
    expect(box).to_have_value("")
    assert "/orders/new" in page.url  # Enter picked; it did not submit the form

    # The mouse still picks.
    box.fill("Versailles")
    page.get_by_role("option", name=re.compile("La corne")).click()
    expect(page.get_by_test_id("customer-selected")).to_contain_text("(LACOR)")


def test_enter_in_a_field_submits_but_picks_in_the_line_picker(page_as):
    page = page_as("sales")
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    tab_to(page, "product-search")
    page.keyboard.type("Chai", delay=30)
    expect(page.get_by_test_id("product-option")).not_to_have_count(0)
    page.keyboard.press("Enter")  # no option active: the line picker's Enter does nothing
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("form-line")).to_have_count(1)
    expect(page.get_by_test_id("form-error")).to_have_count(0)  # not submitted
    # Enter in a field submits: no customer yet, so the save is refused next to the picker.
    tab_to(page, "input-freight", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("customer-error")).to_be_visible()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    assert "/orders/new" in page.url


def test_create_edit_and_ship_an_order_with_the_keyboard_alone(page_as, app_db_url):
    page = page_as("sales")
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")

    # Create: customer and product through their pickers, the quantity typed, Enter.
    tab_to(page, "customer-search")
    page.keyboard.type("Frankenv", delay=30)
    expect(page.get_by_test_id("customer-option")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("customer-selected")).to_have_text("Frankenversand (FRANK)")
    tab_to(page, "input-ship_via")  # a select: Space opens it, arrows choose, Enter takes
    page.keyboard.press("Space")
    expect(page.get_by_role("listbox")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("input-ship_via")).not_to_have_text("Choose later")
    tab_to(page, "product-search")
    page.keyboard.type("Chang", delay=30)
    expect(page.get_by_test_id("product-option")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("form-line")).to_have_count(1)
    tab_to(page, "line-quantity", backwards=True)
    _type(page, "4")
    expect(page.get_by_test_id("form-subtotal")).to_have_text("$76.00")  # 4 × 19.00
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    order_id = int(page.url.rstrip("/").split("/")[-1])
    expect(page.get_by_test_id("order-line")).to_have_count(1)

    # Edit: the Edit link (one tab stop), the freight typed, Enter.
    tab_to(page, "edit-order")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/orders/{order_id}/edit$"))
    expect(page.get_by_test_id("input-freight")).to_be_visible()
    tab_to(page, "input-freight")
    _type(page, "12.50")
    expect(page.get_by_test_id("form-freight")).to_have_text("$12.50")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("form-error")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/orders/{order_id}$"))
    expect(page.get_by_test_id("order-total")).to_have_text("$88.50")

    # Ship: the button with Space, the dialog's fields with Tab, confirm with Enter.
    tab_to(page, "ship-order")
    page.keyboard.press("Space")
    expect(page.get_by_role("dialog")).to_be_visible()
    tab_to(page, "confirm-ship")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_test_id("order-status")).to_contain_text(re.compile("shipped", re.I))
    with session_scope(app_db_url) as session:
        order = session.execute(select(Order).where(Order.order_id == order_id)).scalar_one()
        assert order.customer_id == "FRANK" and order.shipped_date is not None
