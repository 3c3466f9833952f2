"""Findings of the outside test (issue #20) that the Schemathesis run (test_fuzz.py) found or
would find, pinned as plain requests on both backends: every unknown path is the JSON 404,
fixed paths answer other methods with 405, a role is refused before the body is read, the
schema states what the server enforces (and the server what the schema states)."""

from __future__ import annotations

import re

import pytest

from northwind_app.api import orders
from northwind_app.api.app import create_api
from northwind_app.api.schemas import REQUIRED_TEXT
from tests.api.server import assert_error, bearer

OPENAPI = create_api().openapi()


@pytest.mark.parametrize("path", [
    "/api/orders/1%0A", "/api/orders/10248%0A", "/api/me%0A", "/api/health%0A",
    "/api/x%0Ay", "/api/openapi.json%0A", "/api%0A",
])
def test_paths_with_a_newline_are_the_json_404(api_ro, path):
    assert_error(api_ro.get(path), 404, "not_found", set())


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_fixed_paths_answer_other_methods_with_405(api_ro, method):
    response = api_ro.request(method, "/api/orders/export.csv", json={})
    assert_error(response, 405, "method_not_allowed", set())
    assert response.headers["allow"] == "GET"


def test_path_ids_are_digits_only(api_ro):
    for path in ("/api/orders/%2010248", "/api/orders/10248%20/history", "/api/orders/1e3",
                 "/api/orders/10248%0A/history"):
        assert_error(api_ro.get(path), 422, "validation_failed", {"id"})


def test_a_viewer_is_refused_before_the_body_is_read(api_ro, tokens_ro):
    viewer = bearer(tokens_ro["viewer"])
    me = api_ro.get("/api/me", headers=viewer).json()["user_id"]
    admin = api_ro.get("/api/me", headers=bearer(tokens_ro["admin"])).json()["user_id"]
    for body in ({}, {"new_password": 5}, [], {"colour": "red"}):
        # Someone else's password: 403, whatever was sent (it was 422 for a bad body).
        assert_error(api_ro.put(f"/api/users/{admin}/password", json=body, headers=viewer), 403,
                     "forbidden")
    # Their own: the body is read.
    assert_error(api_ro.put(f"/api/users/{me}/password", json={}, headers=viewer), 422,
                 "validation_failed", {"new_password"})


def test_integral_json_numbers_are_integers(api_ro):
    # JSON Schema's "integer" includes 42.0; it was refused ("a valid integer").
    created = api_ro.post("/api/tokens", json={"name": "ci", "expires_days": 42.0})
    assert created.status_code == 201, created.text
    assert_error(api_ro.post("/api/tokens", json={"name": "ci", "expires_days": 42.5}), 422,
                 "validation_failed", {"expires_days"})


def _schema(name: str) -> dict:
    return OPENAPI["components"]["schemas"][name]


def test_the_schema_states_the_servers_limits(api_ro):
    customer = _schema("CustomerFields")["properties"]["company_name"]
    assert customer["maxLength"] == 40 and customer["pattern"] == REQUIRED_TEXT
    assert "company_name" in _schema("CustomerFields")["required"]
    assert _schema("NewToken")["properties"]["name"]["pattern"] == REQUIRED_TEXT
    # PATCH bodies keep the limits of the full ones.
    assert _schema("ProductChanges")["properties"]["category_id"]["minimum"] == 1
    assert _schema("OrderChanges")["properties"]["lines"]["minItems"] == 1
    line = _schema("LineIn")["properties"]
    assert (line["quantity"]["minimum"], line["quantity"]["maximum"]) == (1, 100_000)
    if_match = next(p for p in OPENAPI["paths"]["/api/orders/{id}"]["put"]["parameters"]
                    if p["name"] == "if-match")
    assert if_match["schema"]["pattern"] == orders.IF_MATCH_PATTERN
    after = next(p for p in OPENAPI["paths"]["/api/orders"]["get"]["parameters"]
                 if p["name"] == "after")
    assert after["schema"]["anyOf"][0]["pattern"] == orders.CURSOR_PATTERN
    # ... and the server refuses what the schema forbids, naming the field.
    for blank in ("", "   ", "\u3000", "a\x00b"):
        assert not re.search(REQUIRED_TEXT, blank)
        assert_error(api_ro.post("/api/customers", json={"customer_id": "NWTRD",
                                                         "company_name": blank}),
                     422, "validation_failed", {"company_name"})
    for tag in ("latest", '"3', "W/3", "3 4"):
        assert not re.fullmatch(orders.IF_MATCH_PATTERN, tag)
        assert_error(api_ro.delete("/api/orders/10248", headers={"If-Match": tag}), 422,
                     "validation_failed", {"If-Match"})
    assert_error(api_ro.get("/api/orders", params={"after": "not a cursor!"}), 422,
                 "validation_failed", {"after"})
