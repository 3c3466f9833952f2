"""Who is calling: personal API tokens (`Authorization: Bearer nwt_…`) and the permission
checks of the routes.

Every resource route authenticates in its route handler (`routing.ExactJSONRoute`), before
FastAPI reads or validates the body, so an unauthenticated request is a 401 whatever it sends,
and a role that may not use a route is a 403 before its body is looked at. A token seen in the
last seconds is answered from the per-process cache (`auth.token_cache`) without leaving the
event loop; any other is looked up in a worker thread (one indexed query; the database is
synchronous). The caller is kept on the request, so the `CurrentActor` dependency that
endpoints use is a plain attribute read.

Which role may do what is decided by the services (`Actor.require`, `services.auth.ROLES`);
`RequirePermission` only asks the same question early. The services ask it again.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from northwind_app.api.deps import database_url
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.services import auth
from northwind_app.services.auth import Actor, AuthenticationFailed, Permission

log = logging.getLogger("northwind_app.api")

TOKEN_HELP = (
    "A personal API token: create one on the Account page or with "
    "`python -m northwind_app.users create-token USERNAME --name NAME`, and send it as "
    "`Authorization: Bearer nwt_…`."
)

# Documents the scheme in OpenAPI (the "Authorize" button of /api/docs). It never answers
# by itself (auto_error=False): `authenticate` has already checked the header.
bearer_scheme = HTTPBearer(scheme_name="apiToken", bearerFormat="nwt_…", description=TOKEN_HELP,
                           auto_error=False)

# Where the caller is kept: in the request's own ASGI scope, which is per request by
# definition (request.state is a copy of the server's lifespan state that each ASGI server
# must make per request; a scope key does not depend on every server getting that right).
ACTOR_KEY = "northwind_app.actor"

MISSING = "Authentication required: send an API token as 'Authorization: Bearer <token>'."
MALFORMED = "The Authorization header must be 'Bearer <token>'."
INVALID = ("The API token is not valid: it is unknown, revoked or expired, or its user is "
           "deactivated.")


class Unauthenticated(AuthenticationFailed):
    """A 401 of the API; `challenge` is the WWW-Authenticate value (RFC 6750)."""

    def __init__(self, message: str, challenge: str = "Bearer"):
        super().__init__(message)
        self.challenge = challenge


def _token(request: Request) -> str:
    return bearer_token(request.headers.get("authorization"))


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header's value; Unauthenticated when
    it is missing or malformed."""
    if header is None or not header.strip():
        raise Unauthenticated(MISSING)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthenticated(MALFORMED, 'Bearer error="invalid_request"')
    return token


def _touch(url: str | None, token_id: int) -> None:
    """Record that a token was used, in its own small transaction. Best effort: a busy or
    failing database must not fail the request the token was valid for."""
    try:
        write_transaction(lambda session: auth.touch_api_token(session, token_id), url)
    except Exception:  # noqa: BLE001 - only a timestamp; logged, never raised
        log.warning("Could not record the use of API token %s", token_id, exc_info=True)


def lookup_token(url: str | None, token: str) -> Actor | None:
    """The caller of an API token that is not in the token cache (a query, in a worker
    thread; the token is then cached), None when it is not valid."""
    found = auth.cached_api_token_actor(lambda: session_scope(url), token)
    if found is None:
        return None
    if found.needs_touch:
        _touch(url, found.token_id)
    return found.actor


def _session_lookup(url: str | None, token: str) -> Actor | None:
    # A write: it may extend the idle expiry.
    return write_transaction(lambda session: auth.session_actor(session, token), url)


# Read-only requests may instead carry the screens' session cookie, so a signed-in browser
# can follow links into the API (the orders screen's "Export CSV" downloads
# /api/orders/export.csv). Never for a change: the cookie is SameSite=Strict, and every
# write still needs a bearer token, so no other site can make a browser change data.
COOKIE_METHODS = frozenset({"GET", "HEAD"})


async def authenticate(request: Request) -> Actor:
    """The caller of `request` by its bearer token — or, for GET/HEAD without one, the
    screens' session cookie — kept on the request for `current_actor`; raises
    Unauthenticated (401) when there is no valid credential."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if ("authorization" not in request.headers and cookie
            and request.method in COOKIE_METHODS):
        actor = await run_in_threadpool(_session_lookup, database_url(request), cookie)
        if actor is None:
            raise Unauthenticated(INVALID.replace("API token", "session"))
        request.scope[ACTOR_KEY] = actor
        return actor
    token = _token(request)
    cached = auth.token_cache.get(token)  # a busy client's token: no trip to a thread
    actor = cached.actor if cached is not None \
        else await run_in_threadpool(lookup_token, database_url(request), token)
    if actor is None:
        raise Unauthenticated(INVALID, 'Bearer error="invalid_token"')
    request.scope[ACTOR_KEY] = actor
    return actor


async def current_actor(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Actor:
    """The authenticated caller. Routes of `ExactJSONRoute` have authenticated already;
    anywhere else this fails closed (401) instead of running without a caller."""
    actor = request.scope.get(ACTOR_KEY)
    if actor is None:
        raise Unauthenticated(MISSING)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


class RequirePermission:
    """Dependency: the caller, who must have `permission` (403 otherwise). Routes that use it
    are also checked by `ExactJSONRoute` right after authentication (`required_permissions`),
    so a caller who may not is refused before the body is read."""

    def __init__(self, permission: Permission):
        self.permission = permission

    async def __call__(self, actor: CurrentActor) -> Actor:
        actor.require(self.permission)
        return actor

    def __repr__(self) -> str:
        return f"RequirePermission({self.permission.value})"


class SelfOrPermission:
    """Dependency: the caller, acting on their own account (the path parameter `param` is
    their user id) or holding `permission` (403 otherwise). Like RequirePermission, checked
    by `ExactJSONRoute` before the body is read (`path_checks`): whether you may act on an
    account does not depend on what you send."""

    def __init__(self, permission: Permission, param: str = "id"):
        self.permission = permission
        self.param = param

    def check(self, actor: Actor, path_params: dict) -> None:
        # Before validation the parameter is the path's text: only the caller's own id,
        # written plainly, is theirs (the service checks the parsed id again).
        if str(path_params.get(self.param)) != str(actor.user_id):
            actor.require(self.permission)

    async def __call__(self, request: Request, actor: CurrentActor) -> Actor:
        self.check(actor, request.path_params)
        return actor

    def __repr__(self) -> str:
        return f"SelfOrPermission({self.permission.value}, {self.param!r})"


def actor_with(permission: Permission | None) -> object:
    """The endpoint parameter annotation for the caller, with `permission` when given."""
    if permission is None:
        return CurrentActor
    return Annotated[Actor, Depends(RequirePermission(permission))]


def path_checks(dependant: Dependant) -> list[SelfOrPermission]:
    """Every check of a route's dependencies that depends on its path (see SelfOrPermission)."""
    found: list[SelfOrPermission] = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, SelfOrPermission):
            found.append(dependency.call)
        found.extend(path_checks(dependency))
    return found


def required_permissions(dependant: Dependant) -> list[Permission]:
    """Every permission a route's dependencies require (see RequirePermission)."""
    found: list[Permission] = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, RequirePermission):
            found.append(dependency.call.permission)
        found.extend(required_permissions(dependency))
    return list(dict.fromkeys(found))
