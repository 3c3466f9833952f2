"""One JSON body for every failure: ``{"error": {"code", "message", "fields"}}``.

A service error's type gives its status and code (`SERVICE_ERRORS`: a service knows no HTTP); request validation becomes 422 naming each
field by a readable path (``lines[1].quantity``, ``limit``); a body that is not JSON is 400
``malformed_json``; an unreachable (or hung) database is 503 ``database_unavailable``; a
change that kept conflicting with concurrent ones (``WriteConflict``, or a deadlock outside
the transaction runner) is 409 ``conflict``, never a 503; anything else is a 500 with a
generic message (details go to the server log only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from northwind_app.db.engine import is_retryable
from northwind_app.services.auth import AuthenticationFailed
from northwind_app.services.errors import (
    Conflict, Forbidden, Invalid, NotFound, ServiceError, WriteConflict, database_unavailable)

log = logging.getLogger("northwind_app.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "validation_failed"}

# What each kind of service refusal is over HTTP: (status, code); the first match wins, and
# a ServiceError of no listed type is a 400.
SERVICE_ERRORS: tuple[tuple[type[ServiceError], int, str], ...] = (
    (AuthenticationFailed, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Invalid, 422, "validation_failed"),
)


def status_of(exc: ServiceError) -> tuple[int, str]:
    """The HTTP (status, code) that answers `exc`."""
    return next(((status, code) for kind, status, code in SERVICE_ERRORS
                 if isinstance(exc, kind)), (400, "error"))


_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_MESSAGES = {"missing": "is required", "extra_forbidden": "is not a field that can be set"}
# Pydantic's messages for the constraints the schema states, worded as the services word them.
_CONSTRAINTS = {
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
}
# Readable messages for the schema's string patterns (see `describe_pattern`).
_PATTERNS: dict[str, str] = {}


def describe_pattern(pattern: str, message: str) -> str:
    """Register what a failed match of `pattern` tells the client (instead of the pattern)."""
    _PATTERNS[pattern] = message
    return pattern


def _message(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        return _PATTERNS[ctx["pattern"]]
    if kind in _CONSTRAINTS:
        try:
            return _CONSTRAINTS[kind].format(**ctx)
        except (KeyError, IndexError):
            pass
    return error.get("msg", "is invalid")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"], description="Stable, machine-readable reason.")
    message: str = Field(examples=["Customer XXXXX does not exist."])
    fields: dict[str, str] = Field(default_factory=dict, examples=[{"limit": "must be 1-500"}],
                                   description="Field path → what is wrong with it.")


class ErrorOut(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No valid API token (missing, malformed, unknown, revoked or expired, or its user is "
         "deactivated); the answer has a `WWW-Authenticate: Bearer` header.",
    403: "Your role may not do this.",
    404: "No such resource.",
    409: "Conflicts with the current data, or with concurrent changes that kept colliding "
         "(nothing was saved; try again).",
    422: "Invalid parameters or body; `fields` names each problem.",
    500: "Unexpected server error (details are logged, not sent).",
    503: "The database is unavailable.",
}


_HEADERS = {
    401: {"WWW-Authenticate": {"description": 'The scheme to use: `Bearer` (with '
                                              '`error="invalid_token"` for a rejected token).',
                               "schema": {"type": "string"}}},
}


def _documented(status: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"description": _DESCRIPTIONS[status]}
    if status in _HEADERS:
        entry["headers"] = _HEADERS[status]
    return entry


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the error body for these statuses."""
    return {status: {"model": ErrorOut, **_documented(status)} for status in statuses}


def json_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`error_responses` for a route whose own responses are not JSON (a CSV export): FastAPI
    would document a `model` under the route's media type, so the JSON body is referenced."""
    schema = {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}
    return {status: {**_documented(status),
                     "content": {"application/json": {"schema": schema}}}
            for status in statuses}


def unavailable_response() -> JSONResponse:
    """The answer while the database cannot be reached (or does not answer in time)."""
    return error_response(503, "database_unavailable",
                          "The database is not reachable. Try again shortly.")


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorOut(error=ErrorDetail(code=code, message=message, fields=fields or {}))
    return JSONResponse(status_code=status, content=body.model_dump(), headers=headers)


def field_path(loc: Sequence[Any]) -> str:
    """("body", "lines", 1, "quantity") → "lines[1].quantity"; ("query", "limit") → "limit"."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        if len(parts) == 1:
            return str(parts[0])
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path


def validation_fields(errors: Iterable[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        name = field_path(error.get("loc", ()))
        message = _message(error)
        fields[name] = f"{fields[name]}; {message}" if name in fields else message
    return fields


def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    # A 401 names the scheme to authenticate with (RFC 9110 §11.6.1, RFC 6750 §3).
    status, code = status_of(exc)
    headers = ({"WWW-Authenticate": getattr(exc, "challenge", "Bearer")} if status == 401
               else None)
    return error_response(status, code, exc.message, exc.fields, headers=headers)


def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = (malformed.get("ctx") or {}).get("error", "invalid JSON")
        return error_response(400, "malformed_json",
                              f"The request body is not valid JSON: {reason}.")
    return _service_error(request, Invalid(fields=validation_fields(errors)))


def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "The request failed."
    return error_response(exc.status_code, HTTP_CODES.get(exc.status_code, "http_error"),
                          message, headers=dict(exc.headers or {}))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("Unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error",
                          "An unexpected error occurred; it has been logged.")


def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if is_retryable(exc):  # a deadlock is not an outage (writes retry it: db/engine.py)
        log.warning("Conflict in %s %s: %s", request.method, request.url.path, exc.orig)
        return _service_error(request, WriteConflict())
    if database_unavailable(exc):
        log.warning("Database unavailable in %s %s: %s", request.method, request.url.path,
                    str(exc.orig).splitlines()[0] if exc.orig else exc)
        return unavailable_response()
    if isinstance(exc, IntegrityError):  # a constraint caught what the service checks missed
        log.warning("Integrity error in %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(409, "conflict", "The change conflicts with other data.")
    return _unexpected(request, exc)


class UnexpectedErrors:
    """ASGI middleware answering any unhandled exception with the generic 500 body.

    Starlette's own last-resort handler re-raises after responding, which makes the server
    drop the (keep-alive) connection; this answers and keeps the connection usable.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for an error body; let the server close the connection
                raise
            await _unexpected(Request(scope), exc)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_middleware(UnexpectedErrors)
