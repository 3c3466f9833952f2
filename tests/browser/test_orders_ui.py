"""Order screens in Chromium against the running production app (classic data).

Tests that change data use customers the read-only tests do not look at (VINET, TOMSP and
HANAR are only read).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order, Product
from northwind_app.ui.format import date_text


def _stock(url: str, product_id: int) -> int:
    with session_scope(url) as s:
        return s.get(Product, product_id).units_in_stock


def _order_count(url: str) -> int:
    with session_scope(url) as s:
        return s.execute(select(func.count()).select_from(Order)).scalar_one()


def _pick(page: Page, testid: str, text: str, option: str) -> None:
    page.get_by_test_id(f"{testid}-search").fill(text)
    page.get_by_test_id(f"{testid}-option").filter(has_text=option).first.click()


def _choose(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


class HeldSocket:
    """The page's event websocket through a relay that can hold the server's messages back
    (as a slow server would) and then deliver them in order."""

    def __init__(self, page: Page):
        self.held: list = []
        self.holding = False
        self.page_side = None
        page.route_web_socket(re.compile(r"/_event"), self._relay)

    def _relay(self, ws) -> None:
        server = ws.connect_to_server()
        self.page_side = ws
        server.on_message(lambda message: self.held.append(message) if self.holding
                          else ws.send(message))

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            self.page_side.send(message)
        self.held.clear()


def _new_order(page: Page, customer: str, customer_id: str, lines: list[tuple[str, str]]) -> None:
    page.goto("/orders/new")
    expect(page.get_by_test_id("form-heading")).to_have_text("New order")
    _pick(page, "customer", customer, f"({customer_id})")
    expect(page.get_by_test_id("customer-selected")).to_contain_text(customer_id)
    expect(page.get_by_test_id("input-ship_name")).not_to_have_value("")
    _choose(page, "input-employee_id", "Nancy Davolio")
    _choose(page, "input-ship_via", "Speedy Express")
    page.get_by_test_id("input-freight").fill("10.50")
    for index, (product, quantity) in enumerate(lines):
        _pick(page, "product", product, product)
        row = page.get_by_test_id("form-line").nth(index)
        expect(row).to_contain_text(product)
        row.get_by_test_id("line-quantity").fill(quantity)


def _save_and_get_id(page: Page) -> int:
    page.get_by_test_id("save-order").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    return int(page.url.rstrip("/").split("/")[-1])


def test_create_order_with_two_lines_and_find_it_in_the_list(page, app_db_url):
    chai, chang = _stock(app_db_url, 1), _stock(app_db_url, 2)
    _new_order(page, "Around", "AROUT", [("Chai", "3"), ("Chang", "2")])
    # Live totals: 3 × 18.00 + 2 × 19.00 = 92.00; + 10.50 freight.
    expect(page.get_by_test_id("form-subtotal")).to_have_text("$92.00")
    expect(page.get_by_test_id("form-total")).to_have_text("$102.50")
    order_id = _save_and_get_id(page)
    expect(page.get_by_test_id("order-total")).to_have_text("$102.50")
    expect(page.get_by_test_id("order-line")).to_have_count(2)
    assert (_stock(app_db_url, 1), _stock(app_db_url, 2)) == (chai - 3, chang - 2)

    page.goto(f"/orders?q={order_id}")
    row = page.get_by_test_id("list-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Around the Horn")
    expect(row).to_contain_text("$102.50")
    expect(row).to_contain_text("New")


def test_edit_quantity_changes_totals_and_stock(page, app_db_url):
    _new_order(page, "Berglunds", "BERGS", [("Chai", "2")])
    order_id = _save_and_get_id(page)
    before = _stock(app_db_url, 1)
    page.get_by_test_id("edit-order").click()
    page.wait_for_url(re.compile(rf"/orders/{order_id}/edit$"))
    line = page.get_by_test_id("form-line").first
    expect(line.get_by_test_id("line-quantity")).to_have_value("2")
    line.get_by_test_id("line-quantity").fill("5")
    line.get_by_test_id("line-discount").fill("10")
    # 5 × 18.00 × 0.9 = 81.00
    expect(line.get_by_test_id("line-total")).to_have_text("$81.00")
    expect(page.get_by_test_id("form-total")).to_have_text("$91.50")
    page.get_by_test_id("save-order").click()
    page.wait_for_url(re.compile(rf"/orders/{order_id}$"))
    expect(page.get_by_test_id("order-total")).to_have_text("$91.50")
    assert _stock(app_db_url, 1) == before - 3


def test_validation_error_next_to_field_and_nothing_saved(page, app_db_url):
    count = _order_count(app_db_url)
    _new_order(page, "Blauer", "BLAUS", [("Chai", "0")])
    page.get_by_test_id("input-required_date").fill("2000-01-01")
    page.get_by_test_id("input-order_date").fill("2020-01-01")
    page.get_by_test_id("save-order").click()
    expect(page.get_by_test_id("line-error-quantity")).to_contain_text("at least 1")
    expect(page.get_by_test_id("error-required_date")).to_contain_text("before the order date")
    expect(page.get_by_test_id("form-error")).to_contain_text("nothing was saved")
    assert "/orders/new" in page.url
    assert _order_count(app_db_url) == count


def test_stock_shortage_is_refused_with_product_and_available(page, app_db_url):
    count = _order_count(app_db_url)
    available = _stock(app_db_url, 2)
    _new_order(page, "Bólido", "BOLID", [("Chang", str(available + 1))])
    page.get_by_test_id("save-order").click()
    expect(page.get_by_test_id("line-error-quantity")).to_have_text(
        f"Chang: {available + 1} asked, {available} in stock, 1 missing")
    assert _order_count(app_db_url) == count and _stock(app_db_url, 2) == available


def test_same_product_twice_is_refused(page):
    _new_order(page, "Bon app", "BONAP", [("Chai", "1")])
    _pick(page, "product", "Chai", "Chai")
    expect(page.get_by_test_id("product-message")).to_contain_text("already on line 1")
    expect(page.get_by_test_id("form-line")).to_have_count(1)


def test_mark_shipped_then_the_order_is_frozen(page, app_db_url):
    _new_order(page, "Bottom", "BOTTM", [("Chai", "1")])
    order_id = _save_and_get_id(page)
    expect(page.get_by_test_id("order-status")).to_have_text("New")
    page.get_by_test_id("ship-order").click()
    # Shipping records what has happened: tomorrow is refused, saying so, in the dialog.
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    page.get_by_test_id("ship-date").fill(tomorrow.isoformat())
    page.get_by_test_id("confirm-ship").click()
    expect(page.get_by_test_id("ship-date-error")).to_contain_text("server's date")
    shipped = dt.date.today()
    page.get_by_test_id("ship-date").fill(shipped.isoformat())
    page.get_by_test_id("confirm-ship").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("order-shipped")).to_have_text(date_text(shipped))
    expect(page.get_by_test_id("ship-order")).to_be_disabled()
    # A shipped order cannot be deleted or cancelled; the page says why.
    expect(page.get_by_test_id("delete-order")).to_be_disabled()
    expect(page.get_by_test_id("cancel-order")).to_be_disabled()
    expect(page.get_by_test_id("delete-unavailable")).to_contain_text("goods have left")
    expect(page.get_by_test_id("cancel-unavailable")).to_contain_text("goods have left")
    with session_scope(app_db_url) as s:
        assert s.get(Order, order_id) is not None


def test_search_filter_sort_paginate_and_reload(page):
    page.goto("/orders")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    page.get_by_test_id("list-search").fill("vinet")
    expect(page.get_by_test_id("list-range")).to_have_text("Rows 1–5 of 5")
    expect(page).to_have_url(re.compile(r"q=vinet"))
    page.get_by_test_id("clear-filters").first.click()
    expect(page.get_by_test_id("list-range")).to_contain_text("of 8")  # 830+ orders

    page.get_by_test_id("sort-total").click()
    expect(page).to_have_url(re.compile(r"sort=total"))
    page.get_by_test_id("sort-total").click()
    expect(page).to_have_url(re.compile(r"sort=-total"))
    expect(page.get_by_test_id("list-row").first).to_contain_text("10865")  # the largest order

    page.get_by_label("Next page").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 26–50")
    second_page_first = page.get_by_test_id("list-row").first.text_content()

    page.reload()
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 26–50")
    expect(page.get_by_test_id("list-row").first).to_have_text(second_page_first)

    page.go_back()
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 1–25")
    expect(page.get_by_test_id("list-row").first).to_contain_text("10865")

    page.goto("/orders?status=late&customer_id=HANAR&sort=order_date")
    expect(page.get_by_test_id("list-row")).to_have_count(0)
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    page.goto("/orders?customer_id=HANAR&sort=order_date")
    rows = page.get_by_test_id("list-row")
    expect(rows).to_have_count(14)
    expect(rows.first).to_contain_text("10250")
    _choose(page, "filter-employee_id", "Margaret Peacock")
    expect(page).to_have_url(re.compile(r"employee_id=4"))
    expect(page.get_by_test_id("list-row")).to_have_count(3)


def test_filters_page_size_and_clear_edit_the_address(page):
    """Filters, the page size and "Clear filters" navigate from the address itself: the
    first page of the new view, the other parameters kept; "All" and an empty box remove
    their parameter."""
    page.goto("/orders?sort=order_id&page=3")
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 51–75")
    _choose(page, "filter-status", "Shipped")
    expect(page).to_have_url(re.compile(r"/orders\?sort=order_id&status=shipped$"))
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 1–25")

    page.get_by_test_id("filter-customer_id").fill("  hanar ")
    expect(page).to_have_url(re.compile(r"status=shipped&customer_id=HANAR$"))
    expect(page.get_by_test_id("list-row").first).to_contain_text("Hanari")
    page.get_by_test_id("filter-customer_id").fill("")
    expect(page).to_have_url(re.compile(r"/orders\?sort=order_id&status=shipped$"))

    _choose(page, "page-size", "50")
    expect(page).to_have_url(re.compile(r"size=50"))
    expect(page.get_by_test_id("list-row")).to_have_count(50)
    _choose(page, "filter-status", "All")
    expect(page).to_have_url(re.compile(r"/orders\?sort=order_id&size=50$"))

    page.get_by_test_id("list-search").fill("berg")
    expect(page).to_have_url(re.compile(r"q=berg"))
    page.get_by_test_id("clear-filters").first.click()
    expect(page).to_have_url(re.compile(r"/orders\?sort=order_id&size=50$"))
    expect(page.get_by_test_id("list-row")).to_have_count(50)
    expect(page.get_by_test_id("list-row").first).to_contain_text("10248")


def test_quick_second_clicks_build_on_the_first(page):
    """A second click before the server has answered the first (here: its messages held
    back): the header and the pager read the address the first click went to, not the state,
    which has not heard of it yet."""
    socket = HeldSocket(page)
    page.goto("/orders")
    expect(page.get_by_test_id("list-row")).to_have_count(25)

    socket.hold()
    header = page.get_by_test_id("sort-total")
    header.click()
    expect(page).to_have_url(re.compile(r"sort=total"))
    header.click()
    expect(page).to_have_url(re.compile(r"sort=-total"))
    next_page = page.get_by_label("Next page")
    next_page.click()
    expect(page).to_have_url(re.compile(r"page=2"))
    next_page.click()
    expect(page).to_have_url(re.compile(r"page=3"))
    socket.release()

    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 51–75")
    assert "sort=-total" in page.url


def test_list_changes_are_history_entries_and_navigations_dim_the_table(page):
    """The list's controls change the address without a router navigation: each change is a
    history entry that back and forward restore; the sidebar link and an order's link still
    navigate. A navigation dims the table at once, before the server has answered (here:
    its messages held back), and the rows come with the answer."""
    socket = HeldSocket(page)
    page.goto("/orders?sort=order_id")
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 1–25")
    table = page.get_by_test_id("list-table")
    expect(table).to_have_attribute("data-loading", "false")
    expect(page.get_by_test_id("nav-orders")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("nav-customers")).not_to_have_attribute("aria-current", "page")
    for rows in ("Rows 26–50", "Rows 51–75"):
        page.get_by_label("Next page").click()
        expect(page.get_by_test_id("list-range")).to_contain_text(rows)
    expect(page.get_by_test_id("list-row").first).to_contain_text("10298")

    expect(table).to_have_attribute("data-view", "sort=order_id&page=3")  # the rows' view
    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=order_id&page=2$"))
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 26–50")
    expect(table).to_have_attribute("data-view", "sort=order_id&page=2")
    expect(page.get_by_test_id("list-row").first).to_contain_text("10273")
    page.go_forward()
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 51–75")

    socket.hold()
    page.go_back()
    expect(table).to_have_attribute("data-loading", "true")
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 51–75")  # not yet
    socket.release()
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 26–50")
    expect(table).to_have_attribute("data-loading", "false")

    page.get_by_test_id("list-row").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("order-heading")).to_contain_text("10273")
    expect(page.get_by_test_id("nav-orders")).to_have_attribute("aria-current", "page")
    page.get_by_test_id("nav-orders").click()
    expect(page).to_have_url(re.compile(r"/orders$"))
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 1–25")


def test_page_size_and_last_page(page):
    page.goto("/orders?sort=order_id&size=100")
    expect(page.get_by_test_id("list-row")).to_have_count(100)
    page.get_by_label("Last page").click()
    expect(page.get_by_test_id("list-range")).to_contain_text("Rows 801–")


def test_invalid_url_values_show_an_error(page):
    page.goto("/orders?date_from=notadate")
    expect(page.get_by_test_id("filter-error-date_from")).to_have_text(
        "Must be a date (YYYY-MM-DD).")


def test_invoice_page(page):
    page.goto("/orders/10248/invoice")
    invoice = page.get_by_test_id("invoice")
    expect(invoice).to_contain_text("Invoice")
    expect(invoice).to_contain_text("Vins et alcools Chevalier")
    expect(page.get_by_test_id("order-line")).to_have_count(3)
    expect(page.get_by_test_id("order-subtotal")).to_have_text("$440.00")
    expect(page.get_by_test_id("order-total")).to_have_text("$472.38")
    expect(page.get_by_test_id("nav-orders")).to_have_count(0)  # no app shell on the invoice


def test_order_to_its_customer_and_back(page):
    page.goto("/orders/10248")
    expect(page.get_by_test_id("order-total")).to_have_text("$472.38")
    page.get_by_test_id("order-customer").click()
    expect(page).to_have_url(re.compile(r"/customers/VINET$"))
    expect(page.get_by_test_id("record-heading")).to_contain_text("Vins et alcools Chevalier")
    expect(page.get_by_test_id("list-row")).to_have_count(5)
    page.get_by_test_id("list-row").filter(has_text="10248").get_by_role("link", name="10248").click()
    expect(page).to_have_url(re.compile(r"/orders/10248$"))
    expect(page.get_by_test_id("order-total")).to_have_text("$472.38")


# Every element's backdrop filter, pseudo-elements included (Radix Themes draws a card's panel
# in its ::before).
_BACKDROP_FILTERS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const pseudo of [null, '::before', '::after']) {
      const filter = getComputedStyle(el, pseudo).backdropFilter;
      if (filter && filter !== 'none') found.push(`${el.className}${pseudo || ''}: ${filter}`);
    }
  }
  return found;
}"""


def test_panels_blur_nothing_behind_them(page):
    # A translucent panel blurs what is behind it on every frame: without a GPU the browser
    # took ~45 ms to draw each frame of the orders screen (bench/README.md, optimisation notes).
    page.goto("/orders")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    assert page.evaluate(_BACKDROP_FILTERS) == []
    page.goto("/orders/10248")
    expect(page.get_by_test_id("order-total")).to_have_text("$472.38")
    assert page.evaluate(_BACKDROP_FILTERS) == []


def test_unknown_order_is_not_found(page):
    page.goto("/orders/99999999")
    expect(page.get_by_test_id("order-not-found")).to_be_visible()
    page.goto("/orders/99999999/edit")
    expect(page.get_by_test_id("order-not-found")).to_be_visible()


def test_csv_export_of_filtered_sorted_list(page):
    page.goto("/orders?customer_id=VINET&sort=order_id")
    expect(page.get_by_test_id("list-row")).to_have_count(5)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    content = open(info.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["order_id"] for r in rows] == ["10248", "10274", "10295", "10737", "10739"]
    assert rows[0]["customer_id"] == "VINET" and Decimal(rows[0]["total"]) == Decimal("472.38")


def test_back_to_a_list_costs_no_client_storage_event_and_no_unchanged_rows(page):
    """The session cookie is read from the websocket's handshake, not kept in Reflex's
    client storage, so a navigation costs no extra server event to send it; and back to a
    list whose rows have not changed gets no rows from the server (nothing to render)."""
    sent: list[str] = []
    received: list[str] = []

    def text(payload) -> str:
        return payload if isinstance(payload, str) else payload.decode(errors="replace")

    def watch(ws) -> None:
        ws.on("framesent", lambda payload: sent.append(text(payload)))
        ws.on("framereceived", lambda payload: received.append(text(payload)))

    page.on("websocket", watch)
    page.goto("/orders")
    expect(page.get_by_test_id("list-row").first).to_be_visible()
    assert any('"rows_rx_state_"' in frame for frame in received)
    page.get_by_test_id("list-row").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("order-heading")).to_be_visible()
    sent.clear()
    received.clear()
    page.go_back()
    expect(page.get_by_test_id("list-table")).to_have_attribute("data-loading", "false")
    expect(page.get_by_test_id("list-row")).to_have_count(25)
    page.wait_for_timeout(500)  # let the navigation's last server event finish
    events = [frame for frame in sent if "event" in frame]
    assert any("on_load_internal" in frame for frame in events), events
    assert not [frame for frame in events if "update_vars_internal" in frame], events
    assert received and not [frame for frame in received if '"rows_rx_state_"' in frame]
