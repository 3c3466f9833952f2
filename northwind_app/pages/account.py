"""The signed-in user's own account (/account): profile, password, personal API tokens.

The credential pieces (password form, token list, create → shown once, revoke with
confirmation) live in `CredentialsState`, a state mixin also used by the admin's user page
(pages/users.py), where they act on the user being viewed instead of the signed-in one. The
services decide who may do what (`users.set_password`, `users.create_api_token`, …).

Passwords never enter the state (which is persisted between events): they arrive with the
form's submit event and go straight to the service. A new API token does stay in the state
while its dialog is open, because it must be shown once; closing the dialog forgets it.

Changing your own password signs out every session of yours (the service does that); this
browser gets a new session in the same transaction, so the user who just proved they know the
current password stays signed in here while every other browser is signed out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import reflex as rx
from sqlmodel import Session

from northwind_app import formats
from northwind_app.services import auth, users
from northwind_app.services.auth import ROLE_DESCRIPTIONS, Actor
from northwind_app.services.errors import ServiceError
from northwind_app.services.users import TokenView
from northwind_app.ui import backend
from northwind_app.ui.auth import AuthState, actor_of
from northwind_app.ui.format import BROWSER_ZONE
from northwind_app.ui.layout import page, grid_columns
from northwind_app.ui.widgets import confirm_delete_dialog

TOKEN_COLORS = {"active": "green", "revoked": "gray", "expired": "orange"}
ROLE_COLORS = {"admin": "crimson", "sales": "blue", "viewer": "gray"}
REPEAT_MISMATCH = "does not match the new password"
PASSWORD_FIELDS = ("current_password", "new_password", "repeat_password")
# The token form's fields, by the service's names for them.
TOKEN_FIELDS = {"name": "token_name", "expires_days": "token_days"}


def when_text(value: dt.datetime | None, empty: str = "never") -> str:
    return formats.time_text(value) if value is not None else empty


def token_rows(views: list[TokenView]) -> list[dict[str, str]]:
    """Tokens as display strings (never the token itself: only its prefix is stored)."""
    return [{"token_id": str(v.token_id), "name": v.name, "prefix": v.prefix + "…",
             "created": when_text(v.created_at), "expires": when_text(v.expires_at),
             "last_used": when_text(v.last_used_at), "state": v.state,
             "state_color": TOKEN_COLORS[v.state]} for v in views]


def profile_dict(user: dict[str, Any]) -> dict[str, str]:
    """A user (users.get_user) as display strings."""
    employee_id = user["employee_id"]
    return {"user_id": str(user["user_id"]), "username": user["username"],
            "full_name": user["full_name"] or "", "role": user["role"],
            "role_color": ROLE_COLORS.get(user["role"], "gray"),
            "role_description": ROLE_DESCRIPTIONS.get(user["role"], ""),
            "employee": user["employee_name"] or "",
            "employee_href": f"/employees/{employee_id}" if employee_id else "",
            "active": "Active" if user["active"] else "Deactivated",
            "active_color": "green" if user["active"] else "red",
            "last_login": when_text(user["last_login_at"]),
            "created": when_text(user["created_at"])}


def _tokens(session: Session, actor: Actor, user_id: int) -> list[dict[str, str]]:
    return token_rows(users.list_api_tokens(session, actor, user_id))


def _create_token(session: Session, actor: Actor, user_id: int, name: str, days: str) -> str:
    """The new token itself (shown once); an empty number of days: it never expires."""
    token, _view = users.create_api_token(session, actor, user_id, name, days.strip() or None)
    return token


class CredentialsState(rx.State, mixin=True):
    """Password and API tokens of one user (`owner_id`): yourself on /account, anyone on an
    admin's /users/<id>. The password form sends the current password only where it asks for
    it (/account); the service then insists on it, even for an admin."""

    owner_id: str = ""
    tokens: list[dict[str, str]] = []
    token_errors: dict[str, str] = {}
    token_error: str = ""
    new_token: str = ""  # shown once in a dialog, forgotten when it closes
    new_token_name: str = ""
    revoke_id: str = ""
    revoke_name: str = ""
    revoke_error: str = ""
    password_errors: dict[str, str] = {}
    password_error: str = ""
    password_done: str = ""
    busy: bool = False

    async def _reload_tokens(self, actor: Actor) -> None:
        self.tokens = await backend.read(self, _tokens, actor, int(self.owner_id))

    def _reset_credentials(self, owner_id: str) -> None:
        self.owner_id = owner_id
        self.tokens, self.token_errors, self.token_error = [], {}, ""
        self.new_token = self.new_token_name = ""
        self.revoke_id = self.revoke_name = self.revoke_error = ""
        self.password_errors, self.password_error, self.password_done = {}, "", ""
        self.busy = False

    # -- tokens ------------------------------------------------------------------------------
    @rx.event
    async def create_token(self, form: dict):
        self.token_errors, self.token_error = {}, ""
        name, days = str(form.get("token_name", "")), str(form.get("token_days", ""))
        try:
            actor = await actor_of(self)
            token = await backend.write(self, _create_token, actor, int(self.owner_id), name,
                                        days)
            await self._reload_tokens(actor)
        except ServiceError as exc:
            self.token_errors, self.token_error = backend.form_errors(exc, TOKEN_FIELDS)
            return
        self.new_token, self.new_token_name = token, name.strip()
        yield [rx.set_value("token_name", ""), rx.set_value("token_days", "")]

    @rx.event
    def close_new_token(self, open_: bool = False):
        if not open_:
            self.new_token = self.new_token_name = ""

    @rx.event
    def ask_revoke(self, token_id: str, name: str):
        self.revoke_id, self.revoke_name, self.revoke_error = token_id, name, ""

    @rx.event
    def set_revoke_open(self, open_: bool):
        if not open_:
            self.revoke_id = self.revoke_name = self.revoke_error = ""

    @rx.event
    async def confirm_revoke(self):
        name = self.revoke_name
        try:
            actor = await actor_of(self)
            await backend.write(self, users.revoke_api_token, actor, int(self.revoke_id))
            await self._reload_tokens(actor)
        except ServiceError as exc:
            self.revoke_error = exc.message
            return
        self.revoke_id = self.revoke_name = ""
        yield rx.toast.success(f"Token {name!r} revoked; it no longer works.")

    # -- password ----------------------------------------------------------------------------
    @rx.event
    async def submit_password(self, form: dict):
        self.password_errors, self.password_error, self.password_done = {}, "", ""
        new = str(form.get("new_password", ""))
        current = str(form.get("current_password", "")) if "current_password" in form else None
        if new and form.get("repeat_password", "") != new:
            self.password_errors = {"repeat_password": REPEAT_MISMATCH}
            return
        self.busy = True
        yield
        try:
            actor = await actor_of(self)
            token = await backend.write(self, users.set_password_here, actor,
                                        int(self.owner_id), new, current)
        except ServiceError as exc:
            self.password_errors, self.password_error = backend.form_errors(exc)
            self.busy = False
            return
        events = [rx.set_value(name, "") for name in PASSWORD_FIELDS]
        if token is not None:  # your own: this browser continues on a new session
            events.append((await self.get_state(AuthState))._sign_in(actor, token))
        self.password_done = ("Password changed. Every browser signed in as this user has been "
                              "signed out" + (", except this one." if token else "."))
        self.busy = False
        yield events


# -- components ---------------------------------------------------------------------------------

def field_error(errors, name: str) -> rx.Component:
    return rx.cond(errors.contains(name),
                   rx.text(errors[name], color_scheme="red", size="1", data_testid=f"error-{name}"))


def form_field(label: str, name: str, errors, *, control: rx.Component | None = None,
               **props) -> rx.Component:
    """A labelled input (or `control`) with its error underneath; `name` is the form field
    and the id (for rx.set_value), `errors` a dict Var of field → message."""
    if control is None:
        control = rx.input(id=name, name=name, width="100%", aria_label=label,
                           data_testid=f"input-{name}",
                           color_scheme=rx.cond(errors.contains(name), "red", "gray"), **props)
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, field_error(errors, name),
                     spacing="1", width="100%")


def error_callout(message, testid: str) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="triangle-alert", color_scheme="red",
                                             width="100%", data_testid=testid))


def password_form(state: type[CredentialsState], *, ask_current: bool,
                  submit_label: str) -> rx.Component:
    """New password and its repeat (and the current one when `ask_current`)."""
    errors = state.password_errors
    fields = [("Current password", "current_password", "current-password")] if ask_current else []
    fields += [("New password", "new_password", "new-password"),
               ("Repeat the new password", "repeat_password", "new-password")]
    return rx.form(
        rx.vstack(
            error_callout(state.password_error, "password-error"),
            rx.cond(state.password_done != "",
                    rx.callout(state.password_done, icon="circle-check", color_scheme="green",
                               width="100%", data_testid="password-done")),
            *[form_field(label, name, errors, type="password", auto_complete=complete)
              for label, name, complete in fields],
            rx.text(f"At least {auth.MIN_PASSWORD_LENGTH} characters, not the username.",
                    size="1", color=rx.color("gray", 11)),
            rx.button(submit_label, type="submit", loading=state.busy,
                      data_testid="submit-password"),
            spacing="3", width="100%", max_width="24em",
        ),
        on_submit=state.submit_password,
        reset_on_submit=False,
    )


def new_token_dialog(state: type[CredentialsState]) -> rx.Component:
    """The token just created, shown this once, with a copy button."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("API token ", rx.text.strong(state.new_token_name), " created"),
            rx.vstack(
                rx.callout("Copy the token now. It is not stored and will not be shown again; "
                           "if you lose it, revoke it and create another.",
                           icon="triangle-alert", color_scheme="orange", width="100%"),
                rx.hstack(
                    rx.code(state.new_token, size="3", word_break="break-all",
                            data_testid="new-token"),
                    rx.icon_button(rx.icon("copy", size=16), variant="soft",
                                   on_click=[rx.set_clipboard(state.new_token),
                                             rx.toast.success("Token copied.")],
                                   aria_label="Copy token", data_testid="copy-token"),
                    align="center", spacing="2", width="100%",
                ),
                rx.text("Send it as ", rx.code("Authorization: Bearer <token>"),
                        " to the REST API.", size="2"),
                rx.hstack(
                    rx.dialog.close(rx.button("I have copied it", data_testid="close-token")),
                    justify="end", width="100%",
                ),
                spacing="3",
            ),
        ),
        open=state.new_token != "",
        on_open_change=state.close_new_token,
    )


def _token_row(state: type[CredentialsState], t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(t["name"], data_testid="token-name"),
        rx.table.cell(rx.code(t["prefix"])),
        rx.table.cell(t["created"], white_space="nowrap"),
        rx.table.cell(t["expires"], white_space="nowrap"),
        rx.table.cell(t["last_used"], white_space="nowrap"),
        rx.table.cell(rx.badge(t["state"], color_scheme=t["state_color"],
                               data_testid="token-state")),
        rx.table.cell(rx.cond(
            t["state"] == "active",
            rx.button("Revoke", size="1", variant="soft", color_scheme="red",
                      on_click=state.ask_revoke(t["token_id"], t["name"]),
                      data_testid="revoke-token"))),
        data_testid="token-row",
    )


def tokens_card(state: type[CredentialsState], title: str) -> rx.Component:
    """A user's API tokens: list, revoke (confirmed), create (shown once)."""
    errors = state.token_errors
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4"),
            rx.text("Programs use a token to call the REST API as this user, with this user's "
                    "role. Revoke a token you no longer use.", size="2",
                    color=rx.color("gray", 11)),
            rx.cond(
                state.tokens.length() > 0,
                rx.table.root(
                    rx.table.header(rx.table.row(*[
                        rx.table.column_header_cell(label) for label in
                        ("Name", "Prefix", "Created", "Expires", "Last used", "State", "")])),
                    rx.table.body(rx.foreach(state.tokens, lambda t: _token_row(state, t))),
                    variant="surface", size="1", width="100%",
                ),
                rx.text("No API tokens yet.", size="2", data_testid="no-tokens"),
            ),
            rx.form(
                rx.hstack(
                    rx.box(form_field("New token's name", "token_name", errors,
                                      placeholder="e.g. nightly export"), width="18em"),
                    rx.box(form_field("Expires after (days)", "token_days", errors, type="number",
                                      min=1, placeholder="never"), width="11em"),
                    rx.button(rx.icon("plus", size=16), "Create token", type="submit",
                              data_testid="create-token", margin_top="1.6em"),
                    align="start", spacing="3", wrap="wrap",
                ),
                on_submit=state.create_token,
                reset_on_submit=False,
                width="100%",
            ),
            error_callout(state.token_error, "token-error"),
            new_token_dialog(state),
            confirm_delete_dialog(
                title=rx.fragment("Revoke token ", state.revoke_name, "?"),
                description="Programs using it are refused from now on. This cannot be undone.",
                open_=state.revoke_id != "", on_open_change=state.set_revoke_open,
                on_confirm=state.confirm_revoke, error=state.revoke_error,
                confirm_label="Revoke token"),
            spacing="3", width="100%",
        ),
        width="100%", data_testid="tokens",
    )


def info(label: str, value, testid: str) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color=rx.color("gray", 11)),
                     rx.text(value, size="3", data_testid=testid), spacing="0")


def profile_items(record) -> list[rx.Component]:
    """Username, name, role (with what it may do), employee link, last sign-in."""
    return [
        info("Username", record["username"], "profile-username"),
        info("Name", rx.cond(record["full_name"] != "", record["full_name"], "—"), "profile-name"),
        rx.vstack(
            rx.text("Role", size="1", color=rx.color("gray", 11)),
            rx.badge(record["role"], color_scheme=record["role_color"], size="2",
                     data_testid="profile-role"),
            rx.text(record["role_description"], size="2", data_testid="profile-role-description"),
            spacing="1"),
        rx.vstack(
            rx.text("Employee", size="1", color=rx.color("gray", 11)),
            rx.cond(record["employee_href"] != "",
                    rx.link(record["employee"], href=record["employee_href"],
                            data_testid="profile-employee"),
                    rx.text("Not linked to an employee", size="3", data_testid="profile-employee")),
            spacing="0"),
        info("Last sign-in", record["last_login"], "profile-last-login"),
    ]


def loading_or(state_loading, error, body: rx.Component) -> rx.Component:
    return rx.cond(state_loading, rx.center(rx.spinner(size="3"), padding="3em", width="100%"),
                   rx.cond(error != "", rx.callout(error, color_scheme="red", icon="triangle-alert",
                                                   data_testid="load-error"), body))


# -- /account -----------------------------------------------------------------------------------

def _load_account(session: Session,
                  actor: Actor) -> tuple[dict[str, str], list[dict[str, str]]]:
    user = users.get_user(session, actor, actor.user_id)
    return profile_dict(user), token_rows(users.list_api_tokens(session, actor, actor.user_id))


class AccountState(CredentialsState, rx.State):
    """The signed-in user's own account (any role)."""

    profile: dict[str, str] = {}
    loading: bool = True
    error: str = ""
    number_format: str = ""
    format_error: str = ""
    time_zone: str = ""
    zone_error: str = ""

    @rx.event
    async def load(self):
        self.loading, self.error = True, ""
        yield
        try:
            actor = await actor_of(self)
            self._reset_credentials(str(actor.user_id))
            self.number_format, self.format_error = actor.number_format, ""
            self.time_zone, self.zone_error = actor.time_zone or "", ""
            self.profile, self.tokens = await backend.load(self, _load_account, actor)
        except ServiceError:  # a server problem (logged, or the outage banner) or signed out
            self.error = "Your account could not be loaded. Try again."
        finally:
            self.loading = False

    @rx.event
    async def set_number_format(self, value: str):
        """Your own format (the service checks it is one of formats.FORMATS); the screens
        use it from the next event on."""
        self.format_error = ""
        try:
            actor = await actor_of(self)
            actor = await backend.write(self, users.set_number_format, actor, actor.user_id,
                                        value)
        except ServiceError as exc:
            self.format_error = exc.fields.get("number_format", exc.message)
            return
        auth_state = await self.get_state(AuthState)
        auth_state._apply(actor, auth_state._checked_token)
        formats.use(actor.number_format)
        self.number_format = actor.number_format
        yield rx.toast.success(f"Numbers and dates now look like "
                               f"{formats.get(actor.number_format).example}.")


    @rx.event
    async def set_time_zone(self, value: str):
        """Your own time zone (the service checks it is one this machine knows); the screens
        show times in it from the next event on."""
        self.zone_error = ""
        try:
            actor = await actor_of(self)
            actor = await backend.write(self, users.set_time_zone, actor, actor.user_id, value)
        except ServiceError as exc:
            self.zone_error = exc.fields.get("time_zone", exc.message)
            return
        auth_state = await self.get_state(AuthState)
        auth_state._apply(actor, auth_state._checked_token)
        formats.use_zone(actor.time_zone)
        self.time_zone = actor.time_zone or ""
        # The profile's times, in the new zone.
        self.profile, self.tokens = await backend.load(self, _load_account, actor)
        yield rx.toast.success(f"Times are now shown in {actor.time_zone}.")


def zone_section(s: type[AccountState]) -> rx.Component:
    """The time zone: any IANA zone (a native select: some 600 of them), or this browser's."""
    return section(
        "Time zone",
        rx.text("Times (changes, sign-ins, tokens) are shown in this zone. Your first sign-in "
                "set it to your browser's.", size="2", color=rx.color("gray", 11)),
        rx.hstack(
            rx.el.select(
                rx.cond(s.time_zone == "", rx.el.option("UTC (not chosen yet)", value="")),
                *[rx.el.option(name, value=name) for name in formats.zone_names()],
                value=s.time_zone, on_change=s.set_time_zone, class_name="nw-zone-select",
                aria_label="Time zone", data_testid="input-time_zone",
                style={"padding": "0.35em 0.5em", "border_radius": "var(--radius-2)",
                       "border": f"1px solid {rx.color('gray', 7)}",
                       "background": rx.color("gray", 1), "color": rx.color("gray", 12)}),
            rx.button("Use this browser's zone (", BROWSER_ZONE, ")", variant="soft",
                      on_click=s.set_time_zone(BROWSER_ZONE), data_testid="use-browser-zone"),
            spacing="3", align="center", wrap="wrap"),
        rx.cond(s.zone_error != "", rx.text(s.zone_error, color_scheme="red", size="1",
                                            data_testid="error-time_zone")),
        testid="time-zone")


def format_section(s: type[AccountState]) -> rx.Component:
    return section(
        "Number and date format",
        rx.text("How this app shows amounts, quantities and dates to you, and how it reads the "
                "numbers you type.", size="2", color=rx.color("gray", 11)),
        rx.select.root(
            rx.select.trigger(width="20em", data_testid="input-number_format",
                              aria_label="Number and date format"),
            rx.select.content(*[rx.select.item(f"{f.label} · {formats.date_text(SAMPLE_DATE, f)}",
                                               value=code)
                                for code, f in formats.FORMATS.items()]),
            value=s.number_format, on_change=s.set_number_format),
        rx.cond(s.format_error != "", rx.text(s.format_error, color_scheme="red", size="1",
                                              data_testid="error-number_format")),
        testid="number-format")


SAMPLE_DATE = dt.date(2026, 7, 4)


def section(title: str, *children: rx.Component, testid: str) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"),
                   width="100%", data_testid=testid)


def account_page() -> rx.Component:
    s = AccountState
    body = rx.vstack(
        section("Profile", rx.grid(*profile_items(s.profile), columns=grid_columns(3), spacing="4",
                                   width="100%"), testid="profile"),
        section("Change password",
                rx.text("Changing it signs you out of every other browser.", size="2",
                        color=rx.color("gray", 11)),
                password_form(s, ask_current=True, submit_label="Change password"),
                testid="change-password"),
        format_section(s),
        zone_section(s),
        tokens_card(s, "Personal API tokens"),
        width="100%", spacing="4",
    )
    return page("Account", loading_or(s.loading, s.error, body))

