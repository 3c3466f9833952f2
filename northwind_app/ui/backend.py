"""The one door from a screen (a Reflex state) to the services.

Services are synchronous functions taking a session first; event handlers are async and must
not block the worker's event loop (every tab on the worker waits while one does). So a page
calls a service through one of three awaitables, each running `fn(session, *args, **kwargs)`
in a worker thread:

- `load`: the data a page shows when it opens, in a read-only session (MariaDB: the
  read-only pool, where any write fails);
- `read`: any other read (a picker's search, a dialog's options), in a read-only session;
- `write`: a change, through the one transaction runner (`db/engine.write_transaction`:
  committed when `fn` returns, rolled back on error, deadlocks retried; so `fn` may run more
  than once).

A refusal of the service (a `ServiceError`: Invalid, NotFound, Conflict, Forbidden) comes
back to the page unchanged, which shows it beside the field or action that caused it
(`fields`) or as its `message`. Anything else is a server problem: it is logged (with its
traceback, unless it is the database being unreachable, which raises the tab's outage banner
instead: ui/outage.py) and comes back as `ServerProblem`, a ServiceError whose message says
that nothing was changed. So a page needs one `except ServiceError` and no other;
`form_errors` splits a refusal into the form's field errors and its callout message.

`run_read` and `run_write` are the same sessions without the thread hop or the handling of
server problems, for code that is already in a worker thread and decides about failures
itself: the shared table's `_fetch_rows` (ui/table/state.py runs it in a thread), the outage
banner's probe and the auth middleware's session check (ui/outage.py, ui/auth.py), which
must see the database's own error to tell an outage from a bug.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from northwind_app.db.engine import begin, finish, new_session, write_transaction
from northwind_app.services.errors import Conflict, ServiceError

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SERVER_PROBLEM = ("A server problem stopped this (the database may be unavailable); nothing "
                  "was changed. Try again.")


class ServerProblem(ServiceError):
    """Not a refusal: the server failed (the database is down, a bug). Logged where caught."""

    def __init__(self, message: str = SERVER_PROBLEM):
        super().__init__(message)


def run_read(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(session, …)` in a read-only session, in this thread; errors raised as they are."""
    session = new_session(read_only=True)
    try:
        begin(session)
        result = fn(session, *args, **kwargs)
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session)
    return result


async def _call(state: Any, reload: bool, run: Callable[..., T], fn: Callable[..., Any],
                *args: Any, **kwargs: Any) -> T:
    try:
        return await asyncio.to_thread(run, fn, *args, **kwargs)
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a server problem: logged, then shown as such
        from northwind_app.ui import outage  # (outage imports ui.auth, which uses this module)

        name = getattr(fn, "__qualname__", repr(fn))
        await outage.failed(state, exc, log, "%s failed", name, reload=reload)
        raise ServerProblem() from exc


def run_write(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(session, …)` in one write transaction (retried after a deadlock), in this thread;
    errors raised as they are."""
    return write_transaction(lambda session: fn(session, *args, **kwargs))


async def load(state: Any, fn: Callable[Concatenate[Session, P], T],
               *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(session, …)` for a page's on_load, read-only; on an outage the banner is raised
    and, when the database is back, the page's load runs again."""
    return await _call(state, True, run_read, fn, *args, **kwargs)


async def read(state: Any, fn: Callable[Concatenate[Session, P], T],
               *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(session, …)` read-only, for anything but the page's load (an outage does not
    reload the page: what the user typed stays)."""
    return await _call(state, False, run_read, fn, *args, **kwargs)


async def write(state: Any, fn: Callable[Concatenate[Session, P], T],
                *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(session, …)` in one write transaction (retried after a deadlock); on an outage
    the banner is raised and the form is left as it was, for the user to save again."""
    return await _call(state, False, run_write, fn, *args, **kwargs)


FIELDS_FAILED = "Some fields need attention; nothing was saved."


def form_message(exc: ServiceError) -> str:
    """A form's callout for a refused save whose field errors are shown beside its fields:
    the refusal's own message when it names no field or is a conflict (a stale version, a
    lifecycle rule: what the fields cannot say), else FIELDS_FAILED."""
    return exc.message if not exc.fields or isinstance(exc, Conflict) else FIELDS_FAILED


def form_errors(exc: ServiceError, fields: Mapping[str, str] | None = None
                ) -> tuple[dict[str, str], str]:
    """A refusal as (errors by form field, message for the form's callout). `fields` maps the
    service's field names to the form's (None: the form has every field, by the service's
    names). The message is the refusal's own when it names no field or one the form does not
    show (so nothing goes unsaid), else ""."""
    if fields is None:
        return dict(exc.fields), "" if exc.fields else exc.message
    placed = {fields[name]: text for name, text in exc.fields.items() if name in fields}
    unplaced = not exc.fields or bool(exc.fields.keys() - fields.keys())
    return placed, exc.message if unplaced else ""
