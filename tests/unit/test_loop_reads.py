"""Where the lean reads may run on the event loop (db/loop_reads.py); the reads themselves are
tested against FastAPI's answers in tests/api/test_lean.py, and a hung database in
tests/api/test_database_hang.py."""

from __future__ import annotations

import dataclasses

import pytest

from northwind_app.db import loop_reads as loop


@pytest.mark.parametrize("url, expected", [
    ("mysql+pymysql://root@127.0.0.1:3306/northwind?charset=utf8mb4", True),
    ("mysql+pymysql://app:secret@localhost/northwind", True),
    ("mysql+pymysql://root@[::1]:3307/northwind", True),
    # A remote server: the thread path's connections may use TLS ("preferred"); these not.
    ("mysql+pymysql://app:secret@db.example:3306/northwind?charset=utf8mb4", False),
    ("mysql+pymysql://root@127.0.0.1/northwind?ssl_ca=/etc/ca.pem", False),
    ("mysql+pymysql://root@127.0.0.1/northwind?unix_socket=/run/mysqld/mysqld.sock", False),
    ("mysql+mysqldb://root@127.0.0.1/northwind", False),
    ("sqlite:///northwind.db", False),
])
def test_reads_run_on_the_loop_only_for_a_local_mariadb_through_pymysql(url, expected):
    assert loop.eligible(url) is expected


def test_the_setting_turns_them_off(monkeypatch):
    url = "mysql+pymysql://root@127.0.0.1:3306/nw_setting_test"
    monkeypatch.setattr(loop, "_READS", {})
    monkeypatch.setattr(loop, "settings", dataclasses.replace(loop.settings, loop_reads=False))
    assert loop.loop_reads(url) is None
    monkeypatch.setattr(loop, "_READS", {})
    monkeypatch.setattr(loop, "settings", dataclasses.replace(loop.settings, loop_reads=True))
    assert isinstance(loop.loop_reads(url), loop.LoopReads)


def test_what_the_loop_session_cannot_do_sends_the_read_to_a_thread():
    session = loop.LoopSession(object(), engine=None)  # type: ignore[arg-type]
    with pytest.raises(loop.NotOnTheLoop):
        session.execute("SELECT 1")
    with pytest.raises(loop.NotOnTheLoop):
        session.connection().execute("SELECT 1")
    with pytest.raises(loop.NotOnTheLoop):
        session.connection().exec_driver_sql("SELECT 1")
