"""Signing in on the screens: the session cookie, the signed-in user's state, and the event
middleware that refuses every event of a protected state without a valid session.

What the screens' server trusts, and why (README, "Accounts and security"):

- **Only the session token, checked against the database.** A tab's identity is the session
  token of its own websocket connection: the `nw_session` cookie of the request that opened
  the socket (Reflex records the connection's headers and socket id server-side and overrides
  whatever an event claims), or a token this server itself obtained on that same connection
  (signing in, changing one's password, another tab's sign-in read by `cookie_changed`). Only
  the token's HMAC is stored, and the user it belongs to comes from the database
  (`services.auth.session_actor`). Nothing else an event carries — its payload, the client
  token, router data, state the browser sends — names a user or a role.
- **No identity survives a new connection without its cookie.** A token obtained in-band is
  tied to the socket id that obtained it; another connection presenting the same client token
  (a stolen `sessionStorage.token`, a reconnect after signing out) is judged by its own cookie
  alone.
- **Data follows its owner.** The states that hold data were filled for one user. When the
  identity behind a tab changes (signed out, session ended, another user), every app state
  except this one is reset before the event runs, so no row loaded for one identity reaches
  another, the initial state of a reconnect included.
- **No helper is an event.** Reflex makes every public method of a state an event handler that
  any socket may call with any payload; the helpers here are private (`_sign_in`,
  `_current_actor`, …) and `tests/browser/test_websocket_attack.py` calls every handler of
  every state as an outsider would.
- **One database check per tab every RECHECK_SECONDS.** The verified actor is kept server-side
  (a private var, never sent to the browser) with the token it was verified for and when; each
  event compares the connection's token with it (no round trip), and the database is asked
  again when the token changes or the check is older than RECHECK_SECONDS, so a session
  ended by other means (expiry, a purge) takes effect within that time; signing out in one
  tab reaches the browser's other tabs at once (`cookie_changed`), and a deactivation, role
  change or password reset too (the live updates hear the account change and nudge the
  user's tabs, whose next check then asks the database: live/registry.py).

`AuthMiddleware` runs before every event: events of a state that is not `public` need a
signed-in user, and events of a state that `requires(...)` a permission also need that
permission; refused events never reach their handler (the browser is sent to /login, or told it
may not). The services check permissions again on every change, so the screens are a
convenience, never the guard.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import BaseState, OnLoadInternalState, StateUpdate
from reflex.vars.function import FunctionStringVar
from reflex_base.event import Event, EventSpec
from starlette.requests import cookie_parser

from northwind_app import formats
from northwind_app.live.registry import registry as live_tabs
from northwind_app.live.registry import user_changed_at
from northwind_app.services import auth
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Forbidden
from northwind_app.settings import settings
from northwind_app.ui import backend

if TYPE_CHECKING:
    from reflex.app import App

RECHECK_SECONDS = 15
COOKIE_NAME = auth.SESSION_COOKIE
LOGIN_ROUTE = "/login"
SYNC_KEY = "nw-session"  # localStorage key written when a tab signs in or out

S = TypeVar("S", bound=type)

# State classes whose events need no signed-in user (the login page), and the permission
# other state classes need beyond being signed in (edit forms, admin pages).
_PUBLIC: set[type] = set()
_REQUIRED: dict[type, Permission] = {}
# The only events of AuthState a browser may send (anyone may: they need no session).
_AUTH_EVENTS = frozenset({"logout", "cookie_changed"})


def public(cls: S) -> S:
    """Mark a state class whose events anyone may send (only the login page is)."""
    _PUBLIC.add(cls)
    return cls


def requires(permission: Permission) -> Callable[[S], S]:
    """Mark a state class whose events need `permission` (and its substates' events too)."""
    def mark(cls: S) -> S:
        _REQUIRED[cls] = permission
        return cls
    return mark


class AuthState(rx.State):
    """The signed-in user, as far as the screens need to know (see the module docstring).

    The session token never goes to the browser as state. Signing in or out on the screens
    writes the cookie in the browser (`_write_cookie`) and tells the browser's other tabs,
    which send the new cookie (`cookie_changed`, from `session_sync`)."""

    signed_in: bool = False
    username: str = ""
    display_name: str = ""
    role: str = ""
    employee_id: str = ""
    can_write_orders: bool = False
    can_write_records: bool = False
    can_manage_users: bool = False
    can_view_audit: bool = False
    # Shown on the login page after a session ended on its own.
    notice: str = ""

    # The token obtained on the connection `_token_sid` (sign-in, password change, another
    # tab's sign-in); any other connection uses its own cookie.
    _token: str = ""
    _token_sid: str = ""
    _actor: Actor | None = None
    _checked_at: float = 0.0
    _checked_token: str = ""
    # The user whose data the app's states hold (None: nobody's).
    _data_user: int | None = None

    def _connection_token(self) -> str:
        """The tab's session token ("" when signed out) for the connection this event came
        on: the token obtained in-band on this very connection, else the connection's
        cookie."""
        sid = self.router.session.session_id
        if not (self._token_sid and self._token_sid == sid):
            self._token_sid = ""
            self._token = cookie_token(self.router.headers.cookie)
        return self._token

    def _adopt(self, token: str) -> None:
        """Use `token` for this connection (obtained by this server, or a cookie the browser
        holds); it is verified like any other before it counts."""
        self._token = token
        self._token_sid = self.router.session.session_id

    def _apply(self, actor: Actor | None, token: str) -> None:
        self._actor = actor
        self._checked_at = time.time()
        self._checked_token = token
        self.signed_in = actor is not None
        self.username = actor.username if actor else ""
        self.display_name = actor.display_name if actor else ""
        self.role = actor.role if actor else ""
        self.employee_id = str(actor.employee_id) if actor and actor.employee_id else ""
        self.can_write_orders = bool(actor and actor.can(Permission.WRITE_ORDERS))
        self.can_write_records = bool(actor and actor.can(Permission.WRITE_RECORDS))
        self.can_manage_users = bool(actor and actor.can(Permission.MANAGE_USERS))
        self.can_view_audit = bool(actor and actor.can(Permission.VIEW_AUDIT))

    async def _current_actor(self) -> Actor | None:
        """The signed-in user of this connection, re-checked against the database when the
        token changes and every RECHECK_SECONDS."""
        token = self._connection_token()
        if not token:
            if self._actor is not None or self._checked_token:
                self._apply(None, "")
            formats.use(None)
            formats.use_zone(None)
            return None
        # A change to the user's account (role, deactivation, password: heard by the live
        # updates, live/registry.py) makes the check stale at once.
        fresh = (token == self._checked_token
                 and time.time() - self._checked_at < RECHECK_SECONDS
                 and self._checked_at > user_changed_at(
                     self._actor.user_id if self._actor else None))
        if not fresh:
            had = self._actor is not None
            # Not `backend.write`: the middleware calls this before any handler, and must see
            # the database's own error (an outage refuses the event with the banner,
            # `outage_update`; anything else propagates as it is).
            actor = await asyncio.to_thread(backend.run_write, auth.session_actor, token)
            self._apply(actor, token)
            if actor is None and had:
                self.notice = "Your session has ended. Please sign in again."
        # The verified user's number format and time zone for this event's display helpers
        # (formats.py).
        formats.use(self._actor.number_format if self._actor else None)
        formats.use_zone(self._actor.time_zone if self._actor else None)
        return self._actor

    def _sign_in(self, actor: Actor, token: str) -> EventSpec:
        """Sign this tab in with a session this server has just started; the returned event
        (to be sent to the browser) writes the cookie and tells the browser's other tabs."""
        self._adopt(token)
        self.notice = ""
        self._apply(actor, token)
        return _write_cookie(token, int(settings.session_max_days * 86400))

    @rx.event
    async def logout(self):
        token = self._connection_token()
        if token:
            await backend.write(self, auth.end_session, token)
        self._adopt("")
        self._apply(None, "")
        await _forget_data(self)
        self.notice = "You have signed out."
        return [_write_cookie("", 0), rx.redirect(LOGIN_ROUTE)]

    @rx.event
    def cookie_changed(self, cookies: str | None):
        """Another tab of this browser signed in or out (`session_sync` sends the cookies it
        wrote; None for another storage key): take the session cookie. This tab's next event
        checks the session (`_current_actor`: a token it has not verified counts for nothing
        until the database knows it); the login page checks it at once, and goes on if it is
        now signed in. A signed-in page whose cookie is gone (the user signed out in another
        tab) is checked at once too, so it goes to the login page now, not at its next
        action. Other pages are not loaded again, which would throw away a form being
        filled in (another sign-in of the same user only renews the session)."""
        if not isinstance(cookies, str):
            return None
        token = cookie_token(cookies)
        signed_out = not token and self._connection_token() != ""
        self._adopt(token)
        if self.router.url.path == LOGIN_ROUTE:
            return OnLoadInternalState.on_load_internal
        if signed_out:
            from northwind_app.live.tabs import LiveState  # (live.tabs imports this module)

            self.notice = "You signed out in another tab."
            # An event of a signed-in state: the middleware finds no session and sends the
            # tab to the login page, dropping what it showed (as for any ended session).
            return LiveState.ping
        return None


def _app_states(root: type[BaseState]) -> list[type[BaseState]]:
    """Every state class of this app below `root`, but AuthState (the ones that hold data)."""
    found, stack = [], list(root.get_substates())
    while stack:
        cls = stack.pop()
        stack.extend(cls.get_substates())
        if cls.__module__.startswith("northwind_app.") and cls is not AuthState:
            found.append(cls)
    return found


async def _forget_data(auth_state: AuthState) -> None:
    """Reset every app state of the tab (what the previous identity loaded) to its defaults."""
    for cls in _app_states(type(auth_state._get_root_state())):
        substate = await auth_state.get_state(cls)
        for name, field in cls.__fields__.items():
            if field._owner is cls and not name.startswith("rx_router"):
                setattr(substate, name, field.default_value())
    auth_state._data_user = None


def cookie_token(header: str) -> str:
    """The session token in a `Cookie` header (or `document.cookie`), or "": read by the
    parser the API reads it with (Starlette's `request.cookies`), which, unlike
    `http.cookies`, does not give up on the whole header for another cookie's odd value."""
    return cookie_parser(header or "").get(COOKIE_NAME, "")


def _write_cookie(token: str, max_age: int) -> EventSpec:
    """Set (or, with max_age 0, remove) the browser's session cookie, then tell the browser's
    other tabs (a `storage` event there). Through the Cookie Store API where the browser has
    it (its promise resolves once the cookie is stored, so another tab reading it then finds
    it; `document.cookie` written in one tab can reach another's after the storage event)."""
    name, value = json.dumps(COOKIE_NAME), json.dumps(token)
    store = (f"cookieStore.set({{name: {name}, value: {value}, path: '/', sameSite: 'strict', "
             f"expires: Date.now() + {max_age * 1000}}})" if max_age else
             f"cookieStore.delete({{name: {name}, path: '/'}})")
    cookie = json.dumps(f"{COOKIE_NAME}={token}; path=/; max-age={max_age}; samesite=strict")
    return rx.call_script(
        f"(window.cookieStore ? {store} : Promise.resolve(document.cookie = {cookie}))"
        f".then(() => localStorage.setItem({json.dumps(SYNC_KEY)}, "
        "String(Date.now()) + Math.random()))")


def session_sync() -> rx.Component:
    """Listens, in every tab, for another tab signing in or out (an app-wide wrap) and sends
    `AuthState.cookie_changed` the session cookie it wrote."""
    name = json.dumps(COOKIE_NAME)

    def read_cookie(key: rx.Var, *_: rx.Var) -> EventSpec:
        read = FunctionStringVar.create(
            f"(() => {key} !== {json.dumps(SYNC_KEY)} ? null : window.cookieStore ? "
            f"cookieStore.get({name}).then((c) => c ? {name} + '=' + c.value : '') "
            ": document.cookie)")
        return rx.call_function(read, callback=AuthState.cookie_changed)

    return rx.fragment(rx.window_event_listener(on_storage=read_cookie))


async def actor_of(state: BaseState) -> Actor:
    """The signed-in user for a handler of any state (the middleware has checked it)."""
    actor = await (await state.get_state(AuthState))._current_actor()
    if actor is None:
        raise Forbidden("Your session has ended. Please sign in again.")
    return actor


def login_url(path: str, query: str = "") -> str:
    """The login page, returning to `path?query` afterwards."""
    target = path + (f"?{query}" if query else "")
    if not path.startswith("/") or path.startswith(LOGIN_ROUTE):
        return LOGIN_ROUTE
    return f"{LOGIN_ROUTE}?{urlencode({'next': target}, quote_via=quote)}"


def safe_next(value: Any) -> str:
    """Where to go after signing in: only a path on this site (never //host or a scheme)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and not value.startswith(LOGIN_ROUTE):
        return value
    return "/"


def _state_class(root: BaseState, event: Event) -> type[BaseState] | None:
    path, _, _handler = event.name.rpartition(".")
    try:
        return type(root).get_class_substate(path)
    except ValueError:
        return None


def _needed(cls: type) -> tuple[bool, Permission | None]:
    """(sign-in needed, permission needed) for events of `cls`."""
    if not cls.__module__.startswith("northwind_app.") or cls is AuthState:
        return False, None  # Reflex's own states (hydrate, on-load dispatch, …); logout
    permission = None
    for klass in cls.__mro__:
        if klass in _PUBLIC:
            return False, None
        permission = permission or _REQUIRED.get(klass)
    return True, permission


class AuthMiddleware(Middleware):
    """Refuses events of protected states unless a signed-in user (with the permission the
    state requires) sent them; see the module docstring."""

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        cls = _state_class(state, event)
        if cls is None:
            return None  # not a state event; Reflex handles it
        # Every event, Reflex's own (hydrate) included: whose tab is this now? Data loaded
        # for another identity is dropped before anything is sent.
        auth_state = await state.get_state(AuthState)
        outage_seen = None
        try:
            actor = await auth_state._current_actor()
        except Exception as exc:
            from northwind_app.ui import outage  # (it imports this module)
            if not outage.is_unavailable(exc):
                raise
            # The database cannot say whose tab this is now: what the tab holds is kept only
            # for the token it was verified for, and only public events go on (the outage
            # banner's retry among them); the others get the banner.
            actor, outage_seen = None, outage
            if auth_state._connection_token() != auth_state._checked_token \
                    and auth_state._data_user is not None:
                await _forget_data(auth_state)
        if outage_seen is None:
            user_id = actor.user_id if actor else None
            if auth_state._data_user is not None and auth_state._data_user != user_id:
                await _forget_data(auth_state)
            auth_state._data_user = user_id
            # The tab watches its user's account changes (and forgets what it watched for
            # another identity).
            live_tabs.seen(state.router.session.client_token, user_id,
                           state.router.url.path or "/")
        if cls is AuthState and event.name.rpartition(".")[2] not in _AUTH_EVENTS:
            return await _refused(state)  # its generic `setvar`: nothing here is the browser's to set
        signed_in_needed, permission = _needed(cls)
        if not signed_in_needed:
            return None
        if outage_seen is not None:
            return await outage_seen.outage_update(state, event)
        if actor is not None and (permission is None or actor.can(permission)):
            return None
        if actor is None:
            url = state.router.url
            follow_up = rx.redirect(login_url(url.path or "/", url.query))
        else:
            follow_up = rx.toast.error(
                f"Your role ({actor.role}) may not {auth.PERMISSION_TEXT[permission]}.")
        return await _refused(state, follow_up)


async def _refused(state: BaseState, follow_up: EventSpec | None = None) -> StateUpdate:
    """The update for a refused event: what the check itself changed, and `follow_up`."""
    delta = await state._get_resolved_delta()
    state._clean()
    return StateUpdate(delta=delta, events=Event.from_event_type([follow_up] if follow_up else []))
