"""Sign-in throttling: failed sign-ins counted per username *and* client address, so that
nobody can lock someone else out by typing wrong passwords for their name.

Every failed sign-in counts in three buckets (rows of `sign_in_throttle`), for any submitted
username, existing or not, so the answers never tell whether a name exists:

- **pair** (username, address): after PAIR_FREE failures in a window, that name is refused
  *from that address* for LOCK_SECONDS, doubling with each further failure up to
  MAX_LOCK_SECONDS. The real user, from another address, still signs in.
- **address**: after ADDRESS_FREE failures from one address, whatever the usernames, that
  address is refused for every name (stops one address spraying many names).
- **name**: after NAME_FREE failures for one username from all addresses together, the name is
  refused from every address. Reaching it takes many addresses (each one may try a name only
  PAIR_FREE times, then a few times an hour): only a distributed attack does. Then the real
  user too is refused until the attack stops (at most MAX_LOCK_SECONDS after its last
  counted guess) or an admin resets the password (which clears the name's buckets); API
  tokens keep working. That is the price of bounding how often anyone may guess a password.

A bucket counts failures for WINDOW from its first one; after that it starts again (so a
shared address's occasional typos never add up to a lock). Attempts refused by a lock are not
checked, not counted and not audited (they cost one indexed read). A successful sign-in clears
its pair bucket only: an attacker's own account cannot reset an address's or a name's count.

IPv6 clients are counted by their /64 network (one subscriber's usual allocation), IPv4
clients (and IPv4-mapped IPv6 ones) by their address.

The buckets live in the database, so every worker and host of one database shares them. A
failure upserts its three rows in one transaction, always in the order pair, address, name
(no lock-order deadlock between two failures), retried after a deadlock or a Galera
certification conflict; no table or named locks. Failed sign-ins and every lock a failure
starts are written to the audit trail (who: the submitted username; key: the client address;
never the password) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from northwind_app.db.engine import RETRYABLE_CODES
from northwind_app.db.models import SignInThrottle
from northwind_app.services import audit
from northwind_app.services.auth import Actor

log = logging.getLogger(__name__)

PAIR_FREE = 5  # failures of one username from one address before it is refused there
ADDRESS_FREE = 20  # failures from one address, any usernames, before the address is refused
NAME_FREE = 50  # failures of one username from all addresses before it is refused everywhere
LOCK_SECONDS = 30  # a bucket's first lock; doubles with every further failure …
MAX_LOCK_SECONDS = 15 * 60  # … up to this
WINDOW = dt.timedelta(hours=1)  # a bucket counts failures this long from its first one
RETRIES = 3  # after a deadlock (or a Galera certification conflict)

FREE = {"pair": PAIR_FREE, "address": ADDRESS_FREE, "name": NAME_FREE}
NAME_LENGTH = 64  # the columns' lengths
ADDRESS_LENGTH = 64
UNKNOWN_ADDRESS = "unknown"

T = SignInThrottle


def lock_seconds(failures: int, free: int = PAIR_FREE) -> int:
    """How long a bucket is refused after its `failures`-th failure in a window (0: not)."""
    if failures < free:
        return 0
    doublings = min(failures - free, 16)  # far past the ceiling already
    return min(LOCK_SECONDS * 2 ** doublings, MAX_LOCK_SECONDS)


def address_key(address: str | None) -> str:
    """What a client address is counted as: an IPv4 address, or an IPv6 address's /64."""
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:ADDRESS_LENGTH] or UNKNOWN_ADDRESS
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Bucket:
    scope: str
    username: str
    address: str

    @property
    def free(self) -> int:
        return FREE[self.scope]

    def where(self):
        return and_(T.scope == self.scope, T.username == self.username,
                    T.address == self.address)


def buckets(username: str, address: str | None) -> list[Bucket]:
    """The buckets a sign-in of `username` (normalized) from `address` counts in, in the
    order their rows are written."""
    name, key = username[:NAME_LENGTH], address_key(address)
    return [Bucket("pair", name, key), Bucket("address", "", key), Bucket("name", name, "")]


def wait_seconds(session: Session, username: str, address: str | None,
                 now: dt.datetime) -> int:
    """0 when a sign-in of `username` from `address` may be checked now, else how many
    seconds until every bucket it counts in is open again."""
    found = session.execute(
        select(T.locked_until).where(or_(*(b.where() for b in buckets(username, address))),
                                     T.locked_until > now)).scalars().all()
    if not found:
        return 0
    return math.ceil((max(found) - now).total_seconds())


@dataclass(frozen=True)
class Lock:
    bucket: Bucket
    failures: int
    seconds: int


def record_failure(session: Session, username: str, address: str | None,
                   now: dt.datetime) -> int:
    """Count a failed sign-in of `username` from `address` and audit it, committed (the
    caller's rollback must not undo it); returns the seconds of the longest lock it started
    (0: none)."""
    for attempt in range(RETRIES + 1):
        try:
            locks = _count(session, username, address, now)
            session.commit()
            break
        except OperationalError as exc:
            session.rollback()
            if getattr(exc.orig, "args", [None])[0] not in RETRYABLE_CODES or attempt == RETRIES:
                raise
    _purge(session, now)
    return max((lock.seconds for lock in locks), default=0)


def _upsert(session: Session, bucket: Bucket, now: dt.datetime) -> None:
    """One more failure in `bucket`: a new row, or the row's count + 1 (or 1, with a new
    window, when its window is over). One statement, so concurrent failures all count."""
    values = {"scope": bucket.scope, "username": bucket.username, "address": bucket.address,
              "failures": 1, "window_start": now, "locked_until": None}
    over = T.window_start <= now - WINDOW
    # MariaDB assigns left to right, each seeing the ones before: window_start goes last.
    changes = [("failures", case((over, 1), else_=T.failures + 1)),
               ("locked_until", case((over, null()), else_=T.locked_until)),
               ("window_start", case((over, literal(now, T.window_start.type)),
                                     else_=T.window_start))]
    if session.get_bind().dialect.name == "sqlite":
        stmt = sqlite_insert(T).values(values).on_conflict_do_update(
            index_elements=["scope", "username", "address"], set_=dict(changes))
    else:
        stmt = mysql_insert(T).values(values).on_duplicate_key_update(changes)
    session.execute(stmt)


def _count(session: Session, username: str, address: str | None,
           now: dt.datetime) -> list[Lock]:
    chosen = buckets(username, address)
    for bucket in chosen:
        _upsert(session, bucket, now)
    rows = session.execute(
        select(T.scope, T.failures, T.locked_until)
        .where(or_(*(b.where() for b in chosen)))).all()
    by_scope = {scope: (failures, locked_until) for scope, failures, locked_until in rows}
    locks = []
    for bucket in chosen:
        failures, locked_until = by_scope[bucket.scope]
        seconds = lock_seconds(failures, bucket.free)
        if seconds and (locked_until is None or locked_until <= now):
            session.execute(update(T).where(bucket.where())
                            .values(locked_until=now + dt.timedelta(seconds=seconds)))
            locks.append(Lock(bucket, failures, seconds))
    _audit(session, username, address, locks)
    return locks


def _audit(session: Session, username: str, address: str | None, locks: list[Lock]) -> None:
    """The failure, and each lock it started. Who: the submitted name (the same row for an
    existing name and an unknown one); the record key: the client address."""
    who = Actor(user_id=None, username=username[:NAME_LENGTH], role="")
    shown = (address or "").strip()[:ADDRESS_LENGTH] or UNKNOWN_ADDRESS
    audit.record(session, who, "sign_in_failed", "sign_in", shown, None, None,
                 summary=f"failed sign-in as {who.username} from {shown}")
    for lock in locks:
        bucket = lock.bucket
        whom = {"pair": f"sign-ins as {who.username} from {bucket.address}",
                "address": f"sign-ins from {bucket.address} (any username)",
                "name": f"sign-ins as {who.username} (from every address)"}[bucket.scope]
        audit.record(session, who, "lockout", "sign_in", shown, None, None,
                     summary=f"{whom} refused for {lock.seconds} s after {lock.failures} "
                             f"failures (last from {shown})")


def clear_pair(session: Session, username: str, address: str | None) -> None:
    """A successful sign-in: its (username, address) count starts again."""
    session.execute(delete(T).where(buckets(username, address)[0].where()))


def clear_username(session: Session, username: str) -> None:
    """A new password: the name's counts (from any address) start again."""
    session.execute(delete(T).where(T.username == username[:NAME_LENGTH]))


def _purge(session: Session, now: dt.datetime) -> None:
    """Drop buckets whose window and lock are over (they would start again anyway): one
    indexed DELETE, in its own transaction after the failure's. Best effort."""
    try:
        session.execute(delete(T).where(
            T.window_start <= now - WINDOW,
            or_(T.locked_until.is_(None), T.locked_until <= now)))
        session.commit()
    except Exception:  # noqa: BLE001 - old rows only; logged, never raised
        session.rollback()
        log.warning("Could not purge old sign-in throttle rows", exc_info=True)
