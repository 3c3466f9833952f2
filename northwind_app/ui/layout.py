"""The app shell: sidebar navigation, header with the dark-mode toggle, page body."""

from __future__ import annotations

import reflex as rx

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


def header(title: str) -> rx.Component:
    return rx.hstack(
        rx.heading(title, size="6", data_testid="page-title"),
        rx.spacer(),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        width="100%",
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        margin_bottom="1.25em",
        class_name="no-print",
    )


def page(title: str, *children: rx.Component) -> rx.Component:
    """Wrap a page's content in the shell."""
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
