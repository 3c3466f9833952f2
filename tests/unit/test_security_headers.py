"""The security-headers middleware and its policies (northwind_app/security_headers.py), without
a server; tests/browser/test_http_hardening.py checks them on the production server and in
Chromium."""

from __future__ import annotations

import base64
import hashlib

from fastapi import FastAPI

from northwind_app.security_headers import (
    API_CSP, SecurityHeaders, api_csp, frontend_csp, inline_script_hashes,
)
from tests import aio


def _sha(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def _directives(csp: str) -> dict[str, list[str]]:
    return {parts[0]: parts[1:] for parts in (d.split() for d in csp.split(";")) if parts}


def test_inline_scripts_are_hashed_as_the_browser_reads_them():
    html = ('<html><head><script>window.a = "<b>&amp;";</script>'
            '<script src="/assets/x.js"></script></head><body>'
            '<script type="module" async="">import "/a.js";\n</script></body></html>')
    assert inline_script_hashes(html) == [_sha('window.a = "<b>&amp;";'),
                                          _sha('import "/a.js";\n')]


def test_the_frontend_policy_allows_the_inline_scripts_of_every_built_page(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "index.html").write_text("<script>one()</script><script>two()</script>")
    (tmp_path / "orders" / "index.html").write_text("<script>one()</script><p>x</p>")
    (tmp_path / "app.js").write_text("<script>not_a_page()</script>")
    csp = _directives(frontend_csp(tmp_path))
    assert csp["script-src"] == ["'self'", "'unsafe-eval'", _sha("one()"), _sha("two()")]
    assert csp["frame-ancestors"] == ["'none'"] and csp["default-src"] == ["'self'"]
    # Not built (backend only): its own scripts only.
    assert _directives(frontend_csp(tmp_path / "missing"))["script-src"] == \
        ["'self'", "'unsafe-eval'"]


def test_the_swagger_ui_policy_allows_its_bootstrap_script_only():
    api = FastAPI(docs_url="/api/docs", openapi_url="/api/openapi.json")
    policies = api_csp(api)
    assert policies["/api"] == API_CSP
    docs = _directives(policies["/api/docs"])
    page = next(r for r in api.routes if getattr(r, "path", "") == "/api/docs")
    html = aio.run(page.endpoint(_request("/api/docs"))).body.decode()
    assert docs["script-src"] == ["https://cdn.jsdelivr.net", *inline_script_hashes(html)]
    assert docs["frame-ancestors"] == ["'none'"]


def _request(path: str):
    from starlette.requests import Request
    return Request({"type": "http", "method": "GET", "path": path, "headers": [],
                    "query_string": b"", "root_path": ""})


async def _inner(scope, receive, send):
    if scope["type"] == "lifespan":
        await send({"type": "lifespan.startup.complete"})
    elif scope["type"] == "websocket":
        if scope["path"] == "/_event":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    else:
        own = [(b"x-frame-options", b"SAMEORIGIN")] if scope["path"] == "/framed" else []
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), *own]})
        await send({"type": "http.response.body", "body": b"ok"})


def _sent(scope_type: str, path: str) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {}

    app = SecurityHeaders(_inner, "default-src 'self'",
                          {"/api": "default-src 'none'", "/api/docs": "script-src https://cdn"})
    aio.run(app({"type": scope_type, "path": path}, receive, send))
    return sent


def _headers(message: dict) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in message.get("headers", [])}


def test_every_response_gets_the_headers_and_the_policy_of_its_path():
    for path, csp in (("/", "default-src 'self'"), ("/orders/1", "default-src 'self'"),
                      ("/apix", "default-src 'self'"), ("/api", "default-src 'none'"),
                      ("/api/orders", "default-src 'none'"),
                      ("/api/docs", "script-src https://cdn")):
        headers = _headers(_sent("http", path)[0])
        assert headers == {"content-type": "text/plain", "x-content-type-options": "nosniff",
                           "x-frame-options": "DENY", "referrer-policy": "same-origin",
                           "content-security-policy": csp}, path
    # A response setting a header itself keeps its value.
    assert _headers(_sent("http", "/framed")[0])["x-frame-options"] == "SAMEORIGIN"
    # Websocket handshakes, accepted or refused with an HTTP answer.
    for path in ("/_event", "/refused"):
        headers = _headers(_sent("websocket", path)[0])
        assert headers["x-frame-options"] == "DENY"
        assert headers["content-security-policy"] == "default-src 'self'"
    # Other scopes pass untouched.
    assert _sent("lifespan", "") == [{"type": "lifespan.startup.complete"}]
