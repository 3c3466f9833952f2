"""The REST API is locale-free (issue 21): numbers are JSON numbers or strings with "." as the
only decimal separator and no grouping; anything else is a 422 naming the field, never a
comma dropped (12,50 once became 1,250.00). And each user's number format for the screens,
read and set through /api/me. Both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order, Product, User
from northwind_app.money import PLAIN_DECIMAL_TEXT
from tests.api.server import assert_error, bearer

REFUSED = f"must be {PLAIN_DECIMAL_TEXT}"
ORDER = {"customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04",
         "lines": [{"product_id": 1, "quantity": 2}]}


@pytest.mark.parametrize("text", ["12,50", "1,234.50", "1.234,50", "1 234.50", "1e3", ".5",
                                  "+12.50", "١٢"])
def test_product_prices_with_separators_are_refused(api_ro, text):
    refused = api_ro.post("/api/products", json={"product_name": "Tea", "unit_price": text})
    assert assert_error(refused, 422, "validation_failed", {"unit_price"})["fields"] == {
        "unit_price": REFUSED}


def test_the_issues_order_inputs_are_refused_not_multiplied(api, classic_db):
    before = api.get("/api/orders").json()["total"]
    refused = api.post("/api/orders", json={
        **ORDER, "freight": "25,50",
        "lines": [{"product_id": 1, "quantity": 1, "unit_price": "23,79", "discount": "0,025"}]})
    error = assert_error(refused, 422, "validation_failed", {
        "freight", "lines[0].unit_price", "lines[0].discount"})
    assert error["fields"] == {"freight": REFUSED, "lines[0].unit_price": REFUSED,
                               "lines[0].discount": REFUSED}
    # Quantities are JSON integers (the schema says so before the service reads anything).
    assert_error(api.post("/api/orders", json={**ORDER, "lines": [
        {"product_id": 2, "quantity": "1,000"}]}), 422, "validation_failed", {"lines[0].quantity"})
    assert api.get("/api/orders").json()["total"] == before  # nothing written

    product = api.post("/api/products", json={"product_name": "Tea", "unit_price": 1})
    patched = api.patch(f"/api/products/{product.json()['product_id']}",
                        json={"unit_price": "12,50"})
    assert_error(patched, 422, "validation_failed", {"unit_price"})

    # Plain decimals, as strings or JSON numbers, are read exactly.
    created = api.post("/api/orders", json={
        **ORDER, "freight": "25.50",
        "lines": [{"product_id": 1, "quantity": 1, "unit_price": "23.79", "discount": 0.025}]})
    assert created.status_code == 201, created.text
    with session_scope(classic_db) as session:
        order = session.get(Order, created.json()["order_id"])
        assert (order.freight, order.subtotal) == (Decimal("25.50"), Decimal("23.195250"))
        assert session.get(Product, product.json()["product_id"]).unit_price == Decimal(1)


def test_number_format_through_api_me(api, tokens, classic_db):
    me = api.get("/api/me").json()
    assert me["number_format"] == "en"  # never signed in on the screens: the default
    changed = api.patch("/api/me", json={"number_format": "de"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["number_format"] == "de"
    assert api.get("/api/me").json()["number_format"] == "de"
    with session_scope(classic_db) as session:
        assert session.query(User).filter_by(username="admin").one().number_format == "de"
    # Another user's is their own.
    assert api.get("/api/me", headers=bearer(tokens["viewer"])).json()["number_format"] == "en"
    assert api.patch("/api/me", headers=bearer(tokens["viewer"]),
                     json={"number_format": "fr"}).json()["number_format"] == "fr"

    for body in ({"number_format": "xx"}, {"number_format": None}, {"number_format": 1}, {}):
        assert_error(api.patch("/api/me", json=body), 422, "validation_failed",
                     {"number_format"})
    assert_error(api.patch("/api/me", json={"number_format": "en", "role": "admin"}), 422,
                 "validation_failed", {"role"})
    assert api.get("/api/me").json()["number_format"] == "de"
