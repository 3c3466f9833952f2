"""History and audit entries in a user's words (issue #24, services/changes.py): names instead of
ids, screen labels instead of column names, money to cents in the user's number format, order
lines by product name, times in the user's time zone; the names of a page read in one query
per kind of record, not one per entry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from northwind_app import formats
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.services import audit, changes, products, users
from northwind_app.services import orders as svc
from northwind_app.services.auth import SYSTEM, Actor
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import ListParams
from tests.factories import order as _create
from tests.factories import user as _user

ALICE = Actor(user_id=None, username="alice", role="sales")


@pytest.fixture
def in_format():
    """Run with a user's number format and time zone current (as the screens set them)."""
    tokens = []

    def use(number_format: str, zone: str | None) -> None:
        tokens.append((formats.current.set(number_format), formats.zone.set(zone or "UTC")))
    yield use
    for number, zone in reversed(tokens):
        formats.zone.reset(zone)
        formats.current.reset(number)


def _history(url, entity, key):
    with session_scope(url) as s:
        return changes.history(s, entity, key)


def _pairs(entry) -> dict[str, tuple[str | None, str | None]]:
    return {c.label: (c.before, c.after) for c in entry.changes}


def test_an_order_edit_names_people_and_shippers_and_shows_money_in_the_users_format(
        classic_db, in_format):
    order_id = _create(classic_db, employee_id=5, ship_via=1)
    write_transaction(lambda s: svc.revise_order(
        s, order_id, {"employee_id": 4, "ship_via": 3, "freight": "1234.5",
                      "lines": [{"product_id": 1, "quantity": 7},
                                {"product_id": 2, "quantity": 3, "unit_price": "19.00",
                                 "discount": "0.15"}]},
        partial=True, actor=ALICE), classic_db)

    in_format("en", "UTC")
    update, create = _history(classic_db, "order", order_id)
    assert update.action == "update" and create.action == "create"
    pairs = _pairs(update)
    assert pairs["Employee"] == ("Steven Buchanan", "Margaret Peacock")
    assert pairs["Ship via"] == ("Speedy Express", "Federal Shipping")
    assert pairs["Freight"] == ("$12.30", "$1,234.50")
    assert pairs["line Chai: quantity"] == ("2", "7")
    assert pairs["line Chang: discount"] == ("0%", "15%")
    before, after = pairs["Total"]
    assert before.startswith("$") and after.startswith("$1,")
    assert len(after.rsplit(".", 1)[1]) == 2  # to cents, whatever the exact total
    assert list(pairs)[-1] == "Total"
    for label in pairs:  # no column name, no product id
        assert "_" not in label and not any(ch.isdigit() for ch in label)
    # The creation lists the customer by name and the first values.
    created = _pairs(create)
    assert created["Customer"] == (None, "Alfreds Futterkiste")
    assert created["Order date"] == (None, "May 7, 1998")

    in_format("de", "Europe/Berlin")
    german = _pairs(_history(classic_db, "order", order_id)[0])
    assert german["Freight"] == ("12,30\xa0$", "1.234,50\xa0$")
    assert german["line Chang: discount"] == ("0%", "15%")


def test_a_product_edit_names_supplier_and_category_and_formats_numbers(classic_db, in_format):
    write_transaction(lambda s: products.update_product(
        s, 1, {"supplier_id": 2, "category_id": 2, "unit_price": "1234.5",
               "units_in_stock": 1500}, actor=SYSTEM), classic_db)
    in_format("fr", None)
    pairs = _pairs(_history(classic_db, "product", 1)[0])
    assert pairs["Supplier"] == ("Exotic Liquids", "New Orleans Cajun Delights")
    assert pairs["Category"] == ("Beverages", "Condiments")
    assert pairs["Unit price"] == ("18,00\xa0$US", "1\u202f234,50\xa0$US")
    assert pairs["Units in stock"] == ("39", "1\u202f500")


def test_times_are_in_the_users_time_zone_and_format(classic_db, in_format):
    order_id = _create(classic_db)
    with session_scope(classic_db) as s:
        [view] = audit.history(s, "order", order_id)
    at = view.at if view.at.tzinfo else view.at.replace(tzinfo=dt.UTC)  # naive: UTC
    local = at.astimezone(ZoneInfo("Asia/Kolkata"))  # +05:30, no summer time
    in_format("en", "Asia/Kolkata")
    [entry] = _history(classic_db, "order", order_id)
    assert entry.at == (f"{local:%b} {local.day}, {local.year}, {local.hour % 12 or 12}:"
                        f"{local:%M}\u202f{local:%p} +0530")
    in_format("de", "Asia/Kolkata")
    [entry] = _history(classic_db, "order", order_id)
    assert entry.at == f"{local:%d.%m.%Y, %H:%M} +0530"
    in_format("en", None)  # no zone chosen: UTC, and it says so
    [entry] = _history(classic_db, "order", order_id)
    assert entry.at.endswith(f"{at:%M}\u202f{at:%p} UTC")


def test_a_page_of_entries_reads_its_names_in_one_statement_not_per_entry(classic_db, in_format):
    ids = [_create(classic_db, employee_id=5, ship_via=1) for _ in range(3)]
    for order_id in ids:
        write_transaction(lambda s, o=order_id: svc.revise_order(
            s, o, {"employee_id": 4, "ship_via": 3}, partial=True, actor=ALICE), classic_db)
    admin = _user(classic_db, "admin")
    in_format("en", "UTC")
    with session_scope(classic_db) as s:
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(s.get_bind(), "before_cursor_execute", listen)
        try:
            page = changes.list_audit(s, admin, ListParams(limit=50, filters={
                "entity": "order"}))
        finally:
            event.remove(s.get_bind(), "before_cursor_execute", listen)
    mine = [e for e in page.items if e.entity_key in {str(i) for i in ids}]
    assert len(mine) == 6
    assert all(_pairs(e)["Employee"][1] == "Margaret Peacock"
               for e in mine if e.action == "update")
    lookups = [sql for sql in statements if "audit" not in sql.lower()
               and ("employees" in sql.lower() or "shippers" in sql.lower())]
    assert len(lookups) == 1, statements  # one statement names everyone on the page
    assert "shippers" in lookups[0].lower() and "employees" in lookups[0].lower()


def test_older_entries_with_line_ids_and_unknown_values_still_read(classic_db, in_format):
    in_format("en", "UTC")
    view = audit.AuditView(
        audit_id=1, at=dt.datetime(2026, 12, 6, 8, 10), username="alice", action="update",
        entity="order", entity_key="1", summary="order 1",
        changes={"line 60 Camembert Pierrot: unit_price": ["34.00", "not money"],
                 "employee_id": ["4", "999"], "some_new_field": [None, "x"]})
    with session_scope(classic_db) as s:
        [entry] = changes.describe(s, [view])
    assert entry.at == formats.time_text(view.at, "en", "UTC")
    assert "UTC" in entry.at and "2026" in entry.at
    assert _pairs(entry) == {"line Camembert Pierrot: unit price": ("$34.00", "not money"),
                             "Employee": ("Margaret Peacock", "999"),
                             "Some new field": (None, "x")}


def test_the_live_banner_words_others_changes_the_same_way(classic_db, in_format):
    from northwind_app.live.text import fields_text
    order_id = _create(classic_db, ship_via=1)
    start = write_transaction(lambda s: audit.last_id(s, "order", order_id), classic_db)
    write_transaction(lambda s: svc.revise_order(s, order_id, {"ship_via": 2, "freight": "40"},
                                                 partial=True, actor=ALICE), classic_db)
    in_format("en", "UTC")
    with session_scope(classic_db) as s:
        [entry] = changes.changes_since(s, "order", order_id, start)
    text = fields_text(entry.changes)
    assert text.startswith("Ship via Speedy Express → United Package; Freight $12.30 → $40.00")


def test_the_time_zone_is_a_preference_set_from_the_browser_at_first_sign_in(classic_db):
    account = _user(classic_db, "viewer", username="zoe-tz", password="correct horse 1")
    assert account.time_zone is None
    signed, _ = write_transaction(lambda s: users.sign_in(
        s, "zoe-tz", "correct horse 1", address="10.0.0.1", accept_language="en",
        browser_zone="Asia/Kolkata"), classic_db)
    assert signed.time_zone == "Asia/Kolkata"
    again, _ = write_transaction(lambda s: users.sign_in(  # only the first sign-in sets it
        s, "zoe-tz", "correct horse 1", address="10.0.0.1", accept_language="en",
        browser_zone="Europe/Paris"), classic_db)
    assert again.time_zone == "Asia/Kolkata"
    with pytest.raises(Invalid) as err:
        write_transaction(lambda s: users.set_time_zone(s, again, again.user_id, "Mars/Olympus"),
                          classic_db)
    assert "time zone" in err.value.fields["time_zone"]
    changed = write_transaction(lambda s: users.set_time_zone(s, again, again.user_id,
                                                              "Europe/Paris"), classic_db)
    assert changed.time_zone == "Europe/Paris"
    with session_scope(classic_db) as s:
        [entry, *_] = changes.history(s, "user", again.user_id)
    assert _pairs(entry)["Time zone"] == ("Asia/Kolkata", "Europe/Paris")
    # A browser that says nothing useful leaves the zone unset (UTC).
    other = _user(classic_db, "viewer", username="zed-tz", password="correct horse 1")
    signed, _ = write_transaction(lambda s: users.sign_in(
        s, "zed-tz", "correct horse 1", address="10.0.0.1", accept_language="en",
        browser_zone="<script>"), classic_db)
    assert signed.time_zone is None and other.time_zone is None
