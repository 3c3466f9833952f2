"""What a new order's form starts with (`orders.new_order_draft`): the defaults, a customer's
("New order for this customer"), and a duplicate of another order ("Duplicate"): same
customer, shipping details and lines at today's prices, never the source's id, dates or
status; the stock is checked when the duplicate is saved, as for any new order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Order, Product
from northwind_app.services import orders as svc
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Conflict, Invalid, NotFound
from tests import factories

TODAY = dt.date(2026, 3, 2)
SALES = Actor(user_id=None, username="mpeacock", role="sales", employee_id=4)
UNLINKED = Actor(user_id=None, username="clerk", role="sales")


def _draft(url, actor=SALES, **kwargs):
    with session_scope(url) as session:
        return svc.new_order_draft(session, actor, today=TODAY, **kwargs)


def _raw(draft: svc.OrderDraft) -> dict:
    """The draft as the form sends it when saved untouched."""
    return {"customer_id": draft.customer_id, "employee_id": draft.employee_id,
            "order_date": draft.order_date, "required_date": draft.required_date,
            "ship_via": draft.ship_via, "freight": draft.freight, **draft.ship,
            "lines": [{"product_id": line.product_id, "quantity": line.quantity,
                       "unit_price": line.unit_price, "discount": line.discount}
                      for line in draft.lines]}


def _prices(url, ids):
    with session_scope(url) as session:
        return dict(session.execute(select(Product.product_id, Product.unit_price)
                                    .where(Product.product_id.in_(ids))).tuples().all())


def test_the_defaults_without_a_customer_or_an_order(classic_db):
    draft = _draft(classic_db)
    assert (draft.order_date, draft.required_date) == (TODAY, TODAY + dt.timedelta(days=28))
    assert draft.employee_id == 4 and draft.freight == 0
    assert (draft.customer_id, draft.lines, draft.ship, draft.source_order_id) == ("", (), {}, None)


def test_a_new_order_for_a_customer_starts_with_their_address(classic_db):
    draft = _draft(classic_db, customer_id="alfki")
    assert draft.customer_id == "ALFKI" and draft.customer_name == "Alfreds Futterkiste"
    assert draft.ship == {"ship_name": "Alfreds Futterkiste", "ship_address": "Obere Str. 57",
                          "ship_city": "Berlin", "ship_region": "", "ship_postal_code": "12209",
                          "ship_country": "Germany"}
    assert draft.order_date == TODAY and draft.lines == ()


@pytest.mark.parametrize("value", ["ALF", "12345", "ALFKI2", 5])
def test_a_customer_that_cannot_be_one_is_named(classic_db, value):
    with pytest.raises(Invalid) as refused:
        _draft(classic_db, customer_id=value)
    assert list(refused.value.fields) == ["customer"]


def test_an_unknown_customer_is_not_found(classic_db):
    with pytest.raises(NotFound, match="Customer ZZZZZ does not exist"):
        _draft(classic_db, customer_id="ZZZZZ")


def test_a_duplicate_copies_customer_shipping_and_lines_at_todays_prices(classic_db):
    source_id = factories.order(
        classic_db, customer_id="VINET", employee_id=5, ship_via=3, freight="32.38",
        order_date="1997-01-10", required_date="1997-02-07", shipped_date="1997-01-20",
        ship_name="Vins et alcools Chevalier", ship_address="59 rue de l'Abbaye",
        ship_city="Reims", ship_postal_code="51100", ship_country="France",
        lines=[{"product_id": 11, "quantity": 12, "unit_price": "14.00", "discount": "0.05"},
               {"product_id": 72, "quantity": 5, "unit_price": "34.80"}])
    with session_scope(classic_db, write=True) as session:  # the prices went up since
        session.execute(update(Product).where(Product.product_id == 72)
                        .values(unit_price=Decimal("36.50")))
    draft = _draft(classic_db, from_order=str(source_id))
    prices = _prices(classic_db, [11, 72])
    assert draft.source_order_id == source_id and draft.notes == ()
    assert draft.customer_id == "VINET" and draft.customer_name == "Vins et alcools Chevalier"
    assert draft.ship_via == 3 and draft.freight == Decimal("32.38")
    assert draft.ship == {"ship_name": "Vins et alcools Chevalier",
                          "ship_address": "59 rue de l'Abbaye", "ship_city": "Reims",
                          "ship_region": "", "ship_postal_code": "51100",
                          "ship_country": "France"}
    assert [(l.product_id, l.quantity, l.discount, l.unit_price) for l in draft.lines] == [
        (72, 5, Decimal("0"), Decimal("36.50")), (11, 12, Decimal("0.05"), prices[11])]
    assert prices[11] == Decimal("21.00")  # today's price, not the 14.00 of the source
    # Never the source's dates or shipment; the employee is the acting sales user's.
    assert (draft.order_date, draft.required_date) == (TODAY, TODAY + dt.timedelta(days=28))
    assert draft.employee_id == 4
    # An account linked to no employee keeps the source order's employee.
    assert _draft(classic_db, actor=UNLINKED, from_order=source_id).employee_id == 5


def test_a_duplicate_leaves_out_discontinued_products_and_says_so(classic_db):
    # Order 10248's Singaporean Hokkien Fried Mee (42) is discontinued in the classic data.
    draft = _draft(classic_db, from_order="10248")
    assert [line.product_id for line in draft.lines] == [72, 11]  # by product name
    assert draft.notes == ("Singaporean Hokkien Fried Mee is discontinued: its line was not "
                           "copied.",)


def test_the_order_wins_over_the_customer(classic_db):
    assert _draft(classic_db, customer_id="ALFKI", from_order=10248).customer_id == "VINET"


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", True])
def test_an_order_id_that_cannot_be_one_is_named(classic_db, value):
    with pytest.raises(Invalid) as refused:
        _draft(classic_db, from_order=value)
    assert list(refused.value.fields) == ["from"]


def test_an_unknown_order_is_not_found(classic_db):
    with pytest.raises(NotFound):
        _draft(classic_db, from_order="99999999")


def test_a_saved_duplicate_is_a_new_open_order_checked_for_stock(classic_db):
    source_id = factories.order(classic_db, shipped_date="1998-05-07", ship_via=1)
    draft = _draft(classic_db, from_order=source_id)
    saved = write_transaction(lambda s: svc.save_order(s, None, _raw(draft), actor=SALES),
                              classic_db)
    assert saved.order_id != source_id
    with session_scope(classic_db) as session:
        copy = session.get(Order, saved.order_id)
        assert copy.shipped_date is None and copy.cancelled_at is None
        assert copy.customer_id == "ALFKI" and copy.order_date == TODAY
        assert svc.get_order(session, saved.order_id, today=TODAY).status == svc.NEW
    # Not enough stock for a copy: refused at save, like any new order.
    with session_scope(classic_db, write=True) as session:
        session.execute(update(Product).where(Product.product_id == 2).values(units_in_stock=1))
    draft = _draft(classic_db, from_order=source_id)
    with pytest.raises(Conflict) as refused:
        write_transaction(lambda s: svc.save_order(s, None, _raw(draft), actor=SALES),
                          classic_db)
    assert any(key.startswith("lines[") for key in refused.value.fields)
