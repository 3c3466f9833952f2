"""How requests find their route and read their query: a resource router is only searched for
paths under its prefix (routing.PrefixRouter), and a list's query parameters are read by one
validation (routing.QueryModel); both answer exactly as FastAPI's own ways do.

No ``from __future__ import annotations``: FastAPI reads the test endpoints' annotations."""

from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from northwind_app.api import account, orders, routing
from northwind_app.api.app import ROUTERS


def _tried(monkeypatch) -> "list[str]":
    """The paths of the API routes that requests are matched against, in order."""
    tried: list[str] = []
    matches = APIRoute.matches

    def recording(route, scope):
        tried.append(route.path)
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", recording)
    return tried


def test_a_request_only_tries_the_routes_of_its_router(api_ro, monkeypatch):
    assert all(isinstance(router, routing.PrefixRouter) for router in ROUTERS)
    tried = _tried(monkeypatch)
    for path, prefix in (("/api/orders/10248", "/api/orders"),
                         ("/api/shippers?limit=2", "/api/shippers"),
                         ("/api/audit?limit=1", "/api/audit")):
        tried.clear()
        assert api_ro.get(path).status_code == 200
        others = {p for p in tried if not p.startswith(prefix + "/") and p != prefix}
        # Besides its own router's: the app's own health route (before every router) and the
        # account router's (prefix /api, so under every API path).
        assert others <= {"/api/health", *(route.path for route in account.router.routes)}, \
            others


def test_paths_outside_every_prefix_still_find_their_answer(api_ro, monkeypatch):
    # A trailing slash, a near-miss prefix, a wrong method: answered as without the shortcut.
    assert api_ro.get("/api/orders/").status_code == 404
    assert api_ro.get("/api/ordersx").status_code == 404
    response = api_ro.put("/api/orders")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    monkeypatch.setattr(routing.PrefixRouter, "matches", routing.APIRouter.matches)
    assert api_ro.get("/api/orders/").status_code == 404
    assert api_ro.get("/api/ordersx").status_code == 404
    assert api_ro.put("/api/orders").headers["allow"] == "GET, POST"


def _query_models() -> list[routing.QueryModel]:
    return [query for router in ROUTERS for route in router.routes
            if isinstance(route, APIRoute) for query in routing._query_models(route.dependant)]


def test_query_models_are_documented_as_fastapi_documents_them():
    queries = _query_models()
    assert len({query.model for query in queries}) >= 10
    for query in queries:
        model = query.model
        theirs, ours = FastAPI(), FastAPI()
        ours.router.route_class = routing.SessionRoute

        @theirs.get("/")
        def by_fastapi(params: Annotated[model, Query()]):  # noqa: ARG001
            pass

        @ours.get("/")
        def by_us(params: routing.query_model(model)):  # noqa: ARG001
            pass

        documented = [app.openapi()["paths"]["/"]["get"]["parameters"] for app in (theirs, ours)]
        assert documented[0] == documented[1]


@pytest.mark.parametrize("query_string", [
    "", "limit=5&offset=10", "limit=5&limit=7", "sort=-total&status=late&q=%20tr%C3%A8s",
    "colour=red&limit=3", "limit=0&sort=colour&offset=-1", "limit=ten", "limit=", "q=" + "x" * 201,
    "customer_id=&employee_id=2&order_date_from=1997-01-01", "employee_id=0&after=abc",
])
def test_query_models_read_what_fastapi_reads(query_string):
    """The same values, or the same errors, as FastAPI's `Annotated[model, Query()]`."""
    model = orders.OrderListQuery
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def errors(_request, exc):
        return JSONResponse([[e["loc"], e["type"]] for e in exc.errors()], status_code=422)

    @app.get("/fastapi")
    def by_fastapi(params: Annotated[model, Query()]):
        return params.model_dump(mode="json")

    @app.get("/ours")
    def by_us(params: routing.query_model(model)):
        return params.model_dump(mode="json")

    with TestClient(app) as client:
        theirs = client.get(f"/fastapi?{query_string}")
        ours = client.get(f"/ours?{query_string}")
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())


def test_query_models_refuse_what_they_cannot_read():
    class Listed(BaseModel):
        ids: list[int] = []

    class Aliased(BaseModel):
        name: str | None = Field(None, alias="n")

    for model in (Listed, Aliased):
        with pytest.raises(TypeError, match="aliases and lists"):
            routing.QueryModel(model)
