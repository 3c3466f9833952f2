"""Order detail (/orders/[order_id]) with ship, cancel and delete, and the printable invoice.

The order lifecycle is the service's (services.orders): the page asks it which actions are
available (`order_actions`) and shows the reason beside each disabled button. Every refusal
of an action (a field, a conflict, a deleted order, a permission, a database that is down) is
shown in the dialog that caused it, with a button to reload the order."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import reflex as rx
from sqlmodel import Session

from northwind_app import formats
from northwind_app.live.tabs import LiveMixin, presence
from northwind_app.money import format_money, format_percent
from northwind_app.services import audit, changes
from northwind_app.services import orders as svc
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Conflict, Invalid, NotFound, ServiceError
from northwind_app.ui import backend, outage
from northwind_app.pages.orders import OrdersState
from northwind_app.ui.auth import AuthState, actor_of
from northwind_app.ui.breadcrumbs import action_link, breadcrumbs, list_href
from northwind_app.ui.format import STATUS_COLORS, date_text
from northwind_app.ui.history import HistoryRow, history_panel, history_rows
from northwind_app.ui.layout import page, grid_columns
from northwind_app.ui.widgets import confirm_delete_dialog, line_header, link_button


def order_id_from_path(path: str) -> int | None:
    """The order id of /orders/<id>[/...]; None when it is not a number."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "orders" and parts[1].isdigit():
        return int(parts[1])
    return None


def order_view_dict(order: svc.OrderDetailView) -> dict[str, str]:
    address = ", ".join(x for x in (order.ship_address, order.ship_city, order.ship_region,
                                    order.ship_postal_code, order.ship_country) if x)
    return {
        "order_id": str(order.order_id),
        "customer_id": order.customer_id or "",
        "customer_name": order.customer_name or "",
        "customer_contact": order.customer_contact or "",
        "customer_phone": order.customer_phone or "",
        "employee_name": order.employee_name or "",
        "employee_id": str(order.employee_id or ""),
        "shipper_name": order.shipper_name or "—",
        "order_date": date_text(order.order_date),
        "required_date": date_text(order.required_date) or "—",
        "shipped_date": date_text(order.shipped_date) or "Not shipped",
        "status": svc.STATUS_LABELS[order.status],
        "status_color": STATUS_COLORS[order.status],
        "ship_name": order.ship_name or "",
        "ship_address": order.ship_address or "",
        "ship_city_line": " ".join(x for x in (order.ship_postal_code, order.ship_city,
                                               order.ship_region) if x),
        "ship_country": order.ship_country or "",
        "ship_to": address,
        "subtotal": format_money(order.subtotal),
        "freight": format_money(order.freight),
        "total": format_money(order.total),
        "cancelled": "" if order.cancelled_at is None
        else formats.time_text(order.cancelled_at),
    }


def line_dicts(order: svc.OrderDetailView) -> list[dict[str, str]]:
    return [{
        "product_id": str(line.product_id),
        "product_name": line.product_name,
        "unit_price": format_money(line.unit_price),
        "quantity": str(line.quantity),
        "discount": format_percent(line.discount),
        "line_total": format_money(line.line_total),
    } for line in order.lines]


ACTIONS = ("edit", "ship", "cancel", "delete")
ACTION_LABELS = {"edit": "Edit", "ship": "Mark shipped", "cancel": "Cancel order",
                 "delete": "Delete"}
SHIP_FIELDS = ("shipped_date", "ship_via")  # the ship dialog's fields
SERVER_PROBLEM = ("because of a server problem (the database may be unavailable); nothing "
                  "was changed. Try again.")


class Refusal(NamedTuple):
    """How the page shows a refused action: errors beside the dialog's own fields, a message
    (always, unless the field errors say it all), and whether to offer a reload."""

    fields: dict[str, str]
    message: str
    conflict: bool


def refusal_of(exc: Exception, doing: str, fields: tuple[str, ...] = ()) -> Refusal:
    """Every refusal is visible: a ServiceError (validation, conflict, not found, permission)
    by its message or its fields, anything else (the database is down: ui/backend's
    ServerProblem) as a server problem."""
    if not isinstance(exc, ServiceError) or isinstance(exc, backend.ServerProblem):
        return Refusal({}, f"The order could not be {doing} {SERVER_PROBLEM}", False)
    own = {k: v for k, v in exc.fields.items() if k in fields}
    if isinstance(exc, Invalid) and own and len(own) == len(exc.fields):
        return Refusal(own, "", False)
    return Refusal(own, exc.message, isinstance(exc, (NotFound, Conflict)))


def actions_dict(actions: svc.Actions) -> dict[str, str]:
    """Action → why it is unavailable ("" when it is available)."""
    return {"edit": actions.edit_blocked, "ship": actions.ship_blocked,
            "cancel": actions.cancel_blocked, "delete": actions.delete_blocked,
            "lines": actions.lines_blocked}


def _load(session: Session, order_id: int):
    order = svc.get_order(session, order_id)
    shippers = [[c.value, c.label] for c in svc.shipper_choices(session)]
    history = history_rows(changes.history(session, "order", order_id))
    cancelled = (audit.last_action(session, "order", order_id, "cancel")
                 if order.cancelled_at is not None else None)
    return order, shippers, history, cancelled.username if cancelled else ""


def _deleted_text(session: Session, order_id: int) -> str:
    deleted = audit.last_action(session, "order", order_id, "delete")
    if deleted is None:
        return ""
    return f"Order {order_id} was deleted by {deleted.username} on {audit.when_text(deleted.at)}."


class OrderDetailState(LiveMixin, rx.State):
    """The order page (and its invoice); it follows the order as others change it (live/):
    shown again in place, a deletion says who and when, and who else has it open."""

    order: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    version: int = 0
    is_shipped: bool = False
    ship_via_current: str = ""
    shipper_options: list[list[str]] = []
    not_found: bool = False
    gone: str = ""  # who deleted the order shown, and when (a live update)
    _live_missed: bool = False  # a change came while an action's dialog was open
    loading: bool = True
    error: str = ""
    requested_id: str = ""

    ship_open: bool = False
    ship_date: str = ""
    ship_via: str = ""
    ship_errors: dict[str, str] = {}
    today: str = ""  # the server's date: the latest a shipment can be dated
    delete_open: bool = False
    cancel_open: bool = False
    action_error: str = ""  # why the last action was refused (shown in its dialog)
    action_conflict: bool = False  # the order changed or went meanwhile: offer a reload
    blocked: dict[str, str] = {}  # action -> why it is unavailable ("" = available)
    history: list[HistoryRow] = []

    @rx.event
    async def load(self):
        self.loading = True
        self.error = ""
        self.not_found = False
        self.action_error, self.action_conflict = "", False
        order_id = order_id_from_path(self.router.url.path)
        self.requested_id = self.router.url.path.rstrip("/").split("/")[-1]
        if "/invoice" in self.router.url.path:
            self.requested_id = self.router.url.path.rstrip("/").split("/")[-2]
        if order_id is None:
            self.not_found = True
            self.loading = False
            return
        self.gone = ""
        yield
        try:
            loaded = await backend.load(self, _load, order_id)
            actor = await actor_of(self)
        except NotFound:
            self.not_found = True
            self.order, self.lines = {}, []
        except ServiceError:  # a server problem (logged, the outage banner raised) or the
            # session ended
            self.error = "The order could not be loaded. Try again."
        else:
            self._show(*loaded, actor)
            topic = f"order:{order_id}"
            await self._live_watch(topic)
            await self._live_here(topic)
        finally:
            self.loading = False

    async def _live_caught_up(self) -> None:
        """A dialog closed: show what changed while it was open."""
        if self._live_missed and not (self.ship_open or self.cancel_open or self.delete_open):
            await self._live_refresh()

    def _show(self, order: svc.OrderDetailView, shippers: list[list[str]],
              history: list[HistoryRow], cancelled_by: str, actor: Actor) -> None:
        """Show `order` (assigning only what differs: a live refresh sends no more)."""
        values = {
            "order": {**order_view_dict(order), "cancelled_by": cancelled_by},
            "lines": line_dicts(order), "version": order.version,
            "is_shipped": order.shipped_date is not None,
            "ship_via_current": str(order.ship_via or ""), "shipper_options": shippers,
            "history": history, "blocked": actions_dict(svc.order_actions(order, actor)),
        }
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    async def _live_refresh(self):
        """The order changed: show it again in place; deleted, say who and when. Not while an
        action's dialog is open: the action was decided on what the user saw, so it is still
        refused as a change by someone else (with a reload); the page follows once the
        dialog closes."""
        order_id = order_id_from_path(self.router.url.path)
        if order_id is None:
            return
        if self.ship_open or self.cancel_open or self.delete_open:
            self._live_missed = True
            return
        self._live_missed = False
        try:
            loaded = await backend.read(self, _load, order_id)
            actor = await actor_of(self)
        except NotFound:
            self.not_found = True
            self.order, self.lines = {}, []
            self._live_unwatch()
            try:
                self.gone = await backend.read(self, _deleted_text, order_id)
            except ServiceError:
                pass
        except ServiceError:  # a server problem: logged, or the outage banner raised
            return
        else:
            self._show(*loaded, actor)

    # -- ship -------------------------------------------------------------------------------
    @rx.event
    def open_ship(self):
        if self.blocked.get("ship"):
            return
        self.ship_open = True
        self.action_error, self.action_conflict = "", False
        self.ship_date = self.today = dt.date.today().isoformat()
        self.ship_via = self.ship_via_current or (self.shipper_options[0][0] if self.shipper_options else "")
        self.ship_errors = {}

    @rx.event
    async def set_ship_open(self, value: bool):
        self.ship_open = value
        await self._live_caught_up()

    @rx.event
    def set_ship_date(self, value: str):
        self.ship_date = value

    @rx.event
    def set_ship_via(self, value: str):
        self.ship_via = value


    @rx.event
    async def reload(self):
        """After a refusal: close the dialogs and show the order as it is now."""
        self.ship_open = self.cancel_open = self.delete_open = False
        self.ship_errors = {}
        yield OrderDetailState.load

    async def _act(self, change, doing: str, fields: tuple[str, ...] = ()) -> bool:
        """Run `change(session, order_id, version, actor)` (a service action on the order
        shown) in one write transaction (ui/backend: a database that is down also raises the
        outage banner); False when refused, the refusal shown (see `refusal_of`)."""
        order_id, version = int(self.order["order_id"]), self.version
        try:
            actor = await actor_of(self)
            await backend.write(self, change, order_id, version, actor)
        except ServiceError as exc:
            self.ship_errors, self.action_error, self.action_conflict = refusal_of(
                exc, doing, fields)
            return False
        return True

    @rx.event
    async def confirm_ship(self):
        order_id = int(self.order["order_id"])
        date, via = self.ship_date, self.ship_via
        self.action_error, self.action_conflict, self.ship_errors = "", False, {}
        if not await self._act(lambda s, oid, version, actor: svc.ship_order(
                s, oid, date, via, version, actor=actor), "marked shipped", SHIP_FIELDS):
            return
        self.ship_open = False
        yield rx.toast.success(f"Order {order_id} marked shipped.")
        yield OrderDetailState.load

    # -- delete -----------------------------------------------------------------------------
    @rx.event
    async def set_delete_open(self, value: bool):
        self.delete_open = value
        self.action_error, self.action_conflict = "", False
        await self._live_caught_up()

    @rx.event
    async def confirm_delete(self):
        order_id = int(self.order["order_id"])
        if not await self._act(lambda s, oid, version, actor: svc.delete_order(
                s, oid, version, actor=actor), "deleted"):
            return
        self.delete_open = False
        yield rx.toast.success(f"Order {order_id} deleted; its stock was returned.")
        yield rx.redirect("/orders")

    # -- cancel -----------------------------------------------------------------------------
    @rx.event
    async def set_cancel_open(self, value: bool):
        self.cancel_open = value
        self.action_error, self.action_conflict = "", False
        await self._live_caught_up()

    @rx.event
    async def confirm_cancel(self):
        order_id = int(self.order["order_id"])
        if not await self._act(lambda s, oid, version, actor: svc.cancel_order(
                s, oid, version, actor=actor), "cancelled"):
            return
        self.cancel_open = False
        yield rx.toast.success(f"Order {order_id} cancelled; its stock was returned.")
        yield OrderDetailState.load

    @rx.event
    def print_invoice(self):
        return rx.call_script("window.print()")


# -- components ---------------------------------------------------------------------------------

def field(label: str, value, testid: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.text(value, size="3", data_testid=testid),
        spacing="0",
    )


def not_found_view() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=40, color=rx.color("gray", 9)),
            rx.heading("Order not found", size="5"),
            rx.cond(OrderDetailState.gone != "",
                    rx.text(OrderDetailState.gone, data_testid="order-gone"),
                    rx.text("There is no order ", rx.code(OrderDetailState.requested_id), ".")),
            rx.link("Back to orders", href="/orders"),
            align="center",
            data_testid="order-not-found",
        ),
        padding="4em",
        width="100%",
    )


def lines_table() -> rx.Component:
    return rx.table.root(
        line_header(),
        rx.table.body(rx.foreach(OrderDetailState.lines, lambda line: rx.table.row(
            rx.table.cell(rx.link(line["product_name"], href="/products/" + line["product_id"])),
            rx.table.cell(line["unit_price"], text_align="right"),
            rx.table.cell(line["quantity"], text_align="right"),
            rx.table.cell(line["discount"], text_align="right"),
            rx.table.cell(line["line_total"], text_align="right"),
            data_testid="order-line",
        ))),
        width="100%",
        variant="surface",
    )


def totals() -> rx.Component:
    def row(label, value, testid, bold=False):
        return rx.hstack(rx.text(label, weight="bold" if bold else "regular"), rx.spacer(),
                         rx.text(value, data_testid=testid, weight="bold" if bold else "regular"),
                         width="18em")
    return rx.vstack(
        row("Subtotal", OrderDetailState.order["subtotal"], "order-subtotal"),
        row("Freight", OrderDetailState.order["freight"], "order-freight"),
        rx.divider(),
        row("Total", OrderDetailState.order["total"], "order-total", bold=True),
        align="end",
        width="100%",
        padding_top="1em",
    )


def reload_button() -> rx.Component:
    return rx.button("Reload the order", size="1", variant="soft",
                     on_click=OrderDetailState.reload, data_testid="reload-order")


def refusal(testid: str) -> rx.Component:
    """Why the dialog's action was refused, with a reload button when the order changed."""
    s = OrderDetailState
    return rx.cond(s.action_error != "", rx.callout(
        rx.vstack(rx.text(s.action_error),
                  rx.cond(s.action_conflict, reload_button()), spacing="2"),
        icon="triangle-alert", color_scheme="red", width="100%", data_testid=testid))


def ship_dialog() -> rx.Component:
    s = OrderDetailState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Mark order shipped"),
            rx.vstack(
                refusal("ship-error"),
                rx.text("Shipped on", size="2"),
                rx.input(type="date", value=s.ship_date, on_change=s.set_ship_date,
                         data_testid="ship-date", aria_label="Shipped on",
                         max=s.today),
                rx.cond(s.ship_errors.contains("shipped_date"),
                        rx.text(s.ship_errors["shipped_date"], color_scheme="red", size="1",
                                data_testid="ship-date-error")),
                rx.text("Shipper", size="2"),
                rx.select.root(
                    rx.select.trigger(data_testid="ship-via", aria_label="Shipper"),
                    rx.select.content(rx.foreach(s.shipper_options,
                                                 lambda o: rx.select.item(o[1], value=o[0]))),
                    value=s.ship_via, on_change=s.set_ship_via,
                ),
                rx.cond(s.ship_errors.contains("ship_via"),
                        rx.text(s.ship_errors["ship_via"], color_scheme="red", size="1")),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Mark shipped", on_click=s.confirm_ship,
                              disabled=outage.OutageState.db_down, data_testid="confirm-ship"),
                    justify="end", width="100%", padding_top="1em",
                ),
                spacing="2",
            ),
        ),
        open=s.ship_open,
        on_open_change=s.set_ship_open,
    )


def delete_dialog() -> rx.Component:
    s = OrderDetailState
    return confirm_delete_dialog(
        title=rx.fragment("Delete order ", s.order["order_id"], "?"),
        description="The order and its lines are deleted (an open order's quantities go back "
                    "into stock; a cancelled one's already have). This cannot be undone; "
                    "cancelling keeps the order for the record.",
        open_=s.delete_open, on_open_change=s.set_delete_open, on_confirm=s.confirm_delete,
        error=s.action_error, confirm_label="Delete order",
        error_extra=rx.cond(s.action_conflict, reload_button()))


def cancel_dialog() -> rx.Component:
    s = OrderDetailState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(rx.fragment("Cancel order ", s.order["order_id"], "?")),
            rx.alert_dialog.description(
                "The order is kept with its lines and marked cancelled; its quantities go "
                "back into stock and it no longer counts in revenue. A cancelled order "
                "cannot be changed or shipped."),
            rx.box(refusal("cancel-error"), padding_top="1em"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep the order", variant="soft",
                                                 color_scheme="gray")),
                rx.button("Cancel order", color_scheme="orange", on_click=s.confirm_cancel,
                          data_testid="confirm-cancel"),
                justify="end", spacing="3", padding_top="1em",
            ),
        ),
        open=s.cancel_open,
        on_open_change=s.set_cancel_open,
    )


def action_button(action: str, icon: str, **props) -> rx.Component:
    """An action's button, disabled (with the reason as its title) when unavailable."""
    s = OrderDetailState
    return rx.button(rx.icon(icon, size=16), ACTION_LABELS[action], variant="soft",
                     disabled=s.blocked[action] != "", title=s.blocked[action],
                     data_testid=f"{action}-order", **props)


def unavailable_reasons() -> rx.Component:
    """Beside the disabled buttons: why each action is unavailable."""
    s = OrderDetailState
    return rx.cond(AuthState.can_write_orders, rx.vstack(*(
        rx.cond(s.blocked[action] != "", rx.text(
            ACTION_LABELS[action], " is unavailable: ", s.blocked[action], size="1",
            color=rx.color("gray", 11), data_testid=f"{action}-unavailable"))
        for action in ACTIONS), spacing="0", align="end", width="100%"))


def detail_body() -> rx.Component:
    s = OrderDetailState
    o = s.order
    return rx.vstack(
        rx.hstack(
            rx.heading("Order ", o["order_id"], size="5", data_testid="order-heading"),
            rx.badge(o["status"], color_scheme=o["status_color"], size="2",
                     data_testid="order-status"),
            rx.spacer(),
            rx.cond(AuthState.can_write_orders, rx.hstack(
                rx.cond(s.blocked["edit"] != "", action_button("edit", "pencil"),
                        link_button(rx.icon("pencil", size=16), "Edit", variant="soft",
                                    href="/orders/" + o["order_id"] + "/edit",
                                    data_testid="edit-order")),
                action_button("ship", "truck", on_click=s.open_ship),
                action_button("cancel", "ban", color_scheme="orange",
                              on_click=s.set_cancel_open(True)),
                spacing="3", wrap="wrap",
            )),
            link_button(rx.icon("printer", size=16), "Invoice", variant="soft",
                        href="/orders/" + o["order_id"] + "/invoice", data_testid="invoice-link"),
            # A new order's form with this one's customer, shipping and lines (today's
            # prices): services/orders/prefill.py.
            rx.cond(AuthState.can_write_orders,
                    action_link("Duplicate", "copy", "/orders/new?from=" + o["order_id"],
                                "duplicate-order")),
            rx.cond(AuthState.can_write_orders,
                    action_button("delete", "trash-2", color_scheme="red",
                                  on_click=s.set_delete_open(True))),
            width="100%", align="center", spacing="3", wrap="wrap",
        ),
        presence(s),
        unavailable_reasons(),
        rx.cond(s.order["cancelled"] != "", rx.callout(
            "Cancelled" + rx.cond(s.order["cancelled_by"] != "", " by " + s.order["cancelled_by"],
                                  "")
            + " on " + s.order["cancelled"] + ": kept for the record; its stock was "
            "returned and it counts in no revenue.", icon="ban", color_scheme="gray",
            width="100%", data_testid="order-cancelled")),
        rx.grid(
            rx.card(rx.vstack(
                rx.text("Customer", weight="bold"),
                rx.link(o["customer_name"], href="/customers/" + o["customer_id"],
                        data_testid="order-customer"),
                rx.text(o["customer_id"], " · ", o["customer_contact"], size="2"),
                rx.text(o["customer_phone"], size="2", color=rx.color("gray", 11)),
                spacing="1")),
            rx.card(rx.vstack(
                rx.text("Ship to", weight="bold"),
                rx.text(o["ship_name"]), rx.text(o["ship_address"], size="2"),
                rx.text(o["ship_city_line"], size="2"), rx.text(o["ship_country"], size="2"),
                spacing="1")),
            rx.card(rx.grid(
                field("Ordered", o["order_date"], "order-date"),
                field("Required", o["required_date"]),
                field("Shipped", o["shipped_date"], "order-shipped"),
                field("Shipper", o["shipper_name"], "order-shipper"),
                rx.vstack(rx.text("Employee", size="1", color=rx.color("gray", 11)),
                          rx.link(o["employee_name"], href="/employees/" + o["employee_id"]),
                          spacing="0"),
                columns="2", spacing="3")),
            columns=grid_columns(3), spacing="4", width="100%",
        ),
        lines_table(),
        totals(),
        history_panel(s.history),
        ship_dialog(),
        cancel_dialog(),
        delete_dialog(),
        width="100%",
        spacing="4",
    )


def order_detail_page() -> rx.Component:
    s = OrderDetailState
    orders = list_href(OrdersState, "/orders")
    return page(
        "Order",
        breadcrumbs(("Orders", orders), (s.requested_id, None), back=orders),
        rx.cond(
            s.not_found,
            not_found_view(),
            rx.cond(
                s.error != "",
                rx.callout(s.error, color_scheme="red", icon="triangle-alert"),
                rx.cond(s.order.contains("order_id"), detail_body(),
                        rx.center(rx.spinner(size="3"), padding="3em", width="100%")),
            ),
        ),
    )


# -- invoice ------------------------------------------------------------------------------------

def invoice_page() -> rx.Component:
    s = OrderDetailState
    o = s.order
    body = rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading("Northwind Traders", size="6"),
                rx.text("One Portals Way, Twin Points WA 98156, USA", size="2"),
                spacing="1",
            ),
            rx.spacer(),
            rx.vstack(
                rx.heading("Invoice", size="7"),
                rx.text("Order ", o["order_id"], data_testid="invoice-order"),
                rx.text("Date ", o["order_date"], size="2"),
                align="end", spacing="1",
            ),
            width="100%",
        ),
        rx.divider(),
        rx.grid(
            rx.vstack(rx.text("Bill to", weight="bold", size="2"), rx.text(o["customer_name"]),
                      rx.text(o["customer_id"], " · ", o["customer_contact"], size="2"), spacing="1"),
            rx.vstack(rx.text("Ship to", weight="bold", size="2"), rx.text(o["ship_name"]),
                      rx.text(o["ship_address"], size="2"), rx.text(o["ship_city_line"], size="2"),
                      rx.text(o["ship_country"], size="2"), spacing="1"),
            rx.vstack(rx.text("Details", weight="bold", size="2"),
                      rx.text("Salesperson: ", o["employee_name"], size="2"),
                      rx.text("Required: ", o["required_date"], size="2"),
                      rx.text("Shipped: ", o["shipped_date"], size="2"),
                      rx.text("Ship via: ", o["shipper_name"], size="2"), spacing="1"),
            # Three columns from a tablet's width up, printed pages included.
            columns=rx.breakpoints(initial="1", sm="3"), spacing="5", width="100%",
        ),
        lines_table(),
        totals(),
        rx.hstack(
            rx.button(rx.icon("printer", size=16), "Print", on_click=s.print_invoice),
            link_button("Back to order", variant="soft", href="/orders/" + o["order_id"]),
            class_name="no-print", spacing="3", padding_top="2em",
        ),
        max_width="60em", width="100%", spacing="4", padding="2em", margin_x="auto",
        data_testid="invoice",
    )
    return rx.cond(s.not_found, page("Order", not_found_view()),
                   rx.cond(s.order.contains("order_id"), body,
                           rx.center(rx.spinner(size="3"), padding="3em")))
