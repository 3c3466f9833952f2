"""The Reflex app: pages, theme, and the REST API mounted under /api."""

from __future__ import annotations

import asyncio

import reflex as rx

from northwind_app.api.app import create_api
from northwind_app.pages.home import HomeState, home
from northwind_app.pages.order_detail import OrderDetailState, invoice_page, order_detail_page
from northwind_app.pages.order_form import OrderFormState, order_form_page
from northwind_app.pages.orders import OrdersState, orders_page
from northwind_app.startup import prepare_embedded_database


async def _first_run():
    await asyncio.to_thread(prepare_embedded_database)


app = rx.App(
    api_transformer=create_api(),
    stylesheets=["/print.css"],
)
app.register_lifespan_task(_first_run)
app.add_page(home, route="/", title="Dashboard · Northwind Orders", on_load=HomeState.load)
app.add_page(orders_page, route="/orders", title="Orders · Northwind Orders",
             on_load=[OrdersState.load, OrdersState.load_options])
app.add_page(order_form_page, route="/orders/new", title="New order · Northwind Orders",
             on_load=OrderFormState.load)
app.add_page(order_detail_page, route="/orders/[order_id]", title="Order · Northwind Orders",
             on_load=OrderDetailState.load)
app.add_page(order_form_page, route="/orders/[order_id]/edit", title="Edit order · Northwind Orders",
             on_load=OrderFormState.load)
app.add_page(invoice_page, route="/orders/[order_id]/invoice", title="Invoice · Northwind Orders",
             on_load=OrderDetailState.load)
