"""A category's page: /categories/[key] — description, figures, its products."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import CATEGORIES, Entity
from northwind_app.money import format_money, format_number
from northwind_app.pages.catalog.detail import (
    DetailState, detail_shell, heading, info, related_lists,
)
from northwind_app.services import catalog
from northwind_app.services import dashboard as figures
from northwind_app.ui.layout import grid_columns


class CategoryState(DetailState, rx.State):
    entity: ClassVar[Entity] = CATEGORIES

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        c = catalog.get_category(session, key)
        revenue, units = figures.category_revenue(session, key)
        return {"record": {**{k: "" if v is None else str(v) for k, v in c.items()},
                           "revenue": format_money(revenue), "units_sold": format_number(units)}}


def category_detail_page() -> rx.Component:
    s = CategoryState
    r = s.record
    body = rx.vstack(
        heading(s, r["category_name"]),
        rx.text(r["description"]),
        rx.grid(rx.card(info(s, "Products", "product_count")),
                rx.card(info(s, "Revenue (all time)", "revenue", "category-revenue")),
                rx.card(info(s, "Units sold", "units_sold")),
                columns=grid_columns(3), spacing="4", width="100%"),
        *related_lists(s),
        width="100%", spacing="4")
    return detail_shell(s, "Category", body)
