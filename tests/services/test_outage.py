"""The screens' database-outage handling (ui/outage.py) and the list screens' URL rules.

The browser side (banner, disabled buttons, recovery against a MariaDB that is stopped and
started again) is tests/browser/test_outage_ui.py; here: which errors count as the database
being unavailable (the API's 503 rule), the auth middleware answering with the banner
instead of raising, one log line per outage, and the page/size/search/filter rules.
"""

from __future__ import annotations

import logging
import socket
import time
from unittest import mock

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import (
    DBAPIError, IntegrityError, InterfaceError, OperationalError, ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request

from northwind_app.api.errors import _database_error
from northwind_app.db.engine import session_scope
from northwind_app.services import catalog, customers, orders, products
from northwind_app.services.errors import NotFound, Invalid
from northwind_app.services.listing import MAX_OFFSET, MAX_SEARCH, ListParams
from northwind_app.services.validation import MAX_INT
from tests import aio


def _driver_error(cls, invalidated: bool = False) -> DBAPIError:
    return cls("SELECT 1", {}, Exception("(2003, \"Can't connect to MySQL server\")"),
               connection_invalidated=invalidated)


def _chained() -> RuntimeError:
    try:
        try:
            raise _driver_error(OperationalError)
        except OperationalError as exc:
            raise RuntimeError("loading failed") from exc
    except RuntimeError as outer:
        return outer


UNAVAILABLE = [
    _driver_error(OperationalError), _driver_error(InterfaceError),
    _driver_error(ProgrammingError, invalidated=True), PoolTimeout("QueuePool limit"),
    TimeoutError("timed out"), ConnectionRefusedError(111, "refused"), _chained(),
]
AVAILABLE = [
    _driver_error(IntegrityError), _driver_error(ProgrammingError), ValueError("x"),
    NotFound("Order 1 does not exist."), RuntimeError("plain"),
]


@pytest.mark.parametrize("exc", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_connection_failures_count_as_unavailable(exc):
    from northwind_app.ui.outage import is_unavailable
    assert is_unavailable(exc)


@pytest.mark.parametrize("exc", AVAILABLE, ids=lambda e: type(e).__name__)
def test_other_errors_do_not(exc):
    from northwind_app.ui.outage import is_unavailable
    assert not is_unavailable(exc)


@pytest.mark.parametrize("exc", [e for e in UNAVAILABLE + AVAILABLE
                                 if isinstance(e, DBAPIError)],
                         ids=lambda e: type(e).__name__)
def test_the_screens_and_the_api_classify_alike(exc):
    """A driver error raises the banner exactly when the API answers it with 503."""
    from northwind_app.ui.outage import is_unavailable
    request = Request({"type": "http", "method": "GET", "path": "/api/x", "headers": [],
                       "query_string": b""})
    assert (_database_error(request, exc).status_code == 503) == is_unavailable(exc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_not_there_is_unavailable():
    from northwind_app.ui.outage import is_unavailable
    engine = create_engine(f"mysql+pymysql://root@127.0.0.1:{_free_port()}/x",
                           connect_args={"connect_timeout": 2})
    with pytest.raises(Exception) as raised:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    engine.dispose()
    assert is_unavailable(raised.value)


# -- the auth middleware and the log ------------------------------------------------------------

def _run(coro):
    return aio.run(coro)


@pytest.fixture
def app_states(monkeypatch):
    """The app (its states registered) and a fresh root state; the outage not yet logged."""
    from northwind_app import northwind_app as app_module
    from northwind_app.ui import outage
    from reflex.state import State
    monkeypatch.setattr(outage, "_down_since", None)
    return app_module.app, State(_reflex_internal_init=True)


def _unreachable(*_args, **_kwargs):
    raise _driver_error(OperationalError)


def test_the_session_check_meeting_an_outage_raises_the_banner_not_an_exception(app_states):
    from reflex_base.event import Event

    from northwind_app.pages.orders import OrdersState
    from northwind_app.ui.auth import AuthMiddleware, AuthState
    from northwind_app.ui.outage import OutageState
    app, root = app_states
    event = Event(name=f"{OrdersState.get_full_name()}.load", payload={})

    async def check():
        with mock.patch.object(AuthState, "_current_actor", side_effect=_unreachable,
                               autospec=True):
            update = await AuthMiddleware().preprocess(app, root, event)
        return update, (await root.get_state(OutageState)).db_down

    update, down = _run(check())
    assert down is True
    assert update is not None and update.delta[OutageState.get_full_name()] == {
        "db_down_rx_state_": True}


@pytest.mark.parametrize("handler, reload", [("load", True), ("confirm_delete", False)])
def test_only_a_page_load_stopped_by_the_outage_runs_again_on_recovery(app_states, handler,
                                                                       reload):
    """A page's load is repeated when the database is back; a click (here: confirming a
    delete) is not: its buttons were disabled meanwhile, and the user sees what to redo."""
    from reflex_base.event import Event

    from northwind_app.pages.order_detail import OrderDetailState
    from northwind_app.ui.auth import AuthMiddleware, AuthState
    from northwind_app.ui.outage import OutageState
    app, root = app_states
    _at_order_10250(root)
    event = Event(name=f"{OrderDetailState.get_full_name()}.{handler}", payload={})

    async def check():
        with mock.patch.object(AuthState, "_current_actor", side_effect=_unreachable,
                               autospec=True):
            await AuthMiddleware().preprocess(app, root, event)
        return await root.get_state(OutageState)

    outage_state = _run(check())
    assert outage_state.db_down is True and outage_state._reload is reload


def _at_order_10250(root) -> None:
    root.router_data = root._update_router_vars(
        {"pathname": "/orders/[order_id]", "asPath": "/orders/10250", "query": {},
         "headers": {"origin": "http://127.0.0.1"}}, {})


@pytest.mark.parametrize("handler, reload", [("load", True), ("confirm_delete", False)])
def test_an_uncaught_outage_raises_the_banner_and_reloads_only_a_page_load(app_states, handler,
                                                                           reload):
    """What no handler caught (e.g. the login page's session check): the banner instead of
    Reflex's traceback toast; the page loads again on recovery only if a load failed."""
    from types import SimpleNamespace

    from reflex_base.event import Event

    from northwind_app.pages.order_detail import OrderDetailState
    from northwind_app.ui import outage
    app, root = app_states
    _at_order_10250(root)
    event = Event(name=f"{OrderDetailState.get_full_name()}.{handler}", payload={})
    with mock.patch.object(outage.EventContext, "get",
                           return_value=SimpleNamespace(txid=f"tx-{handler}")):
        assert _run(outage.OutageMiddleware().preprocess(app, root, event)) is None
        spec = outage.backend_exception_handler(_driver_error(OperationalError))
    assert spec.handler.fn is outage.OutageState.lost.fn
    (name, value), = spec.args
    assert str(name) == "reload" and str(value) == str(reload).lower()
    assert f"tx-{handler}" not in outage._page_loads


def test_other_session_check_failures_still_raise(app_states):
    from reflex_base.event import Event

    from northwind_app.pages.orders import OrdersState
    from northwind_app.ui.auth import AuthMiddleware, AuthState
    app, root = app_states
    event = Event(name=f"{OrdersState.get_full_name()}.load", payload={})
    with mock.patch.object(AuthState, "_current_actor", side_effect=ValueError("bug"),
                           autospec=True):
        with pytest.raises(ValueError):
            _run(AuthMiddleware().preprocess(app, root, event))


def test_an_outage_is_logged_once_in_one_line(app_states, caplog):
    from northwind_app.ui import outage
    _app, root = app_states
    caplog.set_level(logging.DEBUG, logger="northwind_app")

    async def fail_three_times():
        for _ in range(3):
            assert await outage.failed(root, _driver_error(OperationalError),
                                       logging.getLogger("northwind_app.pages.x"), "loading")

    _run(fail_three_times())
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "\n" not in warnings[0].getMessage()
    outage.backend_exception_handler(_driver_error(OperationalError))  # logs no more
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    outage._note_up()
    assert "reachable again" in caplog.records[-1].getMessage()


def test_other_handler_errors_are_logged_with_their_traceback(app_states, caplog):
    from northwind_app.ui import outage
    _app, root = app_states
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        assert not _run(outage.failed(root, exc, logging.getLogger("northwind_app.pages.x"),
                                      "loading %s", "x"))
    assert caplog.records[-1].exc_info is not None
    assert caplog.records[-1].getMessage() == "loading x"


# -- list screens' URL values -------------------------------------------------------------------

def test_page_numbers_are_bounded_by_the_apis_largest_offset():
    from northwind_app.ui.table import url_errors
    last = MAX_OFFSET // 25 + 1
    assert url_errors("", str(last), "") == ({}, 25, last)
    assert (last - 1) * 25 <= MAX_INT
    errors, size, page = url_errors("", "99999999999999999999", "")
    assert set(errors) == {"page"} and "at most" in errors["page"] and (size, page) == (25, 1)
    assert set(url_errors("", str(last + 1), "")[0]) == {"page"}
    assert set(url_errors("100", str(MAX_OFFSET // 100 + 2), "")[0]) == {"page"}
    for bad in ("0", "-3", "abc", "2.5", "1e999999999", "NaN"):
        assert set(url_errors("", bad, "")[0]) == {"page"}, bad


def test_page_sizes_and_searches_follow_the_lists_rules():
    from northwind_app.ui.table import url_errors
    assert url_errors("50", "3", "tea") == ({}, 50, 3)
    assert url_errors("", "", "") == ({}, 25, 1)
    assert set(url_errors("7", "2", "")[0]) == {"size"}
    assert set(url_errors("", "", "x" * (MAX_SEARCH + 1))[0]) == {"q"}
    assert url_errors("", "", "x" * MAX_SEARCH)[0] == {}


def test_the_service_refuses_an_offset_or_search_beyond_the_apis_bounds():
    with pytest.raises(Invalid) as raised:
        ListParams(offset=MAX_OFFSET + 1).validated()
    assert set(raised.value.fields) == {"offset"}
    with pytest.raises(Invalid) as raised:
        ListParams(search="x" * (MAX_SEARCH + 1)).validated()
    assert set(raised.value.fields) == {"q"}
    ListParams(offset=MAX_OFFSET, search="x" * MAX_SEARCH).validated()


def test_the_api_takes_the_same_bounds():
    from northwind_app.api.schemas import ListQuery
    fields = ListQuery.model_fields
    assert any(getattr(m, "le", None) == MAX_OFFSET for m in fields["offset"].metadata)
    assert any(getattr(m, "max_length", None) == MAX_SEARCH for m in fields["q"].metadata)


@pytest.mark.parametrize("listing, name", [(products.PRODUCTS, "category_id"),
                                           (products.PRODUCTS, "supplier_id"),
                                           (catalog.EMPLOYEES, "reports_to")])
@pytest.mark.parametrize("value", ["abc", "0", "99999999999999999999", "1.5"])
def test_id_filters_take_only_row_ids(classic_db_ro, listing, name, value):
    with session_scope(classic_db_ro) as session:
        with pytest.raises(Invalid) as raised:
            listing.page(session, ListParams(filters={name: value}))
    assert set(raised.value.fields) == {name}


def test_id_filters_still_filter(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        page = products.PRODUCTS.page(session, ListParams(filters={"category_id": "1"}))
    assert page.total == 12


@pytest.mark.parametrize("page", [products.PRODUCTS.page, customers.CUSTOMERS.page,
                                  orders.list_orders], ids=["products", "customers", "orders"])
def test_a_huge_offset_never_reaches_the_database(classic_db_ro, page):
    """MariaDB refused OFFSET 2499999999999999999950 with a syntax error (1064)."""
    with session_scope(classic_db_ro) as session:
        with pytest.raises(Invalid) as raised:
            page(session, ListParams(offset=2_499_999_999_999_999_999_950))
    assert set(raised.value.fields) == {"offset"}


# -- the retry task -----------------------------------------------------------------------------

class _Tab:
    """Stands in for a background task's state proxy: attributes plus `async with`."""

    def __init__(self, reload: bool):
        self.db_down, self._reload, self._probing_since = True, reload, 0.0

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_exc):
        return False


def _retry(tab) -> list:
    from northwind_app.ui.outage import OutageState

    async def collect():
        return [event async for event in OutageState.event_handlers["retry"].fn(tab)]

    return _run(collect())


@pytest.mark.parametrize("reload", [True, False])
def test_the_retry_probes_until_the_database_answers_then_reloads_a_failed_load(
        monkeypatch, reload):
    from reflex.state import OnLoadInternalState

    from northwind_app.ui import outage
    answers = iter([False, False, True])
    probes = []
    monkeypatch.setattr(outage, "PROBE_SECONDS", 0.01)
    monkeypatch.setattr(outage, "_probe", lambda: probes.append(1) or next(answers))
    tab = _Tab(reload)
    events = _retry(tab)
    assert len(probes) == 3 and tab.db_down is False and tab._probing_since == 0.0
    assert events == ([OnLoadInternalState.on_load_internal] if reload else [])


def test_a_retry_gives_up_after_its_window_and_asks_the_browser_for_another(monkeypatch):
    from northwind_app.ui import outage
    monkeypatch.setattr(outage, "PROBE_SECONDS", 0.01)
    monkeypatch.setattr(outage, "RETRY_WINDOW", 0.05)
    monkeypatch.setattr(outage, "_probe", lambda: False)
    tab = _Tab(True)
    (event,) = _retry(tab)
    assert event.handler.fn.__qualname__ == "_call_script"  # its callback: retry
    assert "outage_state.retry" in str(dict((str(k), v) for k, v in event.args)["callback"])
    assert tab.db_down is True and tab._probing_since == 0.0


def test_one_retry_per_tab_and_none_once_the_database_is_back(monkeypatch):
    from northwind_app.ui import outage
    monkeypatch.setattr(outage, "_probe", lambda: pytest.fail("probed"))
    running = _Tab(True)
    running._probing_since = time.time()
    assert _retry(running) == []
    recovered = _Tab(True)
    recovered.db_down = False
    assert _retry(recovered) == []
