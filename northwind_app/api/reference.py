"""Read-only reference data: /api/employees, /api/suppliers, /api/categories, /api/shippers."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from northwind_app.api.routing import add_read_routes, resource_router
from northwind_app.api.schemas import RowIdFilter, RowIdPath, list_query
from northwind_app.services import catalog


class EmployeeItem(BaseModel):
    employee_id: int = Field(examples=[5])
    first_name: str = Field(examples=["Steven"])
    last_name: str = Field(examples=["Buchanan"])
    title: str | None = Field(examples=["Sales Manager"])
    title_of_courtesy: str | None
    hire_date: dt.date | None
    city: str | None
    country: str | None
    reports_to: int | None = Field(description="The manager's employee id.", examples=[2])
    manager_name: str | None = Field(examples=["Andrew Fuller"])


class EmployeeDetail(EmployeeItem):
    birth_date: dt.date | None
    address: str | None
    region: str | None
    postal_code: str | None
    home_phone: str | None
    extension: str | None
    notes: str | None
    direct_reports: int = Field(description="Employees reporting to this one.", examples=[3])


class SupplierItem(BaseModel):
    supplier_id: int = Field(examples=[1])
    company_name: str = Field(examples=["Exotic Liquids"])
    contact_name: str | None
    contact_title: str | None
    city: str | None
    country: str | None
    phone: str | None


class SupplierDetail(SupplierItem):
    address: str | None
    region: str | None
    postal_code: str | None
    fax: str | None
    home_page: str | None
    product_count: int = Field(examples=[3])


class CategoryItem(BaseModel):
    category_id: int = Field(examples=[1])
    category_name: str = Field(examples=["Beverages"])
    description: str | None


class CategoryDetail(CategoryItem):
    product_count: int = Field(examples=[12])


class ShipperItem(BaseModel):
    shipper_id: int = Field(examples=[1])
    company_name: str = Field(examples=["Speedy Express"])
    phone: str | None


class ShipperDetail(ShipperItem):
    order_count: int = Field(description="Orders shipped (or to ship) with this shipper.")


def _country_filter(noun: str):
    return (str | None, Field(None, description=f"Exact country of the {noun}, e.g. UK."))


employees = resource_router("/api/employees", "employees")
add_read_routes(
    employees, plural="employees", singular="employee", listing=catalog.EMPLOYEES,
    query=list_query("Employee", catalog.EMPLOYEES, "first name, last name and title",
                     country=_country_filter("employee"),
                     reports_to=(RowIdFilter, Field(None, description="Manager's employee id."))),
    item=EmployeeItem, detail=EmployeeDetail, get=catalog.get_employee, id_type=RowIdPath,
)

suppliers = resource_router("/api/suppliers", "suppliers")
add_read_routes(
    suppliers, plural="suppliers", singular="supplier", listing=catalog.SUPPLIERS,
    query=list_query("Supplier", catalog.SUPPLIERS, "company, contact, city and country",
                     country=_country_filter("supplier")),
    item=SupplierItem, detail=SupplierDetail, get=catalog.get_supplier, id_type=RowIdPath,
)

categories = resource_router("/api/categories", "categories")
add_read_routes(
    categories, plural="categories", singular="category", listing=catalog.CATEGORIES,
    query=list_query("Category", catalog.CATEGORIES, "name and description"),
    item=CategoryItem, detail=CategoryDetail, get=catalog.get_category, id_type=RowIdPath,
)

shippers = resource_router("/api/shippers", "shippers")
add_read_routes(
    shippers, plural="shippers", singular="shipper", listing=catalog.SHIPPERS,
    query=list_query("Shipper", catalog.SHIPPERS, "company name and phone"),
    item=ShipperItem, detail=ShipperDetail, get=catalog.get_shipper, id_type=RowIdPath,
)

ROUTERS: list[APIRouter] = [employees, suppliers, categories, shippers]
