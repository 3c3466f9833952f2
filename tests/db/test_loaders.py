"""Demo generator determinism and integrity; loaders refuse to overwrite data."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import and_, func, select

from northwind_app.data.__main__ import main as cli
from northwind_app.data.classic import load_classic
from northwind_app.data import demo
from northwind_app.data.demo import load_demo
from northwind_app.data.loading import NotEmptyError, insert_written, references_unchecked
from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.models import LOAD_ORDER, Customer, Employee, Order, OrderDetail, Product
from northwind_app.db.types import line_value
from tests.dbutil import CLASSIC_DIR

END = dt.date(2026, 6, 30)


def _digest(url: str) -> str:
    h = hashlib.sha256()
    with get_engine(url).connect() as conn:
        for model in LOAD_ORDER:
            table = model.__table__
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _demo(url: str, seed: int, orders: int = 400) -> dict:
    with get_engine(url).begin() as conn:
        return load_demo(conn, orders=orders, seed=seed, end_date=END, replace=True)


def test_demo_is_deterministic(empty_db):
    _demo(empty_db, seed=7)
    first = _digest(empty_db)
    _demo(empty_db, seed=7)
    assert _digest(empty_db) == first
    _demo(empty_db, seed=8)
    assert _digest(empty_db) != first


def _orphans(url: str) -> dict[str, int]:
    """Rows whose foreign key names no row, for every foreign key of every table."""
    found = {}
    with get_engine(url).connect() as conn:
        for model in LOAD_ORDER:
            child = model.__table__
            for fk in child.foreign_key_constraints:
                parent = fk.referred_table.alias()
                pairs = [(column, parent.c[element.column.name])
                         for column, element in zip(fk.columns, fk.elements)]
                count = conn.execute(
                    select(func.count()).select_from(child.outerjoin(
                        parent, and_(*[c == p for c, p in pairs])))
                    .where(*[c.is_not(None) for c, _ in pairs],
                           pairs[0][1].is_(None))).scalar_one()
                found[f"{child.name}.{fk.name or fk.column_keys}"] = count
    return found


def test_demo_integrity_and_shape(empty_db):
    counts = _demo(empty_db, seed=3, orders=1500)
    assert counts["orders"] == 1500 and counts["customers"] >= 91 and counts["products"] == 77
    # The load does not have MariaDB check them (loading.references_unchecked).
    orphans = _orphans(empty_db)
    assert len(orphans) >= 10 and set(orphans.values()) == {0}, orphans
    line = line_value(OrderDetail.unit_price, OrderDetail.quantity, OrderDetail.discount)
    with session_scope(empty_db) as s:
        orphans = s.execute(
            select(func.count()).select_from(Order)
            .outerjoin(Customer, Customer.customer_id == Order.customer_id)
            .where(Customer.customer_id.is_(None))).scalar_one()
        assert orphans == 0
        orphan_lines = s.execute(
            select(func.count()).select_from(OrderDetail)
            .outerjoin(Product, Product.product_id == OrderDetail.product_id)
            .where(Product.product_id.is_(None))).scalar_one()
        assert orphan_lines == 0
        bad_managers = s.execute(
            select(func.count()).select_from(Employee).where(
                Employee.reports_to.is_not(None),
                Employee.reports_to.not_in(select(Employee.employee_id)))).scalar_one()
        assert bad_managers == 0
        empty_orders = s.execute(select(func.count()).where(
            Order.order_id.not_in(select(OrderDetail.order_id)))).scalar_one()
        assert empty_orders == 0
        per_order = dict(s.execute(select(OrderDetail.order_id, func.sum(line))
                                   .group_by(OrderDetail.order_id)).all())
        assert dict(s.execute(select(Order.order_id, Order.subtotal)).all()) == per_order
        unshipped = s.execute(select(func.count()).where(Order.shipped_date.is_(None))).scalar_one()
        late = s.execute(select(func.count()).where(
            Order.shipped_date.is_(None), Order.required_date < END)).scalar_one()
        shipped_late = s.execute(select(func.count()).where(
            Order.shipped_date > Order.required_date)).scalar_one()
        assert unshipped > 0 and late > 0 and shipped_late > 0
        assert s.execute(select(func.max(Order.order_date))).scalar_one() <= END
        assert s.execute(select(func.count()).where(Product.discontinued)).scalar_one() == 8


def test_orphans_are_found(empty_db):
    _demo(empty_db, seed=3, orders=50)
    engine = get_engine(empty_db)
    orphan = ("UPDATE order_details SET product_id = 999 WHERE order_id = 10251 AND product_id = "
              "(SELECT MIN(product_id) FROM order_details WHERE order_id = 10251)")
    if engine.dialect.name == "sqlite":  # the app's connections check them: not this one
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA foreign_keys = OFF")
            raw.driver_connection.execute(orphan)
            raw.driver_connection.commit()
        finally:
            raw.driver_connection.execute("PRAGMA foreign_keys = ON")
            raw.close()
    else:
        with engine.begin() as conn, references_unchecked(conn):
            conn.exec_driver_sql(orphan)
    found = {name: count for name, count in _orphans(empty_db).items() if count}
    assert len(found) == 1 and "order_details" in next(iter(found)), found


def test_references_unchecked_restores_the_session(empty_db):
    with get_engine(empty_db).connect() as conn:
        if conn.dialect.name == "sqlite":
            pytest.skip("SQLite has no session setting to restore")
        checks = "SELECT @@SESSION.foreign_key_checks"
        with pytest.raises(RuntimeError), references_unchecked(conn):
            assert conn.exec_driver_sql(checks).scalar_one() == 0
            raise RuntimeError("the load failed")
        assert conn.exec_driver_sql(checks).scalar_one() == 1


def test_loaders_refuse_non_empty_database(classic_db):
    with pytest.raises(NotEmptyError, match="--replace"):
        with get_engine(classic_db).begin() as conn:
            load_demo(conn, orders=10)
    with pytest.raises(NotEmptyError):
        with get_engine(classic_db).begin() as conn:
            load_classic(conn, CLASSIC_DIR)
    with session_scope(classic_db) as s:  # nothing changed
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 830


def test_cli_refuses_then_replaces(classic_db, capsys):
    rc = cli(["--database-url", classic_db, "demo", "--orders", "50", "--quiet"])
    assert rc == 2
    assert "not empty" in capsys.readouterr().err
    rc = cli(["--database-url", classic_db, "demo", "--orders", "50", "--quiet", "--replace",
              "--end-date", "2026-01-31"])
    assert rc == 0
    with session_scope(classic_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 50
    assert cli(["--database-url", classic_db, "classic", str(CLASSIC_DIR), "--replace"]) == 0
    with session_scope(classic_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 830


def test_first_run_seeds_only_an_empty_database(empty_db, capsys):
    assert cli(["--database-url", empty_db, "first-run", "--orders", "120", "--quiet"]) == 0
    with session_scope(empty_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 120
    assert cli(["--database-url", empty_db, "first-run", "--orders", "999", "--quiet"]) == 0
    assert "Database ready" in capsys.readouterr().out
    with session_scope(empty_db) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 120


def test_written_inserts_store_what_executemany_stores(empty_db, monkeypatch):
    """The demo's orders and lines, written into the SQL by `insert_written` on MariaDB, are
    stored exactly as SQLAlchemy's executemany stores them; so are awkward strings."""
    _demo(empty_db, seed=5, orders=600)
    written = _digest(empty_db)
    monkeypatch.setattr(demo, "insert_written",
                        lambda conn, model, rows: conn.execute(model.__table__.insert(), rows))
    _demo(empty_db, seed=5, orders=600)
    assert _digest(empty_db) == written
    names = ["O'Brien \\ Sons", "100% \"quoted\" %s %(x)s", "日本 Ñandú —\n\ttab", "", None]
    rows = [{"customer_id": f"ZZ{i}", "company_name": name or "x", "contact_name": name,
             "city": "Köln" if i % 2 else None} for i, name in enumerate(names)]
    with get_engine(empty_db).begin() as conn:
        insert_written(conn, Customer, rows)
        insert_written(conn, Customer, [])
        stored = conn.execute(select(Customer.customer_id, Customer.company_name,
                                     Customer.contact_name, Customer.city)
                              .where(Customer.customer_id.like("ZZ%"))
                              .order_by(Customer.customer_id)).all()
    assert [tuple(row) for row in stored] == [tuple(row.values()) for row in rows]
