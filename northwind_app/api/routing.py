"""Building blocks for resource routers: exact JSON parsing and the endpoints every entity
shares (list + detail; create/replace/update/delete for editable ones), written once.

The endpoint functions are made inside the builders so that their annotations name the
entity's own models; this module deliberately has no ``from __future__ import annotations``
(FastAPI reads the annotations at definition time).
"""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlmodel import Session

from northwind_app.api.deps import DbSession, WriteSession
from northwind_app.api.errors import error_responses
from northwind_app.api.schemas import ListQuery, PageOut
from northwind_app.services.listing import Listing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class ExactJSONRequest(Request):
    """Parses JSON numbers with a fraction as `Decimal`, so amounts are never floats; a body
    that is not UTF-8 JSON (or uses NaN/Infinity) is a JSON error, answered with 400."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
            except json.JSONDecodeError:
                raise
            except ValueError as exc:  # not UTF-8, or NaN/Infinity
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from exc
        return self._json


class ExactJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def exact_json_handler(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact_json_handler


def resource_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=ExactJSONRoute)


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
    """GET {prefix} (a page of `item`s) and GET {prefix}/{id} (one `detail`)."""

    @router.get("", response_model=PageOut[item], name=f"list_{plural}",
                summary=f"List {plural}", responses=error_responses(422))
    def list_items(params: Annotated[query, Query()], session: DbSession):
        return listing.page(session, params.list_params())

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
    create: Callable[[Session, dict], dict],
    replace: Callable[[Session, Any, dict], dict],
    update: Callable[[Session, Any, dict], dict],
    delete: Callable[[Session, Any], None],
) -> None:
    """POST (201 + Location), PUT (full replace), PATCH (partial), DELETE (204); each one
    transaction. Bodies are passed to the service as given (PATCH: only the sent fields)."""

    @router.post("", response_model=detail, status_code=201, name=f"create_{singular}",
                 summary=f"Create a {singular}", responses=error_responses(400, 409, 422))
    def create_item(body: new_body, response: Response, session: WriteSession):
        created = create(session, body.model_dump(exclude_unset=True))
        response.headers["Location"] = f"{router.prefix}/{created[id_field]}"
        return created

    @router.put("/{id}", response_model=detail, name=f"replace_{singular}",
                summary=f"Replace a {singular} (fields left out are cleared)",
                responses=error_responses(400, 404, 422))
    def replace_item(id: id_type, body: replace_body, session: WriteSession):  # noqa: A002
        return replace(session, id, body.model_dump(exclude_unset=True))

    @router.patch("/{id}", response_model=detail, name=f"update_{singular}",
                  summary=f"Change some fields of a {singular} (null clears a field)",
                  responses=error_responses(400, 404, 422))
    def update_item(id: id_type, body: patch_body, session: WriteSession):  # noqa: A002
        return update(session, id, body.model_dump(exclude_unset=True))

    @router.delete("/{id}", status_code=204, response_class=Response, name=f"delete_{singular}",
                   summary=f"Delete a {singular}", responses=error_responses(404, 409, 422))
    def delete_item(id: id_type, session: WriteSession):  # noqa: A002
        delete(session, id)
        return Response(status_code=204)
