"""FastAPI application for /api, put in front of Reflex's app by its `api_transformer` and, for a
plain (not cross-origin) request, around Reflex's own middleware (`around_reflex`)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from urllib.parse import quote

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from northwind_app.api import account, audit, customers, orders, products, reference, users
from northwind_app.api.errors import error_response, error_responses, install_error_handlers
from northwind_app.api.lean import LeanReads
from northwind_app.api.limits import BodySizeLimit
from northwind_app.api.origins import SameOriginWebSockets
from northwind_app.api.routing import SessionRoute, exactly, is_under
from northwind_app.db.engine import health_check
from northwind_app.settings import settings

log = logging.getLogger("northwind_app.api")

API_DESCRIPTION = """
The Northwind Orders REST API. Money is sent as decimal strings with two places
(`"440.00"`), discounts as exact decimal strings (`"0.15"`), dates are ISO 8601, and every
error has the same JSON body: `{"error": {"code": ..., "message": ..., "fields": {...}}}`.

Every list takes `limit` (1-500, default 25), `offset`, `sort` (`field` or `-field`) and `q`
(search), plus its own filters, and answers `{"items": [...], "total", "limit", "offset"}`.

**Authentication.** Every endpoint but `/api/health` needs a personal API token, sent as
`Authorization: Bearer nwt_…` (use **Authorize** above to try the endpoints here). Create one
on the Account page, with `POST /api/tokens`, or with
`python -m northwind_app.users create-token USERNAME --name "what it is for"`; it is shown only
once. Without a valid token the answer is 401 (`unauthorized`); when your role may not do
something, 403 (`forbidden`). Roles: **viewer** reads everything; **sales** also creates, edits,
ships and deletes orders and edits customers and products; **admin** also manages users and
reads the audit trail.
"""

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Every resource router. New resources are added here: `create_api` includes them before its
# catch-all for unknown /api paths, which would shadow routes added to the app afterwards.
ROUTERS = (customers.router, products.router, orders.router, *reference.ROUTERS,
           account.router, users.router, audit.router)


class DatabaseHealth(BaseModel):
    status: str = Field(examples=["ok"])
    dialect: str = Field(examples=["sqlite"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: DatabaseHealth


# Health checks run in threads of their own (as many at once as API requests), so a hung
# database that holds every request thread does not also hold the health check.
_health_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = \
    weakref.WeakKeyDictionary()


def _health_limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    if loop not in _health_limiters:
        _health_limiters[loop] = anyio.CapacityLimiter(settings.api_threads)
    return _health_limiters[loop]


async def check_health(database_url: str | None) -> str | None:
    """The database's dialect when it answers within NORTHWIND_HEALTH_TIMEOUT seconds, else
    None (why is logged). The connections of the check time out after that long too, so an
    abandoned check's thread ends soon after."""
    deadline = settings.health_timeout
    try:
        with anyio.fail_after(deadline):
            return await anyio.to_thread.run_sync(health_check, database_url,
                                                  limiter=_health_limiter(),
                                                  abandon_on_cancel=True)
    except TimeoutError:
        log.warning("Health check: the database did not answer within %s s", deadline)
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        log.warning("Health check: the database is unavailable: %s",
                    str(getattr(exc, "orig", None) or exc).splitlines()[0])
    return None


def create_api(database_url: str | None = None) -> FastAPI:
    """The API on `database_url` (default: the configured database, `settings.database_url`).
    HTTP CORS is Reflex's (it adds the middleware in front of everything)."""
    api = FastAPI(
        title="Northwind Orders API",
        version="1.0.0",
        description=API_DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        responses=error_responses(500, 503),
    )
    api.state.database_url = database_url
    # The app's own routes (health, the catch-all) run like the resource routes: a synchronous
    # endpoint in a worker thread that begins and ends its database session.
    api.router.route_class = SessionRoute
    install_error_handlers(api)
    api.add_middleware(BodySizeLimit)  # NORTHWIND_MAX_BODY_BYTES; 413 above (see limits.py)
    if settings.lean_reads:  # the two hottest GETs beneath FastAPI's machinery (lean.py)
        api.add_middleware(LeanReads, database_url=database_url)

    @api.get("/api/health", tags=["health"], response_model=Health,
             summary="Check the service and its database",
             description="503 when the database does not answer within "
                         "NORTHWIND_HEALTH_TIMEOUT seconds (default 2).")
    async def health():
        dialect = await check_health(database_url)
        if dialect is None:
            return error_response(503, "database_unavailable",
                                  "The database is not reachable or did not answer in time.")
        return {"status": "ok", "database": {"status": "ok", "dialect": dialect}}

    for router in ROUTERS:
        api.include_router(router)

    # Every /api path comes here (see ApiFirst): an unknown one is answered in the standard
    # error body (404, or 405 with Allow when the path exists). Only the API's own routes,
    # registered above, are probed.
    api_routes = list(api.router.routes)

    @api.api_route("/api", methods=ALL_METHODS, include_in_schema=False)
    @api.api_route("/api/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    def unknown_api_route(request: Request):
        allowed = [
            method for method in ALL_METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                   for route in api_routes)
        ]
        if allowed:
            methods = ", ".join(allowed)
            return error_response(405, "method_not_allowed",
                                  f"{request.method} is not allowed here; use {methods}.",
                                  headers={"Allow": methods})
        return error_response(404, "not_found",
                              f"There is no API endpoint at {quote(request.scope['path'])}.")

    for route in api.router.routes:  # the schema and docs routes too (see routing.exactly)
        if getattr(route, "path_regex", None) is not None:
            route.path_regex = exactly(route.path_regex)
    return api


class ApiFirst:
    """ASGI app sending /api and /api/... to the API and everything else (the pages, Reflex's
    event websocket, uploads and own endpoints) to Reflex's app. Mounting Reflex's app behind
    the API instead would make every page, asset and websocket request try each API route
    first (FastAPI's routing tries them one by one), and every API request go through the
    middleware of both apps."""

    def __init__(self, api: ASGIApp, app: ASGIApp):
        self.api = api
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and is_under(_route_path(scope), "/api"):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class ApiAroundReflex:
    """ASGI app sending a plain HTTP request for /api (no `Origin` header: not a browser's
    cross-origin request) straight to the API, around Reflex's own top-level app (its error
    and CORS middleware, its context middleware, its one mount), and everything else to that
    app, whose `api_transformer` (ApiFirst) still routes the rest of /api: CORS requests and
    websockets. For such a request those layers change nothing but one header: Starlette's CORS
    middleware adds `Vary: Origin` to every response, so this does too. The API has its own
    error middleware; the API needs no Reflex context (it never touches a Reflex state)."""

    def __init__(self, api: ASGIApp, app: ASGIApp):
        self.api = api
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_under(_route_path(scope), "/api") \
                or any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _vary_origin(message.get("headers") or [])
            await send(message)

        await self.api(scope, receive, send_varying)


def _vary_origin(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with Origin added to its Vary header (one Vary header, as Starlette's CORS
    middleware writes it)."""
    values = [value for name, value in headers if name.lower() == b"vary"]
    if not values:
        return [*headers, (b"vary", b"Origin")]
    return [*((name, value) for name, value in headers if name.lower() != b"vary"),
            (b"vary", b", ".join([*values, b"Origin"]))]


def around_reflex(api: ASGIApp) -> Callable[[ASGIApp], ASGIApp]:
    """`security_headers.App.around_reflex`: Reflex's top-level app behind ApiAroundReflex."""
    return lambda reflex_app: ApiAroundReflex(api, reflex_app)


def in_front_of_reflex(api: ASGIApp, allowed_origins: Sequence[str] | None = None,
                       ) -> Callable[[ASGIApp], ASGIApp]:
    """Reflex's `api_transformer`: Reflex's app behind `api` (see ApiFirst), its event
    websocket open only to the app's own pages and `allowed_origins` (default:
    NORTHWIND_CORS_ORIGINS; see origins.py)."""
    allowed = settings.cors_origins if allowed_origins is None else allowed_origins

    def transform(reflex_app: ASGIApp) -> ASGIApp:
        return ApiFirst(api, SameOriginWebSockets(reflex_app, allowed_origins=allowed))

    return transform
