"""Live updates' change feed and listener (issue #23), without a browser: the audit trail
announced after commit, read by cursor, and the per-process listener.

On SQLite and MariaDB: a committed change is announced and read back by cursor, with what it
touches; a rolled-back one never is (neither announced nor readable). With Redis: a second
Python process writing through the services reaches this process's listener through pub/sub,
and a change whose announcement is lost still arrives through the feed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time

import pytest
from sqlalchemy.exc import DBAPIError

from northwind_app.db.engine import write_transaction
from northwind_app.live import feed
from northwind_app.live.feed import Change, Cursor
from northwind_app.live.hub import Hub
from northwind_app.live.presence import Here, RedisPresence
from northwind_app.services import customers, orders as svc
from northwind_app.services.auth import Actor
from northwind_app.settings import PROJECT_ROOT
from tests import aio
from tests.prodserver import own_redis_db

ALICE = Actor(user_id=None, username="alice", role="sales")


def _raw(**overrides):
    raw = {"customer_id": "ALFKI", "employee_id": 5, "order_date": "1998-05-07",
           "required_date": "1998-06-04", "freight": "12.30",
           "lines": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 3}]}
    raw.update(overrides)
    return raw


def _create(url: str) -> int:
    data = svc.parse_order_input(_raw())
    return write_transaction(lambda s: svc.create_order(s, data, actor=ALICE), url)


class Sink:
    """Collects what this process announces."""

    def __init__(self):
        self.changes: list[Change] = []

    def __call__(self, changes):
        self.changes.extend(changes)

    def __enter__(self):
        feed.add_sink(self)
        return self

    def __exit__(self, *_exc):
        feed.remove_sink(self)


def test_committed_change_is_announced_with_what_it_touches(classic_db):
    with Sink() as sink:
        order_id = _create(classic_db)
    (change,) = sink.changes
    assert (change.entity, change.key, change.action, change.username) == (
        "order", str(order_id), "create", "alice")
    assert change.fields["freight"] == [None, "12.30"]
    assert change.related == {"customer": ["ALFKI"], "employee": ["5"], "product": ["1", "2"],
                              "stock": ["1", "2"]}
    assert {f"order:{order_id}", "orders", "dashboard", "customer:ALFKI", "product:1",
            "product:2", "products"} <= change.topics

    with Sink() as sink:
        write_transaction(lambda s: svc.revise_order(s, order_id, {"freight": "40.00"},
                                                     partial=True, actor=ALICE), classic_db)
    (change,) = sink.changes
    assert change.fields == {"freight": ["12.30", "40.00"], "total": [change.fields["total"][0],
                                                                      change.fields["total"][1]]}
    assert change.related["product"] == ["1", "2"]  # its lines' pages list it ...
    assert "stock" not in change.related and "products" not in change.topics  # ... no stock moved

    with Sink() as sink:  # a cancel's lines are not in its audit entry, yet their stock moved
        write_transaction(lambda s: svc.cancel_order(s, order_id, actor=ALICE), classic_db)
    assert sink.changes[0].related["stock"] == ["1", "2"]


class Boom(Exception):
    pass


def test_rolled_back_change_is_never_announced_nor_read(classic_db):
    start = write_transaction(feed.last_id, classic_db)
    data = svc.parse_order_input(_raw())

    def create_then_fail(session):
        svc.create_order(session, data, actor=ALICE)
        raise Boom

    with Sink() as sink, pytest.raises(Boom):
        write_transaction(create_then_fail, classic_db)
    assert sink.changes == []
    assert write_transaction(lambda s: feed.read(s, Cursor(start)), classic_db) == []


def test_a_retried_transaction_announces_its_committed_try_only(classic_db):
    data = svc.parse_order_input(_raw())
    tries = []

    def deadlock_once(session):
        order_id = svc.create_order(session, data, actor=ALICE)
        tries.append(order_id)
        if len(tries) == 1:
            raise DBAPIError("INSERT ...", None, Exception(1213, "Deadlock found"))
        return order_id

    with Sink() as sink:
        order_id = write_transaction(deadlock_once, classic_db)
    assert len(tries) == 2
    assert [(c.entity, c.key) for c in sink.changes] == [("order", str(order_id))]


def test_the_feed_is_read_by_cursor(classic_db):
    cursor = Cursor(write_transaction(feed.last_id, classic_db))
    first = _create(classic_db)
    write_transaction(lambda s: customers.update_customer(
        s, "ALFKI", {"city": "Berlin-Mitte"}, actor=ALICE), classic_db)
    changes = cursor.take(write_transaction(lambda s: feed.read(s, cursor), classic_db))
    assert [(c.entity, c.key) for c in changes] == [("order", str(first)), ("customer", "ALFKI")]
    assert changes[0].related["customer"] == ["ALFKI"]  # worked out again when read
    assert write_transaction(lambda s: feed.read(s, cursor), classic_db) == []


WRITER = """
import json, sys
from northwind_app.db.engine import write_transaction
from northwind_app.services import orders as svc
from northwind_app.services.auth import SYSTEM
data = svc.parse_order_input(json.loads(sys.argv[1]))
print(write_transaction(lambda s: svc.create_order(s, data, actor=SYSTEM)))
"""


def _write_in_another_process(database_url: str, redis_url: str | None) -> int:
    """An order created by a second Python process through the services (as the command
    line writes), announcing on Redis only when it has REFLEX_REDIS_URL."""
    env = {k: v for k, v in os.environ.items() if k != "REFLEX_REDIS_URL"}
    env["NORTHWIND_DATABASE_URL"] = database_url
    if redis_url:
        env["REFLEX_REDIS_URL"] = redis_url
    done = subprocess.run([sys.executable, "-c", WRITER, json.dumps(_raw())], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


async def _until(predicate, seconds: float) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            raise AssertionError("not delivered in time")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def _keys(delivered, entity="order"):
    return [c.key for batch in delivered for c in batch if c.entity == entity]


def test_listener_in_process_and_from_another_process(classic_db):
    """Without Redis: this process's commits come straight from the committing thread (no
    waiting for the poll); another process's (the command line) by reading the feed."""
    delivered: list = []

    async def scenario():
        hub = Hub(delivered.append, database_url=classic_db, poll=30)
        task = asyncio.create_task(hub.run())
        await _until(lambda: hub.cursor is not None, 30)
        order_id = await asyncio.to_thread(_create, classic_db)
        await _until(lambda: str(order_id) in _keys(delivered), 2)  # poll is 30 s: the sink

        other = await asyncio.to_thread(_write_in_another_process, classic_db, None)
        await asyncio.sleep(0.3)
        assert str(other) not in _keys(delivered)  # nobody announced it ...
        hub._wake.set()  # ... until the listener reads the feed (every POLL_SECONDS)
        await _until(lambda: str(other) in _keys(delivered), 5)
        assert _keys(delivered) == [str(order_id), str(other)]  # each once
        task.cancel()

    aio.run(scenario())


def test_two_processes_on_one_redis(classic_db):
    """A change committed by another process on the same Redis reaches this process's
    listener through pub/sub; one whose announcement is lost (a writer without Redis) through
    the feed. Presence changes of other workers arrive too."""
    with own_redis_db() as redis_url:
        delivered: list = []

        async def scenario():
            topics: list[str] = []
            hub = Hub(delivered.append, redis_url=redis_url, database_url=classic_db, poll=30,
                      on_presence=topics.append)
            task = asyncio.create_task(hub.run())
            await _until(lambda: hub.cursor is not None and hub.subscribed.is_set(), 30)
            elsewhere = RedisPresence(redis_url)  # a tab on another worker opens order 7
            await elsewhere.enter("order:7", "tab", Here(4, "Margaret", "editing"))
            await _until(lambda: topics == ["order:7"], 2)
            await elsewhere.client.aclose()
            other = await asyncio.to_thread(_write_in_another_process, classic_db, redis_url)
            await _until(lambda: str(other) in _keys(delivered), 2)  # poll is 30 s: pub/sub

            lost = await asyncio.to_thread(_write_in_another_process, classic_db, None)
            await asyncio.sleep(0.3)
            assert str(lost) not in _keys(delivered)
            hub._wake.set()
            await _until(lambda: str(lost) in _keys(delivered), 5)
            assert _keys(delivered) == [str(other), str(lost)]
            task.cancel()

        aio.run(scenario())


def test_changes_since_and_their_sentence(classic_db):
    import datetime as dt

    from northwind_app.live.text import ago, banner_text, changed_text
    from northwind_app.services import audit

    order_id = _create(classic_db)
    start = write_transaction(lambda s: audit.last_id(s, "order", order_id), classic_db)
    assert start > 0
    write_transaction(lambda s: svc.revise_order(s, order_id, {"freight": "40.00"},
                                                 partial=True, actor=ALICE), classic_db)
    entries = write_transaction(lambda s: audit.changes_since(s, "order", order_id, start),
                                classic_db)
    assert [(e.who, e.action) for e in entries] == [("alice", "update")]
    now = entries[0].at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=5)
    assert changed_text(entries, "this order", now) == (
        "alice changed this order 5 s ago: freight 12.30 → 40.00; total "
        f"{entries[0].changes['total'][0]} → {entries[0].changes['total'][1]}")
    # A form's banner says what the user may do: save over a change, not over a deletion.
    assert banner_text(entries, "this order", "Gone.", now) == (
        changed_text(entries, "this order", now)
        + ". Reload it, or keep editing and save over it after reviewing the changes.")
    write_transaction(lambda s: svc.delete_order(s, order_id, actor=ALICE), classic_db)
    entries = write_transaction(lambda s: audit.changes_since(s, "order", order_id, start),
                                classic_db)
    assert re.fullmatch(r"alice deleted this order (\d+ s ago|just now) "
                        r"\(2 changes\)\. Gone\.", banner_text(entries, "this order", "Gone.", now))
    assert ago(now, now) == "just now" and ago(now - dt.timedelta(seconds=3), now) == "3 s ago"
    assert banner_text([], "this order", "Gone.", now) == ""


def test_presence_in_redis_is_shared_and_expires():
    from northwind_app.live import presence as pres

    with own_redis_db() as redis_url:
        async def scenario():
            one, two = pres.RedisPresence(redis_url), pres.RedisPresence(redis_url)
            await one.enter("order:1", "tab-a", pres.Here(4, "Margaret", "editing"))
            assert pres.others_text(await two.here("order:1"), 2) == (
                "Also here: Margaret (editing)")
            await two.renew({"tab-b": ("order:1", pres.Here(2, "Andrew", "viewing"))})
            assert len(await one.here("order:1")) == 2
            await one.leave("order:1", "tab-a")
            assert [h.who for h in await two.here("order:1")] == ["Andrew"]
            stale = pres.Here(9, "Gone", "viewing", until=time.time() - 1)
            await one.client.hset(one._key("order:1"), "tab-c", json.dumps(
                {"user_id": 9, "who": "Gone", "mode": "viewing", "until": stale.until}))
            assert [h.who for h in await two.here("order:1")] == ["Andrew"]
            await one.client.aclose()
            await two.client.aclose()

        aio.run(scenario())
