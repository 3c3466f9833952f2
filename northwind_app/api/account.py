"""The caller's own account: /api/me and their personal API tokens (/api/tokens).

Every signed-in user, whatever their role, may see who they are and create, list and revoke
their own tokens; a new token is shown once, in the answer that creates it, and is stored only
as a keyed digest (see services/auth.py). Admins manage other people's tokens under
/api/users/{id}/tokens and may revoke any token here.

Like `routing.py`, no ``from __future__ import annotations``: FastAPI reads the annotations.
"""

import datetime as dt
from typing import Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from northwind_app.api.deps import DbSession, WriteSession
from northwind_app.api.errors import error_responses
from northwind_app.api.routing import resource_router
from northwind_app.api.schemas import BODY_CONFIG, REQUIRED_TEXT, RowIdPath
from northwind_app.api.security import CurrentActor
from northwind_app import formats
from northwind_app.services import users
from northwind_app.services.auth import ROLES, Permission


PermissionName = Literal[tuple(p.value for p in Permission)]  # type: ignore[valid-type]
NumberFormatName = Literal[formats.CODES]  # type: ignore[valid-type]
NUMBER_FORMAT_HELP = ("How the screens show and read numbers and dates for you: "
                      + ", ".join(f"{code} ({f.example})" for code, f in formats.FORMATS.items())
                      + ".")


class MeOut(BaseModel):
    user_id: int = Field(examples=[2])
    username: str = Field(examples=["sales"])
    full_name: str = Field(examples=["Margaret Peacock"])
    role: Literal[tuple(ROLES)] = Field(examples=["sales"])  # type: ignore[valid-type]
    employee_id: int | None = Field(description="The Northwind employee this account is; new "
                                                "orders default to them.", examples=[4])
    permissions: list[PermissionName] = Field(
        description="What the role allows: orders.write, records.write (customers and "
                    "products), users.manage, audit.view.",
        examples=[["orders.write", "records.write"]])
    number_format: NumberFormatName = Field(
        description=NUMBER_FORMAT_HELP + " The API itself is not affected: it always sends and "
                    "takes plain decimals (\"1234.50\").", examples=["en"])


class MeChanges(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"number_format": "de"}]})

    number_format: NumberFormatName = Field(description=NUMBER_FORMAT_HELP)


class TokenOut(BaseModel):
    """An API token's description (never the token itself)."""

    model_config = ConfigDict(from_attributes=True)

    token_id: int = Field(examples=[3])
    user_id: int = Field(examples=[2])
    username: str = Field(examples=["sales"])
    name: str = Field(description="What the token is for.", examples=["nightly export"])
    prefix: str = Field(description="The token's first characters, to recognise it.",
                        examples=["nwt_Xq3v9Kd2"])
    created_at: dt.datetime
    expires_at: dt.datetime | None = Field(description="null: never expires.")
    last_used_at: dt.datetime | None = Field(description="Updated at most every 5 minutes.")
    revoked_at: dt.datetime | None
    state: Literal["active", "expired", "revoked"]


class NewTokenOut(TokenOut):
    token: str = Field(description="The token. It is shown only in this answer: keep it now.",
                       examples=["nwt_Xq3v9Kd2…"])


class NewToken(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [
        {"name": "nightly export", "expires_days": 90}]})

    name: str = Field(max_length=60, pattern=REQUIRED_TEXT,
                      description="What the token is for (not blank).")
    expires_days: int | None = Field(None, ge=1, le=users.MAX_TOKEN_DAYS, description=(
        f"Days until it expires (1-{users.MAX_TOKEN_DAYS}); left out or null: never."))


def token_views(views: list[users.TokenView]) -> list[TokenOut]:
    return [TokenOut.model_validate(view) for view in views]


router = resource_router("/api", "account")


@router.get("/me", response_model=MeOut, name="get_me",
            summary="Who you are: your account, role and permissions")
async def get_me(actor: CurrentActor):
    return _me(actor)


def _me(actor) -> MeOut:
    return MeOut(user_id=actor.user_id, username=actor.username, full_name=actor.full_name,
                 role=actor.role, employee_id=actor.employee_id,
                 permissions=sorted(permission.value for permission in actor.permissions),
                 number_format=actor.number_format)


@router.patch("/me", response_model=MeOut, name="update_me",
              summary="Change your own settings: the number and date format of the screens",
              responses=error_responses(400, 422))
def update_me(actor: CurrentActor, body: MeChanges, session: WriteSession):
    return _me(users.set_number_format(session, actor, actor.user_id, body.number_format))


@router.get("/tokens", response_model=list[TokenOut], name="list_my_tokens",
            summary="Your API tokens, newest first (never the tokens themselves)")
def list_my_tokens(actor: CurrentActor, session: DbSession):
    return token_views(users.list_api_tokens(session, actor, actor.user_id))


@router.post("/tokens", response_model=NewTokenOut, status_code=201, name="create_my_token",
             summary="Create an API token for yourself (the token is shown only in this answer)",
             responses=error_responses(400, 422))
def create_my_token(actor: CurrentActor, body: NewToken, session: WriteSession):
    token, view = users.create_api_token(session, actor, actor.user_id, body.name,
                                         body.expires_days)
    return NewTokenOut(token=token, **TokenOut.model_validate(view).model_dump())


@router.delete("/tokens/{id}", status_code=204, response_class=Response, name="revoke_token",
               summary="Revoke an API token (yours; anyone's as an admin); it stops working "
                       "at once", responses=error_responses(404, 422))
def revoke_token(actor: CurrentActor, id: RowIdPath, session: WriteSession):  # noqa: A002
    users.revoke_api_token(session, actor, id)
    return Response(status_code=204)
