"""The orders search (`services.orders.search_condition`) on SQLite and MariaDB: it finds the
matching ship names and cities first and then the orders by value, and must match exactly
what the plain rule matches (a case-insensitive substring of the customer's company name, the
ship name or the ship city, LIKE wildcards literal; or the order id / customer id).

The classic data gets ship names and cities that differ from the customer's own name and city,
so only the ship columns can match them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, inspect, or_, select, update

from northwind_app.db import schema as db_schema
from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.models import Customer, Order
from northwind_app.services import orders as svc
from northwind_app.services.orders import search as order_search
from northwind_app.services.listing import ListParams
from tests.conftest import BACKENDS
from tests import dbutil

TODAY = dt.date(1998, 5, 7)  # the day after the classic data's last order

SHIP_EDITS = {  # order id → new ship columns (10248 is shipped; 11076 and 11077 are new)
    10248: {"ship_name": "Zylo Freight%Forward_Co", "ship_city": "Quxbridge Heights"},
    11076: {"ship_city": "Quxbridge Heights"},
    11077: {"ship_city": "Lower Quxbridge"},
    10249: {"ship_city": "Lund-Cobham"},         # "d_co" as a wildcard would match it
    10250: {"ship_name": "Salt Fjord Traders"},  # "t%f" as a wildcard would match it
    10251: {"ship_city": "Straßeburg"},          # MariaDB's collation: = "Strasseburg",
    10252: {"ship_city": "Strasseburg"},         # but LIKE '%strasse%' matches only these two
    10253: {"ship_city": "STRASSEBURG"},
}

TEXTS = ["lo freight", "QUXBRIDGE", "quxbridge", "xbridge h", "t%f", "d_co", "%", "_",
         "straße", "strasse", "aßeb", "ß", "Chevalier", "vinet", "10248", "11077", "Rio de",
         "a", "zzqqx", "BOLID", "Bólido"]


@pytest.fixture(scope="module", params=BACKENDS)
def search_db(request, tmp_path_factory):
    """Classic data with SHIP_EDITS applied (read-only for the tests)."""
    dbutil.require_backend(request.param)
    db = dbutil.TestDatabase(request.param, tmp_path_factory.mktemp("search")).classic()
    with get_engine(db.url).begin() as conn:
        for order_id, values in SHIP_EDITS.items():
            conn.execute(update(Order).where(Order.order_id == order_id).values(**values))
    yield db.url
    db.drop()


def _search(url, text, status=None, limit=500):
    with session_scope(url) as s:
        return svc.list_orders(s, ListParams(limit=limit, search=text,
                                             filters={"status": status} if status else {}), TODAY)


def _ids(page):
    return sorted(r.order_id for r in page.items)


def _all_matches(url, text, status=None) -> tuple[list[int], int]:
    """(every matching id, streamed as the CSV export does; the list's total)."""
    params = ListParams(limit=1, search=text, filters={"status": status} if status else {})
    with session_scope(url) as s:
        ids = sorted(r.order_id for r in svc.iter_orders(s, params, TODAY))
        return ids, svc.list_orders(s, params, TODAY).total


def _reference(url, text, status=None) -> list[int]:
    """The rule in its plain form: LIKE over every order (what the search must equal)."""
    text = text.strip()
    named = select(Customer.customer_id).where(Customer.company_name.contains(text, autoescape=True))
    matches = [Order.customer_id.in_(named), Order.ship_name.contains(text, autoescape=True),
               Order.ship_city.contains(text, autoescape=True)]
    if text.isascii() and text.isdigit():
        matches.append(Order.order_id == int(text))
    if len(text) <= 5:
        matches.append(Order.customer_id == text.upper())
    where = [or_(*matches)]
    if status:
        where.append(svc.status_condition(status, TODAY))
    with session_scope(url) as s:
        return sorted(s.execute(select(Order.order_id).where(*where)).scalars())


def test_ship_name_and_city_matched_in_the_middle_of_the_text(search_db):
    assert _ids(_search(search_db, "lo freight")) == [10248]  # customer VINET, in Reims
    assert _ids(_search(search_db, "xbridge h")) == [10248, 11076]
    assert _ids(_search(search_db, "bridge")) == [10248, 11076, 11077]  # two distinct cities


def test_search_is_case_insensitive(search_db):
    for text in ("QUXBRIDGE", "quxbridge", "qUxBrIdGe"):
        page = _search(search_db, text)
        assert _ids(page) == [10248, 11076, 11077] and page.total == 3
    assert _ids(_search(search_db, "ZYLO FREIGHT")) == [10248]
    assert set(_ids(_search(search_db, "strasse"))) == {10252, 10253}


def test_like_wildcards_in_the_text_are_literal(search_db):
    assert _ids(_search(search_db, "t%f")) == [10248]  # not 10250's "Salt Fjord"
    assert _ids(_search(search_db, "d_co")) == [10248]  # not 10249's "Lund-Cobham"
    assert _ids(_search(search_db, "freight%forward_co")) == [10248]
    assert _search(search_db, "100%_x").total == 0


def test_collation_equal_values_keep_their_own_match(search_db):
    """MariaDB calls 'Straßeburg' and 'Strasseburg' equal (one index group) but LIKE tells
    them apart: the search neither loses nor adds one of them."""
    assert _ids(_search(search_db, "straße")) == [10251]
    assert _ids(_search(search_db, "aßeb")) == [10251]
    assert _ids(_search(search_db, "strasse")) == [10252, 10253]


def test_search_with_status_filter_and_total(search_db):
    shipped = _search(search_db, "quxbridge", status="shipped")
    assert _ids(shipped) == [10248] and shipped.total == 1
    new = _search(search_db, "QUXBRIDGE", status="new")
    assert _ids(new) == [11076, 11077] and new.total == 2
    assert _search(search_db, "quxbridge", status="late").total == 0
    first = _search(search_db, "bridge", limit=1)  # the total counts every match, not the page
    assert len(first.items) == 1 and first.total == 3
    assert first.items[0].order_id == 11077  # newest first (default sort -order_date)


@pytest.mark.parametrize("status", [None, "shipped", "new"])
def test_search_equals_the_plain_rule(search_db, status):
    for text in TEXTS:
        expected = _reference(search_db, text, status)
        assert _all_matches(search_db, text, status) == (expected, len(expected)), text


def test_fallback_to_like_equals_the_plain_rule(search_db, monkeypatch):
    """Past the limits (many values or many orders) the search scans by LIKE: same result."""
    for names in (["SEARCH_VALUES_MAX"], ["SEARCH_ORDERS_MAX", "SEARCH_ORDERS_MAX_SQLITE"]):
        with monkeypatch.context() as patch:
            for name in names:
                patch.setattr(order_search, name, 0)
            for text in TEXTS:
                expected = _reference(search_db, text, "shipped")
                assert _all_matches(search_db, text, "shipped") == (expected, len(expected)), \
                    (names, text)


def test_values_are_found_first_and_orders_by_value(search_db, monkeypatch):
    """The fast path is the one the tests above exercise (not only the LIKE fallback)."""
    with session_scope(search_db) as s:
        def sql(text):
            condition = svc.search_condition(s, text)
            return str(condition.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        fast = sql("quxbridge")
        assert "ship_city IN (" in fast and "Quxbridge Heights" in fast and "ship_name" not in fast
        assert sql("zzqqxx") in ("false", "0", "0 = 1", "1 != 1")  # nothing can match
        monkeypatch.setattr(order_search, "SEARCH_ORDERS_MAX", 0)
        monkeypatch.setattr(order_search, "SEARCH_ORDERS_MAX_SQLITE", 0)
        assert "ship_city IN (" not in sql("quxbridge")


def _lookups(url, text):
    """The statements `search_condition` reads the search's value tables with."""
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(url) as s:
            svc.search_condition(s, text)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [st for st in statements if "order_search_" in st]


def test_values_are_looked_up_by_trigrams(search_db):
    """A text of three characters or more finds its values by trigram (index lookups, not a
    LIKE over every value); a shorter one by a LIKE over order_search_values."""
    grams, = _lookups(search_db, "quxbridge")
    assert "order_search_grams" in grams and "order_search_values" not in grams
    short, = _lookups(search_db, "ß")
    assert "order_search_values" in short and "order_search_grams" not in short


def test_without_trigrams_equals_the_plain_rule(search_db, monkeypatch):
    """MariaDB: a searched column whose collation is not the trigrams' (so that a LIKE match
    would not imply equal trigrams) turns the trigrams off; the result stays the same."""
    with session_scope(search_db) as s:
        collations = order_search._collations(s)
    if collations is None:
        pytest.skip("SQLite: the trigrams compare like every column's LIKE")
    monkeypatch.setitem(db_schema._COLLATIONS, get_engine(search_db).url.render_as_string(),
                        {**collations, "order_search_grams.gram": "utf8mb4_general_ci"})
    lookup, = _lookups(search_db, "quxbridge")
    assert "order_search_grams" not in lookup and "order_search_values" in lookup
    for text in TEXTS:
        expected = _reference(search_db, text, "shipped")
        assert _all_matches(search_db, text, "shipped") == (expected, len(expected)), text


def test_csv_export_stream_matches_the_list(search_db):
    params = ListParams(search="bridge", filters={"status": "new"})
    with session_scope(search_db) as s:
        streamed = [r.order_id for r in svc.iter_orders(s, params, TODAY)]
    assert streamed == [11077, 11076]


def test_ship_columns_are_indexed(search_db):
    indexes = {ix["name"]: ix["column_names"]
               for ix in inspect(get_engine(search_db)).get_indexes("orders")}
    sorted_dates = ["order_date", "order_id", "shipped_date", "required_date"]
    assert indexes["ix_orders_ship_city_status"] == ["ship_city", *sorted_dates]
    assert indexes["ix_orders_ship_name_status"] == ["ship_name", *sorted_dates]
