"""/api/users: accounts (admins), passwords, and a user's API tokens.

Admins (users.manage) list, create and change accounts, reset passwords and see anyone's
tokens. Everyone may read their own account, change their own password (sending the current
one) and list their own tokens here; `services.users` decides each case, this module only maps
HTTP onto it. No answer ever contains a password or a password hash.

Like `routing.py`, no ``from __future__ import annotations``: FastAPI reads the annotations.
"""

import datetime as dt
from typing import Annotated, Literal

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from northwind_app.api.account import TokenOut, token_views
from northwind_app.api.deps import DbSession, WriteSession
from northwind_app.api.errors import describe_pattern, error_responses
from northwind_app.api.routing import add_list_route, resource_router
from northwind_app.api.schemas import (
    BODY_CONFIG, STORABLE_TEXT, RowIdPath, list_query, partial_model,
)
from northwind_app.api.security import CurrentActor, SelfOrPermission, actor_with
from northwind_app.services import users
from northwind_app.services.auth import (
    MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLE_DESCRIPTIONS, ROLES, Actor, Permission,
)
from northwind_app.services.validation import MAX_INT

PREFIX = "/api/users"
# services.auth.USERNAME_PATTERN, before lowercasing.
USERNAME_PATTERN = describe_pattern(
    r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$",
    "must be 3-64 characters: letters, digits, '.', '_', '-', '@', starting with a letter or "
    "digit")
Role = Literal[tuple(ROLES)]  # type: ignore[valid-type]
# The service checks a password's length (with its other rules, all named at once).
PASSWORD_LENGTH = {"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH}
ROLE_HELP = "; ".join(f"{role}: {text}" for role, text in ROLE_DESCRIPTIONS.items())


class UserOut(BaseModel):
    user_id: int = Field(examples=[2])
    username: str = Field(examples=["sales"])
    full_name: str = Field(examples=["Margaret Peacock"])
    role: Role = Field(description=ROLE_HELP)
    active: bool = Field(description="false: deactivated, cannot sign in or use tokens.")
    employee_id: int | None = Field(description="The Northwind employee this account is.",
                                    examples=[4])
    employee_name: str | None = Field(examples=["Margaret Peacock"])
    last_login_at: dt.datetime | None = Field(description="Last sign-in on the screens.")
    created_at: dt.datetime


class UserFields(BaseModel):
    """The fields of an account an admin may change."""

    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"role": "sales", "full_name": "Margaret Peacock", "employee_id": 4, "active": True}]})

    role: Role = Field(description=ROLE_HELP)
    full_name: str = Field("", max_length=100, pattern=STORABLE_TEXT,
                           description="At most 100 characters.")
    employee_id: int | None = Field(None, ge=1, le=MAX_INT, description=(
        "An existing employee (new orders by this user default to them), or null."))
    active: bool = Field(True, description="false deactivates the account: it is signed out "
                                           "everywhere and its tokens stop working.")


class NewUser(UserFields):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"username": "mpeacock", "password": "a long passphrase", "role": "sales",
         "full_name": "Margaret Peacock", "employee_id": 4}]})

    username: str = Field(pattern=USERNAME_PATTERN, description=(
        "3-64 characters: letters, digits, '.', '_', '-', '@', starting with a letter or digit "
        "(stored lowercase); unique."))
    password: str = Field(json_schema_extra=PASSWORD_LENGTH, description=(
        f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not the username."))


UserChanges = partial_model(UserFields, "UserChanges", {"role": "viewer", "active": False})


class PasswordChange(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"current_password": "the old one", "new_password": "a new long passphrase"}]})

    new_password: str = Field(json_schema_extra=PASSWORD_LENGTH, description=(
        f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not the username."))
    current_password: str | None = Field(None, description=(
        "Required to change your own password (an admin resetting someone else's sends only "
        "new_password)."))


router = resource_router(PREFIX, "users")
Admin = actor_with(Permission.MANAGE_USERS)
# Your own account, or anyone's as an admin: refused (403) before the body is read.
SelfOrAdmin = Annotated[Actor, Depends(SelfOrPermission(Permission.MANAGE_USERS))]

add_list_route(
    router, plural="users", item=UserOut, page=users.list_users,
    permission=Permission.MANAGE_USERS, summary="List user accounts (admins)",
    query=list_query("User", users.USERS, "username and full name",
                     role=(Role | None, Field(None, description="Accounts with this role.")),
                     active=(bool | None, Field(None, description="true: active accounts; "
                                                                  "false: deactivated ones."))),
)


@router.get("/{id}", response_model=UserOut, name="get_user",
            summary="Get one account (your own, or anyone's as an admin)",
            responses=error_responses(403, 404, 422))
def get_user(actor: CurrentActor, id: RowIdPath, session: DbSession):  # noqa: A002
    return users.get_user(session, actor, id)


@router.post("", response_model=UserOut, status_code=201, name="create_user",
             summary="Create an account (admins)", responses=error_responses(400, 403, 422))
def create_user(actor: Admin, body: NewUser, response: Response, session: WriteSession):
    created = users.create_user(session, actor, body.model_dump(exclude_unset=True))
    response.headers["Location"] = f"{PREFIX}/{created['user_id']}"
    return created


@router.patch("/{id}", response_model=UserOut, name="update_user",
              summary="Change an account's role, name, employee or active flag (admins; the "
                      "last active admin stays one)",
              responses=error_responses(400, 403, 404, 409, 422))
def update_user(actor: Admin, id: RowIdPath, body: UserChanges,  # noqa: A002
                session: WriteSession):
    return users.update_user(session, actor, id, body.model_dump(exclude_unset=True))


@router.put("/{id}/password", status_code=204, response_class=Response, name="set_password",
            summary="Set a password: your own (with current_password) or, as an admin, "
                    "anyone's; signs the user out of every browser",
            responses=error_responses(400, 403, 404, 422))
def set_password(actor: SelfOrAdmin, id: RowIdPath, body: PasswordChange,  # noqa: A002
                 session: WriteSession):
    users.set_password(session, actor, id, body.new_password, body.current_password)
    return Response(status_code=204)


@router.get("/{id}/tokens", response_model=list[TokenOut], name="list_user_tokens",
            summary="A user's API tokens, newest first (yours, or anyone's as an admin)",
            responses=error_responses(403, 404, 422))
def list_user_tokens(actor: CurrentActor, id: RowIdPath, session: DbSession):  # noqa: A002
    users.get_user(session, actor, id)  # 404 for an unknown user; 403 for someone else's
    return token_views(users.list_api_tokens(session, actor, id))
