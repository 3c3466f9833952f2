"""One listener per worker process: learns of every committed change and hands it on.

- With `REFLEX_REDIS_URL`: subscribed to the feed's channel (live/feed.py), where every
  writer (each worker, each host, the command line) announces its changes after commit.
- Without Redis (the embedded default, one worker): the changes this process commits come
  straight from the committing thread (a feed sink).
- Either way, every POLL_SECONDS it reads the feed by cursor (one read of the newest audit id
  when nothing is new): a change whose announcement was lost (Redis away or restarted, a
  writer killed between its commit and its announcement), or one made by another process
  without Redis (the command line on the embedded database), still arrives, later.

The cursor drops what it has handled already, so a change announced and also read is handed
on once. `deliver` runs in the event loop (the registry's dispatch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from northwind_app.db.engine import begin, finish, new_session
from northwind_app.live import feed
from northwind_app.live.feed import Change, Cursor

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
RETRY_SECONDS = 1.0


def _read_session(url: str | None, fn, *args):
    session = new_session(url, read_only=True)
    try:
        begin(session)
        result = fn(session, *args)
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session)
    return result


def _copy(cursor: Cursor) -> Cursor:
    copy = Cursor(cursor.position)
    copy.gaps = dict(cursor.gaps)
    return copy


class Hub:
    """The listener of one process (`run` until cancelled)."""

    def __init__(self, deliver: Callable[[Sequence[Change]], object], *,
                 redis_url: str | None = None, poll: float = POLL_SECONDS,
                 database_url: str | None = None,
                 on_presence: Callable[[str], object] | None = None):
        self.deliver = deliver
        self.on_presence = on_presence  # Redis: a record's presence changed (live/presence.py)
        self.database_url = database_url  # None: the configured database
        self.redis_url = redis_url
        self.poll = poll
        self.cursor: Cursor | None = None  # None until the feed's position is known
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._db_down = False
        self.subscribed = asyncio.Event()  # Redis: subscribed (tests wait for it)
        self.delivered = 0

    # --- receiving ---

    def receive(self, changes: Sequence[Change]) -> None:
        """Announced changes (in the loop): those not handled yet are delivered."""
        if self.cursor is None:
            fresh = sorted(changes, key=lambda c: c.id)
        else:
            fresh = self.cursor.take(changes)
        fresh = [c for c in fresh if c.topics]
        if fresh:
            self.delivered += len(fresh)
            self.deliver(fresh)

    def _from_thread(self, changes: Sequence[Change]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.receive, list(changes))

    async def catch_up(self) -> None:
        """Read the feed after the cursor (and its gaps) and deliver what is new."""
        try:
            if self.cursor is None:
                self.cursor = Cursor(await asyncio.to_thread(
                    _read_session, self.database_url, feed.last_id))
                return
            self.cursor.expire()
            changes = await asyncio.to_thread(_read_session, self.database_url, feed.read,
                                              _copy(self.cursor))
        except Exception as exc:  # noqa: BLE001 - the database away: try again next time
            if not self._db_down:
                log.warning("live updates cannot read the change feed (%s); retrying", exc)
            self._db_down = True
            return
        if self._db_down:
            log.info("live updates read the change feed again")
            self._db_down = False
        self.receive(changes)

    # --- running ---

    async def _poll_forever(self) -> None:
        while True:
            await self.catch_up()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        from northwind_app.live.presence import changes_channel

        channel = feed.channel(self.redis_url)
        presence = changes_channel(self.redis_url)
        while True:
            client = aioredis.Redis.from_url(self.redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel, presence)
                    async for message in pubsub.listen():
                        kind = message.get("type")
                        if kind == "subscribe":
                            self.subscribed.set()
                            self._wake.set()  # what was missed while away: read the feed now
                        elif kind == "message" and message.get("channel") in (
                                presence, presence.encode()):
                            if self.on_presence is not None:
                                data = message["data"]
                                self.on_presence(data.decode() if isinstance(data, bytes)
                                                 else str(data))
                        elif kind == "message":
                            try:
                                self.receive(feed.decode(message["data"]))
                            except Exception:  # noqa: BLE001 - a bad message is skipped
                                log.exception("bad change announcement skipped")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: the poll still reads the feed
                log.warning("live updates lost Redis (%s); retrying", exc)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RETRY_SECONDS)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(self._poll_forever(), name="northwind_live_poll")]
        if self.redis_url:
            tasks.append(asyncio.create_task(self._listen_redis(), name="northwind_live_redis"))
        else:
            feed.add_sink(self._from_thread)
        try:
            await asyncio.gather(*tasks)
        finally:
            feed.remove_sink(self._from_thread)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
