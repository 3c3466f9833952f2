"""/api/orders: the filtered, sorted list (also as a streamed CSV export and per customer or
employee), the detail with lines, and create/replace/update/delete/ship/cancel with stock and
versions. The lifecycle (README "The order lifecycle") is the service's: a forbidden transition
(editing a shipped order's lines, deleting or cancelling a shipped order, changing a
cancelled one) is a 409 whose message says why.

Every rule (status, stock, totals, versions, input checks) is in `services.orders`; this module
maps HTTP onto it. Writes run in `write_transaction` (one transaction, retried after a
deadlock). The version a client last saw may be sent as `version` (body; query for DELETE) or
as an `If-Match` entity tag; detail responses carry it as `ETag`.

Like `routing.py`, no ``from __future__ import annotations``: FastAPI reads the annotations
(which name models built at import time) when the endpoints are defined.
"""

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Annotated, Any, Literal

import anyio
from fastapi import Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from northwind_app.api.deps import DbSession, database_url
from northwind_app.api.errors import describe_pattern, error_responses, json_error_responses
from northwind_app.api.routing import (
    add_history_route, guard_fixed_path, query_model, resource_router,
)
from northwind_app.api.schemas import (
    BODY_CONFIG, CUSTOMER_ID_PATTERN, DateIn, FractionIn, FractionOut, MoneyOut, PageOut,
    RowIdFilter, RowIdPath, column_length, decimal_in, list_query, partial_model, text_in,
)
from northwind_app.api.security import actor_with
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Order
from northwind_app.money import money_str
from northwind_app.services import orders as svc
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import ListParams
from northwind_app.services.validation import MAX_INT

PREFIX = "/api/orders"
OrderStatus = Literal[tuple(svc.STATUSES)]  # type: ignore[valid-type]
STATUS_HELP = ("new: not shipped, not past the required date; late: not shipped, past it; "
               "shipped: shipped on or before it; shipped_late: shipped after it; "
               "cancelled: cancelled before shipping (kept, stock returned, no revenue).")

# --- responses ----------------------------------------------------------------------------


class OrderItem(BaseModel):
    order_id: int = Field(examples=[10248])
    order_date: dt.date | None = Field(examples=["1996-07-04"])
    customer_id: str | None = Field(examples=["VINET"])
    customer_name: str | None = Field(examples=["Vins et alcools Chevalier"])
    employee_id: int | None = Field(examples=[5])
    employee_name: str | None = Field(examples=["Steven Buchanan"])
    ship_country: str | None = Field(examples=["France"])
    shipper_id: int | None = Field(description="The shipper (ship_via).", examples=[3])
    shipper_name: str | None = Field(examples=["Federal Shipping"])
    status: OrderStatus = Field(description=STATUS_HELP)
    required_date: dt.date | None
    shipped_date: dt.date | None
    total: MoneyOut = Field(description="Lines plus freight.")


class OrderLineOut(BaseModel):
    product_id: int = Field(examples=[11])
    product_name: str = Field(examples=["Queso Cabrales"])
    unit_price: MoneyOut
    quantity: int = Field(examples=[12])
    discount: FractionOut
    line_total: MoneyOut = Field(description="unit_price × quantity × (1 − discount).")


class OrderOut(BaseModel):
    order_id: int = Field(examples=[10248])
    version: int = Field(description="Changes with every save; send it back (`version` or "
                                     "If-Match) so that a stale edit is refused.", examples=[1])
    status: OrderStatus = Field(description=STATUS_HELP)
    customer_id: str | None = Field(examples=["VINET"])
    customer_name: str | None = Field(examples=["Vins et alcools Chevalier"])
    employee_id: int | None = Field(examples=[5])
    employee_name: str | None = Field(examples=["Steven Buchanan"])
    order_date: dt.date | None = Field(examples=["1996-07-04"])
    required_date: dt.date | None = Field(examples=["1996-08-01"])
    shipped_date: dt.date | None = Field(examples=["1996-07-16"])
    ship_via: int | None = Field(description="The shipper's id.", examples=[3])
    shipper_name: str | None = Field(examples=["Federal Shipping"])
    ship_name: str | None
    ship_address: str | None
    ship_city: str | None
    ship_region: str | None
    ship_postal_code: str | None
    ship_country: str | None
    lines: list[OrderLineOut]
    subtotal: MoneyOut = Field(description="Sum of the line totals.")
    freight: MoneyOut
    total: MoneyOut = Field(description="subtotal + freight.")
    cancelled_at: dt.datetime | None = Field(None, description=(
        "When the order was cancelled (UTC); null while it is not."))


# --- request bodies -----------------------------------------------------------------------

_ORDER_EXAMPLE = {
    "customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04",
    "required_date": "2026-08-01", "ship_via": 3, "freight": "32.38",
    "ship_name": "Vins et alcools Chevalier", "ship_address": "59 rue de l'Abbaye",
    "ship_city": "Reims", "ship_postal_code": "51100", "ship_country": "France",
    "lines": [{"product_id": 11, "quantity": 12, "unit_price": "14.00"},
              {"product_id": 72, "quantity": 5, "discount": "0.15"}],
}


# Amounts of an order (freight, a line's unit price): 0 to 999,999,999, at most 4 decimals.
AmountIn = decimal_in(digits=9, maximum=999_999_999)
# Ids and quantities: the service checks their ranges (with the body's other rules, all named
# at once); the schema states them.
RowId = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_INT})]


def _ship_text(name: str) -> Any:
    length = column_length(Order.__table__.c[name])
    return text_in(length, description=f"At most {length} characters.")


class LineIn(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"product_id": 72, "quantity": 5, "unit_price": "34.80", "discount": "0.15"}]})

    product_id: RowId = Field(description="An existing product; a discontinued one only if "
                                          "the order already has it; each product once.")
    quantity: int = Field(json_schema_extra={"minimum": 1, "maximum": svc.MAX_QUANTITY},
                          description=(
        f"1 to {svc.MAX_QUANTITY:,}; taken from stock (409 when there is not enough)."))
    unit_price: AmountIn | None = Field(None, description=(
        "0 or more, at most 4 decimals; left out or null: the product's current price."))
    discount: FractionIn | None = Field(None, description=(
        "Fraction from 0 to 1 (\"0.15\" = 15%), at most 4 decimals; default 0."))


class NewOrder(BaseModel):
    """A whole order: header and every line. Optional fields may be left out or null."""

    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [_ORDER_EXAMPLE]})

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN, description=(
        "An existing customer's id (case-insensitive)."))
    employee_id: RowId | None = Field(None, description=(
        "An existing employee; left out or null: the employee your account is linked to "
        "(required when it is not linked)."))
    order_date: DateIn
    required_date: DateIn | None = Field(None, description="Not before the order date.")
    ship_via: RowId | None = Field(None, description="An existing shipper's id.")
    freight: AmountIn | None = Field(None, description="0 or more, at most 4 decimals; "
                                                       "default 0.")
    ship_name: str | None = _ship_text("ship_name")
    ship_address: str | None = _ship_text("ship_address")
    ship_city: str | None = _ship_text("ship_city")
    ship_region: str | None = _ship_text("ship_region")
    ship_postal_code: str | None = _ship_text("ship_postal_code")
    ship_country: str | None = _ship_text("ship_country")
    # (minItems: stated here, checked by the service, whose message says it best.)
    lines: list[LineIn] = Field(json_schema_extra={"minItems": 1},
                                description="At least one; each product once.")


_VERSION_HELP = ("The order's version as last read; a different current version is a 409. "
                 "Left out (and no If-Match): no check.")


class OrderReplacement(NewOrder):
    """A whole order replacing the stored one (fields left out are cleared or defaulted; the
    shipped date is kept)."""

    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {**_ORDER_EXAMPLE, "version": 1}]})

    employee_id: RowId = Field(description="An existing employee.")
    version: int | None = Field(None, description=_VERSION_HELP)


OrderChanges = partial_model(OrderReplacement, "OrderChanges", {
    "required_date": None, "freight": "12.50",
    "lines": [{"product_id": 11, "quantity": 6}], "version": 1})


class ShipIn(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"shipped_date": "2026-07-16", "ship_via": 3, "version": 1}]})

    shipped_date: DateIn = Field(description=(
        "Not before the order date, not after today (the server's date)."))
    ship_via: RowId = Field(description="An existing shipper's id.")
    version: int | None = Field(None, description=_VERSION_HELP)


# What If-Match may be: `*`, or the version as an entity tag ("3", W/"3"; bare 3 is taken
# too). The schema states it; `_expected_version` checks it (naming the header if not).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,10}"|[0-9]{1,10})$'
IfMatch = Annotated[str, Header(json_schema_extra={"pattern": IF_MATCH_PATTERN},
                                       description=(
    'The order\'s version as an entity tag (its ETag, e.g. "3"); a different current version '
    "is a 409. `*` or left out: no check."))]


def _expected_version(if_match: str | None, version: int | None) -> int | None:
    """The version the client expects, from the body/query `version` and/or If-Match."""
    tagged = None
    if if_match is not None:
        if not re.fullmatch(IF_MATCH_PATTERN, if_match.strip(" \t")):
            raise Invalid(fields={"If-Match": 'must be the order\'s version as an entity tag, '
                                                'e.g. "3", or *'})
        tag = if_match.strip(" \t").removeprefix("W/").strip('"')
        tagged = None if tag == "*" else int(tag)
    if tagged is not None and version is not None and tagged != version:
        raise Invalid(fields={"version": f"is {version} but If-Match says {tagged}"})
    return version if version is not None else tagged


def _detail(response: Response, view: svc.OrderDetailView) -> svc.OrderDetailView:
    response.headers["ETag"] = f'"{view.version}"'
    return view


# --- list query models --------------------------------------------------------------------


class _Sorts:
    """The orders list's sort whitelist, for `list_query`."""

    sort_keys = [*svc.SORT_KEYS, *(f"-{key}" for key in svc.SORT_KEYS)]
    default_sort = svc.DEFAULT_SORT


SEARCH_HELP = "order id, customer id or company, ship name and ship city"


def _filters(*leave_out: str) -> dict[str, tuple[Any, Any]]:
    filters = {
        "status": (OrderStatus | None, Field(None, description=STATUS_HELP)),
        "date_from": (DateIn | None, Field(None, description="Ordered on or after (YYYY-MM-DD).")),
        "date_to": (DateIn | None, Field(None, description="Ordered on or before (YYYY-MM-DD).")),
        "customer_id": (str | None, Field(None, max_length=5, description=(
            "Orders of this customer (id, case-insensitive)."))),
        "employee_id": (RowIdFilter, Field(None, description="Orders taken by this employee.")),
        "shipper_id": (RowIdFilter, Field(None, description="Orders shipped via this shipper.")),
        "ship_country": (str | None, Field(None, max_length=30, description=(
            "Exact ship country, e.g. France."))),
        "product_id": (RowIdFilter, Field(None, description="Orders with a line of this product.")),
    }
    return {name: spec for name, spec in filters.items() if name not in leave_out}


# Keyset paging: the `next_cursor` of a page, for the page after it (services/listing.py).
CURSOR_PATTERN = describe_pattern(r"^[A-Za-z0-9_-]*$", "is not a cursor: use a page's "
                                                       "next_cursor")
AFTER = (str | None, Field(None, max_length=200, pattern=CURSOR_PATTERN, description=(
    "A page's `next_cursor`: return the rows after it (same sort and filters; not with "
    "`offset`). Sorts by " + ", ".join(svc.CURSOR_SORTS) + " (either direction) page by "
    "cursor. A cursor is URL-safe base64 (without padding).")))

OrderListQuery = list_query("Order", _Sorts, SEARCH_HELP, after=AFTER, **_filters())
OrderExportQuery = list_query("Order", _Sorts, SEARCH_HELP, paged=False, **_filters())
CustomerOrderListQuery = list_query("CustomerOrder", _Sorts, SEARCH_HELP, after=AFTER,
                                    **_filters("customer_id"))
EmployeeOrderListQuery = list_query("EmployeeOrder", _Sorts, SEARCH_HELP, after=AFTER,
                                    **_filters("employee_id"))

CustomerIdPath = Annotated[str, Path(description="Five-letter customer id (case-insensitive).",
                                      examples=["VINET"])]


def _with_filter(params: ListParams, name: str, value: Any) -> ListParams:
    return replace(params, filters={**params.filters, name: value})


# --- CSV export ---------------------------------------------------------------------------

CSV_COLUMNS = ("order_id", "order_date", "customer_id", "customer_name", "employee_id",
               "employee_name", "ship_country", "shipper_name", "status", "required_date",
               "shipped_date", "total")
CSV_CHUNK = 64 * 1024  # characters per chunk sent


class CSVResponse(StreamingResponse):
    media_type = "text/csv"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # A spreadsheet would run "=HYPERLINK(...)" typed into a name: keep it text.
        return "'" + value
    return value


def _csv_row(row: svc.OrderRow) -> list[Any]:
    values = {name: _csv_value(getattr(row, name, None)) for name in CSV_COLUMNS}
    values["total"] = money_str(row.total)
    return [values[name] for name in CSV_COLUMNS]


def csv_chunks(url: str | None, params: ListParams) -> Iterator[str]:
    """The export as text chunks of about CSV_CHUNK characters, from its own session (the
    request's would be closed before the body is sent). Rows are fetched in batches by
    `iter_orders` and written as they come: memory stays flat however many rows match.
    The first chunk is only produced once the query has run (and its first row is read)."""
    with session_scope(url) as session:
        rows = svc.iter_orders(session, params)
        first = next(rows, None)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        if first is not None:
            writer.writerow(_csv_row(first))
            for row in rows:
                if buffer.tell() >= CSV_CHUNK:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
                writer.writerow(_csv_row(row))
        yield buffer.getvalue()


async def _send(first: str, chunks: Iterator[str]) -> AsyncIterator[str]:
    """Each further chunk is made in a worker thread (the database is synchronous); the
    generator is closed there too, also when the client goes away mid-download."""
    try:
        yield first
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(chunks.close)


# --- endpoints ----------------------------------------------------------------------------
# The fixed paths (export.csv, customer/..., employee/...) are declared before /{id}.

router = resource_router(PREFIX, "orders")
OrderWriter = actor_with(Permission.WRITE_ORDERS)


@router.get("", response_model=PageOut[OrderItem], name="list_orders", summary="List orders",
            responses=error_responses(422))
def list_orders(params: query_model(OrderListQuery), session: DbSession):
    return svc.list_orders(session, params.list_params())


@router.get(
    "/export.csv", response_class=CSVResponse, name="export_orders_csv",
    summary="Export the filtered, sorted list as CSV (every matching row, streamed)",
    responses={200: {"description": "CSV with a header row: " + ",".join(CSV_COLUMNS),
                     "content": {"text/csv": {"schema": {"type": "string"}}}},
               **json_error_responses(401, 422, 500, 503)},
)
def export_orders_csv(params: query_model(OrderExportQuery), request: Request):
    checked = svc.checked_params(params.list_params())  # a 422 now, not a broken download
    chunks = csv_chunks(database_url(request), checked)
    first = next(chunks)  # runs the query here: an unreachable database is still a 503
    return CSVResponse(_send(first, chunks),
                       headers={"Content-Disposition": 'attachment; filename="orders.csv"'})


guard_fixed_path(router, "/export.csv")  # PUT, PATCH, DELETE there: 405, not order "export.csv"


@router.get("/customer/{customer_id}", response_model=PageOut[OrderItem],
            name="list_customer_orders", summary="List one customer's orders",
            responses=error_responses(404, 422))
def list_customer_orders(customer_id: CustomerIdPath,
                         params: query_model(CustomerOrderListQuery), session: DbSession):
    found = svc.existing_customer_id(session, customer_id)
    return svc.list_orders(session, _with_filter(params.list_params(), "customer_id", found))


@router.get("/employee/{employee_id}", response_model=PageOut[OrderItem],
            name="list_employee_orders", summary="List the orders one employee took",
            responses=error_responses(404, 422))
def list_employee_orders(employee_id: RowIdPath,
                         params: query_model(EmployeeOrderListQuery), session: DbSession):
    svc.require_employee(session, employee_id)
    return svc.list_orders(session, _with_filter(params.list_params(), "employee_id",
                                                 employee_id))


@router.get("/{id}", response_model=OrderOut, name="get_order", summary="Get one order",
            responses=error_responses(404, 422))
def get_order(id: RowIdPath, session: DbSession, response: Response):  # noqa: A002
    return _detail(response, svc.get_order(session, id))


@router.post("", response_model=OrderOut, status_code=201, name="create_order",
             summary="Create an order (takes its quantities from stock)",
             responses=error_responses(400, 403, 409, 422))
def create_order(actor: OrderWriter, body: NewOrder, request: Request, response: Response):
    raw = body.model_dump(exclude_unset=True)

    def create(session) -> svc.OrderDetailView:
        return svc.get_order(session, svc.save_order(session, None, raw, actor=actor).order_id)

    view = write_transaction(create, database_url(request))
    response.headers["Location"] = f"{PREFIX}/{view.order_id}"
    return _detail(response, view)


def _revise(request: Request, actor: Actor, order_id: int, body: BaseModel,
            if_match: str | None, *, partial: bool) -> svc.OrderDetailView:
    changes = body.model_dump(exclude_unset=True)
    expected = _expected_version(if_match, changes.pop("version", None))

    def revise(session) -> svc.OrderDetailView:
        svc.save_order(session, order_id, changes, expected, actor=actor, partial=partial)
        return svc.get_order(session, order_id)

    return write_transaction(revise, database_url(request))


@router.put("/{id}", response_model=OrderOut, name="replace_order",
            summary="Replace an order and all its lines (stock moves by the difference)",
            responses=error_responses(400, 403, 404, 409, 422))
def replace_order(actor: OrderWriter, id: RowIdPath, body: OrderReplacement,  # noqa: A002
                  request: Request, response: Response, if_match: IfMatch = None):
    return _detail(response, _revise(request, actor, id, body, if_match, partial=False))


@router.patch("/{id}", response_model=OrderOut, name="update_order",
              summary="Change some fields of an order (null clears an optional field; "
                      "lines, when given, replace all lines)",
              responses=error_responses(400, 403, 404, 409, 422))
def update_order(actor: OrderWriter, id: RowIdPath, body: OrderChanges,  # noqa: A002
                 request: Request, response: Response, if_match: IfMatch = None):
    return _detail(response, _revise(request, actor, id, body, if_match, partial=True))


@router.delete("/{id}", status_code=204, response_class=Response, name="delete_order",
               summary="Delete an order that never shipped (an open one's quantities go back "
                       "to stock; 409 for a shipped order: cancel or keep it)",
               responses=error_responses(403, 404, 409, 422))
def delete_order(actor: OrderWriter, id: RowIdPath, request: Request,  # noqa: A002
                 if_match: IfMatch = None,
                 version: Annotated[int | None, Query(description=_VERSION_HELP)] = None):
    expected = _expected_version(if_match, version)
    write_transaction(lambda session: svc.delete_order(session, id, expected, actor=actor),
                      database_url(request))
    return Response(status_code=204)


@router.post("/{id}/ship", response_model=OrderOut, name="ship_order",
             summary="Mark an order shipped (409 if it already is)",
             responses=error_responses(400, 403, 404, 409, 422))
def ship_order(actor: OrderWriter, id: RowIdPath, body: ShipIn, request: Request,  # noqa: A002
               response: Response, if_match: IfMatch = None):
    expected = _expected_version(if_match, body.version)

    def ship(session) -> svc.OrderDetailView:
        svc.ship_order(session, id, body.shipped_date, body.ship_via, expected, actor=actor)
        return svc.get_order(session, id)

    return _detail(response, write_transaction(ship, database_url(request)))


class CancelIn(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [{"version": 1}]})

    version: int | None = Field(None, description=_VERSION_HELP)


@router.post("/{id}/cancel", response_model=OrderOut, name="cancel_order",
             summary="Cancel an order that has not shipped (kept with status cancelled; its "
                     "quantities go back to stock; 409 if it has shipped or is cancelled)",
             responses=error_responses(400, 403, 404, 409, 422))
def cancel_order(actor: OrderWriter, id: RowIdPath, request: Request,  # noqa: A002
                 response: Response, body: CancelIn | None = None, if_match: IfMatch = None):
    expected = _expected_version(if_match, body.version if body is not None else None)

    def cancel(session) -> svc.OrderDetailView:
        svc.cancel_order(session, id, expected, actor=actor)
        return svc.get_order(session, id)

    return _detail(response, write_transaction(cancel, database_url(request)))


add_history_route(router, entity="order", singular="order", id_type=RowIdPath)
