"""The app shell: sidebar navigation, header with the signed-in user's menu and the dark-mode
toggle, page body. A page's body is rendered only once the user's session is confirmed (the
auth middleware sends everyone else to the login page).

Below the `md` breakpoint (1024 px, Radix Themes') the sidebar gives way to a drawer behind
the header's menu button: a Radix dialog (focus moves into it and back to the button, Escape
or a click outside closes it, so does following a link), styled as a panel at the left edge
(assets/layout.css). `grid_columns` gives a page's grids one column on a phone, two on a tablet or
narrow laptop, and their full count from `lg` (1280 px) up."""

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


# Where the layout changes (Radix Themes' breakpoints: sm 768 px, md 1024 px, lg 1280 px).
SIDEBAR_FROM = "md"  # the sidebar shows from this width up; below it, the drawer


def grid_columns(count: int) -> rx.Breakpoints:
    """A grid's `columns` that stack on a phone: 1, then 2 from `sm`, `count` from `lg`."""
    return rx.breakpoints(initial="1", sm=str(min(count, 2)), lg=str(count))


def nav_link(label: str, route: str, icon: str, testid_prefix: str = "nav") -> rx.Component:
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
        data_testid=f"{testid_prefix}-{label.lower()}",
    )


def _brand() -> rx.Component:
    return rx.hstack(
        rx.icon("ship", size=24, color=rx.color("accent", 10)),
        rx.heading("Northwind", size="5"),
        align="center",
        spacing="2",
        padding_bottom="1em",
    )


def _nav_items(testid_prefix: str = "nav", wrap=None) -> list[rx.Component]:
    """The navigation links (the admin's too, for admins); `wrap` wraps each link."""
    wrap = wrap or (lambda link: link)
    return [
        *[wrap(nav_link(label, route, icon, testid_prefix)) for label, route, icon in NAV_ITEMS],
        rx.cond(
            AuthState.can_manage_users,
            rx.vstack(
                rx.divider(margin_y="0.5em"),
                *[wrap(nav_link(label, route, icon, testid_prefix))
                  for label, route, icon in ADMIN_NAV_ITEMS],
                spacing="1",
                width="100%",
            ),
        ),
    ]


def sidebar() -> rx.Component:
    return Frozen.create(rx.vstack(
        _brand(),
        *_nav_items(),
        display=rx.breakpoints(initial="none", **{SIDEBAR_FROM: "flex"}),
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
        data_testid="sidebar",
    ))


def nav_drawer() -> rx.Component:
    """The navigation on a narrow screen: the menu button and the drawer it opens (a Radix
    dialog, which moves the focus in and back, and closes on Escape, outside clicks and, as
    each link is wrapped in its Close, on following a link). Only the browser's: opening and
    closing it sends no event."""
    return rx.dialog.root(
        rx.dialog.trigger(rx.icon_button(
            rx.icon("menu", size=20), variant="ghost", size="2", aria_label="Open the menu",
            display=rx.breakpoints(initial="inline-flex", **{SIDEBAR_FROM: "none"}),
            data_testid="menu-button")),
        rx.dialog.content(
            rx.vstack(
                rx.hstack(
                    rx.dialog.title(_brand(), margin="0"),
                    rx.spacer(),
                    rx.dialog.close(rx.icon_button(rx.icon("x", size=18), variant="ghost",
                                                   aria_label="Close the menu",
                                                   data_testid="menu-close")),
                    width="100%", align="start",
                ),
                rx.dialog.description("Go to a screen", class_name="nw-sr-only"),
                *_nav_items("drawer-nav", lambda link: rx.dialog.close(link, as_child=True)),
                spacing="1", width="100%",
            ),
            class_name="nw-drawer",
            data_testid="nav-drawer",
        ),
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user", size=18),
                # On a phone the button is its icon alone (the menu still names the user).
                rx.text(AuthState.display_name, data_testid="user-name",
                        class_name="nw-hide-narrow"),
                rx.badge(AuthState.role, variant="soft", data_testid="user-role",
                         class_name="nw-hide-narrow"),
                variant="ghost", size="2", data_testid="user-menu",
            ),
        ),
        rx.menu.content(
            # The button shows the user's name from a tablet's width up; here it always is.
            rx.text(AuthState.display_name, " (", AuthState.role, ")", size="2", weight="medium",
                    padding_x="0.75em", padding_y="0.25em"),
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
        nav_drawer(),
        rx.heading(title, size=rx.breakpoints(initial="5", sm="6"), data_testid="page-title",
                   min_width="0", overflow_wrap="anywhere"),
        rx.spacer(),
        palette_button(),
        user_menu(),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        spacing=rx.breakpoints(initial="2", sm="3"),
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
            padding_x=rx.breakpoints(initial="0.75em", sm="1.25em", **{SIDEBAR_FROM: "2em"}),
            padding_bottom="2em",
        ),
        align="start",
        spacing="0",
        width="100%",
    )
