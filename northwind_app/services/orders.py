"""Orders: the list query, detail, validation, create/update/delete/ship with stock and versions.

Rules that live here and nowhere else (the order status has its own module, status.py):
- an order's subtotal is the exact sum of its line values and is stored with the lines;
- saving adjusts `products.units_in_stock` by the change in quantity, in the same
  transaction, with conditional updates so concurrent saves never drive stock negative;
- every change increments `orders.version`; a save carrying an older version is refused;
- the lifecycle (README "The order lifecycle"): an order is open until it ships or is
  cancelled. Shipping records what has happened (no date after today, the server's date, nor
  before the order date). A shipped order's lines are frozen and it cannot be deleted or
  cancelled (its goods have left). An open order can be cancelled: it is kept with its lines,
  its stock returned, and it counts in no revenue or rollup; a cancelled order cannot be
  changed or shipped. Only orders that never shipped can be deleted.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer, and_, bindparam, delete, false, func, insert, literal, or_, select, update,
)
from sqlalchemy import text as text_sql
from sqlmodel import Session

from northwind_app.db.models import (
    Customer, Employee, Order, OrderDetail, OrderSearchGram, OrderSearchValue, Product,
    SalesMonthEmployee, Shipper,
)
from northwind_app.db.rows import fetch_rows
from northwind_app.money import line_value, order_subtotal, parse_decimal
from northwind_app.services import audit, rollups
from northwind_app.services.auth import Actor, Permission, utcnow
from northwind_app.services.customers import customer_key
from northwind_app.services.errors import Conflict, NotFound, Invalid
from northwind_app.services.listing import (
    ListParams, Page, PageQuery, after_condition, decode_cursor, encode_cursor, fetch_page,
    search_clause, sort_clauses, walk_keys,
)
from northwind_app.services.status import (  # noqa: F401 - part of this module's API
    CANCELLED, LATE, NEW, SHIPPED, SHIPPED_LATE, STATUS_LABELS, STATUSES, status_condition,
    status_of, status_rank,
)
from northwind_app.services.validation import MAX_INT

# --- list ---------------------------------------------------------------------------------

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


# --- search -------------------------------------------------------------------------------

# A search finds the matching values first and then the orders by value through indexes when
# the values are few (SEARCH_VALUES_MAX per part: customers, ship names, ship cities) and
# belong to few orders (SEARCH_ORDERS_MAX index entries in all). Past that it matches by LIKE
# over every order: a scan, but then cheaper than reading that many orders one by one. Measured
# at 1M orders: MariaDB (default 128 MiB buffer pool) breaks even at ~25,000 entries (~1 s);
# SQLite, whose pages come from the OS cache, still gains 2x at ~100,000.
SEARCH_VALUES_MAX = 500
SEARCH_ORDERS_MAX = 20_000
SEARCH_ORDERS_MAX_SQLITE = 100_000
# The columns whose distinct values order_search_values keeps (its `kind`s), in the order of
# the search's parts: customers by company name, orders by ship name and by ship city.
SEARCH_VALUE_COLUMNS = (Customer.company_name, Order.ship_name, Order.ship_city)
# A text of SEARCH_GRAM or more characters is looked up by up to SEARCH_GRAMS of its trigrams
# (order_search_grams), spread over it; the database starts from the rarest of them.
SEARCH_GRAM = 3
SEARCH_GRAMS = 4


def search_condition(session: Session, text: str):
    """The orders matching a search text: the customer's company name, the ship name or the
    ship city contains the text (case-insensitive, LIKE wildcards literal: `search_clause`),
    or the text is the order id or the customer id.

    Contains (LIKE '%text%') cannot seek an index, and over the orders it reads every row. But
    few distinct values contain a text: they are found first (`_matching_values`), and the
    customers and orders are then found by value through the indexes (MariaDB: index_merge
    sort_union). Parts without a matching value drop out. Each part keeps its LIKE, so a match
    is never widened."""
    exact = []
    if text.isascii() and text.isdigit() and int(text) <= MAX_INT:  # not "²", not 10**40
        exact.append(Order.order_id == int(text))
    if len(text) <= 5:
        exact.append(Order.customer_id == text.upper())
    values = _matching_values(session, text)
    customer_ids = None
    if values is not None:
        names, *ship_values = values
        customer_ids = _at_most(session, select(Customer.customer_id).where(
            Customer.company_name.in_(names),
            Customer.company_name.contains(text, autoescape=True))) if names else []
    if customer_ids is not None:
        parts = [(column, found) for column, found in zip(
            (Order.customer_id, *SEARCH_VALUE_COLUMNS[1:]), (customer_ids, *ship_values))
            if found]
    if customer_ids is None or (parts and not _few_orders(session, parts)):
        named = select(Customer.customer_id).where(search_clause(text, [Customer.company_name]))
        return or_(Order.customer_id.in_(named),
                   search_clause(text, [Order.ship_name, Order.ship_city]), *exact)
    matches = [column.in_(found) if column is Order.customer_id
               else and_(column.in_(found), column.contains(text, autoescape=True))
               for column, found in parts]
    return or_(*matches, *exact) if matches or exact else false()


def _at_most(session: Session, stmt) -> list | None:
    """The values `stmt` selects, or None when there are more than SEARCH_VALUES_MAX."""
    values = list(session.execute(stmt.limit(SEARCH_VALUES_MAX + 1)).scalars())
    return None if len(values) > SEARCH_VALUES_MAX else values


def _few_orders(session: Session, parts: list) -> bool:
    """Whether at most SEARCH_ORDERS_MAX(_SQLITE) orders have one of the values of `parts`
    ((indexed column, values) pairs), counted from the indexes alone (an order found by
    several parts counts more than once), each count stopping past the limit."""
    most = SEARCH_ORDERS_MAX_SQLITE if session.get_bind().dialect.name == "sqlite" \
        else SEARCH_ORDERS_MAX
    counts = [select(func.count()).select_from(
        select(Order.order_id).where(column.in_(values)).limit(most + 1).subquery())
        .scalar_subquery() for column, values in parts]
    return session.execute(select(sum(counts[1:], counts[0]))).scalar_one() <= most


def _matching_values(session: Session, text: str) -> list[list[str]] | None:
    """The values of each of SEARCH_VALUE_COLUMNS that contain `text`, in one statement;
    None when a column has more than SEARCH_VALUES_MAX.

    The database keeps these columns' distinct values, and their trigrams, with the rows
    (migration 0008). A value that contains the text has every trigram of the text: the
    values having some of them (joined index lookups, starting from the rarest) are the
    candidates, and the LIKE checks those. A text shorter than a trigram is looked for by a
    LIKE over all values (a few thousand short rows). The tables may hold values nothing has
    any more: the caller's conditions on the rows drop them.

    MariaDB keeps every spelling, under a binary collation; the LIKE runs under each column's
    own collation, so it matches what the column's LIKE matches, and IN then finds the rows of
    every spelling that collation calls equal ('Straße' = 'Strasse'), which the caller's LIKE
    narrows again. The trigrams compare under the orders columns' collation: used only when
    every searched column has that collation (a LIKE match then implies equal trigrams)."""
    collations = _collations(session)
    grams = _spread_grams(text)
    if collations is not None and any(
            collations[_column_name(c)] != collations["order_search_grams.gram"]
            for c in SEARCH_VALUE_COLUMNS):
        grams = []
    if grams:
        first, *others = (OrderSearchGram.__table__.alias(f"gram_{i}") for i in range(len(grams)))
        stmt = select(first.c.kind, first.c.value).where(
            first.c.kind.in_([c.key for c in SEARCH_VALUE_COLUMNS]), first.c.gram == grams[0])
        for other, gram in zip(others, grams[1:]):
            stmt = stmt.join(other, and_(other.c.kind == first.c.kind,
                                         other.c.value == first.c.value, other.c.gram == gram))
        kind, value = first.c.kind, first.c.value
    else:
        stmt = select(OrderSearchValue.kind, OrderSearchValue.value)
        kind, value = OrderSearchValue.kind, OrderSearchValue.value
    conditions = []
    for column in SEARCH_VALUE_COLUMNS:
        collation = collations and collations[_column_name(column)]
        compared = value.collate(collation) if collation else value
        conditions.append(and_(kind == column.key, compared.contains(text, autoescape=True)))
    most = SEARCH_VALUES_MAX * len(SEARCH_VALUE_COLUMNS)
    rows = session.execute(stmt.where(or_(*conditions)).limit(most + 1)).all()
    found: dict[str, list[str]] = {column.key: [] for column in SEARCH_VALUE_COLUMNS}
    for row_kind, row_value in rows:
        found[row_kind].append(row_value)
    if any(len(values) > SEARCH_VALUES_MAX for values in found.values()):
        return None  # also when `most` + 1 rows came: one column has more than its share
    return [found[column.key] for column in SEARCH_VALUE_COLUMNS]


def _spread_grams(text: str) -> list[str]:
    """Up to SEARCH_GRAMS trigrams of `text`, the first and the last among them."""
    starts = len(text) - SEARCH_GRAM + 1
    if starts < 1:
        return []
    picks = range(starts) if starts <= SEARCH_GRAMS else sorted(
        {round(i * (starts - 1) / (SEARCH_GRAMS - 1)) for i in range(SEARCH_GRAMS)})
    return list(dict.fromkeys(text[i:i + SEARCH_GRAM] for i in picks))


def _column_name(column) -> str:
    return f"{column.table.name}.{column.key}"


_COLLATIONS: dict[str, dict[str, str]] = {}


def _collations(session: Session) -> dict[str, str] | None:
    """The collations of the searched columns and of the trigrams ("table.column": name) on
    MariaDB/MySQL, read once per database (None on SQLite, whose LIKE is the same for every
    column)."""
    bind = session.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return None
    url = bind.engine.url.render_as_string()
    if url not in _COLLATIONS:
        names = {f"{table}.{column}": collation for table, column, collation in session.execute(
            text_sql("SELECT table_name, column_name, collation_name "
                     "FROM information_schema.columns WHERE table_schema = DATABASE() "
                     "AND table_name IN ('orders', 'customers', 'order_search_grams')"))}
        wanted = [*map(_column_name, SEARCH_VALUE_COLUMNS), "order_search_grams.gram"]
        for name in wanted:  # each goes into the SQL: a plain name, and there (migrated)
            if not (names.get(name) or "").replace("_", "").isalnum():
                raise RuntimeError(f"unexpected collation {names.get(name)!r} of {name}")
        _COLLATIONS[url] = {name: names[name] for name in wanted}
    return _COLLATIONS[url]


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


def _row(today: dt.date):
    def build(r) -> OrderRow:
        return OrderRow(
            order_id=r.order_id, order_date=r.order_date, customer_id=r.customer_id,
            customer_name=r.customer_name, employee_id=r.employee_id,
            employee_name=r.employee_name, ship_country=r.ship_country, shipper_id=r.ship_via,
            shipper_name=r.shipper_name,
            status=status_of(r.shipped_date, r.required_date, today, r.cancelled_at),
            required_date=r.required_date, shipped_date=r.shipped_date, total=r.total,
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


# A cursor's sort value and id, bound per request: every cursor of a view (its filters and
# sort) shares its statements, so they are kept like the view's without a cursor.
AFTER_VALUE, AFTER_KEY = "after_value", "after_key"
BOUND_CURSOR = ("bound", "bound")  # `_cursor_condition` with parameters, not values


def _cursor_condition(params: ListParams, cursor: tuple[Any, Any] | None):
    """The WHERE condition for the rows after `cursor` ((sort value, id), or BOUND_CURSOR for
    any cursor of the sort, bound as AFTER_VALUE and AFTER_KEY) in `params.sort`."""
    if cursor is None:
        return None
    _sort_text, name, descending = _sort(params)
    column = CURSOR_SORTS[name][0]
    if cursor is BOUND_CURSOR:
        value, key = bindparam(AFTER_VALUE, type_=column.type), bindparam(AFTER_KEY, type_=Integer)
    else:
        value, key = cursor
    return after_condition(column, value, Order.order_id, key, descending)


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
    a search are kept (the VIEWS_KEPT most recently used): their statements are the same every
    time, a cursor's value and id being bound parameters. (A search looks its values up in
    the database.) A cursor in the rows without a sort value (NULL) is written as literals."""
    params = _parsed(params)
    cursor = _cursor_of(params)
    if (params.search or "").strip() or (cursor is not None and cursor[0] is None):
        return _build_view(params.filters, params.search, params.sort, today, session,
                           cursor=cursor), {}
    view = _kept_view(params.filters, params.sort, today, cursor is not None)
    return view, {} if cursor is None else {AFTER_VALUE: cursor[0], AFTER_KEY: cursor[1]}


VIEWS_KEPT = 256


@functools.lru_cache(maxsize=VIEWS_KEPT)
def _kept_view(filters: OrderFilters, sort: str | None, today: dt.date, cursor: bool) -> _View:
    view = _build_view(filters, None, sort, today, None,
                       cursor=BOUND_CURSOR if cursor else None)
    return view._replace(query=view.query.kept())  # and the JSON forms of its statements


def _build_view(filters: OrderFilters, search: str | None, sort: str | None, today: dt.date,
                session: Session | None, *, cursor: tuple[Any, Any] | None = None) -> _View:
    """The view's statements; `cursor`: see `_cursor_condition`."""
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
    # A page's rows are read by their ids, which the cursor already chose.
    return _View(stmt, narrow, order_by, PageQuery.build(
        rows, order_by, count=count, key=Order.order_id, keys_stmt=narrow))


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


# --- detail -------------------------------------------------------------------------------


@dataclass
class OrderLine:
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int
    discount: Decimal
    line_total: Decimal
    units_in_stock: int = 0
    discontinued: bool = False


@dataclass
class OrderDetailView:
    order_id: int
    version: int
    customer_id: str | None
    customer_name: str | None
    customer_contact: str | None
    customer_phone: str | None
    employee_id: int | None
    employee_name: str | None
    ship_via: int | None
    shipper_name: str | None
    order_date: dt.date | None
    required_date: dt.date | None
    shipped_date: dt.date | None
    status: str
    freight: Decimal
    ship_name: str | None
    ship_address: str | None
    ship_city: str | None
    ship_region: str | None
    ship_postal_code: str | None
    ship_country: str | None
    lines: list[OrderLine]
    subtotal: Decimal
    total: Decimal
    cancelled_at: dt.datetime | None = None


# The detail in one statement, built once (the order id is bound per call): the order with
# its names, one row per line (a single row of NULL line columns when it has none).
_DETAIL = (
    select(Order.order_id, Order.version, Order.customer_id,
           Customer.company_name.label("customer_name"), Customer.contact_name, Customer.phone,
           Order.employee_id, EMPLOYEE_NAME.label("employee_name"), Order.ship_via,
           Shipper.company_name.label("shipper_name"), Order.order_date, Order.required_date,
           Order.shipped_date, Order.freight, Order.ship_name, Order.ship_address,
           Order.ship_city, Order.ship_region, Order.ship_postal_code, Order.ship_country,
           OrderDetail.product_id, Product.product_name, OrderDetail.unit_price,
           OrderDetail.quantity, OrderDetail.discount, Product.units_in_stock,
           Product.discontinued, Order.cancelled_at)
    .select_from(Order)
    .outerjoin(Customer, Customer.customer_id == Order.customer_id)
    .outerjoin(Employee, Employee.employee_id == Order.employee_id)
    .outerjoin(Shipper, Shipper.shipper_id == Order.ship_via)
    .outerjoin(OrderDetail, OrderDetail.order_id == Order.order_id)
    .outerjoin(Product, Product.product_id == OrderDetail.product_id)
    .where(Order.order_id == bindparam("order_id"))
    .order_by(Product.product_name, OrderDetail.product_id)
)
_DETAIL_PLANS: dict = {}  # how the driver reads it (db/rows.py), kept as long as _DETAIL


def get_order(session: Session, order_id: int, today: dt.date | None = None) -> OrderDetailView:
    today = today or dt.date.today()
    rows = fetch_rows(session, _DETAIL, {"order_id": order_id}, _DETAIL_PLANS, as_json=False)
    if not rows:
        raise NotFound(f"Order {order_id} does not exist.")
    o = rows[0]
    lines = [
        OrderLine(product_id=r.product_id, product_name=r.product_name,
                  unit_price=r.unit_price, quantity=r.quantity, discount=r.discount,
                  line_total=line_value(r.unit_price, r.quantity, r.discount),
                  units_in_stock=r.units_in_stock, discontinued=r.discontinued)
        for r in rows if r.product_id is not None
    ]
    subtotal = order_subtotal((line.unit_price, line.quantity, line.discount) for line in lines)
    return OrderDetailView(
        order_id=o.order_id, version=o.version,
        customer_id=o.customer_id, customer_name=o.customer_name,
        customer_contact=o.contact_name, customer_phone=o.phone, employee_id=o.employee_id,
        employee_name=o.employee_name, ship_via=o.ship_via, shipper_name=o.shipper_name,
        order_date=o.order_date, required_date=o.required_date, shipped_date=o.shipped_date,
        status=status_of(o.shipped_date, o.required_date, today, o.cancelled_at),
        freight=o.freight, ship_name=o.ship_name, ship_address=o.ship_address,
        ship_city=o.ship_city, ship_region=o.ship_region,
        ship_postal_code=o.ship_postal_code, ship_country=o.ship_country,
        lines=lines, subtotal=subtotal, total=subtotal + o.freight,
        cancelled_at=o.cancelled_at,
    )


# --- input --------------------------------------------------------------------------------

SHIP_FIELDS = ("ship_name", "ship_address", "ship_city", "ship_region", "ship_postal_code",
               "ship_country")
MAX_QUANTITY = 100_000


@dataclass
class LineInput:
    product_id: int
    quantity: int
    unit_price: Decimal | None = None  # None: the product's current price
    discount: Decimal = Decimal("0")


@dataclass
class OrderInput:
    customer_id: str
    employee_id: int
    order_date: dt.date
    required_date: dt.date | None = None
    shipped_date: dt.date | None = None
    ship_via: int | None = None
    freight: Decimal = Decimal("0")
    ship_name: str | None = None
    ship_address: str | None = None
    ship_city: str | None = None
    ship_region: str | None = None
    ship_postal_code: str | None = None
    ship_country: str | None = None
    lines: list[LineInput] = field(default_factory=list)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value, errors, name, *, minimum=None, maximum=None, required=True):
    if _blank(value):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, bool):
        errors[name] = "must be a whole number"
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError
    except (ValueError, ArithmeticError):
        errors[name] = "must be a whole number"
        return None
    # Range first, on the Decimal: int() of e.g. 1e999999999 would take forever.
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
        return None
    if maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum:,}"
        return None
    return int(number)


def _date(value, errors, name, *, required=False):
    if _blank(value):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        errors[name] = "must be a date (YYYY-MM-DD)"
        return None


def _decimal(value, errors, name, *, places, minimum=None, maximum=None, default=None):
    if _blank(value):
        return default
    try:
        number = parse_decimal(value, places=places)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    except ArithmeticError:  # more digits than decimal arithmetic holds, e.g. 1e400
        errors[name] = f"must be at most {maximum}" if maximum is not None else "is too large"
        return None
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
    elif maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum}"
    return number


def _text(value, errors, name, max_length):
    if _blank(value):
        return None
    text = str(value).strip()
    if len(text) > max_length:
        errors[name] = f"must be at most {max_length} characters"
    elif "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        errors[name] = "contains characters that cannot be stored"
    return text


def _check_not_future(shipped: dt.date, errors: dict[str, str]) -> None:
    """Shipping records what has happened: no date after today, by the server's clock."""
    today = dt.date.today()
    if shipped > today:
        errors["shipped_date"] = (f"must not be after today ({today.isoformat()}, the "
                                  "server's date): an order is marked shipped once it has left")


def parse_order_input(raw: Mapping[str, Any], actor: Actor | None = None) -> OrderInput:
    """Turn form or JSON values (strings or numbers) into an OrderInput, exactly.

    Field errors use the API's names, lines as ``lines[i].field`` (0-based); raises
    Invalid with every problem at once. Database checks happen on save. Without an
    employee_id the order is the `actor`'s, when their account is linked to an employee.
    """
    errors: dict[str, str] = {}
    columns = Order.__table__.c
    customer_id = _text(raw.get("customer_id"), errors, "customer_id", 5)
    if customer_id is None and "customer_id" not in errors:
        errors["customer_id"] = "is required"
    employee_raw = raw.get("employee_id")
    if _blank(employee_raw) and actor is not None and actor.employee_id is not None:
        employee_raw = actor.employee_id
    employee_id = _int(employee_raw, errors, "employee_id", minimum=1, maximum=MAX_INT)
    if actor is not None and errors.get("employee_id") == "is required":
        # Whether it may be left out depends on the account, which the request cannot show.
        errors["employee_id"] = "is required (your account is not linked to an employee)"
    order_date = _date(raw.get("order_date"), errors, "order_date", required=True)
    required_date = _date(raw.get("required_date"), errors, "required_date")
    shipped_date = _date(raw.get("shipped_date"), errors, "shipped_date")
    if order_date and required_date and required_date < order_date:
        errors["required_date"] = "must not be before the order date"
    if order_date and shipped_date and shipped_date < order_date:
        errors["shipped_date"] = "must not be before the order date"
    elif shipped_date and "shipped_date" not in errors:
        _check_not_future(shipped_date, errors)
    ship_via = _int(raw.get("ship_via"), errors, "ship_via", minimum=1, maximum=MAX_INT,
                    required=False)
    freight = _decimal(raw.get("freight"), errors, "freight", places=4, minimum=Decimal(0),
                       maximum=Decimal("999999999"), default=Decimal("0"))
    ship = {name: _text(raw.get(name), errors, name, columns[name].type.length)
            for name in SHIP_FIELDS}

    lines: list[LineInput] = []
    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, (list, tuple)) or not raw_lines:
        errors["lines"] = "an order needs at least one line"
        raw_lines = raw_lines if isinstance(raw_lines, (list, tuple)) else []
    seen: dict[int, int] = {}
    for index, raw_line in enumerate(raw_lines):
        prefix = f"lines[{index}]"
        if not isinstance(raw_line, Mapping):
            errors[prefix] = "must be an object with product_id and quantity"
            continue
        product_id = _int(raw_line.get("product_id"), errors, f"{prefix}.product_id", minimum=1,
                          maximum=MAX_INT)
        quantity = _int(raw_line.get("quantity"), errors, f"{prefix}.quantity", minimum=1,
                        maximum=MAX_QUANTITY)
        unit_price = _decimal(raw_line.get("unit_price"), errors, f"{prefix}.unit_price",
                              places=4, minimum=Decimal(0), maximum=Decimal("999999999"))
        discount = _decimal(raw_line.get("discount"), errors, f"{prefix}.discount", places=4,
                            minimum=Decimal(0), maximum=Decimal(1), default=Decimal("0"))
        if product_id is not None:
            if product_id in seen:
                errors[f"{prefix}.product_id"] = (
                    f"this product is already on line {seen[product_id] + 1}; "
                    "change that line's quantity instead")
            else:
                seen[product_id] = index
        if product_id is not None and quantity is not None:
            lines.append(LineInput(product_id, quantity, unit_price, discount or Decimal("0")))
    if errors:
        raise Invalid(fields=errors)
    return OrderInput(customer_id=customer_id.upper(), employee_id=employee_id,
                      order_date=order_date, required_date=required_date,
                      shipped_date=shipped_date, ship_via=ship_via, freight=freight,
                      lines=lines, **ship)


def order_input_from_view(view: OrderDetailView) -> dict[str, Any]:
    """The current order as raw input (for partial updates: merge changes, then parse)."""
    data = {name: getattr(view, name) for name in (
        "customer_id", "employee_id", "order_date", "required_date", "shipped_date",
        "ship_via", "freight", *SHIP_FIELDS)}
    data["lines"] = [{"product_id": line.product_id, "quantity": line.quantity,
                      "unit_price": line.unit_price, "discount": line.discount}
                     for line in view.lines]
    return data


# --- writes -------------------------------------------------------------------------------


def _check_references(session: Session, data: OrderInput, errors: dict[str, str]) -> None:
    if session.get(Customer, data.customer_id) is None:
        errors["customer_id"] = f"no customer with id {data.customer_id!r}"
    if session.get(Employee, data.employee_id) is None:
        errors["employee_id"] = f"no employee with id {data.employee_id}"
    if data.ship_via is not None and session.get(Shipper, data.ship_via) is None:
        errors["ship_via"] = f"no shipper with id {data.ship_via}"


def _lock_order(session: Session, order_id: int, expected_version: int | None) -> Order:
    order = session.execute(
        select(Order).where(Order.order_id == order_id).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(_missing_text(session, order_id))
    if expected_version is not None and order.version != expected_version:
        raise Conflict(
            f"Order {order_id} was changed by someone else since you opened it "
            f"(your version {expected_version}, now {order.version}). "
            "Reload it to see the changes, then make yours again.",
            {"version": "is out of date"},
        )
    return order


def _missing_text(session: Session, order_id: int) -> str:
    """Why an order is not there: who deleted it and when, from the audit trail."""
    deleted = audit.last_action(session, "order", order_id, "delete")
    if deleted is None:
        return f"Order {order_id} does not exist."
    return (f"Order {order_id} was deleted by {deleted.username} on "
            f"{audit.when_text(deleted.at)}.")


def _refuse_if_closed(order: Order, doing: str) -> None:
    """Conflict when the order is cancelled, whatever `doing` ("changed", "shipped", ...)."""
    if order.cancelled_at is not None:
        raise Conflict(f"Order {order.order_id} was cancelled on "
                       f"{audit.when_text(order.cancelled_at)}; a cancelled order cannot be "
                       f"{doing}.", {"status": "cancelled"})


def _current_lines(session: Session, order_id: int) -> dict[int, int]:
    return dict(session.execute(
        select(OrderDetail.product_id, OrderDetail.quantity)
        .where(OrderDetail.order_id == order_id)).all())


def _apply_stock(session: Session, deltas: dict[int, int], line_fields: dict[int, str],
                 wanted: dict[int, int] | None = None) -> None:
    """Take (delta > 0) or return (delta < 0) stock, in product-id order to avoid deadlocks.

    A take only succeeds while enough stock remains (one atomic conditional UPDATE), so
    concurrent saves can never drive stock negative. A line whose quantity stays has its
    product locked too, in the same order: inserting the line would share-lock it later
    (the foreign key), and another save holding it while it waits for one of ours deadlocks.
    """
    shortages: dict[str, str] = {}
    table = Product.__table__
    wanted = wanted or {}
    for product_id in sorted(deltas):
        delta = deltas[product_id]
        if delta == 0:
            session.execute(select(table.c.product_id)
                            .where(table.c.product_id == product_id).with_for_update())
            continue
        if delta > 0:
            result = session.execute(
                update(table)
                .where(table.c.product_id == product_id, table.c.units_in_stock >= delta)
                .values(units_in_stock=table.c.units_in_stock - delta))
            if result.rowcount != 1:
                name, available = session.execute(
                    select(Product.product_name, Product.units_in_stock)
                    .where(Product.product_id == product_id)).one()
                shortages[line_fields.get(product_id, "lines")] = shortage_text(
                    name, wanted.get(product_id, delta), delta, available)
        else:
            session.execute(
                update(table).where(table.c.product_id == product_id)
                .values(units_in_stock=table.c.units_in_stock - delta))
    if shortages:
        raise Conflict("Not enough stock for " + "; ".join(shortages.values()) + ".", shortages)


def shortage_text(name: str, asked: int, more: int, available: int) -> str:
    """"Royal Chai: 5 asked, 1 in stock, 4 missing" (an edit from 3 to 8: "8 asked, 5 more
    than before, ..."); `more` is what the save takes from stock, `available` what is there."""
    extra = "" if more == asked else f" ({more} more than before)"
    return (f"{name}: {asked} asked{extra}, {available} in stock, "
            f"{more - available} missing")


def _write_lines(session: Session, order_id: int, data: OrderInput,
                 previous: dict[int, int]) -> Decimal:
    """Validate lines against products, adjust stock, replace the lines; returns subtotal."""
    product_ids = [line.product_id for line in data.lines]
    products = {
        p.product_id: p for p in session.execute(
            select(Product.product_id, Product.product_name, Product.unit_price,
                   Product.discontinued).where(Product.product_id.in_(product_ids))).all()
    }
    errors: dict[str, str] = {}
    line_fields: dict[int, str] = {}
    rows = []
    for index, line in enumerate(data.lines):
        product = products.get(line.product_id)
        if product is None:
            errors[f"lines[{index}].product_id"] = f"no product with id {line.product_id}"
            continue
        if product.discontinued and line.product_id not in previous:
            errors[f"lines[{index}].product_id"] = (
                f"{product.product_name} is discontinued and cannot be added to an order")
            continue
        line_fields[line.product_id] = f"lines[{index}].quantity"
        price = product.unit_price if line.unit_price is None else line.unit_price
        rows.append({"order_id": order_id, "product_id": line.product_id, "unit_price": price,
                     "quantity": line.quantity, "discount": line.discount})
    if errors:
        raise Invalid(fields=errors)
    wanted = {row["product_id"]: row["quantity"] for row in rows}
    deltas = {pid: wanted.get(pid, 0) - previous.get(pid, 0) for pid in set(wanted) | set(previous)}
    _apply_stock(session, deltas, line_fields, wanted)
    session.execute(delete(OrderDetail).where(OrderDetail.order_id == order_id))
    session.execute(insert(OrderDetail), rows)
    return order_subtotal((r["unit_price"], r["quantity"], r["discount"]) for r in rows)


def _header_values(data: OrderInput) -> dict[str, Any]:
    return {
        "customer_id": data.customer_id, "employee_id": data.employee_id,
        "order_date": data.order_date, "required_date": data.required_date,
        "shipped_date": data.shipped_date, "ship_via": data.ship_via, "freight": data.freight,
        **{name: getattr(data, name) for name in SHIP_FIELDS},
    }


AUDITED_FIELDS = ("customer_id", "employee_id", "order_date", "required_date", "shipped_date",
                  "ship_via", "freight", *SHIP_FIELDS, "total")


def audit_snapshot(session: Session, order_id: int) -> dict[str, str | None]:
    """The order as the audit trail compares it: header fields, then one field per line
    value ("line 11 Queso Cabrales: quantity"), then the total."""
    order = session.execute(select(*(getattr(Order, name) for name in AUDITED_FIELDS))
                            .where(Order.order_id == order_id)).one()
    values: dict[str, Any] = dict(zip(AUDITED_FIELDS, order, strict=True))
    total = values.pop("total")
    for product_id, name, quantity, price, discount in session.execute(
            select(OrderDetail.product_id, Product.product_name, OrderDetail.quantity,
                   OrderDetail.unit_price, OrderDetail.discount)
            .join(Product, Product.product_id == OrderDetail.product_id)
            .where(OrderDetail.order_id == order_id).order_by(OrderDetail.product_id)):
        label = f"line {product_id} {name}"
        values[f"{label}: quantity"] = quantity
        values[f"{label}: unit_price"] = price
        values[f"{label}: discount"] = discount
    values["total"] = total
    return audit.snapshot(values)


def create_order(session: Session, data: OrderInput, *, actor: Actor) -> int:
    """Insert an order with its lines and take stock; returns the new order id."""
    actor.require(Permission.WRITE_ORDERS)
    errors: dict[str, str] = {}
    _check_references(session, data, errors)
    if errors:
        raise Invalid(fields=errors)
    order = Order(**_header_values(data), subtotal=Decimal("0"), total=Decimal("0"), version=1)
    session.add(order)
    session.flush()
    order.subtotal = _write_lines(session, order.order_id, data, previous={})
    order.total = order.subtotal + order.freight
    session.flush()
    rollups.record_change(session, None, rollups.contribution(session, order.order_id))
    audit.record(session, actor, "create", "order", order.order_id, None,
                 audit_snapshot(session, order.order_id), summary=f"order {order.order_id}")
    return order.order_id


def _check_frozen_lines(session: Session, order: Order, data: OrderInput) -> None:
    """A shipped order's lines are frozen: Conflict unless `data` has the same lines (a line
    without a unit price keeps the stored one)."""
    stored = {pid: (quantity, price, discount) for pid, quantity, price, discount in
              session.execute(select(OrderDetail.product_id, OrderDetail.quantity,
                                     OrderDetail.unit_price, OrderDetail.discount)
                              .where(OrderDetail.order_id == order.order_id))}
    given = {line.product_id: (line.quantity,
                               stored.get(line.product_id, (0, None))[1]
                               if line.unit_price is None else line.unit_price,
                               line.discount) for line in data.lines}
    if given != stored:
        raise Conflict(f"Order {order.order_id} shipped on {order.shipped_date.isoformat()}: "
                       "its lines are frozen (the goods have left), so nothing was saved. "
                       "Reload it to see its lines.", {"lines": "cannot change once shipped"})


def update_order(session: Session, order_id: int, data: OrderInput,
                 expected_version: int | None = None, *, actor: Actor) -> int:
    """Replace an order's header and lines; stock moves by the change. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "changed")
    shipped = order.shipped_date
    if shipped is not None and data.shipped_date is None:
        raise Conflict(f"Order {order_id} shipped on {shipped.isoformat()}; a shipped order "
                       "stays shipped.", {"shipped_date": "cannot be cleared once shipped"})
    snapshot_before = audit_snapshot(session, order_id)
    errors: dict[str, str] = {}
    _check_references(session, data, errors)
    if errors:
        raise Invalid(fields=errors)
    before = rollups.contribution(session, order_id)
    if shipped is not None:
        _check_frozen_lines(session, order, data)  # unchanged: nothing to write
        subtotal = order.subtotal
    else:
        previous = _current_lines(session, order_id)
        subtotal = _write_lines(session, order_id, data, previous)
    for name, value in _header_values(data).items():
        setattr(order, name, value)
    order.subtotal = subtotal
    order.total = subtotal + order.freight
    order.version += 1
    session.flush()
    rollups.record_change(session, before, rollups.contribution(session, order_id))
    audit.record(session, actor, "update", "order", order_id, snapshot_before,
                 audit_snapshot(session, order_id), summary=f"order {order_id}")
    return order.version


def revise_order(session: Session, order_id: int, changes: Mapping[str, Any], *, partial: bool,
                 expected_version: int | None = None, actor: Actor) -> int:
    """Update an order from raw input (strings or numbers, as `parse_order_input` takes them).

    `partial`: `changes` is merged onto the current order (a None clears an optional field;
    `lines`, when given, replaces every line). Otherwise `changes` is the whole order and the
    fields it leaves out take their defaults. Either way the shipped date stays as it is unless
    `changes` names it (orders are shipped with `ship_order`). Returns the new version.
    """
    actor.require(Permission.WRITE_ORDERS)
    _lock_order(session, order_id, expected_version)  # first: a stale version is a Conflict
    current = get_order(session, order_id)
    raw = order_input_from_view(current) if partial else {"shipped_date": current.shipped_date}
    raw.update(changes)
    return update_order(session, order_id, parse_order_input(raw), expected_version, actor=actor)


def delete_order(session: Session, order_id: int, expected_version: int | None = None, *,
                 actor: Actor) -> None:
    """Delete an order that never shipped, and its lines; an open order's quantities go back
    in stock (a cancelled one's already have). A shipped order is a Conflict: its goods have
    left."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} shipped on {order.shipped_date.isoformat()}; a "
                       "shipped order cannot be deleted (its goods have left).",
                       {"shipped_date": "is set: the order has shipped"})
    audit.record(session, actor, "delete", "order", order_id, audit_snapshot(session, order_id),
                 None, summary=f"order {order_id}")
    rollups.record_change(session, rollups.contribution(session, order_id), None)
    if order.cancelled_at is None:
        previous = _current_lines(session, order_id)
        _apply_stock(session, {pid: -qty for pid, qty in previous.items()}, {})
    session.execute(delete(OrderDetail).where(OrderDetail.order_id == order_id))
    session.execute(delete(Order).where(Order.order_id == order_id))


def ship_order(session: Session, order_id: int, shipped_date: Any, ship_via: Any,
               expected_version: int | None = None, *, actor: Actor) -> int:
    """Mark an order shipped on a date with a shipper. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    errors: dict[str, str] = {}
    shipped = _date(shipped_date, errors, "shipped_date", required=True)
    shipper = _int(ship_via, errors, "ship_via", minimum=1, maximum=MAX_INT)
    if errors:
        raise Invalid(fields=errors)
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "shipped")
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} was already shipped on {order.shipped_date.isoformat()}.",
                       {"shipped_date": "already set"})
    if order.order_date and shipped < order.order_date:
        errors["shipped_date"] = "must not be before the order date"
    else:
        _check_not_future(shipped, errors)
    if session.get(Shipper, shipper) is None:
        errors["ship_via"] = f"no shipper with id {shipper}"
    if errors:
        raise Invalid(fields=errors)
    before = {"shipped_date": audit.text(None), "ship_via": audit.text(order.ship_via)}
    counted = rollups.contribution(session, order_id)
    order.shipped_date = shipped
    order.ship_via = shipper
    order.version += 1
    session.flush()
    rollups.record_change(session, counted, rollups.contribution(session, order_id))
    audit.record(session, actor, "ship", "order", order_id, before,
                 {"shipped_date": audit.text(shipped), "ship_via": audit.text(shipper)},
                 summary=f"order {order_id}")
    return order.version


def cancel_order(session: Session, order_id: int, expected_version: int | None = None, *,
                 actor: Actor) -> int:
    """Cancel an open order: it is kept with its lines, its quantities go back in stock and
    it leaves the revenue and the rollups. Conflict when it has shipped or is cancelled
    already. Returns the new version."""
    actor.require(Permission.WRITE_ORDERS)
    order = _lock_order(session, order_id, expected_version)
    _refuse_if_closed(order, "cancelled again")
    if order.shipped_date is not None:
        raise Conflict(f"Order {order_id} shipped on {order.shipped_date.isoformat()}; a "
                       "shipped order cannot be cancelled (its goods have left).",
                       {"shipped_date": "is set: the order has shipped"})
    counted = rollups.contribution(session, order_id)
    previous = _current_lines(session, order_id)
    _apply_stock(session, {pid: -qty for pid, qty in previous.items()}, {})
    order.cancelled_at = utcnow().replace(microsecond=0)
    order.version += 1
    session.flush()
    rollups.record_change(session, counted, None)
    audit.record(session, actor, "cancel", "order", order_id, {"status": audit.text(
        status_of(order.shipped_date, order.required_date, dt.date.today()))},
        {"status": CANCELLED}, summary=f"order {order_id}")
    return order.version


@dataclass(frozen=True)
class Actions:
    """What can be done to an order now, and why not: each `*_blocked` is "" when the action
    is available, else the reason to show beside its disabled button."""

    edit_blocked: str
    lines_blocked: str
    ship_blocked: str
    cancel_blocked: str
    delete_blocked: str


def order_actions(order: OrderDetailView, actor: Actor | None) -> Actions:
    """The lifecycle's answer for the order page (the write functions enforce the same)."""
    if actor is not None and not actor.can(Permission.WRITE_ORDERS):
        reason = "Your role may not change orders."
        return Actions(reason, reason, reason, reason, reason)
    if order.cancelled_at is not None:
        reason = "The order is cancelled."
        return Actions(reason, reason, reason, reason, "")
    if order.shipped_date is not None:
        left = f"The order shipped on {order.shipped_date.isoformat()}; its goods have left."
        return Actions("", "Its lines are frozen: the order has shipped.",
                       "The order has shipped already.", left, left)
    return Actions("", "", "", "", "")


# --- lookups for pickers ------------------------------------------------------------------


@dataclass
class Choice:
    value: str
    label: str
    detail: str = ""


def customer_choices(session: Session, text: str = "", limit: int = 20) -> list[Choice]:
    cond = search_clause(text, [Customer.customer_id, Customer.company_name, Customer.city])
    stmt = select(Customer.customer_id, Customer.company_name, Customer.city, Customer.country)
    if cond is not None:
        stmt = stmt.where(cond)
    return [Choice(cid, f"{name} ({cid})", ", ".join(x for x in (city, country) if x))
            for cid, name, city, country in
            session.execute(stmt.order_by(Customer.company_name).limit(limit))]


def employee_choices(session: Session) -> list[Choice]:
    return [Choice(str(eid), name, title or "")
            for eid, name, title in session.execute(
                select(Employee.employee_id, EMPLOYEE_NAME, Employee.title)
                .order_by(Employee.last_name, Employee.first_name))]


def shipper_choices(session: Session) -> list[Choice]:
    return [Choice(str(sid), name, phone or "") for sid, name, phone in session.execute(
        select(Shipper.shipper_id, Shipper.company_name, Shipper.phone).order_by(Shipper.company_name))]


@dataclass
class ProductChoice:
    product_id: int
    product_name: str
    unit_price: Decimal
    units_in_stock: int
    discontinued: bool


def product_choices(session: Session, text: str = "", limit: int = 20,
                    include_discontinued: bool = False) -> list[ProductChoice]:
    stmt = select(Product.product_id, Product.product_name, Product.unit_price,
                  Product.units_in_stock, Product.discontinued)
    cond = search_clause(text, [Product.product_name])
    if text.strip().isdigit():
        cond = Product.product_id == int(text.strip()) if cond is None else \
            cond | (Product.product_id == int(text.strip()))
    if cond is not None:
        stmt = stmt.where(cond)
    if not include_discontinued:
        stmt = stmt.where(Product.discontinued.is_(False))
    return [ProductChoice(*row) for row in
            session.execute(stmt.order_by(Product.product_name).limit(limit))]


def customer_ship_to(session: Session, customer_id: str) -> dict[str, str | None]:
    """A customer's address as the default ship-to of a new order."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return {"ship_name": customer.company_name, "ship_address": customer.address,
            "ship_city": customer.city, "ship_region": customer.region,
            "ship_postal_code": customer.postal_code, "ship_country": customer.country}

