"""The MySQL/MariaDB engines send no round trip that does nothing (db/engine.py), yet end
every transaction, refuse writes on the read-only engine and replace a dead connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pymysql
import pytest
from sqlalchemy import make_url, select, text, update
from sqlalchemy.exc import DBAPIError

from northwind_app.db import engine as db_engine
from northwind_app.db.engine import (
    finish, get_engine, make_engine, new_session, run_read, session_scope,
)
from northwind_app.db.models import Customer
from tests import dbutil


@pytest.fixture(scope="module")
def mariadb_url(tmp_path_factory) -> Iterator[str]:
    dbutil.require_backend("mariadb")
    db = dbutil.TestDatabase("mariadb", tmp_path_factory.mktemp("engine")).migrate()
    with session_scope(db.url, write=True) as session:
        session.add(Customer(customer_id="TRIPS", company_name="Round Trips"))
    yield db.url
    db.drop()


@pytest.fixture(autouse=True)
def _no_background_database_work(request) -> None:
    """The test databases' copies and drops (tests/dbutil.py) run on PyMySQL connections of
    this process too: finished before a test counts what every connection sends (and before
    its connections are warmed up, so none of them has idled while waiting)."""
    dbutil.settle()


@contextmanager
def sent() -> Iterator[list[str]]:
    """The commands every PyMySQL connection sends meanwhile (ping as "PING")."""
    commands: list[str] = []
    original = pymysql.connections.Connection._execute_command

    def record(self, command, sql):
        commands.append("PING" if command == pymysql.constants.COMMAND.COM_PING
                        else (sql.decode() if isinstance(sql, bytes) else sql).split()[0])
        return original(self, command, sql)

    pymysql.connections.Connection._execute_command = record
    try:
        yield commands
    finally:
        pymysql.connections.Connection._execute_command = original


def _company(session) -> str:
    return session.execute(select(Customer.company_name)
                           .where(Customer.customer_id == "TRIPS")).scalar_one()


def test_a_read_session_sends_only_its_queries(mariadb_url):
    for _ in range(2):  # the first use connects and pings
        session = new_session(mariadb_url, read_only=True)
        _company(session)
        finish(session)
    with sent() as commands:
        session = new_session(mariadb_url, read_only=True)
        _company(session)
        _company(session)
        finish(session)
    assert commands == ["SELECT", "SELECT"]


def test_a_write_ends_with_one_commit_and_a_failure_with_one_rollback(mariadb_url):
    with session_scope(mariadb_url, write=True) as session:
        _company(session)
    with sent() as commands:
        with session_scope(mariadb_url, write=True) as session:
            session.execute(update(Customer).where(Customer.customer_id == "TRIPS")
                            .values(company_name="Renamed"))
    assert commands == ["UPDATE", "COMMIT"]
    with sent() as commands, pytest.raises(RuntimeError):
        with session_scope(mariadb_url, write=True) as session:
            session.execute(update(Customer).where(Customer.customer_id == "TRIPS")
                            .values(company_name="Not kept"))
            raise RuntimeError("refused after writing")
    assert commands == ["UPDATE", "ROLLBACK"]
    with session_scope(mariadb_url) as session:
        assert _company(session) == "Renamed"


def test_the_read_only_engine_refuses_writes(mariadb_url):
    session = new_session(mariadb_url, read_only=True)
    with pytest.raises(DBAPIError, match="READ ONLY"):
        session.execute(update(Customer).where(Customer.customer_id == "TRIPS")
                        .values(company_name="Written by a reader"))
    finish(session, RuntimeError())
    with session_scope(mariadb_url) as session:
        assert _company(session) != "Written by a reader"


def test_a_read_without_a_session_sends_only_its_queries_and_never_writes(mariadb_url):
    # engine.run_read (the API's lean reads): a connection of the read pool, as a read
    # session has, and nothing else sent; a write through it is refused by the server.
    for _ in range(2):  # the first use connects and pings
        name = run_read(_company, mariadb_url)
    with sent() as commands:
        assert run_read(lambda read: (_company(read), _company(read))[1], mariadb_url) == name
    assert commands == ["SELECT", "SELECT"]
    assert run_read(lambda read: read.get_bind(), mariadb_url) \
        is get_engine(mariadb_url, read_only=True)
    with pytest.raises(DBAPIError, match="READ ONLY"):
        run_read(lambda read: read.execute(update(Customer).where(
            Customer.customer_id == "TRIPS").values(company_name="Written by a reader")),
            mariadb_url)
    with session_scope(mariadb_url) as session:
        assert _company(session) == name


def test_a_read_without_a_session_never_commits_on_sqlite(tmp_path):
    # SQLite has one engine: what a read sends is rolled back at its end, never committed.
    db = dbutil.TestDatabase("sqlite", tmp_path).migrate()
    with session_scope(db.url, write=True) as session:
        session.add(Customer(customer_id="TRIPS", company_name="Round Trips"))

    def write_then_read(read):
        read.execute(update(Customer).where(Customer.customer_id == "TRIPS")
                     .values(company_name="Written by a reader"))
        return _company(read)

    assert run_read(write_then_read, db.url) == "Written by a reader"  # its own transaction
    assert run_read(_company, db.url) == "Round Trips"
    db.drop()


def test_an_idle_dead_connection_is_pinged_and_replaced(mariadb_url, monkeypatch):
    engine = make_engine(mariadb_url, read_only=True)  # its pool holds one connection
    try:
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT CONNECTION_ID()")).scalar_one()
        assert engine.pool.checkedin() == 1
        with get_engine(mariadb_url).connect() as admin:
            admin.execute(text(f"KILL {int(victim)}"))
        # Idle for longer than PING_AFTER_IDLE: pinged, found dead, replaced, and the query
        # runs on a new connection.
        monkeypatch.setattr(db_engine, "PING_AFTER_IDLE", -1.0)
        with sent() as commands, engine.connect() as conn:
            assert conn.execute(text("SELECT CONNECTION_ID()")).scalar_one() != victim
        assert commands[:2] == ["PING", "SET"]  # the failed ping, then a new connection's set-up
    finally:
        engine.dispose()


def test_a_column_set_is_described_once_per_connection(mariadb_url, monkeypatch):
    """A result's descriptions (cursor.description, each column's decoding) are PyMySQL's,
    made once per connection and column set (engine._Result); another column set, or a
    full store, is described anew."""
    sql = ("SELECT customer_id, company_name, CAST(12.5 AS DECIMAL(6,2)) AS amount, "
           "DATE '1998-05-01' AS day, NULL AS nothing FROM customers WHERE customer_id = 'TRIPS'")
    with get_engine(mariadb_url).connect() as conn:
        driver = conn.connection.dbapi_connection
        results = []
        for text_ in (sql, sql, "SELECT 1 AS one", sql):
            cursor = driver.cursor()
            cursor.execute(text_)
            results.append((cursor.description, cursor.fetchall(), cursor._result.converters))
        assert results[0][0] is results[1][0] is results[3][0]
        assert results[0][2] is results[3][2] and results[2][0] != results[0][0]
        assert results[2][1] == ((1,),)
        monkeypatch.setattr(db_engine, "RESULTS_KEPT", 1)
        cursor = driver.cursor()
        cursor.execute("SELECT 2 AS two")  # the store is full: it starts again
        cursor.fetchall()
        cursor.execute(sql)  # described anew, the same
        assert cursor.description == results[0][0] and cursor.description is not results[0][0]
        assert cursor.fetchall() == results[0][1]
    url = make_url(mariadb_url)
    plain = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                            password=url.password or "", database=url.database,
                            charset="utf8mb4")
    with plain, plain.cursor() as cursor:  # PyMySQL's own result
        cursor.execute(sql)
        assert (cursor.description, cursor.fetchall()) == results[3][:2]
        assert cursor._result.converters == results[3][2]


def test_a_column_definition_is_parsed_once(mariadb_url, monkeypatch):
    """Each result's column definitions come from the parsed ones kept by their bytes; what
    the driver makes of them (descriptions, values) is unchanged."""
    parsed: list[bytes] = []
    original = pymysql.protocol.FieldDescriptorPacket._parse_field_descriptor

    def parse(packet, encoding):
        parsed.append(packet.get_all_data())
        return original(packet, encoding)

    monkeypatch.setattr(pymysql.protocol.FieldDescriptorPacket, "_parse_field_descriptor", parse)
    monkeypatch.setattr(db_engine._Connection, "_fields", {})
    sql = ("SELECT customer_id, company_name, CAST(12.5 AS DECIMAL(6,2)) AS amount, "
           "DATE '1998-05-01' AS day, NULL AS nothing FROM customers WHERE customer_id = 'TRIPS'")
    with get_engine(mariadb_url).connect() as conn:
        # as a new connection: no column set described yet (engine._Result)
        conn.connection.dbapi_connection.__dict__.pop("_nw_descriptions", None)
        results = []
        for _ in range(3):
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.execute(sql)
            results.append((cursor.description, cursor.fetchall(), cursor._result.fields))
    url = make_url(mariadb_url)
    plain = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                            password=url.password or "", database=url.database,
                            charset="utf8mb4")
    assert len(parsed) == 5  # once per column, not per result
    assert results[0][2][1] is results[2][2][1]
    with plain, plain.cursor() as cursor:  # PyMySQL's own connection parses every time
        cursor.execute(sql)
        assert (cursor.description, cursor.fetchall()) == results[2][:2]
    (row,) = results[0][1]  # (the company name is another test's to change)
    assert row[0] == "TRIPS" and row[2:] == (Decimal("12.50"), dt.date(1998, 5, 1), None)
    monkeypatch.setattr(db_engine, "FIELDS_KEPT", 5)
    with get_engine(mariadb_url).connect() as conn:  # a full store starts again
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("SELECT 1 AS one")
    assert [data for data, _encoding in db_engine._Connection._fields] == [parsed[-1]]


def test_connections_share_one_preferred_tls_context(mariadb_url):
    """PyMySQL's preferred TLS made a new SSL context (the CA bundle loaded) for every
    connection, about 30 ms of CPU each time the pool opened one: our connections share one.
    Explicit ssl options still get a context of their own."""
    import ssl

    url = make_url(mariadb_url)
    args = {"host": url.host, "port": url.port or 3306, "user": url.username or "root",
            "password": url.password or ""}
    first, second = db_engine._Connection(**args), db_engine._Connection(**args)
    try:
        assert isinstance(first.ctx, ssl.SSLContext)
        assert first.ctx is second.ctx
    finally:
        first.close()
        second.close()
    own = db_engine._Connection.__new__(db_engine._Connection)
    assert own._create_ssl_ctx({"check_hostname": False}) is not first.ctx
