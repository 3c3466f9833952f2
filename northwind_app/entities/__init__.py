"""The entities the catalog screens show, one declaration each (entities/base.py: `Entity`).

`ENTITIES`: the catalog entities, each with a list page and a detail page (customers,
products, employees, suppliers, categories, shippers); `LISTS`: every list a detail page may
embed (`Related.source`), the orders list included.
"""

from __future__ import annotations

from northwind_app.entities.base import Entity, Field, Filter, Related
from northwind_app.entities.categories import CATEGORIES
from northwind_app.entities.customers import CUSTOMERS
from northwind_app.entities.employees import EMPLOYEES
from northwind_app.entities.orders import ORDERS
from northwind_app.entities.products import PRODUCTS
from northwind_app.entities.shippers import SHIPPERS
from northwind_app.entities.suppliers import SUPPLIERS

ENTITIES: dict[str, Entity] = {e.name: e for e in (
    CUSTOMERS, PRODUCTS, EMPLOYEES, SUPPLIERS, CATEGORIES, SHIPPERS)}
LISTS: dict[str, Entity] = {**ENTITIES, ORDERS.name: ORDERS}


def _check_related() -> None:
    """Every related list names a known list and one of that list's filters."""
    for entity in ENTITIES.values():
        for related in entity.related:
            source = LISTS[related.source]
            filters = getattr(source.listing, "filters", None)
            if filters is not None and related.filter not in filters:
                raise ValueError(f"{entity.name}.{related.name}: {related.source} has no "
                                 f"filter {related.filter}")


_check_related()

__all__ = ["CATEGORIES", "CUSTOMERS", "EMPLOYEES", "ENTITIES", "Entity", "Field", "Filter",
           "LISTS", "ORDERS", "PRODUCTS", "Related", "SHIPPERS", "SUPPLIERS"]
