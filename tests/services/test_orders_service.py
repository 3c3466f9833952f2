"""Order rules in the service layer, on SQLite and MariaDB, against the classic data."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select, update

from northwind_app.money import PLAIN_DECIMAL_TEXT, order_subtotal, order_total
from northwind_app.services.auth import SYSTEM, Actor
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Order, OrderDetail, Product
from northwind_app.services import orders as svc
from northwind_app.services.orders import query as order_query
from northwind_app.services.errors import Conflict, Forbidden, NotFound, Invalid
from northwind_app.services.listing import ListParams
from tests import factories
from tests.dbutil import run_in_threads

TODAY = dt.date(1998, 5, 7)  # the day after the classic data's last order


def _stock(url, product_id):
    with session_scope(url) as s:
        return s.get(Product, product_id).units_in_stock


def _set_stock(url, product_id, units):
    with session_scope(url, write=True) as s:
        s.execute(update(Product).where(Product.product_id == product_id).values(units_in_stock=units))


def _input(**overrides):
    raw = {"customer_id": "alfki", "employee_id": "5", "order_date": "1998-05-07",
           "required_date": "1998-06-04", "ship_via": "1", "freight": "12.30",
           "ship_name": "Alfreds Futterkiste", "ship_country": "Germany",
           "lines": [{"product_id": 1, "quantity": "2"},
                     {"product_id": 2, "quantity": 3, "unit_price": "19.00", "discount": "0.05"}]}
    raw.update(overrides)
    return raw


def _create(url, **overrides):
    return factories.order(url, **_input(**overrides))


# --- status ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shipped,required,expected", [
    (None, dt.date(2000, 1, 2), svc.NEW),
    (None, dt.date(2000, 1, 1), svc.NEW),          # due today is not late yet
    (None, dt.date(1999, 12, 31), svc.LATE),
    (None, None, svc.NEW),
    (dt.date(1999, 12, 1), dt.date(1999, 12, 1), svc.SHIPPED),
    (dt.date(1999, 12, 2), dt.date(1999, 12, 1), svc.SHIPPED_LATE),
])
def test_status_rule(shipped, required, expected):
    assert svc.status_of(shipped, required, dt.date(2000, 1, 1)) == expected


def test_sql_status_agrees_with_python(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        counts = {}
        for status in svc.STATUSES:
            counts[status] = s.execute(select(func.count()).select_from(Order)
                                       .where(svc.status_condition(status, TODAY))).scalar_one()
        rows = s.execute(select(Order.shipped_date, Order.required_date)).all()
    expected = {status: 0 for status in svc.STATUSES}
    for shipped, required in rows:
        expected[svc.status_of(shipped, required, TODAY)] += 1
    assert counts == expected
    assert sum(counts.values()) == 830 and counts[svc.LATE] + counts[svc.NEW] == 21


# --- list -----------------------------------------------------------------------------------

def _list(url, **kw):
    with session_scope(url) as s:
        return svc.list_orders(s, ListParams(**kw), today=TODAY)


def test_list_first_page_and_total(classic_db_ro):
    page = _list(classic_db_ro, limit=25, sort="order_id")
    assert page.total == 830 and len(page.items) == 25
    first = page.items[0]
    assert (first.order_id, first.customer_id, first.customer_name) == (
        10248, "VINET", "Vins et alcools Chevalier")
    assert first.total == Decimal("472.38")
    assert first.employee_name == "Steven Buchanan" and first.shipper_name == "Federal Shipping"
    assert first.status == svc.SHIPPED
    last = _list(classic_db_ro, limit=25, offset=825, sort="order_id")
    assert [r.order_id for r in last.items][-1] == 11077 and (last.first_row, last.last_row) == (826, 830)


@pytest.mark.parametrize("key", sorted(svc.sort_columns(TODAY)))
def test_every_sort_key_is_ordered_and_stable(classic_db_ro, key):
    attr = {"customer": "customer_name", "employee": "employee_name", "shipper": "shipper_name"}.get(key, key)
    for descending in (False, True):
        page = _list(classic_db_ro, limit=500, sort=("-" if descending else "") + key)
        values = [(getattr(r, attr), r.order_id) for r in page.items]
        non_null = [v for v in values if v[0] is not None]
        if key == "status":
            rank = {s: i for i, s in enumerate(svc.STATUSES)}
            non_null = [(rank[v], i) for v, i in non_null]
        if key in ("customer", "employee", "shipper"):  # collation order differs per backend
            keys = [v for v, _ in non_null]
            runs = [keys[i] for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
            assert len(runs) == len(set(runs))
            continue
        assert non_null == sorted(non_null, reverse=descending)


def test_sort_unknown_is_refused(classic_db_ro):
    with pytest.raises(Invalid) as err:
        _list(classic_db_ro, sort="password")
    assert "sort" in err.value.fields


def test_search_and_filters(classic_db_ro):
    assert [r.order_id for r in _list(classic_db_ro, search="10248").items] == [10248]
    vinet = _list(classic_db_ro, search="vinet", limit=100)
    assert vinet.total == 5 and {r.customer_id for r in vinet.items} == {"VINET"}
    by_name = _list(classic_db_ro, search="Chevalier", limit=100)
    assert by_name.total == 5
    assert _list(classic_db_ro, search="100%_x").total == 0  # wildcards are literal
    late = _list(classic_db_ro, filters={"status": "late"}, limit=100)
    new = _list(classic_db_ro, filters={"status": "new"}, limit=100)
    assert late.total + new.total == 21 and late.total >= 1
    assert {r.status for r in late.items} == {svc.LATE} and {r.status for r in new.items} == {svc.NEW}
    shipped_late = _list(classic_db_ro, filters={"status": "shipped_late"}, limit=100)
    assert all(r.shipped_date > r.required_date for r in shipped_late.items)
    ranged = _list(classic_db_ro, filters={"date_from": "1997-01-01", "date_to": "1997-12-31"})
    assert ranged.total == 408
    combined = _list(classic_db_ro, limit=100, filters={
        "customer_id": "ALFKI", "employee_id": "4", "shipper_id": "1", "ship_country": "Germany"})
    assert combined.total >= 1 and all(
        (r.customer_id, r.employee_id, r.shipper_id) == ("ALFKI", 4, 1) for r in combined.items)


def test_bad_filters_name_the_field(classic_db_ro):
    with pytest.raises(Invalid) as err:
        _list(classic_db_ro, filters={"status": "lost", "date_from": "yesterday", "employee_id": "x"})
    assert set(err.value.fields) == {"status", "date_from", "employee_id"}
    with pytest.raises(Invalid) as err:
        _list(classic_db_ro, limit=0, offset=-1)
    assert set(err.value.fields) == {"limit", "offset"}


def test_iter_orders_streams_everything_in_sort_order(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        ids = [r.order_id for r in svc.iter_orders(s, ListParams(sort="-order_id"), TODAY, batch=100)]
    assert len(ids) == 830 and ids == sorted(ids, reverse=True)


def test_get_order_detail(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        order = svc.get_order(s, 10248, TODAY)
        assert [line.product_name for line in order.lines] == [
            "Mozzarella di Giovanni", "Queso Cabrales", "Singaporean Hokkien Fried Mee"]
        assert order.subtotal == Decimal("440") and order.total == Decimal("472.38")
        assert order.customer_name == "Vins et alcools Chevalier"
        with pytest.raises(NotFound):
            svc.get_order(s, 1, TODAY)


def test_get_order_without_lines(classic_db):
    """An order whose lines were removed outside the app still reads: no lines, total =
    freight (the detail is one outer-joined statement)."""
    with session_scope(classic_db, write=True) as s:
        s.execute(OrderDetail.__table__.delete().where(OrderDetail.order_id == 10248))
    with session_scope(classic_db) as s:
        order = svc.get_order(s, 10248, TODAY)
        assert order.lines == [] and order.subtotal == 0
        assert order.total == Decimal("32.38") and order.shipper_name == "Federal Shipping"


# --- writes ---------------------------------------------------------------------------------

def test_create_takes_stock_and_stores_exact_totals(classic_db):
    before = (_stock(classic_db, 1), _stock(classic_db, 2))
    order_id = _create(classic_db)
    with session_scope(classic_db) as s:
        order = svc.get_order(s, order_id, TODAY)
    assert order.customer_id == "ALFKI" and order.version == 1
    assert [(l.product_id, l.unit_price, l.quantity, l.discount) for l in order.lines] == [
        (1, Decimal("18.00"), 2, Decimal("0")), (2, Decimal("19.00"), 3, Decimal("0.05"))]
    assert order.subtotal == Decimal("90.15") and order.total == Decimal("102.45")
    assert (_stock(classic_db, 1), _stock(classic_db, 2)) == (before[0] - 2, before[1] - 3)
    with session_scope(classic_db) as s:
        assert s.get(Order, order_id).subtotal == Decimal("90.15")


def test_validation_names_fields_and_writes_nothing(classic_db):
    with pytest.raises(Invalid) as err:
        svc.parse_order_input(_input(customer_id="", order_date="1998-05-07",
                                     required_date="1998-05-01", freight="-1",
                                     lines=[{"product_id": 1, "quantity": 0},
                                            {"product_id": 1, "quantity": "2.5"},
                                            {"product_id": 2, "quantity": 1, "discount": "1.5"}]))
    assert set(err.value.fields) == {"customer_id", "required_date", "freight",
                                     "lines[0].quantity", "lines[1].product_id",
                                     "lines[1].quantity", "lines[2].discount"}
    with pytest.raises(Invalid) as err:
        svc.parse_order_input(_input(lines=[]))
    assert "lines" in err.value.fields
    with pytest.raises(Invalid) as err:
        _create(classic_db, customer_id="ZZZZZ", employee_id=99)
    assert set(err.value.fields) == {"customer_id", "employee_id"}
    with session_scope(classic_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 830


def test_discontinued_product_cannot_be_added(classic_db):
    with pytest.raises(Invalid) as err:
        _create(classic_db, lines=[{"product_id": 5, "quantity": 1}])  # Chef Anton's Gumbo Mix
    assert "discontinued" in err.value.fields["lines[0].product_id"]


def test_stock_shortage_refused_with_product_and_available(classic_db):
    _set_stock(classic_db, 2, 4)
    before_1 = _stock(classic_db, 1)
    with pytest.raises(Conflict) as err:
        _create(classic_db, lines=[{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 5}])
    assert err.value.fields == {"lines[1].quantity": "Chang: 5 asked, 4 in stock, 1 missing"}
    assert (_stock(classic_db, 1), _stock(classic_db, 2)) == (before_1, 4)  # nothing half-written
    with session_scope(classic_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 830


def test_update_moves_stock_by_the_change_and_bumps_version(classic_db):
    order_id = _create(classic_db)
    stock1, stock2, stock3 = (_stock(classic_db, p) for p in (1, 2, 3))
    data = svc.parse_order_input(_input(lines=[{"product_id": 1, "quantity": 7},
                                               {"product_id": 3, "quantity": 1}]))
    version = write_transaction(lambda s: svc.update_order(s, order_id, data, expected_version=1, actor=SYSTEM),
                                classic_db)
    assert version == 2
    assert (_stock(classic_db, 1), _stock(classic_db, 2), _stock(classic_db, 3)) == (
        stock1 - 5, stock2 + 3, stock3 - 1)
    with session_scope(classic_db) as s:
        order = svc.get_order(s, order_id, TODAY)
        assert order.subtotal == Decimal("136.00") and order.version == 2


def test_stale_version_is_refused(classic_db):
    order_id = _create(classic_db)
    data = svc.parse_order_input(_input(freight="1.00"))
    write_transaction(lambda s: svc.update_order(s, order_id, data, expected_version=1, actor=SYSTEM), classic_db)
    with pytest.raises(Conflict, match="changed by someone else"):
        write_transaction(lambda s: svc.update_order(s, order_id, data, expected_version=1, actor=SYSTEM), classic_db)
    with pytest.raises(Conflict):
        write_transaction(lambda s: svc.delete_order(s, order_id, expected_version=1, actor=SYSTEM), classic_db)


def test_delete_restores_stock(classic_db):
    stock = _stock(classic_db, 1), _stock(classic_db, 2)
    order_id = _create(classic_db)
    write_transaction(lambda s: svc.delete_order(s, order_id, actor=SYSTEM), classic_db)
    assert (_stock(classic_db, 1), _stock(classic_db, 2)) == stock
    with session_scope(classic_db) as s:
        assert s.get(Order, order_id) is None
        assert s.execute(select(func.count()).where(OrderDetail.order_id == order_id)).scalar_one() == 0
    with pytest.raises(NotFound):
        write_transaction(lambda s: svc.delete_order(s, order_id, actor=SYSTEM), classic_db)


def test_ship(classic_db):
    order_id = _create(classic_db)
    with pytest.raises(Invalid) as err:
        write_transaction(lambda s: svc.ship_order(s, order_id, "1998-05-01", 2, actor=SYSTEM), classic_db)
    assert "shipped_date" in err.value.fields
    version = write_transaction(lambda s: svc.ship_order(s, order_id, "1998-05-09", "2", 1, actor=SYSTEM), classic_db)
    with session_scope(classic_db) as s:
        order = svc.get_order(s, order_id, TODAY)
    assert (order.shipped_date, order.ship_via, order.status, version) == (
        dt.date(1998, 5, 9), 2, svc.SHIPPED, 2)
    with pytest.raises(Conflict, match="already shipped"):
        write_transaction(lambda s: svc.ship_order(s, order_id, "1998-05-10", 2, actor=SYSTEM), classic_db)


def test_concurrent_orders_never_drive_stock_negative(classic_db):
    """Many simultaneous orders for a scarce product: exactly the stock's worth succeed."""
    _set_stock(classic_db, 1, 25)
    results: list[str] = []
    lock = threading.Lock()

    def place():
        try:
            _create(classic_db, lines=[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}])
            outcome = "ok"
        except Conflict:
            outcome = "refused"
        with lock:
            results.append(outcome)

    run_in_threads(place, 24)
    assert len(results) == 24
    assert results.count("ok") == 12 and results.count("refused") == 12
    assert _stock(classic_db, 1) == 1
    with session_scope(classic_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 830 + 12


def test_rollup_counted_totals_equal_count(classic_db):
    """Totals for no filter, a shipped status and/or an employee come from the rollups (plus
    undated orders); each must equal COUNT(*) of the matching orders, also after changes."""
    with session_scope(classic_db, write=True) as s:
        s.add(Order(order_id=99002, customer_id="ALFKI", employee_id=3, order_date=None,
                    required_date=dt.date(1998, 1, 1), shipped_date=dt.date(1998, 2, 1)))
    write_transaction(lambda s: svc.ship_order(s, 11077, "1998-05-06", 2, actor=SYSTEM),
                      classic_db)
    with session_scope(classic_db) as s:
        for status in (None, svc.SHIPPED, svc.SHIPPED_LATE):
            for employee in (None, 3):
                filters = {"status": status, "employee_id": employee}
                parsed = svc.OrderFilters.parse(filters)
                assert order_query._rollup_countable(parsed, None)
                where = [svc.status_condition(status, TODAY)] if status else []
                if employee:
                    where.append(Order.employee_id == employee)
                expected = s.execute(select(func.count()).select_from(Order)
                                     .where(*where)).scalar_one()
                assert _list(classic_db, filters=filters).total == expected, filters
    assert not order_query._rollup_countable(svc.OrderFilters(status=svc.LATE), None)
    assert not order_query._rollup_countable(svc.OrderFilters(customer_id="ALFKI"), None)
    assert not order_query._rollup_countable(svc.OrderFilters(), "Rio")


def test_unfiltered_total_is_exact_including_undated_orders(classic_db):
    """The unfiltered count comes from the rollups plus undated orders; it must equal COUNT(*)."""
    with session_scope(classic_db, write=True) as s:
        s.add(Order(order_id=99001, customer_id="ALFKI", employee_id=1, order_date=None))
    _create(classic_db)
    with session_scope(classic_db) as s:
        actual = s.execute(select(func.count()).select_from(Order)).scalar_one()
    assert actual == 832
    assert _list(classic_db).total == actual
    assert _list(classic_db, filters={"customer_id": "ALFKI"}).total == 8


# --- save_order: the one save of the screens and the API --------------------------------------

SALES = Actor(user_id=None, username="sales", role="sales", employee_id=3)
VIEWER = Actor(user_id=None, username="viewer", role="viewer")


def _save(url, order_id, raw, version=None, *, actor=SYSTEM, partial=False):
    return write_transaction(lambda s: svc.save_order(s, order_id, raw, version, actor=actor,
                                                      partial=partial), url)


def test_save_order_creates_an_order_of_the_actors_employee(classic_db):
    raw = _input()
    del raw["employee_id"]
    saved = _save(classic_db, None, raw, actor=SALES)
    assert saved.version == 1
    with session_scope(classic_db) as s:
        order = s.get(Order, saved.order_id)
        assert (order.customer_id, order.employee_id) == ("ALFKI", 3)
        assert order.total == order_total(order.subtotal, Decimal("12.30"))
    with pytest.raises(Invalid) as failed:  # an account without an employee must name one
        _save(classic_db, None, raw)
    assert failed.value.fields == {
        "employee_id": "is required (your account is not linked to an employee)"}


def test_save_order_updates_whole_then_partial(classic_db):
    saved = _save(classic_db, None, _input())
    whole = _save(classic_db, saved.order_id, _input(freight="1.00", lines=[
        {"product_id": 1, "quantity": 4}]), saved.version)
    assert whole == svc.SavedOrder(saved.order_id, 2)
    partial = _save(classic_db, saved.order_id, {"ship_city": "Berlin"}, 2, partial=True)
    assert partial.version == 3
    with session_scope(classic_db) as s:
        view = svc.get_order(s, saved.order_id)
    assert (view.freight, view.ship_city, [(l.product_id, l.quantity) for l in view.lines]) \
        == (Decimal("1.00"), "Berlin", [(1, 4)])
    assert view.total == order_total(view.subtotal, view.freight)


def test_save_order_refuses_a_stale_version_and_writes_nothing(classic_db):
    saved = _save(classic_db, None, _input())
    _save(classic_db, saved.order_id, {"freight": "2"}, saved.version, partial=True)
    with pytest.raises(Conflict) as failed:
        _save(classic_db, saved.order_id, {"freight": "3"}, saved.version, partial=True)
    assert failed.value.fields == {"version": "is out of date"}
    with session_scope(classic_db) as s:
        assert (s.get(Order, saved.order_id).freight, s.get(Order, saved.order_id).version) \
            == (Decimal("2"), 2)
    with pytest.raises(NotFound):
        _save(classic_db, 999_999, _input())


def test_save_order_needs_the_permission_before_reading_input(classic_db):
    count = _order_count(classic_db)
    for order_id in (None, 10248):
        with pytest.raises(Forbidden):
            _save(classic_db, order_id, {"lines": "not even lines"}, actor=VIEWER)
    assert _order_count(classic_db) == count


def _order_count(url):
    with session_scope(url) as s:
        return s.execute(select(func.count()).select_from(Order)).scalar_one()


def test_new_order_defaults():
    new = svc.new_order_defaults(SALES, dt.date(2026, 2, 1))
    assert new == svc.NewOrder(dt.date(2026, 2, 1), dt.date(2026, 3, 1), 3, Decimal(0))
    assert svc.new_order_defaults(SYSTEM, TODAY).employee_id is None


# --- preview_totals: the form's live figures --------------------------------------------------

def test_preview_totals_is_exact():
    totals = svc.preview_totals({"freight": "0.0100", "lines": [
        {"product_id": 1, "quantity": 3, "unit_price": "0.3333", "discount": "0.0001"},
        {"product_id": 2, "quantity": "7", "unit_price": Decimal("19.99")}]})
    first = Decimal("0.3333") * 3 * (1 - Decimal("0.0001"))
    assert totals.lines == [first, Decimal("139.93")]
    assert totals.subtotal == first + Decimal("139.93")
    assert (totals.freight, totals.total) == (Decimal("0.0100"), totals.subtotal + Decimal("0.01"))
    assert totals.problems == {}


def test_preview_totals_names_bad_fields_in_the_words_of_the_save():
    raw = _input(freight="-1", lines=[
        {"product_id": 1, "quantity": 0, "unit_price": "18"},
        {"product_id": 2, "quantity": 1, "unit_price": "19", "discount": "1.5"},
        {"product_id": 1, "quantity": 1, "unit_price": "12,50"},
        {"product_id": 3, "quantity": 2, "unit_price": "10"}])
    totals = svc.preview_totals(raw)
    assert totals.problems == {
        "freight": "must be at least 0",
        "lines[0].quantity": "must be at least 1",
        "lines[1].discount": "must be at most 1",
        "lines[2].product_id": "this product is already on line 1; change that line's "
                               "quantity instead",
        "lines[2].unit_price": f"must be {PLAIN_DECIMAL_TEXT}",
    }
    assert totals.lines == [None, None, None, Decimal(20)]
    assert (totals.subtotal, totals.freight, totals.total) == (None, None, None)
    with pytest.raises(Invalid) as failed:
        svc.parse_order_input(raw)
    assert failed.value.fields == totals.problems  # the same words on save


_PRICE = st.decimals(min_value=0, max_value=svc.MAX_AMOUNT, places=4, allow_nan=False)
_LINE = st.fixed_dictionaries({
    "quantity": st.integers(1, svc.MAX_QUANTITY), "unit_price": _PRICE,
    "discount": st.decimals(min_value=0, max_value=1, places=4, allow_nan=False)})
_ANY = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**12), st.text(max_size=8),
                 st.decimals(allow_nan=True, allow_infinity=True),
                 st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=6), freight=_PRICE)
def test_preview_totals_agrees_with_the_money_rules(lines, freight):
    raw = {"freight": freight, "lines": [{"product_id": index + 1, **line}
                                         for index, line in enumerate(lines)]}
    totals = svc.preview_totals(raw)
    subtotal = order_subtotal((l["unit_price"], l["quantity"], l["discount"]) for l in lines)
    assert totals.problems == {}
    assert (totals.subtotal, totals.total) == (subtotal, order_total(subtotal, freight))


@settings(max_examples=300, deadline=None)
@given(line=st.fixed_dictionaries({"product_id": _ANY, "quantity": _ANY, "unit_price": _ANY,
                                   "discount": _ANY}), freight=_ANY)
def test_preview_problems_are_the_saves(line, freight):
    """Whatever is typed, the form's live problems are the save's, field for field."""
    raw = _input(freight=freight, lines=[line])
    problems = svc.preview_totals(raw).problems
    try:
        svc.parse_order_input(raw)
    except Invalid as exc:
        assert problems == exc.fields
    else:
        assert problems == {}
