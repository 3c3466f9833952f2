"""Who may do what, and who someone is: roles, permissions, passwords, sign-in sessions and
API tokens. Shared by the screens, the REST API and the command line; no Reflex imports.

Every service function that changes data takes the acting user (`Actor`) and calls
`actor.require(...)` before it touches anything, so a screen that forgot to hide a button,
or an API client, is refused by the same rule.

Tokens (browser session cookies and API tokens) are random, shown to their owner once, and
stored only as an HMAC-SHA256 digest keyed with the configured secret (settings.secret_key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlmodel import Session

from northwind_app.db.models import ApiToken, User, UserSession
from northwind_app.services.errors import Forbidden, ServiceError
from northwind_app.settings import settings


class Permission(StrEnum):
    WRITE_ORDERS = "orders.write"  # create, edit, ship and delete orders
    WRITE_RECORDS = "records.write"  # create, edit and delete customers and products
    MANAGE_USERS = "users.manage"  # accounts, anyone's API tokens
    VIEW_AUDIT = "audit.view"  # the audit trail of every record


PERMISSION_TEXT = {
    Permission.WRITE_ORDERS: "change orders",
    Permission.WRITE_RECORDS: "change customers or products",
    Permission.MANAGE_USERS: "manage users",
    Permission.VIEW_AUDIT: "view the audit trail",
}

ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "sales": frozenset({Permission.WRITE_ORDERS, Permission.WRITE_RECORDS}),
    "viewer": frozenset(),
}
ROLE_DESCRIPTIONS = {
    "admin": "Everything, including users and the audit trail",
    "sales": "Create, edit, ship and delete orders; edit customers and products",
    "viewer": "Read only",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Actor:
    """The signed-in user a change is made by (or SYSTEM for the command line)."""

    user_id: int | None
    username: str
    role: str
    employee_id: int | None = None
    full_name: str = ""
    number_format: str = "en"  # formats.FORMATS: how the screens read and show numbers
    time_zone: str | None = None  # IANA name the screens show times in (None: UTC)

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLES.get(self.role, frozenset())

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"Your role ({self.role}) may not {PERMISSION_TEXT[permission]}.")

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


# Changes made by the command line and the data loaders (never by a request).
SYSTEM = Actor(user_id=None, username="system", role="admin")


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.user_id, username=user.username, role=user.role,
                 employee_id=user.employee_id, full_name=user.full_name,
                 number_format=user.number_format or "en", time_zone=user.time_zone)


class AuthenticationFailed(ServiceError):
    """Missing, wrong or expired credentials."""


# --- passwords -----------------------------------------------------------------------------

# argon2id with the library's (RFC 9106 low-memory) defaults.
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


@functools.cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong name costs as long as a wrong
    password. Made on first use, not at import (one argon2 hash costs most of a second)."""
    return _hasher.hash("not a real password, only here to spend the same time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: Any, username: str = "") -> str | None:
    """Why a new password is not acceptable, or None."""
    if not isinstance(password, str) or not password:
        return "is required"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if username and password.strip().lower() == username.strip().lower():
        return "must not be the username"
    return None


# --- sign-in --------------------------------------------------------------------------------

WRONG_CREDENTIALS = "Wrong username or password."
THROTTLED = "Too many failed sign-ins. Try again in {seconds} seconds."
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")


def normalize_username(username: Any) -> str:
    return username.strip().lower() if isinstance(username, str) else ""


def authenticate(session: Session, username: Any, password: Any,
                 now: dt.datetime | None = None, *, address: str | None) -> Actor:
    """Check a username and password sent from client `address`, in a write session.

    Failed sign-ins are throttled per username and address, per address and per username
    (services/throttle.py): a refused attempt is not checked at all, so too many failures
    from one address never lock the user out from another. A failure is counted, audited and
    committed before AuthenticationFailed is raised (so the caller's rollback cannot undo it);
    success leaves the caller to commit. Raises AuthenticationFailed with a message for the
    password field; neither the message, the time taken nor the throttling says whether the
    username exists. `address`: the client's, as the server sees it (never from the request's
    payload); None only where there is none (counted as "unknown").
    """
    from northwind_app.services import throttle  # it imports audit, which imports this module

    now = now or utcnow()
    name = normalize_username(username)
    if not name or not isinstance(password, str) or not password:
        fields = {}
        if not name:
            fields["username"] = "Enter your user name."
        if not isinstance(password, str) or not password:
            fields["password"] = "Enter your password."
        raise AuthenticationFailed("Enter your user name and password.", fields)
    wait = throttle.wait_seconds(session, name, address, now)
    if wait:
        message = THROTTLED.format(seconds=wait)
        raise AuthenticationFailed(message, {"password": message})
    # No row lock: the counts are the throttle's upserts, and a lock held through the argon2
    # check would make concurrent attempts at an existing name queue where unknown ones do not.
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        user = None
    if user is None or not verify_password(user.password_hash, password):
        seconds = throttle.record_failure(session, name, address, now)
        message = WRONG_CREDENTIALS
        if seconds:
            message += f" Too many failed sign-ins: try again in {seconds} seconds."
        raise AuthenticationFailed(message, {"password": message})
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.clear_pair(session, name, address)
    user.last_login_at = now
    session.flush()
    return actor_of(user)


# --- tokens ---------------------------------------------------------------------------------

SESSION_TOKEN_BYTES = 32
SESSION_COOKIE = "nw_session"  # the screens' session cookie (SameSite=Strict)
API_TOKEN_PREFIX = "nwt_"
TOUCH_EVERY = dt.timedelta(minutes=5)  # last-seen/last-used timestamps are this coarse


def token_digest(token: str) -> str:
    return hmac.new(settings.secret_key(), token.encode(), hashlib.sha256).hexdigest()


def _active_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def start_session(session: Session, actor: Actor, now: dt.datetime | None = None) -> str:
    """A new browser session for a signed-in user; returns the token for its cookie."""
    now = now or utcnow()
    purge_expired_sessions(session, now)  # one indexed DELETE: the table holds live sessions only
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    session.add(UserSession(token_hash=token_digest(token), user_id=actor.user_id,
                            created_at=now, last_seen_at=now,
                            expires_at=_session_expiry(now, now)))
    session.flush()
    return token


def _session_expiry(created: dt.datetime, seen: dt.datetime) -> dt.datetime:
    return min(created + dt.timedelta(days=settings.session_max_days),
               seen + dt.timedelta(hours=settings.session_idle_hours))


def session_actor(session: Session, token: str | None,
                  now: dt.datetime | None = None) -> Actor | None:
    """The user a session cookie belongs to, or None when it is unknown, expired or the user
    was deactivated. Activity extends an idle session (at most every TOUCH_EVERY)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.get(UserSession, token_digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = _active_user(session, row.user_id)
    if user is None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        session.execute(update(UserSession).where(UserSession.token_hash == row.token_hash)
                        .values(last_seen_at=now, expires_at=_session_expiry(row.created_at, now)))
    return actor_of(user)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(UserSession).where(UserSession.token_hash == token_digest(token)))


def end_user_sessions(session: Session, user_id: int) -> None:
    """Sign a user out everywhere (after a password reset, role change or deactivation)."""
    token_cache.forget()  # their API tokens too may now act differently
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def purge_expired_sessions(session: Session, now: dt.datetime | None = None) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= (now or utcnow())))
    return result.rowcount or 0


@dataclass(frozen=True)
class TokenLookup:
    actor: Actor
    token_id: int
    needs_touch: bool


def api_token_actor(session: Session, token: str | None,
                    now: dt.datetime | None = None) -> TokenLookup | None:
    """The user an API token belongs to, or None when it is unknown, revoked, expired or its
    user is deactivated. One indexed lookup; `needs_touch` says last_used_at is stale."""
    if not token or not token.startswith(API_TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = session.execute(
        select(ApiToken.token_id, ApiToken.expires_at, ApiToken.revoked_at,
               ApiToken.last_used_at, User)
        .join(User, User.user_id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(token))).one_or_none()
    if row is None:
        return None
    token_id, expires_at, revoked_at, last_used_at, user = row
    if revoked_at is not None or (expires_at is not None and expires_at <= now) or not user.active:
        return None
    stale = last_used_at is None or now - last_used_at >= TOUCH_EVERY
    return TokenLookup(actor_of(user), token_id, stale)


class TokenCache:
    """Valid API tokens seen in the last TOKEN_CACHE_SECONDS, per process: a busy client's
    requests then skip the token query (the largest part of an API request's cost besides
    its own query). Only valid tokens are kept (unknown ones would let anyone fill it), and
    at most MAX entries. Every account or token change in this process empties it at once
    (`forget`); other worker processes see a revocation, deactivation or role change within
    TOKEN_CACHE_SECONDS."""

    SECONDS = 2.0
    MAX = 4096

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Actor, int]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> TokenLookup | None:
        entry = self._entries.get(token)
        if entry is None or time.monotonic() - entry[0] > self.SECONDS:
            return None
        return TokenLookup(entry[1], entry[2], needs_touch=False)

    def put(self, token: str, found: TokenLookup) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX:
                self._entries.clear()
            self._entries[token] = (time.monotonic(), found.actor, found.token_id)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


token_cache = TokenCache()


def cached_api_token_actor(session_factory, token: str | None) -> TokenLookup | None:
    """`api_token_actor` through `token_cache`; `session_factory()` opens a read session
    only when the token is not cached."""
    if not token:
        return None
    hit = token_cache.get(token)
    if hit is not None:
        return hit
    with session_factory() as session:
        found = api_token_actor(session, token)
    if found is not None:
        token_cache.put(token, found)
    return found


def touch_api_token(session: Session, token_id: int, now: dt.datetime | None = None) -> None:
    session.execute(update(ApiToken).where(ApiToken.token_id == token_id)
                    .values(last_used_at=now or utcnow()))

