"""One production-mode app server and one Chromium for the whole browser test session.

The server is `reflex run --env prod --single-port` in its own process group (so npm/Vite and
the workers all stop with it), on a free port, against a fresh SQLite database holding the
classic Northwind data and the demo accounts (admin, sales, viewer).

`page` is a fresh browser context signed in as the demo admin (its session cookie is made
through the auth service, so tests do not pay for the login form); `page_as(role)` gives one
signed in as another demo user, and `anonymous_page` one that is not signed in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from northwind_app.data.classic import load_classic
from northwind_app.data.loading import add_demo_users
from northwind_app.db.engine import get_engine, session_scope
from northwind_app.services import auth
from northwind_app.services.users import find_user
from northwind_app.ui.auth import COOKIE_NAME
from northwind_app.db.migrations import upgrade_to_head
from northwind_app.settings import PROJECT_ROOT
from tests.dbutil import CLASSIC_DIR
from tests.prodserver import stop_group

CHROMIUM = os.environ.get("NORTHWIND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
START_TIMEOUT = 900
TIMEOUT_MS = 15_000  # actions and assertions; a 2-core CI machine runs server and browser


def settled(scope, *fields: str) -> None:
    """Wait until the corrected fields' errors are gone before the next click.

    An edit clears its field's error when the input reports it (at the latest on blur, i.e. at the
    next mouse-down), and the line's removal moves the Save button up: a click whose mouse-up lands
    after that shift ends outside the button and is lost. A person pauses long enough after typing
    for the report to have come; a test waits for it."""
    for name in fields:
        scope.get_by_test_id(f"error-{name}").first.wait_for(state="detached", timeout=TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001
        return False


def classic_app_db(path: Path) -> str:
    """URL of a new SQLite database at `path`: migrated, the classic data, the demo users
    (the data every app server of the browser tests serves)."""
    url = f"sqlite:///{path}"
    upgrade_to_head(url)
    with get_engine(url).begin() as conn:
        load_classic(conn, CLASSIC_DIR)
        add_demo_users(conn)
    return url


@pytest.fixture(scope="session")
def app_db_url(tmp_path_factory) -> str:
    return classic_app_db(tmp_path_factory.mktemp("app") / "browser.db")


@contextmanager
def prod_server(db_url: str, web_workdir: str, tmp_path_factory,
                name: str = "app") -> Iterator[tuple[str, Path]]:
    """(base URL, log file) of a production app server (`reflex run --env prod
    --single-port`) on `db_url`, in its own process group on a free port, built in its own
    `web_workdir` (so a developer's running app, .web, is not disturbed) with its own state
    folder; stopped, group and all, when the block ends."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp(f"{name}-logs") / "reflex.log"
    env = {**os.environ, "NORTHWIND_DATABASE_URL": db_url, "REFLEX_CHECK_LATEST_VERSION": "0",
           "REFLEX_WEB_WORKDIR": web_workdir,
           "REFLEX_STATES_WORKDIR": str(tmp_path_factory.mktemp(f"{name}-states"))}
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
         "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "info"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not (_ready(base + "/api/health") and _ready(base + "/")):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"app server did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(1)
        yield base, log_path
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="session")
def app_url(app_db_url, tmp_path_factory) -> Iterator[str]:
    with prod_server(app_db_url, os.environ.get("NORTHWIND_TEST_WEB_WORKDIR", ".web-test"),
                     tmp_path_factory) as (base, _log):
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def session_cookie(app_db_url: str, app_url: str, username: str) -> dict:
    """A signed-in browser session for a demo user, as the cookie the screens use."""
    with session_scope(app_db_url, write=True) as session:
        token = auth.start_session(session, auth.actor_of(find_user(session, username)))
    return {"name": COOKIE_NAME, "value": token, "url": app_url, "sameSite": "Strict"}


@pytest.fixture(autouse=True)
def _sign_ins_start_unthrottled(request):
    """Every test of the shared server starts with no failed sign-in counted: they all come
    from this machine's address, and the address's throttle (services/throttle.py) would
    otherwise carry one test's deliberate failures into the next one's sign-in."""
    if "app_db_url" in request.fixturenames:
        with get_engine(request.getfixturevalue("app_db_url")).begin() as conn:
            conn.execute(text("DELETE FROM sign_in_throttle"))
    yield


@pytest.fixture
def page_as(browser, app_url, app_db_url):
    """page_as("viewer") → a page signed in as that demo user (None: not signed in)."""
    contexts = []

    def make(username: str | None):
        context = browser.new_context(base_url=app_url, viewport={"width": 1366, "height": 900},
                                      accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        if username:
            context.add_cookies([session_cookie(app_db_url, app_url, username)])
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_as):
    return page_as("admin")


@pytest.fixture
def anonymous_page(page_as):
    return page_as(None)
