"""Work shared by the tabs of one worker that refresh for the same change.

A change to the orders nudges every tab on the orders list, and each tab's refresh re-runs its
own page's load. Tabs on the same view (same state, same address, same reader where the
rows depend on who reads, same number format) would each run the same query at the same
moment: here the first one's read is shared by the others, per *feed position*: the registry
advances the position with every batch of changes it dispatches (before any nudge of that
batch goes out), so a result kept for a position was read after every change of that
position was committed, and a change after it makes a new position whose refreshes read
again. Only live refreshes share (a navigation or a user's own action always reads afresh:
its own change may not have reached the listener yet).

What is shared is one read per key and position; every tab still runs its refresh as its
own event (auth middleware, its role's permission check, its state lock), and gets its own
copy of the result. `NORTHWIND_LIVE_SHARED=0` turns sharing off (the benchmark's before/after).
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def enabled() -> bool:
    return os.environ.get("NORTHWIND_LIVE_SHARED", "1") != "0"


class SharedReads:
    """One read per (key, feed position) in this worker; older positions are dropped."""

    def __init__(self) -> None:
        self.position = 0
        self._reads: dict[Hashable, asyncio.Future] = {}
        self.reads = 0  # reads run (for tests and the benchmark)
        self.shared = 0  # refreshes answered by another tab's read

    def advance(self) -> None:
        """A batch of changes is being dispatched: results read before it are stale."""
        self.position += 1
        self._reads.clear()

    async def get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`'s result for `key` at the current position: the first caller reads, the
        others (at the same position) wait for it; each gets its own deep copy. A failed
        read is not kept (the next caller reads again). With sharing off: `read()`."""
        if not enabled():
            return await read()
        full = (self.position, key)
        future = self._reads.get(full)
        if future is None:
            self.reads += 1
            future = asyncio.ensure_future(read())
            self._reads[full] = future
            future.add_done_callback(lambda f, k=full: self._drop_failed(k, f))
        else:
            self.shared += 1
        # shield: a caller cancelled (a superseded load) does not cancel the others' read.
        return copy.deepcopy(await asyncio.shield(future))

    def _drop_failed(self, key: Hashable, future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is not None:
            if self._reads.get(key) is future:
                del self._reads[key]


shared_reads = SharedReads()  # this worker's


def format_key() -> Any:
    """The signed-in user's number and date format and time zone (results are formatted for
    them: two users in two zones never share a read)."""
    from northwind_app import formats

    return formats.current.get(), formats.zone.get()
