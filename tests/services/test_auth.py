"""Accounts, tokens and the audit rules on their own (services/auth.py, users.py, audit.py):
password hashing, token digests and lookups, sign-in (its throttling: test_throttle.py),
browser sessions, what each role
may do, password changes, the last-admin rule and audit diffs. Database tests run on both
backends (the `empty_db` fixture)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from northwind_app.db.engine import session_scope
from northwind_app.db.models import ApiToken, User, UserSession
from northwind_app.services import audit, auth, users
from northwind_app.services.auth import (
    ROLES, SYSTEM, TOUCH_EVERY, Actor, AuthenticationFailed, Permission,
)
from northwind_app.services.errors import Conflict, NotFound, Forbidden, Invalid
from northwind_app.services.listing import ListParams
from northwind_app.settings import settings
from tests import factories

NOW = dt.datetime(2026, 7, 4, 9, 0, tzinfo=dt.UTC)


def _user(session, username: str, role: str = "sales", password: str = "a long password",
          **extra) -> Actor:
    return factories.user(session, role, username=username, password=password, **extra)


# --- passwords ------------------------------------------------------------------------------


def test_passwords_are_argon2id_hashes_that_verify():
    hashed = auth.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert auth.hash_password("correct horse battery") != hashed  # salted
    assert auth.verify_password(hashed, "correct horse battery")
    assert not auth.verify_password(hashed, "correct horse battery ")
    assert not auth.verify_password(hashed, "")
    assert not auth.verify_password("not a hash", "correct horse battery")


@pytest.mark.parametrize(("password", "username", "problem"), [
    ("", "", "is required"),
    (None, "", "is required"),
    ("short", "", "must be at least 8 characters"),
    ("x" * 257, "", "must be at most 256 characters"),
    (" Margaret ", "margaret", "must not be the username"),
    ("a long password", "margaret", None),
])
def test_password_rules(password, username, problem):
    assert auth.password_problem(password, username) == problem


def test_a_weaker_hash_is_replaced_at_sign_in(empty_db):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with session_scope(empty_db, write=True) as session:
        actor = _user(session, "margaret")
        session.execute(update(User).where(User.user_id == actor.user_id)
                        .values(password_hash=weak.hash("a long password")))
    with session_scope(empty_db, write=True) as session:
        assert auth.authenticate(session, "Margaret ", "a long password",
                                 address="192.0.2.1").username == "margaret"
    with session_scope(empty_db) as session:
        stored = session.get(User, actor.user_id).password_hash
    assert stored.startswith("$argon2id$") and "m=1024" not in stored
    assert not auth._hasher.check_needs_rehash(stored)
    assert auth.verify_password(stored, "a long password")


# --- sign-in -------------------------------------------------------------------------------


def _sign_in(url: str, username: str, password: str, now: dt.datetime) -> Actor:
    with session_scope(url, write=True) as session:
        return auth.authenticate(session, username, password, now, address="192.0.2.1")


def test_sign_in_never_says_whether_the_username_exists(empty_db):
    with session_scope(empty_db, write=True) as session:
        _user(session, "margaret")
        users.update_user(session, SYSTEM, users.find_user(session, "margaret").user_id,
                          {"active": False})
    messages = set()
    for username, password in (("nobody", "a long password"), ("margaret", "a long password")):
        with pytest.raises(AuthenticationFailed) as failed:
            _sign_in(empty_db, username, password, NOW)
        messages.add(failed.value.message)
    assert messages == {auth.WRONG_CREDENTIALS}
    with pytest.raises(AuthenticationFailed) as empty:
        _sign_in(empty_db, " ", "", NOW)
    assert set(empty.value.fields) == {"username", "password"}


# --- tokens ---------------------------------------------------------------------------------


def test_token_digests_are_keyed_by_the_secret(monkeypatch):
    token = "nwt_example"
    digest = auth.token_digest(token)
    assert len(digest) == 64 and token not in digest
    assert auth.token_digest(token) == digest
    assert auth.token_digest("nwt_other") != digest
    monkeypatch.setenv("NORTHWIND_SECRET_KEY", "another secret")
    assert settings.secret_key() == b"another secret"
    assert auth.token_digest(token) != digest


def _lookup(url: str, token: str | None, now: dt.datetime | None = None):
    with session_scope(url) as session:
        return auth.api_token_actor(session, token, now)


def test_api_tokens_authenticate_until_revoked_expired_or_deactivated(empty_db):
    with session_scope(empty_db, write=True) as session:
        actor = _user(session, "margaret", full_name="Margaret Peacock")
        token, view = users.create_api_token(session, actor, actor.user_id, "export", 30)
        forever, _ = users.create_api_token(session, actor, actor.user_id, "forever")
    assert view.state == "active" and view.prefix == token[:12]
    found = _lookup(empty_db, token)
    assert found.actor == actor and found.token_id == view.token_id
    assert found.needs_touch  # never used yet

    # last_used_at is written at most every TOUCH_EVERY.
    with session_scope(empty_db, write=True) as session:
        auth.touch_api_token(session, view.token_id, NOW)
    assert not _lookup(empty_db, token, NOW + TOUCH_EVERY / 2).needs_touch
    assert _lookup(empty_db, token, NOW + TOUCH_EVERY).needs_touch

    for bad in (None, "", "nwt_unknown", token[:-1], "x" + token[1:], token.upper()):
        assert _lookup(empty_db, bad) is None, bad
    # Expiry: valid just before expires_at, not at or after it.
    expires = view.expires_at
    assert _lookup(empty_db, token, expires - dt.timedelta(seconds=1)) is not None
    assert _lookup(empty_db, token, expires) is None
    assert _lookup(empty_db, forever, NOW + dt.timedelta(days=3650)) is not None

    with session_scope(empty_db, write=True) as session:
        assert users.revoke_api_token(session, actor, view.token_id).state == "revoked"
    assert _lookup(empty_db, token) is None
    assert _lookup(empty_db, forever) is not None
    with session_scope(empty_db, write=True) as session:
        users.update_user(session, SYSTEM, actor.user_id, {"active": False})
    assert _lookup(empty_db, forever) is None


def test_token_management_rules(empty_db):
    with session_scope(empty_db, write=True) as session:
        margaret = _user(session, "margaret")
        viewer = _user(session, "viewer1", role="viewer")
        admin = _user(session, "admin1", role="admin")
        token, view = users.create_api_token(session, margaret, margaret.user_id, "mine")
        with pytest.raises(Forbidden):
            users.create_api_token(session, viewer, margaret.user_id, "theirs")
        with pytest.raises(Forbidden):
            users.list_api_tokens(session, viewer, margaret.user_id)
        with pytest.raises(NotFound):  # someone else's token does not exist for you
            users.revoke_api_token(session, viewer, view.token_id)
        with pytest.raises(Invalid) as invalid:
            users.create_api_token(session, margaret, margaret.user_id, " ", 0)
        assert set(invalid.value.fields) == {"name", "expires_days"}
        assert [t.name for t in users.list_api_tokens(session, admin, margaret.user_id)] == [
            "mine"]
        assert users.revoke_api_token(session, admin, view.token_id).revoked_at is not None
        stored = session.get(ApiToken, view.token_id)  # only a digest and a short prefix
        assert stored.token_hash == auth.token_digest(token) != token
        assert stored.prefix == token[:12] and len(token) > len(stored.prefix) + 20


# --- browser sessions -----------------------------------------------------------------------


def test_sessions_expire_when_idle_and_activity_extends_them(empty_db):
    idle = dt.timedelta(hours=settings.session_idle_hours)
    longest = dt.timedelta(days=settings.session_max_days)
    assert idle < longest
    with session_scope(empty_db, write=True) as session:
        actor = _user(session, "margaret")
        token = auth.start_session(session, actor, NOW)

    def seen(at: dt.datetime) -> Actor | None:
        with session_scope(empty_db, write=True) as session:
            return auth.session_actor(session, token, at)

    def row() -> UserSession:
        with session_scope(empty_db) as session:
            return session.execute(select(UserSession)).scalar_one()

    assert row().expires_at == NOW + idle
    assert seen(NOW + dt.timedelta(minutes=1)) == actor
    assert row().last_seen_at == NOW  # touched at most every TOUCH_EVERY
    active = NOW + idle - dt.timedelta(minutes=1)
    assert seen(active) == actor
    assert (row().last_seen_at, row().expires_at) == (active, active + idle)  # extended
    assert seen(active + idle - dt.timedelta(seconds=1)) == actor
    assert seen(active + 2 * idle) is None  # idle for longer than allowed

    # However active, a session ends after session_max_days.
    with session_scope(empty_db, write=True) as session:
        token = auth.start_session(session, actor, NOW)
    at, step = NOW, idle / 2
    while at + step < NOW + longest:
        at += step
        assert seen(at) == actor
    assert seen(NOW + longest) is None


def test_sessions_end_with_a_deactivation_or_sign_out(empty_db):
    with session_scope(empty_db, write=True) as session:
        actor = _user(session, "margaret")
        first = auth.start_session(session, actor, NOW)
        second = auth.start_session(session, actor, NOW)
    with session_scope(empty_db, write=True) as session:
        auth.end_session(session, first)
        assert auth.session_actor(session, first, NOW) is None
        assert auth.session_actor(session, second, NOW) == actor
        assert auth.session_actor(session, "", NOW) is None
        users.update_user(session, SYSTEM, actor.user_id, {"active": False})
        assert auth.session_actor(session, second, NOW) is None


# --- roles ----------------------------------------------------------------------------------

ALLOWED = {
    "admin": set(Permission),
    "sales": {Permission.WRITE_ORDERS, Permission.WRITE_RECORDS},
    "viewer": set(),
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("permission", list(Permission))
def test_each_role_may_do_exactly_its_part(role, permission):
    actor = Actor(user_id=7, username="someone", role=role)
    allowed = permission in ALLOWED[role]
    assert actor.can(permission) is allowed
    if allowed:
        actor.require(permission)
    else:
        with pytest.raises(Forbidden) as denied:
            actor.require(permission)
        assert isinstance(denied.value, Forbidden) and f"({role})" in denied.value.message


def test_roles_are_exactly_the_documented_ones():
    assert set(ROLES) == set(ALLOWED)
    unknown = Actor(user_id=7, username="someone", role="root")
    assert unknown.permissions == frozenset()
    with pytest.raises(Forbidden):
        unknown.require(Permission.WRITE_ORDERS)
    assert SYSTEM.permissions == frozenset(Permission)


# --- accounts -------------------------------------------------------------------------------


def test_set_password_rules(empty_db):
    with session_scope(empty_db, write=True) as session:
        sales = _user(session, "margaret")
        admin = _user(session, "boss", role="admin")

        def change(actor, user_id, new, current=None):
            users.set_password(session, actor, user_id, new, current)

        with pytest.raises(Invalid) as missing:  # your own: the current one is needed
            change(sales, sales.user_id, "a new long password")
        assert set(missing.value.fields) == {"current_password"}
        with pytest.raises(Invalid) as bad:
            change(sales, sales.user_id, "Margaret", "wrong")
        assert bad.value.fields == {"current_password": "is not your current password",
                                    "new_password": "must not be the username"}
        change(sales, sales.user_id, "a new long password", "a long password")
        with pytest.raises(Forbidden):  # not someone else's
            change(sales, admin.user_id, "a new long password")
        change(admin, sales.user_id, "reset by the boss")  # an admin resets anyone's
        change(admin, admin.user_id, "the boss's new one")  # ... and their own without it
        with pytest.raises(Invalid):  # but a wrong current one is still wrong
            change(admin, admin.user_id, "another new one", "wrong")
        with pytest.raises(NotFound):
            change(admin, 999, "a long password")
        hashes = {u.username: u.password_hash for u in session.execute(select(User)).scalars()}
    assert auth.verify_password(hashes["margaret"], "reset by the boss")
    assert auth.verify_password(hashes["boss"], "the boss's new one")


def test_the_last_active_admin_stays_an_admin(empty_db):
    with session_scope(empty_db, write=True) as session:
        admin = _user(session, "boss", role="admin")
    for changes in ({"role": "sales"}, {"active": False}, {"role": "viewer", "active": False}):
        with pytest.raises(Conflict) as refused, session_scope(empty_db, write=True) as session:
            users.update_user(session, admin, admin.user_id, changes)
        assert refused.value.fields == {"role": "the last active admin must stay an admin"}
    with session_scope(empty_db, write=True) as session:  # nothing of it was kept
        assert session.get(User, admin.user_id).role == "admin"
        other = _user(session, "deputy", role="admin")
        users.update_user(session, admin, admin.user_id, {"role": "sales"})
        with pytest.raises(Forbidden):  # now a sales user
            users.update_user(session, auth.actor_of(session.get(User, admin.user_id)),
                              other.user_id, {"role": "viewer"})
        with pytest.raises(Conflict):
            users.update_user(session, other, other.user_id, {"active": False})


def test_account_input_is_checked(empty_db):
    with session_scope(empty_db, write=True) as session:
        _user(session, "margaret")
        with pytest.raises(Invalid) as invalid:
            users.create_user(session, SYSTEM, {"username": "Margaret", "password": "margaret",
                                                "role": "root", "employee_id": "x",
                                                "active": "perhaps", "colour": "red"})
        assert invalid.value.fields == {
            "username": "'margaret' is already taken", "password": "must not be the username",
            "role": "must be one of: admin, sales, viewer",
            "employee_id": "must be an employee id", "active": "must be true or false",
            "colour": "is not a field that can be set"}
        with pytest.raises(Invalid) as bad_name:
            users.create_user(session, SYSTEM, {"username": "-x", "password": "a long password",
                                                "role": "viewer"})
        assert set(bad_name.value.fields) == {"username"}
        with pytest.raises(Forbidden):
            users.create_user(session, Actor(user_id=1, username="s", role="sales"),
                              {"username": "new", "password": "a long password",
                               "role": "admin"})


# --- audit ----------------------------------------------------------------------------------


def test_audit_diff_lists_what_changed():
    before = {"freight": "32.38", "total": "472.38", "ship_city": "Reims", "ship_region": None}
    after = {"total": "480.00", "freight": "40.00", "ship_city": "Reims",
             "line 11 Queso Cabrales: quantity": "12"}
    assert audit.diff(before, after) == {
        "freight": ["32.38", "40.00"],
        "line 11 Queso Cabrales: quantity": [None, "12"],
        "total": ["472.38", "480.00"],
    }
    assert list(audit.diff(before, after))[-1] == "total"  # derived: after what changed it
    assert audit.diff(before, dict(before)) == {}
    assert audit.diff(None, {"a": "1"}) == {"a": [None, "1"]}
    assert audit.diff({"a": "1"}, None) == {"a": ["1", None]}


def test_audit_text_is_exact():
    assert audit.snapshot({"price": Decimal("18.0000"), "discount": Decimal("0.0525"),
                           "flag": True, "when": dt.date(1996, 7, 4), "none": None}) == {
        "price": "18.00", "discount": "0.0525", "flag": "yes", "when": "1996-07-04",
        "none": None}


def test_an_update_that_changes_nothing_is_not_recorded(empty_db):
    with session_scope(empty_db, write=True) as session:
        actor = _user(session, "margaret")
        assert not audit.record(session, actor, "update", "order", 1, {"a": "1"}, {"a": "1"})
        assert audit.record(session, actor, "update", "order", 1, {"a": "1"}, {"a": "2"})
        assert audit.record(session, actor, "password", "user", 1, None, None)
        session.flush()
        [entry] = audit.history(session, "order", 1)
        assert (entry.username, entry.changes) == ("margaret", {"a": ["1", "2"]})
        with pytest.raises(Forbidden):
            audit.list_audit(session, actor, ListParams())


def test_token_cache_serves_valid_tokens_and_forgets_on_account_changes(monkeypatch):
    """Cached for TokenCache.SECONDS; only valid tokens; emptied by revocations and account
    changes made in this process."""
    calls = []
    found = auth.TokenLookup(auth.Actor(7, "sales", "sales"), 3, needs_touch=True)

    class Session:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_lookup(session, token):
        calls.append(token)
        return found if token == "nwt_good" else None

    monkeypatch.setattr(auth, "api_token_actor", fake_lookup)
    auth.token_cache.forget()
    assert auth.cached_api_token_actor(Session, "nwt_good").needs_touch is True
    again = auth.cached_api_token_actor(Session, "nwt_good")
    assert again.actor == found.actor and again.needs_touch is False
    assert calls == ["nwt_good"]
    assert auth.cached_api_token_actor(Session, "nwt_bad") is None
    assert auth.cached_api_token_actor(Session, "nwt_bad") is None
    assert calls == ["nwt_good", "nwt_bad", "nwt_bad"]  # invalid tokens are never cached
    auth.token_cache.forget()
    auth.cached_api_token_actor(Session, "nwt_good")
    assert calls[-1] == "nwt_good" and len(calls) == 4
    monkeypatch.setattr(auth.TokenCache, "SECONDS", 0.0)
    auth.cached_api_token_actor(Session, "nwt_good")
    assert len(calls) == 5  # expired entries are looked up again
    auth.token_cache.forget()
