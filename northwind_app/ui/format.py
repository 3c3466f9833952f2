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


# The browser's IANA time zone ("Europe/Berlin"), as its Intl API says where it is evaluated:
# in an event's arguments, when the event is sent (the login form's, the account page's
# button); rendered, as the page is drawn.
BROWSER_ZONE = rx.Var(
    "(typeof Intl !== 'undefined' ? Intl.DateTimeFormat().resolvedOptions().timeZone : '')"
).to(str)
