"""Synchronous endpoints run in at most NORTHWIND_API_THREADS threads of a worker at once; the
requests beyond wait their turn in the event loop, and every one is answered."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from northwind_app.api import routing
from northwind_app.api.deps import DbSession
from northwind_app.settings import settings
from tests import aio


def test_endpoints_share_a_limited_number_of_threads(monkeypatch):
    monkeypatch.setattr(routing, "settings", dataclasses.replace(settings, api_threads=3))
    lock = threading.Lock()
    running, most, threads = 0, 0, set()

    def endpoint(number: int, *, delay: float) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.get_ident())
        time.sleep(delay)
        with lock:
            running -= 1
        return number

    run = routing._in_worker_thread(endpoint)

    async def main() -> list[int]:
        return await asyncio.gather(*(run(n, delay=0.05) for n in range(12)))

    assert aio.run(main()) == list(range(12))
    assert most == 3
    assert threading.get_ident() not in threads  # never on the event loop's thread


def test_each_event_loop_has_its_own_limiter():
    async def limiter() -> object:
        return routing.endpoint_limiter()

    first, second = aio.run(limiter()), aio.run(limiter())
    assert first is not second
    assert first.total_tokens == settings.api_threads == 4


def test_endpoints_see_the_callers_context_variables():
    var = contextvars.ContextVar("var", default="unset")

    def endpoint() -> str:
        return var.get()

    async def main() -> str:
        var.set("the request's")
        return await routing._in_worker_thread(endpoint)()

    assert aio.run(main()) == "the request's"


def test_a_session_needs_a_route_that_ends_it(classic_db_ro):
    """The session dependency makes a session without I/O, so only a route that begins and
    ends it (a synchronous endpoint on a SessionRoute) may ask for one."""
    app = FastAPI()
    app.state.database_url = classic_db_ro

    @app.get("/async")
    async def async_endpoint(session: DbSession):
        return "never"

    with TestClient(app, raise_server_exceptions=True) as client:
        try:
            client.get("/async")
        except RuntimeError as exc:
            assert "needs a route that begins and ends it" in str(exc)
        else:
            raise AssertionError("an async endpoint got a session nobody would end")
