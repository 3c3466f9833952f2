"""User accounts and personal API tokens: list, create, edit, passwords, tokens.

Admins (Permission.MANAGE_USERS) manage everyone; every user may change their own password
(knowing the current one) and manage their own API tokens. Every change is audited; the
audit never holds a password or a token, only that one was set.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from northwind_app import formats
from northwind_app.db.models import ApiToken, Employee, User
from northwind_app.services import audit, throttle
from northwind_app.services.orders import EMPLOYEE_NAME
from northwind_app.services.auth import (
    API_TOKEN_PREFIX, ROLES, USERNAME_PATTERN, Actor, Permission, authenticate,
    end_user_sessions, hash_password, normalize_username, password_problem, start_session,
    token_cache, token_digest, utcnow, verify_password,
)
from northwind_app.services.errors import Conflict, NotFound, Forbidden, Invalid
from northwind_app.services.listing import Listing, ListParams, Page, row_dict
from northwind_app.services.validation import MAX_INT

USERS = Listing(
    stmt=select(User.user_id, User.username, User.full_name, User.role, User.active,
                User.employee_id, EMPLOYEE_NAME.label("employee_name"), User.last_login_at,
                User.created_at)
    .outerjoin(Employee, Employee.employee_id == User.employee_id),
    sorts={"username": User.username, "full_name": User.full_name, "role": User.role,
           "last_login_at": User.last_login_at, "created_at": User.user_id},
    default_sort="username",
    tie_breaker=User.user_id,
    search=[User.username, User.full_name],
    filters={
        "role": lambda v: User.role == _role(v),
        "active": lambda v: User.active.is_(_flag(v)),
    },
    row=row_dict,
)


def _role(value: Any) -> str:
    if value not in ROLES:
        raise ValueError(f"must be one of: {', '.join(ROLES)}")
    return value


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def list_users(session: Session, actor: Actor, params: ListParams) -> Page[dict]:
    actor.require(Permission.MANAGE_USERS)
    return USERS.page(session, params)


def get_user(session: Session, actor: Actor, user_id: int) -> dict[str, Any]:
    if actor.user_id != user_id:
        actor.require(Permission.MANAGE_USERS)
    row = session.execute(USERS.stmt.where(User.user_id == user_id)).one_or_none()
    if row is None:
        raise NotFound(f"User {user_id} does not exist.")
    return row_dict(row)


def _user(session: Session, user_id: int, *, lock: bool = False) -> User:
    stmt = select(User).where(User.user_id == user_id)
    user = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(User.username == normalize_username(username))).scalar_one_or_none()


def _snapshot(session: Session, user: User) -> dict[str, str | None]:
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    return audit.snapshot({
        "username": user.username, "full_name": user.full_name, "role": user.role,
        "employee": f"{employee.first_name} {employee.last_name} ({employee.employee_id})"
        if employee else None,
        "active": user.active,
    })


def _clean(session: Session, data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Typed values for the editable fields (role, full_name, employee_id, active)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    unknown = set(data) - {"role", "full_name", "employee_id", "active", "username", "password"}
    errors.update({name: "is not a field that can be set" for name in unknown})
    if "role" in data or not partial:
        if data.get("role") not in ROLES:
            errors["role"] = f"must be one of: {', '.join(ROLES)}"
        else:
            values["role"] = data["role"]
    if "full_name" in data or not partial:
        name = data.get("full_name") or ""
        if not isinstance(name, str):
            errors["full_name"] = "must be text"
        elif len(name.strip()) > 100:
            errors["full_name"] = "must be at most 100 characters"
        else:
            values["full_name"] = name.strip()
    if "employee_id" in data or not partial:
        raw = data.get("employee_id")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values["employee_id"] = None
        else:
            try:
                employee_id = int(str(raw).strip())
                if not 1 <= employee_id <= MAX_INT:
                    raise ValueError
            except ValueError:
                errors["employee_id"] = "must be an employee id"
            else:
                if session.get(Employee, employee_id) is None:
                    errors["employee_id"] = f"employee {employee_id} does not exist"
                else:
                    values["employee_id"] = employee_id
    if "active" in data or not partial:
        raw = data.get("active", True)
        try:
            values["active"] = raw if isinstance(raw, bool) else _flag(raw)
        except ValueError as exc:
            errors["active"] = str(exc)
    if errors:
        raise Invalid(fields=errors)
    return values


def create_user(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A new account: username, password, role, optional full_name and employee_id."""
    actor.require(Permission.MANAGE_USERS)
    errors: dict[str, str] = {}
    username = normalize_username(data.get("username"))
    if not USERNAME_PATTERN.fullmatch(username):
        errors["username"] = ("must be 3-64 characters: letters, digits, '.', '_', '-', '@', "
                              "starting with a letter or digit")
    elif find_user(session, username) is not None:
        errors["username"] = f"{username!r} is already taken"
    problem = password_problem(data.get("password"), username)
    if problem:
        errors["password"] = problem
    try:
        values = _clean(session, {k: v for k, v in data.items()
                                  if k not in ("username", "password")}, partial=False)
    except Invalid as exc:
        errors.update(exc.fields)
        values = {}
    if errors:
        raise Invalid(fields=errors)
    now = utcnow()
    user = User(username=username, password_hash=hash_password(data["password"]),
                created_at=now, password_changed_at=now, **values)
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "user", user.user_id, None, _snapshot(session, user),
                 summary=f"{user.username} ({user.role})")
    return get_user(session, actor, user.user_id)


def _active_admins(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)
                           .where(User.role == "admin", User.active.is_(True))).scalar_one()


def update_user(session: Session, actor: Actor, user_id: int,
                changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change role, full name, employee link or active. The last active admin cannot be
    demoted or deactivated. A role change or deactivation signs the user out everywhere."""
    actor.require(Permission.MANAGE_USERS)
    user = _user(session, user_id, lock=True)
    if "username" in changes or "password" in changes:
        raise Invalid(fields={name: "cannot be changed here" for name in ("username", "password")
                                if name in changes})
    values = _clean(session, changes, partial=True)
    before = _snapshot(session, user)
    was_admin = user.role == "admin" and user.active
    for name, value in values.items():
        setattr(user, name, value)
    session.flush()
    if was_admin and not (user.role == "admin" and user.active) and _active_admins(session) == 0:
        raise Conflict(f"{user.username} is the last active admin; make someone else an admin "
                       "first.", {"role": "the last active admin must stay an admin"})
    after = _snapshot(session, user)
    token_cache.forget()  # the name or employee its tokens act with may have changed
    if before["role"] != after["role"] or not user.active:
        end_user_sessions(session, user.user_id)
    audit.record(session, actor, "update", "user", user.user_id, before, after,
                 summary=user.username)
    return get_user(session, actor, user.user_id)


def set_password(session: Session, actor: Actor, user_id: int, new_password: Any,
                 current_password: Any = None) -> None:
    """Set a password: your own (with your current one) or, as an admin, anyone's. Signs the
    user out of every browser and clears a lockout."""
    own = actor.user_id == user_id
    if not own:
        actor.require(Permission.MANAGE_USERS)
    user = _user(session, user_id, lock=True)
    errors: dict[str, str] = {}
    # Your own password needs your current one, unless you are an admin resetting it.
    needs_current = own and (current_password is not None or not actor.can(Permission.MANAGE_USERS))
    if needs_current:
        if not isinstance(current_password, str) or not verify_password(
                user.password_hash, current_password):
            errors["current_password"] = "is not your current password"
    problem = password_problem(new_password, user.username)
    if problem:
        errors["new_password"] = problem
    if errors:
        raise Invalid(fields=errors)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    throttle.clear_username(session, user.username)  # old guesses say nothing about it
    end_user_sessions(session, user.user_id)
    session.flush()
    audit.record(session, actor, "password", "user", user.user_id, None, None,
                 summary=f"password of {user.username} {'changed' if own else 'reset'}")


def set_password_here(session: Session, actor: Actor, user_id: int, new_password: Any,
                      current_password: Any = None) -> str | None:
    """`set_password`, from a browser signed in as `actor`: when it is your own password,
    every session of yours ends but a new one for this browser, which stays signed in (you
    have just proved you know the password). Returns that session's token (None for
    another user's password)."""
    set_password(session, actor, user_id, new_password, current_password)
    return start_session(session, actor) if user_id == actor.user_id else None


def sign_in(session: Session, username: Any, password: Any, *, address: str | None,
            accept_language: str | None, browser_zone: Any = None) -> tuple[Actor, str]:
    """A browser's sign-in: check the password (`authenticate`, throttled per `address`),
    take the number format from the browser's languages and the time zone from the
    browser's (`browser_zone`, what its Intl API says) on a first sign-in
    (`default_number_format`, `default_time_zone`) and start a session. Returns the actor
    and its session token."""
    actor = authenticate(session, username, password, address=address)
    actor = default_number_format(session, actor, accept_language)
    actor = default_time_zone(session, actor, browser_zone)
    return actor, start_session(session, actor)


# --- number format ---------------------------------------------------------------------------

def set_number_format(session: Session, actor: Actor, user_id: int, number_format: Any) -> Actor:
    """Set how the screens read and show numbers and dates for a user (formats.FORMATS):
    your own, or anyone's as an admin. Returns the actor with the new format when it is
    your own (the screens keep using it at once)."""
    if actor.user_id != user_id:
        actor.require(Permission.MANAGE_USERS)
    if not isinstance(number_format, str) or number_format not in formats.FORMATS:
        raise Invalid(fields={"number_format": f"must be one of: {', '.join(formats.CODES)}"})
    user = _user(session, user_id, lock=True)
    before = user.number_format
    if before != number_format:
        user.number_format = number_format
        session.flush()
        token_cache.forget()  # cached API actors carry the format
        audit.record(session, actor, "update", "user", user.user_id,
                     {"number_format": before}, {"number_format": number_format},
                     summary=user.username)
    return replace(actor, number_format=number_format) if actor.user_id == user_id else actor


def default_number_format(session: Session, actor: Actor, accept_language: str | None) -> Actor:
    """On a user's first sign-in (no format chosen yet), take the format from their
    browser's languages (`accept_language`: the header of the request, as the server saw
    it). Returns the actor with the format it signs in with."""
    if actor.user_id is None:
        return actor
    chosen = formats.from_accept_language(accept_language)
    done = session.execute(update(User).where(User.user_id == actor.user_id,
                                              User.number_format.is_(None))
                           .values(number_format=chosen)).rowcount
    return replace(actor, number_format=chosen) if done else actor


# --- list columns ----------------------------------------------------------------------------

# A list's or a column's name: what the screens call them ("orders", "customer_orders";
# "employee", "ship_country").
_LIST_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_HIDDEN_COLUMNS = 40  # per list
MAX_LISTS = 60  # lists with hidden columns, per user


def _names(value: Any, field: str, limit: int) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > limit or not all(
            isinstance(name, str) and _LIST_NAME.fullmatch(name) for name in value):
        raise Invalid(fields={field: f"must be a list of at most {limit} names (a-z, 0-9, _)"})
    return list(dict.fromkeys(value))


def list_columns(session: Session, actor: Actor) -> dict[str, list[str]]:
    """The columns the signed-in user hides in each list of the screens (list name -> column
    names; a list not named shows every column)."""
    if actor.user_id is None:
        return {}
    stored = session.execute(select(User.list_columns)
                             .where(User.user_id == actor.user_id)).scalar_one_or_none()
    return {name: list(columns) for name, columns in (stored or {}).items()}


def set_list_columns(session: Session, actor: Actor, list_name: Any,
                     hidden: Any) -> dict[str, list[str]]:
    """Remember which columns of the list `list_name` the signed-in user hides (a preference
    kept with the user, like the number format; not audited). Returns every list's hidden
    columns. The screens decide which names mean a column; unknown ones show nothing."""
    if actor.user_id is None:
        raise Forbidden("Only a signed-in user has list preferences.")
    if not isinstance(list_name, str) or not _LIST_NAME.fullmatch(list_name):
        raise Invalid(fields={"list": "must be a list name (a-z, 0-9, _)"})
    columns = _names(hidden, "hidden", MAX_HIDDEN_COLUMNS)
    user = _user(session, actor.user_id, lock=True)  # two tabs' changes one after the other
    stored = {name: list(value) for name, value in (user.list_columns or {}).items()}
    if columns:
        if list_name not in stored and len(stored) >= MAX_LISTS:
            raise Invalid(fields={"list": f"at most {MAX_LISTS} lists keep hidden columns"})
        stored[list_name] = columns
    else:
        stored.pop(list_name, None)
    if stored != (user.list_columns or {}):
        user.list_columns = stored or None
        session.flush()
    return stored
# --- time zone ------------------------------------------------------------------------------

def set_time_zone(session: Session, actor: Actor, user_id: int, time_zone: Any) -> Actor:
    """Set the time zone the screens show times in for a user (an IANA name such as
    "Europe/Berlin"): your own, or anyone's as an admin. Returns the actor with the new
    zone when it is your own."""
    if actor.user_id != user_id:
        actor.require(Permission.MANAGE_USERS)
    if not formats.is_zone(time_zone):
        raise Invalid(fields={"time_zone": "is not a time zone; choose one from the list "
                                           "(e.g. Europe/Berlin, America/New_York, UTC)"})
    user = _user(session, user_id, lock=True)
    before = user.time_zone
    if before != time_zone:
        user.time_zone = time_zone
        session.flush()
        token_cache.forget()  # cached API actors carry the zone
        audit.record(session, actor, "update", "user", user.user_id,
                     {"time_zone": before}, {"time_zone": time_zone}, summary=user.username)
    return replace(actor, time_zone=time_zone) if actor.user_id == user_id else actor


def default_time_zone(session: Session, actor: Actor, browser_zone: Any) -> Actor:
    """On a user's first sign-in (no zone chosen yet), take the browser's time zone (what
    its `Intl.DateTimeFormat().resolvedOptions().timeZone` says; ignored unless it is a
    zone this machine knows). Returns the actor with the zone it signs in with."""
    if actor.user_id is None or not formats.is_zone(browser_zone):
        return actor
    done = session.execute(update(User).where(User.user_id == actor.user_id,
                                              User.time_zone.is_(None))
                           .values(time_zone=browser_zone)).rowcount
    return replace(actor, time_zone=browser_zone) if done else actor


# --- API tokens -----------------------------------------------------------------------------


@dataclass
class TokenView:
    token_id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


MAX_TOKEN_DAYS = 3650


def _may_manage_tokens_of(actor: Actor, user_id: int) -> None:
    if actor.user_id != user_id:
        actor.require(Permission.MANAGE_USERS)


def create_api_token(session: Session, actor: Actor, user_id: int, name: Any,
                     expires_days: Any = None) -> tuple[str, TokenView]:
    """A new token for `user_id` (yourself, or anyone as an admin). Returns the token — the
    only time it is ever available — and its stored description."""
    _may_manage_tokens_of(actor, user_id)
    user = _user(session, user_id)
    errors: dict[str, str] = {}
    label = name.strip() if isinstance(name, str) else ""
    if not label:
        errors["name"] = "is required (say what the token is for)"
    elif len(label) > 60:
        errors["name"] = "must be at most 60 characters"
    expires_at = None
    if expires_days not in (None, ""):
        try:
            days = int(str(expires_days).strip())
            if not 1 <= days <= MAX_TOKEN_DAYS:
                raise ValueError
        except ValueError:
            errors["expires_days"] = f"must be a whole number of days, 1-{MAX_TOKEN_DAYS}"
        else:
            expires_at = utcnow() + dt.timedelta(days=days)
    if not user.active:
        errors["user_id"] = f"{user.username} is deactivated"
    if errors:
        raise Invalid(fields=errors)
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(30)
    row = ApiToken(user_id=user.user_id, name=label, prefix=token[:12],
                   token_hash=token_digest(token), created_at=utcnow(), expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", "api_token", row.token_id, None,
                 audit.snapshot({"name": label, "user": user.username, "prefix": row.prefix,
                                 "expires_at": expires_at}),
                 summary=f"token {label!r} for {user.username}")
    return token, _token_view(session, row.token_id)


TOKEN_COLUMNS = (ApiToken.token_id, ApiToken.user_id, User.username, ApiToken.name,
                 ApiToken.prefix, ApiToken.created_at, ApiToken.expires_at,
                 ApiToken.last_used_at, ApiToken.revoked_at)


def _token_view(session: Session, token_id: int) -> TokenView:
    row = session.execute(select(*TOKEN_COLUMNS).join(User, User.user_id == ApiToken.user_id)
                          .where(ApiToken.token_id == token_id)).one_or_none()
    if row is None:
        raise NotFound(f"API token {token_id} does not exist.")
    return TokenView(*row)


def list_api_tokens(session: Session, actor: Actor, user_id: int) -> list[TokenView]:
    """A user's tokens, newest first (never the tokens themselves)."""
    _may_manage_tokens_of(actor, user_id)
    rows = session.execute(select(*TOKEN_COLUMNS).join(User, User.user_id == ApiToken.user_id)
                           .where(ApiToken.user_id == user_id)
                           .order_by(ApiToken.token_id.desc())).all()
    return [TokenView(*row) for row in rows]


def revoke_api_token(session: Session, actor: Actor, token_id: int) -> TokenView:
    """Revoke a token (yours, or anyone's as an admin); it stops working at once."""
    view = _token_view(session, token_id)
    try:
        _may_manage_tokens_of(actor, view.user_id)
    except Forbidden:
        raise NotFound(f"API token {token_id} does not exist.") from None
    if view.revoked_at is None:
        session.execute(update(ApiToken).where(ApiToken.token_id == token_id)
                        .values(revoked_at=utcnow()))
        token_cache.forget()
        audit.record(session, actor, "revoke", "api_token", token_id, None, None,
                     summary=f"token {view.name!r} of {view.username}")
    return _token_view(session, token_id)


# --- demo accounts ----------------------------------------------------------------------------

# Created only with demo data (first run of the embedded database, or `data demo
# --demo-users`); documented in the README. Never on a production database unless asked.
DEMO_USERS = (
    {"username": "admin", "password": "northwind-admin", "role": "admin",
     "full_name": "Demo Admin"},
    {"username": "sales", "password": "northwind-sales", "role": "sales",
     "full_name": "Demo Sales", "employee_id": 4},
    {"username": "viewer", "password": "northwind-viewer", "role": "viewer",
     "full_name": "Demo Viewer"},
)


def create_demo_users(session: Session, actor: Actor) -> list[str]:
    """The documented demo accounts that do not exist yet; returns the usernames created.
    The sales account is linked to employee 4 when that employee exists."""
    created = []
    for spec in DEMO_USERS:
        if find_user(session, spec["username"]) is not None:
            continue
        data = dict(spec)
        if data.get("employee_id") and session.get(Employee, data["employee_id"]) is None:
            data["employee_id"] = None
        create_user(session, actor, data)
        created.append(spec["username"])
    return created
