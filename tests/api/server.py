"""A real HTTP server for API tests: uvicorn in a background thread on a free 127.0.0.1 port,
an httpx client pointed at it (sending an API token, an admin's by default), the demo users'
tokens of a test database, and the check of the standard error body."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from northwind_app.api.app import create_api
from northwind_app.db.engine import session_scope
from northwind_app.services import users
from northwind_app.services.auth import SYSTEM

UNREACHABLE_DB = "mysql+pymysql://root@127.0.0.1:1/x"
# A well-formed token no database knows (for servers whose database cannot be reached).
UNKNOWN_TOKEN = "nwt_" + "x" * 40

_tokens: dict[str, dict[str, str]] = {}


def demo_tokens(database_url: str) -> dict[str, str]:
    """An API token of each demo user (admin, sales linked to employee 4, viewer), by role:
    the users and tokens are made through the services, once per test database."""
    if database_url not in _tokens:
        with session_scope(database_url, write=True) as session:
            users.create_demo_users(session, SYSTEM)
            tokens = {}
            for spec in users.DEMO_USERS:
                user = users.find_user(session, spec["username"])
                tokens[spec["role"]], _ = users.create_api_token(session, SYSTEM, user.user_id,
                                                                 "tests")
        _tokens[database_url] = tokens
    return _tokens[database_url]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by the accepted connections: without it every response waits ~40 ms for
    # the client's delayed ACK (Nagle), uvicorn writing the head and the body separately.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def api_client(database_url: str, app: FastAPI | None = None, *, role: str | None = "admin",
               token: str | None = None) -> Iterator[httpx.Client]:
    """A client of `app` (default: the API on `database_url`) sending `token`, or else the
    demo token of `role` (None: no Authorization header)."""
    if token is None and role is not None:
        token = demo_tokens(database_url)[role]
    headers = bearer(token) if token else {}
    with serve(app or create_api(database_url=database_url)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
            yield client


def assert_error(response: httpx.Response, status: int, code: str,
                 fields: set[str] | None = None) -> dict:
    """The standard error body with this status and code (and exactly these fields)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert error["message"]
    if fields is not None:
        assert set(error["fields"]) == fields, error
    return error
