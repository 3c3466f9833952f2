"""Same-origin websockets: the one cross-origin door Reflex's CORS setting leaves open.

rxconfig.py passes `settings.cors_origins` (NORTHWIND_CORS_ORIGINS, empty by default) to
Reflex as `cors_allowed_origins`. For HTTP that is what we want: Reflex adds Starlette's
CORSMiddleware with `allow_origins=[...]` (reflex/app.py `App._add_cors`), and with an empty
list no foreign origin gets an `Access-Control-Allow-Origin` answer and every foreign preflight
is refused, so only the app's own pages can call /api from a browser.

The event websocket is different. Browsers do not apply CORS to websockets, and Reflex hands
the same list to python-engineio, which reads an empty list as "CORS handling disabled" and
then accepts a websocket from any Origin (engineio/async_server.py: the origin is only checked
when `cors_allowed_origins != []`). This middleware, put in front of Reflex's app by the
`api_transformer` (`api.app.in_front_of_reflex`), closes that door: a websocket handshake whose
Origin is neither the server's own (its Host, or X-Forwarded-Host behind a proxy) nor one of the
configured origins is refused with 403 before it reaches Reflex. Requests without an Origin
(non-browser clients) are not a cross-site risk and pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from northwind_app.api.errors import error_response


def _normalized(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _hosts(headers: dict[bytes, bytes]) -> set[str]:
    """The host[:port] names this request was sent to (directly or through a proxy)."""
    names = {headers.get(b"host", b"").decode("latin-1")}
    forwarded = headers.get(b"x-forwarded-host", b"").decode("latin-1")
    names.add(forwarded.split(",")[0])
    return {name.strip().lower() for name in names if name.strip()}


class SameOriginWebSockets:
    """Refuse websocket handshakes from foreign origins (see the module docstring)."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()):
        self.app = app
        self.allowed = {_normalized(origin) for origin in allowed_origins}

    def allows(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"origin")
        if raw is None:
            return True
        origin = _normalized(raw.decode("latin-1"))
        if "*" in self.allowed or origin in self.allowed:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc in _hosts(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.allows(scope):
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            if "websocket.http.response" in (scope.get("extensions") or {}):
                # An HTTP answer (granian and uvicorn offer it): the standard error body, and
                # the security headers (security_headers.py) apply to it.
                await error_response(403, "forbidden", "This origin may not open the app's "
                                     "websocket.")(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})  # before accept: 403
            return
        await self.app(scope, receive, send)
