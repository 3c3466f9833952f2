"""Suppliers: listed, filtered by country; read only on the screens; a supplier's page lists
its products."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Filter, Related, text
from northwind_app.services import catalog
from northwind_app.ui.table import Column


def supplier_row(r: dict) -> dict[str, str]:
    return {"supplier_id": str(r["supplier_id"]), "href": f"/suppliers/{r['supplier_id']}",
            "company_name": r["company_name"], "contact_name": text(r["contact_name"]),
            "city": text(r["city"]), "country": text(r["country"]), "phone": text(r["phone"])}


SUPPLIERS = Entity(
    name="suppliers", noun="supplier", title="Suppliers",
    listing=catalog.SUPPLIERS,
    columns=(
        Column("company_name", "Supplier", sort="company_name", link="href"),
        Column("contact_name", "Contact", sort="contact_name"),
        Column("city", "City", sort="city"),
        Column("country", "Country", sort="country"),
        Column("phone", "Phone"),
    ),
    row=supplier_row,
    search_placeholder="Company, contact, city or country",
    filters=(Filter("country", "Country", "supplier_countries"),),
    get=catalog.get_supplier,
    related=(Related("products", "Products", "Product name", "products", "supplier_id",
                     hide=("supplier_name",)),),
)
