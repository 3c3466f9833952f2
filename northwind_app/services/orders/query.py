"""The orders list: filters, sorts, cursors, the count, and the page query.

`list_orders` reads one page (SQL does the filtering, sorting and paging; sorts by another
table's name or by status walk their groups on large lists); `iter_orders` streams every
match (CSV export). The search condition is search.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields as dataclass_fields, replace
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, func, literal, select
from sqlmodel import Session

from northwind_app.db.fastpath import kept_statements
from northwind_app.db.models import (
    Customer, Employee, Order, OrderDetail, SalesMonthEmployee, Shipper,
)
from northwind_app.services.customers import customer_key
from northwind_app.services.errors import NotFound, Invalid
from northwind_app.services.listing import (
    ListParams, Page, PageQuery, after_condition, decode_cursor, encode_cursor, fetch_page,
    sort_clauses, walk_keys,
)
from northwind_app.services.orders.status import (
    SHIPPED, SHIPPED_LATE, STATUSES, status_condition, status_of, status_rank,
)
from northwind_app.services.validation import MAX_INT
from northwind_app.services.orders.search import search_condition


ORDER_TOTAL = Order.total


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer_id: str | None = None
    employee_id: int | None = None
    shipper_id: int | None = None
    ship_country: str | None = None
    product_id: int | None = None  # orders with a line of this product

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> OrderFilters:
        """From query-string style values (strings, empty = no filter); errors name the field."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        def text(name):
            value = raw.get(name)
            return str(value).strip() if value not in (None, "") else None

        for name in ("status", "customer_id", "ship_country"):
            values[name] = text(name)
        if values["customer_id"]:
            values["customer_id"] = values["customer_id"].upper()  # ids are case-insensitive
        if values["status"] and values["status"] not in STATUSES:
            errors["status"] = f"must be one of: {', '.join(STATUSES)}"
        for name in ("employee_id", "shipper_id", "product_id"):
            value = text(name)
            if value is not None:
                try:
                    values[name] = int(value)
                except ValueError:
                    errors[name] = "must be a whole number"
                else:
                    if abs(values[name]) > MAX_INT:
                        errors[name] = f"must be at most {MAX_INT:,}"
        for name in ("date_from", "date_to"):
            value = text(name)
            if value is not None:
                try:
                    values[name] = dt.date.fromisoformat(value)
                except ValueError:
                    errors[name] = "must be a date (YYYY-MM-DD)"
        if not errors and values.get("date_from") and values.get("date_to") \
                and values["date_from"] > values["date_to"]:
            errors["date_to"] = "must not be before date_from"
        if errors:
            raise Invalid(fields=errors)
        return cls(**values)


@dataclass
class OrderRow:
    order_id: int
    order_date: dt.date | None
    customer_id: str | None
    customer_name: str | None
    employee_id: int | None
    employee_name: str | None
    ship_country: str | None
    shipper_id: int | None
    shipper_name: str | None
    status: str
    required_date: dt.date | None
    shipped_date: dt.date | None
    total: Decimal


EMPLOYEE_NAME = (Employee.first_name + literal(" ") + Employee.last_name)


# The list's columns and joins, built once; each request adds its conditions.
_LIST_STATEMENT = (
    select(
        Order.order_id, Order.order_date, Order.customer_id,
        Customer.company_name.label("customer_name"),
        Order.employee_id, EMPLOYEE_NAME.label("employee_name"),
        Order.ship_country, Order.ship_via,
        Shipper.company_name.label("shipper_name"),
        Order.required_date, Order.shipped_date, ORDER_TOTAL, Order.cancelled_at,
    )
    .select_from(Order)
    .join(Customer, Customer.customer_id == Order.customer_id)
    .join(Employee, Employee.employee_id == Order.employee_id)
    .outerjoin(Shipper, Shipper.shipper_id == Order.ship_via)
)


def _where(filters: OrderFilters, search: str | None, today: dt.date,
           session: Session) -> list:
    conditions = []
    if filters.status:
        conditions.append(status_condition(filters.status, today))
    if filters.date_from:
        conditions.append(Order.order_date >= filters.date_from)
    if filters.date_to:
        conditions.append(Order.order_date <= filters.date_to)
    if filters.customer_id:
        conditions.append(Order.customer_id == filters.customer_id)
    if filters.employee_id is not None:
        conditions.append(Order.employee_id == filters.employee_id)
    if filters.shipper_id is not None:
        conditions.append(Order.ship_via == filters.shipper_id)
    if filters.ship_country:
        conditions.append(Order.ship_country == filters.ship_country)
    if filters.product_id is not None:
        conditions.append(Order.order_id.in_(
            select(OrderDetail.order_id).where(OrderDetail.product_id == filters.product_id)))
    text = (search or "").strip()
    if text:
        conditions.append(search_condition(session, text))
    return conditions


class NameSort(NamedTuple):
    """A sort by another table's name: orders by `label`, then by the row's id (`key`,
    which the order holds as `foreign_key`), so each one's orders stay together."""

    table: Any
    key: Any
    label: Any
    foreign_key: Any
    optional: bool = False  # orders may have none (outer join; NULL sorts lowest)

    @property
    def columns(self) -> tuple:
        return self.label, self.foreign_key


NAME_SORTS = {
    "customer": NameSort(Customer, Customer.customer_id, Customer.company_name,
                         Order.customer_id),
    "employee": NameSort(Employee, Employee.employee_id, EMPLOYEE_NAME, Order.employee_id),
    "shipper": NameSort(Shipper, Shipper.shipper_id, Shipper.company_name, Order.ship_via,
                        optional=True),
}


class SortColumns(Mapping):
    """Sort key → SQL expression (the keys are SORT_KEYS). Built on demand: a request sorts
    by one key, and the status expression alone costs more to build than its query."""

    def __init__(self, today: dt.date):
        self.today = today

    def __getitem__(self, key: str):
        if key == "status":
            return status_rank(self.today)
        return _SORT_COLUMNS[key]

    def __contains__(self, key: object) -> bool:
        return key in _SORT_COLUMNS

    def __iter__(self):
        return iter(SORT_KEYS)

    def __len__(self) -> int:
        return len(SORT_KEYS)


_SORT_COLUMNS = {
    "order_id": Order.order_id,
    "order_date": Order.order_date,
    # By name, then by the id, so the first pages can be read one customer (employee,
    # shipper) at a time (see _sort_groups).
    "customer": NAME_SORTS["customer"].columns,
    "employee": NAME_SORTS["employee"].columns,
    "ship_country": Order.ship_country,
    "shipper": NAME_SORTS["shipper"].columns,
    "status": None,  # depends on the day: SortColumns builds it
    "required_date": Order.required_date,
    "shipped_date": Order.shipped_date,
    "total": ORDER_TOTAL,
}
SORT_KEYS: tuple[str, ...] = tuple(_SORT_COLUMNS)


def sort_columns(today: dt.date) -> Mapping:
    """Sort key → SQL expression, for sorting as of `today`."""
    return SortColumns(today)


# OrderRow's fields in order: `_row` passes them by position (half the CPU of keywords for a
# page of 50), so a change of the class's fields must change `_row` too.
_ROW_FIELDS = ("order_id", "order_date", "customer_id", "customer_name", "employee_id",
               "employee_name", "ship_country", "shipper_id", "shipper_name", "status",
               "required_date", "shipped_date", "total")
if tuple(f.name for f in dataclass_fields(OrderRow)) != _ROW_FIELDS:
    raise RuntimeError("OrderRow's fields changed: update query._row and _ROW_FIELDS")


def _row(today: dt.date):
    def build(r) -> OrderRow:
        return OrderRow(  # by position: _ROW_FIELDS
            r.order_id, r.order_date, r.customer_id, r.customer_name, r.employee_id,
            r.employee_name, r.ship_country, r.ship_via, r.shipper_name,
            status_of(r.shipped_date, r.required_date, today, r.cancelled_at),
            r.required_date, r.shipped_date, r.total,
        )
    return build


DEFAULT_SORT = "-order_date"

# Sorts on a column of the orders table itself can page by cursor (see listing.py); each has
# an index on (column, order_id) or is the key. The value parser reads a cursor's text back.
CURSOR_SORTS: dict[str, tuple[Any, Any]] = {
    "order_id": (Order.order_id, int),
    "order_date": (Order.order_date, dt.date.fromisoformat),
    "required_date": (Order.required_date, dt.date.fromisoformat),
    "shipped_date": (Order.shipped_date, dt.date.fromisoformat),
    "ship_country": (Order.ship_country, str),
    "total": (Order.total, Decimal),
}


def _sort(params: ListParams) -> tuple[str, str, bool]:
    """(the sort as given or the default, its field name, descending)."""
    sort = (params.sort or DEFAULT_SORT).strip()
    return sort, sort.lstrip("-+"), sort.startswith("-")


def _parsed(params: ListParams) -> ListParams:
    """`params` with its filters as OrderFilters (Invalid naming a bad one)."""
    if isinstance(params.filters, OrderFilters):
        return params
    return replace(params, filters=OrderFilters.parse(params.filters or {}))


def _cursor_of(params: ListParams) -> tuple[Any, int] | None:
    """(sort value, id) of `params.after` (Invalid naming `after` for a bad one or a
    sort without cursors), or None without a cursor."""
    if not params.after:
        return None
    sort, name, _descending = _sort(params)
    if name not in CURSOR_SORTS:
        raise Invalid(fields={"after": "cursor paging needs a sort by one of: "
                                         + ", ".join(CURSOR_SORTS) + "; use offset for this sort"})
    return decode_cursor(params.after, sort, CURSOR_SORTS[name][1])


# A cursor's sort value and id are bound parameters: every cursor of a view (its filters and
# sort) shares its statements. Only whether there is a cursor, and whether its sort value is
# NULL (rows without one: a different condition), shape them.
AFTER_VALUE, AFTER_KEY = "after_value", "after_key"
NO_CURSOR, CURSOR, NULL_CURSOR = None, "cursor", "null"


def _cursor_shape(cursor: tuple[Any, int] | None) -> str | None:
    """NO_CURSOR, CURSOR or NULL_CURSOR (a cursor in the rows without a sort value)."""
    if cursor is None:
        return NO_CURSOR
    return NULL_CURSOR if cursor[0] is None else CURSOR


def _cursor_binds(cursor: tuple[Any, int] | None) -> dict[str, Any]:
    """The values of `_cursor_condition`'s parameters for `cursor` ((sort value, id))."""
    if cursor is None:
        return {}
    value, key = cursor
    return {AFTER_KEY: key} if value is None else {AFTER_VALUE: value, AFTER_KEY: key}


def _cursor_condition(params: ListParams, shape: str | None):
    """The WHERE condition for the rows after a cursor of `shape` (see `_cursor_shape`) in
    `params.sort`, its sort value and id bound as AFTER_VALUE and AFTER_KEY."""
    if shape is NO_CURSOR:
        return None
    _sort_text, name, descending = _sort(params)
    column = CURSOR_SORTS[name][0]
    value = None if shape == NULL_CURSOR else bindparam(AFTER_VALUE, type_=column.type)
    return after_condition(column, value, Order.order_id, bindparam(AFTER_KEY, type_=Integer),
                           descending)


def next_cursor(params: ListParams, page: Page[OrderRow]) -> str | None:
    """Where the page after `page` starts, when its sort allows cursors and it was full."""
    sort, name, _descending = _sort(params)
    if name not in CURSOR_SORTS or len(page.items) < page.limit or not page.items:
        return None
    last = page.items[-1]
    value = last.order_id if name == "order_id" else getattr(last, name)
    return encode_cursor(sort, value, last.order_id)


# The monthly employee rollup counts every dated order, and those shipped on time and late.
_ROLLUP_COUNTS = {None: SalesMonthEmployee.orders, SHIPPED: SalesMonthEmployee.shipped,
                  SHIPPED_LATE: SalesMonthEmployee.shipped_late}


def count_all_orders(status: str | None = None, employee_id: int | None = None):
    """SELECT of the exact number of orders — with `status` (None, shipped or shipped_late),
    of `employee_id` when given — without COUNT(*) over the table (InnoDB would read a
    million index entries): the rollup counts the dated orders but the cancelled ones, the
    undated ones are counted from an index, and so are the (few) cancelled dated ones, which
    only the unfiltered count includes (a cancelled order never shipped)."""
    rolled = select(func.sum(_ROLLUP_COUNTS[status]))
    undated = select(func.count()).select_from(Order).where(Order.order_date.is_(None))
    cancelled = select(func.count()).select_from(Order).where(
        Order.cancelled_at.is_not(None), Order.order_date.is_not(None))
    if status is not None:
        undated = undated.where(status_condition(status, dt.date.min))  # day-free statuses
    if employee_id is not None:
        rolled = rolled.where(SalesMonthEmployee.employee_id == employee_id)
        undated = undated.where(Order.employee_id == employee_id)
        cancelled = cancelled.where(Order.employee_id == employee_id)
    count = func.coalesce(rolled.scalar_subquery(), 0) + undated.scalar_subquery()
    if status is None:
        count = count + cancelled.scalar_subquery()
    return select(count)


def _rollup_countable(filters: OrderFilters, search: str | None) -> bool:
    """Whether count_all_orders can count these matches: no search, and no filter but a
    status it counts and the employee."""
    return (not (search or "").strip() and filters.status in _ROLLUP_COUNTS
            and replace(filters, status=None, employee_id=None) == OrderFilters())


class _View(NamedTuple):
    """A list view's statements: `query` reads its pages; `stmt` (every column, no order)
    and `narrow` (ids, with the joins the sort needs) carry its conditions."""

    stmt: Any
    narrow: Any
    order_by: list
    query: PageQuery


def _filtered(params: ListParams, today: dt.date, session: Session) -> tuple[_View, dict]:
    """The statements of a list request's view and the values to bind to them. Views without
    a search are kept (db/fastpath `kept_statements`): their statements are the same every
    time, a cursor's value and id being bound parameters. (A search looks its values up in
    the database, so its statements are made for the one request.)"""
    params = _parsed(params)
    cursor = _cursor_of(params)
    shape = _cursor_shape(cursor)
    if (params.search or "").strip():
        return _build_view(params.filters, params.search, params.sort, today, session,
                           cursor=shape), _cursor_binds(cursor)
    return _kept_view(params.filters, params.sort, today, shape), _cursor_binds(cursor)


@kept_statements
def _kept_view(filters: OrderFilters, sort: str | None, today: dt.date,
               cursor: str | None) -> _View:
    return _build_view(filters, None, sort, today, None, cursor=cursor)


def _build_view(filters: OrderFilters, search: str | None, sort: str | None, today: dt.date,
                session: Session | None, *, cursor: str | None = NO_CURSOR) -> _View:
    """The view's statements; `cursor`: the shape of the request's cursor (`_cursor_shape`)."""
    params = ListParams(sort=sort, search=search, filters=filters)
    conditions = _where(filters, search, today, session)
    order_by = sort_clauses(sort, sort_columns(today), DEFAULT_SORT, Order.order_id)
    after = _cursor_condition(params, cursor)
    stmt = rows = _LIST_STATEMENT.where(*conditions)
    # customer_id and employee_id are NOT NULL foreign keys, so the inner joins below never
    # drop an order: the narrow statements join only what their WHERE/ORDER BY mention.
    narrow = select(Order.order_id).select_from(Order)
    group = NAME_SORTS.get(_sort(params)[1])
    if group is not None:
        narrow = narrow.join(group.table, group.key == group.foreign_key,
                             isouter=group.optional)
    # The total counts every match, not only those after a cursor.
    count = count_all_orders(filters.status, filters.employee_id) \
        if _rollup_countable(filters, search) \
        else select(func.count()).select_from(Order).where(*conditions)
    if after is not None:
        stmt, conditions = stmt.where(after), [*conditions, after]
    narrow = narrow.where(*conditions)
    # A page's rows are read by their ids, which the cursor already chose: in one statement
    # (`PageQuery.joined`: the rows joined to the page of ids), or by a list of ids.
    return _View(stmt, narrow, order_by, PageQuery.build(
        rows, order_by, count=count, key=Order.order_id, keys_stmt=narrow,
        page_rows=_LIST_STATEMENT))


def checked_params(params: ListParams) -> ListParams:
    """`params` with its filters parsed and its sort checked, raising Invalid (naming
    `sort` or the filter) now: for callers that must refuse bad input before they start
    streaming `iter_orders`, which would otherwise only fail on its first row."""
    params = _parsed(params)
    sort_clauses(params.sort, sort_columns(dt.date.today()), DEFAULT_SORT, Order.order_id)
    return params


def existing_customer_id(session: Session, customer_id: str) -> str:
    """The stored id of a customer (ids are case-insensitive); NotFound when there is none."""
    key = customer_key(customer_id)
    found = session.execute(
        select(Customer.customer_id).where(Customer.customer_id == key)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Customer {key} does not exist.")
    return found


def require_employee(session: Session, employee_id: int) -> int:
    """`employee_id` when that employee exists; NotFound otherwise."""
    if not 1 <= employee_id <= MAX_INT or session.get(Employee, employee_id) is None:
        raise NotFound(f"Employee {employee_id} does not exist.")
    return employee_id


# Sorts by a name of another table, or by status, read their first pages group by group
# (listing.walk_keys) when there are more than WALK_MIN_ROWS matches (fewer sort fast in SQL)
# and the page ends within WALK_MAX_ROWS; at most WALK_MAX_GROUPS queries, else SQL sorts.
WALK_MIN_ROWS = 20_000
WALK_MAX_ROWS = 5_000
WALK_MAX_GROUPS = 100


def _sort_groups(session: Session, name: str, descending: bool, today: dt.date,
                 filters: OrderFilters, chunk: int = 50) -> Iterator:
    """The conditions splitting orders into the groups of sort `name`, in sort order: one
    per status, or one per customer (employee, shipper) in order of name, then id — the
    ORDER BY of `SortColumns` — with orders without a shipper first (NULL sorts lowest).
    Groups the filters rule out are left out (no query has to find them empty)."""
    if name == "status":
        for status in (reversed(STATUSES) if descending else STATUSES):
            if filters.status in (None, status):
                yield status_condition(status, today)
        return
    group = NAME_SORTS[name]
    if group.optional and not descending:
        yield group.foreign_key.is_(None)
    order = (group.label.desc(), group.key.desc()) if descending \
        else (group.label.asc(), group.key.asc())
    start = 0
    while True:
        ids = session.execute(
            select(group.key).order_by(*order).limit(chunk).offset(start)).scalars().all()
        yield from (group.foreign_key == id_ for id_ in ids)
        if len(ids) < chunk:
            break
        start += chunk
    if group.optional and descending:
        yield group.foreign_key.is_(None)


def list_orders(session: Session, params: ListParams, today: dt.date | None = None) -> Page[OrderRow]:
    today = today or dt.date.today()
    params = _parsed(params.validated())
    view, binds = _filtered(params, today, session)
    keys = total = None
    _, name, descending = _sort(params)
    if (name == "status" or name in NAME_SORTS) \
            and params.offset + params.limit <= WALK_MAX_ROWS:
        total = session.execute(view.query.count).scalar_one()
        if total > WALK_MIN_ROWS:
            narrow = view.narrow
            where = [] if narrow.whereclause is None else [narrow.whereclause]
            keys = walk_keys(session, Order.order_id, where,
                             _sort_groups(session, name, descending, today, params.filters),
                             descending=descending, offset=params.offset,
                             limit=params.limit, max_groups=WALK_MAX_GROUPS)
    page = fetch_page(session, view.query, params, _row(today), keys=keys, total=total,
                      binds=binds)
    page.next_cursor = next_cursor(params, page)
    return page


def iter_orders(session: Session, params: ListParams, today: dt.date | None = None,
                batch: int = 2000) -> Iterator[OrderRow]:
    """Every order matching the list's filters and sort (not just a page), streamed."""
    today = today or dt.date.today()
    view, binds = _filtered(params, today, session)
    build = _row(today)
    result = session.execute(view.stmt.order_by(*view.order_by)
                             .execution_options(yield_per=batch), binds)
    for r in result:
        yield build(r)


def ship_countries(session: Session) -> list[str]:
    return list(session.execute(
        select(Order.ship_country).where(Order.ship_country.is_not(None))
        .group_by(Order.ship_country).order_by(Order.ship_country)).scalars())
