"""Live updates' infrastructure without a database (issue #23): the feed's cursor and topics,
the registry's coalesced nudges (only the tabs concerned, navigation, account changes,
disconnected tabs), the nudge's update, presence in one process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

from northwind_app.live import feed
from northwind_app.live.feed import Change, Cursor
from northwind_app.live.registry import REWATCH, SESSION, Registry, user_changed_at
from tests import aio


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: this process may already run an event loop in its
    main thread (Playwright's sync API does, when browser tests share the worker)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _change(id_: int, entity: str = "order", key: str = "1", **related) -> Change:
    return Change(id=id_, at="", user_id=None, username="x", action="update", entity=entity,
                  key=key, fields={}, related=related)


def test_cursor_takes_each_change_once_and_rereads_its_gaps():
    cursor = Cursor(10)
    assert [c.id for c in cursor.take([_change(12), _change(11)])] == [11, 12]
    assert cursor.take([_change(12)]) == []  # announced and read: handed on once
    assert [c.id for c in cursor.take([_change(15)])] == [15]
    assert sorted(cursor.gaps) == [13, 14]
    assert [c.id for c in cursor.take([_change(14)])] == [14]  # committed late, below 15
    assert sorted(cursor.gaps) == [13]
    cursor.expire(time.monotonic() + feed.GAP_SECONDS + 1)
    assert cursor.gaps == {}


def test_topics():
    assert _change(1, "customer", "ALFKI").topics == {"customer:ALFKI", "customers"}
    assert "session:7" in _change(1, "user", "7").topics
    assert _change(1, "sign_in", "1.2.3.4").topics == frozenset()


def test_registry_nudges_only_the_tabs_concerned_and_coalesces():
    nudges: list[tuple[float, str, frozenset[str]]] = []

    async def nudge(token, states):
        nudges.append((time.monotonic(), token, states))

    async def scenario():
        registry = Registry(nudge)
        registry.watch("list", "/orders", "orders_state", ["orders"])
        registry.watch("detail", "/orders/1", "detail_state", ["order:1"])
        registry.watch("customers", "/customers", "customers_state", ["customers"])
        start = time.monotonic()
        for n in range(40):  # 40 changes of order 2 in about 0.6 s
            registry.dispatch([_change(100 + n, "order", "2")])
            await asyncio.sleep(0.015)
        burst = time.monotonic() - start
        await asyncio.sleep(0.4)
        times = [t - start for t, token, _ in nudges if token == "list"]
        # The first at once, then at most one per 0.25 s, the last one after the burst.
        assert 2 <= len(times) <= burst / 0.25 + 2
        assert times[0] < times[1] - 0.2
        assert all(b - a >= 0.24 for a, b in zip(times, times[1:], strict=False))
        assert times[-1] >= burst - 0.25
        assert {token for _, token, _ in nudges} == {"list"}  # unrelated tabs: nothing

        nudges.clear()
        registry.dispatch([_change(200, "order", "1")])
        await asyncio.sleep(0.3)
        assert {token for _, token, _ in nudges} == {"list", "detail"}

        nudges.clear()  # the detail tab navigated to the customers list
        registry.watch("detail", "/customers", "customers_state", ["customers"])
        registry.dispatch([_change(201, "order", "1")])
        await asyncio.sleep(0.05)
        assert {token for _, token, _ in nudges} == {"list"}

    aio.run(scenario())


def test_an_account_change_reaches_every_tab_of_that_user():
    nudges: list[tuple[str, frozenset[str]]] = []

    async def nudge(token, states):
        nudges.append((token, states))

    async def scenario():
        registry = Registry(nudge)
        registry.seen("margaret", 7)
        registry.watch("margaret", "/orders", "orders_state", ["orders"])
        registry.seen("andrew", 8)
        await asyncio.sleep(0.05)
        # New to this worker: asked to register again what they watched (after a reconnect).
        assert sorted(nudges) == [("andrew", frozenset({REWATCH})),
                                  ("margaret", frozenset({REWATCH}))]
        await asyncio.sleep(0.25)
        nudges.clear()
        registry.dispatch([_change(300, "user", "7")])
        await asyncio.sleep(0.05)
        assert nudges == [("margaret", frozenset({SESSION, "orders_state"}))]
        assert user_changed_at(7) > time.time() - 5

        registry.seen("margaret", None)  # signed out: watches nothing any more
        nudges.clear()
        registry.dispatch([_change(301, "order", "2")])
        await asyncio.sleep(0.05)
        assert nudges == []

    aio.run(scenario())


def test_disconnected_tabs_are_forgotten():
    connected = {"a", "b"}

    async def nudge(token, states):
        pass

    async def scenario():
        registry = Registry(nudge, connected=lambda token: token in connected)
        registry.watch("a", "/orders", "s", ["orders"])
        registry.watch("b", "/orders", "s", ["orders"])
        connected.discard("a")
        registry.dispatch([_change(1)])
        await asyncio.sleep(0.01)
        assert set(registry.tabs) == {"b"} and registry.index["orders"] == {"b"}
        connected.clear()
        assert registry.sweep() == 1 and registry.index == {}

    aio.run(scenario())


def test_a_nudge_is_an_update_holding_the_states_refresh_events():
    from northwind_app.live.tabs import LiveState, nudge

    sent = []

    class Namespace:
        async def emit_update(self, update, token):
            sent.append((token, update))

    class App:
        event_namespace = Namespace()

    aio.run(nudge(App(), "tab", {"some_state", "some_state#presence", SESSION, REWATCH}))
    ((token, update),) = sent
    assert token == "tab" and update.delta == {}
    live = LiveState.get_full_name()
    assert [e.name for e in update.events] == [
        f"{live}.ping", f"{live}.rewatch", "some_state.live_refresh", "some_state.live_presence"]


def test_presence_in_process():
    from northwind_app.live.presence import Here, others_text
    from northwind_app.live.registry import PRESENCE

    nudges: list[tuple[str, frozenset[str]]] = []

    async def nudge(token, states):
        nudges.append((token, states))

    async def scenario():
        registry = Registry(nudge)
        registry.watch("andrew", "/orders/1", "detail", ["order:1"])
        registry.enter("andrew", "/orders/1", "detail", "order:1", Here(2, "Andrew", "viewing"))
        await asyncio.sleep(0.01)
        registry.watch("margaret", "/orders/1/edit", "form", ["order:1"])
        registry.enter("margaret", "/orders/1/edit", "form", "order:1",
                       Here(4, "Margaret", "editing"))
        await asyncio.sleep(0.3)
        assert ("andrew", frozenset({"detail" + PRESENCE})) in nudges
        here = await registry.presence.here("order:1")
        assert others_text(here, 2) == "Also here: Margaret (editing)"
        assert others_text(here, 4) == "Also here: Andrew"

        registry.watch("margaret", "/orders", "list", ["orders"])  # she went to the list
        await asyncio.sleep(0.01)
        assert others_text(await registry.presence.here("order:1"), 2) == ""

    aio.run(scenario())


def test_a_tab_that_goes_to_a_page_watching_nothing_leaves_what_it_watched():
    """Any event of the tab on another page (the auth middleware's `seen` with its path)
    ends its watches and its presence: the account page registers nothing itself, yet
    Margaret is no longer "also here" on the order she left, and its changes no longer
    nudge her tab. Her session watch stays; events on the same page change nothing."""
    from northwind_app.live.presence import Here

    nudges: list[tuple[str, frozenset[str]]] = []

    async def nudge(token, states):
        nudges.append((token, states))

    async def scenario():
        registry = Registry(nudge, coalesce=0.01)
        registry.seen("margaret", 4, "/orders/1/edit")
        registry.watch("margaret", "/orders/1/edit", "form", ["order:1"])
        registry.enter("margaret", "/orders/1/edit", "form", "order:1",
                       Here(4, "Margaret", "editing"))
        registry.seen("margaret", 4, "/orders/1/edit")  # another event on the form
        await asyncio.sleep(0.05)
        assert [h.who for h in await registry.presence.here("order:1")] == ["Margaret"]
        assert registry.watching("margaret", "form")

        registry.seen("margaret", 4, "/account")  # she went to her account page
        await asyncio.sleep(0.05)
        assert await registry.presence.here("order:1") == []
        assert not registry.watching("margaret", "form")
        nudges.clear()
        registry.dispatch([_change(1, "order", "1"), _change(2, "user", "4")])
        await asyncio.sleep(0.1)
        assert nudges == [("margaret", frozenset({SESSION}))]

    aio.run(scenario())


def test_backpressure_a_tab_is_nudged_again_only_after_it_ran_the_last_nudge():
    """When the server falls behind, a tab's refreshes wait for the last one to have run
    (or IN_FLIGHT_SECONDS), taking every change meanwhile together, instead of piling up."""
    nudges: list[tuple[float, str, frozenset[str]]] = []

    async def nudge(token, states):
        nudges.append((time.monotonic(), token, states))

    async def scenario():
        registry = Registry(nudge, coalesce=0.05, backpressure=True, in_flight=0.6)
        registry.watch("list", "/orders", "orders_state", ["orders"])
        start = time.monotonic()
        registry.dispatch([_change(1)])
        await asyncio.sleep(0.01)
        assert len(nudges) == 1
        for n in range(10):  # changes while the first refresh has not run
            registry.dispatch([_change(2 + n)])
            await asyncio.sleep(0.02)
        assert len(nudges) == 1
        registry.done("list", "orders_state")  # the tab ran it: what came meanwhile goes
        await asyncio.sleep(0.02)
        assert len(nudges) == 2 and nudges[1][2] == {"orders_state"}
        # A nudge whose events never run (a closed tab) holds the next one IN_FLIGHT only.
        registry.dispatch([_change(20)])
        await asyncio.sleep(0.3)
        assert len(nudges) == 2
        await asyncio.sleep(0.5)
        assert len(nudges) == 3 and nudges[2][0] - nudges[1][0] >= 0.55
        assert time.monotonic() - start < 2
        # Without backpressure (the default) only the coalescing interval spaces nudges.
        free = Registry(nudge, coalesce=0.05)
        free.watch("other", "/orders", "orders_state", ["orders"])
        free.dispatch([_change(30)])
        await asyncio.sleep(0.08)
        free.dispatch([_change(31)])
        await asyncio.sleep(0.08)
        assert sum(1 for _, token, _ in nudges if token == "other") == 2

    run_in_own_loop(scenario())


def test_views_get_one_push_each_for_all_their_tabs_and_fall_back_to_nudges():
    """Tabs on one view are pushed one update, made once, however many tabs and changes
    (coalesced per view); a tab whose check is stale, whose user's account changed, or whose
    list is loading is nudged instead; a view the pusher cannot make nudges its tabs."""
    from northwind_app.live import registry as registry_module
    from northwind_app.live.registry import Pushed

    made: list[str] = []
    sent: list[tuple[str, object]] = []
    nudged: list[tuple[str, frozenset[str]]] = []

    async def nudge(token, states):
        nudged.append((token, states))

    async def push(view):
        made.append(view.key)
        if view.key == "broken":
            return None
        return Pushed(update=f"update-{len(made)}", values={"rows": [len(made)]},
                      rows=[len(made)])

    async def send(tokens, update):
        sent.extend((token, update) for token in tokens)

    async def scenario():
        registry = Registry(nudge, coalesce=0.5)
        registry.push, registry.send = push, send
        for token, user in (("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)):
            registry.seen(token, user)
            registry.watch(token, "/orders", "orders_state", ["orders"])
        await asyncio.sleep(0.15)
        nudged.clear()  # (the new tabs' rewatch)
        for token in ("a", "b", "c"):
            registry.show(token, "orders_state", "page-1", object(), [0])
        registry.show("d", "orders_state", "broken", object(), [0])
        registry.tabs["c"].views["orders_state"] = ("page-1", time.time() - 3600)  # stale
        for n in range(10):
            registry.dispatch([_change(200 + n, "order", "2")])
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.7)
        return registry

    registry = run_in_own_loop(scenario())
    # page-1: the first change at once, the other nine together: two updates in all.
    assert made.count("page-1") == 2
    assert sorted(token for token, _ in sent) == ["a", "a", "b", "b"]
    assert [update for token, update in sent if token == "a"] == \
        [update for token, update in sent if token == "b"]  # the same update for the view
    nudged_tokens = {token for token, _ in nudged}
    assert nudged_tokens == {"c", "d", "e"}  # stale check; the pusher could not; no view
    last = len(made) - made[::-1].index("page-1")  # (each push's rows: its number in `made`)
    assert registry.take_pushed("a") == {"orders_state": {"rows": [last]}}
    assert registry.take_pushed("a") == {}
    assert registry.take_pushed("e") == {}

    async def account_changed():
        registry.dispatch([_change(300, "user", "2")])  # b's role changed
        registry.dispatch([_change(301, "order", "2")])
        await asyncio.sleep(0.7)

    sent.clear()
    nudged.clear()
    run_in_own_loop(account_changed())
    assert "b" not in {token for token, _ in sent}
    assert "b" in {token for token, _ in nudged}
    assert user_changed_at(2) > 0
    registry_module._user_changed.pop(2, None)

    registry.hide("a", "orders_state")  # a loads another view
    registry.forget("b")
    registry.unwatch("c", "orders_state")
    assert "page-1" not in registry.views


def test_a_pushed_tab_gets_its_session_checked_before_its_trust_ends():
    """A tab pushed for a while is sent its session check (while still pushed); when the
    check has run, its views are trusted again, unless its account changed meanwhile."""
    from northwind_app.live import registry as registry_module
    from northwind_app.live.registry import RECHECK_JITTER, RECHECK_SECONDS, TRUST_SECONDS, Pushed

    sent: list[str] = []
    nudged: list[tuple[str, frozenset[str]]] = []

    async def nudge(token, states):
        nudged.append((token, states))

    async def push(view):
        return Pushed(update="update", values={"rows": []}, rows=[])

    async def send(tokens, update):
        sent.extend(tokens)

    async def scenario():
        registry = Registry(nudge, coalesce=0.05)
        registry.push, registry.send = push, send
        for token, user in (("old", 1), ("new", 2)):
            registry.seen(token, user)
            registry.watch(token, "/orders", "orders_state", ["orders"])
            registry.show(token, "orders_state", "page-1", object(), [])
        await asyncio.sleep(0.1)
        nudged.clear()
        age = RECHECK_SECONDS + RECHECK_JITTER + 1
        assert age < TRUST_SECONDS
        registry.tabs["old"].views["orders_state"] = ("page-1", time.time() - age)
        registry.dispatch([_change(400, "order", "2")])
        await asyncio.sleep(0.2)
        return registry

    registry = run_in_own_loop(scenario())
    assert sorted(sent) == ["new", "old"]  # both still pushed
    assert nudged == [("old", frozenset({SESSION}))]  # and the old one's session checked
    registry.checked("old")
    assert time.time() - registry.tabs["old"].views["orders_state"][1] < 1
    registry.tabs["old"].views["orders_state"] = ("page-1", time.time() - 5)
    registry_module._user_changed[1] = time.time()  # its account changed: no renewal
    try:
        registry.checked("old")
        assert time.time() - registry.tabs["old"].views["orders_state"][1] >= 5
    finally:
        registry_module._user_changed.pop(1, None)
