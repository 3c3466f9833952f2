"""A hung database fails requests fast (issue #20): with MariaDB frozen (SIGSTOP), /api/health
answers 503 within its own deadline and data endpoints 503 within the read timeout, instead
of waiting for the server to wake up; once it does, everything answers again.

The test freezes a MariaDB server of its own (own data directory, port and socket, stopped by
its pid), never the shared one."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymysql
import pytest
from sqlalchemy import text

from northwind_app.api import app as api_app
from northwind_app.db import engine as db_engine
from northwind_app.db.engine import Timeouts, dispose_engine, get_engine
from northwind_app.db.migrations import upgrade_to_head
from tests.api.server import api_client, assert_error
from tests.dbutil import REQUIRE_MARIADB

CONNECT, READ, HEALTH = 1.0, 3.0, 1.5  # seconds, as configured for this test
MARGIN = 1.5  # scheduling on a busy machine


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(path) for path in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
         if path.exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def own_mariadb() -> Iterator[tuple[str, int]]:
    """A MariaDB server for this module only: (URL of its database `northwind`, its pid)."""
    mariadbd, install = _binary("mariadbd"), _binary("mariadb-install-db")
    if not (mariadbd and install):
        message = "mariadbd and mariadb-install-db are needed to freeze a server of our own"
        if REQUIRE_MARIADB:
            pytest.fail(message)
        pytest.skip(message)
    home = Path(tempfile.mkdtemp(prefix="nw-hang-"))
    user = []
    if os.geteuid() == 0:  # the server refuses to run as root; it runs as mysql
        mysql = pwd.getpwnam("mysql")
        os.chown(home, mysql.pw_uid, mysql.pw_gid)
        user = ["--user=mysql"]
    datadir, sock, port = home / "data", home / "mysqld.sock", _free_port()
    subprocess.run([install, "--no-defaults", f"--datadir={datadir}", *user,
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, timeout=300)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [mariadbd, "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
         f"--port={port}", "--bind-address=127.0.0.1", *user, "--skip-log-bin",
         "--innodb-buffer-pool-size=32M", f"--pid-file={home / 'mysqld.pid'}",
         # its own tmpdir: a starting mariadbd deletes every #sql* file in its tmpdir,
         # other servers' live temporary tables too (bench/README.md, the crash)
         f"--tmpdir={home}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="root",
                                connect_timeout=1).close()
                break
            except pymysql.err.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("own mariadbd did not start: "
                                       + (home / "server.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        with pymysql.connect(host="127.0.0.1", port=port, user="root") as conn:
            conn.cursor().execute("CREATE DATABASE northwind CHARACTER SET utf8mb4")
        yield f"mysql+pymysql://root@127.0.0.1:{port}/northwind?charset=utf8mb4", server.pid
    finally:
        os.kill(server.pid, signal.SIGCONT)  # a frozen server cannot stop
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


TIMES: list[str] = []


def _timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    seconds = time.monotonic() - started
    TIMES.append(f"{response.request.method} {response.request.url.path} "
                 f"{response.status_code} in {seconds:.2f} s")
    return response, seconds


def test_a_hung_database_fails_requests_fast_and_they_recover(own_mariadb, monkeypatch):
    url, pid = own_mariadb
    configured = dataclasses.replace(db_engine.settings, db_connect_timeout=CONNECT,
                                     db_read_timeout=READ, db_write_timeout=READ,
                                     health_timeout=HEALTH)
    monkeypatch.setattr(db_engine, "settings", configured)
    monkeypatch.setattr(api_app, "settings", configured)
    upgrade_to_head(url)
    try:
        with get_engine(url).connect() as conn:  # a lock wait ends before the read times out
            assert conn.execute(text("SELECT @@innodb_lock_wait_timeout")).scalar_one() == \
                Timeouts.configured().lock_wait == 2
        with api_client(url, role="sales") as client:
            client.timeout = httpx.Timeout(60)
            assert client.get("/api/health").status_code == 200
            created = client.post("/api/customers", json={"customer_id": "ALFKI",
                                                          "company_name": "Alfreds"})
            assert created.status_code == 201, created.text
            assert client.get("/api/customers").status_code == 200
            for _ in range(3):  # the lean reads' statements get their plans (db/loop_reads.py)
                assert client.get("/api/orders").status_code == 200

            os.kill(pid, signal.SIGSTOP)
            try:
                # A lean read on the event loop (the token is cached) gives up at the deadline.
                response, seconds = _timed(lambda: client.get("/api/orders"))
                assert_error(response, 503, "database_unavailable", set())
                assert seconds < READ + MARGIN, seconds
                # The connection was just used (not pinged): the query waits the read timeout.
                response, seconds = _timed(lambda: client.get("/api/customers"))
                assert_error(response, 503, "database_unavailable", set())
                assert seconds < READ + MARGIN, seconds
                health, seconds = _timed(lambda: client.get("/api/health"))
                assert_error(health, 503, "database_unavailable", set())
                assert seconds < HEALTH + 0.5, seconds
                time.sleep(2.1)  # past the cached token (auth.token_cache): its lookup hangs too
                for call in (lambda: client.get("/api/customers/ALFKI"),
                             lambda: client.patch("/api/customers/ALFKI", json={"city": "X"}),
                             lambda: client.get("/api/health")):
                    response, seconds = _timed(call)
                    assert_error(response, 503, "database_unavailable", set())
                    assert seconds < READ + MARGIN, seconds
            finally:
                os.kill(pid, signal.SIGCONT)

            deadline = time.monotonic() + 30
            while client.get("/api/health").status_code != 200:
                assert time.monotonic() < deadline, "no recovery after SIGCONT"
                time.sleep(0.2)
            assert client.get("/api/customers/ALFKI").json()["city"] is None
            patched = client.patch("/api/customers/ALFKI", json={"city": "Berlin"})
            assert (patched.status_code, patched.json()["city"]) == (200, "Berlin")
        print("\nfrozen database:", "; ".join(TIMES))
    finally:
        dispose_engine(url)
