"""Errors the service layer raises. The API maps them to HTTP statuses; screens show them.

`fields` maps a field name (API/form name, e.g. "lines[1].quantity") to a readable message.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class ServiceError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class ValidationFailed(ServiceError):
    """Input is invalid; nothing was written."""

    code = "validation_failed"
    status = 422

    def __init__(self, fields: dict[str, str], message: str | None = None):
        summary = message or "; ".join(f"{name}: {text}" for name, text in fields.items())
        super().__init__(summary or "Invalid input.", fields)


class Conflict(ServiceError):
    """The change cannot be made in the current state (stock, stale version, references)."""

    code = "conflict"
    status = 409


class PermissionDenied(ServiceError):
    code = "forbidden"
    status = 403


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached right now (the API answers 503, the
    screens show their outage banner): a driver error SQLAlchemy classes as operational or
    interface (connection refused or lost, server gone, lock timeouts), a connection the pool
    invalidated, a full pool's wait timing out, or a socket timeout; also when one of those
    is what `exc` was raised from (`raise ... from`, or during its handling)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError):
            return isinstance(exc, (OperationalError, InterfaceError)) \
                or bool(exc.connection_invalidated)
        if isinstance(exc, (PoolTimeout, TimeoutError, ConnectionError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
