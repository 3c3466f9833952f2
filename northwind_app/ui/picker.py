"""A searchable picker: a debounced text box with a list of matches underneath.

The owning state keeps the query, the matches (list of {"value", "label", "detail"} dicts,
fetched from a service) and handles the pick.
"""

from __future__ import annotations

import reflex as rx


def search_picker(
    *,
    query: rx.Var,
    on_query,
    results: rx.Var,
    on_pick,
    placeholder: str,
    testid: str,
    selected_label: rx.Var | None = None,
    error: rx.Var | None = None,
    width: str = "24em",
) -> rx.Component:
    selected = rx.fragment()
    if selected_label is not None:
        selected = rx.cond(selected_label != "", rx.text(
            selected_label, size="2", weight="medium", data_testid=f"{testid}-selected"))
    has_error = (error != "") if error is not None else False
    return rx.vstack(
        selected,
        rx.debounce_input(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                placeholder=placeholder,
                value=query,
                on_change=on_query,
                width="100%",
                data_testid=f"{testid}-search",
                aria_label=placeholder,
                color_scheme=rx.cond(has_error, "red", "gray"),
            ),
            debounce_timeout=250,
        ),
        rx.cond(
            results.length() > 0,
            rx.card(
                rx.vstack(
                    rx.foreach(results, lambda item: rx.box(
                        rx.text(item["label"], size="2", weight="medium"),
                        rx.text(item["detail"], size="1", color=rx.color("gray", 11)),
                        on_click=on_pick(item["value"]),
                        cursor="pointer",
                        padding_x="0.5em",
                        padding_y="0.25em",
                        border_radius="var(--radius-2)",
                        _hover={"background": rx.color("accent", 4)},
                        width="100%",
                        data_testid=f"{testid}-option",
                    )),
                    spacing="0",
                    max_height="16em",
                    overflow_y="auto",
                ),
                width="100%",
                position="absolute",
                top="100%",
                z_index="20",
                size="1",
            ),
        ),
        rx.cond(has_error, rx.text(error, color="red", size="1", data_testid=f"{testid}-error")),
        spacing="1",
        position="relative",
        width=width,
        max_width="100%",  # never wider than the screen (a phone's)
    )
