"""FastAPI dependencies: a database session per request, on the app's configured database.

`create_api(database_url=...)` stores the URL on `app.state`; None means the configured
default (`settings.database_url`). Both sessions close before the response is sent
(scope="function"), so a failed commit is reported to the client, never hidden behind a 2xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from northwind_app.db.engine import session_scope


def database_url(request: Request) -> str | None:
    return request.app.state.database_url


def get_session(request: Request) -> Iterator[Session]:
    """A read session (one transaction)."""
    with session_scope(database_url(request)) as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """A write transaction: committed when the endpoint succeeds, rolled back otherwise."""
    with session_scope(database_url(request), write=True) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]
WriteSession = Annotated[Session, Depends(get_write_session, scope="function")]
