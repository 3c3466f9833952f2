"""Service additions the orders API relies on, without HTTP: `revise_order` (PUT/PATCH from raw
input), `checked_params` (validate before streaming), the customer/employee look-ups, and the
input guards (ids beyond INTEGER, huge numbers, characters that cannot be stored)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from northwind_app.money import PLAIN_DECIMAL_TEXT
from northwind_app.services.auth import SYSTEM
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Product
from northwind_app.services import orders as svc
from northwind_app.services.errors import Conflict, NotFound, Invalid
from northwind_app.services.listing import ListParams


def test_revise_partial_merges_and_clears(classic_db):
    version = write_transaction(lambda s: svc.revise_order(
        s, 10248, {"required_date": None, "freight": "1.5"}, partial=True, expected_version=1, actor=SYSTEM),
        classic_db)
    assert version == 2
    with session_scope(classic_db) as s:
        order = svc.get_order(s, 10248)
    assert (order.required_date, order.freight, order.total) == (
        None, Decimal("1.5"), Decimal("441.5"))
    assert (order.shipped_date, len(order.lines), order.customer_id) == (
        dt.date(1996, 7, 16), 3, "VINET")


def test_revise_full_defaults_left_out_fields_but_keeps_shipped_date(classic_db):
    # 10248 has shipped: its lines are frozen, so the replacement carries the same lines
    # (without prices: the stored ones are kept) and changes the header.
    raw = {"customer_id": "vinet", "employee_id": 5, "order_date": "1996-07-04",
           "lines": [{"product_id": 11, "quantity": 12}, {"product_id": 42, "quantity": 10},
                     {"product_id": 72, "quantity": 5}]}
    with session_scope(classic_db) as s:
        before = s.get(Product, 11).units_in_stock
    write_transaction(lambda s: svc.revise_order(s, 10248, raw, partial=False, actor=SYSTEM), classic_db)
    with session_scope(classic_db) as s:
        order = svc.get_order(s, 10248)
        stock = s.get(Product, 11).units_in_stock
    assert (order.freight, order.ship_name, order.required_date, order.shipped_date) == (
        Decimal("0"), None, None, dt.date(1996, 7, 16))
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines] == [
        (72, 5, Decimal("34.8")), (11, 12, Decimal("14")), (42, 10, Decimal("9.8"))]
    assert stock == before
    # An open order's full replacement replaces its lines; stock moves by the difference.
    raw = {"customer_id": "RICSU", "employee_id": 1, "order_date": "1998-05-06",
           "lines": [{"product_id": 11, "quantity": 2}]}
    write_transaction(lambda s: svc.revise_order(s, 11077, raw, partial=False, actor=SYSTEM),
                      classic_db)
    with session_scope(classic_db) as s:
        order = svc.get_order(s, 11077)
        assert s.get(Product, 11).units_in_stock == before - 2
    assert ([(line.product_id, line.quantity) for line in order.lines], order.shipped_date) == (
        [(11, 2)], None)


def test_revise_checks_the_version_before_the_input(classic_db):
    with pytest.raises(Conflict) as conflict:
        write_transaction(lambda s: svc.revise_order(s, 10248, {"customer_id": None},
                                                     partial=True, expected_version=3, actor=SYSTEM), classic_db)
    assert set(conflict.value.fields) == {"version"}
    with pytest.raises(Invalid):
        write_transaction(lambda s: svc.revise_order(s, 10248, {"customer_id": None},
                                                     partial=True, actor=SYSTEM), classic_db)
    with pytest.raises(NotFound):
        write_transaction(lambda s: svc.revise_order(s, 1, {}, partial=True, actor=SYSTEM), classic_db)


def test_checked_params_validates_now(classic_db_ro):
    checked = svc.checked_params(ListParams(sort="-total", filters={"customer_id": "vinet"}))
    assert checked.filters == svc.OrderFilters(customer_id="VINET")
    with pytest.raises(Invalid) as failed:
        svc.checked_params(ListParams(sort="colour", filters={"employee_id": str(2**40)}))
    assert set(failed.value.fields) == {"employee_id"}  # filters first, then the sort
    with pytest.raises(Invalid) as failed:
        svc.checked_params(ListParams(sort="colour"))
    assert set(failed.value.fields) == {"sort"}
    with session_scope(classic_db_ro) as s:
        assert [r.order_id for r in svc.iter_orders(s, checked)][-1] == 10295


def test_customer_and_employee_lookups(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        assert svc.existing_customer_id(s, " vinet ") == "VINET"
        assert svc.require_employee(s, 5) == 5
        with pytest.raises(NotFound):
            svc.existing_customer_id(s, "XXXXX")
        with pytest.raises(NotFound):
            svc.require_employee(s, 99)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"employee_id": 2**70}, "employee_id", "must be at most 2,147,483,647"),
    ({"employee_id": "1e999999999"}, "employee_id", "must be at most 2,147,483,647"),
    ({"ship_via": "NaN"}, "ship_via", "must be a whole number"),
    ({"freight": Decimal("1e30")}, "freight", "must be at most 999,999,999"),
    ({"freight": "1e30"}, "freight", f"must be {PLAIN_DECIMAL_TEXT}"),
    ({"freight": "25,50"}, "freight", f"must be {PLAIN_DECIMAL_TEXT}"),  # never 2,550
    ({"lines": [{"product_id": 1, "quantity": 1, "unit_price": "23,79"}]},
     "lines[0].unit_price", f"must be {PLAIN_DECIMAL_TEXT}"),  # never 2,379
    ({"lines": [{"product_id": 1, "quantity": 1, "discount": "0,025"}]},
     "lines[0].discount", f"must be {PLAIN_DECIMAL_TEXT}"),
    ({"lines": [{"product_id": 1, "quantity": "1,000"}]}, "lines[0].quantity",
     "must be a whole number"),
    ({"ship_name": "A\x00B"}, "ship_name", "contains characters that cannot be stored"),
    ({"ship_city": "\ud800"}, "ship_city", "contains characters that cannot be stored"),
    ({"lines": [{"product_id": 2**63, "quantity": 1}]}, "lines[0].product_id",
     "must be at most 2,147,483,647"),
])
def test_input_guards(overrides, field, message):
    raw = {"customer_id": "VINET", "employee_id": 5, "order_date": "2026-01-02",
           "lines": [{"product_id": 1, "quantity": 1}], **overrides}
    with pytest.raises(Invalid) as failed:
        svc.parse_order_input(raw)
    assert failed.value.fields == {field: message}


def test_search_ignores_digits_that_are_not_order_ids(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        for text in ("²", "9" * 40):
            assert svc.list_orders(s, ListParams(search=text)).total == 0
        assert svc.list_orders(s, ListParams(search="10248")).total == 1
