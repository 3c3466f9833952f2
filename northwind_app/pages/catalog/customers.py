"""A customer's page: /customers/[key] — contact, address, figures, its orders, its history."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import CUSTOMERS, Entity
from northwind_app.money import format_money, format_number
from northwind_app.pages.catalog.detail import (
    DetailState, detail_shell, heading, info, record_actions, related_lists,
)
from northwind_app.services import changes, customers
from northwind_app.ui.auth import AuthState
from northwind_app.ui.breadcrumbs import action_link
from northwind_app.ui.format import date_text
from northwind_app.ui.history import HistoryRow, history_panel, history_rows
from northwind_app.ui.widgets import address_card, contact_card
from northwind_app.ui.layout import grid_columns


class CustomerState(DetailState, rx.State):
    entity: ClassVar[Entity] = CUSTOMERS
    data_lists: ClassVar[tuple[str, ...]] = ("history",)

    history: list[HistoryRow] = []

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        c = customers.get_customer(session, key)
        history = history_rows(changes.history(session, "customer", c["customer_id"]))
        return {"history": history, "record": {
            **{k: "" if v is None else str(v) for k, v in c.items() if k != "revenue"},
            "revenue": format_money(c["revenue"]),
            "order_count": format_number(c["order_count"]),
            "first_order_date": date_text(c["first_order_date"]) or "—",
            "last_order_date": date_text(c["last_order_date"]) or "—",
            "address_line": " ".join(x for x in (c["postal_code"], c["city"], c["region"]) if x),
        }}


def customer_detail_page() -> rx.Component:
    s = CustomerState
    r = s.record
    body = rx.vstack(
        heading(s, r["company_name"], " (", r["customer_id"], ")", actions=rx.hstack(
            # The order form with this customer and their address preset
            # (services/orders/prefill.py).
            rx.cond(AuthState.can_write_orders, action_link(
                "New order for this customer", "shopping-cart", "/orders/new?customer=" + s.key,
                "new-order-for-customer")),
            record_actions(s), spacing="3")),
        rx.grid(
            contact_card(r),
            address_card(r),
            rx.card(rx.grid(info(s, "Lifetime revenue", "revenue"),
                            info(s, "Orders", "order_count"),
                            info(s, "First order", "first_order_date"),
                            info(s, "Last order", "last_order_date"), columns="2", spacing="3")),
            columns=grid_columns(3), spacing="4", width="100%"),
        *related_lists(s),
        history_panel(s.history),
        width="100%", spacing="4")
    return detail_shell(s, "Customer", body)
