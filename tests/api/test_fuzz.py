"""Property-based run of Schemathesis against the API's own OpenAPI schema, over HTTP, on a
SQLite copy of the classic data, as the demo admin (who may call every endpoint). Bounded and
deterministic so that it takes about a minute: it fails on any 5xx, on any response (status,
content type, body) the schema does not describe, and on any request the schema forbids that
the API accepts anyway.

The schema is built in-process at collection time (it needs no database) so that each
operation is its own test; `test_served_schema_is_the_fuzzed_one` checks it is exactly what
the server publishes. (Schemathesis' lazy `from_fixture` loader does not work with pytest 9.)
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance, negative_data_rejection, not_a_server_error,
    response_schema_conformance, status_code_conformance,
)

from northwind_app.api.app import create_api
from northwind_app.data.classic import load_classic
from northwind_app.db.engine import get_engine
from northwind_app.services.validation import MAX_INT
from tests import dbutil
from tests.api.server import bearer, demo_tokens, serve

CONFIG = schemathesis.Config.from_dict({
    # Every request carries the admin's token (the 401s have their own tests): the fuzzer must
    # not generate Authorization headers of its own.
    "generation": {"max-examples": 100, "deterministic": True,
                   "with-security-parameters": False},
})
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """The server's URL and the admin's Authorization header."""
    db = dbutil.TestDatabase("sqlite", tmp_path_factory.mktemp("fuzz")).migrate()
    with get_engine(db.url).begin() as conn:
        load_classic(conn, dbutil.CLASSIC_DIR)
    admin = bearer(demo_tokens(db.url)["admin"])
    with serve(create_api(database_url=db.url)) as base_url:
        yield base_url, admin
    db.drop()


OPENAPI = create_api().openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)

# Orders: random ids and bodies would nearly always be 404 or 422. Half of the generated cases
# are steered to existing orders, customers, employees and products (only values the schema
# already accepts are replaced, so a negative case stays negative), so that replace, update,
# ship and delete also run for real, moving stock and versions.
ORDER_IDS = st.integers(10248, 11077)
CLASSIC = st.fixed_dictionaries({
    "customer_id": st.sampled_from(["VINET", "ALFKI", "QUICK", "HANAR"]),
    "employee_id": st.integers(1, 9),
    "ship_via": st.integers(1, 3),
    "product_ids": st.lists(st.integers(1, 77), unique=True, min_size=5, max_size=5),
    "quantities": st.lists(st.integers(1, 5), min_size=5, max_size=5),
})


def _is_int(value) -> bool:
    return type(value) is int and 1 <= value <= MAX_INT


def _with_classic_values(body: dict, real: dict) -> dict:
    body = dict(body)
    if isinstance(body.get("customer_id"), str):
        body["customer_id"] = real["customer_id"]
    for name in ("employee_id", "ship_via"):
        if _is_int(body.get(name)):
            body[name] = real[name]
    if isinstance(body.get("lines"), list) and len(body["lines"]) <= 5:
        body["lines"] = [
            {**line, **({"product_id": real["product_ids"][i]} if _is_int(line.get("product_id"))
                        else {}),
             **({"quantity": real["quantities"][i]} if _is_int(line.get("quantity")) else {})}
            if isinstance(line, dict) else line
            for i, line in enumerate(body["lines"])]
    return body


# The demo tokens are 1 (admin, the fuzzer's own), 2 (sales) and 3 (viewer): revoking the
# admin's would turn the rest of the run into 401s, so that one id is steered to the viewer's.
FUZZER_TOKEN_ID, VIEWER_TOKEN_ID = 1, 3


@schema.hook
def flatmap_path_parameters(ctx, path):
    if ctx.operation.path.startswith("/api/orders/{id}") and path and _is_int(path.get("id")):
        return st.one_of(st.just(path), ORDER_IDS.map(lambda order_id: {**path, "id": order_id}))
    if ctx.operation.path == "/api/tokens/{id}" and path and path.get("id") == FUZZER_TOKEN_ID:
        return st.just({**path, "id": VIEWER_TOKEN_ID})
    return st.just(path)


@schema.hook
def flatmap_body(ctx, body):
    if ctx.operation.path.startswith("/api/orders") and isinstance(body, dict):
        return st.one_of(st.just(body), CLASSIC.map(lambda real: _with_classic_values(body, real)))
    return st.just(body)


def test_served_schema_is_the_fuzzed_one(fuzz_server):
    base_url, admin = fuzz_server
    assert httpx.get(f"{base_url}/api/openapi.json").json() == OPENAPI
    # The fuzzer's token is the admin's token 1 (see FUZZER_TOKEN_ID).
    tokens = httpx.get(f"{base_url}/api/tokens", headers=admin).json()
    assert [token["token_id"] for token in tokens] == [FUZZER_TOKEN_ID]


@schema.parametrize()
def test_api_matches_its_schema(case, fuzz_server):
    base_url, admin = fuzz_server
    case.call_and_validate(base_url=base_url, checks=CHECKS, headers=admin)
