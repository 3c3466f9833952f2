"""The API conforms to its own OpenAPI schema: Schemathesis with every one of its checks, over
HTTP, on its own SQLite copy of the classic data (the fuzzer writes), with real API tokens.

- `test_api_matches_its_schema`: every operation as the demo admin (who may call them all),
  with examples, coverage and fuzzing cases. Every check: no 5xx; status codes, content types,
  headers and bodies as documented; every request the schema forbids refused (4xx); every
  request it allows accepted (but see BEYOND_SCHEMA); undeclared methods 405 with `Allow`;
  tokens enforced (the request is re-sent without one); and the checks that need a scenario.
- `test_api_workflows`: Schemathesis' stateful phase (links inferred from `Location` and ids:
  create, then read, change, delete), where the scenario checks (use after delete, a created
  resource is available) apply, with every check. Each scenario starts from the database as
  it was before the module's first request (so Hypothesis can replay it, alone or after the
  other tests).
- `test_viewer_may_not_write`: every write operation as the demo viewer, every check plus:
  the answer is 403 whatever the body (the role is checked before the body is read), except
  for what a viewer may do (create a token, set their own password and number format).

Deterministic (Hypothesis derandomized, no example database) and bounded (MAX_EXAMPLES per
operation, STEPS per stateful scenario) so that the module takes a few minutes on 2 cores.

The schema is built in-process at collection time (it needs no database) so that each
operation is its own test; `test_served_schema_is_the_fuzzed_one` checks it is exactly what
the server publishes. (Schemathesis' lazy `from_fixture` loader does not work with pytest 9.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData

from northwind_app.api.app import create_api
from northwind_app.services import auth
from northwind_app.services.validation import MAX_INT
from tests import dbutil
from tests.api.server import bearer, demo_tokens, serve

MAX_EXAMPLES = 60  # per operation and phase: the module takes about 2 minutes of CPU
STEPS = 8  # API calls per stateful scenario
SCENARIOS = 40

CONFIG = schemathesis.Config.from_dict({
    # Every request carries a demo user's token (the 401s have their own tests, and the
    # ignored_auth check re-sends requests without it): the fuzzer must not generate
    # Authorization headers of its own.
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                   "with-security-parameters": False},
})

load_all_checks()
# Every check Schemathesis has (none is left out; the few that need a scenario only act in
# test_api_workflows). `object_level_authorization` compares identities configured in
# Schemathesis' auth settings; our cross-user rules are tested in tests/api/test_security.py.
ALL_CHECKS = CHECKS.get_all()
assert len(ALL_CHECKS) >= 14, [check.__name__ for check in ALL_CHECKS]

# What a correct server refuses (422) although the request matches the schema: each rule
# depends on stored data or compares two values of one request, which JSON Schema cannot
# state (the schema's descriptions say each). Only "schema-valid request rejected" failures
# whose 422 names nothing but these are dropped; any other failure, and any 422 naming one
# more field, stands.
BEYOND_SCHEMA = {
    # Stored data: the row an id refers to must exist (and a product must be on sale).
    r"^no (customer|employee|shipper|product) with id .+$": "reference",
    r"^(employee|supplier|category) \d+ does not exist$": "reference",
    r" is discontinued and cannot be added to an order$": "reference",
    # Stored data: unique usernames; the caller's own current password.
    r"^'.+' is already taken$": "uniqueness",
    r"^is not your current password$": "secret",
    # The caller's account: employee_id may be left out only by a user linked to one.
    r"^is required \(your account is not linked to an employee\)$": "account",
    # A cursor is a page's next_cursor, which only the server makes; cursors page only some
    # sorts, and not with an offset (rules between two parameters).
    r"^is not a cursor of this list and sort": "cursor",
    r"^cursor paging needs a sort by one of": "two parameters",
    r"^cannot be combined with after": "two parameters",
    # Comparisons of two values of the request.
    r"^must not be before (date_from|the order date)$": "two values",
    r"^is -?\d+ but If-Match says \d+$": "two values",
    r"^must not be the username$": "two values",
    # Each product once per order: uniqueItems compares whole lines, not one of their fields.
    r"^this product is already on line \d+": "uniqueness within the list",
    # Decimals of a JSON *number* (decimal strings have a pattern): multipleOf 0.0001 cannot
    # be checked on binary floating point (0.0003 / 0.0001 = 2.9999999999999996).
    r"^must have at most 4 decimal places$": "decimals of a number",
}
_BEYOND = [re.compile(pattern) for pattern in BEYOND_SCHEMA]


def beyond_schema(response) -> bool:
    """A 422 whose every field names a rule in BEYOND_SCHEMA."""
    if response.status_code != 422:
        return False
    fields = response.json().get("error", {}).get("fields") or {}
    return bool(fields) and all(any(rule.search(message) for rule in _BEYOND)
                                for message in fields.values())


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory) -> Iterator[tuple[dbutil.TestDatabase, Path]]:
    """The fuzz server's own SQLite database (the classic data and the demo users' tokens),
    which the fuzzer changes, and a copy of it as it was before any request."""
    folder = tmp_path_factory.mktemp("fuzz")
    db = dbutil.TestDatabase("sqlite", folder).classic()
    demo_tokens(db.url)
    start = folder / "start.db"
    dbutil.copy_sqlite(db.path, start)
    yield db, start
    db.drop()


@pytest.fixture(scope="module")
def fuzz_server(fuzz_db) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """The server's URL and the admin's and the viewer's Authorization headers."""
    db, _start = fuzz_db
    tokens = demo_tokens(db.url)
    with serve(create_api(database_url=db.url)) as base_url:
        yield base_url, bearer(tokens["admin"]), bearer(tokens["viewer"])


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


def _is_customer_id(value) -> bool:
    return isinstance(value, str) and re.fullmatch("[A-Za-z]{5}", value) is not None


def _with_classic_values(body: dict, real: dict) -> dict:
    body = dict(body)
    if _is_customer_id(body.get("customer_id")):
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


# The demo users are 1 (admin), 2 (sales) and 3 (viewer), with tokens 1, 2 and 3. The admin's
# own token and account are kept working for the whole run: revoking token 1, or demoting or
# deactivating user 1 (once the fuzzer has made another admin), would turn the rest of the run
# into 401s and 403s. So those ids are steered to the sales user's.
ADMIN_ID, SALES_ID, VIEWER_ID = 1, 2, 3


@schema.hook
def flatmap_path_parameters(ctx, path):
    operation = ctx.operation
    if operation.path.startswith("/api/orders/{id}") and path and _is_int(path.get("id")):
        return st.one_of(st.just(path), ORDER_IDS.map(lambda order_id: {**path, "id": order_id}))
    if path and path.get("id") == ADMIN_ID and (
            operation.path == "/api/tokens/{id}"
            or (operation.path == "/api/users/{id}" and operation.method.upper() == "PATCH")):
        return st.just({**path, "id": SALES_ID})
    return st.just(path)


@schema.hook
def flatmap_body(ctx, body):
    if ctx.operation.path.startswith("/api/orders") and isinstance(body, dict):
        return st.one_of(st.just(body), CLASSIC.map(lambda real: _with_classic_values(body, real)))
    return st.just(body)


@schema.hook
def filter_failure(ctx, failure, case, response):
    """Keep every failure but the "schema-valid request rejected" ones of BEYOND_SCHEMA."""
    return not (isinstance(failure, RejectedPositiveData) and beyond_schema(response))


def test_beyond_schema_only_passes_422s_naming_rules_the_schema_cannot_state():
    def answer(status, fields):
        return httpx.Response(status, json={"error": {"code": "x", "message": "x",
                                                      "fields": fields}})

    assert beyond_schema(answer(422, {"customer_id": "no customer with id 'AAAAA'"}))
    assert beyond_schema(answer(422, {"date_to": "must not be before date_from",
                                      "after": "is not a cursor of this list and sort; ..."}))
    # One more field the schema could have stated: the failure stands.
    assert not beyond_schema(answer(422, {"date_to": "must not be before date_from",
                                          "name": "is required"}))
    assert not beyond_schema(answer(422, {"customer_id": "must be exactly 5 letters A-Z"}))
    assert not beyond_schema(answer(422, {}))
    assert not beyond_schema(answer(409, {"customer_id": "no customer with id 'AAAAA'"}))


def test_served_schema_is_the_fuzzed_one(fuzz_server):
    base_url, admin, _viewer = fuzz_server
    assert httpx.get(f"{base_url}/api/openapi.json").json() == OPENAPI
    tokens = httpx.get(f"{base_url}/api/tokens", headers=admin).json()
    assert [token["token_id"] for token in tokens] == [ADMIN_ID]
    me = httpx.get(f"{base_url}/api/me", headers=admin).json()
    viewer = httpx.get(f"{base_url}/api/me", headers=_viewer).json()
    assert (me["user_id"], viewer["user_id"]) == (ADMIN_ID, VIEWER_ID)


# --- the viewer: every write refused, whatever is sent ----------------------------------------
# (First, while the viewer's account is as the demo made it: the admin's run changes users.)

# What a viewer may write: a token for themselves, their own password, their own screens'
# number format. Revoking a token is for its owner (anyone else's is 404), so it is no
# question of role (test_security.py).
VIEWER_MAY = {("POST", "/api/tokens"), ("PUT", "/api/users/{id}/password"),
              ("PATCH", "/api/me")}


def viewer_is_refused(ctx, response, case) -> None:
    """A write by a viewer is 403, unless the request never reached the operation (another
    method was probed, or its path parameter made another path: the catch-all's 404 or
    405)."""
    operation = (case.operation.method.upper(), case.operation.path)
    if response.request.method.upper() != operation[0]:  # an undeclared method, probed: 405
        return
    own_id = str((case.path_parameters or {}).get("id")) == str(VIEWER_ID)
    if operation in VIEWER_MAY and (operation[1] != "/api/users/{id}/password" or own_id):
        return
    if response.status_code in (404, 405) and response.json()["error"]["message"].startswith(
            ("There is no API endpoint", f"{operation[0]} is not allowed here")):
        return
    assert response.status_code == 403, (
        f"a viewer's {operation[0]} {case.formatted_path} answered {response.status_code}, "
        f"not 403: {response.text[:300]}")


writes = schema.include(method=["POST", "PUT", "PATCH", "DELETE"]).exclude(
    method="DELETE", path="/api/tokens/{id}")


@writes.parametrize()
def test_viewer_may_not_write(case, fuzz_server):
    base_url, _admin, viewer = fuzz_server
    case.call_and_validate(base_url=base_url, checks=[*ALL_CHECKS, viewer_is_refused],
                           headers=viewer)


# --- the admin: every operation ---------------------------------------------------------------

@schema.parametrize()
def test_api_matches_its_schema(case, fuzz_server):
    base_url, admin, _viewer = fuzz_server
    case.call_and_validate(base_url=base_url, checks=ALL_CHECKS, headers=admin)


def test_api_workflows(fuzz_server, fuzz_db):
    base_url, admin, _viewer = fuzz_server
    db, start = fuzz_db

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Every scenario starts from the same data. Which rules a scenario may take next
            # depends on its responses so far (a step links from a 201, a 200 or a 204), and
            # Hypothesis replays a scenario's choices to shrink it or to check a failure:
            # on data left by earlier scenarios (a user made, an order deleted) the replay
            # takes other rules, and the run ends in FlakyStrategyDefinition whatever it found.
            dbutil.copy_sqlite(start, db.path)
            auth.token_cache.forget()  # the server runs in this process

        def before_call(self, case):
            # A link through a list's wildcard (`GET /api/users` → `items/*/employee_id` →
            # `GET /api/employees/{id}`) may pick an item's null, which Schemathesis puts in the
            # path as "None" yet still counts as a positive case. Null is no integer: the
            # request is a negative case, which must be refused (it is, 422).
            if None in (case.path_parameters or {}).values():
                case.meta.generation.mode = GenerationMode.NEGATIVE

        def get_call_kwargs(self, case):
            return {"base_url": base_url, "headers": admin}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Every check, as the other tests (the default is the configured set, also all),
            # but "use after free" on a record's history: a deleted record's history stays
            # readable by design (its last entry says who deleted it and when; the screens'
            # "deleted by …" message reads it).
            checks = ALL_CHECKS if not case.path.endswith("/history") else [
                check for check in ALL_CHECKS if check.__name__ != "use_after_free"]
            case.validate_response(response, checks=checks, transport_kwargs=kwargs,
                                   recorder=self.recorder)

    Workflow.run(settings=hypothesis.settings(
        max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True, database=None,
        deadline=None, suppress_health_check=list(hypothesis.HealthCheck)))
