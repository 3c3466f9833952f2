"""What a live screen says about a change someone else made (pure functions, no Reflex)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from northwind_app.services.audit import ChangeSince

MAX_FIELDS = 4  # fields named in one sentence; the rest are counted
ACTION_TEXT = {"update": "changed", "ship": "shipped", "cancel": "cancelled",
               "delete": "deleted", "create": "created"}


def ago(at: dt.datetime, now: dt.datetime | None = None) -> str:
    """"just now", "5 s ago", "3 min ago", "2 h ago" (audit times are UTC, naive on some
    backends)."""
    now = now or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 3:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _value(value: str | None) -> str:
    return "—" if value in (None, "") else value


def fields_text(changes: dict[str, list[str | None]]) -> str:
    """"Freight $32.38 → $40.00; Ship city Reims → Lyon" (changes as services/changes.py
    words them; at most MAX_FIELDS, then "and N more")."""
    parts = [f"{name} {_value(before)} → {_value(after)}"
             for name, (before, after) in list(changes.items())[:MAX_FIELDS]]
    more = len(changes) - MAX_FIELDS
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def changed_text(entries: Sequence[ChangeSince], thing: str,
                 now: dt.datetime | None = None) -> str:
    """One sentence about changes others made to `thing` ("this order"): who, when, what
    (the latest entry's fields; earlier ones are counted)."""
    if not entries:
        return ""
    last = entries[-1]
    who = ", ".join(dict.fromkeys(e.who for e in entries))
    verb = ACTION_TEXT.get(last.action, "changed")
    text = f"{who} {verb} {thing} {ago(last.at, now)}"
    detail = fields_text(last.changes) if last.action in ("update", "ship") else ""
    if detail:
        text += f": {detail}"
    if len(entries) > 1:
        text += f" ({len(entries)} changes)"
    return text


def banner_text(entries: Sequence[ChangeSince], thing: str, if_deleted: str,
                now: dt.datetime | None = None) -> str:
    """A form's banner about others' changes to the record being edited (`thing`: "this
    order"), with what the user may do (`if_deleted`: what is left when it was deleted);
    "" when there are none."""
    text = changed_text(entries, thing, now)
    if not text:
        return ""
    if entries[-1].action == "delete":
        return f"{text}. {if_deleted}"
    return text + ". Reload it, or keep editing and save over it after reviewing the changes."
