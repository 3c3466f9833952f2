"""Sign-in throttling (services/throttle.py) on both backends: an attacker at one address
cannot lock the user out at another; one address is throttled across usernames; a per-name
ceiling stops a distributed attack; unknown and known usernames are throttled alike; failures
and locks are audited; concurrent failures all count; migration 0009 can be run again after
a half-applied run."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import inspect, select, text

from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.migrations import alembic_config, schema_differences, upgrade_to_head
from northwind_app.db.models import AuditEntry, SignInThrottle, User
from northwind_app.services import audit, auth, throttle, users
from northwind_app.services.auth import SYSTEM, AuthenticationFailed
from northwind_app.services.listing import ListParams
from northwind_app.services.throttle import (
    ADDRESS_FREE, LOCK_SECONDS, MAX_LOCK_SECONDS, NAME_FREE, PAIR_FREE, WINDOW,
)
from tests import factories
from tests.dbutil import run_in_threads

NOW = dt.datetime(2026, 7, 4, 9, 0, tzinfo=dt.UTC)
PASSWORD = "a long password"
ATTACKER = "203.0.113.7"
USER_ADDRESS = "198.51.100.20"
WRONG = auth.WRONG_CREDENTIALS


@pytest.fixture
def cheap_hashes(monkeypatch):
    """argon2 at its cheapest, so the tests can make dozens of attempts; the code paths (one
    verify per checked attempt, for unknown names too) stay the same. Counts the verifies."""
    calls = []

    class Counted(PasswordHasher):
        def verify(self, hash_, password):
            calls.append(hash_)
            return super().verify(hash_, password)

    cheap = Counted(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", cheap)
    dummy = cheap.hash("dummy")
    monkeypatch.setattr(auth, "_dummy_hash", lambda: dummy)
    return calls


@pytest.fixture
def db(empty_db, cheap_hashes):
    factories.user(empty_db, "sales", username="margaret", password=PASSWORD)
    return empty_db


def sign_in(url: str, username: str, password: str, address: str | None,
            now: dt.datetime = NOW) -> str:
    """"ok", or the refusal's message."""
    with session_scope(url, write=True) as session:
        try:
            auth.authenticate(session, username, password, now, address=address)
        except AuthenticationFailed as exc:
            assert exc.fields == {"password": exc.message}
            return exc.message
    return "ok"


def throttled(seconds: int) -> str:
    return auth.THROTTLED.format(seconds=seconds)


def starts_lock(seconds: int) -> str:
    return f"{WRONG} Too many failed sign-ins: try again in {seconds} seconds."


def buckets(url: str) -> dict[tuple[str, str, str], tuple[int, dt.datetime | None]]:
    with session_scope(url) as session:
        return {(r.scope, r.username, r.address): (r.failures, r.locked_until)
                for r in session.execute(select(SignInThrottle)).scalars()}


def audit_rows(url: str) -> list[tuple[str, str, str, str, str]]:
    with session_scope(url) as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.entity,
                   AuditEntry.entity_key, AuditEntry.summary)
            .where(AuditEntry.entity == "sign_in").order_by(AuditEntry.audit_id))]


def test_lock_seconds_grow_then_stop():
    assert [throttle.lock_seconds(n) for n in range(PAIR_FREE)] == [0] * PAIR_FREE
    assert throttle.lock_seconds(PAIR_FREE) == LOCK_SECONDS
    assert throttle.lock_seconds(PAIR_FREE + 1) == 2 * LOCK_SECONDS
    assert throttle.lock_seconds(PAIR_FREE + 3) == 8 * LOCK_SECONDS
    assert throttle.lock_seconds(PAIR_FREE + 50) == MAX_LOCK_SECONDS
    assert throttle.lock_seconds(10**9, NAME_FREE) == MAX_LOCK_SECONDS
    assert throttle.lock_seconds(NAME_FREE - 1, NAME_FREE) == 0
    # One address alone reaches neither the address's nor the name's ceiling within a name's
    # free attempts: the name's needs several addresses.
    assert PAIR_FREE < ADDRESS_FREE < NAME_FREE
    assert NAME_FREE >= 5 * PAIR_FREE


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    (" 203.0.113.7 ", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped IPv6: its IPv4 address
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # IPv6: the /64
    ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),
    ("::1", "::/64"),
    ("", "unknown"),
    (None, "unknown"),
    ("not an address", "not an address"),
    ("x" * 100, "x" * 64),
])
def test_address_keys(address, key):
    assert throttle.address_key(address) == key


def test_an_attacker_elsewhere_cannot_lock_the_user_out(db):
    for attempt in range(1, PAIR_FREE + 1):
        expected = starts_lock(LOCK_SECONDS) if attempt == PAIR_FREE else WRONG
        assert sign_in(db, "margaret", "guess", ATTACKER) == expected
    # The attacker's address is refused, even with the right password, and without a check…
    assert sign_in(db, "margaret", PASSWORD, ATTACKER, NOW + dt.timedelta(seconds=10)) \
        == throttled(LOCK_SECONDS - 10)
    # … while the user, from their own address, signs in as always.
    assert sign_in(db, "margaret", PASSWORD, USER_ADDRESS, NOW + dt.timedelta(seconds=10)) == "ok"
    assert sign_in(db, "Margaret ", "typo", USER_ADDRESS) == WRONG
    # The counts were committed (the caller rolled back); the user's success cleared only
    # their own pair, and their typo counts on their own.
    counts = {key: failures for key, (failures, _) in buckets(db).items()}
    assert counts == {("pair", "margaret", ATTACKER): PAIR_FREE,
                      ("address", "", ATTACKER): PAIR_FREE,
                      ("name", "margaret", ""): PAIR_FREE + 1,
                      ("pair", "margaret", USER_ADDRESS): 1,
                      ("address", "", USER_ADDRESS): 1}
    # After the lock, the attacker's address may try again; the next failure locks it twice
    # as long.
    later = NOW + dt.timedelta(seconds=LOCK_SECONDS + 1)
    assert sign_in(db, "margaret", "guess", ATTACKER, later) == starts_lock(2 * LOCK_SECONDS)
    assert sign_in(db, "margaret", PASSWORD, ATTACKER, later) == throttled(2 * LOCK_SECONDS)
    # A success from an address starts its pair's count again.
    much_later = later + dt.timedelta(seconds=2 * LOCK_SECONDS)
    assert sign_in(db, "margaret", PASSWORD, ATTACKER, much_later) == "ok"
    assert ("pair", "margaret", ATTACKER) not in buckets(db)
    with session_scope(db) as session:
        assert session.execute(select(User.last_login_at)).scalar_one() == much_later


def test_one_address_is_throttled_across_usernames(db):
    """Spraying many names from one address: after ADDRESS_FREE failures the address is
    refused for every name (the real user elsewhere is not)."""
    for n in range(1, ADDRESS_FREE + 1):
        expected = starts_lock(LOCK_SECONDS) if n == ADDRESS_FREE else WRONG
        assert sign_in(db, f"user{n:02}", "guess", ATTACKER) == expected
    assert sign_in(db, "margaret", PASSWORD, ATTACKER, NOW + dt.timedelta(seconds=1)) \
        == throttled(LOCK_SECONDS - 1)
    assert sign_in(db, "margaret", PASSWORD, USER_ADDRESS, NOW + dt.timedelta(seconds=1)) == "ok"
    # Another address of the same IPv6 /64 is the same client; another /64 is not.
    for n in range(ADDRESS_FREE):
        sign_in(db, f"user{n:02}", "guess", f"2001:db8:0:1::{n + 1:x}")
    assert sign_in(db, "margaret", PASSWORD, "2001:db8:0:1::ffff") == throttled(LOCK_SECONDS)
    assert sign_in(db, "margaret", PASSWORD, "2001:db8:0:2::1") == "ok"


def test_a_distributed_attack_meets_the_per_name_ceiling(db):
    """Many addresses, each under its own limits: after NAME_FREE failures the name is
    refused from every address, the real user's too (see the README), for a bounded time."""
    addresses = [f"192.0.2.{n}" for n in range(1, NAME_FREE // (PAIR_FREE - 1) + 2)]
    attempts = [a for a in addresses for _ in range(PAIR_FREE - 1)][:NAME_FREE]
    messages = [sign_in(db, "margaret", "guess", address) for address in attempts]
    assert messages == [WRONG] * (NAME_FREE - 1) + [starts_lock(LOCK_SECONDS)]
    assert sign_in(db, "margaret", PASSWORD, USER_ADDRESS) == throttled(LOCK_SECONDS)
    assert sign_in(db, "someone", "guess", USER_ADDRESS) == WRONG  # other names are not
    later = NOW + dt.timedelta(seconds=LOCK_SECONDS)
    assert sign_in(db, "margaret", PASSWORD, USER_ADDRESS, later) == "ok"
    [lock] = [row for row in audit_rows(db) if row[1] == "lockout"]
    assert lock[4] == (f"sign-ins as margaret (from every address) refused for "
                       f"{LOCK_SECONDS} s after {NAME_FREE} failures (last from {attempts[-1]})")
    # An admin's new password starts the name's counts again.
    for address in addresses[:2]:
        sign_in(db, "margaret", "guess", address, later)
    with session_scope(db, write=True) as session:
        users.set_password(session, SYSTEM, users.find_user(session, "margaret").user_id,
                           "a brand new password")
    assert not [key for key in buckets(db) if key[1] == "margaret"]


def test_unknown_and_known_usernames_are_throttled_alike(db, cheap_hashes):
    """The same messages, the same password checks (argon2 runs once per checked attempt
    either way, so they take the same time) and the same rows, for a name that exists, one
    that does not and a deactivated account."""
    with session_scope(db, write=True) as session:
        gone = factories.user(session, "sales", username="gone", password=PASSWORD)
        users.update_user(session, SYSTEM, gone.user_id, {"active": False})
    seen = {}
    for name, address in (("margaret", "192.0.2.1"), ("nobody", "192.0.2.2"),
                          ("gone", "192.0.2.3")):
        cheap_hashes.clear()
        messages = [sign_in(db, name, "guess", address) for _ in range(PAIR_FREE)]
        messages.append(sign_in(db, name, PASSWORD, address))  # throttled: not checked
        rows = {(scope, key_address): value for (scope, key_name, key_address), value
                in buckets(db).items() if key_name == name}
        entries = [(action, entity, summary.replace(name, "NAME").replace(address, "ADDRESS"))
                   for who, action, entity, _, summary in audit_rows(db) if who == name]
        seen[name] = (messages, len(cheap_hashes), rows, entries)
    assert seen["margaret"][0] == [WRONG] * (PAIR_FREE - 1) + [starts_lock(LOCK_SECONDS),
                                                               throttled(LOCK_SECONDS)]
    assert seen["margaret"][1] == PAIR_FREE
    assert seen["nobody"][0] == seen["gone"][0] == seen["margaret"][0]
    assert seen["nobody"][1] == seen["gone"][1] == seen["margaret"][1]
    strip = {name: ({scope: value for (scope, _), value in rows.items()}, entries)
             for name, (_, _, rows, entries) in seen.items()}
    assert len(strip["margaret"][1]) == PAIR_FREE + 1  # the failures and the lock
    assert strip["nobody"] == strip["gone"] == strip["margaret"]


def test_failed_sign_ins_and_lockouts_are_audited_without_the_password(db):
    secret = "my-secret-guess"
    for _ in range(PAIR_FREE):
        sign_in(db, "Margaret", secret, ATTACKER)
    sign_in(db, "margaret", PASSWORD, ATTACKER)  # refused while throttled: not audited
    sign_in(db, "margaret", PASSWORD, USER_ADDRESS)  # a success: not a sign_in entry
    rows = audit_rows(db)
    failures = [row for row in rows if row[1] == "sign_in_failed"]
    assert failures == [("margaret", "sign_in_failed", "sign_in", ATTACKER,
                         f"failed sign-in as margaret from {ATTACKER}")] * PAIR_FREE
    assert [row for row in rows if row[1] == "lockout"] == [
        ("margaret", "lockout", "sign_in", ATTACKER,
         f"sign-ins as margaret from {ATTACKER} refused for {LOCK_SECONDS} s after "
         f"{PAIR_FREE} failures (last from {ATTACKER})")]
    assert len(rows) == PAIR_FREE + 1
    with session_scope(db) as session:
        everything = [tuple(row) for row in session.execute(select(AuditEntry)).scalars()]
        assert secret not in repr(everything) and PASSWORD not in repr(everything)
        # Admins find them in the trail (the /audit screen and GET /api/audit read this).
        admin = auth.Actor(user_id=None, username="boss", role="admin")
        page = audit.list_audit(session, admin, ListParams(
            filters={"entity": "sign_in", "action": "lockout"}))
        assert [(e.username, e.entity_key) for e in page.items] == [("margaret", ATTACKER)]
        by_name = audit.list_audit(session, admin, ListParams(filters={"username": "margaret"}))
        assert by_name.total == PAIR_FREE + 1


def test_counts_start_again_after_the_window_and_old_rows_go(db):
    for _ in range(PAIR_FREE - 1):
        sign_in(db, "margaret", "guess", ATTACKER)
    after = NOW + WINDOW
    # A new window: the earlier failures no longer count (a lock would need PAIR_FREE more).
    assert sign_in(db, "margaret", "guess", ATTACKER, after) == WRONG
    assert buckets(db)[("pair", "margaret", ATTACKER)] == (1, None)
    for _ in range(PAIR_FREE - 1):
        sign_in(db, "margaret", "guess", ATTACKER, after)
    assert buckets(db)[("pair", "margaret", ATTACKER)][1] == after + dt.timedelta(
        seconds=LOCK_SECONDS)
    # A later failure elsewhere purges the buckets whose window and lock are over.
    sign_in(db, "someone", "guess", USER_ADDRESS, after + WINDOW)
    assert set(buckets(db)) == {("pair", "someone", USER_ADDRESS), ("address", "", USER_ADDRESS),
                                ("name", "someone", "")}


def test_concurrent_failures_all_count(db):
    """Failures from several workers at once, contending for one address's bucket and for
    one name's (one upsert per bucket, retried after a deadlock): none is lost."""
    threads = 8
    numbers = itertools.count()

    def attempt():
        n = next(numbers)
        sign_in(db, f"sprayed{n}", "guess", ATTACKER)  # one address, many names
        sign_in(db, "nobody", "guess", f"192.0.2.{n + 1}")  # one name, many addresses

    run_in_threads(attempt, threads)
    counts = buckets(db)
    assert counts[("address", "", ATTACKER)] == (threads, None)
    assert counts[("name", "nobody", "")] == (threads, None)
    assert len([row for row in audit_rows(db) if row[1] == "sign_in_failed"]) == 2 * threads


def test_the_migration_runs_again_after_a_half_applied_run(empty_db):
    """MariaDB does not roll back DDL: a run of 0009 that stopped half-way (here: the table
    made, the columns still there; and: everything done but the version) can be run again."""
    config = alembic_config(empty_db)
    engine = get_engine(empty_db)
    command.downgrade(config, "0008")
    columns = {c["name"] for c in inspect(engine).get_columns("users")}
    assert {"failed_logins", "locked_until"} <= columns
    assert "sign_in_throttle" not in inspect(engine).get_table_names()
    with engine.begin() as conn:  # the first step of 0009 only
        SignInThrottle.__table__.create(conn)
    upgrade_to_head(empty_db)
    assert schema_differences(engine) == []
    command.stamp(config, "0008")  # every step done, the version not written
    upgrade_to_head(empty_db)
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sign_in_throttle")).scalar() == 0
