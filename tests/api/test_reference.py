"""Read endpoints over HTTP on the classic data, on SQLite and MariaDB: lists (paging,
sorting, searching, filters), details with their figures, money as exact strings."""

from __future__ import annotations

import pytest

from tests.api.server import assert_error

LIST_TOTALS = {"customers": 91, "products": 77, "employees": 9, "suppliers": 29,
               "categories": 8, "shippers": 3}


@pytest.mark.parametrize(("entity", "total"), LIST_TOTALS.items())
def test_every_list_pages_with_the_shared_envelope(api_ro, entity, total):
    first = api_ro.get(f"/api/{entity}", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"items", "total", "limit", "offset", "next_cursor"}
    assert body["next_cursor"] is None  # only the orders list pages by cursor
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (total, 2, 0, 2)
    default = api_ro.get(f"/api/{entity}").json()
    assert (default["limit"], len(default["items"])) == (25, min(25, total))
    last = api_ro.get(f"/api/{entity}", params={"limit": 500, "offset": total - 1}).json()
    assert (last["total"], len(last["items"])) == (total, 1)
    beyond = api_ro.get(f"/api/{entity}", params={"offset": total + 10}).json()
    assert (beyond["total"], beyond["items"]) == (total, [])


@pytest.mark.parametrize(("entity", "id_field", "first_id"), [
    ("customers", "customer_id", "ALFKI"), ("products", "product_id", 1),
    ("employees", "employee_id", 1), ("suppliers", "supplier_id", 1),
    ("categories", "category_id", 1), ("shippers", "shipper_id", 1),
])
def test_every_entity_sorts_by_id_both_ways_and_has_a_detail(api_ro, entity, id_field, first_id):
    ascending = api_ro.get(f"/api/{entity}", params={"sort": id_field, "limit": 500}).json()
    ids = [item[id_field] for item in ascending["items"]]
    assert ids == sorted(ids) and ids[0] == first_id
    descending = api_ro.get(f"/api/{entity}", params={"sort": f"-{id_field}", "limit": 500}).json()
    assert [item[id_field] for item in descending["items"]] == ids[::-1]
    detail = api_ro.get(f"/api/{entity}/{first_id}")
    assert detail.status_code == 200
    assert detail.json()[id_field] == first_id


@pytest.mark.parametrize("path", ["/api/customers/ZZZZZ", "/api/products/9999",
                                  "/api/employees/99", "/api/suppliers/999",
                                  "/api/categories/99", "/api/shippers/99"])
def test_unknown_ids_are_404(api_ro, path):
    error = assert_error(api_ro.get(path), 404, "not_found", set())
    assert "does not exist" in error["message"]


def test_customer_list_search_filter_and_sort(api_ro):
    found = api_ro.get("/api/customers", params={"q": "berlin"}).json()
    assert [c["customer_id"] for c in found["items"]] == ["ALFKI"]
    assert api_ro.get("/api/customers", params={"q": "alfk"}).json()["total"] == 1  # the id
    assert api_ro.get("/api/customers", params={"q": "Maria Anders"}).json()["total"] == 1
    assert api_ro.get("/api/customers", params={"q": "%"}).json()["total"] == 0  # literal %
    germany = api_ro.get("/api/customers", params={"country": "Germany", "limit": 100}).json()
    assert germany["total"] == 11
    assert {c["country"] for c in germany["items"]} == {"Germany"}
    by_id = api_ro.get("/api/customers", params={"sort": "-customer_id", "limit": 2}).json()
    assert [c["customer_id"] for c in by_id["items"]] == ["WOLZA", "WILMK"]
    combined = api_ro.get("/api/customers", params={"country": "Germany", "q": "berlin"}).json()
    assert combined["total"] == 1
    assert set(found["items"][0]) == {"customer_id", "company_name", "contact_name",
                                      "contact_title", "city", "region", "country", "phone"}


def test_customer_detail_has_exact_order_figures(api_ro):
    alfki = api_ro.get("/api/customers/ALFKI").json()
    assert alfki["company_name"] == "Alfreds Futterkiste"
    assert alfki["region"] is None
    assert (alfki["order_count"], alfki["revenue"]) == (6, "4273.00")
    assert (alfki["first_order_date"], alfki["last_order_date"]) == ("1997-08-25", "1998-04-09")
    # Ids are case-insensitive; 110277.305 rounds half up to cents only when sent.
    quick = api_ro.get("/api/customers/quick").json()
    assert (quick["customer_id"], quick["order_count"], quick["revenue"]) == ("QUICK", 28,
                                                                            "110277.31")
    never_ordered = api_ro.get("/api/customers/FISSA").json()
    assert never_ordered["order_count"] == 0
    assert never_ordered["revenue"] == "0.00"
    assert never_ordered["first_order_date"] is None and never_ordered["last_order_date"] is None


def test_product_list_money_names_and_filters(api_ro):
    def ids(**params):
        body = api_ro.get("/api/products", params={"limit": 500, **params}).json()
        return sorted(p["product_id"] for p in body["items"])

    chai = api_ro.get("/api/products", params={"q": "chai"}).json()["items"][0]
    assert chai == {"product_id": 1, "product_name": "Chai", "supplier_id": 1,
                    "supplier_name": "Exotic Liquids", "category_id": 1,
                    "category_name": "Beverages", "quantity_per_unit": "10 boxes x 20 bags",
                    "unit_price": "18.00", "units_in_stock": 39, "units_on_order": 0,
                    "reorder_level": 10, "discontinued": False}
    assert ids(stock="out_of_stock") == [5, 17, 29, 31, 53]
    # One rule (services.products.stock_level): the five out of stock are not also "low".
    assert len(ids(stock="low_stock")) == 17
    assert not set(ids(stock="low_stock")) & set(ids(stock="out_of_stock"))
    assert len(ids(stock="in_stock")) == 72
    assert len(ids(discontinued="true")) == 8
    assert len(ids(discontinued="false")) == 69
    assert len(ids(category_id=1)) == 12
    assert len(ids(supplier_id=7)) == 5
    assert ids(category_id=1, supplier_id=1) == [1, 2]
    priciest = api_ro.get("/api/products", params={"sort": "-unit_price", "limit": 1}).json()
    assert [(p["product_id"], p["unit_price"]) for p in priciest["items"]] == [(38, "263.50")]
    cheapest = api_ro.get("/api/products", params={"sort": "unit_price", "limit": 1}).json()
    assert cheapest["items"][0]["unit_price"] == "2.50"


def test_product_detail_has_sales(api_ro):
    chai = api_ro.get("/api/products/1").json()
    assert (chai["unit_price"], chai["order_count"], chai["units_sold"], chai["revenue"]) == (
        "18.00", 38, 828, "12788.10")
    assert (chai["category_name"], chai["supplier_name"]) == ("Beverages", "Exotic Liquids")


def test_employees_with_managers(api_ro):
    buchanan = api_ro.get("/api/employees/5").json()
    assert (buchanan["first_name"], buchanan["last_name"], buchanan["title"]) == (
        "Steven", "Buchanan", "Sales Manager")
    assert (buchanan["reports_to"], buchanan["manager_name"]) == (2, "Andrew Fuller")
    assert buchanan["direct_reports"] == 3
    assert buchanan["hire_date"] == "1993-10-17"
    assert "photo_path" not in buchanan
    fuller = api_ro.get("/api/employees/2").json()
    assert (fuller["reports_to"], fuller["manager_name"], fuller["direct_reports"]) == (
        None, None, 5)
    team = api_ro.get("/api/employees", params={"reports_to": 5}).json()
    assert sorted(e["employee_id"] for e in team["items"]) == [6, 7, 9]
    assert {e["manager_name"] for e in team["items"]} == {"Steven Buchanan"}
    managers = api_ro.get("/api/employees", params={"q": "manager"}).json()
    assert [e["employee_id"] for e in managers["items"]] == [5]
    uk = api_ro.get("/api/employees", params={"country": "UK", "sort": "employee_id"}).json()
    assert [e["employee_id"] for e in uk["items"]] == [5, 6, 7, 9]


def test_suppliers_categories_shippers(api_ro):
    exotic = api_ro.get("/api/suppliers/1").json()
    assert (exotic["company_name"], exotic["country"], exotic["product_count"]) == (
        "Exotic Liquids", "UK", 3)
    uk = api_ro.get("/api/suppliers", params={"country": "UK", "sort": "supplier_id"}).json()
    assert [s["supplier_id"] for s in uk["items"]] == [1, 8]
    assert api_ro.get("/api/suppliers", params={"q": "exotic"}).json()["total"] == 1

    beverages = api_ro.get("/api/categories/1").json()
    assert (beverages["category_name"], beverages["product_count"]) == ("Beverages", 12)
    names = [c["category_name"] for c in api_ro.get("/api/categories").json()["items"]]
    assert names[:2] == ["Beverages", "Condiments"] and len(names) == 8
    assert api_ro.get("/api/categories", params={"q": "cheese"}).json()["total"] == 1

    speedy = api_ro.get("/api/shippers/1").json()
    assert (speedy["company_name"], speedy["order_count"]) == ("Speedy Express", 249)
    assert [s["shipper_id"] for s in api_ro.get("/api/shippers", params={"sort": "-shipper_id"})
            .json()["items"]] == [3, 2, 1]


def test_health_reports_the_backend(api_ro, classic_db_ro):
    response = api_ro.get("/api/health")
    assert response.status_code == 200
    dialect = "sqlite" if classic_db_ro.startswith("sqlite") else "mysql"
    assert response.json() == {"status": "ok", "database": {"status": "ok", "dialect": dialect}}


def test_openapi_and_docs_are_served(api_ro):
    spec = api_ro.get("/api/openapi.json").json()
    assert {"/api/health", "/api/customers", "/api/customers/{id}", "/api/products",
            "/api/products/{id}", "/api/employees", "/api/employees/{id}", "/api/suppliers",
            "/api/suppliers/{id}", "/api/categories", "/api/categories/{id}", "/api/shippers",
            "/api/shippers/{id}", "/api/orders", "/api/orders/export.csv",
            "/api/orders/customer/{customer_id}", "/api/orders/employee/{employee_id}",
            "/api/orders/{id}", "/api/orders/{id}/ship", "/api/orders/{id}/cancel",
            "/api/orders/{id}/history",
            "/api/customers/{id}/history", "/api/products/{id}/history", "/api/me",
            "/api/tokens", "/api/tokens/{id}", "/api/users", "/api/users/{id}",
            "/api/users/{id}/password", "/api/users/{id}/tokens", "/api/audit",
            } == set(spec["paths"])
    schemas = spec["components"]["schemas"]
    for body in ("NewCustomer", "CustomerFields", "CustomerChanges", "ProductFields",
                 "ProductChanges", "NewOrder", "OrderReplacement", "OrderChanges", "LineIn",
                 "ShipIn", "CancelIn", "NewToken", "NewUser", "UserChanges", "PasswordChange"):
        assert schemas[body]["examples"], body
    # The bearer scheme (the Authorize button of /api/docs) on every operation but health.
    assert spec["components"]["securitySchemes"]["apiToken"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "nwt_…",
        "description": spec["components"]["securitySchemes"]["apiToken"]["description"]}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            expected = None if path == "/api/health" else [{"apiToken": []}]
            assert operation.get("security") == expected, (method, path)
    assert schemas["ProductItem"]["properties"]["unit_price"]["type"] == "string"
    docs = api_ro.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
