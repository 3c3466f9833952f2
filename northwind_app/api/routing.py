"""Building blocks for resource routers: authentication, exact JSON parsing and the endpoints
every entity shares (list + detail; create/replace/update/delete for editable ones; the audit
history of a record), written once.

The endpoint functions are made inside the builders so that their annotations name the
entity's own models; this module deliberately has no ``from __future__ import annotations``
(FastAPI reads the annotations at definition time).
"""

import asyncio
import functools
import inspect
import json
import re
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, get_args, get_origin

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope
from sqlmodel import Session

from northwind_app.api.deps import DbSession, WriteSession, run_with_sessions
from northwind_app.api.errors import error_response, error_responses
from northwind_app.api.schemas import AuditEntryOut, ListQuery, PageOut
from northwind_app.api.security import (
    actor_with, authenticate, current_actor, path_checks, required_permissions,
)
from northwind_app.services import audit
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.listing import Listing, ListParams, Page
from northwind_app.settings import settings


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _exact_number(text: str) -> Decimal | int:
    """A JSON number with a fraction or exponent: exact. One with an integral value (`42.0`,
    `1e2`) is an integer, as JSON Schema's "integer" says, so integer fields take it; beyond
    20 digits it stays a Decimal (an integer field refuses it; no huge int is made)."""
    value = Decimal(text)
    if value.is_finite() and value == value.to_integral_value() and value.adjusted() < 20:
        return int(value)
    return value


class ExactJSONRequest(Request):
    """Parses JSON numbers with a fraction as `Decimal`, so amounts are never floats (and
    integral ones such as `42.0` as integers, see `_exact_number`); a body
    that is not UTF-8 JSON (or uses NaN/Infinity) is a JSON error, answered with 400."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, parse_float=_exact_number,
                                        parse_constant=_reject_constant)
            except json.JSONDecodeError:
                raise
            except ValueError as exc:  # not UTF-8, or NaN/Infinity
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from exc
        return self._json


# The endpoints of a worker process run in at most settings.api_threads threads at once;
# further requests wait in the event loop for one. Python code in a process runs on one core
# at a time (the GIL), so more threads than that only take turns, each request holding its
# database connection and memory longer while it waits; a few threads still let a request
# that waits on the database leave the core to another. One limiter per event loop (tests
# run several loops). anyio's threads, not a ThreadPoolExecutor with `run_in_executor`,
# which costs more per request. (Measurements: bench/README.md.)
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = \
    weakref.WeakKeyDictionary()


def endpoint_limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(settings.api_threads)
    return limiter


def _in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` (synchronous) as a coroutine function that runs it in a worker thread
    (within `endpoint_limiter`), with the same signature for FastAPI."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(endpoint, *args, **kwargs),
                                              limiter=endpoint_limiter())

    return run


class QueryModel:
    """Dependency: the request's query parameters read into `model` (a list's limit, offset,
    sort, search and filters) by one validation, answered like FastAPI's own query models:
    422 naming each bad parameter (`query.<name>`), unknown parameters ignored, the last
    value of a repeated one taken. FastAPI's `Annotated[model, Query()]` walks the model's
    fields in Python on every request, a noticeable share of a list request's time
    (bench/README.md).
    The parameters are documented as FastAPI documents a query model (`parameters`, which
    `SessionRoute` adds to the operation). Use `query_model(model)` as the annotation. (One
    difference: FastAPI reads a route's dependencies before its path, so a request with a bad
    path parameter and bad query parameters is answered with the query's errors.)"""

    def __init__(self, model: type[BaseModel]):
        for name, field in model.model_fields.items():
            if field.alias or field.validation_alias or _is_sequence(field.annotation):
                raise TypeError(f"{model.__name__}.{name}: aliases and lists are not read")
        self.model = model

    async def __call__(self, request: Request) -> BaseModel:
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError([
                {**error, "loc": ("query", *error["loc"])}
                for error in exc.errors(include_url=False)]) from None

    @functools.cached_property
    def parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI parameters of the model's fields, as FastAPI writes them."""
        schema = self.model.model_json_schema()
        assert "$defs" not in schema, "query fields must have inline schemas"
        parameters = []
        for name, field in self.model.model_fields.items():
            parameter = {"name": name, "in": "query", "required": field.is_required(),
                         "schema": schema["properties"][name]}
            if field.description:
                parameter["description"] = field.description
            parameters.append(parameter)
        return parameters

    def __repr__(self) -> str:
        return f"QueryModel({self.model.__name__})"


def _is_sequence(annotation: Any) -> bool:
    return any(get_origin(arg) in (list, set, tuple, frozenset)
               for arg in (annotation, *get_args(annotation)))


def query_model(model: type[BaseModel]) -> Any:
    """The endpoint parameter annotation for the query parameters read into `model`."""
    return Annotated[model, Depends(QueryModel(model))]


def _query_models(dependant: Any) -> list[QueryModel]:
    found = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, QueryModel):
            found.append(dependency.call)
        found.extend(_query_models(dependency))
    return found


class SessionRoute(APIRoute):
    """A route whose synchronous endpoint runs in a worker thread, where its database
    sessions are begun and ended (see deps.py). It is handed to FastAPI as a coroutine that
    makes that one trip: FastAPI would otherwise also validate its response in a worker
    thread, a second trip. The session dependencies only work on such routes."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.finishes_sessions = not inspect.iscoroutinefunction(endpoint)
        if self.finishes_sessions:
            endpoint = _in_worker_thread(run_with_sessions(endpoint))
        super().__init__(path, endpoint, **kwargs)
        self.path_regex = exactly(self.path_regex)  # (routes the app includes: PrefixRouter)
        documented = [parameter for query in _query_models(self.dependant)
                      for parameter in query.parameters]
        if documented:
            extra = dict(self.openapi_extra or {})
            extra["parameters"] = [*extra.get("parameters", ()), *documented]
            self.openapi_extra = extra


def exactly(path_regex: re.Pattern[str]) -> re.Pattern[str]:
    """`path_regex` (Starlette's) matching whole paths only: Starlette's patterns end in `$`,
    which also matches before a final newline (`/api/me%0A` answered as /api/me), and its
    `{name:path}` (`.*`) stops at a newline (the catch-all missed `/api/x%0Ay`)."""
    if not path_regex.pattern.endswith("$"):
        return path_regex  # already exact
    return re.compile(path_regex.pattern.removesuffix("$") + r"\Z", re.DOTALL)


class ExactJSONRoute(SessionRoute):
    """A route that authenticates its caller first (401), then checks the permissions its
    dependencies require (403), and only then lets FastAPI read and validate the request (with
    exact JSON numbers). So an unauthenticated or unauthorised request learns nothing about
    what it sent, and is refused without its body being parsed. A route whose permission
    depends on its path (your own account, or anyone's as an admin: `security.SelfOrPermission`)
    is checked the same way, on the path's parameters."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()
        permissions = required_permissions(self.dependant)
        checks = path_checks(self.dependant)

        async def exact_json_handler(request: Request) -> Response:
            exact = ExactJSONRequest(request.scope, request.receive)
            actor = await authenticate(exact)
            for permission in permissions:
                actor.require(permission)
            for check in checks:
                check.check(actor, request.path_params)
            return await handler(exact)

        return exact_json_handler


class PrefixRouter(APIRouter):
    """An APIRouter that a request outside its prefix passes at once. FastAPI (0.16x) matches
    a request against an included router by trying each of its routes in turn (each try
    setting and restoring keys of the request's scope), so a request paid for trying every
    route of every router included before the one that serves it. Include it without a further
    prefix (`create_api` does)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        # FastAPI matches included routes by patterns it compiles itself, ending in `$` (see
        # `exactly`): a path ending in a newline is no route's.
        if not is_under(path, self.prefix) or path.endswith("\n"):
            return Match.NONE, {}
        return super().matches(scope)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def guard_fixed_path(router: APIRouter, path: str) -> None:
    """Answer the methods that fixed `path` of `router` does not have with 405 and `Allow`,
    as the API does for any path (app.py's catch-all). Needed where a parameter route of the
    router would otherwise take the path for its parameter: `PUT /api/orders/export.csv` was
    order "export.csv" (422). Call it after the path's own routes, before the parameter
    route's (routes are matched in order)."""
    full = router.prefix + path
    allowed = [method for method in METHODS if any(
        isinstance(route, APIRoute) and route.path == full and method in route.methods
        for route in router.routes)]
    assert allowed, f"declare {full}'s own routes first"
    allow = ", ".join(allowed)

    @router.api_route(path, methods=[m for m in METHODS if m not in allowed],
                      include_in_schema=False)
    async def method_not_allowed(request: Request):
        return error_response(405, "method_not_allowed",
                              f"{request.method} is not allowed here; use {allow}.",
                              headers={"Allow": allow})


def is_under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or below it ("/api/orders/1" is under "/api/orders",
    "/api/ordersx" is not)."""
    return path == prefix or path.startswith(prefix + "/")


def resource_router(prefix: str, tag: str) -> APIRouter:
    """A router whose every route needs an API token (documented as the bearer scheme, and
    with the 401 answer, on each operation)."""
    return PrefixRouter(prefix=prefix, tags=[tag], route_class=ExactJSONRoute,
                     dependencies=[Depends(current_actor)], responses=error_responses(401))


def add_list_route(
    router: APIRouter,
    *,
    plural: str,
    query: type[ListQuery],
    item: type[BaseModel],
    page: Callable[[Session, Actor, ListParams], Page],
    permission: Permission | None = None,
    summary: str = "",
) -> None:
    """GET {prefix}: a page of `item`s from `page(session, actor, params)`; only for callers
    with `permission` when one is given."""
    statuses = (403, 422) if permission else (422,)

    @router.get("", response_model=PageOut[item], name=f"list_{plural.replace(' ', '_')}",
                summary=summary or f"List {plural}", responses=error_responses(*statuses))
    def list_items(actor: actor_with(permission), params: query_model(query),
                   session: DbSession):
        return page(session, actor, params.list_params())


def add_read_routes(
    router: APIRouter,
    *,
    plural: str,
    singular: str,
    listing: Listing,
    query: type[ListQuery],
    item: type[BaseModel],
    detail: type[BaseModel],
    get: Callable[[Session, Any], dict],
    id_type: Any,
) -> None:
    """GET {prefix} (a page of `item`s) and GET {prefix}/{id} (one `detail`); any signed-in
    caller may read."""
    add_list_route(router, plural=plural, query=query, item=item,
                   page=lambda session, _actor, params: listing.page(session, params))

    @router.get("/{id}", response_model=detail, name=f"get_{singular}",
                summary=f"Get one {singular}", responses=error_responses(404, 422))
    def get_item(id: id_type, session: DbSession):  # noqa: A002 - the path parameter's name
        return get(session, id)


def add_write_routes(
    router: APIRouter,
    *,
    singular: str,
    detail: type[BaseModel],
    id_type: Any,
    id_field: str,
    new_body: type[BaseModel],
    replace_body: type[BaseModel],
    patch_body: type[BaseModel],
    permission: Permission,
    create: Callable[..., dict],
    replace: Callable[..., dict],
    update: Callable[..., dict],
    delete: Callable[..., None],
) -> None:
    """POST (201 + Location), PUT (full replace), PATCH (partial), DELETE (204); each one
    transaction, only for callers with `permission`. Bodies are passed to the service as given
    (PATCH: only the sent fields), with the caller as `actor` (who the audit names)."""
    Writer = actor_with(permission)

    @router.post("", response_model=detail, status_code=201, name=f"create_{singular}",
                 summary=f"Create a {singular}", responses=error_responses(400, 403, 409, 422))
    def create_item(actor: Writer, body: new_body, response: Response, session: WriteSession):
        created = create(session, body.model_dump(exclude_unset=True), actor=actor)
        response.headers["Location"] = f"{router.prefix}/{created[id_field]}"
        return created

    @router.put("/{id}", response_model=detail, name=f"replace_{singular}",
                summary=f"Replace a {singular} (fields left out are cleared)",
                responses=error_responses(400, 403, 404, 422))
    def replace_item(actor: Writer, id: id_type, body: replace_body,  # noqa: A002
                     session: WriteSession):
        return replace(session, id, body.model_dump(exclude_unset=True), actor=actor)

    @router.patch("/{id}", response_model=detail, name=f"update_{singular}",
                  summary=f"Change some fields of a {singular} (null clears a field)",
                  responses=error_responses(400, 403, 404, 422))
    def update_item(actor: Writer, id: id_type, body: patch_body,  # noqa: A002
                    session: WriteSession):
        return update(session, id, body.model_dump(exclude_unset=True), actor=actor)

    @router.delete("/{id}", status_code=204, response_class=Response, name=f"delete_{singular}",
                   summary=f"Delete a {singular}",
                   responses=error_responses(403, 404, 409, 422))
    def delete_item(actor: Writer, id: id_type, session: WriteSession):  # noqa: A002
        delete(session, id, actor=actor)
        return Response(status_code=204)


def add_history_route(router: APIRouter, *, entity: str, singular: str, id_type: Any,
                      key: Callable[[Any], str] = str) -> None:
    """GET {prefix}/{id}/history: the record's audit trail, newest first (at most
    audit.HISTORY_LIMIT entries). Anyone who may read the record may read its history; a
    deleted record keeps its history (ending with the deletion), an unknown id has none."""

    @router.get("/{id}/history", response_model=list[AuditEntryOut], name=f"{singular}_history",
                summary=f"The change history of a {singular} (who changed what, when)",
                responses=error_responses(422))
    def history(id: id_type, session: DbSession):  # noqa: A002
        return audit.history(session, entity, key(id))
