"""The Reflex app: pages, theme, and the REST API mounted under /api."""

from __future__ import annotations

import asyncio

import reflex as rx

from northwind_app.api.app import around_reflex, create_api, in_front_of_reflex
from northwind_app.entities import ENTITIES
from northwind_app.live.tabs import PushedValues, live_updates
from northwind_app.pages import users as usr
from northwind_app.pages.account import AccountState, account_page
from northwind_app.pages.audit import AuditOptions, audit_page
from northwind_app.pages.catalog import PAGES, CatalogOptions, related_loads
from northwind_app.pages.home import HomeState, home
from northwind_app.pages.login import LoginState, login_page
from northwind_app.pages.not_found import NotFoundState, not_found_page
from northwind_app.pages.order_detail import OrderDetailState, invoice_page, order_detail_page
from northwind_app.pages.order_form import OrderFormState, order_form_page
from northwind_app.pages.orders import OrdersState, orders_page
from northwind_app.pages.record_form import RecordFormState, record_form_page
from northwind_app.security_headers import App, api_csp
from northwind_app.startup import prepare_embedded_database
from northwind_app.ui.auth import AuthMiddleware, session_sync
from northwind_app.ui.outage import OutageMiddleware, backend_exception_handler, outage_wrap
from northwind_app.ui.workers import worker_aware_tabs


async def _first_run():
    await asyncio.to_thread(prepare_embedded_database)


api = create_api()
# Every response gets the security headers and Content-Security-Policy (security_headers.py).
app = App(
    # /api goes to the API (api/app.py): a plain request around Reflex's own middleware, a
    # cross-origin request or a websocket through it (its CORS, the websockets' origin check).
    api_transformer=in_front_of_reflex(api),
    around_reflex=around_reflex(api),
    csp_by_path=api_csp(api),
    stylesheets=["/print.css", "/table.css", "/layout.css", "/a11y.css"],
    # assets/favicon.ico (the path browsers also ask for on their own).
    head_components=[rx.el.link(rel="icon", href="/favicon.ico", sizes="any")],
    # Every tab hears another tab of the browser signing in or out.
    extra_app_wraps={(3, "SessionSync"): lambda stateful: session_sync(),
                     # Every page shows the outage banner (ui/outage.py).
                     (2, "Outage"): lambda stateful: outage_wrap()},
    backend_exception_handler=backend_exception_handler,
)
app.register_lifespan_task(_first_run)
# With Redis: a tab of a worker that died keeps its state on another (see ui/workers.py).
app.register_lifespan_task(worker_aware_tabs)
# Every open tab follows the data as others change it (northwind_app/live/).
app.register_lifespan_task(live_updates)
# Every event of the app's states needs a signed-in user (see northwind_app/ui/auth.py).
app.add_middleware(AuthMiddleware())
# Before it: what live updates pushed to a tab goes into its state first (live/tabs.py).
app.add_middleware(PushedValues(), 0)
app.add_middleware(OutageMiddleware())  # which events are page loads (ui/outage.py)
app.add_page(login_page, route="/login", title="Sign in · Northwind Orders", on_load=LoginState.load)
app.add_page(home, route="/", title="Dashboard · Northwind Orders", on_load=HomeState.load)
app.add_page(orders_page, route="/orders", title="Orders · Northwind Orders",
             on_load=OrdersState.load)
app.add_page(order_form_page, route="/orders/new", title="New order · Northwind Orders",
             on_load=OrderFormState.load)
app.add_page(order_detail_page, route="/orders/[order_id]", title="Order · Northwind Orders",
             on_load=OrderDetailState.load)
app.add_page(order_form_page, route="/orders/[order_id]/edit", title="Edit order · Northwind Orders",
             on_load=OrderFormState.load)
app.add_page(invoice_page, route="/orders/[order_id]/invoice", title="Invoice · Northwind Orders",
             on_load=OrderDetailState.load)

# Customers, products, employees, suppliers, categories, shippers (declared in entities/).
for entity in ENTITIES.values():
    pages = PAGES[entity.name]
    title = f"{entity.title} · Northwind Orders"
    app.add_page(pages.list_page, route=f"/{entity.name}", title=title,
                 on_load=[pages.list_state.load, CatalogOptions.load])
    app.add_page(pages.detail_page, route=f"/{entity.name}/[key]", title=title,
                 on_load=[pages.detail_state.load, *related_loads(entity)])
    if entity.fields:  # the record form, for the roles that may create and edit
        form_page = record_form_page(entity)
        app.add_page(form_page, route=f"/{entity.name}/new", title="New · Northwind Orders",
                     on_load=[RecordFormState.load, CatalogOptions.load])
        app.add_page(form_page, route=f"/{entity.name}/[key]/edit",
                     title="Edit · Northwind Orders",
                     on_load=[RecordFormState.load, CatalogOptions.load])

# The signed-in user's account; users and the audit trail (admins).
app.add_page(account_page, route="/account", title="Account · Northwind Orders",
             on_load=AccountState.load)
app.add_page(usr.users_page, route="/users", title="Users · Northwind Orders",
             on_load=usr.UsersListState.load)
app.add_page(usr.new_user_page, route="/users/new", title="New user · Northwind Orders",
             on_load=usr.NewUserState.load)
app.add_page(usr.user_detail_page, route="/users/[user_id]", title="User · Northwind Orders",
             on_load=usr.UserDetailState.load)
app.add_page(audit_page, route="/audit", title="Audit trail · Northwind Orders",
             on_load=AuditOptions.load)
# Any other address: "Page not found" in the app shell (Reflex's 404 route).
app.add_page(not_found_page, route="404", title="Page not found · Northwind Orders",
             on_load=NotFoundState.load)
