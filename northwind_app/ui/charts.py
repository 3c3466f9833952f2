"""Chart axes in the user's format: round ticks chosen on the server (`ui/format.axis_ticks`),
labelled by babel (money without cents, grouped counts), and a recharts tick formatter that
shows each tick by its label. The chart draws the numbers; the words come from the state.

`money_axis` / `count_axis` build an axis's state value (ticks, labels, top, width);
`y_axis_props(axis)` gives a recharts axis its ticks, domain, formatter and width from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import reflex as rx
from reflex.vars.function import ArgsFunctionOperation

from northwind_app.money import format_number, format_whole_money
from northwind_app.ui.format import axis_ticks

# A chart's tick labels: 12 px (at most 7.5 px a character), beside the tick mark.
TICK_FONT = {"fontSize": 12}
EMPTY_AXIS: dict[str, Any] = {"ticks": [], "labels": {}, "top": 0, "width": 60}


def axis(values: Iterable[float], label: Callable[[int], str]) -> dict[str, Any]:
    """An axis's ticks from 0 past the largest of `values`, their labels (by the tick's
    text, as the chart passes it), the top of its domain and the width its longest label
    needs."""
    ticks = axis_ticks(max((float(v) for v in values), default=0))
    labels = {str(tick): label(tick) for tick in ticks}
    return {"ticks": ticks, "labels": labels, "top": ticks[-1],
            "width": 16 + int(7.5 * max(len(text) for text in labels.values()))}


def money_axis(values: Iterable[float]) -> dict[str, Any]:
    """Whole amounts in the user's format: "$125,000", "125.000 $", "125 000 $US"."""
    return axis(values, format_whole_money)


def count_axis(values: Iterable[float]) -> dict[str, Any]:
    """Counts grouped in the user's format: "1,200", "1.200", "1 200"."""
    return axis(values, format_number)


def tick_labels(labels: rx.Var) -> rx.Var:
    """A recharts tickFormatter showing each tick by its label in `labels` (tick text ->
    label, a state var): `(v) => labels?.[String(v)]`. The axis's ticks are the labels'
    keys, so every tick has one."""
    return ArgsFunctionOperation.create(("v",), labels.to(dict)[rx.Var("String(v)").to(str)])


def y_axis_props(axis_var: rx.Var) -> dict[str, Any]:
    """A y axis's ticks, domain, labels and width from an axis state var (`axis`)."""
    return {"ticks": axis_var["ticks"], "domain": [0, axis_var["top"].to(int)],
            "tick_formatter": tick_labels(axis_var["labels"]),
            "width": axis_var["width"].to(int), "tick": TICK_FONT}
