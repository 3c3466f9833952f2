"""The Reflex app: pages, theme, and the REST API mounted under /api."""

from __future__ import annotations

import asyncio

import reflex as rx

from northwind_app.api.app import create_api
from northwind_app.pages.home import HomeState, home
from northwind_app.startup import prepare_embedded_database


async def _first_run():
    await asyncio.to_thread(prepare_embedded_database)


app = rx.App(
    api_transformer=create_api(),
    stylesheets=["/print.css"],
)
app.register_lifespan_task(_first_run)
app.add_page(home, route="/", title="Dashboard · Northwind Orders", on_load=HomeState.load)
