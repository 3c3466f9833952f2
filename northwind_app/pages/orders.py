"""Orders list: /orders — paginated, sorted, searched and filtered in SQL; state in the URL."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.money import format_money
from northwind_app.services import orders as svc
from northwind_app.services.listing import ListParams
from northwind_app.ui import backend
from northwind_app.ui.format import STATUS_COLORS, date_text
from northwind_app.ui.auth import AuthState
from northwind_app.ui.layout import page
from northwind_app.ui.widgets import link_button
from northwind_app.ui.table import (
    Column, ListState, data_table, filter_date, filter_error, filter_select, set_query_param,
)

# The most important first (id, date, customer, status, total): they fit a 1280 px screen
# beside the sidebar; the rest follow, and each user may hide any of them (the column chooser).
COLUMNS = [
    Column("order_id", "Order", sort="order_id", link="href"),
    Column("order_date", "Ordered", sort="order_date"),
    Column("customer", "Customer", sort="customer", link="customer_href"),
    Column("status", "Status", sort="status", badge="status_color"),
    Column("total", "Total", sort="total", align="right"),
    Column("employee", "Employee", sort="employee"),
    Column("ship_country", "Ship country", sort="ship_country"),
    Column("shipper", "Shipper", sort="shipper"),
    Column("required_date", "Required", sort="required_date"),
    Column("shipped_date", "Shipped", sort="shipped_date"),
]
STATUS_OPTIONS = [(status, svc.STATUS_LABELS[status]) for status in svc.STATUSES]


def order_row(row: svc.OrderRow) -> dict[str, str]:
    return {
        "order_id": str(row.order_id),
        "href": f"/orders/{row.order_id}",
        "order_date": date_text(row.order_date),
        "customer": row.customer_name or row.customer_id or "",
        "customer_href": f"/customers/{row.customer_id}" if row.customer_id else "",
        "employee": row.employee_name or "",
        "ship_country": row.ship_country or "",
        "shipper": row.shipper_name or "",
        "status": svc.STATUS_LABELS[row.status],
        "status_color": STATUS_COLORS[row.status],
        "required_date": date_text(row.required_date),
        "shipped_date": date_text(row.shipped_date),
        "total": format_money(row.total),
    }


def _options(session: Session) -> dict[str, list[list[str]]]:
    return {
        "employees": [[c.value, c.label] for c in svc.employee_choices(session)],
        "shippers": [[c.value, c.label] for c in svc.shipper_choices(session)],
        "countries": [[c, c] for c in svc.ship_countries(session)],
    }


class OrdersListing:
    """The orders service seen as a `Listing` (for order lists embedded in detail pages)."""

    default_sort = svc.DEFAULT_SORT

    @staticmethod
    def page(session: Session, params: ListParams):
        result = svc.list_orders(session, params)
        result.items = [order_row(row) for row in result.items]
        return result


class OrdersState(ListState, rx.State):
    route: ClassVar[str] = "/orders"
    list_name: ClassVar[str] = "orders"
    default_sort: ClassVar[str] = svc.DEFAULT_SORT
    default_sort_text: ClassVar[str] = "order date, newest first"
    live_topics: ClassVar[tuple[str, ...]] = ("orders",)
    filter_keys: ClassVar[tuple[str, ...]] = (
        "status", "date_from", "date_to", "customer_id", "employee_id", "shipper_id", "ship_country")

    employee_options: list[list[str]] = []
    shipper_options: list[list[str]] = []
    country_options: list[list[str]] = []

    @classmethod
    def _read_rows(cls, params: ListParams) -> tuple[list[dict[str, str]], int]:
        # The shared table runs this in a worker thread and handles its failures itself.
        result = backend.run_read(OrdersListing.page, params)
        return result.items, result.total

    def _fetch_rows(self, params: ListParams) -> tuple[list[dict[str, str]], int]:
        return self._read_rows(params)

    async def _load_extras(self) -> None:
        """The filters' options, once per session."""
        if self.employee_options:
            return
        options = await backend.load(self, _options)
        self.employee_options = options["employees"]
        self.shipper_options = options["shippers"]
        self.country_options = options["countries"]


def customer_filter() -> rx.Component:
    return rx.vstack(
        rx.text("Customer ID", size="1", color=rx.color("gray", 11)),
        rx.debounce_input(
            rx.input(placeholder="e.g. ALFKI", value=OrdersState.filters["customer_id"],
                     on_change=lambda v: set_query_param(OrdersState, "customer_id", v,
                                                         ".trim().toUpperCase()"),
                     width="8em", data_testid="filter-customer_id", aria_label="Customer ID"),
            debounce_timeout=400,
        ),
        filter_error(OrdersState, "customer_id"),
        spacing="1",
    )


def orders_page() -> rx.Component:
    return page(
        "Orders",
        data_table(
            OrdersState,
            COLUMNS,
            search_placeholder="Order id, customer, ship name or city",
            filters=[
                filter_select(OrdersState, "status", "Status", STATUS_OPTIONS, width="9em"),
                filter_date(OrdersState, "date_from", "Ordered from"),
                filter_date(OrdersState, "date_to", "Ordered to"),
                customer_filter(),
                filter_select(OrdersState, "employee_id", "Employee", OrdersState.employee_options),
                filter_select(OrdersState, "shipper_id", "Shipper", OrdersState.shipper_options),
                filter_select(OrdersState, "ship_country", "Ship country",
                              OrdersState.country_options, width="9em"),
            ],
            actions=[
                link_button(rx.icon("download", size=16), "Export CSV", variant="soft",
                            href="/api/orders/export.csv?" + OrdersState.query_string,
                            download=True, data_testid="export-csv"),
                rx.cond(AuthState.can_write_orders,
                        link_button(rx.icon("plus", size=16), "New order",
                                    href="/orders/new", data_testid="new-order",
                                    data_shortcut="new")),
            ],
            empty_text="No orders match this search and these filters.",
        ),
    )
