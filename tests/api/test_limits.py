"""The API's request-body limit (api/limits.py, NORTHWIND_MAX_BODY_BYTES): a body announced
too large is refused before it is read, a chunked one while it streams (the API never holds
more than the limit), both with 413 and the standard error body; the websocket's message
limit and the bind address follow the configuration (rxconfig.py)."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request

from northwind_app.api import limits
from northwind_app.api.app import create_api
from northwind_app.api.limits import BodySizeLimit
from northwind_app.settings import PROJECT_ROOT, Settings, settings
from tests import aio
from tests.api.server import assert_error, bearer, demo_tokens, serve

SMALL = 4096  # the limit of the servers these tests start with their own


def _post_head(base_url: str, token: str, framing: str) -> bytes:
    host = urlsplit(base_url).netloc
    return (f"POST /api/customers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n").encode()


def _read_response(sock: socket.socket) -> httpx.Response:
    """The (Content-Length framed) response waiting on `sock`."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    return httpx.Response(int(lines[0].split()[1]), headers=headers, content=body)


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


@pytest.fixture(scope="module")
def small_limit_api(classic_db_ro):
    """Base URL and admin token of an API (read-only classic database) whose body limit is
    SMALL bytes, set as an operator would: NORTHWIND_MAX_BODY_BYTES."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHWIND_MAX_BODY_BYTES", str(SMALL))
        patch.setattr(limits, "settings", Settings())
        api = create_api(database_url=classic_db_ro)
        with serve(api) as base_url:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                client.get("/api/health")  # the middleware is built now, under the patch
            yield base_url, demo_tokens(classic_db_ro)["admin"]


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(api_ro, tokens_ro):
    """The default limit (1 MiB); the client announces 100 MB and sends nothing: the answer
    must not wait for the body."""
    assert settings.max_body_bytes == 1 << 20 or "NORTHWIND_MAX_BODY_BYTES" in os.environ
    started = time.monotonic()
    with _connect(str(api_ro.base_url)) as sock:
        sock.sendall(_post_head(str(api_ro.base_url), tokens_ro["admin"],
                                f"Content-Length: {100 << 20}"))
        response = _read_response(sock)
    assert time.monotonic() - started < 3
    error = assert_error(response, 413, "payload_too_large", {"body"})
    assert str(settings.max_body_bytes) in error["fields"]["body"]


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(small_limit_api):
    base_url, token = small_limit_api
    sent = 0
    with _connect(base_url) as sock:
        sock.sendall(_post_head(base_url, token, "Transfer-Encoding: chunked"))
        chunk = b"[" + b" " * 1022 + b"]"
        # Up to 64 MB, until the server answers (the kernel buffers some megabytes between).
        while sent < 64 << 20 and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        response = _read_response(sock)
    assert_error(response, 413, "payload_too_large", {"body"})
    assert sent < 16 << 20, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(small_limit_api,
                                                                       chunked):
    base_url, token = small_limit_api
    body = b"{}" + b" " * (SMALL - 2)  # JSON, but no customer: 422 once it has been read
    with httpx.Client(base_url=base_url, timeout=30, headers=bearer(token)) as client:
        for content, status, code in ((body, 422, "validation_failed"),
                                      (body + b" ", 413, "payload_too_large")):
            response = client.post("/api/customers",
                                   content=iter([content]) if chunked else content,
                                   headers={"Content-Type": "application/json"})
            assert ("content-length" in response.request.headers) is not chunked
            assert_error(response, status, code)


def _run(app, messages: list[dict], scope_headers: list[tuple[bytes, bytes]]):
    """Runs the ASGI `app` on one POST whose body arrives as `messages`; returns what it
    sent."""
    sent: list[dict] = []
    queue = list(messages)

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": scope_headers,
             "query_string": b"", "root_path": ""}
    aio.run(app(scope, receive, send))
    return sent


def test_the_api_is_handed_at_most_the_limit():
    """Whatever reads the body gets no more than `max_bytes` of it, then the 413 replaces
    whatever it answered."""
    seen = []
    inner = FastAPI()

    @inner.post("/api/x")
    async def read_all(request: Request):
        async for part in request.stream():
            seen.append(len(part))
        return {"read": sum(seen)}

    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}
              for _ in range(100)]
    sent = _run(BodySizeLimit(inner, max_bytes=2500), chunks, [])
    assert sum(seen) <= 2500
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["fields"] == {"body": "must be at most 2500 bytes"}
    # Under the limit, the app reads all and answers as it would.
    seen.clear()
    sent = _run(BodySizeLimit(inner, max_bytes=2500), chunks[:2] + [
        {"type": "http.request", "body": b"x" * 500, "more_body": False}], [])
    assert sent[0]["status"] == 200 and sum(seen) == 2500


CONFIG = ("import rxconfig; from reflex_base.environment import environment as env; "
          "print(rxconfig.config.backend_host, env.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get())")


def _config_of(env: dict[str, str], script: str = CONFIG) -> list[str]:
    """What `script` prints in a fresh process with only `env` of the relevant settings (this
    one has REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE set by rxconfig.py)."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NORTHWIND_BIND", "NORTHWIND_MAX_BODY_BYTES", "REFLEX_BACKEND_HOST",
                          "REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE")}
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env={**clean, **env},
                         capture_output=True, text=True, timeout=300, check=True)
    return out.stdout.strip().splitlines()[-1].split()


def test_bind_address_and_websocket_message_limit_follow_the_configuration():
    # Defaults: this machine only; the websocket takes messages up to the API's body limit.
    assert _config_of({}) == ["127.0.0.1", str(1 << 20)]
    assert _config_of({"NORTHWIND_BIND": "0.0.0.0", "NORTHWIND_MAX_BODY_BYTES": "65536"}) == \
        ["0.0.0.0", "65536"]
    # ... as the app's socket.io server has it.
    assert _config_of({"NORTHWIND_MAX_BODY_BYTES": "65536"}, script=(
        "from reflex.utils import prerequisites; "
        "print(prerequisites.get_app().app.sio.eio.max_http_buffer_size)")) == ["65536"]
    # Reflex's own settings still win.
    assert _config_of({"NORTHWIND_BIND": "0.0.0.0", "REFLEX_BACKEND_HOST": "::1",
                       "REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE": "5000"}) == ["::1", "5000"]
