"""Server memory with N connected clients.

A client here does what a browser tab of /orders does on the Reflex event websocket (Reflex
0.10, see reflex_base/.templates/web/utils/state.js `connect`): it opens the Engine.IO
websocket `/_event/?EIO=4&transport=websocket&token=<its own uuid>` with the Reflex version as
subprotocol, and sends the socket.io CONNECT packet for namespace `/_event` carrying the
hydrate event (Reflex's `State.hydrate_and_load`) with the router data of /orders in
its auth, and the signed-in session's cookie on the websocket's request (where the screens'
server reads it, northwind_app/ui/auth.py). The backend creates the tab's state for that
token, hydrates it and runs the page's on_load (OrdersState.load), and the client waits until
the orders state's rows arrive, so each client holds a real, loaded server-side state.
Engine.IO pings are answered. The event's and the state's wire names are asked of Reflex and
of the state class (imported from where the app defines it, so that a moved or renamed state
fails here at import instead of leaving the clients waiting for rows that never come).

Memory is the resident set (VmRSS) summed over the server's whole process group, plus, when
the server keeps its tabs' states in Redis (several workers), the growth of Redis's own
`used_memory`: a tab's state lives there, so it is server memory too.

Before the idle figure, WARM_TABS tabs connect, load and leave, so that every worker process
has served tabs (first-use imports, pools and caches are a per-worker cost, not a per-tab one).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from urllib.parse import urlencode

import wsproto
from reflex.state import State
from reflex_base.constants import CompileVars
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.utils.format import format_event_handler
from wsproto import events as ws

from bench.common import SESSION_COOKIE, log
from northwind_app.pages.orders import OrdersState

NAMESPACE = "/_event"
# The names Reflex gives them on the wire, as its own event processor computes them.
HYDRATE = format_event_handler(State.event_handlers[CompileVars.HYDRATE_AND_LOAD])
ORDERS_STATE = OrdersState.get_full_name()


def _delta_key(var: str) -> str:
    """The key of one of the orders state's vars in a delta (a renamed var fails loudly)."""
    if var not in OrdersState.base_vars:
        raise LookupError(f"{OrdersState.__name__} has no var {var!r}")
    return var + FIELD_MARKER


ROWS, LOADING = _delta_key("rows"), _delta_key("loading")


def _reflex_version() -> str:
    from reflex_base.constants import Reflex

    return Reflex.VERSION


class EventClient:
    """One tab's websocket to the Reflex backend (minimal Engine.IO v4 / socket.io v5)."""

    def __init__(self, host: str, port: int, session_token: str, path: str = "/orders",
                 query: str = ""):
        self.host, self.port = host, port
        self.session_token = session_token
        self.path, self.query = path, query
        self.token = str(uuid.uuid4())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.loaded = asyncio.Event()
        self.connected = asyncio.Event()
        self.closed = False
        self.deltas = 0
        self.rows = 0
        self._task: asyncio.Task | None = None
        self._buffer = ""

    async def _send_text(self, data: str) -> None:
        self.writer.write(self.conn.send(ws.TextMessage(data=data)))
        await self.writer.drain()

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = "/_event/?" + urlencode({"EIO": "4", "transport": "websocket", "token": self.token})
        self.writer.write(self.conn.send(ws.Request(
            host=f"{self.host}:{self.port}", target=target, subprotocols=[_reflex_version()],
            extra_headers=[(b"origin", f"http://{self.host}:{self.port}".encode()),
                           (b"cookie", f"{SESSION_COOKIE}={self.session_token}".encode())])))
        await self.writer.drain()
        self._task = asyncio.create_task(self._read_loop())

    def _boot_auth(self) -> dict:
        as_path = self.path + (("?" + self.query) if self.query else "")
        router_data = {"pathname": self.path, "asPath": as_path}
        if self.query:
            from urllib.parse import parse_qsl
            router_data["query"] = dict(parse_qsl(self.query))
        event = {"name": HYDRATE, "router_data": router_data}
        return {"event": event}

    async def _on_text(self, data: str) -> None:
        kind = data[:1]
        if kind == "0":  # Engine.IO open: join the namespace, hydrate in the CONNECT packet
            await self._send_text("40" + NAMESPACE + "," + json.dumps(self._boot_auth()))
        elif kind == "2":  # ping
            await self._send_text("3")
        elif kind == "4":  # socket.io packet
            packet = data[1:]
            if packet.startswith("0"):
                self.connected.set()
            elif packet.startswith("4"):
                raise RuntimeError(f"connect refused: {packet[:300]}")
            elif packet.startswith("2"):
                body = packet[1:]
                if body.startswith(NAMESPACE + ","):
                    body = body[len(NAMESPACE) + 1:]
                name, *args = json.loads(body)
                if name == "event" and args:
                    self.deltas += 1
                    delta = (args[0] or {}).get("delta") or {}
                    orders = delta.get(ORDERS_STATE) or {}
                    rows = orders.get(ROWS)
                    if rows:
                        self.rows = len(rows)
                    if orders.get(LOADING) is False and self.rows:
                        self.loaded.set()

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.conn.receive_data(data)
                for event in self.conn.events():
                    if isinstance(event, ws.AcceptConnection):
                        pass
                    elif isinstance(event, ws.RejectConnection):
                        raise RuntimeError(f"websocket refused: HTTP {event.status_code}")
                    elif isinstance(event, ws.TextMessage):
                        self._buffer += event.data
                        if event.message_finished:
                            text, self._buffer = self._buffer, ""
                            await self._on_text(text)
                    elif isinstance(event, ws.Ping):
                        self.writer.write(self.conn.send(event.response()))
                    elif isinstance(event, ws.CloseConnection):
                        return
        finally:
            self.closed = True

    async def close(self) -> None:
        if self.writer is None:
            return
        try:
            if self.conn.state == wsproto.connection.ConnectionState.OPEN:
                self.writer.write(self.conn.send(ws.CloseConnection(code=1000)))
                await self.writer.drain()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.writer.close()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except BaseException:  # noqa: BLE001
                pass

    async def wait_loaded(self, timeout: float) -> None:
        waiter = asyncio.create_task(self.loaded.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if self._task in done and self._task.exception():
                raise self._task.exception()
            raise TimeoutError(f"client {self.token} did not receive its rows "
                               f"({self.deltas} updates)")


WARM_TABS = 25


def _redis_meter(url: str | None):
    """A function returning Redis's used_memory in KB (always 0 without Redis)."""
    if not url:
        return lambda: 0
    import redis

    client = redis.Redis.from_url(url)
    return lambda: int(client.info("memory")["used_memory"]) // 1024


async def _open_clients(host: str, port: int, session_token: str, count: int, batch: int,
                        timeout: float) -> list[EventClient]:
    clients: list[EventClient] = []
    for start in range(0, count, batch):
        group = [EventClient(host, port, session_token) for _ in range(min(batch, count - start))]
        await asyncio.gather(*(c.connect() for c in group))
        await asyncio.gather(*(c.wait_loaded(timeout) for c in group))
        clients.extend(group)
    return clients


async def _run(server, counts: list[int], session_token: str, batch: int, settle: float,
               timeout: float) -> dict:
    host, port = "127.0.0.1", server.port
    warm = await _open_clients(host, port, session_token, WARM_TABS, batch, timeout)
    for c in warm:
        await c.close()
    await asyncio.sleep(settle)
    redis_kb = _redis_meter(server.redis_url)
    idle, idle_redis = server.rss_kb(), redis_kb()
    log(f"memory: idle {idle / 1024:.1f} MB (+ Redis {idle_redis / 1024:.1f} MB)")
    result = {"idle_rss_kb": idle, "idle_redis_kb": idle_redis, "points": []}
    clients: list[EventClient] = []
    try:
        for count in counts:
            t0 = time.perf_counter()
            more = await _open_clients(host, port, session_token, count - len(clients), batch,
                                       timeout)
            clients.extend(more)
            seconds = time.perf_counter() - t0
            await asyncio.sleep(settle)
            alive = sum(1 for c in clients if not c.closed)
            rss, redis = server.rss_kb(), redis_kb()
            point = {"clients": count, "alive": alive, "rss_kb": rss, "redis_kb": redis,
                     "kb_per_client": round((rss - idle + redis - idle_redis) / count, 1),
                     "rss_kb_per_client": round((rss - idle) / count, 1),
                     "connect_and_load_s": round(seconds, 2)}
            result["points"].append(point)
            log(f"memory: {count} clients → {rss / 1024:.1f} MB + Redis {redis / 1024:.1f} MB "
                f"({point['kb_per_client']} KB per client)")
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    pts = result["points"]
    if len(pts) >= 2:
        a, b = pts[0], pts[-1]
        result["marginal_kb_per_client"] = round(
            (b["rss_kb"] - a["rss_kb"] + b["redis_kb"] - a["redis_kb"])
            / (b["clients"] - a["clients"]), 1)
    result["kb_per_client"] = pts[-1]["kb_per_client"] if pts else None
    return result


def run(server, counts: list[int], *, session_token: str, batch: int = 25, settle: float = 3.0,
        timeout: float = 180.0) -> dict:
    """RSS of the server's process group idle and with each count of connected, loaded tabs
    (all signed in with `session_token`, like tabs of one browser)."""
    return asyncio.run(_run(server, sorted(counts), session_token, batch, settle, timeout))
