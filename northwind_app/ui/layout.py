"""The app shell: sidebar navigation, header with the signed-in user's menu and the dark-mode
toggle, page body. A page's body is rendered only once the user's session is confirmed (the
auth middleware sends everyone else to the login page)."""

from __future__ import annotations

import reflex as rx
from reflex_base.constants.compiler import MemoizationDisposition, MemoizationMode
from reflex_components_core.base.fragment import Fragment
from reflex_components_core.react_router.dom import ReactRouterLink

from northwind_app.ui.auth import AuthState
from northwind_app.ui.shortcuts import palette_button, shortcuts

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


class NavLink(ReactRouterLink):
    """React Router's NavLink: a link that marks itself `aria-current="page"` while the
    browser shows its route or a page below it (only "/" itself for "/"). The sidebar reads
    the address in the browser, so a navigation re-renders just the links, not every
    component that reads the server's router state (each page change updates that state
    several times)."""

    tag = "NavLink"
    alias = "ReactRouterNavLink"


class Frozen(Fragment):
    """A subtree compiled into one memo component of its own, with no props: a navigation
    (which renders the page again from the top) leaves it alone, and only a change of the
    state it reads renders it again. For the shell's nearly static parts (sidebar, header);
    a subtree that reads often-changing state is better left to Reflex's per-component
    memos."""

    _memoization_mode = MemoizationMode(disposition=MemoizationDisposition.ALWAYS,
                                        recursive=False)


def nav_link(label: str, route: str, icon: str) -> rx.Component:
    current = {"color": rx.color("accent", 11), "background": rx.color("accent", 3)}
    return rx.link(
        NavLink.create(
            rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center",
                      spacing="3"),
            to=route,
        ),
        href=route,  # rx.link would add href="#" to the <a> without one
        as_child=True,
        underline="none",
        padding_x="0.75em",
        padding_y="0.5em",
        border_radius="var(--radius-3)",
        width="100%",
        color=rx.color("gray", 11),
        background="transparent",
        _hover={"background": rx.color("accent", 4)},
        style={"&[aria-current='page']": current,
               "&[aria-current='page']:hover": {"background": rx.color("accent", 4)}},
        data_testid=f"nav-{label.lower()}",
    )


def sidebar() -> rx.Component:
    return Frozen.create(rx.vstack(
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
    ))


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
    return Frozen.create(rx.hstack(
        rx.heading(title, size="6", data_testid="page-title"),
        rx.spacer(),
        palette_button(),
        user_menu(),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        width="100%",
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        margin_bottom="1.25em",
        class_name="no-print",
    ))


def page(title: str, *children: rx.Component) -> rx.Component:
    """Wrap a page's content in the shell (once the session is confirmed)."""
    return rx.cond(AuthState.signed_in, _shell(title, *children),
                   rx.center(rx.spinner(size="3"), height="100vh"))


def _shell(title: str, *children: rx.Component) -> rx.Component:
    return rx.hstack(
        sidebar(),
        shortcuts(),
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
