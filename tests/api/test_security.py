"""Authentication and authorisation over HTTP on both backends: every endpoint but health needs
a valid API token (401 before any body is read), each role may do exactly what the services
allow (403 before any body is read), and a token is shown once and dies when revoked."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select, update

from northwind_app.api.app import create_api
from northwind_app.api.security import CurrentActor
from northwind_app.db.engine import session_scope
from northwind_app.db.models import ApiToken, AuditEntry
from northwind_app.services import auth, users
from northwind_app.services.auth import SYSTEM
from tests.api.server import UNKNOWN_TOKEN, api_client, assert_error, bearer

SAMPLE_PATH_VALUES = {"id": "1", "customer_id": "ALFKI", "employee_id": "1"}
OPEN_PATHS = {"/api/health"}


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path with sample ids, has a request body) of every documented operation."""
    found = []
    for path, operations in create_api().openapi()["paths"].items():
        if path in OPEN_PATHS:
            continue
        concrete = path.format(**SAMPLE_PATH_VALUES)
        for method, operation in operations.items():
            found.append((method.upper(), concrete, "requestBody" in operation))
    return found


OPERATIONS = _operations()


def _token(session, username: str, *, expires_days: int | None = None) -> tuple[str, int]:
    user = users.find_user(session, username)
    token, view = users.create_api_token(session, SYSTEM, user.user_id, "test", expires_days)
    return token, view.token_id


def _rejected_tokens(url: str) -> dict[str, str]:
    """A token in each state that must not authenticate, made through the services."""
    with session_scope(url, write=True) as session:
        revoked, revoked_id = _token(session, "admin")
        users.revoke_api_token(session, SYSTEM, revoked_id)
        expired, expired_id = _token(session, "admin", expires_days=1)
        session.execute(update(ApiToken).where(ApiToken.token_id == expired_id).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        users.create_user(session, SYSTEM, {"username": "leaver", "password": "a long password",
                                            "role": "admin"})
        deactivated, _ = _token(session, "leaver")
        users.update_user(session, SYSTEM, users.find_user(session, "leaver").user_id,
                          {"active": False})
    return {"unknown": UNKNOWN_TOKEN, "revoked": revoked, "expired": expired,
            "deactivated": deactivated}


def _audit_count(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def test_every_endpoint_but_health_needs_a_valid_token(api, classic_db, tokens):
    assert {("GET", "/api/me"), ("DELETE", "/api/orders/1"), ("GET", "/api/audit"),
            ("PUT", "/api/users/1/password")} <= {(m, p) for m, p, _ in OPERATIONS}
    rejected = _rejected_tokens(classic_db)
    before = _audit_count(classic_db)
    headers = {
        "no header": {},
        "empty header": {"Authorization": ""},
        "other scheme": {"Authorization": f"Basic {tokens['admin']}"},
        "no token": {"Authorization": "Bearer"},
        "two tokens": {"Authorization": f"Bearer {tokens['admin']} {tokens['admin']}"},
        **{name: bearer(token) for name, token in rejected.items()},
    }
    messages = {}
    for method, path, has_body in OPERATIONS:
        for case, header in headers.items():
            # Bodies that would be a 400 (not JSON) or a 422 (not the schema) if they were read.
            body = b'{"not": json' if case.startswith("no") else b'{"colour": "red"}'
            request = api.build_request(method, path, content=body if has_body else None,
                                        headers={"content-type": "application/json"})
            request.headers.pop("authorization", None)  # the client's default admin token
            request.headers.update(header)
            response = api.send(request)
            error = assert_error(response, 401, "unauthorized", set())
            assert response.headers["www-authenticate"].startswith("Bearer"), (method, path)
            for token in (*rejected.values(), tokens["admin"]):
                assert token not in response.text
            messages.setdefault(case, set()).add(error["message"])
    # One message per kind of failure, whatever the endpoint; a rejected token never says
    # whether it exists, was revoked or expired, or belongs to a deactivated user.
    assert all(len(texts) == 1 for texts in messages.values()), messages
    assert len({messages[case].pop() for case in rejected}) == 1
    assert _audit_count(classic_db) == before  # nothing was written
    assert api.get("/api/me").json()["username"] == "admin"  # the good token still works


def test_health_docs_and_schema_are_open(api_ro):
    with httpx.Client(base_url=str(api_ro.base_url)) as anonymous:
        assert anonymous.get("/api/health").status_code == 200
        assert anonymous.get("/api/docs").status_code == 200
        assert anonymous.get("/api/openapi.json").status_code == 200
        assert_error(anonymous.get("/api/nope"), 404, "not_found", set())
        missing = anonymous.get("/api/orders")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in assert_error(missing, 401, "unauthorized", set())["message"]
        invalid = anonymous.get("/api/orders", headers=bearer(UNKNOWN_TOKEN))
        assert invalid.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_an_actor_is_only_given_to_authenticating_routes(classic_db_ro, tokens_ro):
    # A route outside the resource routers (not an ExactJSONRoute) that asks for the caller
    # gets a 401, even with a valid token, rather than running without one.
    app = create_api(database_url=classic_db_ro)

    @app.get("/elsewhere")
    def elsewhere(actor: CurrentActor):
        return {"username": actor.username}

    with api_client(classic_db_ro, app, token=tokens_ro["admin"]) as client:
        assert_error(client.get("/elsewhere"), 401, "unauthorized", set())
        assert client.get("/api/me").json()["username"] == "admin"


ORDER = {"customer_id": "VINET", "order_date": "2026-07-04", "required_date": "2099-08-01",
         "lines": [{"product_id": 11, "quantity": 1}]}
# Every write of orders, customers and products, with a body each would accept.
WRITES = [
    ("POST", "/api/orders", {**ORDER, "employee_id": 5}),
    ("PUT", "/api/orders/11077", {**ORDER, "employee_id": 5}),
    ("PATCH", "/api/orders/11077", {"freight": "1.00"}),
    ("DELETE", "/api/orders/11077", None),
    ("POST", "/api/orders/11077/ship", {"shipped_date": "1998-05-08", "ship_via": 2}),
    ("POST", "/api/orders/11077/cancel", {}),
    ("POST", "/api/customers", {"customer_id": "NWTRD", "company_name": "Northwind Traders"}),
    ("PUT", "/api/customers/FISSA", {"company_name": "FISSA"}),
    ("PATCH", "/api/customers/FISSA", {"city": "Madrid"}),
    ("DELETE", "/api/customers/FISSA", None),
    ("POST", "/api/products", {"product_name": "Tea", "unit_price": "1.00"}),
    ("PUT", "/api/products/77", {"product_name": "Tea", "unit_price": "1.00"}),
    ("PATCH", "/api/products/77", {"units_in_stock": 1}),
    ("DELETE", "/api/products/77", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_a_viewer_may_read_but_not_write(api_ro, tokens_ro, classic_db_ro, method, path, body):
    viewer = bearer(tokens_ro["viewer"])
    before = _audit_count(classic_db_ro)
    for content in (body, {"colour": "red"}, b'{"not": json'):
        if content is None and method == "DELETE":
            response = api_ro.delete(path, headers=viewer)
        elif isinstance(content, bytes):
            response = api_ro.request(method, path, content=content, headers={
                **viewer, "content-type": "application/json"})
        else:
            response = api_ro.request(method, path, json=content, headers=viewer)
        error = assert_error(response, 403, "forbidden", set())
        assert error["message"].startswith("Your role (viewer) may not change")
    assert _audit_count(classic_db_ro) == before
    resource = path.split("/")[2]
    assert api_ro.get(f"/api/{resource}", headers=viewer).status_code == 200


# Admins only (the demo admin's id is looked up: ids are not consecutive on a Galera cluster,
# whose nodes step auto-increments by the node count). Where the route itself needs the
# permission the refusal comes before the body is read; on the self-service routes (someone
# else's password or tokens) the service refuses once it knows whose they are.
ADMIN_ONLY = [
    ("GET", "/api/users", None, True),
    ("GET", "/api/users/{admin}", None, False),
    ("POST", "/api/users", {"username": "intruder", "password": "a long password",
                            "role": "admin"}, True),
    ("PATCH", "/api/users/{admin}", {"role": "viewer"}, True),
    ("PUT", "/api/users/{admin}/password", {"new_password": "a long password"}, False),
    ("GET", "/api/users/{admin}/tokens", None, False),
    ("GET", "/api/audit", None, True),
]


def _admin_id(api: httpx.Client, tokens: dict[str, str]) -> int:
    return api.get("/api/me", headers=bearer(tokens["admin"])).json()["user_id"]


@pytest.mark.parametrize("role", ["sales", "viewer"])
def test_only_admins_manage_users_and_read_the_audit(api_ro, tokens_ro, role):
    headers = bearer(tokens_ro[role])
    admin = _admin_id(api_ro, tokens_ro)
    assert api_ro.get(f"/api/users/{admin}", headers=bearer(tokens_ro["admin"])).json()[
        "username"] == "admin"
    for method, path, body, early in ADMIN_ONLY:
        path = path.format(admin=admin)
        response = api_ro.request(method, path, json=body, headers=headers)
        assert_error(response, 403, "forbidden", set())
        if body is not None and early:
            assert_error(api_ro.request(method, path, json={"colour": 1}, headers=headers),
                         403, "forbidden", set())
    # Their own account and tokens are theirs to see.
    me = api_ro.get("/api/me", headers=headers).json()
    assert api_ro.get(f"/api/users/{me['user_id']}", headers=headers).json()["role"] == role
    own_tokens = api_ro.get(f"/api/users/{me['user_id']}/tokens", headers=headers)
    assert own_tokens.status_code == 200 and len(own_tokens.json()) >= 1


def test_me_names_the_role_and_its_permissions(api_ro, tokens_ro):
    expected = {
        "admin": ["audit.view", "orders.write", "records.write", "users.manage"],
        "sales": ["orders.write", "records.write"],
        "viewer": [],
    }
    for role, permissions in expected.items():
        me = api_ro.get("/api/me", headers=bearer(tokens_ro[role])).json()
        assert (me["username"], me["role"], me["permissions"]) == (role, role, permissions)
    sales = api_ro.get("/api/me", headers=bearer(tokens_ro["sales"])).json()
    assert (sales["employee_id"], sales["full_name"]) == (4, "Demo Sales")


def test_sales_writes_orders_customers_and_products(api, tokens):
    sales = bearer(tokens["sales"])
    # No employee_id: the order is taken by the employee the sales account is linked to.
    created = api.post("/api/orders", json=ORDER, headers=sales)
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["employee_id"], order["employee_name"]) == (4, "Margaret Peacock")
    order_id = order["order_id"]
    assert api.patch(f"/api/orders/{order_id}", json={"freight": "2.50"},
                     headers=sales).json()["freight"] == "2.50"
    assert api.post(f"/api/orders/{order_id}/ship", json={"shipped_date": "2026-07-05",
                                                          "ship_via": 1},
                    headers=sales).json()["status"] == "shipped"
    assert api.delete(f"/api/orders/{order_id}", headers=sales).status_code == 409  # shipped
    other = api.post("/api/orders", json=ORDER, headers=sales).json()["order_id"]
    assert api.post(f"/api/orders/{other}/cancel",
                    headers=sales).json()["status"] == "cancelled"
    assert api.delete(f"/api/orders/{other}", headers=sales).status_code == 204
    # An explicit employee wins over the linked one.
    assert api.post("/api/orders", json={**ORDER, "employee_id": 5},
                    headers=sales).json()["employee_id"] == 5

    assert api.post("/api/customers", json={"customer_id": "NWTRD", "company_name": "NW"},
                    headers=sales).status_code == 201
    assert api.patch("/api/customers/NWTRD", json={"city": "London"},
                     headers=sales).status_code == 200
    assert api.delete("/api/customers/NWTRD", headers=sales).status_code == 204
    product = api.post("/api/products", json={"product_name": "Tea", "unit_price": "1.00"},
                       headers=sales)
    assert product.status_code == 201
    product_id = product.json()["product_id"]
    assert api.put(f"/api/products/{product_id}", json={"product_name": "Tea",
                                                        "unit_price": "2.00"},
                   headers=sales).status_code == 200
    assert api.delete(f"/api/products/{product_id}", headers=sales).status_code == 204

    trail = api.get("/api/audit", params={"username": "sales", "limit": 100}).json()
    assert {(e["entity"], e["action"]) for e in trail["items"]} == {
        ("order", "create"), ("order", "update"), ("order", "ship"), ("order", "cancel"),
        ("order", "delete"),
        ("customer", "create"), ("customer", "update"), ("customer", "delete"),
        ("product", "create"), ("product", "update"), ("product", "delete")}


def test_history_shows_who_changed_what(api, tokens):
    sales, viewer = bearer(tokens["sales"]), bearer(tokens["viewer"])
    assert api.get("/api/orders/10248/history", headers=viewer).json() == []
    patched = api.patch("/api/orders/10248", json={"freight": "40.00", "version": 1},
                        headers=sales)
    assert patched.status_code == 200, patched.text
    history = api.get("/api/orders/10248/history", headers=viewer)
    assert history.status_code == 200
    [entry] = history.json()
    assert (entry["username"], entry["action"], entry["entity"], entry["entity_key"]) == (
        "sales", "update", "order", "10248")
    assert entry["changes"] == {"freight": ["32.38", "40.00"], "total": ["472.38", "480.00"]}
    at = dt.datetime.fromisoformat(entry["at"])
    assert abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(minutes=5)

    api.patch("/api/customers/alfki", json={"city": "Hamburg"}, headers=sales)
    [customer] = api.get("/api/customers/ALFKI/history", headers=viewer).json()
    assert customer["changes"] == {"city": ["Berlin", "Hamburg"]}
    assert api.get("/api/customers/alfki/history", headers=viewer).json() == [customer]
    api.delete("/api/products/77", headers=sales)  # 409: order lines use it; nothing recorded
    api.patch("/api/products/77", json={"discontinued": True}, headers=sales)
    [product] = api.get("/api/products/77/history", headers=viewer).json()
    assert product["changes"] == {"discontinued": ["no", "yes"]}

    # The same changes in the admin's trail, filtered, newest first.
    trail = api.get("/api/audit", params={"entity": "order", "key": "10248"}).json()
    assert [e["audit_id"] for e in trail["items"]] == [entry["audit_id"]]
    today = dt.date.today().isoformat()
    changes = api.get("/api/audit", params={"username": "sales", "date_from": today,
                                            "sort": "at"}).json()
    assert [e["entity"] for e in changes["items"]] == ["order", "customer", "product"]
    assert changes["total"] == 3
    assert api.get("/api/audit", params={"action": "ship"}).json()["total"] == 0
    assert api.get("/api/audit", params={"q": "alfki"}).json()["total"] == 1
    assert_error(api.get("/api/audit", params={"entity": "invoice", "date_to": "soon"}), 422,
                 "validation_failed", {"entity", "date_to"})


def test_a_token_is_shown_once_and_dies_when_revoked(api, tokens, classic_db):
    viewer = bearer(tokens["viewer"])
    created = api.post("/api/tokens", json={"name": "  nightly export ", "expires_days": 30},
                       headers=viewer)
    assert created.status_code == 201, created.text
    new = created.json()
    token = new["token"]
    assert token.startswith("nwt_") and len(token) > 40
    assert (new["name"], new["username"], new["prefix"], new["state"]) == (
        "nightly export", "viewer", token[:12], "active")
    expires = dt.datetime.fromisoformat(new["expires_at"])
    assert abs(expires - (dt.datetime.now(dt.UTC) + dt.timedelta(days=30))) < dt.timedelta(
        minutes=5)

    # It works, and its use is recorded; no answer ever shows it again.
    assert api.get("/api/me", headers=bearer(token)).json()["username"] == "viewer"
    listed = api.get("/api/tokens", headers=viewer)
    assert token not in listed.text and "token" not in listed.json()[0]
    [mine] = [t for t in listed.json() if t["token_id"] == new["token_id"]]
    assert mine["last_used_at"] is not None and mine["revoked_at"] is None
    admin_view = api.get(f"/api/users/{new['user_id']}/tokens")
    assert token not in admin_view.text
    with session_scope(classic_db) as session:  # stored only as a digest
        stored = session.get(ApiToken, new["token_id"])
        assert token not in (stored.token_hash, stored.prefix, stored.name)

    # Someone else's token is not found (unless you are an admin); revoking is at once.
    [admins_token, *_] = api.get("/api/tokens", headers=bearer(tokens["admin"])).json()
    assert_error(api.delete(f"/api/tokens/{admins_token['token_id']}", headers=viewer), 404,
                 "not_found", set())
    assert api.delete(f"/api/tokens/{new['token_id']}", headers=bearer(token)).status_code == 204
    assert_error(api.get("/api/me", headers=bearer(token)), 401, "unauthorized", set())
    revoked = api.get("/api/tokens", headers=viewer).json()
    assert [t["state"] for t in revoked if t["token_id"] == new["token_id"]] == ["revoked"]
    assert api.delete(f"/api/tokens/{new['token_id']}", headers=viewer).status_code == 204
    viewer_token_id = api.get("/api/tokens", headers=viewer).json()[-1]["token_id"]
    assert api.delete(f"/api/tokens/{viewer_token_id}").status_code == 204  # the admin's right
    assert_error(api.get("/api/me", headers=viewer), 401, "unauthorized", set())
    assert_error(api.delete("/api/tokens/999"), 404, "not_found", set())

    invalid = api.post("/api/tokens", json={"name": "", "expires_days": 0})
    assert_error(invalid, 422, "validation_failed", {"name", "expires_days"})
    blank = api.post("/api/tokens", json={"name": "   "})
    assert_error(blank, 422, "validation_failed", {"name"})


def test_admins_manage_accounts(api, classic_db):
    created = api.post("/api/users", json={"username": "MPeacock", "password": "a long password",
                                           "role": "sales", "full_name": "Margaret Peacock",
                                           "employee_id": 4})
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == f"/api/users/{user['user_id']}"
    assert (user["username"], user["role"], user["employee_name"], user["active"],
            user["last_login_at"]) == ("mpeacock", "sales", "Margaret Peacock", True, None)
    assert "password" not in created.text and "argon2" not in created.text
    user_id = user["user_id"]
    assert api.get(f"/api/users/{user_id}").json() == user

    page = api.get("/api/users", params={"role": "sales", "sort": "-username"}).json()
    assert [u["username"] for u in page["items"]] == ["sales", "mpeacock"]
    found = api.get("/api/users", params={"q": "peacock"}).json()["items"]
    assert [u["username"] for u in found] == ["mpeacock"]
    assert api.get("/api/users", params={"q": "demo"}).json()["total"] == 3  # full names
    assert_error(api.get("/api/users", params={"role": "root", "sort": "password"}), 422,
                 "validation_failed", {"role", "sort"})
    taken = api.post("/api/users", json={"username": "admin", "password": "short",
                                         "role": "viewer", "employee_id": 99})
    error = assert_error(taken, 422, "validation_failed", {"username", "password", "employee_id"})
    assert "short" not in error["message"]

    changed = api.patch(f"/api/users/{user_id}", json={"role": "viewer", "employee_id": None})
    assert (changed.json()["role"], changed.json()["employee_id"]) == ("viewer", None)
    # A deactivated account's tokens stop working at once.
    with session_scope(classic_db, write=True) as session:
        token, _ = users.create_api_token(session, SYSTEM, user_id, "script")
    assert api.get("/api/me", headers=bearer(token)).status_code == 200
    assert api.patch(f"/api/users/{user_id}", json={"active": False}).json()["active"] is False
    assert_error(api.get("/api/me", headers=bearer(token)), 401, "unauthorized", set())
    assert api.get("/api/users", params={"active": False}).json()["total"] == 1

    # The last active admin stays one.
    admin = api.get("/api/me").json()["user_id"]  # the client's: the demo admin
    assert_error(api.patch(f"/api/users/{admin}", json={"role": "sales"}), 409, "conflict",
                 {"role"})
    assert_error(api.patch(f"/api/users/{admin}", json={"active": False}), 409, "conflict")
    assert_error(api.patch("/api/users/999", json={"role": "sales"}), 404, "not_found")
    assert_error(api.get("/api/users/999/tokens"), 404, "not_found")
    assert_error(api.patch(f"/api/users/{user_id}", json={"username": "x"}), 422,
                 "validation_failed", {"username"})

    changes = api.get("/api/audit", params={"entity": "user", "key": str(user_id)}).json()
    assert [e["action"] for e in changes["items"]] == ["update", "update", "create"]
    assert changes["items"][0]["changes"] == {"active": ["yes", "no"]}
    assert "a long password" not in str(changes)


def _signs_in(url: str, username: str, password: str) -> bool:
    with session_scope(url, write=True) as session:
        try:
            auth.authenticate(session, username, password, address="192.0.2.1")
        except auth.AuthenticationFailed:
            return False
    return True


def test_passwords_own_with_the_current_one_anyone_s_as_admin(api, tokens, classic_db):
    sales = bearer(tokens["sales"])
    sales_id = api.get("/api/me", headers=sales).json()["user_id"]
    path = f"/api/users/{sales_id}/password"
    without = api.put(path, json={"new_password": "a brand new one"}, headers=sales)
    assert_error(without, 422, "validation_failed", {"current_password"})
    wrong = api.put(path, json={"new_password": "sales", "current_password": "guess"},
                    headers=sales)
    assert_error(wrong, 422, "validation_failed", {"current_password", "new_password"})
    assert "guess" not in wrong.text
    assert _signs_in(classic_db, "sales", "northwind-sales")

    own = api.put(path, json={"new_password": "a brand new one",
                              "current_password": "northwind-sales"}, headers=sales)
    assert (own.status_code, own.content) == (204, b"")
    assert _signs_in(classic_db, "sales", "a brand new one")
    assert api.get("/api/me", headers=sales).status_code == 200  # tokens are not sessions

    reset = api.put(path, json={"new_password": "reset by the admin"})
    assert reset.status_code == 204
    assert _signs_in(classic_db, "sales", "reset by the admin")
    assert not _signs_in(classic_db, "sales", "a brand new one")
    assert_error(api.put("/api/users/999/password", json={"new_password": "long enough"}), 404,
                 "not_found")
    [entry, *_] = api.get("/api/audit", params={"action": "password"}).json()["items"]
    assert entry["summary"] == "password of sales reset" and entry["changes"] == {}


def test_the_screens_session_cookie_reads_but_never_writes(api, classic_db):
    """A signed-in browser may GET the API with its session cookie (the orders screen's CSV
    export link does); a change always needs a bearer token; an ended session is a 401."""
    with session_scope(classic_db, write=True) as session:
        cookie = auth.start_session(session, auth.actor_of(users.find_user(session, "sales")))
    with httpx.Client(base_url=str(api.base_url),
                      cookies={auth.SESSION_COOKIE: cookie}) as browser:
        assert browser.get("/api/me").json()["username"] == "sales"
        export = browser.get("/api/orders/export.csv", params={"customer_id": "ALFKI"})
        assert export.status_code == 200 and export.text.count("\r\n") == 7  # header + 6
        before = _audit_count(classic_db)
        for method, path in (("DELETE", "/api/orders/10248"), ("POST", "/api/tokens"),
                             ("PATCH", "/api/customers/ALFKI")):
            response = browser.request(method, path, json={"name": "x"})
            assert_error(response, 401, "unauthorized", set())
        assert _audit_count(classic_db) == before
        with session_scope(classic_db, write=True) as session:
            auth.end_session(session, cookie)
        assert_error(browser.get("/api/me"), 401, "unauthorized", set())
