"""A product's page: /products/[key] — price and stock, category and supplier, sales by month,
the orders with it, its history; discontinue, edit and delete for roles that may."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import PRODUCTS, Entity
from northwind_app.money import cents, format_money, format_number
from northwind_app.pages.catalog.detail import (
    DetailState, bar_chart, chart_axes, detail_shell, heading, info, record_actions, related_lists,
)
from northwind_app.pages.catalog.lists import may
from northwind_app.services import changes, products
from northwind_app.services import dashboard as figures
from northwind_app.services.errors import ServiceError
from northwind_app.ui import backend
from northwind_app.ui.auth import actor_of
from northwind_app.ui.history import HistoryRow, history_panel, history_rows
from northwind_app.ui.charts import EMPTY_AXIS
from northwind_app.ui.layout import grid_columns


class ProductState(DetailState, rx.State):
    entity: ClassVar[Entity] = PRODUCTS
    data_lists: ClassVar[tuple[str, ...]] = ("chart", "history")

    chart: list[dict] = []  # revenue and units by month
    chart_axes: dict[str, dict] = {"left": dict(EMPTY_AXIS), "right": dict(EMPTY_AXIS)}
    history: list[HistoryRow] = []

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        p = products.get_product(session, key)
        months = figures.product_sales_by_month(session, key)
        history = history_rows(changes.history(session, "product", key))
        chart = [{"label": m.month, "revenue": float(cents(m.revenue)), "units": m.orders}
                 for m in months]
        return {"history": history, "chart": chart,
                "chart_axes": chart_axes(chart, "revenue", "units"), "record": {
            **{k: "" if v is None else str(v) for k, v in p.items()},
            "unit_price": format_money(p["unit_price"]), "revenue": format_money(p["revenue"]),
            "units_sold": format_number(p["units_sold"]),
            "order_count": format_number(p["order_count"]),
            "discontinued": "yes" if p["discontinued"] else "",
            "low_stock": "yes" if products.is_low_stock(p["units_in_stock"],
                                                        p["reorder_level"]) else "",
            "out_of_stock": "yes" if products.stock_level(p["units_in_stock"], p["reorder_level"])
            == products.OUT_OF_STOCK else "",
        }}

    @rx.event
    async def set_discontinued(self, value: bool):
        try:
            key = self.entity.parse_key(self.key)
            actor = await actor_of(self)
            await backend.write(self, products.update_product, key, {"discontinued": value},
                                actor=actor)
        except ServiceError as exc:
            self.action_error = exc.message
            return
        yield rx.toast.success("Product discontinued." if value else "Product available again.")
        yield ProductState.load


def product_detail_page() -> rx.Component:
    s = ProductState
    r = s.record
    body = rx.vstack(
        heading(s, r["product_name"],
                rx.cond(r["discontinued"] != "", rx.badge("Discontinued", color_scheme="gray",
                                                          margin_left="0.5em")),
                actions=rx.hstack(
                    rx.cond(~may(PRODUCTS.may_edit), rx.fragment(), rx.cond(
                        r["discontinued"] != "",
                        rx.button("Make available", variant="soft",
                                  on_click=s.set_discontinued(False), data_testid="undiscontinue"),
                        rx.button(rx.icon("archive", size=16), "Discontinue", variant="soft",
                                  on_click=s.set_discontinued(True), data_testid="discontinue"))),
                    record_actions(s), spacing="3", wrap="wrap")),
        rx.grid(
            rx.card(rx.grid(info(s, "Unit price", "unit_price"),
                            info(s, "Quantity per unit", "quantity_per_unit"),
                            info(s, "In stock", "units_in_stock"),
                            info(s, "On order", "units_on_order"),
                            info(s, "Reorder level", "reorder_level"), columns="2", spacing="3")),
            rx.card(rx.vstack(
                rx.text("Category", size="1", color=rx.color("gray", 11)),
                rx.link(r["category_name"], href="/categories/" + r["category_id"],
                        data_testid="product-category"),
                rx.text("Supplier", size="1", color=rx.color("gray", 11)),
                rx.link(r["supplier_name"], href="/suppliers/" + r["supplier_id"],
                        data_testid="product-supplier"),
                spacing="1")),
            rx.card(rx.grid(info(s, "Revenue (all time)", "revenue"),
                            info(s, "Units sold", "units_sold"),
                            info(s, "Orders", "order_count"), columns="2", spacing="3")),
            columns=grid_columns(3), spacing="4", width="100%"),
        rx.cond(r["out_of_stock"] != "", rx.callout("Out of stock.", icon="triangle-alert",
                                                    color_scheme="red",
                                                    data_testid="product-out-of-stock")),
        rx.cond(r["low_stock"] != "", rx.callout("Low stock: at or below the reorder level.",
                                                 icon="triangle-alert", color_scheme="orange",
                                                 data_testid="product-low-stock")),
        rx.card(rx.vstack(rx.heading("Revenue and units sold by month", size="3"),
                          bar_chart(s.chart, ("revenue", "Revenue"), ("units", "Units"), s.chart_axes),
                          width="100%"), width="100%", data_testid="product-chart"),
        *related_lists(s),
        history_panel(s.history),
        width="100%", spacing="4")
    return detail_shell(s, "Product", body)
