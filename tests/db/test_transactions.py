"""The one transaction runner (db/engine.py `write_transaction`): a deadlock or lock-wait
timeout runs the whole transaction again (nothing of a failed try stays, audit entries
included), a conflict that persists becomes WriteConflict (409), and any other error is
raised at once, untried again."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pymysql
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from northwind_app.db import engine as db_engine
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.models import AuditEntry, Customer
from northwind_app.services import customers
from northwind_app.services.auth import SYSTEM
from northwind_app.api.errors import status_of
from northwind_app.services.errors import Conflict, WriteConflict
from tests import dbutil


def driver_error(code: int, message: str = "simulated") -> OperationalError:
    """What SQLAlchemy raises for a MySQL error `code` (1213: deadlock)."""
    return OperationalError("UPDATE customers ...", {}, pymysql.err.OperationalError(code, message))


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    monkeypatch.setattr(db_engine, "RETRY_FIRST_WAIT", 0.001)


def _counts(url: str) -> tuple[int, int]:
    with session_scope(url) as session:
        return (session.execute(select(func.count()).select_from(Customer)).scalar_one(),
                session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _create(session, customer_id: str = "NWTRD") -> dict:
    return customers.create_customer(session, {"customer_id": customer_id,
                                               "company_name": "Northwind Traders"},
                                     actor=SYSTEM)


def test_a_persistent_deadlock_is_retried_then_a_write_conflict(empty_db, monkeypatch):
    monkeypatch.setattr(db_engine, "settings",
                        dataclasses.replace(db_engine.settings, write_attempts=4))
    tries = []

    def write(session):
        tries.append(_create(session))  # written (with its audit entry), then the deadlock
        raise driver_error(1213, "Deadlock found when trying to get lock")

    with pytest.raises(WriteConflict) as raised:
        write_transaction(write, empty_db)
    assert len(tries) == 4
    assert status_of(raised.value) == (409, "conflict")
    assert "nothing was saved" in raised.value.message and "Try again" in raised.value.message
    assert isinstance(raised.value.__cause__, OperationalError)
    assert _counts(empty_db) == (0, 0)  # no try left anything behind
    tries.clear()

    def lock_wait(session):
        tries.append(1)
        raise driver_error(1205, "Lock wait timeout exceeded; try restarting transaction")

    with pytest.raises(WriteConflict):  # a lock-wait timeout alike; `attempts` per call
        write_transaction(lock_wait, empty_db, attempts=2)
    assert len(tries) == 2


def test_a_retried_transaction_is_written_exactly_once(empty_db):
    tries = []

    def write(session):
        created = _create(session)
        tries.append(created)
        if len(tries) < 3:
            raise driver_error(1213)
        return created["customer_id"]

    assert write_transaction(write, empty_db) == "NWTRD"
    assert len(tries) == 3
    assert _counts(empty_db) == (1, 1)  # one customer, one audit entry: none from failed tries


@pytest.mark.parametrize("error", [
    driver_error(2013, "Lost connection to MySQL server during query"),  # an outage: 503
    driver_error(1047, "WSREP has not yet prepared node for application use"),
    IntegrityError("INSERT ...", {}, pymysql.err.IntegrityError(1062, "Duplicate entry")),
    Conflict("Customer NWTRD has 6 orders and cannot be deleted."),
    RuntimeError("a bug"),
])
def test_other_errors_are_raised_at_once(empty_db, error):
    tries = []

    def write(session):
        _create(session)
        tries.append(1)
        raise error

    with pytest.raises(type(error)) as raised:
        write_transaction(write, empty_db)
    assert raised.value is error
    assert len(tries) == 1
    assert _counts(empty_db) == (0, 0)


# --- real conflicts on MariaDB --------------------------------------------------------------


@pytest.fixture
def mariadb_url(tmp_path, monkeypatch) -> Iterator[str]:
    dbutil.require_backend("mariadb")
    # Lock waits end after 1 s (the engine is made on first use, after this).
    monkeypatch.setattr(db_engine, "settings",
                        dataclasses.replace(db_engine.settings, db_lock_wait_timeout=1))
    db = dbutil.TestDatabase("mariadb", tmp_path).migrate()
    with session_scope(db.url, write=True) as session:
        _create(session, "AAAAA")
        _create(session, "BBBBB")
    yield db.url
    db.drop()


def _rename(session, customer_id: str, name: str) -> None:
    customers.update_customer(session, customer_id, {"company_name": name}, actor=SYSTEM)


def _names(url: str) -> dict[str, str]:
    with session_scope(url) as session:
        return dict(session.execute(select(Customer.customer_id, Customer.company_name)).all())


def _updates(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "update")).scalar_one()


def test_a_real_deadlock_is_retried(mariadb_url):
    """Two transactions take two rows in opposite orders: the server kills one (1213), the
    runner runs it again, both changes are saved, each audited once."""
    both_hold_one = threading.Barrier(2, timeout=10)
    tries = {"AB": 0, "BA": 0}
    errors = []

    def transaction(order: str) -> None:
        first, second = (f"{letter * 5}" for letter in order)

        def write(session):
            tries[order] += 1
            _rename(session, first, f"{order} first")
            if tries[order] == 1:
                both_hold_one.wait()
            _rename(session, second, f"{order} second")

        try:
            write_transaction(write, mariadb_url)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=transaction, args=(order,)) for order in tries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(tries.values()) == [1, 2]  # the deadlock's victim ran again
    retried = "AB" if tries["AB"] == 2 else "BA"
    assert _names(mariadb_url) == {retried[1] * 5: f"{retried} second",
                                   retried[0] * 5: f"{retried} first"}
    assert _updates(mariadb_url) == 4  # 2 per transaction, none of the killed try


def test_a_lock_wait_timeout_is_retried(mariadb_url):
    holding = threading.Event()

    def hold() -> None:
        with session_scope(mariadb_url, write=True) as session:
            session.execute(update(Customer).where(Customer.customer_id == "AAAAA")
                            .values(company_name="Holder"))
            holding.set()
            time.sleep(2.5)  # longer than the 1 s lock wait

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    tries = []

    def write(session):
        tries.append(1)
        _rename(session, "AAAAA", "Waited")

    started = time.monotonic()
    write_transaction(write, mariadb_url)
    holder.join()
    assert len(tries) >= 2  # 1205 after 1 s, then again until the holder committed
    assert time.monotonic() - started >= 2.0
    assert _names(mariadb_url)["AAAAA"] == "Waited"
    assert _updates(mariadb_url) == 1


def test_a_conflict_at_commit_is_retried(mariadb_url, monkeypatch):
    """Galera reports a certification failure as a deadlock at COMMIT: the transaction is
    rolled back and runs again."""
    commits = []
    original = db_engine._Connection.commit

    def commit(self):
        commits.append(1)
        if len(commits) == 1:  # as Galera does: the transaction is rolled back, COMMIT fails
            self.rollback()
            raise pymysql.err.OperationalError(1213, "Deadlock: wsrep aborted transaction")
        original(self)

    monkeypatch.setattr(db_engine._Connection, "commit", commit)
    tries = []

    def write(session):
        tries.append(1)
        _create(session, "CCCCC")

    write_transaction(write, mariadb_url)
    assert (len(tries), len(commits)) == (2, 2)
    assert set(_names(mariadb_url)) == {"AAAAA", "BBBBB", "CCCCC"}
    with session_scope(mariadb_url) as session:
        assert session.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.entity_key == "CCCCC")).scalar_one() == 1
