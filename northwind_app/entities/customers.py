"""Customers: listed, searched by id, company, contact, city or country; created, edited and
deleted by roles that may write records; a customer's page lists its orders."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Field, Filter, Related, text
from northwind_app.services import customers
from northwind_app.services.auth import Permission
from northwind_app.ui.table import Column


def customer_row(r: dict) -> dict[str, str]:
    return {"customer_id": r["customer_id"], "href": f"/customers/{r['customer_id']}",
            "company_name": r["company_name"], "contact_name": text(r["contact_name"]),
            "contact_title": text(r["contact_title"]), "city": text(r["city"]),
            "country": text(r["country"]), "phone": text(r["phone"])}


CUSTOMERS = Entity(
    name="customers", noun="customer", title="Customers",
    listing=customers.CUSTOMERS,
    columns=(
        Column("customer_id", "ID", sort="customer_id", link="href"),
        Column("company_name", "Company", sort="company_name", link="href"),
        Column("contact_name", "Contact", sort="contact_name"),
        Column("contact_title", "Title"),
        Column("city", "City", sort="city"),
        Column("country", "Country", sort="country"),
        Column("phone", "Phone"),
    ),
    row=customer_row,
    search_placeholder="ID, company, contact, city or country",
    filters=(Filter("country", "Country", "customer_countries"),),
    key_type=str,
    get=customers.get_customer,
    fields=(
        Field("customer_id", "Customer ID (5 letters)", new_only=True),
        Field("company_name", "Company"), Field("contact_name", "Contact"),
        Field("contact_title", "Contact title"), Field("address", "Address"),
        Field("city", "City"), Field("region", "Region"), Field("postal_code", "Postal code"),
        Field("country", "Country"), Field("phone", "Phone"), Field("fax", "Fax"),
    ),
    create=customers.create_customer,
    replace=customers.replace_customer,
    delete=customers.delete_customer,
    may_create=Permission.WRITE_RECORDS,
    may_edit=Permission.WRITE_RECORDS,
    may_delete=Permission.WRITE_RECORDS,
    related=(Related("orders", "Orders", "Order id, ship name or city", "orders", "customer_id",
                     hide=("customer",)),),
)
