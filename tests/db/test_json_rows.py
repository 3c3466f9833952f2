"""db/fastpath: on MariaDB a statement met again is read by its plan (as one JSON value, or as
the driver's rows, sent by the driver itself); the rows must be exactly the rows (values,
types, decimal places, order) that running it gives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import (
    Boolean, Date, DateTime, Float, Integer, Numeric, String, Time, cast, literal, select,
    text, union_all,
)

from northwind_app.db.engine import GROUP_CONCAT_MAX_LEN, get_engine, session_scope
from northwind_app.db.fastpath import fetch_rows, fetch_rows_and_scalar, fetch_values
from northwind_app.db.fastpath.plans import STORE
from northwind_app.db.models import Customer, Order, Shipper
from northwind_app.db.types import Amount, Money
from northwind_app.services import orders as svc
from northwind_app.services.orders import detail as order_detail, query as order_query
from northwind_app.services.listing import ListParams, fetch_page


TRICKY = "a\"b\\c\nd\te\x01 ü 😀 'quoted'"


def _typed(rows) -> list[tuple]:
    """Rows as tuples of (type, repr) pairs: equal only when values, types and decimal
    places are."""
    return [tuple((type(v).__name__, repr(v)) for v in row) for row in rows]


def _twice(fetch):
    """`fetch()`'s result the second time, when the fast path meets its statement again and
    reads it by its plan (the first time it runs it plainly): both the same."""
    first, second = fetch(), fetch()
    assert _typed(first) == _typed(second)
    return second


def _values_twice(fetch):
    """`_twice` for a set of values (in no particular order)."""
    first, second = fetch(), fetch()
    assert sorted(first) == sorted(second)
    return second


def _same_as_executed(session, stmt, params=None, *, as_json=True):
    got = _twice(lambda: fetch_rows(session, stmt, params))
    want = session.execute(stmt, params).all()
    assert _typed(got) == _typed(want)
    dialect = session.get_bind().dialect
    if dialect.name == "mysql":  # read as JSON, or not when it cannot be
        assert (STORE.peek("rows", stmt, None, dialect) is not None) == as_json
    return got


def test_list_pages_and_details_read_exactly_as_executed(classic_db_ro):
    today = dt.date(1998, 5, 1)
    with session_scope(classic_db_ro) as session:
        for sort, search, filters in (
                ("-order_date", None, {}), ("customer", None, {}), ("-total", None, {}),
                ("status", None, {}), ("-order_date", None, {"status": "shipped"}),
                ("order_date", "rio", {}), ("total", "a", {"status": "shipped"})):
            params = order_query._parsed(ListParams(sort=sort, search=search, filters=filters,
                                            limit=500).validated())
            view, _binds = order_query._filtered(params, today, session)
            keys = session.execute(view.query.page, {"page_limit": 500, "page_offset": 0}) \
                .scalars().all()
            assert keys
            got = _same_as_executed(session, view.query.rows, {"page_keys": keys})
            assert [r.order_id for r in got] == keys  # the sort's order, kept
            # the same page in one statement: its ids joined to their rows (PageQuery.joined)
            bounds = {"page_limit": 500, "page_offset": 0}
            assert _typed(_same_as_executed(session, view.query.joined, bounds)) == _typed(got)
            rows, total = fetch_rows_and_scalar(session, view.query.joined, bounds,
                                                view.query.count)
            assert _typed(rows) == _typed(got)
            assert total == session.execute(view.query.count).scalar_one()
            rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                                view.query.count)
            assert _typed(rows) == _typed(got)
            rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                                view.query.count)  # by its plan
            assert _typed(rows) == _typed(got)
            assert total == session.execute(view.query.count).scalar_one()
            assert (total == 830) == (search is None and not filters)
        order_ids = session.execute(select(Order.order_id)).scalars().all()
        lines = 0
        for order_id in order_ids:
            got = _same_as_executed(session, order_detail._DETAIL, {"order_id": order_id})
            lines += len(got)
            # as the detail reads it: the driver's rows, with the types' result processing
            plain = fetch_rows(session, order_detail._DETAIL, {"order_id": order_id},
                               few_rows=True)
            assert _typed(plain) == _typed(got)
            assert plain[0]._mapping == got[0]._mapping
        assert lines == 2155  # every line of the classic data
        dialect = session.get_bind().dialect
        if dialect.name == "mysql":
            assert STORE.peek("plain", order_detail._DETAIL, None, dialect) is not None


def _disk_tables(session) -> int:
    return int(session.execute(text(
        "SHOW SESSION STATUS LIKE 'Created_tmp_disk_tables'")).one()[1])


def test_list_statements_need_no_on_disk_temporary_table(backend, classic_db):
    # MariaDB 10.11 can crash (signal 11) when creating the Aria temporary table that
    # JSON_ARRAYAGG/GROUP_CONCAT makes for a TEXT argument fails under load (json_rows.py):
    # the list's statements, read by their plans, create none. A row whose JSON is longer
    # than ROW_CHARS is read plainly, whole.
    if backend != "mariadb":
        pytest.skip("MariaDB's temporary tables")
    today = dt.date(1998, 5, 1)
    long_name = "\x01" * 100 + TRICKY  # 6 JSON characters each: the row's JSON is > 512
    with session_scope(classic_db, write=True) as session:
        session.get(Customer, "VINET").company_name = long_name[:40]
        session.get(Shipper, 3).company_name = long_name[:40]
    with session_scope(classic_db) as session:
        params = order_query._parsed(ListParams(sort="-order_date", limit=50).validated())
        view, _binds = order_query._filtered(params, today, session)
        bounds = {"page_limit": 50, "page_offset": 0}
        for offset in (0, 0, 50, 780):  # the first time plainly, then by the plans
            bounds["page_offset"] = offset
            before = _disk_tables(session)
            keys = fetch_values(session, view.query.page, bounds)
            rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                                view.query.count)
            assert _disk_tables(session) == before
            assert total == 830 and len(rows) == 50
            before = _disk_tables(session)  # the page in one statement (PageQuery.joined)
            one, one_total = fetch_rows_and_scalar(session, view.query.joined, bounds,
                                                   view.query.count)
            assert _disk_tables(session) == before
            assert (_typed(one), one_total) == (_typed(rows), total)
        dialect = session.get_bind().dialect
        assert STORE.peek("rows", view.query.rows, view.query.count, dialect) is not None
        assert STORE.peek("values", view.query.page, None, dialect) is not None
        assert STORE.peek("rows", view.query.joined, view.query.count, dialect) is not None
        vinet = session.execute(select(Order.order_id).where(Order.customer_id == "VINET")) \
            .scalars().all()
        got = _same_as_executed(session, view.query.rows, {"page_keys": vinet})
        assert {r.customer_name for r in got} == {long_name[:40]}
        assert long_name[:40] in {r.shipper_name for r in got}
        count, json_text = STORE.peek("rows", view.query.rows, None, dialect).one(
            session.connection(), {"page_keys": vinet})
        assert len(json.loads(json_text or "[]")) < count == len(vinet)  # read plainly


def test_every_supported_type_and_null(backend, empty_db):
    if backend != "mariadb":
        pytest.skip("MariaDB's JSON forms (SQLite runs the statement)")
    values = select(
        literal(7, Integer).label("whole"),
        literal(TRICKY, String).label("text"),
        cast(literal("1996-07-04"), Date).label("day"),
        cast(literal("1996-07-04 13:05:09"), DateTime).label("moment"),
        literal(True, Boolean).label("flag"),
        literal(Decimal("12.00"), Numeric(10, 2)).label("plain_decimal"),
        literal(Decimal("-0.5"), Money()).label("money"),
        literal(Decimal("1234567890.12345678"), Amount()).label("amount"),
    )
    nulls = select(*(literal(None, c.type).label(c.key)
                     for c in values.selected_columns))
    both = union_all(values, nulls).subquery()
    stmt = select(both).order_by(both.c.whole.desc())
    with session_scope(empty_db) as session:
        got = _same_as_executed(session, stmt)
        # The order is the row numbers', whatever order the server aggregates the rows in.
        plan = STORE.peek("rows", stmt, None, session.get_bind().dialect)
        count, raw = session.execute(plan.stmt).one()
        reversed_rows = json.dumps(json.loads(raw, parse_float=str)[::-1])
        assert _typed(plan.rows(count, reversed_rows)) == _typed(got)
    assert [r.whole for r in got] == [7, None]
    assert got[0]._mapping["money"] == Decimal("-0.5000")
    assert str(got[0].money) == "-0.5000" and got[0].flag is True
    assert got[0].text == TRICKY and got[0].day == dt.date(1996, 7, 4)


def test_no_rows_and_names_of_customers_with_awkward_characters(backend, classic_db):
    name = 'Quote " back \\ slash\nnew line 😀 Ünïcode'
    with session_scope(classic_db, write=True) as session:
        session.execute(Customer.__table__.update().where(Customer.customer_id == "ALFKI")
                        .values(company_name=name))
    with session_scope(classic_db) as session:
        order_id = session.execute(select(Order.order_id).where(Order.customer_id == "ALFKI")
                                   .limit(1)).scalar_one()
        got = _same_as_executed(session, order_detail._DETAIL, {"order_id": order_id})
        assert got[0].customer_name == name
        assert _same_as_executed(session, order_detail._DETAIL, {"order_id": -1}) == []


def test_types_without_a_json_form_run_the_statement(backend, empty_db):
    stmt = select(literal(1.5, Float).label("ratio"), literal(1, Integer).label("n"))
    if backend == "mariadb":  # a TIME the driver reads as a timedelta
        stmt = stmt.add_columns(cast(literal("13:05:09"), Time).label("clock"))
    with session_scope(empty_db) as session:
        got = _same_as_executed(session, stmt, as_json=False)[0]  # read the usual way
    assert got.ratio == 1.5


def test_labels_that_cannot_be_attributes_run_the_statement(backend, empty_db):
    stmt = select(literal(1, Integer).label("_private"), literal(2, Integer).label("class"))
    with session_scope(empty_db) as session:
        assert _twice(lambda: fetch_rows(session, stmt, None)) == [(1, 2)]


def test_a_result_longer_than_mariadbs_default_limit_is_whole(empty_db, backend):
    if backend != "mariadb":
        pytest.skip("MariaDB's group_concat_max_len")
    with get_engine(empty_db).connect() as conn:
        assert conn.execute(text("SELECT @@group_concat_max_len")).scalar_one() \
            == GROUP_CONCAT_MAX_LEN
    long_text = "x" * 5000
    numbers = union_all(*(select(literal(i, Integer).label("n"),
                                 literal(long_text, String).label("body"))
                          for i in range(300))).subquery()  # ~1.5 MB of JSON
    stmt = select(numbers).order_by(numbers.c.n)
    with session_scope(empty_db) as session:
        got = _twice(lambda: fetch_rows(session, stmt, None))
        assert STORE.peek("rows", stmt, None, session.get_bind().dialect) is not None
    assert [r.n for r in got] == list(range(300)) and all(r.body == long_text for r in got)


def test_values_of_a_page_are_its_ids(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        for sort, offset in (("-order_date", 0), ("total", 400), ("-shipped_date", 820)):
            params = order_query._parsed(ListParams(sort=sort, limit=50).validated())
            view, _binds = order_query._filtered(params, dt.date(1998, 5, 1), session)
            bounds = {"page_limit": 50, "page_offset": offset}
            want = session.execute(view.query.page, bounds).scalars().all()
            got = _values_twice(lambda: fetch_values(session, view.query.page, bounds))
            assert sorted(got) == sorted(want) and len(got) == len(want) == min(50, 830 - offset)
            assert all(type(v) is int for v in got)
        nothing = {"page_limit": 50, "page_offset": 10_000}
        assert fetch_values(session, view.query.page, nothing) == []
        dialect = session.get_bind().dialect
        if dialect.name == "mysql":
            assert STORE.peek("values", view.query.page, None, dialect) is not None


def test_only_kept_list_views_keep_json_forms(classic_db_ro):
    # A view made for one request (a search's) is made anew each time, so the fast path never
    # meets its statements again and builds nothing for them; a kept view's statements get
    # their JSON forms for its next pages (MariaDB).
    with session_scope(classic_db_ro) as session:
        on_mariadb = session.get_bind().dialect.name == "mysql"
        dialect = session.get_bind().dialect
        params = order_query._parsed(ListParams(search="rio"))
        searched, _ = order_query._filtered(params, dt.date.today(), session)
        assert order_query._filtered(params, dt.date.today(), session)[0] is not searched
        keys = session.execute(searched.query.page, {"page_limit": 25, "page_offset": 0}) \
            .scalars().all()
        fetch_rows_and_scalar(session, searched.query.rows, {"page_keys": keys},
                              searched.query.count)
        assert STORE.peek("rows", searched.query.rows, searched.query.count, dialect) is None
        assert svc.list_orders(session, ListParams(search="rio")).total > 0
        params = ListParams(sort="-total")
        kept, _ = order_query._filtered(order_query._parsed(params), dt.date.today(), session)
        svc.list_orders(session, params)
        svc.list_orders(session, params)
        assert order_query._filtered(order_query._parsed(params), dt.date.today(),
                                     session)[0] is kept
        # the list reads a page in one statement: the page of ids joined to their rows
        assert (STORE.peek("rows", kept.query.joined, kept.query.count, dialect)
                is not None) == on_mariadb


def _kept_view(session, sort: str = "-order_date"):
    params = order_query._parsed(ListParams(sort=sort, limit=50).validated())
    view, _binds = order_query._filtered(params, dt.date(1998, 5, 1), session)
    keys = session.execute(view.query.page, {"page_limit": 50, "page_offset": 0}).scalars().all()
    return view, keys


def test_kept_statements_are_run_by_the_driver(classic_db_ro):
    """On MariaDB a kept statement's JSON form is sent by PyMySQL itself (its 50-id IN list
    as one tuple parameter, the statement's literal values as SQLAlchemy binds them); an
    empty id list is left to SQLAlchemy, which renders it."""
    with session_scope(classic_db_ro) as session:
        view, keys = _kept_view(session)
        _twice(lambda: fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                             view.query.count)[0])  # then by its plan
        rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                            view.query.count)
        assert [r.order_id for r in rows] == keys and total == 830
        assert _twice(lambda: fetch_rows(session, view.query.rows, {"page_keys": []})) == []
        dialect = session.get_bind().dialect
        if dialect.name != "mysql":
            return
        plan = STORE.peek("rows", view.query.rows, view.query.count, dialect)
        assert plan.driver is not None and "page_keys" in plan.driver.expanding
        assert plan.driver.one(session.connection(), {"page_keys": []}) is None
        driver = session.connection().connection.dbapi_connection
        for values in ({"page_keys": tuple(keys)}, {"page_keys": (1, True, 2.5, "x'; --")},
                       {"page_keys": (), "limit": 5, "text": "O'Brien \\ %", "on": None,
                        "day": dt.date(1998, 5, 1), "price": Decimal("1.50")}):
            values = {**plan.driver.defaults, **values}
            assert plan.driver.written(driver, values) == \
                driver.cursor().mogrify(plan.driver.text, values)
        got = _values_twice(lambda: fetch_values(session, view.query.page,
                                          {"page_limit": 50, "page_offset": 0}))
        assert sorted(got) == sorted(keys)
        assert STORE.peek("values", view.query.page, None, dialect).driver is not None


def test_driver_errors_are_sqlalchemys_and_a_lost_connection_is_replaced(backend, classic_db):
    if backend != "mariadb":
        pytest.skip("statements are run by the driver on MariaDB only")
    import pymysql
    from sqlalchemy.exc import DBAPIError, OperationalError

    with session_scope(classic_db) as session:
        view, keys = _kept_view(session)
        _twice(lambda: fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                             view.query.count)[0])
        plan = STORE.peek("rows", view.query.rows, view.query.count, session.get_bind().dialect)
        with pytest.raises(DBAPIError) as refused:  # SQLAlchemy's wrapper of the driver's
            plan.driver.one(session.connection(), {"page_keys": [[1, 2]]})
        assert isinstance(refused.value.orig, pymysql.err.Error)
        assert not refused.value.connection_invalidated
    with session_scope(classic_db) as session:
        victim = session.execute(text("SELECT CONNECTION_ID()")).scalar_one()
        with get_engine(classic_db).connect() as other:
            other.execute(text(f"KILL CONNECTION {int(victim)}"))
        with pytest.raises(OperationalError) as lost:
            fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                  view.query.count)
        assert lost.value.connection_invalidated
        session.rollback()
    with session_scope(classic_db) as session:  # the pool made a new connection
        rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                            view.query.count)
        assert [r.order_id for r in rows] == keys and total == 830



def test_a_list_page_is_one_statement(classic_db_ro):
    """A kept list view's page (the first, a deep one by a cursor or an offset, another
    sort's) is read in one statement on MariaDB (its ids, their rows as JSON, the count),
    in two on SQLite (the rows, the count): the same rows and count as the ids-then-rows
    way (PageQuery.joined unset)."""
    from sqlalchemy import event

    from tests.db.test_engine import sent

    today = dt.date(1998, 5, 1)
    with session_scope(classic_db_ro) as session:
        middle = svc.list_orders(session, ListParams(limit=50, offset=365), today=today)
        for params in (ListParams(limit=50), ListParams(limit=50, after=middle.next_cursor),
                       ListParams(limit=50, offset=780),
                       ListParams(limit=50, sort="-total", offset=100)):
            for _ in range(2):  # the first time plainly, then by the plans
                got = svc.list_orders(session, params, today=today)
            if session.get_bind().dialect.name == "mysql":
                with sent() as commands:
                    assert svc.list_orders(session, params, today=today) == got
                assert commands == ["SELECT"]
            else:
                statements = []
                engine = session.get_bind()
                listen = lambda *args: statements.append(args[2])  # noqa: E731
                event.listen(engine, "before_cursor_execute", listen)
                try:
                    assert svc.list_orders(session, params, today=today) == got
                finally:
                    event.remove(engine, "before_cursor_execute", listen)
                assert len(statements) == 2 and "nw_page" in statements[0]
            parsed = order_query._parsed(params.validated())
            view, binds = order_query._filtered(parsed, today, session)
            assert view.query.joined is not None
            want = fetch_page(session, dataclasses.replace(view.query, joined=None), parsed,
                              order_query._row(today), binds=binds)
            assert (got.items, got.total) == (want.items, want.total)
            assert got.total == 830 and len(got.items) == 50
        deep = svc.list_orders(session, ListParams(limit=50, after=middle.next_cursor),
                               today=today)
        assert deep.items == svc.list_orders(session, ListParams(limit=50, offset=415),
                                             today=today).items
