"""A tab that comes back to a form on a new websocket keeps what was typed in it.

Reflex runs a page's on_load again whenever a tab's websocket (re)connects: after the server
worker holding it died (the tab reconnects to another), after a network drop, on a reload.
A form whose load fills it afresh would throw the user's typing away each time. A form
state declares `_draft_key: str = ""` and `_draft_sid: str = ""`, returns from its load when
`resumes_draft` says so, calls `keep_draft` once the form is filled, and `drop_draft` once
it is saved and when the page unmounts (the tab left it through the app: a link, Cancel).
So the typing is kept for the same user, in the same number format, on the same page (path)
until it is saved or left that way, and only for a new websocket: a link to the form on the
tab's open connection starts afresh.
"""

from __future__ import annotations

from typing import Any

from northwind_app.ui.auth import actor_of


async def _key(state: Any) -> str:
    """The user, the number format its texts were typed in (a changed format starts the form
    afresh: formats.py), and the page, its query included (`/orders/new?from=10248` is
    another start than `/orders/new`). A page loaded by the browser has a trailing slash,
    one reached by a link none."""
    actor = await actor_of(state)
    url = state.router.url
    query = f"?{url.query}" if url.query else ""
    return f"{actor.user_id}:{actor.number_format}:{url.path.rstrip('/')}{query}"


async def resumes_draft(state: Any) -> bool:
    """True when the tab is back on its form on a new websocket (leave the form as it is)."""
    key, sid = await _key(state), state.router.session.session_id
    if key == state._draft_key and sid != state._draft_sid:
        state._draft_sid = sid
        return True
    state._draft_key, state._draft_sid = "", sid
    return False


async def keep_draft(state: Any) -> None:
    """The form is filled: from now on it is the tab's draft."""
    state._draft_key = await _key(state)


def drop_draft(state: Any) -> None:
    """The form was saved: coming back starts afresh."""
    state._draft_key = ""
