"""Display formatting for screens (the API sends ISO dates and decimal strings instead)."""

from __future__ import annotations

import datetime as dt

import reflex as rx

from northwind_app import formats

STATUS_COLORS = {"new": "blue", "late": "red", "shipped": "green", "shipped_late": "orange",
                 "cancelled": "gray"}


def date_text(value: dt.date | None) -> str:
    """"Jul 4, 1996" (or "04.07.1996", "4 juil. 1996": the signed-in user's format);
    empty for no date."""
    return formats.date_text(value)


def axis_ticks(largest: float, count: int = 5) -> list[int]:
    """Round tick values for a chart axis from 0 past `largest`: about `count` steps of 1, 2,
    2.5 or 5 × a power of ten (0, 25,000 … 125,000 for 123,798), whole numbers."""
    if largest <= 0:
        return [0, 1]
    rough = largest / count
    power = 10 ** max(0, len(str(int(rough))) - 1)
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= rough)
    step = max(1, int(step))
    top = -(-int(largest) // step) * step
    if top < largest:
        top += step
    return list(range(0, top + 1, step))
# The browser's IANA time zone ("Europe/Berlin"), as its Intl API says where it is evaluated:
# in an event's arguments, when the event is sent (the login form's, the account page's
# button); rendered, as the page is drawn.
BROWSER_ZONE = rx.Var(
    "(typeof Intl !== 'undefined' ? Intl.DateTimeFormat().resolvedOptions().timeZone : '')"
).to(str)
