"""FastAPI dependencies: a database session per request, on the app's configured database.

`create_api(database_url=...)` stores the URL on `app.state`; None means the configured
default (`settings.database_url`).

A write session is one transaction, ended before the response is sent, so a failed commit is
reported to the client, never hidden behind a 2xx. A read session (GET) is read-only; on
MySQL/MariaDB its statements run in autocommit (db/engine.py). The database driver is
synchronous, so the session does its work in a worker thread, and each trip to a thread costs
a request about as much as its query. So the dependency only makes the session, without I/O,
and the route (`routing.SessionRoute`, which every route with a session is: the resource
routes' `ExactJSONRoute` is one) begins, commits or rolls back and closes it in the endpoint's
own worker thread (`run_with_sessions`): one trip per request. A session that is made and
never begun (the request was refused before its endpoint ran) holds no connection.

An endpoint with a write session runs in `write_transaction`, like every write: after a
deadlock it runs again, with a new session, so it must do nothing outside its transaction
that is not harmless to repeat (setting a response header is).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session

from northwind_app.db.engine import begin, finish, new_session, write_transaction

T = TypeVar("T")
WRITE = "nw_write"  # session.info: the transaction will write
URL = "nw_url"  # session.info: the database URL it was made for


def database_url(request: Request) -> str | None:
    return request.app.state.database_url


def _session_dependency(write: bool, doc: str) -> Callable[[Request], Coroutine[Any, Any,
                                                                                   Session]]:
    # A coroutine function (not a generator, which FastAPI enters and exits as a context
    # manager on every request; not a plain function, which FastAPI runs in a thread).
    async def dependency(request: Request) -> Session:
        if not getattr(request.scope.get("route"), "finishes_sessions", False):
            raise RuntimeError(f"{request.url.path}: a database session needs a route that "
                               "begins and ends it (routing.SessionRoute, synchronous endpoint)")
        url = database_url(request)
        if not write:
            return read_session(url)
        session = new_session(url)
        session.info[WRITE] = write
        session.info[URL] = url
        return session

    dependency.__doc__ = doc
    return dependency


get_session = _session_dependency(False, "A read session: only reads (on MySQL/MariaDB, "
                                         "each statement in autocommit, see db/engine.py).")
get_write_session = _session_dependency(
    True, "A write transaction: committed when the endpoint succeeds, rolled back otherwise.")


def run_with_sessions(endpoint: Callable[..., T]) -> Callable[..., T]:
    """`endpoint` (synchronous, run in a worker thread) wrapped to begin the request's sessions
    before it and end them after it — commit, or roll back when it raises — in the same
    thread; with a write session, in `write_transaction` (retried after a deadlock). The
    wrapper keeps the endpoint's signature for FastAPI."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> T:
        writes = [name for name, value in kwargs.items()
                  if isinstance(value, Session) and value.info.get(WRITE, False)]
        if writes:
            (name,) = writes  # one write transaction per request
            unused = kwargs[name]  # made without I/O: each try has a session of its own
            unused.close()
            return write_transaction(lambda session: _run(endpoint, args,
                                                          {**kwargs, name: session}),
                                     unused.info[URL])
        return _run(endpoint, args, kwargs)

    return run


def _run(endpoint: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
    """`endpoint`, with its sessions that are not begun yet begun before and ended after."""
    sessions = [value for value in kwargs.values()
                if isinstance(value, Session) and not value.in_transaction()]
    try:
        for session in sessions:
            begin(session, write=session.info.get(WRITE, False))
        result = endpoint(*args, **kwargs)
    except BaseException as exc:
        for session in sessions:
            finish(session, exc)
        raise
    for session in sessions:
        finish(session)
    return result


def read_session(url: str | None) -> Session:
    """A read session on `url`, made without I/O, as the `DbSession` dependency makes it."""
    session = new_session(url, read_only=True)
    session.info[WRITE] = False
    session.info[URL] = url
    return session


def run_with_session(call: Callable[[Session], T], session: Session) -> T:
    """`call(session)` with the read `session` begun before and ended after, in this thread,
    as `run_with_sessions` runs an endpoint (for `lean.LeanReads`)."""
    return _run(call, (), {"session": session})


DbSession = Annotated[Session, Depends(get_session)]
WriteSession = Annotated[Session, Depends(get_write_session)]
