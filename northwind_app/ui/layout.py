"""The app shell: sidebar navigation, header with the signed-in user's menu and the dark-mode
toggle, page body. A page's body is rendered only once the user's session is confirmed (the
auth middleware sends everyone else to the login page)."""

from __future__ import annotations

import reflex as rx

from northwind_app.ui.auth import AuthState

# (label, route, lucide icon). Screens add themselves here as they are built.
NAV_ITEMS: list[tuple[str, str, str]] = [
    ("Dashboard", "/", "layout-dashboard"),
    ("Orders", "/orders", "shopping-cart"),
    ("Customers", "/customers", "users"),
    ("Products", "/products", "package"),
    ("Employees", "/employees", "id-card"),
    ("Suppliers", "/suppliers", "factory"),
    ("Categories", "/categories", "tags"),
    ("Shippers", "/shippers", "truck"),
]
# Shown to admins only (the pages refuse everyone else anyway).
ADMIN_NAV_ITEMS: list[tuple[str, str, str]] = [
    ("Users", "/users", "user-cog"),
    ("Audit trail", "/audit", "history"),
]


def nav_link(label: str, route: str, icon: str) -> rx.Component:
    active = rx.State.router.url.path == route
    if route != "/":
        active = active | rx.State.router.url.path.startswith(route + "/")
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=route,
        underline="none",
        padding_x="0.75em",
        padding_y="0.5em",
        border_radius="var(--radius-3)",
        width="100%",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 4)},
        data_testid=f"nav-{label.lower()}",
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("ship", size=24, color=rx.color("accent", 10)),
            rx.heading("Northwind", size="5"),
            align="center",
            spacing="2",
            padding_bottom="1em",
        ),
        *[nav_link(label, route, icon) for label, route, icon in NAV_ITEMS],
        rx.cond(
            AuthState.can_manage_users,
            rx.vstack(
                rx.divider(margin_y="0.5em"),
                *[nav_link(label, route, icon) for label, route, icon in ADMIN_NAV_ITEMS],
                spacing="1",
                width="100%",
            ),
        ),
        width="14em",
        min_width="14em",
        padding="1.25em",
        height="100vh",
        position="sticky",
        top="0",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        spacing="1",
        class_name="no-print",
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user", size=18),
                rx.text(AuthState.display_name, data_testid="user-name"),
                rx.badge(AuthState.role, variant="soft", data_testid="user-role"),
                variant="ghost", size="2", data_testid="user-menu",
            ),
        ),
        rx.menu.content(
            rx.menu.item(rx.icon("key-round", size=16), "Account and API tokens",
                         on_click=rx.redirect("/account"), data_testid="menu-account"),
            rx.menu.separator(),
            rx.menu.item(rx.icon("log-out", size=16), "Sign out", on_click=AuthState.logout,
                         data_testid="menu-logout"),
        ),
    )


def forbidden(message: str = "Your role may not open this page.") -> rx.Component:
    """What a page shows to a signed-in user whose role may not use it."""
    return rx.callout(message, icon="shield-alert", color_scheme="red", data_testid="forbidden")


def header(title: str) -> rx.Component:
    return rx.hstack(
        rx.heading(title, size="6", data_testid="page-title"),
        rx.spacer(),
        user_menu(),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        width="100%",
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        margin_bottom="1.25em",
        class_name="no-print",
    )


def page(title: str, *children: rx.Component) -> rx.Component:
    """Wrap a page's content in the shell (once the session is confirmed)."""
    return rx.cond(AuthState.signed_in, _shell(title, *children),
                   rx.center(rx.spinner(size="3"), height="100vh"))


def _shell(title: str, *children: rx.Component) -> rx.Component:
    return rx.hstack(
        sidebar(),
        rx.box(
            header(title),
            *children,
            flex="1",
            min_width="0",
            padding_x="2em",
            padding_bottom="2em",
        ),
        align="start",
        spacing="0",
        width="100%",
    )
