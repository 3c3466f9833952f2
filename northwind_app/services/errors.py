"""Errors the service layer raises, by meaning; the API maps them to HTTP statuses
(api/errors.py), the screens to messages (ui/backend.py).

`fields` maps a field name (API/form name, e.g. "lines[1].quantity") to a readable message.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class ServiceError(Exception):
    """A refusal by a service: `message` for a person, `fields` naming the inputs at fault.
    What it means to a caller is its type; the API gives each type its HTTP status
    (api/errors.py), the screens their wording (ui/backend.py)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class NotFound(ServiceError):
    """The record asked for does not exist (or was deleted meanwhile)."""


class Invalid(ServiceError):
    """Input is invalid; nothing was written. Without a message, the fields' messages joined
    make one."""

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None):
        fields = dict(fields or {})
        summary = message or "; ".join(f"{name}: {text}" for name, text in fields.items())
        super().__init__(summary or "Invalid input.", fields)


class Conflict(ServiceError):
    """The change cannot be made in the current state (stock, stale version, references)."""


class Forbidden(ServiceError):
    """The actor's role does not allow this."""


class WriteConflict(Conflict):
    """Concurrent changes to the same rows kept colliding (deadlocks, lock-wait timeouts) after
    every retry of the write transaction (db/engine.py write_transaction); nothing was saved."""

    MESSAGE = ("Another change to the same data kept conflicting with this one; nothing was "
               "saved. Try again.")

    def __init__(self, message: str = MESSAGE):
        super().__init__(message)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached right now (the API answers 503, the
    screens show their outage banner): a driver error SQLAlchemy classes as operational or
    interface (connection refused or lost, server gone), a connection the pool invalidated, a
    full pool's wait timing out, or a socket timeout; also when one of those is what `exc` was
    raised from (`raise ... from`, or during its handling). A deadlock or lock-wait timeout is
    a conflict with another change, not an outage (db/engine.py `is_retryable`)."""
    from northwind_app.db.engine import is_retryable  # (it imports this module)

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError):
            if is_retryable(exc):
                return False
            return isinstance(exc, (OperationalError, InterfaceError)) \
                or bool(exc.connection_invalidated)
        if isinstance(exc, (PoolTimeout, TimeoutError, ConnectionError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
