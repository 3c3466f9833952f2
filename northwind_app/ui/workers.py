"""Tabs of a worker process that died keep their state when they reconnect to another worker.

With Redis, Reflex records which worker process holds each tab's websocket under
`token_manager_socket_record_<tab token>` (for an hour) and deletes the record when the socket
closes. A worker that is killed (out-of-memory killer, crash) deletes nothing, so when its tabs
reconnect to another worker (or its replacement) Reflex finds their records, takes each tab
for a duplicate of a still-open one, and gives it a new token: a fresh, empty state, and an
order form typed so far is gone.

Here each worker announces that it is alive by staying subscribed to a Redis channel named
`northwind:worker:<Reflex instance id>:<pid>` for as long as it runs: Redis drops the
subscription the moment the process dies, since its connection closes with it. When a tab
connects and another worker's record names its token, the record is kept (a real duplicate
tab gets a new token, as before) unless that worker's channel is gone; then the stale record
is deleted (only if unchanged) and Reflex links the tab to this worker under its own token,
with its state. `redis-cli PUBSUB CHANNELS 'northwind:worker:*'` lists the live workers.

Reflex internals this relies on (tests/api/test_respawn.py fails when an upgrade changes them):
- the app's `EventNamespace` keeps its token manager in `_token_manager` and reads it
  from there on every use, so replacing it in a lifespan task, before the worker serves
  its first connection, takes effect;
- `RedisTokenManager` keeps each record, a pickled `SocketRecord` with the owner's
  `instance_id`, under `_get_redis_key(token)`, its own sockets in `token_to_socket`, its
  client in `redis`, and `link_token_to_sid` hands a new token to a tab whose record exists;
- it calls `_reset_instance_id` as the worker starts (overridden to drop a presence started
  under the old identity; none is started that early, so it would not matter if it went).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle

from reflex.utils.token_manager import RedisTokenManager

log = logging.getLogger(__name__)

PRESENCE_PREFIX = "northwind:worker:"
PRESENCE_WAIT_SECONDS = 5.0  # a worker's first connection waits at most this for it
_RETRY_SECONDS = 1.0

# Delete the key only if it still holds the record found dead (another worker may have
# linked the tab in the meantime).
_DELETE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def presence_pattern(instance_id: str) -> str:
    return f"{PRESENCE_PREFIX}{instance_id}:*"


class WorkerAwareTokenManager(RedisTokenManager):
    """Reflex's Redis token manager that hands a tab its own token back when the worker
    recorded as holding it has died."""

    # Set before __init__ runs: Reflex's __init__ calls _reset_instance_id.
    _presence_task: asyncio.Task | None = None
    _presence_ready: asyncio.Event | None = None
    _presence_waited = False

    def _reset_instance_id(self) -> None:
        super()._reset_instance_id()
        # A new identity needs a new channel (Reflex resets it as the worker starts).
        self._stop_presence()

    def _presence_channel(self) -> str:
        return f"{PRESENCE_PREFIX}{self.instance_id}:{os.getpid()}"

    async def _hold_presence(self, ready: asyncio.Event) -> None:
        """Stay subscribed to this worker's channel for as long as the worker runs."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._presence_channel())
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":
                            ready.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: retry, the tabs still work
                log.warning("worker presence in Redis lost (%s); retrying", exc)
            ready.clear()
            await asyncio.sleep(_RETRY_SECONDS)

    async def _ensure_presence(self) -> None:
        if self._presence_task is None or self._presence_task.done():
            self._presence_ready = asyncio.Event()
            self._presence_task = asyncio.create_task(
                self._hold_presence(self._presence_ready), name="northwind_worker_presence")
        assert self._presence_ready is not None
        # Wait for it once: if Redis refuses it, later tabs are linked without the delay (a
        # worker without presence only risks a duplicated tab sharing its token).
        if not self._presence_ready.is_set() and not self._presence_waited:
            self._presence_waited = True
            try:
                await asyncio.wait_for(self._presence_ready.wait(), PRESENCE_WAIT_SECONDS)
            except TimeoutError:
                log.warning("worker presence not yet in Redis; linking the tab anyway")

    def _stop_presence(self) -> None:
        if self._presence_task is not None and not self._presence_task.done():
            self._presence_task.cancel()
        self._presence_task = self._presence_ready = None
        self._presence_waited = False

    async def _worker_alive(self, instance_id: str) -> bool:
        return bool(await self.redis.pubsub_channels(presence_pattern(instance_id)))

    async def _release_if_owner_died(self, token: str, sid: str) -> None:
        local = self.token_to_socket.get(token)
        if local is not None and local.sid == sid:
            return  # the same socket again: Reflex's own fast path
        key = self._get_redis_key(token)
        raw = await self.redis.get(key)
        if not raw:
            return
        owner = pickle.loads(raw).instance_id  # noqa: S301 - written by Reflex, as it reads it
        if owner == self.instance_id or await self._worker_alive(owner):
            return
        if await self.redis.eval(_DELETE_IF_UNCHANGED, 1, key, raw):
            log.info("tab %s… of a worker that died reconnected; it keeps its state", token[:8])

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        await self._ensure_presence()
        try:
            await self._release_if_owner_died(token, sid)
        except Exception as exc:  # noqa: BLE001 - then Reflex decides as it would alone
            log.warning("could not check the previous owner of a tab: %s", exc)
        return await super().link_token_to_sid(token, sid)

    async def close(self) -> None:
        task = self._presence_task
        self._stop_presence()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()


@contextlib.asynccontextmanager
async def worker_aware_tabs(app):
    """Lifespan task: give this worker's event namespace the WorkerAwareTokenManager."""
    namespace = app.event_namespace
    manager = getattr(namespace, "_token_manager", None)
    if type(manager) is RedisTokenManager:
        namespace._token_manager = WorkerAwareTokenManager(manager.redis)
    yield
