"""Errors the service layer raises. The API maps them to HTTP statuses; screens show them.

`fields` maps a field name (API/form name, e.g. "lines[1].quantity") to a readable message.
"""

from __future__ import annotations


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


class WriteConflict(Conflict):
    """Concurrent changes to the same rows kept colliding (deadlocks, lock-wait timeouts) after
    every retry of the write transaction (db/engine.py write_transaction); nothing was saved."""

    MESSAGE = ("Another change to the same data kept conflicting with this one; nothing was "
               "saved. Try again.")

    def __init__(self, message: str = MESSAGE):
        super().__init__(message)
