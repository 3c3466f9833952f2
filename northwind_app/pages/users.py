"""User accounts, for admins: /users (the shared table), /users/new and /users/<id> (edit,
deactivate, reset the password, the user's API tokens and the account's history).

Every state here `requires(Permission.MANAGE_USERS)`, so the auth middleware refuses their
events to anyone else, and the pages show `forbidden()` instead; the services check the same
permission again on every read and write (`users.list_users(session, actor, …)`, …). Errors
the services raise (a field's Invalid, the last admin's Conflict) are shown next to
the field and in a callout; each save is one transaction, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from northwind_app.pages.account import (
    CredentialsState, error_callout, form_field, loading_or, password_form, profile_dict,
    profile_items, token_rows, tokens_card,
)
from northwind_app.services import changes, users
from northwind_app.services import orders as order_service
from northwind_app.services.auth import ROLE_DESCRIPTIONS, ROLES, Actor, Permission
from northwind_app.services.errors import NotFound, ServiceError
from northwind_app.ui import backend
from northwind_app.ui.auth import AuthState, actor_of, requires
from northwind_app.ui.breadcrumbs import breadcrumbs, list_href
from northwind_app.ui.entity_list import EntityList, list_state, path_part
from northwind_app.ui.history import HistoryRow, history_panel, history_rows
from northwind_app.ui.layout import forbidden, page, grid_columns
from northwind_app.ui.widgets import link_button
from northwind_app.ui.table import Column, data_table, filter_select

NO_EMPLOYEE = "none"  # a select item cannot have an empty value
FORBIDDEN = "Only admins may manage user accounts."


# --- the list ----------------------------------------------------------------------------------

def user_row(r: dict[str, Any]) -> dict[str, str]:
    return {**profile_dict(r), "href": f"/users/{r['user_id']}"}


USER_COLUMNS = [
    Column("username", "Username", sort="username", link="href"),
    Column("full_name", "Name", sort="full_name"),
    Column("role", "Role", sort="role", badge="role_color"),
    Column("employee", "Employee", link="employee_href"),
    Column("active", "Status", badge="active_color"),
    Column("last_login", "Last sign-in", sort="last_login_at"),
]
USERS_LIST = EntityList("users", "/users", users.USERS, USER_COLUMNS, user_row, ("role", "active"),
                        fetch=users.list_users, topics=("users",))
UsersListState = requires(Permission.MANAGE_USERS)(list_state(USERS_LIST))
ROLE_FILTER = [(role, role.title()) for role in ROLES]
ACTIVE_FILTER = [("true", "Active"), ("false", "Deactivated")]


def users_page() -> rx.Component:
    s = UsersListState
    return page("Users", rx.cond(
        AuthState.can_manage_users,
        data_table(
            s, USER_COLUMNS, search_placeholder="Username or name",
            filters=[filter_select(s, "role", "Role", ROLE_FILTER, width="9em"),
                     filter_select(s, "active", "Status", ACTIVE_FILTER, width="9em")],
            actions=[link_button(rx.icon("user-plus", size=16), "New user",
                                 href="/users/new", data_testid="new-user",
                                 data_shortcut="new")],
            empty_text="No users match."),
        forbidden(FORBIDDEN)))


# --- the account fields, shared by the new-user and edit forms --------------------------------

def _employee_options(session: Session) -> list[list[str]]:
    choices = order_service.employee_choices(session)
    return [[NO_EMPLOYEE, "Not linked"], *[[c.value, c.label] for c in choices]]


@requires(Permission.MANAGE_USERS)
class UserOptions(rx.State):
    """Employees an account can be linked to (loaded once per tab). The forms' loads ask for
    it, so a page has one on_load event: a refused role gets one message, not one per state."""

    employees: list[list[str]] = []

    @rx.event
    async def load(self):
        if not self.employees:
            try:
                self.employees = await backend.load(self, _employee_options)
            except ServiceError:  # a server problem: logged, or the outage banner raised
                pass


class UserFieldsState(rx.State, mixin=True):
    """Form values (strings, never passwords) and the errors the services named."""

    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False

    @rx.event
    def set_value(self, key: str, value: str | bool):
        self.values = {**self.values, key: str(value).lower() if isinstance(value, bool) else value}
        self.errors = {k: v for k, v in self.errors.items() if k != key}

    def _account_data(self) -> dict[str, Any]:
        employee = self.values.get("employee_id", NO_EMPLOYEE)
        return {"full_name": self.values.get("full_name", ""), "role": self.values.get("role"),
                "employee_id": None if employee == NO_EMPLOYEE else employee}

    async def _write(self, write: Callable[..., dict[str, Any]], *args: Any) -> int | None:
        """`write(session, actor, *args)` (a users service returning the account) in one
        transaction: the account's user id, or None after showing why it failed (next to the
        fields and in the form's callout)."""
        try:
            actor = await actor_of(self)
            return (await backend.write(self, write, actor, *args))["user_id"]
        except ServiceError as exc:
            self.errors = exc.fields
            self.form_error = backend.form_message(exc)
        finally:
            self.saving = False
        return None


def _select(state: type[UserFieldsState], key: str, options, label: str) -> rx.Component:
    items = (rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))
             if isinstance(options, rx.Var) else
             [rx.select.item(label, value=value) for value, label in options])
    return rx.select.root(
        rx.select.trigger(width="100%", data_testid=f"input-{key}", aria_label=label),
        rx.select.content(items),
        value=state.values[key], on_change=lambda v: state.set_value(key, v))


def _text(state: type[UserFieldsState], key: str, label: str, **props) -> rx.Component:
    return form_field(label, key, state.errors, control=rx.input(
        value=state.values[key], on_change=lambda v: state.set_value(key, v), name=key,
        width="100%", aria_label=label, data_testid=f"input-{key}",
        color_scheme=rx.cond(state.errors.contains(key), "red", "gray"), **props))


ROLE_OPTIONS = [(role, f"{role} — {ROLE_DESCRIPTIONS[role]}") for role in ROLES]


def account_fields(state: type[UserFieldsState]) -> list[rx.Component]:
    """Full name, role and employee link."""
    return [
        _text(state, "full_name", "Full name"),
        form_field("Role", "role", state.errors, control=_select(state, "role", ROLE_OPTIONS, "Role")),
        form_field("Employee", "employee_id", state.errors,
                   control=_select(state, "employee_id", UserOptions.employees,
                                          "Employee")),
    ]


def admin_page(title: str, body: rx.Component) -> rx.Component:
    return page(title, rx.cond(AuthState.can_manage_users, body, forbidden(FORBIDDEN)))


# --- /users/new --------------------------------------------------------------------------------

@requires(Permission.MANAGE_USERS)
class NewUserState(UserFieldsState, rx.State):
    @rx.event
    def load(self):
        self.values = {"username": "", "full_name": "", "role": "viewer",
                       "employee_id": NO_EMPLOYEE}
        self.errors, self.form_error, self.saving = {}, "", False
        return UserOptions.load

    @rx.event
    async def submit(self, form: dict):
        """`form` brings the passwords (never kept in the state); the rest is in `values`."""
        self.errors, self.form_error = {}, ""
        password = str(form.get("password", ""))
        if password and form.get("repeat_password", "") != password:
            self.errors = {"repeat_password": "does not match the password"}
            return
        self.saving = True
        yield
        data = {**self._account_data(), "username": self.values.get("username", ""),
                "password": password}
        user_id = await self._write(users.create_user, data)
        if user_id is None:
            return
        yield rx.toast.success(f"User {data['username'].strip().lower()} created.")
        yield rx.redirect(f"/users/{user_id}")


def new_user_page() -> rx.Component:
    s = NewUserState
    body = rx.form(
        rx.vstack(
            rx.heading("New user", size="5", data_testid="form-heading"),
            error_callout(s.form_error, "form-error"),
            rx.grid(
                _text(s, "username", "Username", auto_complete="off"),
                *account_fields(s),
                form_field("Password", "password", s.errors, type="password",
                           auto_complete="new-password"),
                form_field("Repeat the password", "repeat_password", s.errors, type="password",
                           auto_complete="new-password"),
                columns=grid_columns(3), spacing="4", width="100%"),
            rx.hstack(
                link_button("Cancel", href="/users", variant="soft", color_scheme="gray"),
                rx.button("Create user", type="submit", loading=s.saving, data_testid="save-user"),
                justify="end", width="100%", spacing="3"),
            width="100%", spacing="4"),
        on_submit=s.submit,
        reset_on_submit=False,
    )
    users_list = list_href(UsersListState, "/users")
    return admin_page("Users", rx.fragment(
        breadcrumbs(("Users", users_list), ("New user", None), back=users_list), body))


# --- /users/<id> -------------------------------------------------------------------------------

def _load_user(session: Session, actor: Actor, user_id: int) -> dict[str, Any]:
    user = users.get_user(session, actor, user_id)
    return {"user": user, "tokens": token_rows(users.list_api_tokens(session, actor, user_id)),
            "history": history_rows(changes.history(session, "user", user_id))}


@requires(Permission.MANAGE_USERS)
class UserDetailState(CredentialsState, UserFieldsState, rx.State):
    """One account: its details, the edit form, password reset, tokens and history."""

    record: dict[str, str] = {}
    history: list[HistoryRow] = []
    requested_id: str = ""
    not_found: bool = False
    loading: bool = True
    error: str = ""

    @rx.event
    async def load(self):
        self.requested_id = path_part(self.router.url.path, 1)
        self.loading, self.not_found, self.error = True, False, ""
        self.errors, self.form_error, self.saving = {}, "", False
        self._reset_credentials(self.requested_id)
        yield UserOptions.load
        try:
            if not self.requested_id.isdigit():
                raise NotFound("not a user id")
            actor = await actor_of(self)
            data = await backend.load(self, _load_user, actor, int(self.requested_id))
        except NotFound:
            self.not_found, self.record = True, {}
        except ServiceError:  # a server problem (logged, or the outage banner), signed out
            self.error = "This user could not be loaded. Try again."
        else:
            user = data["user"]
            self.record, self.tokens, self.history = (profile_dict(user), data["tokens"],
                                                      data["history"])
            self.values = {"full_name": user["full_name"] or "", "role": user["role"],
                           "employee_id": str(user["employee_id"] or NO_EMPLOYEE),
                           "active": "true" if user["active"] else "false"}
        finally:
            self.loading = False

    @rx.event
    async def save(self):
        self.saving, self.errors, self.form_error = True, {}, ""
        yield
        user_id = int(self.owner_id)
        changes = {**self._account_data(), "active": self.values.get("active") == "true"}
        if await self._write(users.update_user, user_id, changes) is None:
            return
        yield rx.toast.success(f"User {self.record.get('username', '')} saved.")
        yield UserDetailState.load


def _edit_card() -> rx.Component:
    s = UserDetailState
    return rx.card(rx.vstack(
        rx.heading("Edit", size="4"),
        error_callout(s.form_error, "form-error"),
        *account_fields(s),
        rx.vstack(
            rx.text("Active", size="2", weight="medium"),
            rx.hstack(rx.switch(checked=s.values["active"] == "true",
                                on_change=lambda v: s.set_value("active", v),
                                data_testid="input-active", aria_label="Active"),
                      rx.text("May sign in and use API tokens", size="2"), spacing="2"),
            rx.text("Deactivating or changing the role signs the user out everywhere.",
                    size="1", color=rx.color("gray", 11)),
            rx.cond(s.errors.contains("active"),
                    rx.text(s.errors["active"], color_scheme="red", size="1", data_testid="error-active")),
            spacing="1"),
        rx.button("Save changes", on_click=s.save, loading=s.saving, data_testid="save-user"),
        spacing="3", width="100%"), width="100%", data_testid="edit-user")


def user_detail_page() -> rx.Component:
    s = UserDetailState
    r = s.record
    body = rx.vstack(
        rx.hstack(
            rx.heading(r["username"], size="5", data_testid="record-heading"),
            rx.badge(r["role"], color_scheme=r["role_color"], size="2",
                     data_testid="user-role-badge"),
            rx.badge(r["active"], color_scheme=r["active_color"], size="2",
                     data_testid="user-active-badge"),
            rx.spacer(),
            rx.link("All users", href="/users"),
            align="center", spacing="3", width="100%"),
        rx.grid(
            rx.card(rx.grid(*profile_items(r), columns="2", spacing="4", width="100%"),
                    data_testid="profile"),
            _edit_card(),
            rx.card(rx.vstack(rx.heading("Reset password", size="4"),
                              rx.text("Sets a new password and signs the user out everywhere.",
                                      size="2", color=rx.color("gray", 11)),
                              password_form(s, ask_current=False, submit_label="Set password"),
                              spacing="3", width="100%"),
                    data_testid="reset-password"),
            columns=grid_columns(3), spacing="4", width="100%"),
        tokens_card(s, "API tokens"),
        history_panel(s.history, title="Changes to this account"),
        width="100%", spacing="4")
    not_found = rx.center(
        rx.vstack(rx.icon("search-x", size=40, color=rx.color("gray", 9)),
                  rx.heading("User not found", size="5"),
                  rx.text("There is no user ", rx.code(s.requested_id), "."),
                  rx.link("Back to users", href="/users"),
                  align="center", data_testid="record-not-found"),
        padding="4em", width="100%")
    users_list = list_href(UsersListState, "/users")
    return admin_page("User", rx.fragment(
        breadcrumbs(("Users", users_list), (s.requested_id, None), back=users_list),
        rx.cond(s.not_found, not_found, loading_or(s.loading, s.error, body))))

