"""Live screens in Reflex: the worker's listener as a lifespan task, the nudge, and the mixin
page states use.

How a tab refreshes: the worker that holds the tab's websocket sends it an update whose only
content is an event, the `live_refresh` handler of each state that shows the changed data;
the browser queues it like any other and sends it back, so the refresh runs as an ordinary
event of that tab: through the auth middleware (the tab's own session, checked against the
database when its user's account changed, and the state's permission), under the tab's state
lock, queued behind what the user is doing, and by the page's own load (its filters, sort and
page kept). A viewer's tab can never receive more than its own load gives that viewer.

Why not `app.modify_state` from the listener: it runs outside any event, so every refresh
would have to repeat the middleware's identity and permission checks by hand (and the outage
handling), and it holds the tab's state lock while it reads the database; the nudge costs one
more message on the socket (a round trip on the tab's own connection) and nothing else.
Why not `rx.SharedState` rooms: their shared state is pushed to every member as is, one copy
for all, where each tab's data must be read for its own user (role, number format).

Lists whose rows are the same for every reader (the orders list, the catalog's lists, the
lists embedded in detail pages) are *pushed* instead while their check is fresh
(live/registry.py's views): a nudge per tab made each refresh a Reflex event per tab (the
state loaded, locked and stored, about 3.5 ms of CPU each), which 200 tabs under 10 writes a
second could not afford. Tabs of a worker on the same view (state, address, query, number
format) get one read and one update for all of them (`send`), and what was pushed goes into
each tab's server-side state before its next event (`PushedValues`, a middleware). The
checks stay those of the tab's own events: a tab is pushed a view only after its list's
event (permission checked by the auth middleware) registered it less than TRUST_SECONDS ago
and after its user's last account change; otherwise it is nudged as above.

A page state opts in with `LiveMixin`:

    class OrderDetailState(LiveMixin, rx.State):
        async def load(self):
            ...                      # as before
            await self._live_watch(f"order:{order_id}")

        async def _live_refresh(self):
            ...                      # read again and assign what differs (no spinner); a
                                     # form keeps what was typed; may return events (or
                                     # be an async generator yielding them)

`live_refresh` and `live_presence` (public handlers, safe for any socket to call: they only
re-run what the tab registered for itself) check that the state still watches something on
the tab's current page before they act. `_live_here(topic, mode)` makes the tab present on a
record (`present`: who else is). `_live_rows_changed(old, new, key)` gives the keys of rows
that are new or differ, for `changed_rows` (the rows to highlight).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.constants import SocketEvent
from reflex_base.event import Event

from northwind_app.live import feed
from northwind_app.live.hub import Hub
from northwind_app.live.presence import Here, LocalPresence, RedisPresence, others_text
from northwind_app.live.registry import PRESENCE, REWATCH, SESSION, registry

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0


class LiveState(rx.State):
    """The tab's live bookkeeping, and the target of the server's own nudges.

    `ping` (the session nudge) is an event of a page state, so the auth middleware checks
    the tab's session (at once after an account change: `registry.user_changed_at`) and sends
    a signed-out tab to the login page; it does nothing itself. `rewatch` runs when a tab's
    events reach a worker that does not know the tab (its worker died and it reconnected
    here, with its state): what its states watched, kept here, is registered again."""

    # state name → [path, *topics] of the tab's live states; [topic, mode, state name] of its
    # presence (backend vars: kept with the tab's state, never sent).
    _kept: dict[str, list[str]] = {}
    _kept_here: list[str] = []

    @rx.event
    def ping(self):
        # The auth middleware let it run: the tab's session holds (its pushed views are
        # trusted again; live/registry.py).
        registry.done(self.router.session.client_token, SESSION)
        registry.checked(self.router.session.client_token)

    @rx.event
    async def rewatch(self):
        token, path = self.router.session.client_token, self.router.url.path or "/"
        registry.done(token, REWATCH)
        for state, (kept_path, *topics) in list(self._kept.items()):
            if kept_path == path:
                registry.watch(token, path, state, topics)
        if self._kept_here:
            topic, mode, state = self._kept_here
            if registry.watching(token, state, path):
                from northwind_app.ui.auth import actor_of  # (ui.auth imports the registry)

                actor = await actor_of(self)
                registry.enter(token, path, state, topic,
                               Here(actor.user_id, actor.display_name, mode))


class LiveMixin(rx.State, mixin=True):
    """A page state that follows the data it shows (see the module docstring)."""

    # Keys of the rows a live refresh found new or changed (the table highlights them).
    changed_rows: list[str] = []
    # Who else has this record open ("Also here: Margaret (editing)"; see `_live_here`).
    present: str = ""

    def _live_token(self) -> str:
        return self.router.session.client_token

    def _live_path(self) -> str:
        return self.router.url.path or "/"

    async def _live_watch(self, *topics: str) -> None:
        """This tab shows `topics` (replacing what this state watched); call in `load`."""
        path, name = self._live_path(), self.get_full_name()
        registry.watch(self._live_token(), path, name, topics)
        live = await self.get_state(LiveState)
        if live._kept.get(name) != [path, *topics]:
            live._kept = {**{k: v for k, v in live._kept.items() if v[0] == path},
                          name: [path, *topics]}

    async def _live_here(self, topic: str, mode: str = "viewing") -> None:
        """This tab has record `topic` open (`mode`: "viewing" or "editing"): others there
        see it, and `present` says who else is."""
        from northwind_app.ui.auth import actor_of  # (ui.auth imports the live registry)

        actor = await actor_of(self)
        registry.enter(self._live_token(), self._live_path(), self.get_full_name(), topic,
                       Here(actor.user_id, actor.display_name, mode))
        live = await self.get_state(LiveState)
        live._kept_here = [topic, mode, self.get_full_name()]
        self.present = others_text(await registry.presence.here(topic), actor.user_id)

    def _live_unwatch(self) -> None:
        registry.unwatch(self._live_token(), self.get_full_name())

    async def _live_refresh(self) -> None:
        """Show the data again after a change it watches (pages override)."""

    @staticmethod
    def _live_rows_changed(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                           key: str) -> list[str]:
        """Keys of `new` rows that were not in `old` or differ from it."""
        before = {str(row.get(key)): row for row in old}
        return [str(row.get(key)) for row in new if before.get(str(row.get(key))) != row]

    @rx.event
    async def live_refresh(self):
        """Sent by the server (a nudge) when data this state watches changed. `_live_refresh`
        is a coroutine (its result: events to run next) or an async generator (a list's load
        run in this same event: one event per refresh, not one more queued behind it)."""
        try:
            if not registry.watching(self._live_token(), self.get_full_name(),
                                     self._live_path()):
                return
            refresh = self._live_refresh()
            if inspect.isasyncgen(refresh):
                async for update in refresh:
                    yield update
            else:
                yield await refresh
        finally:  # the next nudge may go (registry backpressure)
            registry.done(self._live_token(), self.get_full_name())


    @rx.event
    async def live_presence(self):
        """Sent by the server when who else is on this tab's record changed."""
        from northwind_app.ui.auth import actor_of

        registry.done(self._live_token(), self.get_full_name() + PRESENCE)
        topic = registry.here_topic(self._live_token(), self.get_full_name())
        if topic is None or not registry.watching(self._live_token(), self.get_full_name(),
                                                   self._live_path()):
            return
        actor = await actor_of(self)
        self.present = others_text(await registry.presence.here(topic), actor.user_id)


def presence(state: type[LiveMixin]) -> rx.Component:
    """"Also here: Margaret (editing)": who else has the page's record open."""
    return rx.cond(state.present != "", rx.hstack(
        # The icon beside the words (an svg is a block of its own in the app's reset).
        rx.icon("users", size=14, color=rx.color("gray", 11), aria_hidden="true"),
        rx.text(state.present, size="2", color=rx.color("gray", 11), data_testid="presence"),
        align="center", spacing="1"))


def changed_callout(state: type[rx.State], reload_label: str) -> rx.Component:
    """A form's banner: someone else changed the record being edited (the state's
    `changed_banner`, e.g. `live.text.banner_text`); reload (`load`) or keep editing
    (`keep_editing`: save over it)."""
    return rx.cond(state.changed_banner != "", rx.callout(
        rx.vstack(rx.text(state.changed_banner, data_testid="changed-banner-text"),
                  rx.hstack(rx.button(reload_label, size="1", variant="soft", type="button",
                                      on_click=state.load, data_testid="banner-reload"),
                            rx.button("Keep editing", size="1", variant="soft", type="button",
                                      color_scheme="gray", on_click=state.keep_editing,
                                      data_testid="banner-keep"),
                            spacing="2"),
                  spacing="2"),
        icon="info", color_scheme="amber", width="100%", data_testid="changed-banner"))


# --- the worker's side ----------------------------------------------------------------------


def _namespace(app: Any):
    return app.event_namespace


def _local_socket(app: Any, token: str) -> Any:
    """`token`'s socket record when its websocket is on this worker, else None."""
    namespace = _namespace(app)
    manager = getattr(namespace, "_token_manager", None) if namespace else None
    if manager is None:
        return None
    record = manager.token_to_socket.get(token)
    return record if record is not None and record.instance_id == manager.instance_id else None


def _local(app: Any, token: str) -> bool:
    """Whether `token`'s websocket is on this worker."""
    return _local_socket(app, token) is not None


def _event_name(state: str) -> str:
    if state == SESSION:
        return f"{LiveState.get_full_name()}.ping"
    if state == REWATCH:
        return f"{LiveState.get_full_name()}.rewatch"
    if state.endswith(PRESENCE):
        return f"{state.removesuffix(PRESENCE)}.live_presence"
    return f"{state}.live_refresh"


class PushedValues(Middleware):
    """Before every event of a tab: what the registry pushed to it since its last event
    (live/registry.py's views) goes into its server-side state, so the server's copy follows
    what the tab shows (a value the tab's event compares or builds on is the one on screen).
    Runs before the auth middleware, which drops a tab's data when its user changed."""

    async def preprocess(self, app: Any, state: BaseState, event: Event) -> StateUpdate | None:
        pushed = registry.take_pushed(state.router.session.client_token)
        for name, values in pushed.items():
            try:
                substate = await state.get_state(type(state).get_class_substate(name))
            except ValueError:  # a state this app no longer has
                continue
            for var, value in values.items():
                # Each tab its own copy: every tab of a view was pushed the same objects.
                setattr(substate, var, copy.deepcopy(value))
        return None


async def send(app: Any, tokens: Sequence[str], update: StateUpdate) -> None:
    """Send a pushed update (a view's, live/registry.py) to `tokens`, tabs of this worker:
    one emit to all their sockets, so the update is serialized once (python-socketio encodes
    a packet once for all its recipients)."""
    sids = [record.sid for token in tokens if (record := _local_socket(app, token))]
    if sids:
        await _namespace(app).emit(str(SocketEvent.EVENT), update, to=sids)


async def push(view: Any) -> Any:
    """A view's pushed update: its spec (the list that registered it) reads and makes it."""
    return await view.spec(view)


async def nudge(app: Any, token: str, states: Iterable[str]) -> None:
    """Send tab `token` the refresh events of `states` (the session check first)."""
    names = sorted(states, key=lambda s: (s != SESSION, s != REWATCH, s))
    events = [Event(name=_event_name(state), payload={}) for state in names]
    await _namespace(app).emit_update(StateUpdate(events=events), token)


@contextlib.asynccontextmanager
async def live_updates(app: Any):
    """Lifespan task: this worker's listener (live/hub.py) feeding the registry, whose nudges
    go to this worker's tabs."""
    registry.nudge = lambda token, states: nudge(app, token, states)
    registry.push = push
    registry.send = lambda tokens, update: send(app, tokens, update)
    registry.backpressure = True
    registry.connected = lambda token: _local(app, token)
    redis_url = feed.redis_url()
    registry.presence = (RedisPresence(redis_url) if redis_url
                         else LocalPresence(registry._presence_announced))
    hub = Hub(registry.dispatch, redis_url=redis_url, on_presence=registry.presence_changed)

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            registry.sweep()
            try:
                await registry.renew()
            except Exception as exc:  # noqa: BLE001 - Redis away: entries expire, then return
                log.warning("could not renew presence: %s", exc)

    tasks = [asyncio.create_task(hub.run(), name="northwind_live_hub"),
             asyncio.create_task(sweep(), name="northwind_live_sweep")]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
