"""Chart data: round axis ticks labelled in each user's format (ui/charts.py), and the
dashboard's month the data stops in drawn apart (pages/home.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from northwind_app.money import format_number, format_whole_money
from northwind_app.pages.home import _month_points
from northwind_app.ui.charts import axis
from northwind_app.services.dashboard import DateRange, MonthPoint
from northwind_app.ui.format import axis_ticks


@pytest.mark.parametrize(("largest", "ticks"), [
    (123798.5, [0, 25000, 50000, 75000, 100000, 125000]),
    (80, [0, 20, 40, 60, 80]),
    (81, [0, 20, 40, 60, 80, 100]),
    (3, [0, 1, 2, 3]),
    (0, [0, 1]),
    (31272171.2, [0, 10000000, 20000000, 30000000, 40000000]),
])
def test_ticks_are_round_and_reach_past_the_largest_value(largest, ticks):
    assert axis_ticks(largest) == ticks


def test_axis_labels_are_money_in_the_users_format():
    assert [format_whole_money(400000, fmt) for fmt in ("en", "de", "fr")] == [
        "$400,000", "400.000\xa0$", "400\u202f000\xa0$US"]
    money = axis([123798.5, 3.0], lambda v: format_whole_money(v, "en"))
    assert money["labels"]["125000"] == "$125,000" and money["top"] == 125000
    assert money["width"] >= 16 + 7 * len("$125,000")
    assert axis([1200], lambda v: format_number(v, "de"))["labels"]["1250"] == "1.250"
    assert axis([], str)["ticks"] == [0, 1]  # no data: an axis all the same


def test_a_partial_last_month_is_its_own_series():
    points = [MonthPoint("1998-03", Decimal("104854.155"), 73),
              MonthPoint("1998-04", Decimal("123798.6825"), 74),
              MonthPoint("1998-05", Decimal("18333.63"), 14, partial=True)]
    rows = _month_points(points, DateRange())  # all time
    assert [(r["revenue"], r["revenue_partial"]) for r in rows] == [
        (104854.16, None), (123798.68, None), (None, 18333.63)]
    # The dashed orders line joins the solid one at the month before.
    assert [(r["orders"], r["orders_partial"]) for r in rows] == [
        (73, None), (74, 74), (None, 14)]
    assert rows[2]["href"] == "/orders?date_from=1998-05-01&date_to=1998-05-31"
    complete = _month_points(points[:2], DateRange())
    assert all(r["revenue_partial"] is None and r["orders_partial"] is None for r in complete)
