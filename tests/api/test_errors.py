"""Every failure answers the standard error body with the right status, never a stack trace:
400 malformed JSON, 404/405 unknown routes, 422 per-field validation, 500, 503."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from northwind_app.api.app import ApiFirst, create_api, in_front_of_reflex
from northwind_app.api.deps import get_session
from northwind_app.api.errors import field_path
from tests import aio
from tests.api.server import api_client, assert_error


def test_field_paths_are_readable():
    assert field_path(("body", "lines", 1, "quantity")) == "lines[1].quantity"
    assert field_path(("query", "limit")) == "limit"
    assert field_path(("path", "id")) == "id"
    assert field_path(("body",)) == "body"
    assert field_path(("body", 0)) == "[0]"


@pytest.mark.parametrize("body", [b'{"product_name": "X",', b"not json", b"\xff\xfe{}",
                                  b'{"product_name": "X", "unit_price": NaN}'])
def test_malformed_json_is_400(api_ro, body):
    response = api_ro.post("/api/products", content=body,
                           headers={"content-type": "application/json"})
    error = assert_error(response, 400, "malformed_json", set())
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("path", ["/api/nope", "/api/customers/ALFKI/colours", "/api", "/api/"])
def test_unknown_routes_under_api_are_404(api_ro, path):
    error = assert_error(api_ro.get(path), 404, "not_found", set())
    assert path in error["message"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/api/categories/1", "GET"),
    ("PUT", "/api/customers", "GET, POST"),
    ("POST", "/api/health", "GET"),
    ("POST", "/api/customers/ALFKI", "GET, PUT, PATCH, DELETE"),
])
def test_wrong_method_is_405_with_allow(api_ro, method, path, allow):
    response = api_ro.request(method, path, json={})
    assert_error(response, 405, "method_not_allowed", set())
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(("params", "fields"), [
    ({"limit": 0}, {"limit"}),
    ({"limit": 501}, {"limit"}),
    ({"limit": "ten"}, {"limit"}),
    ({"offset": -1}, {"offset"}),
    ({"sort": "colour"}, {"sort"}),
    ({"sort": "-"}, {"sort"}),
    ({"limit": 0, "sort": "colour", "stock": "plenty"}, {"limit", "sort", "stock"}),
    ({"category_id": "x", "discontinued": "maybe"}, {"category_id", "discontinued"}),
])
def test_bad_list_parameters_are_422_naming_each(api_ro, params, fields):
    error = assert_error(api_ro.get("/api/products", params=params), 422, "validation_failed",
                         fields)
    for name in fields:
        assert name in error["message"]


def test_sort_error_lists_the_allowed_fields(api_ro):
    error = assert_error(api_ro.get("/api/customers", params={"sort": "colour"}), 422,
                         "validation_failed", {"sort"})
    assert "company_name" in error["fields"]["sort"]


@pytest.mark.parametrize("path", ["/api/products/abc", "/api/products/0",
                                  "/api/employees/99999999999"])
def test_bad_path_ids_are_422(api_ro, path):
    assert_error(api_ro.get(path), 422, "validation_failed", {"id"})


def test_body_validation_names_each_field(api_ro):
    # Type errors are found before the service runs; all of them at once.
    response = api_ro.post("/api/products", json={"unit_price": "1", "units_in_stock": "many",
                                                  "discontinued": "perhaps", "colour": "red"})
    error = assert_error(response, 422, "validation_failed",
                         {"product_name", "units_in_stock", "discontinued", "colour"})
    assert error["fields"]["product_name"] == "is required"
    assert error["fields"]["colour"] == "is not a field that can be set"
    not_an_object = api_ro.post("/api/customers", json=["ALFKI"])
    assert_error(not_an_object, 422, "validation_failed", {"body"})


def test_api_in_front_of_a_mounted_frontend(classic_db_ro):
    # Our api_transformer puts the API in front of Reflex's app: /api stays the API's.
    app = in_front_of_reflex(create_api(database_url=classic_db_ro))(Starlette(routes=[
        Route("/{path:path}", lambda request: PlainTextResponse("frontend"), methods=["GET"]),
    ]))
    with api_client(classic_db_ro, app) as client:
        assert client.get("/orders/new").text == "frontend"
        assert client.get("/apis").text == "frontend"
        assert client.get("/api/customers/ALFKI").json()["customer_id"] == "ALFKI"
        assert_error(client.get("/api/nope"), 404, "not_found", set())
        response = client.delete("/api/categories/1")
        assert_error(response, 405, "method_not_allowed", set())
        assert response.headers["allow"] == "GET"


def test_only_api_paths_reach_the_api():
    seen = []

    def app(name):
        async def asgi(scope, receive, send):
            seen.append((name, scope["type"], scope["path"]))
        return asgi

    first = ApiFirst(app("api"), app("reflex"))
    for kind, path, root in (("http", "/api", ""), ("http", "/api/orders", ""),
                             ("http", "/nw/api/orders", "/nw"), ("http", "/apiary", ""),
                             ("http", "/", ""), ("http", "/_upload/x", ""),
                             ("websocket", "/_event/", ""), ("lifespan", "", "")):
        aio.run(first({"type": kind, "path": path, "root_path": root}, None, None))
    assert seen == [("api", "http", "/api"), ("api", "http", "/api/orders"),
                    ("api", "http", "/nw/api/orders"), ("reflex", "http", "/apiary"),
                    ("reflex", "http", "/"), ("reflex", "http", "/_upload/x"),
                    ("reflex", "websocket", "/_event/"), ("reflex", "lifespan", "")]


def test_database_unreachable_is_503(api_down):
    for response in (api_down.get("/api/health"), api_down.get("/api/customers"),
                     api_down.get("/api/products/1"),
                     api_down.post("/api/customers", json={"customer_id": "NEWCO",
                                                            "company_name": "New Co"})):
        error = assert_error(response, 503, "database_unavailable", set())
        assert "127.0.0.1" not in error["message"]


def test_unexpected_errors_are_500_without_internals(classic_db_ro, caplog):
    async def broken_session():
        raise RuntimeError("secret internals: password=hunter2")

    app = create_api(database_url=classic_db_ro)
    app.dependency_overrides[get_session] = broken_session
    with (caplog.at_level("ERROR", logger="northwind_app.api"),
          api_client(classic_db_ro, app) as client):
        response = client.get("/api/customers")
        error = assert_error(response, 500, "internal_error", set())
        assert "secret" not in response.text and "hunter2" not in response.text
        assert "logged" in error["message"]
        assert client.get("/api/categories/1").status_code == 500
    assert any("secret internals" in str(record.exc_info[1]) for record in caplog.records
               if record.exc_info)


def test_every_request_ends_its_database_session(classic_db):
    """Sessions are begun and ended in the endpoint's worker thread (deps.run_with_sessions):
    after successes, refusals and failures alike no connection is left checked out, a failed
    write leaves nothing behind, and a successful one is committed."""
    from northwind_app.db.engine import get_engine

    pools = [get_engine(classic_db).pool, get_engine(classic_db, read_only=True).pool]
    with api_client(classic_db) as client:
        assert client.get("/api/orders", params={"limit": 5}).status_code == 200
        assert client.get("/api/orders/10248").status_code == 200
        assert client.get("/api/orders/1").status_code == 404
        assert client.get("/api/health").status_code == 200  # the dependency's own path
        refused = client.patch("/api/customers/ALFKI",
                               json={"company_name": "Renamed", "country": "x" * 100})
        assert refused.status_code == 422
        assert client.get("/api/customers/ALFKI").json()["company_name"] != "Renamed"
        # A write the service refuses after it began writing: nothing of it stays.
        order = client.get("/api/orders/10248").json()
        lines = [{"product_id": line["product_id"], "quantity": line["quantity"]}
                 for line in order["lines"]] + [{"product_id": 1, "quantity": 10 ** 5}]
        assert client.patch("/api/orders/10248", json={"lines": lines}).status_code == 409
        assert client.get("/api/orders/10248").json()["lines"] == order["lines"]
        changed = client.patch("/api/customers/ALFKI", json={"company_name": "Renamed"})
        assert changed.status_code == 200
        assert client.get("/api/customers/ALFKI").json()["company_name"] == "Renamed"
        assert [pool.checkedout() for pool in pools] == [0, 0]
