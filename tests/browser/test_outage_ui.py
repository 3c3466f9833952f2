"""The screens while the database is down: banner within 3 s, write buttons disabled, no
traceback, recovery without a reload once the database is back.

This module runs its own MariaDB (own datadir, port and socket, in a temporary directory;
stopped and started again by its pid, never the shared server) and its own production app
server pointed at it, built into its own folder (NORTHWIND_TEST_OUTAGE_WEB_WORKDIR, default
.web-test-outage) so that it never rebuilds the one the other browser tests' server serves.
The database URL sets `connect_timeout=2`, so a probe of a dead server fails fast.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from northwind_app.data.classic import load_classic
from northwind_app.data.loading import add_demo_users
from northwind_app.db.engine import dispose_engine, get_engine
from northwind_app.db.migrations import upgrade_to_head
from tests.browser.conftest import TIMEOUT_MS, _free_port, prod_server, session_cookie
from tests.dbutil import CLASSIC_DIR, REQUIRE_MARIADB

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
BANNER_WITHIN_MS = 3_000


class PrivateMariaDB:
    """A MariaDB server of this test alone: its datadir, socket and port in `base`."""

    def __init__(self, base: Path):
        self.base = base
        self.datadir = base / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.url = (f"mysql+pymysql://root@127.0.0.1:{self.port}/northwind"
                    "?charset=utf8mb4&connect_timeout=2")
        as_root = os.geteuid() == 0
        self._user = ["--user=mysql"] if as_root else []
        if as_root:  # the server runs as mysql: its folder must be its own
            shutil.chown(base, "mysql", "mysql")
        subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", *self._user,
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             f"--socket={self.base / 'mysqld.sock'}", "--bind-address=127.0.0.1",
             f"--pid-file={self.base / 'mysqld.pid'}", f"--log-error={self.base / 'error.log'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=64M", *self._user,
             # its own tmpdir: a starting mariadbd deletes every #sql* file in its tmpdir,
             # other servers' live temporary tables too (bench/README.md, the crash)
             f"--tmpdir={self.base}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        engine = create_engine(f"mysql+pymysql://root@127.0.0.1:{self.port}/",
                               connect_args={"connect_timeout": 1})
        deadline = time.monotonic() + 60
        try:
            while True:
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                    return
                except Exception:  # noqa: BLE001 - not up yet
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the test's MariaDB did not start:\n"
                                           + (self.base / "error.log").read_text()[-2000:])
                    time.sleep(0.2)
        finally:
            engine.dispose()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop this server (only it: by its own pid)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture(scope="module")
def own_mariadb():
    if not (os.access(MARIADBD, os.X_OK) and os.access(INSTALL_DB, os.X_OK)):
        message = f"no MariaDB server binary ({MARIADBD}) to start a private server"
        if REQUIRE_MARIADB:
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="nw-outage-db-"))
    base.chmod(0o755)
    server = PrivateMariaDB(base)
    try:
        server.start()
        admin = create_engine(f"mysql+pymysql://root@127.0.0.1:{server.port}/")
        with admin.begin() as connection:
            connection.execute(text("CREATE DATABASE northwind CHARACTER SET utf8mb4 "
                                    "COLLATE utf8mb4_unicode_ci"))
        admin.dispose()
        upgrade_to_head(server.url)
        with get_engine(server.url).begin() as connection:
            load_classic(connection, CLASSIC_DIR)
            add_demo_users(connection)
        yield server
    finally:
        dispose_engine(server.url)
        server.stop(signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def outage_app(own_mariadb, tmp_path_factory):
    """(base URL, log file) of a production app server on the private MariaDB."""
    workdir = os.environ.get("NORTHWIND_TEST_OUTAGE_WEB_WORKDIR", ".web-test-outage")
    with prod_server(own_mariadb.url, workdir, tmp_path_factory, "outage") as served:
        yield served


@pytest.fixture
def outage_page(browser, outage_app, own_mariadb):
    """A page signed in as the demo admin on the outage app server."""
    base, _log = outage_app
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([session_cookie(own_mariadb.url, base, "admin")])
    yield context.new_page()
    context.close()


def _banner_shows(page) -> None:
    from playwright.sync_api import expect
    expect(page.get_by_test_id("outage-banner")).to_have_text(
        "The database is not reachable; retrying…", timeout=BANNER_WITHIN_MS)


def _banner_goes(page) -> None:
    from playwright.sync_api import expect
    expect(page.get_by_test_id("outage-banner")).to_have_count(0)


def test_the_screens_survive_the_database_going_away_and_coming_back(
        outage_page, outage_app, own_mariadb, browser):
    from playwright.sync_api import expect
    base, log_path = outage_app
    orders = outage_page  # a tab on the order list
    orders.goto("/orders")
    expect(orders.get_by_test_id("list-row")).to_have_count(25)
    order = orders.context.new_page()  # a tab on an order
    order.goto("/orders/11077")  # not shipped: it may be deleted
    expect(order.get_by_test_id("order-customer")).to_have_text("Rattlesnake Canyon Grocery")
    expect(orders.get_by_test_id("outage-banner")).to_have_count(0)
    anonymous = browser.new_context(base_url=base)
    anonymous.set_default_timeout(TIMEOUT_MS)
    login = anonymous.new_page()  # a tab about to sign in
    login.goto("/login")
    expect(login.get_by_test_id("login-submit")).to_be_enabled()  # hydrated
    log_before = log_path.read_text()

    own_mariadb.stop(signal.SIGKILL)
    try:
        # The list's next page: the banner, and neither the old rows nor a generic error;
        # its controls disabled.
        orders.get_by_role("button", name="Next page").click()
        _banner_shows(orders)
        expect(orders).to_have_url(re.compile(r"/orders\?page=2$"))
        expect(orders.get_by_test_id("list-row")).to_have_count(0)
        expect(orders.get_by_test_id("list-error")).to_contain_text("not reachable")
        expect(orders.get_by_role("button", name="Previous page")).to_be_disabled()
        expect(orders.get_by_role("textbox", name="Search")).to_be_disabled()

        # Deleting the order shown: the banner, and its write buttons disabled, the
        # dialog's too; nothing deleted.
        order.get_by_test_id("delete-order").click()
        order.get_by_test_id("confirm-delete").click()
        _banner_shows(order)
        expect(order.get_by_test_id("confirm-delete")).to_be_disabled()
        expect(order.get_by_test_id("delete-order")).to_be_disabled()
        # Edit is a link (styled as a button): links still work; the form shows the banner.
        expect(order.get_by_test_id("edit-order")).to_have_attribute(
            "href", re.compile(r"/orders/\d+/edit$"))
        # Opened in a new tab (the session not checked yet): the banner, not a spinner for
        # ever.
        fresh = orders.context.new_page()
        fresh.goto("/orders/11077")
        _banner_shows(fresh)

        # Signing in: the banner and a message within 3 s instead of a spinner; the button
        # disabled until the database is back.
        login.locator("#username").fill("admin")
        login.locator("#password").fill("northwind-admin")
        login.get_by_test_id("login-submit").click()
        _banner_shows(login)
        expect(login.get_by_test_id("password-error")).to_contain_text(
            "database is not reachable", timeout=BANNER_WITHIN_MS)
        expect(login.get_by_test_id("login-submit")).to_be_disabled()
        # The login page opened with a session cookie (which it checks) shows it at once.
        second_login = orders.context.new_page()
        second_login.goto("/login")
        _banner_shows(second_login)
        expect(second_login.get_by_test_id("login-submit")).to_be_disabled()
        orders.wait_for_timeout(3_000)  # a few probes fail meanwhile
    finally:
        own_mariadb.start()

    # Back: the banners go and each page loads its data again, without a reload.
    _banner_goes(orders)
    expect(orders.get_by_test_id("list-range")).to_have_text("Rows 26–50 of 830")
    expect(orders.get_by_test_id("list-row")).to_have_count(25)
    expect(orders.get_by_test_id("list-error")).to_have_count(0)
    expect(orders.get_by_role("button", name="Previous page")).to_be_enabled()
    for tab in (order, fresh):
        _banner_goes(tab)
        expect(tab.get_by_test_id("order-customer")).to_have_text("Rattlesnake Canyon Grocery")
    expect(order.get_by_test_id("confirm-delete")).to_be_enabled()
    order.get_by_role("button", name="Cancel").click()
    expect(order.get_by_test_id("delete-order")).to_be_enabled()
    _banner_goes(second_login)
    expect(second_login).to_have_url(re.compile(r"/$"))  # signed in already: goes on
    _banner_goes(login)
    login.get_by_test_id("login-submit").click()
    expect(login).to_have_url(re.compile(r"/$"))
    anonymous.close()

    # The server log: a line when the database went and one when it came back; no trace.
    during = log_path.read_text()[len(log_before):]
    assert "Traceback" not in during and "Backend Exception" not in during, during[-3000:]
    assert len(re.findall(r"Database unreachable", during)) == 1, during[-3000:]
    assert "Database reachable again" in during, during[-3000:]
