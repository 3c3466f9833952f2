"""Home view: live counts read from the database."""

from __future__ import annotations

import asyncio

import reflex as rx

from northwind_app.db.engine import session_scope
from northwind_app.money import format_number
from northwind_app.services import stats
from northwind_app.ui.layout import page


def _load_counts() -> dict[str, str]:
    with session_scope() as session:
        return {name: format_number(n) for name, n in stats.entity_counts(session).items()}


class HomeState(rx.State):
    counts: dict[str, str] = {}
    loading: bool = True
    error: str = ""

    @rx.event
    async def load(self):
        self.loading = True
        self.error = ""
        yield
        try:
            self.counts = await asyncio.to_thread(_load_counts)
        except Exception:  # the database is down or misconfigured: say so, keep the page
            self.error = "The database could not be read. Check the server log and try again."
        finally:
            self.loading = False


def count_card(label: str, key: str, icon: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=28, color=rx.color("accent", 10)),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.skeleton(
                    rx.heading(HomeState.counts.get(key, "0"), size="7", data_testid=f"count-{key}"),
                    loading=HomeState.loading,
                ),
                spacing="1",
            ),
            align="center",
            spacing="4",
        ),
        min_width="14em",
    )


def home() -> rx.Component:
    return page(
        "Dashboard",
        rx.cond(
            HomeState.error != "",
            rx.callout(HomeState.error, icon="triangle-alert", color_scheme="red",
                       data_testid="home-error", margin_bottom="1em"),
        ),
        rx.flex(
            count_card("Orders", "orders", "shopping-cart"),
            count_card("Customers", "customers", "users"),
            count_card("Products", "products", "package"),
            spacing="4",
            wrap="wrap",
        ),
    )
