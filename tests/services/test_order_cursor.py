"""Keyset (cursor) paging of the orders list: following next_cursor visits exactly the rows
that offset paging visits, in the same order, for every sort that allows cursors and both
directions, on both backends; bad cursors are refused naming `after`."""

from __future__ import annotations

import datetime as dt

import pytest

from northwind_app.db.engine import session_scope
from northwind_app.services import orders as svc
from northwind_app.services.orders import query as order_query
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import ListParams, encode_cursor

PAGE = 97  # not a divisor of 830: the last page is partial


def _walk_by_cursor(session, sort: str, filters=None, limit: int = PAGE) -> list[int]:
    ids, after = [], None
    while True:
        page = svc.list_orders(session, ListParams(limit=limit, sort=sort, after=after,
                                                   filters=filters or {}))
        ids += [row.order_id for row in page.items]
        if page.next_cursor is None:
            return ids
        after = page.next_cursor


def _walk_by_offset(session, sort: str, filters=None, limit: int = PAGE) -> list[int]:
    ids, offset = [], 0
    while True:
        page = svc.list_orders(session, ListParams(limit=limit, offset=offset, sort=sort,
                                                   filters=filters or {}))
        ids += [row.order_id for row in page.items]
        if len(page.items) < limit:
            return ids
        offset += limit


@pytest.mark.parametrize("sort", [f"{d}{name}" for name in svc.CURSOR_SORTS for d in ("", "-")])
def test_cursor_pages_equal_offset_pages(classic_db_ro, sort):
    with session_scope(classic_db_ro) as session:
        by_cursor = _walk_by_cursor(session, sort)
        assert by_cursor == _walk_by_offset(session, sort)
        assert len(by_cursor) == len(set(by_cursor)) == 830


def test_cursor_with_nulls_and_filters(classic_db_ro):
    # 21 orders are unshipped: shipped_date NULL sorts first ascending, last descending.
    with session_scope(classic_db_ro) as session:
        for sort in ("shipped_date", "-shipped_date"):
            assert _walk_by_cursor(session, sort) == _walk_by_offset(session, sort)
        filters = {"customer_id": "QUICK"}
        assert _walk_by_cursor(session, "-total", filters) == \
            _walk_by_offset(session, "-total", filters)
        # Pages of 4 put cursors among the 21 unshipped orders too (a NULL sort value).
        for sort in ("shipped_date", "-shipped_date"):
            assert _walk_by_cursor(session, sort, limit=4) == \
                _walk_by_offset(session, sort, limit=4)


def test_every_cursor_of_a_view_shares_its_statements(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        first = svc.list_orders(session, ListParams(limit=10, sort="-total"))
        second = svc.list_orders(session, ListParams(limit=10, sort="-total",
                                                     after=first.next_cursor))
        views = [order_query._filtered(ListParams(limit=10, sort="-total", after=page.next_cursor),
                               dt.date.today(), session) for page in (first, second)]
    assert views[0][0] is views[1][0]  # one kept view ...
    assert views[0][1] != views[1][1]  # ... its cursor values bound per request
    assert [r.order_id for r in second.items][0] not in [r.order_id for r in first.items]


def test_total_counts_every_match_and_last_page_has_no_cursor(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        first = svc.list_orders(session, ListParams(limit=400))
        second = svc.list_orders(session, ListParams(limit=400, after=first.next_cursor))
        last = svc.list_orders(session, ListParams(limit=400, after=second.next_cursor))
    assert first.total == second.total == last.total == 830
    assert len(last.items) == 30 and last.next_cursor is None


@pytest.mark.parametrize("params", [
    ListParams(), ListParams(filters={"status": "shipped"}),  # counted from the rollups
    ListParams(filters={"status": "shipped_late", "employee_id": 4}),
    ListParams(filters={"customer_id": "QUICK"}), ListParams(search="rio"),  # by COUNT(*)
    ListParams(sort="customer"), ListParams(limit=5, filters={"status": "late"}),
])
def test_totals_are_whole_numbers(classic_db_ro, params):
    # MariaDB's SUM of the rollup counts is a DECIMAL: the screens' int fields refused it.
    with session_scope(classic_db_ro) as session:
        page = svc.list_orders(session, params)
    assert type(page.total) is int and page.total >= len(page.items)


@pytest.mark.parametrize("params, field", [
    (ListParams(after="not-a-cursor"), "after"),
    (ListParams(after=encode_cursor("-total", "10.00", 1)), "after"),  # made for another sort
    (ListParams(sort="customer", after=encode_cursor("customer", "x", 1)), "after"),
    (ListParams(after=encode_cursor("-order_date", "1997-13-40", 1)), "after"),
    (ListParams(after=encode_cursor("-order_date", "1997-01-01", 1), offset=25), "offset"),
])
def test_bad_cursors_are_refused(classic_db_ro, params, field):
    with session_scope(classic_db_ro) as session, pytest.raises(Invalid) as failed:
        svc.list_orders(session, params)
    assert field in failed.value.fields
