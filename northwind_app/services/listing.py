"""Paginated, sorted, searched lists, done in SQL. Every list (API and screens) uses this.

An entity declares its list once as a `Listing` (the columns to select, the sortable and
searchable columns, the filters); `Listing.page` applies `ListParams` to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, or_, select
from sqlmodel import Session

from northwind_app.db.fastpath import fetch_rows, fetch_rows_and_scalar, fetch_values
from northwind_app.services.errors import Invalid
from northwind_app.services.validation import MAX_INT

T = TypeVar("T")
MAX_LIMIT = 500
PAGE_SIZES = (25, 50, 100)
# The largest offset and the longest search text a list takes (the API's `offset` and `q`
# bounds; the screens' page numbers and search boxes are held to the same).
MAX_OFFSET = MAX_INT
MAX_SEARCH = 200


@dataclass(frozen=True)
class ListParams:
    limit: int = 25
    offset: int = 0
    sort: str | None = None  # "field" ascending, "-field" descending
    search: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    after: str | None = None  # a page's `next_cursor`: the page after it (keyset paging)

    def validated(self) -> ListParams:
        errors = {}
        if not 1 <= self.limit <= MAX_LIMIT:
            errors["limit"] = f"must be between 1 and {MAX_LIMIT}"
        if not 0 <= self.offset <= MAX_OFFSET:
            errors["offset"] = f"must be between 0 and {MAX_OFFSET}"
        if self.search is not None and len(self.search) > MAX_SEARCH:
            errors["q"] = f"must be at most {MAX_SEARCH} characters"
        if self.after and self.offset:
            errors["offset"] = "cannot be combined with after (a cursor already says where)"
        if errors:
            raise Invalid(fields=errors)
        return self


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None  # where the next page starts, for keyset paging

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        return self.offset + len(self.items)


def sort_clauses(
    sort: str | None,
    columns: Mapping[str, ColumnElement],
    default: str,
    tie_breaker: ColumnElement,
) -> list:
    """ORDER BY for "field"/"-field" from a whitelist (a field may sort by a tuple of
    columns); the id breaks ties (stable paging)."""
    key = (sort or default).strip()
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in columns:
        raise Invalid(fields={"sort": f"unknown sort field {name!r}; use one of: "
                                        f"{', '.join(sorted(columns))} (prefix - for descending)"})
    column = columns[name]
    parts = [*column, tie_breaker] if isinstance(column, tuple) else [column, tie_breaker]
    return [part.desc() if descending else part.asc() for part in parts]


# --- keyset paging --------------------------------------------------------------------------
# A cursor names the sort and the last row's (sort value, id); the next page is the rows after
# that pair in the sort order. Unlike OFFSET, the database seeks to the pair in the sort's
# index instead of reading and skipping every earlier row, so page 20,000 costs what page 1
# does. NULLs sort first ascending (MariaDB and SQLite alike), which the conditions follow.


def encode_cursor(sort: str, value: Any, key: Any) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else value
    payload = json.dumps([sort, None if text is None else str(text), key], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, parse: Callable[[str], Any]) -> tuple[Any, int]:
    """(sort value, id) of a cursor made for `sort`; Invalid naming `after` else (made only
    then: a deep page's request decodes a cursor, and the error cost it more than that)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        made_for, value, key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if made_for == sort and isinstance(key, int) and not isinstance(key, bool):
            return (None if value is None else parse(value)), key
    except (ValueError, TypeError, ArithmeticError, UnicodeError, binascii.Error):
        pass
    raise Invalid(fields={"after": "is not a cursor of this list and sort; use the "
                                   "next_cursor of a page sorted the same way"})


def after_condition(column: ColumnElement, value: Any, key_column: ColumnElement, key: Any,
                    descending: bool) -> ColumnElement:
    """Rows after (value, key) in ORDER BY column [DESC], key [DESC] (NULLs lowest).

    Written as a range on `column` plus a tie-break, so an index on (column, key) is read
    from the cursor onwards."""
    if value is None:
        tie = key_column < key if descending else key_column > key
        return and_(column.is_(None), tie) if descending \
            else or_(column.is_not(None), and_(column.is_(None), tie))
    if descending:
        return or_(and_(column <= value, or_(column < value, key_column < key)),
                   column.is_(None))
    return and_(column >= value, or_(column > value, key_column > key))


# --- group walks -----------------------------------------------------------------------------
# A sort by a related table's name (customer, employee, …) or by a computed rank (status) has no
# index to read in order, so the database sorts every matching row for each page. But such a
# sort splits the rows into groups that follow one another (each customer's orders, in the
# customers' name order), and inside a group rows follow the id, which every index ends with.
# So the first pages can be read group by group, each an indexed query in id order with a
# LIMIT: the early pages of a million rows cost a few small queries instead of a full sort.


def walk_keys(session: Session, key: ColumnElement, conditions: Sequence[ColumnElement],
              groups: Iterable[ColumnElement], *, descending: bool, offset: int, limit: int,
              max_groups: int) -> list | None:
    """The ids of rows offset … offset+limit, reading `groups` (conditions, in sort order)
    one after another, each in `key` order; None when that takes more than `max_groups`
    queries (the caller then sorts in SQL)."""
    need = offset + limit
    keys: list = []
    order = key.desc() if descending else key.asc()
    for number, group in enumerate(groups):
        if number >= max_groups:
            return None
        keys += session.execute(select(key).where(*conditions, group).order_by(order)
                                .limit(need - len(keys))).scalars().all()
        if len(keys) >= need:
            break
    return keys[offset:need]


def search_clause(text: str | None, columns: Sequence[ColumnElement]) -> ColumnElement | None:
    """Case-insensitive "contains" over several columns; LIKE wildcards in the text are literal."""
    text = (text or "").strip()
    if not text:
        return None
    return or_(*(column.contains(text, autoescape=True) for column in columns))


# A page's LIMIT, OFFSET and ids, bound per call (see PageQuery).
_LIMIT = bindparam("page_limit", type_=Integer)
_OFFSET = bindparam("page_offset", type_=Integer)
_KEYS = bindparam("page_keys", expanding=True)


@dataclass(frozen=True)
class PageQuery:
    """The statements reading one view of a list (its conditions and sort), with the page's
    LIMIT, OFFSET and ids as bound parameters, so that they serve every page of the view. A
    caller may keep them (orders keeps its views, db/fastpath `kept_statements`): a page then
    costs no statement building, and SQLAlchemy, which remembers a statement's cache key,
    finds its compiled SQL at once; for a short query those two cost about what running it
    does. (The fast path reads the statements it meets again by their plans.)"""

    page: Select  # a page of rows; with a key: a page of ids
    rows: Select | None  # with a key: the full rows of given ids, in order
    count: Select
    # With a key and `page_rows`: the page's full rows in one statement, `page_rows` joined
    # to the page of ids (a derived table), in order.
    joined: Select | None = None

    @classmethod
    def build(cls, stmt: Select, order_by: Sequence, *, count: Select | None = None,
              key: ColumnElement | None = None, keys_stmt: Select | None = None,
              page_rows: Select | None = None) -> PageQuery:
        """The statements for `stmt` in `order_by`, counted by `count` (default: the rows of
        `stmt`). With `key` (the rows' unique id column) the page is found first on the narrow
        key alone, by `keys_stmt` (which selects only `key`, with the same conditions and just
        the joins the sort needs), and only that page's rows are then read in full: a deferred
        join, since sorting a million narrow rows is much cheaper than sorting a million wide
        ones. `page_rows`: `stmt`'s columns and joins without its conditions (each row of
        the base table once), which `joined` reads for the ids the page statement finds, in
        the same statement (the conditions are the page's, checked once)."""
        if count is None:
            count = select(func.count()).select_from(stmt.order_by(None).subquery())
        if key is None:
            return cls(stmt.order_by(*order_by).limit(_LIMIT).offset(_OFFSET), None, count)
        narrow = keys_stmt if keys_stmt is not None else stmt.with_only_columns(key)
        page = narrow.order_by(*order_by).limit(_LIMIT).offset(_OFFSET)
        joined = None
        if page_rows is not None:
            if page_rows.whereclause is not None:
                raise ValueError("page_rows must have no conditions (the page has them)")
            ids = page.subquery("nw_page")
            (tables,) = page_rows.get_final_froms()
            # The page first, then its rows by their key: MariaDB estimates a derived table
            # with LIMIT o, n at o + n rows, and at a deep offset it joined the other way
            # round (a million rows read by their other keys, 40x slower): STRAIGHT_JOIN
            # keeps the order written (SQLite ignores the MySQL-only prefix).
            joined = (select(*page_rows.selected_columns)
                      .select_from(ids.join(tables, ids.c[0] == key))
                      .prefix_with("STRAIGHT_JOIN", dialect="mysql")
                      .order_by(*order_by))
        return cls(page, stmt.where(key.in_(_KEYS)).order_by(*order_by), count, joined)


def fetch_page(session: Session, query: PageQuery, params: ListParams, row: Callable[[Any], T],
               *, keys: list | None = None, total: int | None = None,
               binds: Mapping[str, Any] | None = None) -> Page[T]:
    """One page of `query` and the count of all its matches. `keys` (the page's ids, e.g.
    from `walk_keys`) and `total`, when the caller has them, are used as they are. `binds`:
    values of the page statement's own parameters (e.g. a cursor's)."""
    params = params.validated()
    bounds = {**(binds or {}), "page_limit": params.limit, "page_offset": params.offset}
    connection = session.connection()  # Core execution: no ORM result layer for plain rows
    if query.rows is None:
        rows = connection.execute(query.page, bounds).all()
    elif keys is None and total is None and query.joined is not None:
        # One statement: the page's ids, their rows and (on MySQL/MariaDB) the count.
        rows, total = fetch_rows_and_scalar(session, query.joined, bounds, query.count)
    else:
        if keys is None:  # the page's ids, in any order: the rows statement sorts them
            keys = fetch_values(session, query.page, bounds)
        if keys and total is None:  # the count is read with the rows
            rows, total = fetch_rows_and_scalar(session, query.rows, {"page_keys": keys},
                                                query.count)
        else:
            rows = fetch_rows(session, query.rows, {"page_keys": keys}) if keys else []
    if total is None:
        total = connection.execute(query.count).scalar_one()
    # int: MariaDB sums (the rollup counts) come back as DECIMAL.
    return Page(items=[row(r) for r in rows], total=int(total), limit=params.limit,
                offset=params.offset)


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict keyed by the selected column labels."""
    return dict(row._mapping)


@dataclass(frozen=True)
class Listing:
    """One entity's list: `stmt` selects only the listed columns (joins included);
    `sorts` whitelists sort keys, `search` the columns `q` looks in, and each filter maps a
    value to a WHERE condition (a ValueError from it names the filter in a 422)."""

    stmt: Select
    sorts: Mapping[str, ColumnElement]
    default_sort: str
    tie_breaker: ColumnElement
    search: Sequence[ColumnElement] = ()
    filters: Mapping[str, Callable[[Any], ColumnElement]] = field(default_factory=dict)
    row: Callable[[Any], Any] = row_dict

    @property
    def sort_keys(self) -> list[str]:
        """Every accepted `sort` value: each field ascending, then descending."""
        return [*self.sorts, *(f"-{name}" for name in self.sorts)]

    def conditions(self, params: ListParams) -> list[ColumnElement]:
        errors: dict[str, str] = {}
        where = []
        matched = search_clause(params.search, self.search)
        if matched is not None:
            where.append(matched)
        for name, value in params.filters.items():
            if value is None:
                continue
            if name not in self.filters:
                errors[name] = "is not a filter of this list"
                continue
            try:
                where.append(self.filters[name](value))
            except ValueError as exc:
                errors[name] = str(exc)
        if errors:
            raise Invalid(fields=errors)
        return where

    def page(self, session: Session, params: ListParams) -> Page:
        params = params.validated()
        order_by = sort_clauses(params.sort, self.sorts, self.default_sort, self.tie_breaker)
        stmt = self.stmt.where(*self.conditions(params))
        return fetch_page(session, PageQuery.build(stmt, order_by), params, self.row)
