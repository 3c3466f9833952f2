"""Sorts by customer, employee, shipper and status read their first pages group by group
(services.orders.query._sort_groups with listing.walk_keys) instead of sorting every match in SQL.
Both ways must give exactly the same pages — for each such sort, both directions, several
pages, with filters, with two customers of the same name and with orders without a shipper —
on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from northwind_app.db.engine import session_scope
from northwind_app.services import orders as svc
from northwind_app.services.orders import query as order_query
from northwind_app.services.listing import ListParams

WALKED = ("customer", "employee", "shipper", "status")
SORTS = [f"{d}{name}" for name in WALKED for d in ("", "-")]
PAGES = [(0, 25), (25, 25), (100, 50), (790, 50)]


def _pages(session, sort: str, filters: dict, *, walk: bool) -> list[list[int]]:
    """Every page of PAGES, read with the walk forced on (or off)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(order_query, "WALK_MIN_ROWS", 0 if walk else 10**9)
        patch.setattr(order_query, "WALK_MAX_GROUPS", 10**6)
        calls = []
        real = order_query.walk_keys
        patch.setattr(order_query, "walk_keys", lambda *a, **k: calls.append(1) or real(*a, **k))
        pages = []
        for offset, limit in PAGES:
            page = svc.list_orders(session, ListParams(limit=limit, offset=offset, sort=sort,
                                                       filters=filters))
            pages.append([row.order_id for row in page.items])
        assert bool(calls) == walk
    return pages


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("filters", [{}, {"status": "shipped"}, {"employee_id": "3"}],
                         ids=["all", "shipped", "employee-3"])
def test_walked_pages_equal_sorted_pages(classic_db_ro, sort, filters):
    with session_scope(classic_db_ro) as session:
        walked = _pages(session, sort, filters, walk=True)
        assert walked == _pages(session, sort, filters, walk=False)
        assert walked[0], "the first page has rows"


def test_walk_with_equal_names_and_missing_shippers(classic_db):
    with session_scope(classic_db, write=True) as session:
        # Two customers of one name: the sort keeps each one's orders together (by id).
        session.execute(text("UPDATE customers SET company_name = 'Alfreds Futterkiste' "
                             "WHERE customer_id = 'BOLID'"))
        session.execute(text("UPDATE orders SET ship_via = NULL "
                             "WHERE order_id IN (10250, 10600, 11077)"))
    with session_scope(classic_db) as session:
        for sort in ("customer", "-customer", "shipper", "-shipper"):
            walked = _pages(session, sort, {}, walk=True)
            assert walked == _pages(session, sort, {}, walk=False), sort
        first = _pages(session, "shipper", {}, walk=True)[0]
        assert first[:3] == [10250, 10600, 11077]  # no shipper sorts first
        names = svc.list_orders(session, ListParams(limit=30, sort="customer")).items
        ids = [row.customer_id for row in names]
        assert ids == sorted(ids, key=lambda c: c != "ALFKI")  # ALFKI's 6, then BOLID's 3
        assert ids.count("ALFKI") == 6 and ids.count("BOLID") == 3


def test_walk_gives_up_after_its_group_budget(classic_db_ro):
    with session_scope(classic_db_ro) as session, pytest.MonkeyPatch.context() as patch:
        patch.setattr(order_query, "WALK_MIN_ROWS", 0)
        patch.setattr(order_query, "WALK_MAX_GROUPS", 3)  # page 9 needs more than 3 customers
        page = svc.list_orders(session, ListParams(limit=50, offset=400, sort="customer"))
        patch.setattr(order_query, "WALK_MIN_ROWS", 10**9)
        assert [r.order_id for r in page.items] == [
            r.order_id for r in svc.list_orders(
                session, ListParams(limit=50, offset=400, sort="customer")).items]
