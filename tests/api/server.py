"""A real HTTP server for API tests: uvicorn in a background thread on a free 127.0.0.1 port,
an httpx client pointed at it, and the check of the standard error body."""

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

UNREACHABLE_DB = "mysql+pymysql://root@127.0.0.1:1/x"


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
def api_client(database_url: str, app: FastAPI | None = None) -> Iterator[httpx.Client]:
    with serve(app or create_api(database_url=database_url)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
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
