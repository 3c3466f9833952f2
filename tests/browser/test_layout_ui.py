"""Every screen at a phone's, a laptop's and a desktop's width (390, 1280 and 1920 px), in
Chromium on the shared server (classic data, signed in as the demo admin).

For each screen and width: nothing sticks out of the viewport sideways (the page never
scrolls sideways) except inside a deliberately scrollable table box (`data-scroll-x`, the
tables' own scroll areas) or a box that clips its text (a select's ellipsis), and no KPI
value or heading is cut (its scrollWidth fits its
clientWidth). A full-page screenshot of each is kept under `NORTHWIND_ARTIFACTS` (default
`test-artifacts/` in the project, git-ignored): `layout/<width>/<screen>.png`.

Beside that sweep: the phone's navigation drawer (keyboard, Escape, focus), forms one field
per row on a phone, the orders list's key columns in view at 1280 px, the column chooser
remembered per user, the lists embedded in detail pages, the dashboard's axes and its
partial month.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from northwind_app.settings import PROJECT_ROOT
from tests.browser.conftest import TIMEOUT_MS, session_cookie

WIDTHS = (390, 1280, 1920)
HEIGHT = {390: 844}  # a phone's; 900 for the others

# (screen name, path): every screen of the app.
SCREENS = [
    ("dashboard", "/"),
    ("orders", "/orders"),
    ("order-detail", "/orders/10248"),
    ("order-new", "/orders/new"),
    ("order-edit", "/orders/11077/edit"),
    ("invoice", "/orders/10248/invoice"),
    ("customers", "/customers"),
    ("customer-detail", "/customers/ALFKI"),
    ("customer-new", "/customers/new"),
    ("customer-edit", "/customers/ALFKI/edit"),
    ("products", "/products"),
    ("product-detail", "/products/1"),
    ("product-new", "/products/new"),
    ("product-edit", "/products/1/edit"),
    ("employees", "/employees"),
    ("employee-detail", "/employees/4"),
    ("suppliers", "/suppliers"),
    ("supplier-detail", "/suppliers/1"),
    ("shippers", "/shippers"),
    ("shipper-detail", "/shippers/2"),
    ("categories", "/categories"),
    ("category-detail", "/categories/1"),
    ("audit", "/audit"),
    ("users", "/users"),
    ("user-new", "/users/new"),
    ("user-detail", "/users/1"),
    ("account", "/account"),
]

# Every element's box against the viewport, outside the deliberately scrollable boxes; and
# every KPI value and heading whose text is wider than its box. Returns descriptions.
CHECK_LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const name = (el) => {
    const id = el.getAttribute('data-testid');
    const cls = typeof el.className === 'string' ? el.className.split(' ').slice(0, 2).join('.') : '';
    return el.tagName.toLowerCase() + (id ? `[data-testid=${id}]` : '') + (cls ? '.' + cls : '')
      + ` "${(el.textContent || '').trim().slice(0, 30)}"`;
  };
  // Inside a deliberately scrollable box, or one that clips what it holds (a select's text
  // cut with an ellipsis), an element cannot stick out of the page: the box itself is checked.
  const scroller = '[data-scroll-x], .rt-ScrollAreaViewport';
  const contained = new Map();
  const inside = (el) => {
    if (!el || el === document.body) return false;
    if (!contained.has(el)) {
      const overflow = getComputedStyle(el).overflowX;
      contained.set(el, overflow === 'hidden' || overflow === 'clip' || el.matches(scroller)
                        || inside(el.parentElement));
    }
    return contained.get(el);
  };
  const problems = [];
  if (document.documentElement.scrollWidth > width + 1)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  const title = document.querySelector('[data-testid=page-title], [data-testid=invoice]');
  if (title && inside(title.parentElement))
    problems.push('the page is inside a box that clips or scrolls: nothing would be seen to overflow');
  for (const el of document.body.querySelectorAll('*')) {
    if (inside(el.parentElement)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1)
      problems.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
  }
  for (const el of document.querySelectorAll('[data-testid^="kpi-"], h1, h2, h3, h4, h5, h6, .rt-Heading')) {
    if (el.closest('.nw-sr-only') || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      problems.push(`${name(el)} is cut: ${el.scrollWidth} > ${el.clientWidth}`);
  }
  return problems.slice(0, 15);
}"""

# Settled: the page's title (or the login form, the invoice) is there and nothing is loading.
SETTLED = """() => !!document.querySelector(
    '[data-testid=page-title], [data-testid=login-submit], [data-testid=invoice]')
  && !document.querySelector('.rt-Spinner, .rt-Skeleton, [data-loading=true]')"""


def _artifacts() -> Path:
    folder = Path(os.environ.get("NORTHWIND_ARTIFACTS") or PROJECT_ROOT / "test-artifacts")
    return folder / "layout"


@pytest.fixture
def page_at(browser, app_url, app_db_url):
    """page_at(width, username) → a page in a browser context of that viewport width."""
    contexts = []

    def make(width: int, username: str | None = "admin") -> Page:
        context = browser.new_context(base_url=app_url,
                                      viewport={"width": width, "height": HEIGHT.get(width, 900)})
        context.set_default_timeout(TIMEOUT_MS)
        if username:
            context.add_cookies([session_cookie(app_db_url, app_url, username)])
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _settle(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_function(SETTLED, timeout=3 * TIMEOUT_MS)
    # Charts draw (and animate) after their data: the dashboard's take a moment.
    page.wait_for_timeout(1600 if path == "/" else 300)


def _check(page: Page, width: int, name: str) -> list[str]:
    folder = _artifacts() / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    return [f"{name} at {width}px: {problem}" for problem in page.evaluate(CHECK_LAYOUT)]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_screen_fits_the_width(page_at, width):
    """One browser context per width: every screen, then the login page signed out."""
    page = page_at(width)
    problems = []
    for name, path in SCREENS:
        _settle(page, path)
        problems += _check(page, width, name)
    page.context.clear_cookies()
    _settle(page, "/login")
    problems += _check(page, width, "login")
    assert problems == [], "\n".join(problems)


def test_phone_navigation_is_a_drawer_behind_the_menu_button(page_at):
    page = page_at(390)
    _settle(page, "/orders")
    expect(page.get_by_test_id("sidebar")).to_be_hidden()
    button = page.get_by_test_id("menu-button")
    expect(button).to_be_visible()
    # The keyboard opens it, the focus goes in, Escape closes it and gives the focus back.
    button.focus()
    page.keyboard.press("Enter")
    drawer = page.get_by_test_id("nav-drawer")
    expect(drawer).to_be_visible()
    assert page.evaluate("() => !!document.activeElement.closest('[data-testid=nav-drawer]')")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(button).to_be_focused()
    # A link goes to its screen and closes the drawer.
    button.click()
    expect(page.get_by_test_id("drawer-nav-users")).to_be_visible()  # admin links too
    page.get_by_test_id("drawer-nav-customers").click()
    expect(page).to_have_url(re.compile(r"/customers$"))
    expect(drawer).to_be_hidden()
    expect(page.get_by_test_id("page-title")).to_have_text("Customers")
    # On a laptop the sidebar is back and the button gone.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_test_id("sidebar")).to_be_visible()
    expect(button).to_be_hidden()


@pytest.mark.parametrize("path", ["/orders/new", "/customers/new", "/products/1/edit",
                                  "/users/new"])
def test_phone_forms_have_one_field_per_row(page_at, path):
    """Each field is as wide as the form and below the one before: no two fields' boxes (their
    labels above them included) share a row."""
    page = page_at(390)
    _settle(page, path)
    boxes = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid^="input-"]')].filter((el) => el.offsetParent).map((el) => {
          const field = el.closest('.rt-Grid > *') || el;
          const r = field.getBoundingClientRect();
          return [el.getAttribute('data-testid'), r.left, r.top, r.right, r.bottom];
        })""")
    assert len(boxes) >= 3, boxes
    for index, (name, left, top, right, bottom) in enumerate(boxes):
        assert right - left > 0.75 * 390 - 40, f"{name} is {right - left:.0f} px wide"
        for other, _, other_top, _, other_bottom in boxes[index + 1:]:
            assert other_top >= bottom - 1 or other_bottom <= top + 1, f"{name} beside {other}"


def test_orders_key_columns_are_in_view_at_1280(page_at):
    page = page_at(1280)
    _settle(page, "/orders")
    for label in ("Order", "Ordered", "Customer", "Status", "Total"):
        header = page.get_by_role("columnheader", name=label, exact=True)
        box = header.bounding_box()
        scroller = page.evaluate("""(label) => {
            const th = [...document.querySelectorAll('th')].find(
                (el) => el.textContent.trim() === label);
            const r = th.closest('.rt-ScrollAreaViewport').getBoundingClientRect();
            return [r.left, r.right];
        }""", label)
        assert box["x"] >= scroller[0] - 1 and box["x"] + box["width"] <= scroller[1] + 1, label
        assert box["x"] + box["width"] <= 1280, label


def test_column_chooser_is_remembered_per_user(page_at):
    admin = page_at(1280)
    _settle(admin, "/orders")
    employee = admin.get_by_role("columnheader", name="Employee", exact=True)
    expect(employee).to_be_visible()
    admin.get_by_test_id("column-chooser").click()
    toggle = admin.get_by_test_id("column-toggle-employee")
    expect(toggle).to_be_checked()
    expect(admin.get_by_test_id("column-toggle-order_id")).to_have_count(0)  # the first stays
    toggle.click()
    expect(employee).to_be_hidden()
    expect(admin.locator("td.nw-col-employee").first).to_be_hidden()
    admin.keyboard.press("Escape")
    # Kept with the user: a new page (a new tab, the same user) shows the list without it.
    again = admin.context.new_page()
    _settle(again, "/orders")
    expect(again.get_by_role("columnheader", name="Total", exact=True)).to_be_visible()
    expect(again.get_by_role("columnheader", name="Employee", exact=True)).to_be_hidden()
    # Another user's list, and the same user's other lists, are as they were.
    sales = page_at(1280, "sales")
    _settle(sales, "/orders")
    expect(sales.get_by_role("columnheader", name="Employee", exact=True)).to_be_visible()
    _settle(again, "/products/1")
    expect(again.get_by_role("columnheader", name="Employee", exact=True)).to_be_visible()
    # Shown again.
    _settle(again, "/orders")
    again.get_by_test_id("column-chooser").click()
    again.get_by_test_id("column-toggle-employee").click()
    expect(again.get_by_role("columnheader", name="Employee", exact=True)).to_be_visible()
    again.keyboard.press("Escape")
    _settle(again, "/orders")
    expect(again.get_by_role("columnheader", name="Employee", exact=True)).to_be_visible()


@pytest.mark.parametrize(("path", "dropped"), [
    ("/customers/ALFKI", "Customer"), ("/employees/4", "Employee"), ("/shippers/2", "Shipper"),
    ("/products/1", None)])
def test_embedded_order_lists_show_total_not_the_pages_own_column(page_at, path, dropped):
    page = page_at(1280)
    _settle(page, path)
    headers = page.get_by_test_id("list-table").first.get_by_role("columnheader")
    texts = [text.strip() for text in headers.all_inner_texts()]
    assert "Total" in texts
    assert dropped is None or dropped not in texts
    if dropped is None:
        assert "Customer" in texts
    total = page.get_by_role("columnheader", name="Total", exact=True).first.bounding_box()
    assert total["x"] + total["width"] <= 1280


def test_dashboard_axes_and_partial_month(page_at, app_db_url):
    """The revenue axis reads as money in the user's format, grouped; the month the data ends
    in (May 1998 in the classic data, until other tests add today's orders) is the month so
    far."""
    from northwind_app.db.engine import session_scope
    from northwind_app.services import dashboard as dash

    with session_scope(app_db_url) as s:
        _, last = dash.data_bounds(s)
    page = page_at(1280)
    _settle(page, "/")
    chart = page.get_by_test_id("chart-months")
    ticks = chart.locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value")
    expect(ticks.first).to_be_attached()
    texts = ticks.evaluate_all("(els) => els.map((el) => el.textContent)")
    money = [text for text in texts if text.startswith("$")]
    assert "$0" in money and any("," in text for text in money), texts
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*", text) for text in money), texts
    assert "$125,000" in money or last.year > 1998, texts  # the classic data's top month
    assert dash.is_partial_month(last.replace(day=1), last), last
    expect(page.get_by_test_id("partial-month-note")).to_have_text(
        re.compile(rf"^{last:%Y-%m} is the month so far: orders up to "))
    # The second bar series, the month so far, has the one bar.
    expect(chart.locator(".recharts-bar").nth(1).locator(".recharts-bar-rectangle")).to_have_count(1)


def _within_screen(page: Page, locator, width: int = 390) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_phone_dialogs_and_popovers_fit_the_screen(page_at):
    page = page_at(390)
    _settle(page, "/orders/11077")  # not shipped: it may be shipped, cancelled, deleted
    page.get_by_test_id("ship-order").click()
    _within_screen(page, page.get_by_role("dialog"))
    expect(page.get_by_test_id("confirm-ship")).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_test_id("delete-order").click()
    _within_screen(page, page.get_by_role("alertdialog"))
    page.keyboard.press("Escape")
    _settle(page, "/orders")
    page.get_by_test_id("column-chooser").click()
    _within_screen(page, page.get_by_test_id("column-chooser-panel"))
