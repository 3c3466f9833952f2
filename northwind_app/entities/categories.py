"""Categories: listed; read only on the screens; a category's page lists its products."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Related, text
from northwind_app.services import catalog
from northwind_app.ui.table import Column


def category_row(r: dict) -> dict[str, str]:
    return {"category_id": str(r["category_id"]), "href": f"/categories/{r['category_id']}",
            "category_name": r["category_name"], "description": text(r["description"])}


CATEGORIES = Entity(
    name="categories", noun="category", title="Categories",
    listing=catalog.CATEGORIES,
    columns=(
        Column("category_name", "Category", sort="category_name", link="href"),
        Column("description", "Description"),
    ),
    row=category_row,
    search_placeholder="Name or description",
    get=catalog.get_category,
    related=(Related("products", "Products", "Product name", "products", "category_id",
                     hide=("category_name",)),),
)
