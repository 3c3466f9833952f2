"""A record's change history (from the audit trail) as a card: who, when, what changed
(before → after per field). Used by the order, customer and product detail pages."""

from __future__ import annotations

import dataclasses

import reflex as rx

from northwind_app.services.audit import AuditView

ACTION_COLORS = {"create": "green", "update": "blue", "ship": "cyan", "delete": "red",
                 "password": "orange", "revoke": "orange", "sign_in_failed": "amber",
                 "lockout": "red"}
EMPTY = "—"


@dataclasses.dataclass
class HistoryRow:
    at: str
    username: str
    action: str
    color: str
    summary: str
    changes: list[list[str]]  # [field, before, after]


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def history_rows(views: list[AuditView]) -> list[HistoryRow]:
    return [
        HistoryRow(at=when(v.at), username=v.username, action=v.action,
                   color=ACTION_COLORS.get(v.action, "gray"), summary=v.summary,
                   changes=[[name, before if before is not None else EMPTY,
                             after if after is not None else EMPTY]
                            for name, (before, after) in v.changes.items()])
        for v in views
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
