"""Running a coroutine from a synchronous test.

`asyncio.run` refuses to start while an event loop runs in the calling thread, and the browser
tests' Playwright (`sync_playwright`, one per test session) keeps one running in the main
thread from the first browser test to the end of the session. A coroutine therefore runs in a
thread of its own, with a new event loop, whatever ran before, and in a copy of the caller's
context (Reflex keeps its registration context in a context variable).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coro).result()
