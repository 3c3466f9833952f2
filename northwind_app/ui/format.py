"""Display formatting for screens (the API sends ISO dates and decimal strings instead)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

from northwind_app.money import LOCALE

STATUS_COLORS = {"new": "blue", "late": "red", "shipped": "green", "shipped_late": "orange",
                 "cancelled": "gray"}


def date_text(value: dt.date | None) -> str:
    """"Jul 4, 1996"; empty for no date."""
    return "" if value is None else format_date(value, "medium", locale=LOCALE)
