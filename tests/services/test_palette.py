"""The command palette's search (`services.palette.palette_search`): orders by id, customers
by id or name, products by id or name, pages by name, each limited, and only what the
user's role may read or open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from northwind_app.db.engine import session_scope
from northwind_app.services import palette
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Invalid
from northwind_app.services.palette import Destination

ADMIN = Actor(user_id=None, username="admin", role="admin")
SALES = Actor(user_id=None, username="sales", role="sales", employee_id=4)
VIEWER = Actor(user_id=None, username="viewer", role="viewer")
PAGES = (Destination("Orders", "/orders", "sales"),
         Destination("New order", "/orders/new", "create", Permission.WRITE_ORDERS),
         Destination("Customers", "/customers"),
         Destination("Users", "/users", "accounts", Permission.MANAGE_USERS),
         Destination("Audit trail", "/audit", "history", Permission.VIEW_AUDIT))


def _search(url, text, actor=ADMIN, **kwargs):
    with session_scope(url) as session:
        return palette.palette_search(session, actor, text, PAGES, **kwargs)


def _keys(hits, kind):
    return [hit.key for hit in hits if hit.kind == kind]


def test_an_order_by_its_id(classic_db_ro):
    hits = _search(classic_db_ro, " 10248 ", VIEWER)
    assert hits[0].kind == "order" and hits[0].key == "10248"
    assert hits[0].label == "Order 10248"
    assert hits[0].detail == "Vins et alcools Chevalier · Shipped"
    assert str(hits[0].date) == "1996-07-04" and hits[0].amount == Decimal("472.38")


def test_a_text_that_is_no_order_id_finds_no_order(classic_db_ro):
    assert _keys(_search(classic_db_ro, "99999999"), "order") == []
    assert _keys(_search(classic_db_ro, "alfreds"), "order") == []
    assert _keys(_search(classic_db_ro, "9" * 30), "order") == []


def test_customers_by_id_or_name(classic_db_ro):
    assert _keys(_search(classic_db_ro, "alfki"), "customer") == ["ALFKI"]
    assert _keys(_search(classic_db_ro, "Alfreds"), "customer") == ["ALFKI"]
    hits = _search(classic_db_ro, "Alfreds")
    assert hits[0].label == "Alfreds Futterkiste (ALFKI)" and hits[0].detail == "Berlin, Germany"


def test_products_by_id_or_name_discontinued_included(classic_db_ro):
    assert _keys(_search(classic_db_ro, "chai"), "product") == ["1"]
    hits = [hit for hit in _search(classic_db_ro, "42") if hit.kind == "product"]
    assert [hit.label for hit in hits] == ["Singaporean Hokkien Fried Mee"]
    assert hits[0].detail.endswith("discontinued")


def test_each_kind_is_limited(classic_db_ro):
    hits = _search(classic_db_ro, "a", per_kind=3)
    assert len(_keys(hits, "customer")) == 3 and len(_keys(hits, "product")) == 3
    with pytest.raises(Invalid):
        _search(classic_db_ro, "a", per_kind=500)


def test_pages_by_name_or_keyword_for_the_roles_that_may_open_them(classic_db_ro):
    assert _keys(_search(classic_db_ro, "", ADMIN), "page") == [p.route for p in PAGES]
    assert _keys(_search(classic_db_ro, "", VIEWER), "page") == ["/orders", "/customers"]
    assert _keys(_search(classic_db_ro, "", SALES), "page") == [
        "/orders", "/orders/new", "/customers"]
    assert _keys(_search(classic_db_ro, "", ADMIN), "order") == []  # no text: pages only
    assert _keys(_search(classic_db_ro, "new ord"), "page") == ["/orders/new"]
    assert _keys(_search(classic_db_ro, "HISTORY"), "page") == ["/audit"]
    assert _keys(_search(classic_db_ro, "history", SALES), "page") == []


def test_a_kind_the_role_may_not_read_is_left_out(classic_db_ro, monkeypatch):
    monkeypatch.setitem(palette.READ_PERMISSION, "customer", Permission.VIEW_AUDIT)
    assert _keys(_search(classic_db_ro, "alfki", VIEWER), "customer") == []
    assert _keys(_search(classic_db_ro, "alfki", ADMIN), "customer") == ["ALFKI"]


@pytest.mark.parametrize("text", ["x" * 201, None, 42, ["alfki"], {"q": "alfki"}])
def test_the_text_is_checked(classic_db_ro, text):
    with pytest.raises(Invalid) as refused:
        _search(classic_db_ro, text)
    assert list(refused.value.fields) == ["q"]


def test_wildcards_are_literal(classic_db_ro):
    assert _search(classic_db_ro, "%") == [] and _search(classic_db_ro, "_") == []
