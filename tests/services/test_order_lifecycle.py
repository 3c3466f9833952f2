"""The order lifecycle in the service layer (issue #21), on SQLite and MariaDB: shipping
records the past, a shipped order's lines are frozen and it cannot be deleted or cancelled,
an open order can be cancelled (kept, stock returned, out of revenue and rollups), a
cancelled one cannot change; stock messages say asked / in stock / missing; an edit of a
deleted order says who deleted it and when; one stock-level rule for products."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import Order, Product
from northwind_app.services import customers, dashboard, orders as svc, products, rollups
from northwind_app.services.audit import history
from northwind_app.services.auth import SYSTEM, Actor
from northwind_app.services.errors import Conflict, NotFound, Forbidden, Invalid
from northwind_app.services.listing import ListParams
from tests.factories import order as _create, order_raw as _raw

TODAY = dt.date.today()
CENT = Decimal("0.01")
ALICE = Actor(user_id=None, username="alice", role="sales")
VIEWER = Actor(user_id=None, username="vera", role="viewer")


def _stock(url, *product_ids):
    with session_scope(url) as s:
        return tuple(s.get(Product, p).units_in_stock for p in product_ids)


def _run(url, fn):
    return write_transaction(fn, url)


def _order(url, order_id):
    with session_scope(url) as s:
        return svc.get_order(s, order_id)


def _revenue(url):
    with session_scope(url) as s:
        return dashboard.kpis(s, dashboard.DateRange(), TODAY)


# --- shipping records the past --------------------------------------------------------------

def test_a_shipped_date_after_today_is_refused_saying_it_is_the_servers_date(classic_db):
    order_id = _create(classic_db)
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(Invalid) as err:
        _run(classic_db, lambda s: svc.ship_order(s, order_id, tomorrow.isoformat(), 2,
                                                  actor=SYSTEM))
    message = err.value.fields["shipped_date"]
    assert "after today" in message and TODAY.isoformat() in message
    assert "server's date" in message
    with pytest.raises(Invalid) as err:  # and in an edit that sets the date
        _run(classic_db, lambda s: svc.revise_order(s, order_id, {"shipped_date": "2030-01-01"},
                                                    partial=True, actor=SYSTEM))
    assert "server's date" in err.value.fields["shipped_date"]
    with pytest.raises(Invalid, match="before the order date"):
        _run(classic_db, lambda s: svc.ship_order(s, order_id, "1998-05-01", 2, actor=SYSTEM))
    assert _order(classic_db, order_id).shipped_date is None
    _run(classic_db, lambda s: svc.ship_order(s, order_id, TODAY, 2, actor=SYSTEM))  # today: ok
    assert _order(classic_db, order_id).status in (svc.SHIPPED, svc.SHIPPED_LATE)


# --- shipped orders ---------------------------------------------------------------------------

def test_a_shipped_orders_lines_are_frozen_but_its_header_may_change(classic_db):
    stock = _stock(classic_db, 11, 42, 72)
    current = svc.order_input_from_view(_order(classic_db, 10248))  # shipped 1996-07-16
    more = {**current, "lines": [{**current["lines"][0], "quantity": 99},
                                 *current["lines"][1:]]}
    with pytest.raises(Conflict, match="lines are frozen") as err:
        _run(classic_db, lambda s: svc.update_order(s, 10248, svc.parse_order_input(more),
                                                    actor=SYSTEM))
    assert "lines" in err.value.fields
    fewer = {**current, "lines": current["lines"][1:]}
    with pytest.raises(Conflict, match="lines are frozen"):
        _run(classic_db, lambda s: svc.revise_order(s, 10248, fewer, partial=True,
                                                    actor=SYSTEM))
    with pytest.raises(Conflict, match="stays shipped"):
        _run(classic_db, lambda s: svc.revise_order(s, 10248, {"shipped_date": None},
                                                    partial=True, actor=SYSTEM))
    assert _stock(classic_db, 11, 42, 72) == stock
    version = _run(classic_db, lambda s: svc.revise_order(
        s, 10248, {"freight": "40.00", "ship_city": "Paris"}, partial=True, actor=SYSTEM))
    order = _order(classic_db, 10248)
    assert (order.freight, order.ship_city, order.version, order.total) == (
        Decimal("40.00"), "Paris", version, Decimal("440.00") + Decimal("40.00"))
    assert _stock(classic_db, 11, 42, 72) == stock


def test_a_shipped_order_cannot_be_deleted_nor_cancelled(classic_db):
    stock = _stock(classic_db, 11, 42, 72)
    with pytest.raises(Conflict, match="cannot be deleted"):
        _run(classic_db, lambda s: svc.delete_order(s, 10248, actor=SYSTEM))
    with pytest.raises(Conflict, match="cannot be cancelled"):
        _run(classic_db, lambda s: svc.cancel_order(s, 10248, actor=SYSTEM))
    assert _stock(classic_db, 11, 42, 72) == stock
    assert _order(classic_db, 10248).status == svc.SHIPPED
    assert _revenue(classic_db).revenue.quantize(CENT) == Decimal("1265793.04")


# --- cancelling -----------------------------------------------------------------------------

def _sales(url):
    """ALFKI's revenue and order count, Chai's units sold and revenue."""
    with session_scope(url) as s:
        customer, product = customers.get_customer(s, "ALFKI"), products.get_product(s, 1)
    return (customer["revenue"], customer["order_count"], product["units_sold"],
            product["revenue"])


def test_cancel_keeps_the_order_returns_stock_and_leaves_revenue_and_rollups(classic_db):
    before = _revenue(classic_db)
    stock = _stock(classic_db, 1, 2)
    sales = _sales(classic_db)
    order_id = _create(classic_db)
    assert _sales(classic_db) != sales
    assert _revenue(classic_db).revenue == before.revenue + Decimal("93.00")
    assert _stock(classic_db, 1, 2) == (stock[0] - 2, stock[1] - 3)
    with pytest.raises(Conflict, match="changed by someone else"):
        _run(classic_db, lambda s: svc.cancel_order(s, order_id, 7, actor=SYSTEM))
    version = _run(classic_db, lambda s: svc.cancel_order(s, order_id, 1, actor=ALICE))
    assert version == 2
    order = _order(classic_db, order_id)
    assert (order.status, len(order.lines), order.subtotal) == (
        svc.CANCELLED, 2, Decimal("93.00"))
    assert order.cancelled_at is not None
    assert _stock(classic_db, 1, 2) == stock
    assert _sales(classic_db)[0::2] == sales[0::2]  # no revenue, no units sold
    kpis = _revenue(classic_db)
    assert (kpis.revenue, kpis.orders, kpis.not_shipped) == (
        before.revenue, before.orders, before.not_shipped)
    # The rollups rebuilt from the orders agree with the incremental ones.
    with session_scope(classic_db, write=True) as s:
        rollups.rebuild(s)
    assert _revenue(classic_db).revenue.quantize(CENT) == Decimal("1265793.04")
    [entry, *_] = _history(classic_db, order_id)
    assert (entry.action, entry.username, entry.changes["status"][1]) == (
        "cancel", "alice", "cancelled")


def _history(url, order_id):
    with session_scope(url) as s:
        return history(s, "order", order_id)


def test_a_cancelled_order_cannot_change_ship_or_cancel_again_but_may_be_deleted(classic_db):
    stock = _stock(classic_db, 1, 2)
    order_id = _create(classic_db)
    _run(classic_db, lambda s: svc.cancel_order(s, order_id, actor=SYSTEM))
    for attempt in (
            lambda s: svc.cancel_order(s, order_id, actor=SYSTEM),
            lambda s: svc.ship_order(s, order_id, TODAY, 2, actor=SYSTEM),
            lambda s: svc.revise_order(s, order_id, {"freight": "1"}, partial=True,
                                       actor=SYSTEM)):
        with pytest.raises(Conflict, match="cancelled on"):
            _run(classic_db, attempt)
    _run(classic_db, lambda s: svc.delete_order(s, order_id, actor=SYSTEM))
    assert _stock(classic_db, 1, 2) == stock  # returned once, by the cancel
    assert _revenue(classic_db).revenue.quantize(CENT) == Decimal("1265793.04")


def test_lists_show_cancelled_orders_with_a_filter_and_exact_counts(classic_db):
    order_id = _create(classic_db)
    other = _create(classic_db)
    _run(classic_db, lambda s: svc.cancel_order(s, order_id, actor=SYSTEM))
    with session_scope(classic_db) as s:
        everything = svc.list_orders(s, ListParams(limit=5))
        cancelled = svc.list_orders(s, ListParams(filters={"status": "cancelled"}))
        new = svc.list_orders(s, ListParams(filters={"status": "new"}, limit=100),
                              today=dt.date(1998, 5, 7))
        mine = svc.list_orders(s, ListParams(filters={"employee_id": 5}))
        count = s.execute(select(func.count()).select_from(Order)).scalar_one()
        mine_count = s.execute(select(func.count()).select_from(Order)
                               .where(Order.employee_id == 5)).scalar_one()
    assert everything.total == count == 832
    assert mine.total == mine_count
    assert [(r.order_id, r.status) for r in cancelled.items] == [(order_id, svc.CANCELLED)]
    assert order_id not in {r.order_id for r in new.items} and other in {
        r.order_id for r in new.items}
    with pytest.raises(Invalid):
        svc.OrderFilters.parse({"status": "deleted"})


def test_the_cancel_needs_the_permission(classic_db):
    order_id = _create(classic_db)
    with pytest.raises(Forbidden):
        _run(classic_db, lambda s: svc.cancel_order(s, order_id, actor=VIEWER))
    assert _order(classic_db, order_id).cancelled_at is None


def test_order_actions_say_why_an_action_is_unavailable(classic_db):
    shipped = svc.order_actions(_order(classic_db, 10248), SYSTEM)
    assert shipped.edit_blocked == "" and "frozen" in shipped.lines_blocked
    assert "shipped" in shipped.delete_blocked and "shipped" in shipped.cancel_blocked
    assert shipped.ship_blocked
    order_id = _create(classic_db)
    open_ = svc.order_actions(_order(classic_db, order_id), SYSTEM)
    assert open_ == svc.Actions("", "", "", "", "")
    _run(classic_db, lambda s: svc.cancel_order(s, order_id, actor=SYSTEM))
    cancelled = svc.order_actions(_order(classic_db, order_id), SYSTEM)
    assert "cancelled" in cancelled.edit_blocked and cancelled.delete_blocked == ""
    assert "may not" in svc.order_actions(_order(classic_db, order_id), VIEWER).delete_blocked


# --- messages ---------------------------------------------------------------------------------

def test_the_stock_message_says_asked_available_and_missing(classic_db):
    with session_scope(classic_db, write=True) as s:
        s.execute(update(Product).where(Product.product_id == 2).values(units_in_stock=1))
    with pytest.raises(Conflict) as err:
        _create(classic_db, lines=[{"product_id": 2, "quantity": 5}])
    assert err.value.fields == {"lines[0].quantity": "Chang: 5 asked, 1 in stock, 4 missing"}
    assert "Chang: 5 asked, 1 in stock, 4 missing" in err.value.message
    order_id = _create(classic_db, lines=[{"product_id": 2, "quantity": 1}])  # takes the last
    with session_scope(classic_db, write=True) as s:
        s.execute(update(Product).where(Product.product_id == 2).values(units_in_stock=2))
    with pytest.raises(Conflict) as err:  # an edit from 1 to 6 takes 5 more; 2 there
        _run(classic_db, lambda s: svc.revise_order(
            s, order_id, {"lines": [{"product_id": 2, "quantity": 6}]}, partial=True,
            actor=SYSTEM))
    assert err.value.fields == {
        "lines[0].quantity": "Chang: 6 asked (5 more than before), 2 in stock, 3 missing"}


def test_editing_a_deleted_order_says_who_deleted_it_and_when(classic_db):
    order_id = _create(classic_db)
    _run(classic_db, lambda s: svc.delete_order(s, order_id, actor=ALICE))
    with pytest.raises(NotFound) as err:
        _run(classic_db, lambda s: svc.revise_order(s, order_id, _raw(), partial=False,
                                                    expected_version=1, actor=SYSTEM))
    assert f"Order {order_id} was deleted by alice on " in err.value.message
    assert "UTC" in err.value.message
    with pytest.raises(NotFound, match="does not exist"):  # never existed: no audit entry
        _run(classic_db, lambda s: svc.ship_order(s, 999999, TODAY, 1, actor=SYSTEM))


# --- stock levels -----------------------------------------------------------------------------

@pytest.mark.parametrize("units,reorder,discontinued,badge", [
    (0, 10, False, "Out of stock"), (0, 0, False, "Out of stock"), (5, 10, False, "Low stock"),
    (10, 10, False, "Low stock"), (11, 10, False, "Active"), (0, 10, True, "Discontinued"),
    (50, 10, True, "Discontinued"),
])
def test_one_stock_badge_rule(units, reorder, discontinued, badge):
    assert products.stock_badge(units, reorder, discontinued)[0] == badge


def test_stock_filters_agree_with_the_badge_rule(classic_db_ro):
    with session_scope(classic_db_ro) as s:
        rows = s.execute(select(Product.product_id, Product.units_in_stock,
                                Product.reorder_level)).all()
        for level, condition in products.STOCK_LEVELS.items():
            found = set(s.execute(select(Product.product_id).where(condition)).scalars())
            expected = {pid for pid, units, reorder in rows
                        if products.stock_level(units, reorder) == level
                        or (level == products.IN_STOCK
                            and products.stock_level(units, reorder) == products.LOW_STOCK)}
            assert found == expected, level
    out = {pid for pid, units, reorder in rows if units == 0}
    assert out == {5, 17, 29, 31, 53}
    assert not any(products.is_low_stock(units, reorder) for pid, units, reorder in rows
                   if pid in out)


# --- every refusal reaches the screen ---------------------------------------------------------

def test_every_kind_of_refusal_is_visible_on_the_order_page():
    """The order page's rule (pages/order_detail.refusal_of): whatever refuses an action —
    validation, conflict, not found, permission, a database that is down — the dialog shows
    something, and a reload is offered when the order changed or went."""
    from sqlalchemy.exc import OperationalError

    from northwind_app.pages.order_detail import SHIP_FIELDS, refusal_of

    field = refusal_of(Invalid(fields={"shipped_date": "must not be after today"}),
                       "marked shipped", SHIP_FIELDS)
    assert field.fields == {"shipped_date": "must not be after today"}  # beside its field
    other = refusal_of(Invalid(fields={"version": "is 3 but If-Match says 2"}),
                       "marked shipped", SHIP_FIELDS)
    assert other.message and not other.fields  # a field the dialog has no place for
    conflict = refusal_of(Conflict("Order 1 was changed by someone else.",
                                   {"version": "is out of date"}), "marked shipped", SHIP_FIELDS)
    gone = refusal_of(NotFound("Order 1 was deleted by alice on 2026-12-06 03:10 UTC."),
                      "cancelled")
    denied = refusal_of(Forbidden("Your role (viewer) may not change orders."), "deleted")
    down = refusal_of(OperationalError("SELECT 1", {}, Exception("gone away")), "deleted")
    assert (conflict.message, conflict.conflict) == ("Order 1 was changed by someone else.", True)
    assert gone.conflict and "deleted by alice" in gone.message
    assert not denied.conflict and "may not" in denied.message
    assert not down.conflict and "server problem" in down.message
    for refusal in (field, other, conflict, gone, denied, down):
        assert refusal.message or refusal.fields


def test_every_kind_of_refusal_is_visible_on_the_order_form():
    """The order form's rule (pages/order_form.form_refusal): a refused save always says why;
    a deleted order says so and offers to save the edit as a new order."""
    from northwind_app.pages.order_form import form_refusal

    fields = form_refusal(Invalid(fields={"freight": "must be at least 0"}), "edit",
                          {"freight"}, False)
    assert fields == ("Some fields need attention; nothing was saved.", False, False)
    hidden = form_refusal(Invalid(fields={"shipped_date": "must not be after today"}),
                          "edit", {"shipped_date"}, False)
    assert "shipped_date" in hidden[0]  # the form has no such field: the message says it
    stale = form_refusal(Conflict("Order 9 was changed by someone else.", {"version": "old"}),
                         "edit", {"version"}, False)
    assert stale == ("Order 9 was changed by someone else.", True, False)
    frozen = form_refusal(Conflict("Order 9 shipped on 2026-12-01: its lines are frozen.",
                                   {"lines": "cannot change once shipped"}), "edit", {"lines"},
                          False)
    assert frozen[1] and "frozen" in frozen[0]
    stock = form_refusal(Conflict("Not enough stock for Chang: 5 asked, 1 in stock, 4 missing.",
                                  {"lines[0].quantity": "..."}), "new", set(), True)
    assert stock == ("Not enough stock for Chang: 5 asked, 1 in stock, 4 missing.", False, False)
    gone = form_refusal(NotFound("Order 9 was deleted by alice on 2026-12-06 03:10 UTC."),
                        "edit", set(), False)
    assert gone[2] and "deleted by alice" in gone[0] and "as a new order" in gone[0]
    denied = form_refusal(Forbidden("Your role (viewer) may not change orders."), "new",
                          set(), False)
    assert "may not" in denied[0]
