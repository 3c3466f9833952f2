"""The audit trail (/audit, admins): every change to orders, customers, products, users and
API tokens, newest first, on the shared paginated table, with its filters in the URL.

The rows come from `audit.list_audit(session, actor, params)`, which checks the permission
itself; the state also `requires` it so the middleware refuses its events to other roles.
A row links to the changed record's page where there is one, and shows the changed fields as
"Field: before → after" in the user's words (services/changes.py: labels, names for ids,
their number format; times in their time zone), the first few at once and the rest behind
"+N more".
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx
from sqlmodel import Session

from northwind_app.services import audit, changes
from northwind_app.services.changes import EntryText, change_line
from northwind_app.services.auth import Permission
from northwind_app.services.errors import ServiceError
from northwind_app.ui import backend
from northwind_app.ui.auth import AuthState, requires
from northwind_app.ui.entity_list import EntityList, list_state
from northwind_app.ui.history import ACTION_COLORS
from northwind_app.ui.layout import forbidden, page
from northwind_app.ui.table import Column, data_table, filter_date, filter_select, filter_text

# Where each kind of record has its page (API tokens have none: they show on their user's).
RECORD_ROUTES = {"order": "/orders", "customer": "/customers", "product": "/products",
                 "user": "/users"}
SHOWN_CHANGES = 3  # changed fields shown at once; the rest behind "+N more"


def audit_row(entry: EntryText) -> dict[str, str]:
    lines = [change_line(change) for change in entry.changes]
    route = RECORD_ROUTES.get(entry.entity)
    hidden = len(lines) - SHOWN_CHANGES
    return {"audit_id": str(entry.audit_id), "at": entry.at, "username": entry.username,
            "action": entry.action, "action_color": ACTION_COLORS.get(entry.action, "gray"),
            "entity": entry.entity, "key": entry.entity_key,
            "href": f"{route}/{quote(entry.entity_key, safe='')}" if route else "",
            "summary": entry.summary,
            "changes": "\n".join(lines[:SHOWN_CHANGES]),
            "more_changes": "\n".join(lines[SHOWN_CHANGES:]),
            "more_label": f"+{hidden} more" if hidden > 0 else ""}


def _record_cell(row) -> rx.Component:
    return rx.hstack(
        rx.badge(row["entity"], variant="outline", color_scheme="gray"),
        rx.cond(row["href"] != "",
                rx.link(row["key"], href=row["href"], data_testid="audit-record"),
                rx.text(row["key"], data_testid="audit-record")),
        spacing="2", align="center")


def _summary_cell(row) -> rx.Component:
    return rx.text(row["summary"], size="2", white_space="normal", min_width="10em",
                   max_width="22em")


def _changes_cell(row) -> rx.Component:
    return rx.vstack(
        rx.text(row["changes"], size="1", white_space="pre-line", data_testid="audit-changes"),
        rx.cond(row["more_label"] != "", rx.el.details(
            rx.el.summary(row["more_label"], cursor="pointer", data_testid="audit-more"),
            rx.text(row["more_changes"], size="1", white_space="pre-line",
                    data_testid="audit-more-changes"))),
        spacing="1", min_width="16em", max_width="34em", white_space="normal")


AUDIT_COLUMNS = [
    Column("at", "When", sort="at"),
    Column("username", "Who", sort="username"),
    Column("action", "Action", sort="action", badge="action_color"),
    Column("key", "Record", sort="entity", render=_record_cell),
    Column("summary", "Summary", render=_summary_cell),
    Column("changes", "Changes (before → after)", render=_changes_cell),
]
AUDIT_LIST = EntityList("audit", "/audit", audit.AUDIT, AUDIT_COLUMNS, audit_row,
                        ("entity", "action", "username", "key", "date_from", "date_to"),
                        fetch=changes.list_audit, default_sort_text="time, newest first")
AuditListState = requires(Permission.VIEW_AUDIT)(list_state(AUDIT_LIST))


def _usernames(session: Session) -> list[list[str]]:
    return [[name, name] for name in audit.usernames(session)]


@requires(Permission.VIEW_AUDIT)
class AuditOptions(rx.State):
    """Choices of the user filter: every account (reloaded with the page, accounts change)."""

    usernames: list[list[str]] = []

    @rx.event
    async def load(self):
        """The page's one on_load event (a refused role gets one message, not two): the
        list, then the filter's choices."""
        yield AuditListState.load
        try:
            self.usernames = await backend.load(self, _usernames)
        except ServiceError:  # a server problem: logged, or the outage banner raised
            pass


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ")) for value in values]


def audit_page() -> rx.Component:
    s = AuditListState
    table = data_table(
        s, AUDIT_COLUMNS, search_placeholder="Record key, summary or user",
        filters=[
            filter_select(s, "entity", "Record type", _choices(audit.ENTITIES), width="9em"),
            filter_select(s, "action", "Action", _choices(audit.ACTIONS), width="9em"),
            filter_select(s, "username", "User", AuditOptions.usernames, width="10em"),
            filter_text(s, "key", "Record key", "e.g. 10248"),
            filter_date(s, "date_from", "From (UTC)"),
            filter_date(s, "date_to", "To (UTC)"),
        ],
        empty_text="No changes match these filters.")
    return page("Audit trail", rx.cond(AuthState.can_view_audit, table,
                                       forbidden("Only admins may view the audit trail.")))
