"""The request-body size limit of the API (NORTHWIND_MAX_BODY_BYTES, 1 MiB by default).

A body announced larger than the limit (Content-Length) is refused with 413 before a byte of
it is read (one announced within it cannot be longer: the server reads no further). A body
without Content-Length (chunked, or HTTP/2) is counted while it streams in: the API
is handed at most `max_bytes` bytes, and the chunk that would pass the limit ends the request
with the same 413 instead. Either way the answer is the API's standard error body naming the
field, `{"error": {"code": "payload_too_large", ..., "fields": {"body": ...}}}`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from northwind_app.api.errors import error_response
from northwind_app.settings import settings


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit. An HTTPException, so that
    whoever reads the body (FastAPI re-raises these from its body parsing) answers quietly;
    `BodySizeLimit` replaces that answer with its own."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


def too_large(max_bytes: int):
    return error_response(413, "payload_too_large",
                          f"The request body is larger than the limit of {max_bytes} bytes.",
                          {"body": f"must be at most {max_bytes} bytes"},
                          headers={"Connection": "close"})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    """ASGI middleware limiting HTTP request bodies to `max_bytes` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None):
        self.app = app
        self.max_bytes = settings.max_body_bytes if max_bytes is None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _declared_length(scope)
        if declared is not None:
            if declared > limit:
                await too_large(limit)(scope, receive, send)
            else:  # the server delivers no more than the Content-Length it has read
                await self.app(scope, receive, send)
            return

        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # the app never sees this chunk
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to the cut-off body; ours follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await too_large(limit)(scope, receive, send)
