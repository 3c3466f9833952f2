"""HTTP hardening of the production server (`reflex run --env prod --single-port`, see
conftest.py): the security headers on every kind of response it sends, a
Content-Security-Policy that every screen of the compiled frontend satisfies, the API's body
limit in front of the real server, and the server listening on loopback only by default
(northwind_app/security_headers.py, api/limits.py, rxconfig.py)."""

from __future__ import annotations

import base64
import os
import re
import socket

import httpx
import pytest
from playwright.sync_api import Page, expect

from northwind_app.security_headers import inline_script_hashes
from northwind_app.settings import settings
from tests.api.server import demo_tokens
from tests.browser.screens import SCREENS

API_CSP = {"default-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"],
           "frame-ancestors": ["'none'"]}
ALWAYS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
          "referrer-policy": "same-origin"}
# Every screen (tests/browser/screens.py), as the admin sees it.

# Reports each CSP violation of every document the context opens to the test (a binding
# survives navigations, a page's own variables do not).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
                         + `at ${e.sourceFile}:${e.lineNumber} (${location.pathname})`);
});
"""


def _csp_watch(page: Page) -> list[str]:
    """Violations (and console errors about the policy) of every page opened in `page`'s
    context from now on."""
    seen: list[str] = []
    page.context.expose_binding("reportViolation", lambda _source, text: seen.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda msg: seen.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    return seen


def _directives(csp: str) -> dict[str, list[str]]:
    return {parts[0]: parts[1:] for parts in (d.split() for d in csp.split(";")) if parts}


def test_every_screen_satisfies_the_content_security_policy(anonymous_page):
    page = anonymous_page
    violations = _csp_watch(page)
    policies: list[str | None] = []  # of each document loaded
    page.on("response", lambda response: policies.append(
        response.headers.get("content-security-policy"))
        if response.request.resource_type == "document" else None)
    errors: list[str] = []  # the console's, and uncaught exceptions
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    # Signing in with the form: the session cookie is written by a script the server sends
    # (rx.call_script, which Reflex runs with eval).
    page.goto("/login")
    page.locator("#username").fill("admin")
    page.locator("#password").fill("northwind-admin")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-role")).to_have_text("admin")
    expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")
    # The login page and the dashboard log no error, and link the app's icon (its absence,
    # a 404 for /favicon.ico, was their one console error in a browser that asks for it).
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_count(1)
    favicon = page.request.get(icon.get_attribute("href"))
    assert favicon.ok and favicon.headers["content-type"] in (
        "image/x-icon", "image/vnd.microsoft.icon"), favicon.headers
    page.wait_for_timeout(500)  # errors of the dashboard's last answers
    assert errors == []
    for path, ready in SCREENS:
        page.goto(path)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        if ready != "invoice-order":  # the invoice is printed without the app's frame
            expect(page.get_by_test_id("user-role")).to_have_text("admin")
    # In-app navigation (client-side routing, the websocket kept open) and signing out.
    page.goto("/orders")
    page.get_by_role("link", name="Customers").first.click()
    page.wait_for_url(re.compile(r"/customers/?$"))
    expect(page.get_by_test_id("list-row").first).to_be_visible()
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("menu-logout").click()
    page.wait_for_url(re.compile(r"/login"))
    expect(page.get_by_test_id("login-notice")).to_contain_text("signed out")
    assert violations == []
    # ... under the app's policy, which allows no other inline script.
    assert len(policies) >= len(SCREENS) + 2
    assert all(p and "script-src 'self' 'unsafe-eval' 'sha256-" in p for p in policies), policies


def test_the_violation_watch_sees_a_violation(page):
    """The watch above is not blind: a script injected into a page is blocked and reported."""
    violations = _csp_watch(page)
    page.goto("/")
    expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.injected = true";
                             document.body.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert any("script-src" in text for text in violations), violations


def _assert_hardened(response: httpx.Response, what: str) -> dict[str, list[str]]:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (what, name, dict(response.headers))
    csp = _directives(response.headers.get("content-security-policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], (what, csp)
    return csp


def _raw(base_url: str, head: str) -> str:
    """The status line and headers the server answers to a request sent as `head` (bytes
    of a request without its body), lower-cased."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.replace("HOST", f"{host}:{port}").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n")[0].decode("latin-1").lower()


def _handshake(base_url: str, origin: str) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    return _raw(base_url, "GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: HOST\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                          f"{key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n")


def _assert_hardened_head(head: str, what: str) -> None:
    for name, value in ALWAYS.items():
        assert f"\r\n{name}: {value.lower()}" in head, (what, name, head)
    assert "\r\ncontent-security-policy: " in head, (what, head)
    assert "frame-ancestors 'none'" in head, (what, head)


def test_every_kind_of_response_carries_the_security_headers(app_url, app_db_url):
    token = demo_tokens(app_db_url)["admin"]
    with httpx.Client(base_url=app_url, timeout=30) as client:
        page = client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        csp = _assert_hardened(page, "page")
        # The policy names each inline script of the page it came with, and nothing unsafe
        # but eval (Reflex's rx.call_script); the page's scripts and styles are its own.
        assert set(inline_script_hashes(page.text)) <= set(csp["script-src"])
        assert "'unsafe-inline'" not in csp["script-src"]
        assert csp["default-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
        assert csp["object-src"] == ["'none'"]
        assert "'self'" in csp["img-src"]  # the icon (/favicon.ico)
        script = re.search(r'src="(/assets/[^"]+\.js)"', page.text) or \
            re.search(r'href="(/assets/[^"]+\.js)"', page.text)
        style = re.search(r'href="(/assets/[^"]+\.css)"', page.text)
        pages = {
            "script": client.get(script[1]), "stylesheet": client.get(style[1]),
            "gzip page": client.get("/customers/", headers={"Accept-Encoding": "gzip"}),
            "page 404": client.get("/no/such/page"),
            "asset 404": client.get("/assets/nope.js"),
            "event socket over http": client.get("/_event/", params={"EIO": 4,
                                                                      "transport": "polling"}),
            "reflex ping": client.get("/ping"),
            "favicon": client.get("/favicon.ico"),
        }
        # The API's JSON loads nothing: its policy allows nothing.
        api = {
            "api": client.get("/api/health"),
            "api 401": client.get("/api/orders"),
            "api 404": client.get("/api/nope", headers={"Authorization": f"Bearer {token}"}),
            "openapi": client.get("/api/openapi.json"),
            "cors preflight refused": client.options("/api/orders", headers={
                "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),
        }
        expected = {"script": 200, "stylesheet": 200, "gzip page": 200, "page 404": 404,
                    "asset 404": 404, "api": 200, "api 401": 401, "api 404": 404,
                    "openapi": 200, "event socket over http": 400,
                    "reflex ping": 200, "favicon": 200, "cors preflight refused": 400}
        for policy, responses in ((csp, pages), (API_CSP, api)):
            for what, response in responses.items():
                assert response.status_code == expected[what], (what, response.text[:300])
                assert _directives(response.headers["content-security-policy"]) == policy, what
                _assert_hardened(response, what)

        # The API's Swagger UI has its own policy: its scripts from jsDelivr, its inline
        # bootstrap by hash.
        docs = client.get("/api/docs")
        docs_csp = _assert_hardened(docs, "docs")
        assert set(inline_script_hashes(docs.text)) <= set(docs_csp["script-src"])
        assert "'unsafe-inline'" not in docs_csp["script-src"]

    # A body over the API's limit, refused before it is sent (only its length is).
    refused = _raw(app_url, "POST /api/customers HTTP/1.1\r\nHost: HOST\r\nContent-Type: "
                            f"application/json\r\nAuthorization: Bearer {token}\r\n"
                            f"Content-Length: {settings.max_body_bytes + 1}\r\n\r\n")
    assert refused.startswith("http/1.1 413"), refused
    _assert_hardened_head(refused, "api 413")
    assert "content-security-policy: default-src 'none';" in refused
    # A websocket handshake from a foreign origin is refused with an HTTP answer: hardened.
    refused = _handshake(app_url, "https://evil.example")
    assert refused.startswith("http/1.1 403"), refused
    _assert_hardened_head(refused, "websocket refused")
    # The app's own pages open it.
    assert _handshake(app_url, app_url).startswith("http/1.1 101")


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of this machine's TCP sockets listening on `port` (from
    /proc/net/tcp and tcp6: state 0A is LISTEN)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net")
def test_the_server_listens_on_loopback_only_by_default(app_url):
    if "NORTHWIND_BIND" not in os.environ:
        assert settings.bind_host == "127.0.0.1"
    port = int(app_url.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {settings.bind_host}
