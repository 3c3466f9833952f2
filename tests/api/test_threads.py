"""Synchronous endpoints run in at most NORTHWIND_API_THREADS threads of a worker at once; the
requests beyond wait their turn in the event loop, and every one is answered."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

from northwind_app.api import routing
from northwind_app.settings import settings


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

    assert asyncio.run(main()) == list(range(12))
    assert most == 3
    assert threading.get_ident() not in threads  # never on the event loop's thread


def test_each_event_loop_has_its_own_limiter():
    async def limiter() -> object:
        return routing.endpoint_limiter()

    first, second = asyncio.run(limiter()), asyncio.run(limiter())
    assert first is not second
    assert first.total_tokens == settings.api_threads == 4
