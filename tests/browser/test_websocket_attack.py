"""The screens' websocket attacked as an outsider would: a raw socket.io client (the
`python-socketio` package, not a browser) against the running production server.

Every event handler of every state of the compiled app is enumerated from the app itself (so a
new handler is covered without editing this file) and called with crafted payloads — no
arguments, plausible values, a forged `Actor`, an injection string, and `setvar` of every var
with hostile values — first with no cookie, then with a viewer's cookie. Afterwards:

- nothing was read: every state update the server sent holds, for each state the identity may
  not use, only that state's default values (a refused event never runs its handler, and the
  states' data is reset when the identity behind a tab changes);
- nothing was written: the data tables are exactly as before, and any API token created
  belongs to the identity itself;
- the forged sign-in found by the outside test (`AuthState.sign_in` with an admin `Actor`)
  no longer exists, and a stolen client token without its cookie gets no data.

See northwind_app/ui/auth.py (what the websocket trusts) and README, "Accounts and security".
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import threading
import time
import types
import typing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from sqlalchemy import MetaData, select, text

from northwind_app.db.engine import get_engine
from northwind_app.services.auth import Permission, ROLES
from tests.browser.conftest import session_cookie

EVENT_NAMESPACE = "/_event"
FIELD_MARKER = "_rx_state_"
ATTACK_TAG = f"attack-{uuid.uuid4().hex[:6]}"
FORGED_ACTOR = {"user_id": 1, "username": "admin", "role": "admin", "employee_id": None,
                "full_name": "Forged"}
INJECTION = "1' OR '1'='1'; DROP TABLE orders; --"
# A form that fits every form of the app at once, aimed at someone else's data.
FORM = {
    "username": ATTACK_TAG, "password": "Attack3r-password!", "full_name": ATTACK_TAG,
    "role": "admin", "employee_id": "1", "active": True, "user_id": "1",
    "current_password": "wrong-password-1", "new_password": "Attack3r-password!",
    "repeat_password": "Attack3r-password!", "token_name": ATTACK_TAG, "token_days": "30",
    "company_name": ATTACK_TAG, "customer_id": "ATTKX", "product_name": ATTACK_TAG,
    "unit_price": "1", "units_in_stock": "1", "category_id": "1", "supplier_id": "1",
    "ship_via": "1", "freight": "1", "order_date": "2024-01-01", "required_date": "2024-02-01",
    "shipped_date": "2024-01-02", "ship_name": ATTACK_TAG, "actor": FORGED_ACTOR,
    "token": "x", "version": "1", "quantity": "1", "discount": "0",
}
# Tables whose rows no attacker may change (sessions, the audit trail and sign-in throttling
# change on failed sign-ins, which anyone may attempt; tokens are checked apart).
UNTOUCHABLE = ("categories", "regions", "territories", "shippers", "suppliers", "customers",
               "employees", "employee_territories", "products", "orders", "order_details",
               "sales_month_customer", "sales_month_employee", "sales_month_product")
USER_COLUMNS = ("user_id", "username", "full_name", "password_hash", "role", "employee_id",
                "active", "password_changed_at")


# -- the app's states and handlers, as compiled ----------------------------------------------

def _app_state_classes() -> list[type]:
    import rxconfig  # noqa: F401  (puts the venv's node on PATH, as the app expects)
    import northwind_app.northwind_app  # noqa: F401  (registers every page and state)
    from reflex.state import State

    found, stack = [], list(State.get_substates())
    while stack:
        cls = stack.pop()
        stack.extend(cls.get_substates())
        if cls.__module__.startswith("northwind_app."):
            found.append(cls)
    return sorted(found, key=lambda c: c.get_full_name())


def _base_vars(cls) -> dict[str, Any]:
    """The state's own base vars (public and backend) and their defaults."""
    return {name: field.default_value() for name, field in cls.__fields__.items()
            if field._owner is cls and not name.startswith("rx_router")}


def _value_for(name: str, annotation: Any) -> Any:
    """A plausible value for a parameter: a form for a dict, an Actor-shaped dict for any
    structured type (Reflex builds dataclasses and models from the payload's JSON)."""
    origin = typing.get_origin(annotation) or annotation
    if origin is dict or "form" in name:
        return FORM
    if origin is bool:
        return True
    if origin is int:
        return 1
    if isinstance(origin, type) and origin not in (str, float, list, tuple) \
            and (dataclasses.is_dataclass(origin) or hasattr(origin, "model_fields")):
        return FORGED_ACTOR
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _value_for(name, arg)
    return "1"


def _payloads(handler) -> Iterator[dict]:
    """Crafted payloads for one handler: nothing, plausible values (a structured parameter
    gets a forged Actor), a forged Actor everywhere, an injection string everywhere."""
    params = [p for p in list(inspect.signature(handler.fn).parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    try:
        hints = typing.get_type_hints(handler.fn)
    except Exception:  # noqa: BLE001 - an unresolvable hint: plausible strings then
        hints = {}
    yield {}
    if params:
        yield {p.name: _value_for(p.name, hints.get(p.name, str)) for p in params}
        yield {p.name: FORGED_ACTOR for p in params}
        yield {p.name: INJECTION for p in params}


def _hostile_values(default: Any) -> list[Any]:
    if isinstance(default, bool):
        return [True]
    if isinstance(default, int):
        return [1]
    if isinstance(default, (dict, list)):
        return [FORGED_ACTOR]
    return ["1", FORGED_ACTOR]


def _route_for(cls) -> tuple[str, dict[str, str]]:
    """A page the state belongs to, with its route's parameters (as the browser sends)."""
    module = cls.__module__
    route = getattr(cls, "route", "")
    if route and "ListState" in cls.__name__ and "Orders" not in cls.__name__[1:] \
            and "Products" not in cls.__name__[1:]:
        return route, {}
    if module.endswith("order_detail"):
        return "/orders/10248", {"order_id": "10248"}
    if module.endswith("order_form"):
        return "/orders/10248/edit", {"order_id": "10248"}
    if module.endswith("users"):
        return "/users/1", {"user_id": "1"}
    if module.endswith("record_form"):
        return "/products/1/edit", {"key": "1"}
    if ".pages.catalog" in module or "Orders" in cls.__name__ or "Products" in cls.__name__:
        return "/customers/VINET", {"key": "VINET"}
    if module.endswith("account"):
        return "/account", {}
    if module.endswith("audit"):
        return "/audit", {}
    if module.endswith("login"):
        return "/login", {}
    return "/orders", {}


# -- the attacker's socket ------------------------------------------------------------------

class Attacker:
    """A raw socket.io client speaking Reflex's event protocol."""

    def __init__(self, app_url: str, cookie: str | None, client_token: str | None = None):
        self.app_url = app_url
        self.cookie = cookie
        self.client_token = client_token or str(uuid.uuid4())
        self.updates: list[dict] = []
        self._seen = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._on_update, namespace=EVENT_NAMESPACE)

    def _on_update(self, update):
        if isinstance(update, str):
            update = json.loads(update)
        self.updates.append(update)
        self._seen.set()

    def __enter__(self) -> Attacker:
        headers = {}
        if self.cookie is not None:
            headers["Cookie"] = self.cookie
        self.sio.connect(f"{self.app_url}?token={self.client_token}", headers=headers,
                         transports=["websocket"], namespaces=[EVENT_NAMESPACE],
                         socketio_path=EVENT_NAMESPACE, wait_timeout=30)
        return self

    def __exit__(self, *exc) -> None:
        self.sio.disconnect()

    def send(self, name: str, payload: dict | None = None, path: str = "/orders",
             query: dict[str, str] | None = None) -> None:
        self.sio.emit("event", {
            "name": name, "payload": payload or {},
            "router_data": {"pathname": path, "asPath": path, "query": query or {}},
        }, namespace=EVENT_NAMESPACE)

    def hydrate(self, path: str = "/orders", query: dict | None = None) -> dict:
        """The full state as the server holds it for this tab (Reflex's `hydrate` event).
        Events of one tab run in order, so this also waits for every event sent before."""
        from reflex.state import State

        before = len(self.updates)
        root = State.get_full_name()
        self.send(f"{root}.hydrate", {}, path, query)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for update in self.updates[before:]:
                delta = update.get("delta") or {}
                if f"is_hydrated{FIELD_MARKER}" in delta.get(root, {}) and len(delta) > 3:
                    return delta
            self._seen.clear()
            self._seen.wait(0.1)
        raise AssertionError("the server sent no state for hydrate within 60 s")

    def deltas(self) -> Iterator[dict]:
        for update in self.updates:
            yield update.get("delta") or {}


def _var_name(key: str) -> str:
    return key.removesuffix(FIELD_MARKER)


def _non_default(deltas, classes) -> list[str]:
    """Each value of a state in `classes` that differs from the state's default."""
    by_name = {cls.get_full_name(): cls for cls in classes}
    found = []
    for delta in deltas:
        for state_name, values in delta.items():
            cls = by_name.get(state_name)
            if cls is None:
                continue
            defaults = _base_vars(cls)
            for key, value in values.items():
                name = _var_name(key)
                if name in defaults:
                    default = json.loads(json.dumps(defaults[name], default=str))
                    if value != default:
                        found.append(f"{cls.__name__}.{name} = {value!r:.120}")
    return found


def _forbidden_states(role: str | None) -> list[type]:
    """The app's states whose data `role` may not see (None: not signed in)."""
    from northwind_app.ui.auth import _PUBLIC, _REQUIRED, AuthState

    permissions = ROLES.get(role, frozenset()) if role else frozenset()
    forbidden = []
    for cls in _app_state_classes():
        if cls is AuthState or any(k in _PUBLIC for k in cls.__mro__):
            continue
        needed = next((_REQUIRED[k] for k in cls.__mro__ if k in _REQUIRED), None)
        if role is None or (needed is not None and needed not in permissions):
            forbidden.append(cls)
    return forbidden


# -- the database, before and after ---------------------------------------------------------

def _fingerprint(db_url: str) -> dict[str, str]:
    engine = get_engine(db_url)
    meta = MetaData()
    meta.reflect(engine, only=[*UNTOUCHABLE, "users"])
    digests = {}
    with engine.connect() as conn:
        for name in UNTOUCHABLE:
            table = meta.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        users = meta.tables["users"]
        rows = conn.execute(select(*(users.c[c] for c in USER_COLUMNS))
                            .order_by(users.c.user_id)).all()
        digests["users"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def _tokens(db_url: str) -> set[tuple]:
    with get_engine(db_url).connect() as conn:
        return set(conn.execute(text(
            "SELECT token_id, user_id, revoked_at FROM api_tokens")).all())


def _user_id(db_url: str, username: str) -> int:
    with get_engine(db_url).connect() as conn:
        return conn.execute(text("SELECT user_id FROM users WHERE username = :u"),
                            {"u": username}).scalar_one()


def _cookie_header(app_db_url: str, app_url: str, username: str) -> str:
    cookie = session_cookie(app_db_url, app_url, username)
    return f"{cookie['name']}={cookie['value']}"


# -- the attacks ----------------------------------------------------------------------------

def _probe(attacker: Attacker) -> None:
    """Ask for the data an escalation would reveal: the users list, the audit trail, an
    order (sent after every crafted event, so whatever one event gained shows at once)."""
    from northwind_app.pages.audit import AuditListState
    from northwind_app.pages.order_detail import OrderDetailState
    from northwind_app.pages.users import UsersListState

    attacker.send(f"{UsersListState.get_full_name()}.load", {}, "/users")
    attacker.send(f"{AuditListState.get_full_name()}.load", {}, "/audit")
    attacker.send(f"{OrderDetailState.get_full_name()}.load", {}, "/orders/10248",
                  {"order_id": "10248"})


def _every_handler(attacker: Attacker) -> int:
    """Call every handler of every app state with every crafted payload, and `setvar` every
    var with hostile values, each followed by the probe; return how many events were sent.
    The states that decide identity come first."""
    from northwind_app.ui.auth import AuthState

    sent = 0
    classes = sorted(_app_state_classes(), key=lambda c: c is not AuthState)
    for cls in classes:
        path, query = _route_for(cls)
        prefix = cls.get_full_name()
        for var, default in _base_vars(cls).items():
            for value in _hostile_values(default):
                attacker.send(f"{prefix}.setvar", {"var_name": var, "value": value},
                              path, query)
                sent += 1
        _probe(attacker)
        for handler_name, handler in sorted(cls.event_handlers.items()):
            if handler_name == "setvar":
                continue
            for payload in _payloads(handler):
                attacker.send(f"{prefix}.{handler_name}", payload, path, query)
                _probe(attacker)
                sent += 1
        attacker.hydrate(path, query)  # wait for this state's events, and look
    return sent


@pytest.mark.parametrize("role", [None, "viewer"], ids=["no-cookie", "viewer-cookie"])
def test_every_handler_with_crafted_payloads_reads_and_writes_nothing_forbidden(
        app_url, app_db_url, role):
    before, tokens_before = _fingerprint(app_db_url), _tokens(app_db_url)
    cookie = _cookie_header(app_db_url, app_url, role) if role else None

    with Attacker(app_url, cookie) as attacker:
        sent = _every_handler(attacker)
    assert sent > 200, "the app's handlers were not all enumerated"
    assert attacker.updates, "the server answered nothing: the attack did not run"
    leaks = _non_default(attacker.deltas(), _forbidden_states(role))
    assert not leaks, f"{role or 'anonymous'} received data of states it may not use: {leaks[:10]}"
    assert _fingerprint(app_db_url) == before, "an attacker's event changed the data"
    own = _user_id(app_db_url, role) if role else None
    changed = _tokens(app_db_url) ^ tokens_before
    assert all(user_id == own for _id, user_id, _revoked in changed), \
        f"an attacker's event created or revoked someone else's API token: {changed}"
    if role is None:
        assert not changed, "an anonymous socket created or revoked an API token"


def test_the_forged_sign_in_of_the_outside_test_is_refused(app_url, app_db_url):
    """The reproduction: `AuthState.sign_in` with an admin Actor, then the users list, deleting
    an order and minting an admin API token — with no cookie and no password."""
    from northwind_app.pages.order_detail import OrderDetailState
    from northwind_app.pages.users import UserDetailState, UsersListState
    from northwind_app.ui.auth import AuthState

    before, tokens_before = _fingerprint(app_db_url), _tokens(app_db_url)

    def attack() -> tuple[Attacker, dict]:
        with Attacker(app_url, None) as attacker:
            auth = AuthState.get_full_name()
            for name in ("sign_in", "_sign_in", "current_actor", "session_token", "_apply"):
                attacker.send(f"{auth}.{name}",
                                    {"actor": FORGED_ACTOR, "token": "x"}, "/users")
            attacker.send(f"{auth}.setvar", {"var_name": "_actor", "value": FORGED_ACTOR})
            attacker.send(f"{UsersListState.get_full_name()}.load", {}, "/users")
            attacker.send(f"{OrderDetailState.get_full_name()}.load", {},
                                "/orders/10250", {"order_id": "10250"})
            attacker.send(f"{OrderDetailState.get_full_name()}.confirm_delete", {},
                                "/orders/10250", {"order_id": "10250"})
            attacker.send(f"{UserDetailState.get_full_name()}.load", {},
                                "/users/1", {"user_id": "1"})
            attacker.send(f"{UserDetailState.get_full_name()}.create_token",
                                {"form": {"token_name": "pwned", "token_days": "30"}},
                                "/users/1", {"user_id": "1"})
            return attacker, attacker.hydrate("/users")

    attacker, state = attack()
    auth_values = state[AuthState.get_full_name()]
    assert auth_values[f"signed_in{FIELD_MARKER}"] is False
    assert auth_values[f"role{FIELD_MARKER}"] == ""
    assert not _non_default(attacker.deltas(), _forbidden_states(None))
    # Every refused event sent the tab to the login page instead.
    redirects = [e for u in attacker.updates for e in u.get("events") or []
                 if "login" in json.dumps(e)]
    assert redirects, "the refused events did not send the tab to the login page"
    assert _fingerprint(app_db_url) == before
    assert _tokens(app_db_url) == tokens_before


def _users_rows(delta: dict) -> list:
    from northwind_app.pages.users import UsersListState

    return delta.get(UsersListState.get_full_name(), {}).get(f"rows{FIELD_MARKER}") or []


def _load_users(attacker: Attacker) -> list:
    from northwind_app.pages.users import UsersListState

    attacker.send(f"{UsersListState.get_full_name()}.load", {}, "/users")
    return _users_rows(attacker.hydrate("/users"))


@pytest.mark.parametrize("how", ["signed-in-on-the-socket", "cookie-then-signed-out"])
def test_a_stolen_client_token_without_its_cookie_gets_no_data(app_url, app_db_url, how):
    """An admin's tab holds the users list; its client token (sessionStorage.token) is then
    presented by a new socket with no cookie: it gets no data in its initial state and none on
    request, whether the admin signed in on that socket (no cookie when it connected) or had
    a cookie and signed out."""
    from northwind_app.pages.login import LoginState
    from northwind_app.ui.auth import AuthState

    client_token = str(uuid.uuid4())

    def scenario() -> tuple[list, Attacker]:
        if how == "signed-in-on-the-socket":
            with Attacker(app_url, None, client_token) as admin:
                admin.send(f"{LoginState.get_full_name()}.submit",
                                 {"form": {"username": "admin",
                                           "password": "northwind-admin"}}, "/login")
                rows = _load_users(admin)
        else:
            cookie = _cookie_header(app_db_url, app_url, "admin")
            with Attacker(app_url, cookie, client_token) as admin:
                rows = _load_users(admin)
                admin.send(f"{AuthState.get_full_name()}.logout", {}, "/users")
                admin.hydrate("/login")
        with Attacker(app_url, None, client_token) as thief:
            initial = thief.hydrate("/users")
            assert not _users_rows(initial)
            assert not _load_users(thief)
            return rows, thief

    admin_rows, thief = scenario()
    assert admin_rows, "the admin's tab never held the users list: the scenario did not run"
    assert not _non_default(thief.deltas(), _forbidden_states(None))


def test_no_handler_takes_an_actor_or_token_from_the_browser():
    """No event handler has a parameter that names a user, a role or a session (a payload
    Reflex would turn into an Actor); helpers are private."""
    from northwind_app.services.auth import Actor

    offenders = []
    for cls in _app_state_classes():
        for name, handler in cls.event_handlers.items():
            for param in list(inspect.signature(handler.fn).parameters.values())[1:]:
                if param.annotation in (Actor, "Actor", "Actor | None") or \
                        param.name in ("actor", "token", "role", "user_id", "session"):
                    offenders.append(f"{cls.__name__}.{name}({param.name})")
    assert not offenders, offenders
    assert Permission.MANAGE_USERS not in ROLES["viewer"]
