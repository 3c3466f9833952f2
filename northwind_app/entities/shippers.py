"""Shippers: listed; read only on the screens; a shipper's page lists the orders it ships."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Related, text
from northwind_app.services import catalog
from northwind_app.ui.table import Column


def shipper_row(r: dict) -> dict[str, str]:
    return {"shipper_id": str(r["shipper_id"]), "href": f"/shippers/{r['shipper_id']}",
            "company_name": r["company_name"], "phone": text(r["phone"])}


SHIPPERS = Entity(
    name="shippers", noun="shipper", title="Shippers",
    listing=catalog.SHIPPERS,
    columns=(
        Column("company_name", "Shipper", sort="company_name", link="href"),
        Column("phone", "Phone"),
    ),
    row=shipper_row,
    search_placeholder="Name or phone",
    get=catalog.get_shipper,
    related=(Related("orders", "Orders", "Order id, customer, ship name or city", "orders",
                     "shipper_id", hide=("shipper",)),),
)
