"""A record's change history (from the audit trail) as a card: who, when, what changed
(before → after per field), in the user's words (services/changes.py: labels, names, their
number format and time zone). Used by the order, customer, product and user pages."""

from __future__ import annotations

import dataclasses

import reflex as rx

from northwind_app.services.changes import EMPTY, EntryText

ACTION_COLORS = {"create": "green", "update": "blue", "ship": "cyan", "delete": "red",
                 "password": "orange", "revoke": "orange", "sign_in_failed": "amber",
                 "lockout": "red"}


@dataclasses.dataclass
class HistoryRow:
    at: str
    username: str
    action: str
    color: str
    summary: str
    changes: list[list[str]]  # [field, before, after]


def history_rows(entries: list[EntryText]) -> list[HistoryRow]:
    """`changes.history`'s entries as the panel's rows."""
    return [
        HistoryRow(at=e.at, username=e.username, action=e.action,
                   color=ACTION_COLORS.get(e.action, "gray"), summary=e.summary,
                   changes=[[c.label, c.before or EMPTY, c.after or EMPTY] for c in e.changes])
        for e in entries
    ]


def changes_table(changes) -> rx.Component:
    return rx.table.root(
        rx.table.body(rx.foreach(changes, lambda c: rx.table.row(
            rx.table.cell(c[0], color=rx.color("gray", 11)),
            rx.table.cell(c[1], text_decoration="line-through", color=rx.color("gray", 10)),
            rx.table.cell("→"),
            rx.table.cell(c[2], weight="medium"),
        ))),
        size="1", variant="ghost", width="100%",
    )


def history_entry(row) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(row.action, color_scheme=row.color),
            rx.text(row.username, weight="medium", data_testid="history-user"),
            rx.text(row.at, size="2", color=rx.color("gray", 11)),
            align="center", spacing="2",
        ),
        rx.cond(row.changes.length() > 0, changes_table(row.changes),
                rx.text(row.summary, size="2")),
        spacing="1", width="100%", data_testid="history-entry",
        padding_bottom="0.75em", border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def history_panel(rows, *, title: str = "History") -> rx.Component:
    """`rows`: a state var holding list[HistoryRow], newest first."""
    return rx.card(
        rx.vstack(
            rx.text(title, weight="bold"),
            rx.cond(rows.length() > 0,
                    rx.vstack(rx.foreach(rows, history_entry), width="100%", spacing="3"),
                    rx.text("No recorded changes.", size="2", color=rx.color("gray", 11))),
            width="100%", spacing="3",
        ),
        width="100%", data_testid="history",
    )
