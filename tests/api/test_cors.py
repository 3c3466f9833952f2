"""Cross-origin access: by default only the app's own pages may call the API or open the
websocket; NORTHWIND_CORS_ORIGINS adds origins. HTTP CORS is Reflex's (its CORSMiddleware in
front of everything, fed by rxconfig.py), websockets are guarded by our `api_transformer`
(api/app.py `in_front_of_reflex`, api/origins.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from reflex.app import App
from reflex_base.config import get_config
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from northwind_app.api.app import around_reflex, create_api, in_front_of_reflex
from northwind_app.settings import PROJECT_ROOT, settings
from tests.api.server import UNREACHABLE_DB, serve

APP_HOST = "nw.example:3000"
APP_ORIGIN = f"http://{APP_HOST}"
FOREIGN = "https://evil.example"


def _preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options("/api/orders", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})


def _as_reflex_builds_it(reflex_app: Starlette, *, reached: list[str] | None = None,
                         **options) -> ASGIApp:
    """The ASGI app the server runs (reflex/app.py `App.__call__`, security_headers.App):
    our `api_transformer` around Reflex's own app, mounted in an app with its CORS middleware
    (configured from rxconfig.py), and that behind our `around_reflex`. The paths of the
    requests that reached Reflex's top-level app go into `reached`."""
    api = create_api(database_url=UNREACHABLE_DB)
    top = Starlette()
    top.mount("", in_front_of_reflex(api, **options)(reflex_app))
    App._add_cors(top)
    if reached is None:
        return around_reflex(api)(top)

    async def recorded(scope, receive, send):
        reached.append(scope.get("path", scope["type"]))
        await top(scope, receive, send)

    return around_reflex(api)(recorded)


@contextmanager
def _with_reflex_cors(origins: list[str], monkeypatch) -> Iterator[httpx.Client]:
    """A client of the API as Reflex serves it, with `origins` configured."""
    monkeypatch.setattr(get_config(), "cors_allowed_origins", origins)
    with serve(_as_reflex_builds_it(Starlette())) as base_url, \
            httpx.Client(base_url=base_url) as client:
        yield client


def test_rxconfig_passes_the_configured_origins_to_reflex():
    assert list(get_config().cors_allowed_origins) == settings.cors_origins
    script = "import rxconfig; print(list(rxconfig.config.cors_allowed_origins))"
    env = {**os.environ}
    for value, expected in (("", []), (" https://erp.example, https://bi.example:8443 ,",
                                        ["https://erp.example", "https://bi.example:8443"])):
        env["NORTHWIND_CORS_ORIGINS"] = value
        out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        assert out.stdout.strip().splitlines()[-1] == repr(expected)


def test_no_foreign_origin_may_call_the_api_by_default(monkeypatch):
    with _with_reflex_cors([], monkeypatch) as client:
        refused = _preflight(client, FOREIGN)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        # A simple request is answered, but the browser does not let the foreign page read it.
        simple = client.get("/api/openapi.json", headers={"Origin": FOREIGN})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers


def test_configured_origins_may_call_the_api(monkeypatch):
    with _with_reflex_cors(["https://erp.example"], monkeypatch) as client:
        allowed = _preflight(client, "https://erp.example")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://erp.example"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert _preflight(client, FOREIGN).status_code == 400


def test_a_plain_api_request_goes_around_reflex_s_middleware_with_the_same_answer(monkeypatch):
    # A request without Origin (not a browser's cross-origin call) is answered by the API
    # directly, as Reflex's app would answer it (Starlette's CORS adds `Vary: Origin` to every
    # answer, so the way around does too); a cross-origin one goes through Reflex's CORS.
    monkeypatch.setattr(get_config(), "cors_allowed_origins", ["https://erp.example"])
    reached: list[str] = []
    requests = [("GET", "/api/orders", {}), ("GET", "/api/nowhere", {}),
                ("DELETE", "/api/openapi.json", {}), ("GET", "/api/openapi.json", {}),
                ("POST", "/api/orders", {"Content-Type": "application/json"}),
                ("GET", "/api/orders", {"Authorization": "Bearer " + "x" * 40})]
    with serve(_as_reflex_builds_it(Starlette(), reached=reached)) as around, \
            serve(_as_reflex_builds_it(Starlette(), reached=[])) as through, \
            httpx.Client(base_url=around) as client, httpx.Client() as plain:
        for method, path, headers in requests:
            a = client.request(method, path, headers=headers, content=b"{}")
            # The same app with the same request sent through Reflex's top-level app: an
            # Origin of the app's own page (allowed, so CORS adds the allow headers too).
            b = plain.request(method, through + path, content=b"{}",
                              headers={**headers, "Origin": "https://erp.example"})
            assert (a.status_code, a.content) == (b.status_code, b.content), path
            assert a.headers["vary"] == b.headers["vary"] == "Origin", path
            ignored = {"date", "server", "access-control-allow-origin",
                       "access-control-allow-credentials"}
            assert {k: v for k, v in a.headers.items() if k not in ignored} == \
                {k: v for k, v in b.headers.items() if k not in ignored}, path
        assert reached == []
        crossing = client.get("/api/orders", headers={"Origin": "https://erp.example"})
        assert crossing.headers["access-control-allow-origin"] == "https://erp.example"
        assert reached == ["/api/orders"]


async def _hello(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


@pytest.fixture(scope="module")
def event_socket() -> Iterator[tuple[str, int]]:
    """(host, port) of the app as Reflex serves it, its own app having a websocket at /_event;
    one extra origin configured."""
    app = _as_reflex_builds_it(Starlette(routes=[WebSocketRoute("/_event", _hello)]),
                               allowed_origins=["https://erp.example/"])
    with serve(app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        yield host, int(port)


def _handshake(address: tuple[str, int], headers: dict[str, str]) -> int:
    """The HTTP status answering a websocket handshake (101: opened)."""
    lines = ["GET /_event HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             *(f"{name}: {value}" for name, value in {"Host": APP_HOST, **headers}.items())]
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(sock.recv(4096).split(b"\r\n", 1)[0].split()[1])


@pytest.mark.parametrize("headers", [
    {"Origin": APP_ORIGIN},
    {"Origin": "HTTP://NW.example:3000/"},
    {"Origin": "https://erp.example"},
    {"Origin": "https://nw.example.com", "X-Forwarded-Host": "nw.example.com"},
    {},  # not a browser
], ids=["same origin", "same origin, other spelling", "configured", "behind a proxy", "none"])
def test_the_websocket_opens_for_the_app_s_own_pages(event_socket, headers):
    assert _handshake(event_socket, headers) == 101


@pytest.mark.parametrize("origin", [FOREIGN, "http://nw.example:3001", "http://nw.example",
                                    "null", "http://nw.example:3000.evil.example"])
def test_the_websocket_refuses_foreign_pages(event_socket, origin):
    assert _handshake(event_socket, {"Origin": origin}) == 403
