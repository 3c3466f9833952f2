"""Money is exact on every backend, including SQLite whose NUMERIC is a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Category, Customer, Employee, Order, OrderDetail, Product
from northwind_app.db.types import ExactDecimal, line_value, rescale
from northwind_app.money import (
    cents, format_money, format_percent, line_value as py_line_value, money_str, parse_decimal,
)

PRICES = ["9.80", "0.05", "1007.64", "0.0001", "14.00", "263.50", "99999999.9999", "0.1", "0.2"]


def _seed(session, prices):
    session.add(Category(category_id=1, category_name="Test"))
    session.add(Customer(customer_id="TESTC", company_name="Test"))
    session.add(Employee(employee_id=1, last_name="Test", first_name="T"))
    session.flush()
    session.add(Order(order_id=1, customer_id="TESTC", employee_id=1, freight=Decimal("0.30")))
    session.flush()
    for i, price in enumerate(prices, start=1):
        session.add(Product(product_id=i, product_name=f"P{i}", unit_price=Decimal(price)))
    session.flush()
    for i, price in enumerate(prices, start=1):
        session.add(OrderDetail(order_id=1, product_id=i, unit_price=Decimal(price),
                                quantity=3, discount=Decimal("0.05")))


def test_values_read_back_identical(empty_db):
    with session_scope(empty_db, write=True) as session:
        _seed(session, PRICES)
    with session_scope(empty_db) as session:
        stored = session.execute(select(Product.unit_price).order_by(Product.product_id)).scalars().all()
        assert [str(v.normalize()) for v in stored] == [str(Decimal(p).normalize()) for p in PRICES]
        assert all(isinstance(v, Decimal) for v in stored)
        discount = session.execute(select(OrderDetail.discount).limit(1)).scalar_one()
        assert discount == Decimal("0.05")
        freight = session.execute(select(Order.freight)).scalar_one()
        assert freight == Decimal("0.30")


def test_sql_sums_and_line_values_are_exact(empty_db):
    # 0.1 + 0.2 is the classic float trap; in SQL the line sum must equal the Decimal sum.
    with session_scope(empty_db, write=True) as session:
        _seed(session, PRICES)
    expected = sum(py_line_value(Decimal(p), 3, Decimal("0.05")) for p in PRICES)
    with session_scope(empty_db) as session:
        total = session.execute(select(func.sum(line_value(
            OrderDetail.unit_price, OrderDetail.quantity, OrderDetail.discount)))).scalar_one()
        assert total == expected
        price_sum = session.execute(select(func.sum(Product.unit_price))).scalar_one()
        assert price_sum == sum(Decimal(p) for p in PRICES)
        with_freight = session.execute(select(Order.subtotal + rescale(Order.freight))).scalar_one()
        assert with_freight == Decimal("0.30")


def test_sqlite_stores_integers_not_floats(empty_db):
    if not empty_db.startswith("sqlite"):
        pytest.skip("storage format check is specific to SQLite")
    with session_scope(empty_db, write=True) as session:
        _seed(session, ["9.80"])
    with session_scope(empty_db) as session:
        kind, raw = session.execute(text("SELECT typeof(unit_price), unit_price FROM products")).one()
        assert (kind, raw) == ("integer", 98000)


def test_more_places_than_the_column_holds_is_refused(empty_db):
    with pytest.raises(Exception, match="decimal places"):
        with session_scope(empty_db, write=True) as session:
            session.add(Category(category_id=1, category_name="Test"))
            session.add(Product(product_id=1, product_name="X", unit_price=Decimal("1.00001")))
    with session_scope(empty_db) as session:
        assert session.execute(select(func.count()).select_from(Category)).scalar_one() == 0


def test_type_rejects_non_numbers():
    col = ExactDecimal(19, 4)
    with pytest.raises(ValueError):
        col._to_decimal("abc")
    with pytest.raises(ValueError):
        col._to_decimal("NaN")


def test_rounding_and_formatting():
    assert cents(Decimal("1265793.0395")) == Decimal("1265793.04")
    assert cents(Decimal("0.005")) == Decimal("0.01")  # half up, not banker's rounding
    assert money_str(Decimal("440")) == "440.00"
    assert format_money(Decimal("1265793.0395")) == "$1,265,793.04"
    assert format_percent(Decimal("0.15")) == "15%"
    assert format_percent(Decimal("0")) == "0%"


@pytest.mark.parametrize("text_in,expected", [("9.80", "9.80"), (" 1007.64 ", "1007.64"), (3, "3"),
                                               (0.1, "0.1"), (Decimal("12.50"), "12.50")])
def test_parse_decimal_accepts(text_in, expected):
    assert parse_decimal(text_in, places=4) == Decimal(expected)


@pytest.mark.parametrize("text_in,message", [("", "required"), ("abc", "number"),
                                             ("1.00001", "decimal places"), ("inf", "finite"),
                                             # API text is locale-free: a comma is never read
                                             ("12,50", "no grouping"), ("1,007.64", "no grouping"),
                                             ("1.234,56", "no grouping"), ("1 234", "no grouping"),
                                             ("1e3", "no grouping"), (".5", "no grouping"),
                                             (True, "number")])
def test_parse_decimal_refuses(text_in, message):
    with pytest.raises(ValueError, match=message):
        parse_decimal(text_in, places=4)
