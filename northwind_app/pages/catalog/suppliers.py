"""A supplier's page: /suppliers/[key] — contact, address, its products."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import SUPPLIERS, Entity
from northwind_app.pages.catalog.detail import (
    DetailState, detail_shell, heading, info, related_lists,
)
from northwind_app.services import catalog
from northwind_app.ui.widgets import address_card, contact_card
from northwind_app.ui.layout import grid_columns


class SupplierState(DetailState, rx.State):
    entity: ClassVar[Entity] = SUPPLIERS

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        s = catalog.get_supplier(session, key)
        return {"record": {
            **{k: "" if v is None else str(v) for k, v in s.items()},
            "address_line": " ".join(x for x in (s["postal_code"], s["city"], s["region"]) if x),
        }}


def supplier_detail_page() -> rx.Component:
    s = SupplierState
    r = s.record
    body = rx.vstack(
        heading(s, r["company_name"]),
        rx.grid(
            contact_card(r),
            address_card(r),
            rx.card(info(s, "Products", "product_count")),
            columns=grid_columns(3), spacing="4", width="100%"),
        *related_lists(s),
        width="100%", spacing="4")
    return detail_shell(s, "Supplier", body)
