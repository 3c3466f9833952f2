"""The search's copies of the searched values — `order_search_values` (each distinct ship name,
ship city and company name) and `order_search_grams` (their trigrams) — are kept in step by
the database itself (migration 0008's triggers), on SQLite and MariaDB: whoever writes the
orders and customers (the services, the loaders, SQL written directly), and the migration
fills them from the rows already there. The search's results are tested against plain LIKE in
test_orders_search.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import func, insert, inspect, select, text, update

from northwind_app.data.classic import load_classic
from northwind_app.data.demo import load_demo
from northwind_app.data.loading import SEARCH_VALUES_PAUSED, search_values_paused
from northwind_app.db.engine import get_engine, session_scope, write_transaction
from northwind_app.db.migrations import alembic_config, current_revision, schema_differences
from northwind_app.db.models import (
    Customer, Employee, Order, OrderSearchGram, OrderSearchValue,
)
from northwind_app.services import customers as customer_svc
from northwind_app.services import orders as svc
from northwind_app.services.orders import search as order_search
from northwind_app.services.auth import SYSTEM
from northwind_app.services.listing import ListParams
from tests import dbutil

TODAY = dt.date(1998, 5, 7)
TRIGGERS = {"trg_orders_search_values_insert", "trg_orders_search_values_update",
            "trg_customers_search_values_insert", "trg_customers_search_values_update",
            "trg_search_values_grams"}


def _values(url) -> set[tuple[str, str]]:
    with get_engine(url).connect() as conn:
        return set(conn.execute(select(OrderSearchValue.kind, OrderSearchValue.value)).tuples())


def _expected(url) -> set[tuple[str, str]]:
    """Every distinct (by code points) ship name, ship city and company name there is."""
    with get_engine(url).connect() as conn:
        rows = [*conn.execute(select(Order.ship_name, Order.ship_city)).tuples()]
        names = conn.execute(select(Customer.company_name)).scalars().all()
    found = {("company_name", name) for name in names}
    for name, city in rows:
        found |= {(kind, value) for kind, value in (("ship_name", name), ("ship_city", city))
                  if value is not None}
    return found


def _trigrams_found(url, kind: str, value: str) -> bool:
    """Whether each trigram of `value` finds it by equality (what the search relies on)."""
    grams = {value[i:i + 3] for i in range(len(value) - 2)}
    with get_engine(url).connect() as conn:
        found = {gram for gram in grams if conn.execute(
            select(func.count()).where(OrderSearchGram.kind == kind,
                                       OrderSearchGram.value == value,
                                       OrderSearchGram.gram == gram)).scalar_one()}
    return found == grams


def _triggers(url) -> set[str]:
    with get_engine(url).connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text("SELECT trigger_name FROM information_schema.triggers "
                                     "WHERE trigger_schema = DATABASE()"))
        return set(rows.scalars())


def _order_input(**overrides):
    raw = {"customer_id": "alfki", "employee_id": "5", "order_date": "1998-05-07",
           "required_date": "1998-06-04", "ship_via": "1", "freight": "1.00",
           "ship_name": "Zephyr Quay Traders", "ship_city": "Xanthe Falls",
           "ship_country": "Germany", "lines": [{"product_id": 1, "quantity": "1"}]}
    raw.update(overrides)
    return svc.parse_order_input(raw)


def _search(url, text_):
    with session_scope(url) as s:
        return sorted(r.order_id for r in svc.list_orders(
            s, ListParams(limit=500, search=text_), TODAY).items)


def test_triggers_exist_at_head(empty_db):
    """SQLite drops a table's triggers when a migration rebuilds it: this fails if one did."""
    assert TRIGGERS <= _triggers(empty_db)


def test_service_writes_keep_the_values(classic_db):
    before = _values(classic_db)
    assert before == _expected(classic_db)
    order_id = write_transaction(
        lambda s: svc.create_order(s, _order_input(), actor=SYSTEM), classic_db)
    added = _values(classic_db) - before
    assert added == {("ship_name", "Zephyr Quay Traders"), ("ship_city", "Xanthe Falls")}
    assert _trigrams_found(classic_db, "ship_city", "Xanthe Falls")
    assert _search(classic_db, "anthe fal") == [order_id]

    write_transaction(lambda s: svc.update_order(
        s, order_id, _order_input(ship_city="Yarrowmere"), actor=SYSTEM), classic_db)
    assert ("ship_city", "Yarrowmere") in _values(classic_db)
    assert ("ship_city", "Xanthe Falls") in _values(classic_db)  # kept: a superset
    assert _search(classic_db, "yarrowmer") == [order_id]
    assert _search(classic_db, "anthe fal") == []  # the order's own column decides

    write_transaction(lambda s: svc.ship_order(
        s, order_id, "1998-05-08", 2, actor=SYSTEM), classic_db)  # other columns: no change
    assert _values(classic_db) - before == {
        ("ship_name", "Zephyr Quay Traders"), ("ship_city", "Xanthe Falls"),
        ("ship_city", "Yarrowmere")}

    write_transaction(lambda s: customer_svc.create_customer(
        s, {"customer_id": "QWXYZ", "company_name": "Quillwort Provisions"}, actor=SYSTEM),
        classic_db)
    write_transaction(lambda s: customer_svc.update_customer(
        s, "QWXYZ", {"company_name": "Quillwort Victuals"}, actor=SYSTEM), classic_db)
    values = _values(classic_db)
    assert {("company_name", "Quillwort Provisions"),
            ("company_name", "Quillwort Victuals")} <= values
    assert _trigrams_found(classic_db, "company_name", "Quillwort Victuals")


def test_direct_sql_writes_keep_the_values(classic_db):
    """Triggers, not the services, keep the values: rows written by plain SQL count too,
    every spelling is kept (MariaDB's collation calls 'Straße' and 'Strasse' equal), and
    NULLs are left out."""
    engine = get_engine(classic_db)
    before = _values(classic_db)
    with engine.begin() as conn:
        base = {"customer_id": "VINET", "employee_id": 5, "freight": Decimal("1"),
                "subtotal": Decimal("0"), "total": Decimal("1"), "version": 1}
        conn.execute(insert(Order), [
            {**base, "order_id": 20001, "ship_name": None, "ship_city": "Straßeburg"},
            {**base, "order_id": 20002, "ship_name": "Nightjar Ltd", "ship_city": "Strasseburg"},
            {**base, "order_id": 20003, "ship_name": "Nightjar Ltd", "ship_city": None},
        ])
        conn.execute(update(Order).where(Order.order_id == 20003)
                     .values(ship_city="STRASSEBURG"))
        conn.execute(update(Order).where(Order.order_id == 10248).values(freight=Decimal("2")))
        conn.execute(insert(Customer).values(customer_id="QQQQQ", company_name="Osprey & Sons"))
        conn.execute(update(Customer).where(Customer.customer_id == "QQQQQ")
                     .values(company_name="Osprey & Daughters"))
    assert _values(classic_db) - before == {
        ("ship_city", "Straßeburg"), ("ship_city", "Strasseburg"), ("ship_city", "STRASSEBURG"),
        ("ship_name", "Nightjar Ltd"), ("company_name", "Osprey & Sons"),
        ("company_name", "Osprey & Daughters")}
    assert _expected(classic_db) <= _values(classic_db)
    assert _search(classic_db, "straße") == [20001]
    assert _search(classic_db, "strasse") == [20002, 20003]
    assert _trigrams_found(classic_db, "ship_city", "Straßeburg")


def test_a_rolled_back_write_leaves_no_value(classic_db):
    before = _values(classic_db)
    with pytest.raises(RuntimeError):
        with get_engine(classic_db).begin() as conn:
            conn.execute(update(Order).where(Order.order_id == 10248)
                         .values(ship_city="Nowhere Rollback"))
            raise RuntimeError("roll back")
    assert _values(classic_db) == before


def test_concurrent_orders_with_a_new_value(classic_db):
    """Writers adding the same new value at once all succeed; it is kept once."""
    errors, ids = [], []

    def create():
        try:
            for _ in range(3):
                ids.append(write_transaction(lambda s: svc.create_order(
                    s, _order_input(ship_city="Concurrent Cove"), actor=SYSTEM), classic_db))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    dbutil.run_in_threads(create, 4)
    assert errors == []
    assert ("ship_city", "Concurrent Cove") in _values(classic_db)
    assert _search(classic_db, "concurrent cove") == sorted(ids)


def test_loaders_fill_the_values(empty_db):
    with get_engine(empty_db).begin() as conn:
        load_classic(conn, dbutil.CLASSIC_DIR)
    assert _values(empty_db) == _expected(empty_db)
    with get_engine(empty_db).begin() as conn:  # --replace starts the values afresh
        load_demo(conn, orders=300, seed=5, end_date=dt.date(2026, 6, 30), replace=True)
    values = _values(empty_db)
    assert values == _expected(empty_db)
    for kind, value in sorted(values)[::25]:
        assert _trigrams_found(empty_db, kind, value), (kind, value)


def test_a_paused_load_leaves_the_triggers_on(empty_db):
    """Bulk loads pause the value triggers for their own block only, also when it fails:
    later writes in the same (pooled) connection keep their values."""
    with get_engine(empty_db).connect() as conn:
        with pytest.raises(RuntimeError), conn.begin(), search_values_paused(conn):
            raise RuntimeError("the load failed")
        assert TRIGGERS <= _triggers(empty_db)
        with conn.begin():
            load_demo(conn, orders=60, seed=2, end_date=dt.date(2026, 6, 30))
        assert TRIGGERS <= _triggers(empty_db)
        assert _values(empty_db) == _expected(empty_db)
        kept = ("ship_city", "Paused Update")
        with conn.begin():
            with search_values_paused(conn) as add_values:
                change = {"ship_city": kept[1]}
                conn.execute(update(Order).where(Order.order_id == 10249).values(**change))
                add_values(Order, [change])
                in_block = set(conn.execute(
                    select(OrderSearchValue.kind, OrderSearchValue.value)).tuples())
            assert kept not in in_block  # paused
            assert kept in set(conn.execute(  # added at the block's end, from what was given
                select(OrderSearchValue.kind, OrderSearchValue.value)).tuples())
        with conn.begin():
            if conn.dialect.name != "sqlite":
                assert conn.exec_driver_sql(f"SELECT {SEARCH_VALUES_PAUSED}").scalar() is None
            conn.execute(update(Order).where(Order.order_id == 10248)
                         .values(ship_city="After The Load"))
    assert ("ship_city", "After The Load") in _values(empty_db)


def test_migration_fills_the_values_and_downgrades(backend, tmp_path):
    """Rows written before 0008 are filled in (every spelling); downgrading to 0007 removes
    the tables and triggers and restores 0005's search indexes; upgrading again refills."""
    db = dbutil.TestDatabase(backend, tmp_path)
    config = alembic_config(db.url)
    try:
        command.upgrade(config, "0007")
        engine = get_engine(db.url)

        def add_orders(conn, rows):
            conn.execute(insert(Order.__table__), [
                {"customer_id": "ABCDE", "employee_id": 1, "freight": Decimal("0"),
                 "subtotal": Decimal("0"), "total": Decimal("0"), "version": 1, **row}
                for row in rows])

        with engine.begin() as conn:
            conn.execute(insert(Employee.__table__).values(
                employee_id=1, last_name="Lark", first_name="Ada"))
            conn.execute(insert(Customer.__table__).values(
                customer_id="ABCDE", company_name="Alder Bough"))
            add_orders(conn, [{"ship_name": "Alder Bough", "ship_city": "Straßeburg"},
                              {"ship_name": "Alder Bough", "ship_city": "Strasseburg"},
                              {"ship_name": None, "ship_city": None}])
        command.upgrade(config, "head")
        assert _values(db.url) == {
            ("company_name", "Alder Bough"), ("ship_name", "Alder Bough"),
            ("ship_city", "Straßeburg"), ("ship_city", "Strasseburg")}
        assert _trigrams_found(db.url, "ship_city", "Strasseburg")
        assert schema_differences(engine) == [] and TRIGGERS <= _triggers(db.url)

        command.downgrade(config, "0007")
        assert current_revision(engine) == "0007"
        assert not TRIGGERS & _triggers(db.url)
        tables = set(inspect(engine).get_table_names())
        assert not {"order_search_values", "order_search_grams"} & tables
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("orders")}
        assert indexes["ix_orders_ship_city_status"] == [
            "ship_city", "order_date", "shipped_date", "required_date"]
        with engine.begin() as conn:
            add_orders(conn, [{"ship_name": "Written While Down", "ship_city": "Old Schema"}])

        command.upgrade(config, "head")
        assert {("ship_name", "Written While Down"), ("ship_city", "Old Schema")} \
            <= _values(db.url)
        assert schema_differences(engine) == []
    finally:
        db.drop()


@pytest.mark.parametrize("text_,grams", [
    ("ab", []), ("abc", ["abc"]), ("abcdef", ["abc", "bcd", "cde", "def"]),
    ("abcdefg", ["abc", "bcd", "def", "efg"]),
    ("Bousquetboeuf", ["Bou", "squ", "tbo", "euf"]), ("aaaaaaa", ["aaa"]),
])
def test_trigrams_of_the_text_are_spread_over_it(text_, grams):
    assert order_search._spread_grams(text_) == grams
