"""A list's pushed refresh (live/registry.py views, ui/table/state.py `ListView`) is read and
written in its readers' number format: two views that differ only by format are two pushes,
each in its own words ("Rows 1–1 of 1,234" / "Rows 1–1 of 1.234")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from northwind_app import formats
from northwind_app.live.registry import View
from northwind_app.money import format_number
from northwind_app.services.listing import ListParams
from tests.unit.test_live_registry import run_in_own_loop


@pytest.mark.parametrize(("code", "range_text", "amount"), [
    ("en", "Rows 1–1 of 1,234", "1,234.5"),
    ("de", "Rows 1–1 of 1.234", "1.234,5"),
])
def test_a_pushed_view_is_written_in_its_readers_format(monkeypatch, code, range_text, amount):
    import rxconfig  # noqa: F401  (the app's states)
    from northwind_app.pages.orders import OrdersState
    from northwind_app.ui.table.state import ListView

    seen_formats = []

    def read_rows(cls, params):  # in the read's worker thread, as the real read runs
        seen_formats.append(formats.current.get())
        return [{"href": "/orders/1", "total": format_number(Decimal("1234.5"))}], 1234

    monkeypatch.setattr(OrdersState, "_read_rows", classmethod(read_rows))
    params = ListParams(limit=25, offset=0, sort="-order_id")
    fmt = (code, "Europe/Berlin")
    spec = ListView(OrdersState, params, fmt)
    view = View(key=("push-format-test", code), state=OrdersState.get_full_name(), spec=spec,
                rows=[{"href": "/orders/1", "total": "old"}])

    pushed = run_in_own_loop(spec(view))

    assert seen_formats == [code]
    delta = pushed.update.delta[OrdersState.get_full_name()]
    assert delta["range_text_rx_state_"] == range_text
    assert delta["rows_rx_state_"] == [{"href": "/orders/1", "total": amount}]
    assert delta["changed_rows_rx_state_"] == ["/orders/1"]  # its total changed
    assert delta["page_count_rx_state_"] == 50
    assert pushed.values["total"] == 1234
