"""Small shared pieces of the screens: a link that looks like a button, confirm-delete
dialog, contact and address cards."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from northwind_app.ui.outage import OutageState


def link_button(*children, href, download: bool = False, **props) -> rx.Component:
    """A link styled as a button: one element, one tab stop (a button inside a link is two,
    and invalid HTML). A page of the app is reached by the router (no reload); `download`
    links (files the API serves) are plain links. `props` are the button's (variant, size,
    color_scheme, data_testid, …)."""
    # (Reflex renders an `a` with an href as React Router's Link, whose client-side routing
    # would swallow a download: `reload_document` hands the click back to the browser.)
    link = (ReactRouterLink.create(*children, to=href, download=True, reload_document=True)
            if download else ReactRouterLink.create(*children, to=href))
    return rx.button(link, as_child=True, **props)


def confirm_delete_dialog(*, title, description: str, open_, on_open_change, on_confirm,
                          error, confirm_label: str, error_extra=None) -> rx.Component:
    """An alert dialog asking to confirm a delete; `error` (a Var) shows why it was refused,
    followed by `error_extra` (e.g. a reload button) when given."""
    message = error if error_extra is None else rx.vstack(rx.text(error), error_extra,
                                                          spacing="2")
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.cond(error != "", rx.callout(message, color_scheme="red", margin_top="1em",
                                            data_testid="delete-error")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                # (A dialog is outside the page's outage fieldset: disabled here.)
                rx.button(confirm_label, color_scheme="red", on_click=on_confirm,
                          disabled=OutageState.db_down, data_testid="confirm-delete"),
                justify="end", spacing="3", padding_top="1em",
            ),
        ),
        open=open_,
        on_open_change=on_open_change,
    )


def contact_card(record) -> rx.Component:
    """Contact name, title and phone of a customer or supplier record (a dict Var)."""
    return rx.card(rx.vstack(
        rx.text("Contact", weight="bold"), rx.text(record["contact_name"]),
        rx.text(record["contact_title"], size="2"), rx.text("Phone ", record["phone"], size="2"),
        spacing="1"))


def address_card(record) -> rx.Component:
    return rx.card(rx.vstack(
        rx.text("Address", weight="bold"), rx.text(record["address"]),
        rx.text(record["address_line"], size="2"), rx.text(record["country"], size="2"),
        spacing="1"))


def line_header(*, removable: bool = False) -> rx.Component:
    """Header row of an order's lines table (detail, invoice and the line editor)."""
    return rx.table.header(rx.table.row(
        rx.table.column_header_cell("Product"),
        rx.table.column_header_cell("Unit price", text_align="right"),
        rx.table.column_header_cell("Quantity", text_align="right"),
        rx.table.column_header_cell("Discount (%)" if removable else "Discount",
                                    text_align="right"),
        rx.table.column_header_cell("Line total", text_align="right"),
        *([rx.table.column_header_cell("")] if removable else []),
    ))
