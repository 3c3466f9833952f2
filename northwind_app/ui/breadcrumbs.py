"""Breadcrumbs for detail pages and forms (Orders › 10248 › Edit), with a "Back to list" that
returns to the list as the user last saw it in this tab; and `action_link`, a link to another
page that looks like the page's action buttons.

A list keeps its view (search, filters, sort, page, page size) in its address, and its state
(ui/table/state.py, one per tab) holds the view last shown: `list_href` builds the list's
address from it (`query_string`), so the way back keeps the filters, sort and page; a tab that
never showed the list (a direct visit to a record) gets the plain list.
"""

from __future__ import annotations

from typing import Union

import reflex as rx

from northwind_app.ui.table import ListState
from northwind_app.ui.widgets import link_button

Text = Union[str, rx.Var]
Crumb = tuple[Text, Union[Text, None]]  # (label, href; None for the page itself)


def list_href(state: type[ListState], route: str) -> rx.Var:
    """The list at `route` with the view its state last showed in this tab."""
    return rx.cond(state.query_string != "", route + "?" + state.query_string, route)


def breadcrumbs(*trail: Crumb, back: Text | None = None) -> rx.Component:
    """A breadcrumb trail (the last crumb is the page itself) and, with `back`, a "Back to
    list" link to that address."""
    items = []
    for index, (label, href) in enumerate(trail):
        if index:
            items.append(rx.el.li(rx.icon("chevron-right", size=14), aria_hidden="true",
                                  display="flex", align_items="center",
                                  color=rx.color("gray", 9)))
        if href is None:
            crumb = rx.text(label, size="2", weight="medium", aria_current="page",
                            data_testid="breadcrumb-current")
        else:
            crumb = rx.link(label, href=href, size="2", data_testid="breadcrumb-link")
        items.append(rx.el.li(crumb, display="flex", align_items="center"))
    return rx.hstack(
        rx.el.nav(
            rx.el.ol(*items, display="flex", flex_wrap="wrap", gap="0.4em",
                     list_style="none", padding="0", margin="0"),
            aria_label="Breadcrumb",
            data_testid="breadcrumbs",
        ),
        rx.spacer(),
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Back to list", size="2"),
                          spacing="1", align="center"),
                href=back, data_testid="breadcrumb-back") if back is not None else rx.fragment(),
        width="100%",
        align="center",
        margin_bottom="0.75em",
        class_name="no-print",
    )


def action_link(label: str, icon: str, href: Text, testid: str) -> rx.Component:
    """A link shown as a soft button (one element, one tab stop: not a button inside a link),
    followed by React Router (no page load)."""
    return link_button(rx.icon(icon, size=16), label, href=href, variant="soft",
                       data_testid=testid)
