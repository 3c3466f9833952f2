"""The command palette: Ctrl-K (Cmd-K), or the header's Search button, opens a dialog whose
search finds any order by id, customer by id or name, product by id or name, and the app's
pages; the results are a listbox (ArrowUp/Down or Home/End move, Enter opens, Escape closes:
the keys are handled by ui/shortcuts.py's listener, the dialog's Escape by Radix).

The search is the service's (services/palette.py: what the user's role may read), reached
through ui/backend.py, debounced in the browser; the newest search supersedes an unfinished
older one. The state's helpers are private: every public method is an event handler any
websocket may call with any payload, so each checks what it is given.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from northwind_app.money import format_money
from northwind_app.services import palette
from northwind_app.services.auth import Permission
from northwind_app.services.errors import ServiceError
from northwind_app.services.palette import Destination, Hit
from northwind_app.ui import backend
from northwind_app.ui.auth import actor_of
from northwind_app.ui.format import date_text

INPUT_ID = "nw-palette-input"
LISTBOX_ID = "nw-palette-listbox"
OPTION_ID = "nw-palette-option-"

# The pages the palette offers (with words they also answer to, and who may open them).
DESTINATIONS: tuple[Destination, ...] = (
    Destination("Dashboard", "/", "home sales revenue kpi"),
    Destination("Orders", "/orders", "list sales"),
    Destination("New order", "/orders/new", "create add", Permission.WRITE_ORDERS),
    Destination("Customers", "/customers", "clients list"),
    Destination("New customer", "/customers/new", "create add client",
                Permission.WRITE_RECORDS),
    Destination("Products", "/products", "catalog stock list"),
    Destination("New product", "/products/new", "create add", Permission.WRITE_RECORDS),
    Destination("Employees", "/employees", "staff"),
    Destination("Suppliers", "/suppliers", "vendors"),
    Destination("Categories", "/categories", ""),
    Destination("Shippers", "/shippers", "carriers"),
    Destination("Account and API tokens", "/account", "password profile settings format"),
    Destination("Users", "/users", "accounts admin roles", Permission.MANAGE_USERS),
    Destination("New user", "/users/new", "create add account", Permission.MANAGE_USERS),
    Destination("Audit trail", "/audit", "history log changes", Permission.VIEW_AUDIT),
)
KIND_LABELS = {"order": "Order", "customer": "Customer", "product": "Product", "page": "Page"}
FAILED = "The search failed. Try again."


def _href(hit: Hit) -> str:
    return hit.key if hit.kind == "page" else f"/{hit.kind}s/{hit.key}"


def _result(hit: Hit) -> dict[str, str]:
    """A hit as the dialog shows it (money and dates in the user's format)."""
    detail = hit.detail
    if hit.kind == "order":
        detail = " · ".join(x for x in (detail, date_text(hit.date),
                                        format_money(hit.amount)) if x)
    elif hit.kind == "product" and hit.amount is not None:
        detail = f"{format_money(hit.amount)} · {detail}"
    return {"kind": KIND_LABELS[hit.kind], "label": hit.label, "detail": detail,
            "href": _href(hit)}


class PaletteState(rx.State):
    open: bool = False
    query: str = ""
    results: list[dict[str, str]] = []
    active: int = 0
    message: str = ""

    @rx.event
    async def toggle(self):
        """Ctrl-K, the header's button: open the palette (with the pages), or close it."""
        if self.open:
            self._close()
            return
        self.open, self.query, self.results, self.active, self.message = True, "", [], 0, ""
        yield
        await self._search("")

    @rx.event
    def set_open(self, value: bool):
        """The dialog's own open/close (Escape, a click outside)."""
        if value is not True:
            self._close()

    def _close(self) -> None:
        self.open, self.query, self.results, self.active, self.message = False, "", [], 0, ""

    @rx.event(supersedes=True)  # a newer text cancels an unfinished older search
    async def search(self, text: str):
        if not self.open or not isinstance(text, str):
            return
        self.query = text[:palette.MAX_SEARCH + 1]
        await self._search(text)

    async def _search(self, text: str) -> None:
        try:
            actor = await actor_of(self)
            hits = await backend.read(self, palette.palette_search, actor, text, DESTINATIONS)
        except backend.ServerProblem:  # logged, or the outage banner raised
            self.results, self.active, self.message = [], 0, FAILED
            return
        except ServiceError as exc:  # a text the service refuses (too long)
            self.results, self.active = [], 0
            self.message = ("The search " + "; ".join(exc.fields.values()) if exc.fields
                            else exc.message)
            return
        self.results = [_result(hit) for hit in hits]
        self.active, self.message = 0, ""

    @rx.event
    def move(self, step: Any):
        """ArrowDown (1), ArrowUp (-1), Home ("first") or End ("last") in the results."""
        if not self.results:
            return None
        last = len(self.results) - 1
        if step == "first":
            self.active = 0
        elif step == "last":
            self.active = last
        elif type(step) is int and step in (1, -1):
            self.active = min(max(self.active + step, 0), last)
        else:
            return None
        return rx.scroll_to(f"{OPTION_ID}{self.active}")

    @rx.event
    def choose(self, index: Any = None):
        """Open result `index` (None: the active one, for Enter)."""
        if index is None:
            index = self.active
        if type(index) is not int or not 0 <= index < len(self.results):
            return None
        href = self.results[index]["href"]
        self._close()
        return rx.redirect(href)


def palette_button() -> rx.Component:
    """The header's button opening the palette."""
    return rx.button(
        rx.icon("search", size=16), "Search",
        rx.el.kbd("Ctrl K", style={"font_size": "0.75em", "opacity": "0.7"}),
        on_click=PaletteState.toggle, variant="soft", color_scheme="gray", size="2",
        aria_keyshortcuts="Control+K Meta+K", data_testid="palette-button")


def _option(result: rx.Var, index: rx.Var) -> rx.Component:
    s = PaletteState
    selected = s.active == index
    return rx.el.li(
        rx.hstack(
            rx.badge(result["kind"], variant="soft", size="1", min_width="5.5em",
                     justify_content="center"),
            rx.vstack(rx.text(result["label"], size="2", weight="medium"),
                      rx.text(result["detail"], size="1", color=rx.color("gray", 11)),
                      spacing="0"),
            align="center", spacing="3"),
        id=OPTION_ID + index.to_string(),
        role="option",
        aria_selected=rx.cond(selected, "true", "false"),
        on_click=s.choose(index),
        cursor="pointer",
        padding_x="0.6em", padding_y="0.4em",
        border_radius="var(--radius-2)",
        background=rx.cond(selected, rx.color("accent", 4), "transparent"),
        _hover={"background": rx.color("accent", 3)},
        custom_attrs={"data-href": result["href"]},
        data_testid="palette-option",
    )


def palette_dialog() -> rx.Component:
    s = PaletteState
    has_results = s.results.length() > 0
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Go to", size="3"),
            rx.dialog.description("Find an order by id, a customer or a product by id or name, "
                                  "or a page.", size="2", color=rx.color("gray", 11)),
            rx.debounce_input(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    value=s.query, on_change=s.search, id=INPUT_ID,
                    placeholder="Order id, customer, product or page",
                    role="combobox", aria_expanded=rx.cond(has_results, "true", "false"),
                    aria_controls=LISTBOX_ID, aria_autocomplete="list",
                    aria_activedescendant=rx.cond(has_results, OPTION_ID + s.active.to_string(),
                                                  ""),
                    aria_label="Search orders, customers, products and pages",
                    auto_complete="off", size="3", margin_top="0.75em",
                    data_testid="palette-input"),
                debounce_timeout=200,
            ),
            rx.cond(s.message != "", rx.text(s.message, color_scheme="red", size="2",
                                              data_testid="palette-message")),
            rx.el.ul(
                rx.foreach(s.results, _option),
                id=LISTBOX_ID, role="listbox", aria_label="Results",
                style={"list_style": "none", "padding": "0", "margin": "0.75em 0 0 0",
                       "max_height": "min(24em, 60vh)", "overflow_y": "auto"},
                data_testid="palette-results",
            ),
            rx.cond(~has_results & (s.query.strip() != "") & (s.message == ""),
                    rx.text("Nothing found.", size="2", color=rx.color("gray", 11),
                            data_testid="palette-empty")),
            rx.text("↑ ↓ to move, Enter to open, Esc to close", size="1",
                    color=rx.color("gray", 10), margin_top="0.5em"),
            max_width="36em",
            data_testid="palette",
        ),
        open=s.open,
        on_open_change=s.set_open,
    )
