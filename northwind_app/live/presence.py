"""Who else has a record open: "Also here: Margaret (editing)".

A record page or form says its tab is here (`enter`: topic `order:10248`, the user, viewing or
editing) and leaves when the tab goes elsewhere or disconnects. Kept in this process (one
worker, no Redis) or in Redis (`northwind:presence:<redis db>:<topic>`, a hash of tab → who),
so every worker and host sees every tab. An entry is good for TTL_SECONDS and renewed by its
worker while the tab stays (`renew`), so the tabs of a worker that died drop out by themselves.
Each change of a topic's presence is announced (`PresenceChanged`: in-process, or the Redis
channel `northwind:presence-changes:<redis db>`) for the workers to tell their tabs on that
record to read it again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

TTL_SECONDS = 90.0
PREFIX = "northwind:presence:"
CHANGES_PREFIX = "northwind:presence-changes:"


@dataclass(frozen=True)
class Here:
    user_id: int | None
    who: str
    mode: str  # "viewing" or "editing"
    until: float = 0.0  # time.time() after which the entry no longer counts


def _db(url: str) -> str:
    return urlparse(url).path.strip("/") or "0"


def changes_channel(url: str) -> str:
    return f"{CHANGES_PREFIX}{_db(url)}"


def others_text(entries: Iterable[Here], user_id: int | None) -> str:
    """"Also here: Margaret (editing), Andrew" for the entries of other users (one mention
    per user, editing first)."""
    by_user: dict[object, Here] = {}
    for here in entries:
        if here.user_id is not None and here.user_id == user_id:
            continue
        key = here.user_id if here.user_id is not None else here.who
        if key not in by_user or here.mode == "editing":
            by_user[key] = here
    if not by_user:
        return ""
    names = [f"{h.who} (editing)" if h.mode == "editing" else h.who
             for h in sorted(by_user.values(), key=lambda h: (h.mode != "editing", h.who))]
    return "Also here: " + ", ".join(names)


Announce = Callable[[str], Awaitable[None]]


class LocalPresence:
    """Presence within this process (the embedded default)."""

    def __init__(self, announce: Announce):
        self.entries: dict[str, dict[str, Here]] = {}
        self.announce = announce

    async def enter(self, topic: str, token: str, here: Here) -> None:
        here = Here(here.user_id, here.who, here.mode, time.time() + TTL_SECONDS)
        before = self.entries.get(topic, {}).get(token)
        self.entries.setdefault(topic, {})[token] = here
        if before is None or (before.mode, before.who) != (here.mode, here.who):
            await self.announce(topic)

    async def leave(self, topic: str, token: str) -> None:
        tabs = self.entries.get(topic)
        if tabs and tabs.pop(token, None) is not None:
            if not tabs:
                del self.entries[topic]
            await self.announce(topic)

    async def renew(self, held: dict[str, tuple[str, Here]]) -> None:
        until = time.time() + TTL_SECONDS
        for token, (topic, here) in held.items():
            self.entries.setdefault(topic, {})[token] = Here(here.user_id, here.who, here.mode,
                                                             until)

    async def here(self, topic: str) -> list[Here]:
        now = time.time()
        return [h for h in self.entries.get(topic, {}).values() if h.until > now]


class RedisPresence:
    """Presence in Redis (the production shape: every worker and host)."""

    def __init__(self, url: str):
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(url)
        self.db = _db(url)
        self.channel = changes_channel(url)

    def _key(self, topic: str) -> str:
        return f"{PREFIX}{self.db}:{topic}"

    async def enter(self, topic: str, token: str, here: Here) -> None:
        here = Here(here.user_id, here.who, here.mode, time.time() + TTL_SECONDS)
        key = self._key(topic)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, token, json.dumps(asdict(here)))
            pipe.expire(key, int(TTL_SECONDS * 2))
            pipe.publish(self.channel, topic)
            await pipe.execute()

    async def leave(self, topic: str, token: str) -> None:
        if await self.client.hdel(self._key(topic), token):
            await self.client.publish(self.channel, topic)

    async def renew(self, held: dict[str, tuple[str, Here]]) -> None:
        if not held:
            return
        until = time.time() + TTL_SECONDS
        async with self.client.pipeline(transaction=False) as pipe:
            for token, (topic, here) in held.items():
                entry = Here(here.user_id, here.who, here.mode, until)
                pipe.hset(self._key(topic), token, json.dumps(asdict(entry)))
                pipe.expire(self._key(topic), int(TTL_SECONDS * 2))
            await pipe.execute()

    async def here(self, topic: str) -> list[Here]:
        now = time.time()
        found = []
        for raw in (await self.client.hgetall(self._key(topic))).values():
            try:
                here = Here(**json.loads(raw))
            except (TypeError, ValueError):
                continue
            if here.until > now:
                found.append(here)
        return found
