"""The screens during a database outage: a banner, disabled actions, automatic recovery.

When an event finds the database unreachable (`is_unavailable`, the API's 503 rule), the tab's
`OutageState.db_down` is set instead of showing a traceback or a generic error:

- `outage_wrap` (an app-wide wrap, so on every page, the login page included) shows the
  banner and disables every form control of the page (a `<fieldset disabled>` around it): no
  button can write or submit while nothing can be written. Links still navigate.
- The banner, when it appears, starts `OutageState.retry`, a background task that probes the
  database every PROBE_SECONDS (in a worker thread) until it answers; then the banner goes and,
  when what failed was the page's load, the page's on_load events run again (its data comes
  back without a reload). A form whose save failed is left as it was, for the user to save
  again.
- The server log gets one line when a worker process finds the database gone and one when it
  is back, not a stack trace per event.

Where it is raised from: the auth middleware, whose session check is the first database trip
of most events (`outage_update`); the pages' handlers, which report what they caught
(`failed`); and the app's backend exception handler for whatever no handler caught
(`backend_exception_handler`, told by `OutageMiddleware` whether the event was a page load).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import OrderedDict
from typing import Any

import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.middleware import Middleware
from reflex.state import BaseState, OnLoadInternalState, StateUpdate
from reflex_base.event import Event, EventSpec
from reflex_base.event.context import EventContext
from reflex_base.registry import RegistrationContext

from northwind_app.services.errors import database_unavailable
from northwind_app.services.stats import database_ping
from northwind_app.ui import backend
from northwind_app.ui.auth import public

log = logging.getLogger(__name__)

MESSAGE = "The database is not reachable; retrying…"
PROBE_SECONDS = 1.5
# A retry task runs this long at most, then asks the browser to start another: a tab that
# was closed meanwhile does not answer, so nobody probes for it for ever.
RETRY_WINDOW = 60.0

# When this worker process first found the database unreachable (None: it is reachable), so
# that an outage is logged once, not once per event or tab.
_down_since: float | None = None


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (connection refused or lost, timed
    out, …): the rule the API answers 503 `database_unavailable` by."""
    return database_unavailable(exc)


def _note_down(exc: BaseException | None) -> None:
    global _down_since
    if _down_since is None:
        _down_since = time.monotonic()
        cause = exc
        while cause is not None and getattr(cause, "orig", None) is not None:
            cause = cause.orig
        first_line = (str(cause).splitlines() or [""])[0] if cause is not None else ""
        log.warning("Database unreachable (%s: %s); screens show the outage banner and retry",
                    type(cause).__name__, first_line)


def _note_up() -> None:
    global _down_since
    if _down_since is not None:
        log.warning("Database reachable again after %.0f s", time.monotonic() - _down_since)
        _down_since = None


def _probe() -> bool:
    """Whether the database answers now (in a worker thread). Not `backend.read`: a failure
    here is the expected answer "not yet", neither logged nor shown."""
    try:
        backend.run_read(database_ping)
    except Exception as exc:  # noqa: BLE001 - any failure means not yet
        if not is_unavailable(exc):
            log.warning("Database probe failed: %s", exc)
        return False
    return True


@public  # its events must pass while no session can be checked
class OutageState(rx.State):
    """Whether this tab found the database unreachable. Its events touch nothing but this
    state (and probe the database at most once per PROBE_SECONDS per tab)."""

    db_down: bool = False
    _reload: bool = False  # run the page's on_load again once the database is back
    # When this tab's retry task started (wall clock, 0: none runs). One that has run longer
    # than its window is taken as gone (its worker stopped) and another may start.
    _probing_since: float = 0.0

    def _mark(self, reload: bool) -> None:
        self.db_down = True
        self._reload = self._reload or reload

    @rx.event
    def lost(self, reload: bool):
        """The backend exception handler's follow-up: an event failed on the database
        (`reload`: it was one of the page's loads)."""
        self._mark(reload=bool(reload))

    @rx.event(background=True)
    async def retry(self):
        """Probe until the database answers (started by the banner when it appears)."""
        async with self:
            if not self.db_down or time.time() - self._probing_since < RETRY_WINDOW + 5:
                return
            self._probing_since = time.time()
        up = False
        try:
            deadline = time.monotonic() + RETRY_WINDOW
            while time.monotonic() < deadline:
                await asyncio.sleep(PROBE_SECONDS)
                if await asyncio.to_thread(_probe):
                    up = True
                    break
        finally:
            async with self:
                self._probing_since = 0.0
                reload = False
                if up:
                    _note_up()
                    self.db_down = False
                    reload, self._reload = self._reload, False
        if up:
            if reload:
                yield OnLoadInternalState.on_load_internal
        else:  # a browser still showing the banner starts the next round
            yield rx.call_script("0", callback=OutageState.retry)


def _page_load(state: BaseState, event: Event) -> bool:
    """Whether `event` is one of the on_load events of the page the tab shows."""
    try:
        load_events = RegistrationContext.get().app.get_load_events(state.router.url.path)
    except Exception:  # noqa: BLE001 - no app registered (unit tests): assume it is
        return True
    return any(loaded.name == event.name for loaded in Event.from_event_type(load_events))


async def outage_update(state: BaseState, event: Event,
                        exc: BaseException | None = None) -> StateUpdate:
    """What the auth middleware returns when its session check found the database
    unavailable (call it in the `except` block; `exc` defaults to the exception being
    handled): the banner instead of the event, which runs again on recovery if it was one of
    the page's loads (another event, such as a click, is dropped: the buttons are disabled
    meanwhile)."""
    _note_down(exc if exc is not None else sys.exc_info()[1])
    outage = await state.get_state(OutageState)
    outage._mark(reload=_page_load(state, event))
    delta = await state._get_resolved_delta()
    state._clean()
    return StateUpdate(delta=delta, events=[])


async def failed(state: BaseState, exc: BaseException, logger: logging.Logger, what: str,
                 *args: Any, reload: bool = True) -> bool:
    """For a handler's `except Exception as exc:` block: when `exc` means the database is
    unavailable, raise the banner (`reload`: run the page's load again on recovery; False
    for a save, whose form must keep what the user typed) and log one line; otherwise log
    `what % args` with the traceback to `logger`, as before. Returns whether it was the
    outage."""
    if not is_unavailable(exc):
        logger.error(what, *args, exc_info=exc)
        return False
    _note_down(exc)
    log.debug("%s: database unavailable", what % args if args else what)
    (await state.get_state(OutageState))._mark(reload)
    return True


# The events now running that are page loads (by transaction id, as OutageMiddleware saw
# them): the backend exception handler, which is not told the event, looks its own up. The
# oldest are forgotten first (an event that ended without an error leaves its id here).
_page_loads: OrderedDict[str, None] = OrderedDict()
_PAGE_LOADS_KEPT = 1024


class OutageMiddleware(Middleware):
    """Notes which events are page loads, for `backend_exception_handler`."""

    async def preprocess(self, app: Any, state: BaseState, event: Event) -> StateUpdate | None:
        if _page_load(state, event):
            _page_loads[EventContext.get().txid] = None
            while len(_page_loads) > _PAGE_LOADS_KEPT:
                _page_loads.popitem(last=False)
        return None


def backend_exception_handler(exception: Exception) -> EventSpec | None:
    """The app's last resort for an exception no handler caught: an unreachable database
    raises the banner (one log line, no traceback), and the page loads again on recovery if
    the event was one of its loads; anything else gets Reflex's default (logged with its
    traceback, a generic toast)."""
    if is_unavailable(exception):
        _note_down(exception)
        try:
            txid = EventContext.get().txid
        except Exception:  # noqa: BLE001 - no event context: reload, to be safe
            reload = True
        else:
            reload = txid in _page_loads
            _page_loads.pop(txid, None)
        return OutageState.lost(reload)
    return default_backend_exception_handler(exception)


def outage_banner() -> rx.Component:
    return rx.cond(
        OutageState.db_down,
        rx.callout(
            MESSAGE,
            icon="triangle-alert",
            color_scheme="amber",
            variant="surface",
            role="alert",
            on_mount=OutageState.retry,
            data_testid="outage-banner",
            position="fixed",
            top="0.75em",
            left="50%",
            transform="translateX(-50%)",
            z_index="1000",
            box_shadow="var(--shadow-4)",
            class_name="no-print",
        ),
    )


def outage_wrap() -> rx.Component:
    """The app-wide wrap: the banner, and the page inside a fieldset that is disabled while
    the database is unreachable (every button, input and select in it; links still work)."""
    return rx.el.fieldset(
        outage_banner(),
        disabled=OutageState.db_down,
        data_testid="outage-guard",
        style={"display": "contents"},
    )
