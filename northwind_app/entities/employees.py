"""Employees: listed with their manager, filtered by country; read only on the screens; an
employee's page lists their orders."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Filter, Related, text
from northwind_app.services import catalog
from northwind_app.ui.format import date_text
from northwind_app.ui.table import Column


def employee_row(r: dict) -> dict[str, str]:
    return {"employee_id": str(r["employee_id"]), "href": f"/employees/{r['employee_id']}",
            "name": f"{r['first_name']} {r['last_name']}", "title": text(r["title"]),
            "hire_date": date_text(r["hire_date"]), "city": text(r["city"]),
            "country": text(r["country"]), "manager": text(r["manager_name"]),
            "manager_href": f"/employees/{r['reports_to']}" if r["reports_to"] else ""}


EMPLOYEES = Entity(
    name="employees", noun="employee", title="Employees",
    listing=catalog.EMPLOYEES,
    columns=(
        Column("name", "Name", sort="last_name", link="href"),
        Column("title", "Title", sort="title"),
        Column("manager", "Reports to", link="manager_href"),
        Column("hire_date", "Hired", sort="hire_date"),
        Column("city", "City"),
        Column("country", "Country", sort="country"),
    ),
    row=employee_row,
    search_placeholder="Name or title",
    filters=(Filter("country", "Country", "employee_countries"),),
    get=catalog.get_employee,
    related=(Related("orders", "Orders", "Order id, customer, ship name or city", "orders",
                     "employee_id", hide=("employee",)),),
)
