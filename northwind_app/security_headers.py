"""Security headers on every response the server sends: pages, their scripts and styles, the
API, 404s, CORS preflight answers and the event websocket's handshake.

`App` is `rx.App` whose server app (what `reflex run` serves: Reflex calls `app()` for it) is
wrapped in `SecurityHeaders`, outside Reflex's CORS middleware, so nothing leaves without:

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`;
- a Content-Security-Policy (`frontend_csp`) that the compiled Reflex frontend satisfies and
  that is otherwise as strict as it can be:
  - `script-src 'self'` plus the SHA-256 of each inline script of the compiled pages (React
    Router's hydration data and module loader, Reflex's colour-mode script, React's streaming
    helpers), read from the build when the server starts, instead of `'unsafe-inline'`: an
    injected `<script>` or `onclick=` does not run. `'unsafe-eval'` stays, because Reflex runs
    the scripts an event handler sends (`rx.call_script`: the session cookie written at
    sign-in and sign-out in ui/auth.py, printing an invoice) with `eval` (state.js);
  - `style-src 'self' 'unsafe-inline'`: Emotion and Radix Themes insert `<style>` elements and
    the prerendered pages carry `style` attributes;
  - `connect-src 'self'`: the event websocket is on the page's own host and port (`'self'`
    covers ws:/wss: there); `img-src`/`font-src 'self' data:`; no plugins, no `<base>`,
    forms submit only here, `frame-ancestors 'none'`.
- The API (`api_csp`) answers JSON and CSV, which load nothing: its policy allows nothing
  (`default-src 'none'`), which also keeps its responses a couple of kilobytes shorter. Its
  Swagger UI (`/api/docs`, FastAPI's page loading Swagger UI from jsDelivr) gets a policy of
  its own (`swagger_ui_csp`): those scripts and styles, and its inline bootstrap by hash.

A response that already sets one of these headers keeps its own value.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path

import reflex as rx
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

SWAGGER_UI_CDN = "https://cdn.jsdelivr.net"
SWAGGER_UI_FAVICON = "https://fastapi.tiangolo.com"


class _InlineScripts(HTMLParser):
    """The text of each inline `<script>` (one without `src`) of an HTML document."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data):
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def inline_script_hashes(html: str) -> list[str]:
    """CSP sources (`'sha256-…'`) allowing exactly the inline scripts of `html`."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in parser.scripts]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def policy(directives: Mapping[str, Iterable[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def frontend_csp(static_dir: Path | None) -> str:
    """The policy of the app: its compiled pages (in `static_dir`, if built) allowed."""
    hashes: list[str] = []
    if static_dir is not None and static_dir.is_dir():
        for page in sorted(static_dir.rglob("*.html")):
            hashes += inline_script_hashes(page.read_text(encoding="utf-8", errors="replace"))
    return policy({
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *_unique(hashes)],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    })


def swagger_ui_csp(api: FastAPI) -> str:
    """The policy of `api`'s Swagger UI page, rendered as FastAPI renders it."""
    page = get_swagger_ui_html(
        openapi_url=api.openapi_url or "", title=f"{api.title} - Swagger UI",
        oauth2_redirect_url=api.swagger_ui_oauth2_redirect_url,
        init_oauth=api.swagger_ui_init_oauth, swagger_ui_parameters=api.swagger_ui_parameters)
    return policy({
        "default-src": ["'none'"],
        "script-src": [SWAGGER_UI_CDN, *_unique(inline_script_hashes(page.body.decode()))],
        "style-src": [SWAGGER_UI_CDN, "'unsafe-inline'"],
        "img-src": ["'self'", "data:", SWAGGER_UI_FAVICON],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    })


API_CSP = policy({"default-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"],
                  "frame-ancestors": ["'none'"]})


def api_csp(api: FastAPI, prefix: str = "/api") -> dict[str, str]:
    """`App.csp_by_path` for `api` served under `prefix`: its Swagger UI and the rest."""
    policies = {prefix: API_CSP}
    if api.docs_url:
        policies[api.docs_url] = swagger_ui_csp(api)
    return policies


def _compiled_frontend_dir() -> Path | None:
    from reflex.utils import prerequisites
    from reflex_base import constants

    try:
        return prerequisites.get_web_dir() / constants.Dirs.STATIC
    except Exception:  # noqa: BLE001 - no web folder: nothing to allow
        return None


_STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_NAMES = frozenset(name.lower().encode() for name in (*HEADERS, "Content-Security-Policy"))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` and a Content-Security-Policy to every HTTP response
    and websocket handshake answer, unless the response sets them itself. The policy is `csp`,
    or that of the longest path of `csp_by_path` the request's path is (or is under)."""

    def __init__(self, app: ASGIApp, csp: str, csp_by_path: Mapping[str, str] | None = None):
        self.app = app
        self.headers = self._with(csp)
        self.by_path = sorted(((path, self._with(value))
                               for path, value in (csp_by_path or {}).items()),
                              key=lambda item: len(item[0]), reverse=True)

    @staticmethod
    def _with(csp: str) -> list[tuple[bytes, bytes]]:
        return [(name.lower().encode(), value.encode()) for name, value in
                {**HEADERS, "Content-Security-Policy": csp}.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = next((headers for prefix, headers in self.by_path if _under(path, prefix)),
                     self.headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] in _STARTS:
                headers = message.get("headers") or []
                if any(name.lower() in _NAMES for name, _ in headers):
                    present = {name.lower() for name, _ in headers}
                    message["headers"] = [*headers, *((name, value) for name, value in extra
                                                      if name not in present)]
                else:
                    message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclasses.dataclass()
class App(rx.App):
    """`rx.App` serving everything through `SecurityHeaders` (see the module docstring).

    Attributes:
        csp_by_path: Paths (and what is under them) with a policy of their own, e.g.
            `api_csp(api)`.
        around_reflex: A transform of Reflex's whole server app (outside its own CORS, error
            and context middleware, unlike `api_transformer`), e.g. `api.app.around_reflex`.
    """

    csp_by_path: dict[str, str] = dataclasses.field(default_factory=dict)
    around_reflex: Callable[[ASGIApp], ASGIApp] | None = None

    def __call__(self) -> ASGIApp:
        served = super().__call__()
        if self.around_reflex is not None:
            served = self.around_reflex(served)
        return SecurityHeaders(served, frontend_csp(_compiled_frontend_dir()), self.csp_by_path)
