"""Reference data that is read, not edited, here: employees, suppliers, categories, shippers.

Each entity has a `Listing` (see `services.listing`) and a `get_*` returning one row with
its details as a dict (NotFound when the id is unknown).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from northwind_app.db.models import (
    Category, Customer, Employee, EmployeeTerritory, Order, Product, Region, Shipper, Supplier,
    Territory,
)
from northwind_app.services.listing import Listing
from northwind_app.services.records import fetch_one
from northwind_app.services.validation import row_id

# --- employees ---------------------------------------------------------------------------

Manager = aliased(Employee, name="manager")
MANAGER_NAME = (Manager.first_name + " " + Manager.last_name).label("manager_name")
_MANAGER_JOIN = (Manager, Manager.employee_id == Employee.reports_to)

EMPLOYEES = Listing(
    stmt=select(
        Employee.employee_id, Employee.first_name, Employee.last_name, Employee.title,
        Employee.title_of_courtesy, Employee.hire_date, Employee.city, Employee.country,
        Employee.reports_to, MANAGER_NAME,
    ).outerjoin(*_MANAGER_JOIN),
    sorts={"last_name": Employee.last_name, "first_name": Employee.first_name,
           "title": Employee.title, "hire_date": Employee.hire_date,
           "country": Employee.country, "employee_id": Employee.employee_id},
    default_sort="last_name",
    tie_breaker=Employee.employee_id,
    search=[Employee.first_name, Employee.last_name, Employee.title],
    filters={"country": lambda value: Employee.country == value,
             "reports_to": lambda value: Employee.reports_to == row_id(value)},
)

_EMPLOYEE_DETAIL_COLUMNS = [c for c in Employee.__table__.c if c.name != "photo_path"]


def get_employee(session: Session, employee_id: int) -> dict[str, Any]:
    employee = fetch_one(
        session,
        select(*_EMPLOYEE_DETAIL_COLUMNS, MANAGER_NAME).outerjoin(*_MANAGER_JOIN)
        .where(Employee.employee_id == employee_id),
        f"Employee {employee_id} does not exist.",
    )
    employee["direct_reports"] = session.execute(
        select(func.count()).where(Employee.reports_to == employee_id)).scalar_one()
    return employee


def employee_relations(session: Session, employee_id: int) -> dict[str, list[tuple]]:
    """An employee's direct reports (id, first, last, title) and territories
    (territory id, description, region), each ordered for display."""
    reports = session.execute(
        select(Employee.employee_id, Employee.first_name, Employee.last_name, Employee.title)
        .where(Employee.reports_to == employee_id).order_by(Employee.last_name)).all()
    territories = session.execute(
        select(Territory.territory_id, Territory.territory_description, Region.region_description)
        .join(EmployeeTerritory, EmployeeTerritory.territory_id == Territory.territory_id)
        .join(Region, Region.region_id == Territory.region_id)
        .where(EmployeeTerritory.employee_id == employee_id)
        .order_by(Region.region_description, Territory.territory_description)).all()
    return {"reports": [tuple(r) for r in reports], "territories": [tuple(t) for t in territories]}


# --- filter choices ----------------------------------------------------------------------

def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """(value, label) choices for the lists' filters: countries, categories, suppliers."""
    def distinct(column):
        return [(c, c) for c in session.execute(
            select(column).where(column.is_not(None)).group_by(column).order_by(column)).scalars()]
    return {
        "customer_countries": distinct(Customer.country),
        "supplier_countries": distinct(Supplier.country),
        "employee_countries": distinct(Employee.country),
        "categories": [(str(i), n) for i, n in session.execute(
            select(Category.category_id, Category.category_name).order_by(Category.category_name))],
        "suppliers": [(str(i), n) for i, n in session.execute(
            select(Supplier.supplier_id, Supplier.company_name).order_by(Supplier.company_name))],
    }


# --- suppliers ---------------------------------------------------------------------------

SUPPLIERS = Listing(
    stmt=select(Supplier.supplier_id, Supplier.company_name, Supplier.contact_name,
                Supplier.contact_title, Supplier.city, Supplier.country, Supplier.phone),
    sorts={"company_name": Supplier.company_name, "contact_name": Supplier.contact_name,
           "city": Supplier.city, "country": Supplier.country,
           "supplier_id": Supplier.supplier_id},
    default_sort="company_name",
    tie_breaker=Supplier.supplier_id,
    search=[Supplier.company_name, Supplier.contact_name, Supplier.city, Supplier.country],
    filters={"country": lambda value: Supplier.country == value},
)


def get_supplier(session: Session, supplier_id: int) -> dict[str, Any]:
    supplier = fetch_one(session, select(*Supplier.__table__.c)
                         .where(Supplier.supplier_id == supplier_id),
                         f"Supplier {supplier_id} does not exist.")
    supplier["product_count"] = session.execute(
        select(func.count()).where(Product.supplier_id == supplier_id)).scalar_one()
    return supplier


# --- categories --------------------------------------------------------------------------

CATEGORIES = Listing(
    stmt=select(Category.category_id, Category.category_name, Category.description),
    sorts={"category_name": Category.category_name, "category_id": Category.category_id},
    default_sort="category_name",
    tie_breaker=Category.category_id,
    search=[Category.category_name, Category.description],
)


def get_category(session: Session, category_id: int) -> dict[str, Any]:
    category = fetch_one(session, select(*Category.__table__.c)
                         .where(Category.category_id == category_id),
                         f"Category {category_id} does not exist.")
    category["product_count"] = session.execute(
        select(func.count()).where(Product.category_id == category_id)).scalar_one()
    return category


# --- shippers ----------------------------------------------------------------------------

SHIPPERS = Listing(
    stmt=select(Shipper.shipper_id, Shipper.company_name, Shipper.phone),
    sorts={"company_name": Shipper.company_name, "shipper_id": Shipper.shipper_id},
    default_sort="company_name",
    tie_breaker=Shipper.shipper_id,
    search=[Shipper.company_name, Shipper.phone],
)


def get_shipper(session: Session, shipper_id: int) -> dict[str, Any]:
    shipper = fetch_one(session, select(*Shipper.__table__.c)
                        .where(Shipper.shipper_id == shipper_id),
                        f"Shipper {shipper_id} does not exist.")
    shipper["order_count"] = session.execute(
        select(func.count()).where(Order.ship_via == shipper_id)).scalar_one()
    return shipper
