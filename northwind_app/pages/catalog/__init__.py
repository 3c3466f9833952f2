"""Customers, products, employees, suppliers, categories and shippers: list and detail pages.

- lists.py: every list page and embedded list, built from the entities' declarations
  (northwind_app/entities/), and `CatalogOptions` (the filters' and forms' choices);
- detail.py: `DetailState`, the detail pages' shared state mixin, and their frame;
- customers.py, products.py, employees.py, suppliers.py, categories.py, shippers.py: one
  detail page each, with its state.

`PAGES` gives, by entity name, its list page and state, its detail page and state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import reflex as rx

from northwind_app.entities import ENTITIES
from northwind_app.pages.catalog.categories import CategoryState, category_detail_page
from northwind_app.pages.catalog.customers import CustomerState, customer_detail_page
from northwind_app.pages.catalog.detail import DetailState
from northwind_app.pages.catalog.employees import EmployeeState, employee_detail_page
from northwind_app.pages.catalog.lists import (
    STATES, CatalogOptions, list_page, related_loads,
)
from northwind_app.pages.catalog.products import ProductState, product_detail_page
from northwind_app.pages.catalog.shippers import ShipperState, shipper_detail_page
from northwind_app.pages.catalog.suppliers import SupplierState, supplier_detail_page
from northwind_app.ui.table import ListState


class CatalogPages(NamedTuple):
    list_page: Callable[[], rx.Component]
    list_state: type[ListState]
    detail_page: Callable[[], rx.Component]
    detail_state: type[DetailState]


_DETAIL = {"customers": (customer_detail_page, CustomerState),
           "products": (product_detail_page, ProductState),
           "employees": (employee_detail_page, EmployeeState),
           "suppliers": (supplier_detail_page, SupplierState),
           "categories": (category_detail_page, CategoryState),
           "shippers": (shipper_detail_page, ShipperState)}
PAGES: dict[str, CatalogPages] = {
    name: CatalogPages(list_page(entity), STATES[name], *_DETAIL[name])
    for name, entity in ENTITIES.items()}

__all__ = ["PAGES", "STATES", "CatalogOptions", "CatalogPages", "CategoryState",
           "CustomerState", "DetailState", "EmployeeState", "ProductState", "ShipperState",
           "SupplierState", "related_loads"]
