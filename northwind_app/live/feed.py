"""The change feed: the audit trail, announced after each commit.

Why the audit trail and no outbox table of its own: every service write already records its
audit entry in the write's own transaction (`services/audit.py`), with who, when and which
fields changed from what to what, which is what a live screen shows ("Margaret changed this
order 5 s ago: freight 32.38 → 40.00"). So an entry exists exactly when its change committed,
and one of a rolled-back (or retried) transaction never does; `audit_id` (auto-increment) is
the feed's cursor. What the trail does not hold, a screen reads when it refreshes anyway
(an order's new version, a product's stock).

Announcing: SQLAlchemy session events collect the audit entries a transaction flushes, work out
what they touch (`related`: an order's customer, employee and the products whose stock moved)
before the commit, inside the transaction, and hand them on only after the commit (`after_commit`;
a rollback forgets them). With `REFLEX_REDIS_URL` set they are published on the Redis channel
`northwind:changes:<redis db>` (every worker of every host on that Redis hears them; the
command line publishes too when it has the variable); without Redis to the sinks of this
process (the screens' listener, `live/hub.py`). An announcement can be lost (Redis away, a
process killed between commit and publish): listeners also read the feed by cursor (`read`),
so a lost announcement only costs time.

Cursor caveat: auto-increment ids are taken at insert, not at commit, so a transaction can
commit an id below one already read (and on Galera ids interleave between nodes, leaving ids
that never appear). `Cursor` keeps the ids below its position it has not seen yet for
GAP_SECONDS and reads them again.

Plain Python (no Reflex): the services may import it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session as OrmSession

from northwind_app.db.models import AuditEntry, Order, OrderDetail

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "northwind:changes:"
# Ids below the cursor not seen yet are read again this long (a transaction between its
# audit insert and its commit; ids that never appear: rolled back, Galera's interleaving).
GAP_SECONDS = 60.0
MAX_GAP = 10_000  # a jump larger than this is not tracked id by id (a bulk import)
READ_LIMIT = 1000  # entries one read of the feed returns at most
# Entities whose entries announce nothing (failed sign-ins: nobody's screen shows them).
SILENT = frozenset({"sign_in"})

_COLLECTED = "nw_live_collected"  # session.info: audit entries flushed in this transaction
_READY = "nw_live_ready"  # session.info: their announcements, ready once committed
_LINE = re.compile(r"^line (\d+) ")


@dataclass(frozen=True)
class Change:
    """One committed change: an audit entry and what it touches."""

    id: int
    at: str  # ISO time, UTC
    user_id: int | None
    username: str
    action: str
    entity: str
    key: str
    fields: dict[str, list[str | None]]
    # Keys of other records the change touches, by entity: {"customer": ["ALFKI"], ...}
    related: dict[str, list[str]] = field(default_factory=dict)

    @property
    def topics(self) -> frozenset[str]:
        return topics_of(self)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(id=int(data["id"]), at=str(data["at"]), user_id=data.get("user_id"),
                   username=str(data.get("username", "")), action=str(data["action"]),
                   entity=str(data["entity"]), key=str(data["key"]),
                   fields=dict(data.get("fields") or {}),
                   related={k: [str(v) for v in vs]
                            for k, vs in (data.get("related") or {}).items()})


def topics_of(change: Change) -> frozenset[str]:
    """The topics a change concerns: the record itself (`order:10248`), its list (`orders`),
    the records it touches (`customer:ALFKI`, `product:11`; `products` when stock moved),
    `dashboard` for orders, and `session:<user id>` for an account change (role,
    deactivation, password)."""
    entity, key = change.entity, change.key
    if entity in SILENT:
        return frozenset()
    topics = {f"{entity}:{key}", f"{entity}s"}
    if entity == "order":
        topics.add("dashboard")
    if entity == "user":
        topics.add(f"session:{key}")
    if entity == "api_token":
        topics.add("api_tokens")
    for other, keys in change.related.items():
        if other == "stock":
            if keys:
                topics.add("products")  # the list shows stock
            continue
        topics.update(f"{other}:{k}" for k in keys)
    return frozenset(topics)


# --- what a change touches -------------------------------------------------------------------


def related(session: OrmSession, entity: str, key: str, action: str,
            fields: dict[str, list[str | None]]) -> dict[str, list[str]]:
    """The other records a change touches, from its fields and, for an order, the order as it
    is now (read in the writer's transaction, or later by a listener catching up): customers
    and employees (before and after), the products on its lines (`product`: their pages list
    the order) and those whose stock it moved (`stock`: lines changed; every line of a
    cancelled order)."""
    if entity != "order":
        return {}
    found: dict[str, set[str]] = {"customer": set(), "employee": set(), "product": set(),
                                  "stock": set()}
    for name, values in fields.items():
        if name in ("customer_id", "employee_id"):
            found[name.removesuffix("_id")].update(v for v in values if v)
            continue
        line = _LINE.match(name)
        if line and name.endswith(": quantity"):
            found["stock"].add(line.group(1))
    try:
        order_id = int(key)
    except ValueError:
        order_id = None
    if order_id is not None and action != "delete":
        row = session.execute(select(Order.customer_id, Order.employee_id)
                              .where(Order.order_id == order_id)).first()
        if row is not None:
            found["customer"].add(str(row.customer_id))
            if row.employee_id is not None:
                found["employee"].add(str(row.employee_id))
        lines = {str(pid) for pid in session.execute(
            select(OrderDetail.product_id).where(OrderDetail.order_id == order_id)).scalars()}
        found["product"].update(lines)
        if action == "cancel":
            found["stock"].update(lines)
    found["product"].update(found["stock"])
    return {name: sorted(keys) for name, keys in found.items() if keys}


def _change(session: OrmSession, entry: Any) -> Change:
    at = entry.at
    if isinstance(at, dt.datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    fields = dict(entry.changes or {})
    return Change(id=int(entry.audit_id), at=at.isoformat() if at else "",
                  user_id=entry.user_id, username=entry.username, action=entry.action,
                  entity=entry.entity, key=entry.entity_key, fields=fields,
                  related={} if entry.entity in SILENT else
                  related(session, entry.entity, entry.entity_key, entry.action, fields))


# --- announcing after commit ----------------------------------------------------------------

Sink = Callable[[Sequence[Change]], None]
_sinks: list[Sink] = []
_redis_clients: dict[str, Any] = {}
_lock = threading.Lock()


def add_sink(sink: Sink) -> None:
    """Call `sink` with every batch of changes this process commits (from the committing
    thread: a sink must only hand them on)."""
    with _lock:
        _sinks.append(sink)


def remove_sink(sink: Sink) -> None:
    with _lock:
        if sink in _sinks:
            _sinks.remove(sink)


def redis_url() -> str | None:
    """Reflex's Redis (the production shape), if configured."""
    return os.environ.get("REFLEX_REDIS_URL") or None


def channel(url: str) -> str:
    """The feed's Redis channel for the Redis database in `url`. Pub/sub channels are
    server-wide, so the database number keeps apps on separate databases of one Redis
    (tests, staging beside production) apart, as their UI states are."""
    path = urlparse(url).path.strip("/")
    return f"{CHANNEL_PREFIX}{path or '0'}"


def _redis(url: str):
    client = _redis_clients.get(url)
    if client is None:
        import redis  # the production shape only

        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return client


def encode(changes: Sequence[Change]) -> str:
    return json.dumps([c.to_json() for c in changes], separators=(",", ":"))


def decode(message: str | bytes) -> list[Change]:
    return [Change.from_json(item) for item in json.loads(message)]


def announce(changes: Sequence[Change]) -> None:
    """Tell this process's sinks and, with Redis, every listener of the channel. Never
    raises: a lost announcement is found by the listeners' read of the feed."""
    if not changes:
        return
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        try:
            sink(changes)
        except Exception:  # noqa: BLE001 - one sink's problem is not the writer's
            log.exception("live change sink failed")
    url = redis_url()
    if url:
        try:
            _redis(url).publish(channel(url), encode(changes))
        except Exception as exc:  # noqa: BLE001 - the listeners catch up from the feed
            log.warning("could not announce %d change(s) on Redis: %s", len(changes), exc)


def _after_flush(session: OrmSession, _context: Any) -> None:
    entries = [obj for obj in session.new
               if isinstance(obj, AuditEntry) and obj.entity not in SILENT]
    if entries:
        session.info.setdefault(_COLLECTED, []).extend(entries)


def _before_commit(session: OrmSession) -> None:
    if not session.info.get(_COLLECTED) and not session.new:
        return
    session.flush()  # entries added since the last flush (commit flushes only after this)
    entries = session.info.pop(_COLLECTED, None)
    if entries:
        session.info.setdefault(_READY, []).extend(_change(session, e) for e in entries)


def _after_commit(session: OrmSession) -> None:
    ready = session.info.pop(_READY, None)
    session.info.pop(_COLLECTED, None)
    if ready:
        announce(ready)


def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_READY, None)
    session.info.pop(_COLLECTED, None)


def install() -> None:
    """Listen to every ORM session of the process (idempotent; done on import)."""
    for name, fn in (("after_flush", _after_flush), ("before_commit", _before_commit),
                     ("after_commit", _after_commit), ("after_rollback", _after_rollback)):
        if not event.contains(OrmSession, name, fn):
            event.listen(OrmSession, name, fn)


install()


# --- reading the feed ----------------------------------------------------------------------


class Cursor:
    """Where a listener is in the feed: the highest id it has handled, and the ids below it
    not seen yet (kept GAP_SECONDS, then given up)."""

    def __init__(self, position: int = 0):
        self.position = position
        self.gaps: dict[int, float] = {}

    def take(self, changes: Iterable[Change], now: float | None = None) -> list[Change]:
        """The changes not handled yet, in id order; moves the cursor past them."""
        now = time.monotonic() if now is None else now
        fresh = []
        for change in sorted(changes, key=lambda c: c.id):
            if change.id > self.position:
                if change.id - self.position <= MAX_GAP:
                    for missing in range(self.position + 1, change.id):
                        self.gaps[missing] = now
                self.position = change.id
                fresh.append(change)
            elif self.gaps.pop(change.id, None) is not None:
                fresh.append(change)
        return fresh

    def expire(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for gap in [g for g, since in self.gaps.items() if now - since > GAP_SECONDS]:
            del self.gaps[gap]


def last_id(session: OrmSession) -> int:
    """The feed's newest id (0 when empty): where a new listener starts."""
    return int(session.execute(select(func.max(AuditEntry.audit_id))).scalar() or 0)


def read(session: OrmSession, cursor: Cursor) -> list[Change]:
    """Entries after the cursor and in its gaps, oldest first, silent ones included (they
    move the cursor and announce nothing); not yet taken (`cursor.take`). Costs one read of
    the newest id when nothing is new."""
    cursor.expire()
    if not cursor.gaps and last_id(session) <= cursor.position:
        return []
    condition = AuditEntry.audit_id > cursor.position
    if cursor.gaps:
        condition = or_(condition, AuditEntry.audit_id.in_(sorted(cursor.gaps)[:READ_LIMIT]))
    entries = session.execute(select(AuditEntry).where(condition)
                              .order_by(AuditEntry.audit_id).limit(READ_LIMIT)).scalars().all()
    return [_change(session, entry) for entry in entries]
