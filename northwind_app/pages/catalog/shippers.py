"""A shipper's page: /shippers/[key] — phone, delivery figures, the orders it ships."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import SHIPPERS, Entity
from northwind_app.money import format_number, format_percent
from northwind_app.pages.catalog.detail import (
    DetailState, detail_shell, heading, info, related_lists,
)
from northwind_app.services import catalog
from northwind_app.services import dashboard as figures
from northwind_app.ui.layout import grid_columns


class ShipperState(DetailState, rx.State):
    entity: ClassVar[Entity] = SHIPPERS

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        s = catalog.get_shipper(session, key)
        perf = figures.shipper_performance(session, key)
        return {"record": {
            **{k: "" if v is None else str(v) for k, v in s.items()},
            "order_count": format_number(s["order_count"]),
            "shipped": format_number(perf.shipped),
            "average_days": "—" if perf.average_days is None
            else f"{perf.average_days.quantize(Decimal('0.1'))} days",
            "late": format_number(perf.late),
            "late_rate": "—" if perf.late_rate is None
            else format_percent(perf.late_rate.quantize(Decimal("0.001"))),
        }}


def shipper_detail_page() -> rx.Component:
    s = ShipperState
    r = s.record
    body = rx.vstack(
        heading(s, r["company_name"]),
        rx.grid(rx.card(info(s, "Phone", "phone")), rx.card(info(s, "Orders", "order_count")),
                rx.card(info(s, "Average delivery", "average_days", "shipper-average-days")),
                rx.card(info(s, "Shipped late", "late_rate", "shipper-late-rate")),
                columns=grid_columns(4), spacing="4", width="100%"),
        *related_lists(s),
        width="100%", spacing="4")
    return detail_shell(s, "Shipper", body)
