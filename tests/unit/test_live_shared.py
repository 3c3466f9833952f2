"""Shared refresh reads (northwind_app/live/shared.py): one read per key and feed position,
a new position reads again, a failed or cancelled read is not kept, each caller gets its own
copy, and sharing can be turned off."""

from __future__ import annotations

import asyncio
import concurrent.futures

from northwind_app.live.feed import Change
from northwind_app.live.registry import Registry
from northwind_app.live.shared import SharedReads, shared_reads


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: this process may already run an event loop in its
    main thread (Playwright's sync API does, when browser tests share the worker)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _reader(calls: list[int], value=None, delay: float = 0.01, fail: bool = False):
    async def read():
        calls.append(1)
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError("database away")
        return value if value is not None else {"rows": [{"id": len(calls)}]}
    return read


def test_one_read_per_key_and_position():
    async def scenario():
        reads = SharedReads()
        calls: list[int] = []
        results = await asyncio.gather(*(reads.get("orders", _reader(calls)) for _ in range(20)))
        assert len(calls) == 1 and all(r == {"rows": [{"id": 1}]} for r in results)
        assert len({id(r) for r in results}) == 20  # each tab its own copy
        results[0]["rows"].append("mutated")
        assert (await reads.get("orders", _reader(calls)))["rows"] == [{"id": 1}]
        assert len(calls) == 1 and reads.shared == 20
        await reads.get("other view", _reader(calls))
        assert len(calls) == 2
        reads.advance()  # a change was dispatched: what was read before it is stale
        assert (await reads.get("orders", _reader(calls)))["rows"] == [{"id": 3}]
        assert reads.reads == 3

    run_in_own_loop(scenario())


def test_a_failed_or_cancelled_read_is_not_kept():
    async def scenario():
        reads = SharedReads()
        calls: list[int] = []
        failing = [reads.get("k", _reader(calls, fail=True)) for _ in range(3)]
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        assert len(calls) == 1 and all(isinstance(o, RuntimeError) for o in outcomes)
        assert await reads.get("k", _reader(calls, value={"ok": 1})) == {"ok": 1}
        assert len(calls) == 2

        # One waiter cancelled (a superseded load): the others still get the read.
        reads.advance()
        first = asyncio.ensure_future(reads.get("k", _reader(calls, value={"v": 2}, delay=0.05)))
        second = asyncio.ensure_future(reads.get("k", _reader(calls)))
        await asyncio.sleep(0.01)
        first.cancel()
        assert await second == {"v": 2}
        assert len(calls) == 3

    run_in_own_loop(scenario())


def test_sharing_off(monkeypatch):
    monkeypatch.setenv("NORTHWIND_LIVE_SHARED", "0")

    async def scenario():
        reads = SharedReads()
        calls: list[int] = []
        await asyncio.gather(*(reads.get("orders", _reader(calls)) for _ in range(5)))
        assert len(calls) == 5

    run_in_own_loop(scenario())


def test_dispatching_changes_advances_the_position():
    async def scenario():
        registry = Registry(None)
        registry.watch("tab", "/orders", "orders_state", ["orders"])
        before = shared_reads.position
        registry.dispatch([])
        assert shared_reads.position == before
        registry.dispatch([Change(id=1, at="", user_id=None, username="x", action="create",
                                  entity="order", key="1", fields={})])
        assert shared_reads.position == before + 1

    run_in_own_loop(scenario())
