"""db/rows.fetch_rows: on MariaDB a statement's rows are read as one JSON value; they must be
exactly the rows (values, types, decimal places, order) that running it gives."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import (
    Boolean, Date, DateTime, Float, Integer, Numeric, String, Time, cast, literal, select,
    text, union_all,
)

from northwind_app.db import rows as json_rows
from northwind_app.db.engine import GROUP_CONCAT_MAX_LEN, get_engine, session_scope
from northwind_app.db.models import Customer, Order
from northwind_app.db.rows import fetch_rows, fetch_rows_and_scalar, fetch_values
from northwind_app.db.types import Amount, Money
from northwind_app.services import orders as svc
from northwind_app.services.listing import ListParams


TRICKY = "a\"b\\c\nd\te\x01 ü 😀 'quoted'"


def _typed(rows) -> list[tuple]:
    """Rows as tuples of (type, repr) pairs: equal only when values, types and decimal
    places are."""
    return [tuple((type(v).__name__, repr(v)) for v in row) for row in rows]


def _same_as_executed(session, stmt, params=None, *, as_json=True, plans=None):
    plans = {} if plans is None else plans  # kept by the caller, like a kept list view's
    got = fetch_rows(session, stmt, params, plans)
    want = session.execute(stmt, params).all()
    assert _typed(got) == _typed(want)
    dialect = session.get_bind().dialect
    if dialect.name == "mysql":  # read as JSON, or not when it cannot be
        assert (json_rows._plan(plans, stmt, dialect) is not None) == as_json
    return got


def test_list_pages_and_details_read_exactly_as_executed(classic_db_ro):
    today = dt.date(1998, 5, 1)
    with session_scope(classic_db_ro) as session:
        for sort, search, filters in (
                ("-order_date", None, {}), ("customer", None, {}), ("-total", None, {}),
                ("status", None, {}), ("-order_date", None, {"status": "shipped"}),
                ("order_date", "rio", {}), ("total", "a", {"status": "shipped"})):
            params = svc._parsed(ListParams(sort=sort, search=search, filters=filters,
                                            limit=500).validated())
            view, _binds = svc._filtered(params, today, session)
            keys = session.execute(view.query.page, {"page_limit": 500, "page_offset": 0}) \
                .scalars().all()
            assert keys
            got = _same_as_executed(session, view.query.rows, {"page_keys": keys})
            assert [r.order_id for r in got] == keys  # the sort's order, kept
            rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                                view.query.count, {})
            assert _typed(rows) == _typed(got)
            assert total == session.execute(view.query.count).scalar_one()
            assert (total == 830) == (search is None and not filters)
        order_ids = session.execute(select(Order.order_id)).scalars().all()
        lines = 0
        plain_plans: dict = {}
        for order_id in order_ids:
            got = _same_as_executed(session, svc._DETAIL, {"order_id": order_id})
            lines += len(got)
            # as the detail reads it: the driver's rows, with the types' result processing
            plain = fetch_rows(session, svc._DETAIL, {"order_id": order_id}, plain_plans,
                               as_json=False)
            assert _typed(plain) == _typed(got)
            assert plain[0]._mapping == got[0]._mapping
        assert lines == 2155  # every line of the classic data
        dialect = session.get_bind().dialect
        if dialect.name == "mysql":
            assert json_rows._plain_plan(plain_plans, svc._DETAIL, dialect) is not None


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
    plans: dict = {}
    with session_scope(empty_db) as session:
        got = _same_as_executed(session, stmt, plans=plans)
        # The order is the row numbers', whatever order the server aggregates the rows in.
        plan = json_rows._plan(plans, stmt, session.get_bind().dialect)
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
        got = _same_as_executed(session, svc._DETAIL, {"order_id": order_id})
        assert got[0].customer_name == name
        assert _same_as_executed(session, svc._DETAIL, {"order_id": -1}) == []


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
        assert fetch_rows(session, stmt, None, {}) == [(1, 2)]


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
        got = fetch_rows(session, stmt, None, {})
    assert [r.n for r in got] == list(range(300)) and all(r.body == long_text for r in got)


def test_values_of_a_page_are_its_ids(classic_db_ro):
    plans: dict = {}
    with session_scope(classic_db_ro) as session:
        for sort, offset in (("-order_date", 0), ("total", 400), ("-shipped_date", 820)):
            params = svc._parsed(ListParams(sort=sort, limit=50).validated())
            view, _binds = svc._filtered(params, dt.date(1998, 5, 1), session)
            bounds = {"page_limit": 50, "page_offset": offset}
            want = session.execute(view.query.page, bounds).scalars().all()
            got = fetch_values(session, view.query.page, bounds, plans)
            assert sorted(got) == sorted(want) and len(got) == len(want) == min(50, 830 - offset)
            assert all(type(v) is int for v in got)
        nothing = {"page_limit": 50, "page_offset": 10_000}
        assert fetch_values(session, view.query.page, nothing, plans) == []
        dialect = session.get_bind().dialect
        if dialect.name == "mysql":
            assert json_rows._values_plan(plans, view.query.page, dialect) is not None


def test_only_kept_list_views_keep_json_forms(classic_db_ro):
    # A view made for one request (a search's) reads its rows plainly, so nothing of it is
    # kept; a kept view holds its statements' JSON forms for its next pages (MariaDB).
    with session_scope(classic_db_ro) as session:
        on_mariadb = session.get_bind().dialect.name == "mysql"
        searched, _ = svc._filtered(svc._parsed(ListParams(search="rio")), dt.date.today(),
                                    session)
        assert searched.query.plans is None
        assert svc.list_orders(session, ListParams(search="rio")).total > 0
        params = ListParams(sort="-total")
        kept, _ = svc._filtered(svc._parsed(params), dt.date.today(), session)
        svc.list_orders(session, params)
        assert kept.query.plans is not None
        dialect = session.get_bind().dialect
        assert (json_rows._plan(kept.query.plans, kept.query.rows, dialect, kept.query.count)
                is not None) == on_mariadb


def _kept_view(session, sort: str = "-order_date"):
    params = svc._parsed(ListParams(sort=sort, limit=50).validated())
    view, _binds = svc._filtered(params, dt.date(1998, 5, 1), session)
    keys = session.execute(view.query.page, {"page_limit": 50, "page_offset": 0}).scalars().all()
    return view, keys


def test_kept_statements_are_run_by_the_driver(classic_db_ro):
    """On MariaDB a kept statement's JSON form is sent by PyMySQL itself (its 50-id IN list
    as one tuple parameter, the statement's literal values as SQLAlchemy binds them); an
    empty id list is left to SQLAlchemy, which renders it."""
    plans: dict = {}
    with session_scope(classic_db_ro) as session:
        view, keys = _kept_view(session)
        rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                            view.query.count, plans)
        assert [r.order_id for r in rows] == keys and total == 830
        assert fetch_rows(session, view.query.rows, {"page_keys": []}, plans) == []
        dialect = session.get_bind().dialect
        if dialect.name != "mysql":
            return
        plan = json_rows._plan(plans, view.query.rows, dialect, view.query.count)
        assert plan.driver is not None and "page_keys" in plan.driver.expanding
        assert plan.driver.one(session.connection(), {"page_keys": []}) is None
        driver = session.connection().connection.dbapi_connection
        for values in ({"page_keys": tuple(keys)}, {"page_keys": (1, True, 2.5, "x'; --")},
                       {"page_keys": (), "limit": 5, "text": "O'Brien \\ %", "on": None,
                        "day": dt.date(1998, 5, 1), "price": Decimal("1.50")}):
            values = {**plan.driver.defaults, **values}
            assert plan.driver.written(driver, values) == \
                driver.cursor().mogrify(plan.driver.text, values)
        got = fetch_values(session, view.query.page, {"page_limit": 50, "page_offset": 0}, plans)
        assert sorted(got) == sorted(keys)
        assert json_rows._values_plan(plans, view.query.page, dialect)[2] is not None


def test_driver_errors_are_sqlalchemys_and_a_lost_connection_is_replaced(backend, classic_db):
    if backend != "mariadb":
        pytest.skip("statements are run by the driver on MariaDB only")
    import pymysql
    from sqlalchemy.exc import DBAPIError, OperationalError

    plans: dict = {}
    with session_scope(classic_db) as session:
        view, keys = _kept_view(session)
        plan = json_rows._plan(plans, view.query.rows, session.get_bind().dialect,
                               view.query.count)
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
                                  view.query.count, plans)
        assert lost.value.connection_invalidated
        session.rollback()
    with session_scope(classic_db) as session:  # the pool made a new connection
        rows, total = fetch_rows_and_scalar(session, view.query.rows, {"page_keys": keys},
                                            view.query.count, plans)
        assert [r.order_id for r in rows] == keys and total == 830
