"""The page for an address that is no page of the app (Reflex's "404" route), inside the app
shell (sidebar, header) with a way back. Signed out, its on_load is refused like any page's
and the browser goes to the login page, returning here afterwards."""

from __future__ import annotations

import reflex as rx

from northwind_app.ui.layout import page


class NotFoundState(rx.State):
    """The address the browser asked for (an event of this state needs a signed-in user:
    the auth middleware sends a signed-out browser to the login page first)."""

    path: str = ""

    @rx.event
    def load(self):
        self.path = self.router.url.path


def not_found_page() -> rx.Component:
    return page("Page not found", rx.center(
        rx.vstack(
            rx.icon("search-x", size=40, color=rx.color("gray", 9)),
            rx.heading("There is no page at this address", size="5"),
            rx.text("Nothing lives at ", rx.code(NotFoundState.path, data_testid="missing-path"),
                    ". The link may be old, or the address mistyped.",
                    color=rx.color("gray", 11)),
            rx.hstack(
                rx.link("Go to the dashboard", href="/", data_testid="back-dashboard"),
                rx.text("·", color=rx.color("gray", 9)),
                rx.link("Orders", href="/orders"),
                spacing="2"),
            align="center", data_testid="page-not-found",
        ),
        padding="4em", width="100%"))
