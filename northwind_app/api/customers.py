"""/api/customers: list, detail with order statistics, create/replace/update/delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from northwind_app.api.routing import (
    add_history_route, add_read_routes, add_write_routes, resource_router,
)
from northwind_app.api.schemas import (
    BODY_CONFIG, CUSTOMER_ID_PATTERN, MoneyOut, column_length, list_query, partial_model, text_in,
)
from northwind_app.services import customers
from northwind_app.services.auth import Permission

CustomerId = Annotated[str, Path(description="Five-letter customer id (case-insensitive).",
                                 examples=["ALFKI"])]


class CustomerItem(BaseModel):
    customer_id: str = Field(examples=["ALFKI"])
    company_name: str = Field(examples=["Alfreds Futterkiste"])
    contact_name: str | None
    contact_title: str | None
    city: str | None
    region: str | None
    country: str | None
    phone: str | None


class CustomerDetail(CustomerItem):
    address: str | None
    postal_code: str | None
    fax: str | None
    order_count: int = Field(examples=[6])
    revenue: MoneyOut = Field(description="Sum of the customer's order subtotals (line values, "
                                          "without freight).")
    first_order_date: dt.date | None
    last_order_date: dt.date | None


_EXAMPLE = {"company_name": "Alfreds Futterkiste", "contact_name": "Maria Anders",
            "contact_title": "Sales Representative", "address": "Obere Str. 57",
            "city": "Berlin", "postal_code": "12209", "country": "Germany",
            "phone": "030-0074321", "fax": "030-0076545"}


class CustomerFields(BaseModel):
    """Every field but the id; optional ones may be left out or null (stored empty)."""

    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [_EXAMPLE]})

    company_name: str = text_in(column_length(customers.COLUMNS.company_name), required=True,
                                description="Required; at most 40 characters.")
    contact_name: str | None = text_in(column_length(customers.COLUMNS.contact_name))
    contact_title: str | None = text_in(column_length(customers.COLUMNS.contact_title))
    address: str | None = text_in(column_length(customers.COLUMNS.address))
    city: str | None = text_in(column_length(customers.COLUMNS.city))
    region: str | None = text_in(column_length(customers.COLUMNS.region))
    postal_code: str | None = text_in(column_length(customers.COLUMNS.postal_code))
    country: str | None = text_in(column_length(customers.COLUMNS.country))
    phone: str | None = text_in(column_length(customers.COLUMNS.phone))
    fax: str | None = text_in(column_length(customers.COLUMNS.fax))


class NewCustomer(CustomerFields):
    model_config = ConfigDict(
        **BODY_CONFIG,
        json_schema_extra={"examples": [{"customer_id": "NWTRD", **_EXAMPLE,
                                         "company_name": "Northwind Traders"}]},
    )

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN,
                             description="Exactly 5 letters A-Z (uppercased); unique.")


CustomerChanges = partial_model(CustomerFields, "CustomerChanges",
                                {"phone": "030-0074322", "city": "Berlin"})

router = resource_router("/api/customers", "customers")

add_read_routes(
    router, plural="customers", singular="customer", listing=customers.CUSTOMERS,
    query=list_query("Customer", customers.CUSTOMERS, "id, company, contact, city and country",
                     country=(str | None, Field(None, description="Exact country, e.g. Germany."))),
    item=CustomerItem, detail=CustomerDetail, get=customers.get_customer, id_type=CustomerId,
)
add_write_routes(
    router, singular="customer", detail=CustomerDetail, id_type=CustomerId,
    id_field="customer_id", new_body=NewCustomer, replace_body=CustomerFields,
    patch_body=CustomerChanges, permission=Permission.WRITE_RECORDS,
    create=customers.create_customer, replace=customers.replace_customer,
    update=customers.update_customer, delete=customers.delete_customer,
)
add_history_route(router, entity="customer", singular="customer", id_type=CustomerId,
                  key=customers.customer_key)
