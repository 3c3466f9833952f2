"""The audit trail: who changed what, when, written in the same transaction as the change.

A service takes a *snapshot* of a record before and after its change: a flat mapping of
field → display text (order lines become fields such as "line 11 Queso Cabrales: quantity").
`record` stores the fields that differ as {field: [before, after]} (None where a field did not
exist, e.g. a line added or every field of a deleted record). An update that changes nothing
records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from northwind_app import formats
from northwind_app.db.models import AuditEntry, User
# The trail is also the live screens' change feed: importing the feed makes every process that
# writes announce its committed entries (live/feed.py).
from northwind_app.live import feed as _feed  # noqa: F401
from northwind_app.services.auth import Actor, Permission, utcnow
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import Listing, ListParams, Page

ACTIONS = ("create", "update", "ship", "cancel", "delete", "password", "revoke",
           "sign_in_failed", "lockout")
# "sign_in": failed sign-ins and the throttling they start (services/throttle.py); the key is
# the client address, the user the submitted username.
ENTITIES = ("order", "customer", "product", "user", "api_token", "sign_in")

Snapshot = Mapping[str, str | None]


def text(value: Any) -> str | None:
    """A stored value as audit text: None stays None; Decimals keep their exact digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):  # at least two places, no trailing zeros beyond: 14.00, 0.0525
        exact = value.normalize()
        if exact.as_tuple().exponent > -2:
            exact = value.quantize(Decimal("0.01"))
        return format(exact, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def snapshot(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: text(value) for name, value in values.items()}


def diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, list[str | None]]:
    """{field: [before, after]} for every field whose text differs (absent counts as None)."""
    before, after = before or {}, after or {}
    changes = {}
    names = [*before, *(n for n in after if n not in before)]
    if "total" in names:  # a derived figure: listed after what changed it
        names.append(names.pop(names.index("total")))
    for name in names:
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def record(session: Session, actor: Actor, action: str, entity: str, key: Any,
           before: Snapshot | None, after: Snapshot | None, summary: str = "") -> bool:
    """Add an audit entry to the caller's transaction; False when nothing changed."""
    changes = diff(before, after)
    if not changes and action == "update":
        return False
    session.add(AuditEntry(at=utcnow(), user_id=actor.user_id, username=actor.username,
                           action=action, entity=entity, entity_key=str(key)[:32],
                           summary=summary[:200], changes=changes))
    return True


# --- reading ------------------------------------------------------------------------------


@dataclass
class AuditView:
    audit_id: int
    at: dt.datetime
    username: str
    action: str
    entity: str
    entity_key: str
    summary: str
    changes: dict[str, list[str | None]]


COLUMNS = (AuditEntry.audit_id, AuditEntry.at, AuditEntry.username, AuditEntry.action,
           AuditEntry.entity, AuditEntry.entity_key, AuditEntry.summary, AuditEntry.changes)


def _view(row: Any) -> AuditView:
    return AuditView(*row)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("must be a date, YYYY-MM-DD") from None


def _choice(options: tuple[str, ...]):
    def condition(value: Any):
        if value not in options:
            raise ValueError(f"must be one of: {', '.join(options)}")
        return value
    return condition


_entity = _choice(ENTITIES)
_action = _choice(ACTIONS)

AUDIT = Listing(
    stmt=select(*COLUMNS),
    sorts={"at": AuditEntry.audit_id, "username": AuditEntry.username,
           "entity": AuditEntry.entity, "action": AuditEntry.action},
    default_sort="-at",
    tie_breaker=AuditEntry.audit_id,
    search=[AuditEntry.entity_key, AuditEntry.summary, AuditEntry.username],
    filters={
        "entity": lambda v: AuditEntry.entity == _entity(v),
        "action": lambda v: AuditEntry.action == _action(v),
        "username": lambda v: AuditEntry.username == str(v).strip().lower(),
        "key": lambda v: AuditEntry.entity_key == str(v).strip(),
        "date_from": lambda v: AuditEntry.at >= dt.datetime.combine(_date(v), dt.time(), dt.UTC),
        "date_to": lambda v: AuditEntry.at < dt.datetime.combine(
            _date(v) + dt.timedelta(days=1), dt.time(), dt.UTC),
    },
    row=_view,
)


def list_audit(session: Session, actor: Actor, params: ListParams) -> Page[AuditView]:
    """The whole trail, filtered (admins). A date range must not end before it starts."""
    actor.require(Permission.VIEW_AUDIT)
    try:
        first, last = (_date(params.filters[name]) if params.filters.get(name) else None
                       for name in ("date_from", "date_to"))
    except ValueError:
        first = last = None  # the filter itself names the bad date
    if first and last and last < first:
        raise Invalid(fields={"date_to": "must not be before date_from"})
    return AUDIT.page(session, params)


HISTORY_LIMIT = 200


def history(session: Session, entity: str, key: Any, limit: int = HISTORY_LIMIT) -> list[AuditView]:
    """One record's changes, newest first (anyone who may read the record may read this)."""
    rows = session.execute(
        select(*COLUMNS).where(AuditEntry.entity == entity, AuditEntry.entity_key == str(key))
        .order_by(AuditEntry.audit_id.desc()).limit(limit)).all()
    return [_view(row) for row in rows]


def last_action(session: Session, entity: str, key: Any, action: str) -> AuditView | None:
    """The latest entry of one action on one record (e.g. who deleted an order, and when)."""
    row = session.execute(
        select(*COLUMNS).where(AuditEntry.entity == entity, AuditEntry.entity_key == str(key),
                               AuditEntry.action == action)
        .order_by(AuditEntry.audit_id.desc()).limit(1)).first()
    return None if row is None else _view(row)


def when_text(at: dt.datetime) -> str:
    """An audit time for a message, in the user's time zone and format (formats.time_text:
    "Dec 6, 2026, 4:10 AM +0100"; UTC where no user's zone is known, e.g. the API)."""
    return formats.time_text(at)


def usernames(session: Session) -> list[str]:
    """Everyone who can appear in the trail (for the filter)."""
    return list(session.execute(select(User.username).order_by(User.username)).scalars())


@dataclass
class ChangeSince:
    """A change to one record after a given point of the trail (a live screen's banner)."""

    audit_id: int
    at: dt.datetime
    user_id: int | None
    who: str  # the user's full name, else their username as the trail kept it
    action: str
    changes: dict[str, list[str | None]]


def last_id(session: Session, entity: str, key: Any) -> int:
    """The id of one record's latest entry (0: none): where "changed since" starts."""
    return int(session.execute(
        select(AuditEntry.audit_id).where(AuditEntry.entity == entity,
                                          AuditEntry.entity_key == str(key))
        .order_by(AuditEntry.audit_id.desc()).limit(1)).scalar() or 0)


def changes_since(session: Session, entity: str, key: Any, after_id: int,
                  limit: int = 20) -> list[ChangeSince]:
    """One record's entries after `after_id`, oldest first, with who made them by name
    (anyone who may read the record may read this)."""
    rows = session.execute(
        select(AuditEntry.audit_id, AuditEntry.at, AuditEntry.user_id, AuditEntry.username,
               User.full_name, AuditEntry.action, AuditEntry.changes)
        .outerjoin(User, User.user_id == AuditEntry.user_id)
        .where(AuditEntry.entity == entity, AuditEntry.entity_key == str(key),
               AuditEntry.audit_id > after_id)
        .order_by(AuditEntry.audit_id).limit(limit)).all()
    return [ChangeSince(audit_id=r.audit_id, at=r.at, user_id=r.user_id,
                        who=r.full_name or r.username, action=r.action,
                        changes=dict(r.changes or {})) for r in rows]
