"""A lean read path for the API's two hottest GETs, beneath FastAPI's request machinery:
`GET /api/orders` (the list) and `GET /api/orders/{id}` (one order).

FastAPI answers every request by walking its routes, solving the route's dependencies
(the token, the query model, the session, the response object), running the endpoint, then
validating what it returned against the response model and serializing it. For these two
reads that machinery cost more CPU than the endpoint's own work (bench/README.md, "Against
the Node.js peer"). `LeanReads`, an ASGI middleware in front of FastAPI's router
(`create_api` installs it), answers them itself, doing the same steps directly:

1. the same token check: the bearer token of the `Authorization` header, from the
   per-process token cache (`auth.token_cache`) or, when it is not cached, looked up in the
   request's worker thread (`security.lookup_token`, what `security.authenticate` runs);
2. the same query validation: the route's own query model (`OrderListQuery`) validates the
   query string as `routing.QueryModel` does; a path id is its digits only, 1..MAX_INT, as
   `RowIdPath` says;
3. the same service call (`orders.list_orders`, `orders.get_order`): with a cached token
   on MariaDB/MySQL on this machine, on the worker's event loop through asyncmy
   (`db/loop_reads.py`: the same statements, values and rows, no thread hop); otherwise, or
   when the call needs a statement that has no plan yet, in one worker thread (within
   `routing.endpoint_limiter`), on the read pool `deps.read_session` uses, but through a
   pooled connection without an ORM Session (`engine.run_read`: the same read-only,
   autocommit connection; the Session's bookkeeping cost a third of the read);
4. the same response: the route's response model (`PageOut[OrderItem]`, `OrderOut`) read
   field by field, each value serialized as the model serializes it (`ModelEncoder`),
   written by pydantic's own JSON writer (`pydantic_core.to_json`): the same bytes as
   FastAPI's, the `ETag` of the order's version too (tests/api/test_lean.py compares them).

Anything else — another method or path, no bearer token (the screens' session cookie),
a token that is not valid, a query or id that does not validate, a refusal of the service
(404) or a database error — goes to FastAPI untouched (for a refusal: again, so its answer
is FastAPI's own, the standard error body): every answer but the successful read stays
FastAPI's, except one: a read on the event loop that the database did not answer in time
is answered 503 here, with FastAPI's body, rather than making FastAPI wait for it again.
The routes stay declared in `api/orders.py` too, so the one OpenAPI document still
describes them, and with `NORTHWIND_LEAN_READS=0` FastAPI serves them again (to measure
one against the other).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import types
import typing
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, PlainSerializer, ValidationError
from pydantic_core import to_json
from starlette._utils import get_route_path
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from northwind_app.api import orders
from northwind_app.api.errors import unavailable_response
from northwind_app.api.routing import endpoint_limiter
from northwind_app.api.schemas import PageOut
from northwind_app.api.security import Unauthenticated, bearer_token, lookup_token
from northwind_app.db.engine import run_read
from northwind_app.db.loop_reads import DatabaseTimeout, NotOnTheLoop, loop_reads
from northwind_app.services import auth
from northwind_app.services import orders as svc
from northwind_app.services.errors import ServiceError
from northwind_app.services.validation import MAX_INT

log = logging.getLogger("northwind_app.api")
_RECORD = re.compile(r"[0-9]{1,10}\Z")
_PASS = object()  # the worker's answer when FastAPI must answer the request instead


class ModelEncoder:
    """A response model's fields read from an object (a service's dataclass) into a dict
    of JSON-ready values, each serialized as the model would serialize it: a field with a
    `PlainSerializer` (money, fractions) through its function, a list of models through that
    model's encoder, every other value (ints, strings, dates, datetimes, enums' values)
    as it is, for `pydantic_core.to_json`, which writes it as pydantic does. A field of
    another kind is refused when the encoder is made (TypeError), never guessed."""

    PLAIN = (int, str, bool, dt.date, dt.datetime, type(None))

    def __init__(self, model: type[BaseModel]):
        self.names = tuple(model.model_fields)
        self.get = attrgetter(*self.names)
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        for index, (name, field) in enumerate(model.model_fields.items()):
            convert = self._converter(model, name, field)
            if convert is not None:
                self.convert.append((index, convert))
        self.convert_named = [(self.names[index], convert) for index, convert in self.convert]
        self.same: dict[type, bool] = {}

    def _converter(self, model: type[BaseModel], name: str, field: Any) -> Any:
        serializers = [m for m in field.metadata if isinstance(m, PlainSerializer)]
        if serializers:
            func = serializers[0].func
            if field.is_required():
                return func
            return lambda value: None if value is None else func(value)
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                nested = ModelEncoder(item)
                return lambda values: [nested(value) for value in values]
        if self._plain(annotation):
            return None
        raise TypeError(f"{model.__name__}.{name}: {annotation!r} is not encoded here")

    def _plain(self, annotation: Any) -> bool:
        origin = typing.get_origin(annotation)
        if origin is typing.Literal:
            return all(isinstance(arg, str) for arg in typing.get_args(annotation))
        if origin in (typing.Union, types.UnionType):
            return all(self._plain(arg) for arg in typing.get_args(annotation))
        return annotation in self.PLAIN

    def __call__(self, obj: Any) -> dict[str, Any]:
        fields = getattr(obj, "__dict__", None)
        if fields is not None and len(fields) == len(self.names) \
                and self._same_fields(type(obj), fields):
            # a dataclass holding just the model's fields, in its order: its own dict
            values = dict(fields)
            for name, convert in self.convert_named:
                values[name] = convert(values[name])
            return values
        items = list(self.get(obj))
        for index, convert in self.convert:
            items[index] = convert(items[index])
        return dict(zip(self.names, items))

    def _same_fields(self, cls: type, fields: dict[str, Any]) -> bool:
        """Whether instances of `cls` hold the model's fields in its order (checked once per
        class; an instance with another number of attributes is read field by field)."""
        same = self.same.get(cls)
        if same is None:
            same = self.same[cls] = tuple(fields) == self.names
        return same


_PAGE = ModelEncoder(PageOut[orders.OrderItem])
_ORDER = ModelEncoder(orders.OrderOut)


def _json(body: dict[str, Any]) -> bytes:
    return to_json(body)


class LeanReads:
    """ASGI middleware answering `GET /api/orders` and `GET /api/orders/{id}` directly (see
    the module's docstring); every other request goes to `app`."""

    def __init__(self, app: ASGIApp, database_url: str | None = None):
        self.app = app
        self.url = database_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = get_route_path(scope)
            response = None
            try:
                if path == orders.PREFIX:
                    response = await self._list(scope)
                elif path.startswith(orders.PREFIX + "/") and \
                        _RECORD.match(path, len(orders.PREFIX) + 1):
                    response = await self._order(scope, int(path[len(orders.PREFIX) + 1:]))
            except DatabaseTimeout:
                response = _unavailable()
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _list(self, scope: Scope) -> Response | None:
        token = _token(scope)
        if token is None:
            return None
        try:
            query = orders.OrderListQuery.model_validate(
                dict(QueryParams(scope["query_string"])))
        except ValidationError:
            return None
        params = query.list_params()
        page = await self._read(token, lambda session: svc.list_orders(session, params))
        if page is _PASS:
            return None
        return Response(_json(_PAGE(page)), media_type="application/json")

    async def _order(self, scope: Scope, order_id: int) -> Response | None:
        if not 1 <= order_id <= MAX_INT:
            return None
        token = _token(scope)
        if token is None:
            return None
        view = await self._read(token, lambda session: svc.get_order(session, order_id))
        if view is _PASS:
            return None
        response = Response(_json(_ORDER(view)), media_type="application/json")
        response.headers["ETag"] = f'"{view.version}"'  # as orders._detail sets it
        return response

    async def _read(self, token: str, call: Callable[[Any], Any]) -> Any:
        cached = auth.token_cache.get(token)  # a busy client's token: no lookup
        actor = None if cached is None else cached.actor
        if actor is not None:
            on_loop = loop_reads(self.url)
            if on_loop is not None:
                try:
                    # Within the threads' limiter: the same bound on reads in flight, and a
                    # fair (first come, first served) queue for them under load.
                    async with endpoint_limiter():
                        return await on_loop.run(call)
                except NotOnTheLoop:  # a statement without its plan yet: in a thread
                    pass
                except DatabaseTimeout:  # answered 503 (__call__)
                    raise
                except ServiceError:  # a refusal (404): FastAPI's answer
                    return _PASS
                except Exception:  # noqa: BLE001 - the driver's error: the thread path's
                    log.debug("loop read failed; read in a thread", exc_info=True)
        return await anyio.to_thread.run_sync(self._in_thread, token, actor, call,
                                              limiter=endpoint_limiter())

    def _in_thread(self, token: str, actor: auth.Actor | None,
                   call: Callable[[Any], Any]) -> Any:
        try:
            if actor is None and lookup_token(self.url, token) is None:
                return _PASS  # FastAPI answers 401 (after its own lookup)
            return run_read(call, self.url)
        except Exception:  # noqa: BLE001 - a refusal or a database error: FastAPI's answer
            return _PASS


def _unavailable() -> Response:
    """FastAPI's answer to a database that did not answer in time (api/errors.py), given
    here: asking FastAPI would wait for the hung database a second time."""
    log.warning("Database unavailable in GET %s: no answer within the read timeout",
                orders.PREFIX)
    return unavailable_response()


def _token(scope: Scope) -> str | None:
    """The bearer token of the request's (first) Authorization header, as
    `security.authenticate` reads it; None when there is none or it is malformed."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            try:
                return bearer_token(value.decode("latin-1"))
            except Unauthenticated:
                return None
    return None
