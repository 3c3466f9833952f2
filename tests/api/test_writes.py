"""Create, replace, update and delete customers and products over HTTP on both backends:
status codes, Location, validation named per field, 409s, exact money and atomic writes."""

from __future__ import annotations

from decimal import Decimal

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Customer, Product
from tests.api.server import assert_error

NEW_CUSTOMER = {"customer_id": "nwtrd", "company_name": "  Northwind Traders ",
                "contact_name": "Ann Devon", "city": "London", "country": "UK",
                "phone": "(171) 555-0297"}


def test_customer_lifecycle(api):
    created = api.post("/api/customers", json=NEW_CUSTOMER)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/customers/NWTRD"
    body = created.json()
    assert (body["customer_id"], body["company_name"], body["fax"]) == (
        "NWTRD", "Northwind Traders", None)
    assert (body["order_count"], body["revenue"], body["first_order_date"]) == (0, "0.00", None)
    assert api.get(created.headers["location"]).json() == body
    assert api.get("/api/customers", params={"q": "northwind"}).json()["total"] == 1

    patched = api.patch("/api/customers/NWTRD", json={"phone": None, "fax": "(171) 555-0298"})
    assert patched.status_code == 200
    assert (patched.json()["phone"], patched.json()["fax"], patched.json()["city"]) == (
        None, "(171) 555-0298", "London")

    replaced = api.put("/api/customers/nwtrd", json={"company_name": "Northwind Ltd"})
    assert replaced.status_code == 200
    after = replaced.json()
    assert (after["company_name"], after["city"], after["fax"], after["contact_name"]) == (
        "Northwind Ltd", None, None, None)

    deleted = api.delete("/api/customers/NWTRD")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert_error(api.get("/api/customers/NWTRD"), 404, "not_found")
    assert_error(api.delete("/api/customers/NWTRD"), 404, "not_found")
    assert_error(api.patch("/api/customers/NWTRD", json={"city": "Oslo"}), 404, "not_found")
    assert api.get("/api/customers").json()["total"] == 91


def test_customer_validation_and_conflicts(api):
    duplicate = api.post("/api/customers", json={"customer_id": "alfki", "company_name": "X"})
    error = assert_error(duplicate, 409, "conflict", {"customer_id"})
    assert "ALFKI already exists" in error["message"]

    invalid = api.post("/api/customers", json={"customer_id": "AB1", "company_name": "X" * 41,
                                               "city": " ", "phone": "9" * 25})
    error = assert_error(invalid, 422, "validation_failed",
                         {"customer_id", "company_name", "phone"})
    assert error["fields"] == {"customer_id": "must be exactly 5 letters A-Z",
                               "company_name": "must be at most 40 characters",
                               "phone": "must be at most 24 characters"}
    missing = api.post("/api/customers", json={"company_name": "No Id"})
    assert assert_error(missing, 422, "validation_failed", {"customer_id"})["fields"] == {
        "customer_id": "is required"}
    # The id cannot be changed, a required field cannot be cleared, PUT needs required fields.
    assert_error(api.patch("/api/customers/ALFKI", json={"customer_id": "ALFKX"}), 422,
                 "validation_failed", {"customer_id"})
    assert_error(api.patch("/api/customers/ALFKI", json={"company_name": None}), 422,
                 "validation_failed", {"company_name"})
    assert_error(api.put("/api/customers/ALFKI", json={"city": "Berlin"}), 422,
                 "validation_failed", {"company_name"})

    blocked = api.delete("/api/customers/ALFKI")
    error = assert_error(blocked, 409, "conflict")
    assert error["message"] == "Customer ALFKI has 6 orders and cannot be deleted."
    alfki = api.get("/api/customers/ALFKI").json()
    assert (alfki["company_name"], alfki["order_count"], alfki["city"]) == (
        "Alfreds Futterkiste", 6, "Berlin")

    assert api.delete("/api/customers/FISSA").status_code == 204  # no orders


NEW_PRODUCT = {"product_name": "Northwind Tea", "supplier_id": 1, "category_id": 1,
               "quantity_per_unit": "20 bags", "unit_price": "12.3456", "units_in_stock": 5,
               "reorder_level": 10}


def test_product_lifecycle_with_exact_prices(api, classic_db):
    created = api.post("/api/products", json=NEW_PRODUCT)
    assert created.status_code == 201, created.text
    product = created.json()
    product_id = product["product_id"]
    assert created.headers["location"] == f"/api/products/{product_id}"
    assert (product["unit_price"], product["units_on_order"], product["discontinued"]) == (
        "12.35", 0, False)
    assert (product["category_name"], product["supplier_name"]) == ("Beverages", "Exotic Liquids")
    assert (product["order_count"], product["units_sold"], product["revenue"]) == (0, 0, "0.00")
    with session_scope(classic_db) as session:
        assert session.get(Product, product_id).unit_price == Decimal("12.3456")
    low = api.get("/api/products", params={"stock": "low_stock", "limit": 500}).json()
    assert product_id in {p["product_id"] for p in low["items"]}

    # JSON numbers are read exactly (never through float) and checked for 4 decimals.
    exact = api.patch(f"/api/products/{product_id}", content=b'{"unit_price": 0.1005}',
                      headers={"content-type": "application/json"})
    assert exact.status_code == 200, exact.text
    assert exact.json()["unit_price"] == "0.10"
    with session_scope(classic_db) as session:
        assert session.get(Product, product_id).unit_price == Decimal("0.1005")

    patched = api.patch(f"/api/products/{product_id}",
                        json={"category_id": None, "discontinued": True, "units_in_stock": 0})
    body = patched.json()
    assert (body["category_id"], body["category_name"], body["discontinued"]) == (None, None, True)
    assert body["supplier_name"] == "Exotic Liquids"

    replaced = api.put(f"/api/products/{product_id}",
                       json={"product_name": "Northwind Tea II", "unit_price": 7})
    body = replaced.json()
    assert (body["unit_price"], body["supplier_id"], body["reorder_level"],
            body["discontinued"]) == ("7.00", None, 0, False)

    assert api.delete(f"/api/products/{product_id}").status_code == 204
    assert_error(api.get(f"/api/products/{product_id}"), 404, "not_found")
    assert api.get("/api/products").json()["total"] == 77


def test_product_validation_and_conflicts(api, classic_db):
    # What the schema states (text, decimal strings) is checked first, all at once ...
    invalid = api.post("/api/products", json={
        "product_name": "", "unit_price": "1.23456", "units_in_stock": -1,
        "units_on_order": 2**40, "category_id": 99, "quantity_per_unit": "x" * 21})
    error = assert_error(invalid, 422, "validation_failed",
                         {"product_name", "unit_price", "quantity_per_unit"})
    assert error["fields"]["unit_price"] == "must have at most 4 decimal places"
    assert error["fields"]["quantity_per_unit"] == "must be at most 20 characters"
    # ... then the service's rules, all at once.
    invalid = api.post("/api/products", json={
        "product_name": "X", "unit_price": "1.2345", "units_in_stock": -1,
        "units_on_order": 2**40, "category_id": 99})
    error = assert_error(invalid, 422, "validation_failed", {"units_in_stock", "units_on_order"})
    assert error["fields"]["units_in_stock"] == "must be at least 0"
    negative = api.post("/api/products", json={"product_name": "X", "unit_price": "-0.01"})
    assert assert_error(negative, 422, "validation_failed", {"unit_price"})["fields"] == {
        "unit_price": "must be at least 0"}
    not_a_number = api.post("/api/products", json={"product_name": "X", "unit_price": "abc"})
    assert_error(not_a_number, 422, "validation_failed", {"unit_price"})
    huge = api.post("/api/products", content=b'{"product_name": "X", "unit_price": 1e400}',
                    headers={"content-type": "application/json"})
    assert_error(huge, 422, "validation_failed", {"unit_price"})
    # As a float this would be 12345678901234.568 and pass; read exactly it has 5 decimals.
    precise = api.post("/api/products", headers={"content-type": "application/json"},
                       content=b'{"product_name": "X", "unit_price": 12345678901234.56789}')
    assert assert_error(precise, 422, "validation_failed", {"unit_price"})["fields"] == {
        "unit_price": "must have at most 4 decimal places"}

    missing_refs = api.post("/api/products", json={"product_name": "X", "unit_price": 1,
                                                   "category_id": 99, "supplier_id": 999})
    error = assert_error(missing_refs, 422, "validation_failed", {"category_id", "supplier_id"})
    assert error["fields"]["category_id"] == "category 99 does not exist"

    blocked = api.delete("/api/products/1")
    error = assert_error(blocked, 409, "conflict")
    assert "38 order lines" in error["message"] and "discontinued" in error["message"]
    assert_error(api.put("/api/products/9999", json=NEW_PRODUCT), 404, "not_found")

    # Nothing above was written.
    assert api.get("/api/products").json()["total"] == 77
    with session_scope(classic_db) as session:
        chai = session.get(Product, 1)
        assert (chai.product_name, chai.unit_price) == ("Chai", Decimal("18.0000"))


def test_a_failed_write_changes_nothing(api, classic_db):
    # One field is fine, one is not: the whole PATCH is refused and nothing is stored.
    response = api.patch("/api/customers/ALFKI", json={"city": "Hamburg", "phone": "x" * 30})
    assert_error(response, 422, "validation_failed", {"phone"})
    response = api.patch("/api/products/1", json={"units_in_stock": 1, "supplier_id": 999})
    assert_error(response, 422, "validation_failed", {"supplier_id"})
    with session_scope(classic_db) as session:
        assert session.get(Customer, "ALFKI").city == "Berlin"
        assert session.get(Product, 1).units_in_stock == 39
