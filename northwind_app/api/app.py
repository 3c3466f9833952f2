"""FastAPI application for /api, handed to Reflex as its `api_transformer`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from northwind_app.api.deps import DbSession
from northwind_app.services import stats

API_DESCRIPTION = """
The Northwind Orders REST API. Money is sent as decimal strings with two places
(`"440.00"`), dates are ISO 8601, and every error has the same JSON body:
`{"error": {"code": ..., "message": ..., "fields": {...}}}`.
"""


def create_api() -> FastAPI:
    api = FastAPI(
        title="Northwind Orders API",
        version="1.0.0",
        description=API_DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )

    @api.get("/api/health", tags=["health"], summary="Check the service and its database")
    def health(session: DbSession):
        try:
            stats.database_ping(session)
        except Exception:
            return JSONResponse(
                status_code=503,
                content={"error": {"code": "database_unavailable",
                                   "message": "The database is not reachable.", "fields": {}}},
            )
        return {"status": "ok", "database": {"status": "ok", "dialect": session.bind.dialect.name}}

    return api
