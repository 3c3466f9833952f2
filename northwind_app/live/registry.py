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

*Views* (pushed refreshes): a list whose rows do not depend on who reads them (the orders
list, a customer's orders, …) registers, with each successful load, the view it shows
(`show`: its state, address, query and number format as a key, what a pusher needs to read
it, the rows). Tabs of this worker on the same view form one group; a change the group
watches makes ONE read and ONE update for the whole group (`push`, given by live/tabs.py),
sent to every tab of it as is, at most once per COALESCE_SECONDS per group: no event per
tab, no state loaded or saved per tab. What was pushed is kept per tab (`take_pushed`) and
put into the tab's server-side state before its next event runs (live/tabs.py's
middleware), so the server's copy of the tab follows what the tab shows. A tab is pushed to
only while its last check is fresh: its list's own event (whose permission the auth
middleware checked) ran less than TRUST_SECONDS ago and after any change to its user's
account; otherwise, or while its list is loading, it is nudged as before (its refresh runs
as its own event, through the checks). Before that, from RECHECK_SECONDS on (spread at
random over a few seconds, so tabs that loaded together are not checked together), a pushed
tab is sent its session check (`SESSION`, an event that only passes the auth middleware):
when it runs, the tab's views are trusted again (`checked`), so a tab that stays on its list
keeps being pushed, and one whose session ended is signed out by the check.
With `backpressure` (the app's registry) a tab is not nudged again before it has run the
events of its last nudge (`done`, called by them), or IN_FLIGHT_SECONDS have passed: when the
server falls behind, each tab's refreshes space out to what it can serve (changes meanwhile
are taken together by the next one) instead of piling up in the tab's event queue.
Plain asyncio, no Reflex: `live/tabs.py` gives it the way to nudge a tab.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from northwind_app.live.feed import Change
from northwind_app.live.presence import Here, LocalPresence
from northwind_app.live.shared import shared_reads

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.25
IN_FLIGHT_SECONDS = 5.0  # a nudge whose events never ran (a closed tab) holds the next this long
SESSION = "session"  # the pseudo-state name of a tab's session watch
PRESENCE = "#presence"  # suffix of a state name: read who else is here (not the data)
REWATCH = "rewatch"  # the pseudo-state name of "register what you watched again"
TRUST_SECONDS = 30.0  # a view's tab is pushed to this long after its list's last checked event
RECHECK_SECONDS = 12.0  # … and sent its session check from this long after it (plus jitter)
RECHECK_JITTER = 6.0

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
    recheck: float = field(default_factory=lambda: random.uniform(0, RECHECK_JITTER))
    # state name → (view key, time.time() of the state's last event that registered it)
    views: dict[str, tuple[Hashable, float]] = field(default_factory=dict)
    # state name → {var: value} pushed since the tab's last event (live/tabs.py applies them)
    pushed: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class View:
    """The tabs of this worker showing the same rows (see the module docstring)."""
    key: Hashable
    state: str
    spec: Any  # what the pusher reads the view with
    rows: Any = None  # the rows last loaded or pushed (the pusher highlights what changed)
    tokens: set[str] = field(default_factory=set)
    wanted: bool = False  # a change came since the last push began
    running: bool = False
    last_push: float = 0.0  # time.monotonic()
    timer: asyncio.TimerHandle | None = None


@dataclass
class Pushed:
    """A pusher's answer: the update to send every tab of the view, the values it sets in
    each tab's state, and the rows (kept for the next push's highlights)."""
    update: Any
    values: dict[str, Any]
    rows: Any


# nudge(token, state names): make the tab run those states' refresh (may raise).
Nudge = Callable[[str, frozenset[str]], Awaitable[None]]
# push(view): read the view and make its update; None: it cannot (its tabs are nudged).
Push = Callable[[View], Awaitable["Pushed | None"]]
# send(tokens, update): send a pushed update to tabs of this worker (one message to all).
Send = Callable[[list[str], Any], Awaitable[None]]


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
        self.push: Push | None = None  # live/tabs.py gives it (None: every tab is nudged)
        self.send: Send | None = None
        self.views: dict[Hashable, View] = {}

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
            self._hide(token, tab, state)

    def seen(self, token: str, user_id: int | None, path: str | None = None) -> None:
        """An event of `token` by `user_id` (None: signed out), on page `path`: it watches
        its session. A signed-in tab this worker did not know (its worker died and it
        reconnected here, or it is new) is asked to register what it watched again
        (`REWATCH`). A tab now on another page than the one its watches were made on
        forgets them and is no longer present on the record it had open (a page that
        watches nothing, e.g. the account page, registers nothing itself)."""
        if not token:
            return
        tab = self.tabs.get(token)
        if tab is not None and path is not None and tab.path and tab.path != path:
            self._navigated(token, tab, path)
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
            self._navigated(token, tab, path, keep=state)
        self._set(token, tab, state, frozenset(topics))

    def _navigated(self, token: str, tab: Tab, path: str, keep: str | None = None) -> None:
        """Tab `token` now shows page `path`: the other states' watches (but its session's,
        and `keep`'s) and its presence go; nudges still due are those of its session."""
        for other in [s for s in tab.watches if s not in (SESSION, keep)]:
            self._set(token, tab, other, frozenset())
        tab.pending &= {SESSION, REWATCH}
        tab.path = path
        self._leave(token, tab)

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

    # --- views (pushed refreshes) ---

    def show(self, token: str, state: str, key: Hashable, spec: Any, rows: Any) -> None:
        """`state` of tab `token` has just loaded (in its own, checked event) the view `key`
        with `rows`; `spec` is what the pusher reads it with. Call after `watch`."""
        tab = self.tabs.get(token)
        if tab is None or state not in tab.watches:
            return
        self._hide(token, tab, state)
        view = self.views.get(key)
        if view is None:
            view = self.views[key] = View(key, state, spec)
        view.rows = rows
        view.tokens.add(token)
        tab.views[state] = (key, time.time())
        tab.pushed.pop(state, None)  # the load's values are the state's own

    def hide(self, token: str, state: str) -> None:
        """`state` of `token` no longer shows a registered view (it is loading another, or
        its load failed): it is nudged until it shows one again."""
        tab = self.tabs.get(token)
        if tab is not None:
            self._hide(token, tab, state)

    def _hide(self, token: str, tab: Tab, state: str) -> None:
        shown = tab.views.pop(state, None)
        if shown is None:
            return
        view = self.views.get(shown[0])
        if view is not None:
            view.tokens.discard(token)
            if not view.tokens and not view.running:
                if view.timer is not None:
                    view.timer.cancel()
                del self.views[view.key]

    def checked(self, token: str) -> None:
        """Tab `token`'s session check passed (the auth middleware let its `SESSION` event
        run): its views are trusted again, unless its user's account changed since they were
        registered (then only a refresh of its own, through the checks, trusts them)."""
        tab = self.tabs.get(token)
        if tab is None:
            return
        now = time.time()
        changed = user_changed_at(tab.user_id)
        for state, (key, checked) in list(tab.views.items()):
            if checked > changed:
                tab.views[state] = (key, now)

    def take_pushed(self, token: str) -> dict[str, dict[str, Any]]:
        """What was pushed to `token` since its last event, by state (then forgotten)."""
        tab = self.tabs.get(token)
        if tab is None or not tab.pushed:
            return {}
        pushed, tab.pushed = tab.pushed, {}
        return pushed

    def _pushable(self, tab: Tab, state: str, now: float) -> bool:
        shown = tab.views.get(state)
        if shown is None or self.push is None or self.send is None:
            return False
        checked = shown[1]
        return (now - checked < TRUST_SECONDS and checked > user_changed_at(tab.user_id)
                and state not in tab.in_flight and state not in tab.pending)

    def _want_view(self, key: Hashable) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.wanted = True
        if view.timer is not None or view.running:
            return  # the next push takes this change too
        wait = view.last_push + self.coalesce - time.monotonic()
        if wait <= 0:
            self._flush_view(key)
        else:
            view.timer = asyncio.get_running_loop().call_later(wait, self._flush_view, key)

    def _flush_view(self, key: Hashable) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.timer = None
        if view.running or not view.wanted:
            return
        view.wanted, view.running = False, True
        view.last_push = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._push_view(view))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _push_view(self, view: View) -> None:
        """One read and one update for every tab of `view`; a tab that may not take it (its
        check is stale, it is loading or was nudged meanwhile) is nudged instead, and so is
        every tab when the pusher cannot make the update."""
        try:
            try:
                pushed = await self.push(view)  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - the nudged refreshes show the problem
                log.exception("could not push view %s", view.state)
                pushed = None
        finally:
            view.running = False
        now = time.time()
        if pushed is not None:
            view.rows = pushed.rows
        tokens = []
        for token in list(view.tokens):
            tab = self.tabs.get(token)
            if tab is None:
                continue
            shown = tab.views.get(view.state)
            if shown is None or shown[0] != view.key:
                continue
            if pushed is None or not self._pushable(tab, view.state, now):
                self._schedule(token, {view.state})
                continue
            if not self.connected(token):
                self.forget(token)
                continue
            tab.pushed[view.state] = pushed.values
            tokens.append(token)
            if (now - shown[1] > RECHECK_SECONDS + tab.recheck
                    and SESSION not in tab.in_flight):
                self._schedule(token, {SESSION})  # trusted again when it has run
        if tokens:
            try:
                await self.send(tokens, pushed.update)  # type: ignore[misc, union-attr]
            except Exception:  # noqa: BLE001 - the next change pushes again
                log.exception("could not push view %s to its tabs", view.state)
        if not view.tokens and self.views.get(view.key) is view:
            del self.views[view.key]
        elif view.wanted:
            self._want_view(view.key)

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
        now = time.time()
        views: set[Hashable] = set()
        for token, states in wanted.items():
            tab = self.tabs[token]
            if SESSION in states:  # the session check first, then what the page shows
                states |= set(tab.watches)
            else:  # a view this tab may be pushed: its group's one update reaches it
                pushed = {state for state in states if self._pushable(tab, state, now)}
                views.update(tab.views[state][0] for state in pushed)
                states -= pushed
            if states:
                self._schedule(token, states)
        for key in views:
            self._want_view(key)
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
