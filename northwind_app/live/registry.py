"""Which tab of this worker watches what, and the coalesced nudges that make tabs refresh.

A page state registers the topics its tab shows when it loads (`watch`: `order:10248`,
`orders`, `dashboard`, …), keyed by the tab's client token, its path and the state's full
name. A tab that loads a page at another path forgets what it watched before (navigation);
a tab no longer connected to this worker is forgotten when a change would reach it and by the
periodic `sweep`. Every event of a signed-in tab (the auth middleware's `seen`) also makes the
tab watch `session:<its user id>`, so an account change (role, deactivation, password) reaches
the tab wherever it is.

`dispatch` finds the tabs a batch of changes concerns through an index by topic (a tab showing
unrelated data costs nothing) and nudges each at most once per COALESCE_SECONDS however many
changes arrive: the first change at once, later ones together at the end of the interval.
With `backpressure` (the app's registry) a tab is not nudged again before it has run the
events of its last nudge (`done`, called by them), or IN_FLIGHT_SECONDS have passed: when the
server falls behind, each tab's refreshes space out to what it can serve (changes meanwhile
are taken together by the next one) instead of piling up in the tab's event queue.
Plain asyncio, no Reflex: `live/tabs.py` gives it the way to nudge a tab.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from northwind_app.live.feed import Change
from northwind_app.live.presence import Here, LocalPresence
from northwind_app.live.shared import shared_reads

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.25
IN_FLIGHT_SECONDS = 5.0  # a nudge whose events never ran (a closed tab) holds the next this long
SESSION = "session"  # the pseudo-state name of a tab's session watch
PRESENCE = "#presence"  # suffix of a state name: read who else is here (not the data)
REWATCH = "rewatch"  # the pseudo-state name of "register what you watched again"

# When an account last changed (by user id, time.time()), as this worker heard it: the auth
# check of a tab whose user changed since it last checked asks the database again at once.
_user_changed: dict[int, float] = {}


def user_changed_at(user_id: int | None) -> float:
    return 0.0 if user_id is None else _user_changed.get(user_id, 0.0)


@dataclass
class Tab:
    user_id: int | None = None
    path: str = ""
    watches: dict[str, frozenset[str]] = field(default_factory=dict)  # state name → topics
    last_nudge: float = 0.0  # time.monotonic()
    pending: set[str] = field(default_factory=set)  # state names waiting for the next nudge
    timer: asyncio.TimerHandle | None = None
    here: tuple[str, str, Here] | None = None  # (topic, state name, who) when it is "here"
    in_flight: set[str] = field(default_factory=set)  # states nudged whose events have not run


# nudge(token, state names): make the tab run those states' refresh (may raise).
Nudge = Callable[[str, frozenset[str]], Awaitable[None]]


class Registry:
    """The tabs of this worker process and what each watches."""

    def __init__(self, nudge: Nudge | None = None,
                 connected: Callable[[str], bool] | None = None,
                 coalesce: float = COALESCE_SECONDS, backpressure: bool = False,
                 in_flight: float = IN_FLIGHT_SECONDS):
        self.nudge = nudge
        self.connected = connected or (lambda _token: True)
        self.coalesce = coalesce
        self.backpressure = backpressure
        self.in_flight_seconds = in_flight
        self.tabs: dict[str, Tab] = {}
        self.index: dict[str, set[str]] = {}  # topic → tokens
        self._sending: set[asyncio.Task] = set()
        self.presence = LocalPresence(self._presence_announced)
        self.present: dict[str, set[str]] = {}  # topic → tokens that are here

    # --- registering ---

    def _tab(self, token: str) -> Tab:
        tab = self.tabs.get(token)
        if tab is None:
            tab = self.tabs[token] = Tab()
        return tab

    def _set(self, token: str, tab: Tab, state: str, topics: frozenset[str]) -> None:
        for topic in tab.watches.get(state, frozenset()) - topics:
            tokens = self.index.get(topic)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self.index[topic]
        if topics:
            tab.watches[state] = topics
            for topic in topics:
                self.index.setdefault(topic, set()).add(token)
        else:
            tab.watches.pop(state, None)

    def seen(self, token: str, user_id: int | None) -> None:
        """An event of `token` by `user_id` (None: signed out): it watches its session. A
        signed-in tab this worker did not know (its worker died and it reconnected here, or
        it is new) is asked to register what it watched again (`REWATCH`)."""
        if not token:
            return
        tab = self.tabs.get(token)
        if tab is not None and tab.user_id == user_id and (
                user_id is None or SESSION in tab.watches):
            return
        if tab is None and user_id is None:
            return
        new = tab is None
        tab = self._tab(token)
        if tab.user_id != user_id:  # another identity: what it watched was loaded for another
            for state in list(tab.watches):
                self._set(token, tab, state, frozenset())
            self._leave(token, tab)
        tab.user_id = user_id
        self._set(token, tab, SESSION,
                  frozenset() if user_id is None else frozenset({f"session:{user_id}"}))
        if new:
            self._schedule(token, {REWATCH})

    def watch(self, token: str, path: str, state: str, topics: Iterable[str]) -> None:
        """`state` of tab `token`, showing page `path`, shows `topics` (replacing what it
        watched); a tab now on another path forgets its other states' watches."""
        if not token:
            return
        tab = self._tab(token)
        if tab.path != path:
            for other in [s for s in tab.watches if s not in (SESSION, state)]:
                self._set(token, tab, other, frozenset())
            tab.pending.clear()
            tab.path = path
            self._leave(token, tab)
        self._set(token, tab, state, frozenset(topics))

    def unwatch(self, token: str, state: str) -> None:
        tab = self.tabs.get(token)
        if tab is not None:
            self._set(token, tab, state, frozenset())

    def watching(self, token: str, state: str, path: str | None = None) -> bool:
        """Whether `state` of `token` is registered (on `path`, when given)."""
        tab = self.tabs.get(token)
        return (tab is not None and state in tab.watches
                and (path is None or tab.path == path))

    def forget(self, token: str) -> None:
        tab = self.tabs.pop(token, None)
        if tab is None:
            return
        if tab.timer is not None:
            tab.timer.cancel()
        for state in list(tab.watches):
            self._set(token, tab, state, frozenset())
        self._leave(token, tab)

    def sweep(self) -> int:
        """Forget tabs no longer connected to this worker; returns how many."""
        gone = [token for token in self.tabs if not self.connected(token)]
        for token in gone:
            self.forget(token)
        return len(gone)

    # --- presence ---

    def enter(self, token: str, path: str, state: str, topic: str, here: Here) -> None:
        """Tab `token` (on `path`) has record `topic` open (its `state` shows who else has)."""
        if not token:
            return
        tab = self._tab(token)
        if tab.path != path:
            self.watch(token, path, state, tab.watches.get(state, ()))
        if tab.here is not None and tab.here[0] != topic:
            self._leave(token, tab)
        tab.here = (topic, state, here)
        self.present.setdefault(topic, set()).add(token)
        self._spawn(self.presence.enter(topic, token, here))

    def here_topic(self, token: str, state: str) -> str | None:
        tab = self.tabs.get(token)
        if tab is None or tab.here is None or tab.here[1] != state:
            return None
        return tab.here[0]

    def _leave(self, token: str, tab: Tab) -> None:
        if tab.here is None:
            return
        topic = tab.here[0]
        tab.here = None
        tokens = self.present.get(topic)
        if tokens is not None:
            tokens.discard(token)
            if not tokens:
                del self.present[topic]
        self._spawn(self.presence.leave(topic, token))

    async def _presence_announced(self, topic: str) -> None:
        self.presence_changed(topic)

    def presence_changed(self, topic: str) -> None:
        """Who is on record `topic` changed: the tabs there read it again (coalesced)."""
        for token in list(self.present.get(topic, ())):
            tab = self.tabs.get(token)
            if tab is not None and tab.here is not None:
                self._schedule(token, {tab.here[1] + PRESENCE})

    async def renew(self) -> None:
        """Keep this worker's tabs' presence from expiring."""
        await self.presence.renew({token: (tab.here[0], tab.here[2])
                                   for token, tab in self.tabs.items() if tab.here})

    def _spawn(self, coro) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test's synchronous call): nothing to announce
            coro.close()
            return
        task = loop.create_task(self._quietly(coro))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    @staticmethod
    async def _quietly(coro) -> None:
        try:
            await coro
        except Exception as exc:  # noqa: BLE001 - presence is a courtesy; data still flows
            log.warning("presence update failed: %s", exc)

    # --- delivering ---

    def dispatch(self, changes: Sequence[Change]) -> int:
        """Nudge (coalesced) every tab watching a topic of `changes`; returns how many tabs.
        The feed position of shared refresh reads advances first (live/shared.py)."""
        if changes:
            shared_reads.advance()
        wanted: dict[str, set[str]] = {}
        for change in changes:
            if change.entity == "user":
                try:
                    _user_changed[int(change.key)] = time.time()
                except ValueError:
                    pass
            topics = change.topics
            tokens: set[str] = set()
            for topic in topics:
                tokens.update(self.index.get(topic, ()))
            for token in tokens:
                tab = self.tabs[token]
                states = {state for state, watched in tab.watches.items() if watched & topics}
                if states:
                    wanted.setdefault(token, set()).update(states)
        for token, states in wanted.items():
            tab = self.tabs[token]
            if SESSION in states:  # the session check first, then what the page shows
                states |= set(tab.watches)
            self._schedule(token, states)
        return len(wanted)

    def _schedule(self, token: str, states: set[str]) -> None:
        tab = self.tabs.get(token)
        if tab is None:
            return
        tab.pending |= states
        if tab.timer is not None:
            return  # the next nudge takes these too
        wait = tab.last_nudge + self.coalesce - time.monotonic()
        if self.backpressure and tab.in_flight:
            # The last nudge's events have not run yet: the next waits for them (`done`).
            wait = max(wait, tab.last_nudge + self.in_flight_seconds - time.monotonic())
        if wait <= 0:
            self._flush(token)
        else:
            tab.timer = asyncio.get_running_loop().call_later(wait, self._flush, token)

    def done(self, token: str, state: str) -> None:
        """Tab `token` ran the event of `state` its last nudge asked for: with backpressure,
        what arrived meanwhile goes now (or at the end of the coalescing interval)."""
        tab = self.tabs.get(token)
        if tab is None or state not in tab.in_flight:
            return
        tab.in_flight.discard(state)
        if tab.in_flight or not tab.pending:
            return
        if tab.timer is not None:
            tab.timer.cancel()
            tab.timer = None
        self._schedule(token, set())

    def _flush(self, token: str) -> None:
        tab = self.tabs.get(token)
        if tab is None:
            return
        tab.timer = None
        states, tab.pending = frozenset(tab.pending), set()
        if not states:
            return
        if not self.connected(token):
            self.forget(token)
            return
        tab.last_nudge = time.monotonic()
        tab.in_flight = set(states) if self.backpressure else set()
        if self.nudge is None:
            return
        task = asyncio.get_running_loop().create_task(self._send(token, states))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, token: str, states: frozenset[str]) -> None:
        try:
            await self.nudge(token, states)
        except Exception:  # noqa: BLE001 - one tab's socket problem is not the others'
            log.exception("could not nudge tab %s…", token[:8])


registry = Registry()  # this worker's (live/tabs.py gives it its nudge when the app starts)
