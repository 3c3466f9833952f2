"""Live screens (issue #23): write → other tabs, timed, and what 200 connected tabs cost.

Two parts, on a running server (bench/__main__.py starts it, with Redis when `--redis` is
given: then several workers and the change feed's pub/sub):

- **latency**: one order made for it (through the API), shown in two signed-in Chromium
  pages: the orders list (`/orders?sort=-order_id`, the order on top) and the order's own
  page. Each change is a PATCH of the order's freight through the API; the time is from the
  API's response (the commit is done) to the moment each page's DOM shows it: a
  MutationObserver in the page stamps `performance.timeOrigin + performance.now()` (wall
  clock, milliseconds) when the order's row (list) or its freight (order page) has new text,
  compared with the wall clock in this process when the response returned (one machine,
  one clock). Changes are spaced COALESCE_GAP apart, so each is one refresh (a change within
  250 ms of the last refresh waits for the next: the coalescing is measured by the load).
- **load**: TABS websocket clients on the orders list (bench/memory.py's client: it signs in
  with the session cookie and hydrates /orders exactly as a browser tab does, and here also
  sends back every event the server puts in an update, as the browser queues them, so a live
  nudge makes it refresh), a few Chromium tabs on the same list, and one client on the page
  of a product no write touches. Then RATE orders a second for SECONDS are created through
  the API (`POST /api/orders`, each appears on top of the list). Measured: the server's CPU
  seconds per write (its process group, /proc), its RSS over the run (and Redis's memory),
  for every tab and every new order the time from the write's response to the tab receiving
  rows that show it (p50/p95), orders a tab never showed, tabs whose last rows differ from
  the database's first page, and what the unrelated tab received (nothing, expected).

`--live-compare` runs the load twice, refreshes not shared then shared (live/shared.py's
NORTHWIND_LIVE_SHARED), each on a fresh server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import resource
import threading
import time
from urllib.parse import parse_qsl

import httpx

from bench.common import (
    CpuSample, Credentials, cpu_per_request, database_pids, log, percentile, query,
    summary_ms,
)
from bench.memory import LOADING, NAMESPACE, ORDERS_STATE, ROWS, EventClient
from bench.ui import CHROMIUM, CHROMIUM_ARGS, SESSION_COOKIE

LIST_PATH, LIST_QUERY = "/orders", "sort=-order_id"
SETTLE_SECONDS = 20.0  # after the writes, how long tabs may take to show the last ones
QUIET_SECONDS = 3.0  # the unrelated tab is idle once it received nothing for this long
COALESCE_GAP = 0.35  # seconds between two timed changes (> the 250 ms coalescing)
TIMEOUT_MS = 30_000

# In every page: arm(selector) resolves with the wall-clock time (ms) at which the element's
# text first differs from what it was when armed; seen() collects the order ids the list's
# rows have shown, with the wall-clock time each first appeared.
INIT_JS = r"""
(() => {
  const L = window.__live = {seenIds: {}};
  const now = () => performance.timeOrigin + performance.now();
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  L.arm = (sel) => {
    const before = text(sel);
    L.done = new Promise((resolve, reject) => {
      const check = () => {
        const t = text(sel);
        if (t !== null && t !== before) {
          const at = now(); observer.disconnect(); clearTimeout(timer); resolve(at);
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document, {subtree: true, childList: true, attributes: true,
                                  characterData: true});
      const timer = setTimeout(() => { observer.disconnect();
        reject(new Error(`no change of ${sel} within 30 s`)); }, 30000);
    });
    return before;
  };
  L.watchIds = () => {
    const collect = () => {
      const at = now();
      for (const a of document.querySelectorAll('[data-testid="list-row"] a[href^="/orders/"]')) {
        const id = a.getAttribute('href').split('/')[2];
        if (!(id in L.seenIds)) L.seenIds[id] = at;
      }
    };
    new MutationObserver(collect).observe(document, {subtree: true, childList: true,
                                                     characterData: true});
    collect();
  };
})();
"""


# --- the data the writes use ------------------------------------------------------------------

def _setup(db_url: str) -> dict:
    """Who and what the writes use; the product they take stock from gets plenty of it. The
    unrelated product is one no write touches (its page must receive nothing)."""
    (customer,), = query(db_url, "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1")
    (employee,), = query(db_url, "SELECT MIN(employee_id) FROM employees")
    (shipper,), = query(db_url, "SELECT MIN(shipper_id) FROM shippers")
    (product,), = query(db_url, "SELECT MIN(product_id) FROM products WHERE discontinued = 0")
    (other,), = query(db_url, "SELECT MAX(product_id) FROM products WHERE product_id <> :p",
                      p=product)
    query(db_url, "UPDATE products SET units_in_stock = 100000000 WHERE product_id = :p",
          p=product)
    today = dt.date.today()
    body = {"customer_id": customer, "employee_id": employee, "order_date": today.isoformat(),
            "required_date": (today + dt.timedelta(days=28)).isoformat(), "ship_via": shipper,
            "freight": "1.00", "lines": [{"product_id": product, "quantity": 1}]}
    return {"body": body, "product": product, "unrelated_product": other}


def _create(http: httpx.Client, body: dict) -> int:
    response = http.post("/api/orders", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/orders: {response.status_code} {response.text[:500]}")
    return int(response.json()["order_id"])


def _browser_context(browser, base: str, session_token: str):
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(INIT_JS)
    context.add_cookies([{"name": SESSION_COOKIE, "value": session_token, "url": base,
                          "sameSite": "Strict"}])
    return context


def _row_selector(order_id: int) -> str:
    return f'[data-testid="list-row"]:has(a[href="/orders/{order_id}"])'


# --- latency ----------------------------------------------------------------------------------

def latency(base: str, db_url: str, login: Credentials, changes: int) -> dict:
    """`changes` API writes, each timed to the DOM of a list tab and an order-page tab."""
    from playwright.sync_api import sync_playwright

    setup = _setup(db_url)
    times: dict[str, list[float]] = {"list": [], "order_page": []}
    with httpx.Client(base_url=base, headers=login.api_headers, timeout=60) as http, \
            sync_playwright() as pw:
        order_id = _create(http, setup["body"])
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = {}
            for name, path, selector in (
                    ("list", f"{LIST_PATH}?{LIST_QUERY}", _row_selector(order_id)),
                    ("order_page", f"/orders/{order_id}", '[data-testid="order-freight"]')):
                page = _browser_context(browser, base, login.session_token).new_page()
                page.goto(path)
                page.locator(selector).wait_for()
                pages[name] = (page, selector)
            time.sleep(1.0)  # both tabs loaded and registered
            for i in range(changes):
                for page, selector in pages.values():
                    page.evaluate("s => window.__live.arm(s)", selector)
                freight = f"{100 + i}.{(i * 37) % 100:02d}"
                response = http.patch(f"/api/orders/{order_id}", json={"freight": freight})
                committed = time.time() * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"PATCH: {response.status_code} {response.text[:500]}")
                for name, (page, _) in pages.items():
                    times[name].append(float(page.evaluate("() => window.__live.done"))
                                       - committed)
                time.sleep(max(0.0, COALESCE_GAP - (time.time() * 1000 - committed) / 1000))
        finally:
            browser.close()
        http.delete(f"/api/orders/{order_id}")
    every = times["list"] + times["order_page"]
    result = {"changes": changes, "order_id": order_id, "all": summary_ms(every),
              **{name: summary_ms(values) for name, values in times.items()}}
    log(f"live latency: {changes} changes → list p50 {result['list']['p50_ms']} / p95 "
        f"{result['list']['p95_ms']} ms, order page p50 {result['order_page']['p50_ms']} / "
        f"p95 {result['order_page']['p95_ms']} ms")
    return result


# --- load -------------------------------------------------------------------------------------

class LiveClient(EventClient):
    """A tab's websocket (bench/memory.py) that also does what the browser does with the
    events in an update: sends them back (a live nudge, the refresh's own load). Records when
    each order id first appeared in its list's rows, and everything it received."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: dict[int, float] = {}  # order id → wall clock (s) first shown
        self.last_rows: list[str] = []
        self.updates = 0  # socket.io events received (state updates)
        self.nudges = 0  # events the server asked this tab to send
        self.any_delta = asyncio.Event()

    def _router_data(self) -> dict:
        data = {"pathname": self.path,
                "asPath": self.path + (("?" + self.query) if self.query else "")}
        if self.query:
            data["query"] = dict(parse_qsl(self.query))
        return data

    async def _on_text(self, data: str) -> None:
        if not data.startswith("42"):
            await super()._on_text(data)
            return
        body = data[2:]
        if body.startswith(NAMESPACE + ","):
            body = body[len(NAMESPACE) + 1:]
        name, *args = json.loads(body)
        if name != "event" or not args:
            return
        at = time.time()
        update = args[0] or {}
        self.updates += 1
        delta = update.get("delta") or {}
        if delta:
            self.any_delta.set()
        rows = (delta.get(ORDERS_STATE) or {}).get(ROWS)
        if rows is not None:
            self.rows = len(rows)
            self.last_rows = [row.get("order_id", "") for row in rows]
            for order_id in self.last_rows:
                if order_id.isdigit() and int(order_id) not in self.seen:
                    self.seen[int(order_id)] = at
        if self.rows and (delta.get(ORDERS_STATE) or {}).get(LOADING) is False:
            self.loaded.set()
        for event in update.get("events") or []:
            event_name = event.get("name", "")
            if event_name.startswith("_"):  # the browser's own (scripts, redirects, toasts)
                continue
            self.nudges += 1
            await self._send_text("42" + NAMESPACE + "," + json.dumps(
                ["event", {"name": event_name, "payload": event.get("payload") or {},
                           "router_data": self._router_data()}]))


async def _open(host: str, port: int, token: str, count: int, batch: int, timeout: float,
                path: str = LIST_PATH, query_: str = LIST_QUERY) -> list[LiveClient]:
    clients: list[LiveClient] = []
    for start in range(0, count, batch):
        group = [LiveClient(host, port, token, path=path, query=query_)
                 for _ in range(min(batch, count - start))]
        await asyncio.gather(*(c.connect() for c in group))
        await asyncio.gather(*(c.wait_loaded(timeout) for c in group))
        clients.extend(group)
    return clients


WRITERS = 8  # writes in flight at most (each its own connection)


def _writer(base: str, login: Credentials, body: dict, rate: float, seconds: float,
            made: list[tuple[int, float]], errors: list[str],
            took: list[float] | None = None) -> None:
    """`rate` creates a second for `seconds`, on a fixed schedule (open loop: each write is
    sent at its time whatever the answers to earlier ones, up to WRITERS in flight; one whose
    time comes while WRITERS are unanswered is skipped and counted, so the run ends on time
    however slow the server); (order id, wall clock of the response) each, and each write's
    time from request to response (ms) in `took`."""
    local = threading.local()
    in_flight = threading.Semaphore(WRITERS)
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def write() -> None:
        try:
            http = getattr(local, "http", None)
            if http is None:
                http = local.http = httpx.Client(base_url=base, headers=login.api_headers,
                                                 timeout=10)
                with lock:
                    clients.append(http)
            sent = time.perf_counter()
            order_id = _create(http, body)
            if took is not None:
                took.append((time.perf_counter() - sent) * 1000)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(str(exc)[:300])
        else:
            with lock:
                made.append((order_id, time.time()))
        finally:
            in_flight.release()

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        t0 = time.perf_counter()
        for i in range(int(rate * seconds)):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            if not in_flight.acquire(blocking=False):
                with lock:
                    errors.append(f"skipped: {WRITERS} earlier writes were still unanswered")
                continue
            pool.submit(write)
    for http in clients:
        http.close()


def _first_page(db_url: str) -> list[str]:
    return [str(r[0]) for r in query(db_url, "SELECT order_id FROM orders ORDER BY order_id "
                                             "DESC LIMIT 25")]


async def _load(server, db_url: str, login: Credentials, setup: dict, tabs: int, rate: float,
                seconds: float, batch: int, timeout: float, browser_done: threading.Event,
                browser_ready: threading.Event) -> dict:
    host, port = "127.0.0.1", server.port
    t_connect = time.perf_counter()
    clients = await _open(host, port, login.session_token, tabs, batch, timeout)
    connect_s = time.perf_counter() - t_connect
    unrelated = LiveClient(host, port, login.session_token,
                           path=f"/products/{setup['unrelated_product']}", query="")
    await unrelated.connect()
    await asyncio.wait_for(unrelated.any_delta.wait(), timeout)
    log(f"live load: {tabs} tabs connected and loaded in {connect_s:.1f} s")
    await asyncio.to_thread(browser_ready.wait, 300)
    await asyncio.sleep(3)  # settled: the last loads' deltas, the unrelated page's load
    # … and the unrelated page's own load has finished: silent for QUIET_SECONDS (at 1M its
    # "orders with this product" list takes about 2 s, whose rows came after the 3 s above
    # and were counted as updates the writes caused).
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        before = unrelated.updates
        await asyncio.sleep(QUIET_SECONDS)
        if unrelated.updates == before:
            break
    unrelated_before = (unrelated.updates, unrelated.nudges)
    updates_before = sum(c.updates for c in clients)
    redis_meter = _redis_meter(server.redis_url)
    rss: list[tuple[float, int]] = [(0.0, server.rss_kb())]
    redis_start = redis_meter()
    database = _database_pids(db_url)
    cpu0, own0 = CpuSample.take(server.pgid, database), _own_cpu()
    made: list[tuple[int, float]] = []
    errors: list[str] = []
    took: list[float] = []
    writer = threading.Thread(target=_writer, args=(server.base, login, setup["body"], rate,
                                                    seconds, made, errors, took), daemon=True)
    start = time.perf_counter()
    writer.start()
    while writer.is_alive():
        await asyncio.sleep(1.0)
        rss.append((round(time.perf_counter() - start, 1), server.rss_kb()))
    writes_s = time.perf_counter() - start
    cpu1, own1 = CpuSample.take(server.pgid, database), _own_cpu()
    # The last writes' refreshes: until every tab shows the database's first page (at most
    # SETTLE_SECONDS; a tab still behind then is counted stale).
    first_page = await asyncio.to_thread(_first_page, db_url)
    settle_end = time.perf_counter() + SETTLE_SECONDS
    await asyncio.sleep(1)
    while time.perf_counter() < settle_end and any(c.last_rows != first_page for c in clients):
        await asyncio.sleep(0.5)
    settle_s = time.perf_counter() - settle_end + SETTLE_SECONDS
    rss.append((round(time.perf_counter() - start, 1), server.rss_kb()))
    redis_end = redis_meter()
    browser_done.set()

    created = [order_id for order_id, _ in made]
    answered = dict(made)
    notified: list[float] = []
    missed = 0
    tabs_missing = 0
    for client in clients:
        lost = [oid for oid in created if oid not in client.seen]
        missed += len(lost)
        tabs_missing += bool(lost)
        notified += [(client.seen[oid] - answered[oid]) * 1000 for oid in created
                     if oid in client.seen]
    stale = sum(1 for c in clients if c.last_rows != first_page)
    closed = sum(1 for c in clients if c.closed)
    updates = sum(c.updates for c in clients) - updates_before
    await asyncio.gather(*(c.close() for c in [*clients, unrelated]), return_exceptions=True)

    writes = len(made)
    cpu = cpu_per_request(cpu0, cpu1, writes)
    half = len(rss) // 2
    result = {
        "tabs": tabs, "rate_per_s": rate, "seconds": seconds, "writes": writes,
        "write_errors": sum(1 for e in errors if not e.startswith("skipped")),
        "writes_skipped": sum(1 for e in errors if e.startswith("skipped")),
        "write_ms": summary_ms(took),
        "first_write_error": next((e for e in errors if not e.startswith("skipped")), ""),
        "writes_s": round(writes_s, 1), "connect_and_load_s": round(connect_s, 1),
        "settle_s": round(settle_s, 1),
        "server_cpu_s": round(cpu1.server_s - cpu0.server_s, 2),
        "server_cpu_ms_per_write": round((cpu1.server_s - cpu0.server_s) / writes * 1000, 1)
        if writes else None,
        "database_cpu_ms_per_write": round((cpu1.database_s - cpu0.database_s) / writes * 1000, 1)
        if writes and cpu0.database_s is not None else None,
        "machine_busy_pct": cpu.get("machine_busy_pct"),
        "bench_cpu_s": round(own1 - own0, 2),
        "rss_kb_start": rss[0][1], "rss_kb_end": rss[-1][1],
        "rss_kb_max": max(kb for _, kb in rss),
        "rss_growth_kb": rss[-1][1] - rss[0][1],
        "rss_growth_second_half_kb": rss[-1][1] - rss[half][1],
        "rss_samples": rss, "redis_growth_kb": redis_end - redis_start,
        "notified": summary_ms(notified),
        "notified_p99_ms": round(percentile(notified, 99) or 0, 1) if notified else None,
        "updates_per_tab_per_write": round(updates / tabs / writes, 2) if writes else None,
        "missed": missed, "tabs_missing_an_order": tabs_missing, "tabs_stale_at_end": stale,
        "tabs_closed": closed,
        "unrelated_updates": unrelated.updates - unrelated_before[0],
        "unrelated_nudges": unrelated.nudges - unrelated_before[1],
        "made": made,
    }
    return result


def _database_pids(db_url: str) -> list[int] | None:
    """The database server's processes: the one listening on the URL's port when its
    command line names it (a private server beside others), else every MariaDB here; None
    for SQLite (inside the app)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(db_url)
    if parsed.get_backend_name() == "sqlite":
        return None
    pids = database_pids()
    named = [pid for pid in pids if f"--port={parsed.port}" in _cmdline(pid)]
    return named or pids or None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _redis_meter(url: str | None):
    from bench.memory import _redis_meter as meter

    return meter(url)


def load(server, db_url: str, login: Credentials, *, tabs: int, rate: float, seconds: float,
         browsers: int = 2, batch: int = 25, timeout: float = 300) -> dict:
    """The load part (see the module docstring); `browsers` Chromium tabs check the DOM."""
    from playwright.sync_api import sync_playwright

    setup = _setup(db_url)
    ready, done = threading.Event(), threading.Event()
    box: dict = {}

    def clients_side() -> None:
        try:
            box["result"] = asyncio.run(_load(server, db_url, login, setup, tabs, rate, seconds,
                                              batch, timeout, done, ready))
        except BaseException as exc:  # noqa: BLE001 - raised in the main thread
            box["error"] = exc
            done.set()

    side = threading.Thread(target=clients_side, daemon=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            side.start()
            pages = []
            for _ in range(browsers):
                page = _browser_context(browser, server.base, login.session_token).new_page()
                page.goto(f"{LIST_PATH}?{LIST_QUERY}")
                page.get_by_test_id("list-row").first.wait_for()
                page.evaluate("() => window.__live.watchIds()")
                pages.append(page)
            ready.set()
            while not done.wait(0.5):
                if not side.is_alive():
                    break
            seen = [page.evaluate("() => window.__live.seenIds") for page in pages]
            dom_rows = [page.locator(f'[data-testid="list-row"] a[href^="/orders/"]')
                        .all_text_contents() for page in pages]
        finally:
            ready.set()
            browser.close()
    side.join(timeout=120)
    if "error" in box:
        raise box["error"]
    result = box["result"]
    made = result.pop("made")
    first_page = _first_page(db_url)
    seen_ms: list[float] = []
    browser_missed = 0
    for page_seen in seen:
        for order_id, answered in made:
            if str(order_id) in page_seen:
                seen_ms.append(page_seen[str(order_id)] - answered * 1000)
            else:
                browser_missed += 1
    result["browser_tabs"] = browsers
    result["browser_shown"] = summary_ms(seen_ms)
    result["browser_missed"] = browser_missed
    result["browser_rows_match_database"] = all(
        [r.strip() for r in rows] == first_page for rows in dom_rows)
    write_ms = result.get("write_ms") or {}
    log(f"live load: {result['writes']} writes in {result['writes_s']} s (each answered in "
        f"p50 {write_ms.get('p50_ms')} / p95 {write_ms.get('p95_ms')} ms), server CPU "
        f"{result['server_cpu_ms_per_write']} ms/write, RSS {result['rss_kb_start'] // 1024} → "
        f"{result['rss_kb_end'] // 1024} MB, tab notified p50 {result['notified']['p50_ms']} / "
        f"p95 {result['notified']['p95_ms']} ms, missed {result['missed']}, stale tabs "
        f"{result['tabs_stale_at_end']}, browser missed {browser_missed}, unrelated tab "
        f"{result['unrelated_updates']} updates")
    return result


def run(server, db_url: str, login: Credentials, *, changes: int, tabs: int, rate: float,
        seconds: float, browsers: int, compare: bool) -> dict:
    """Latency, then the load on the running `server`; with `compare` the load twice, each
    on the server started again: refreshes not shared, then shared (live/shared.py)."""
    result: dict = {"latency": latency(server.base, db_url, login, changes)}
    runs = (("load_unshared", False), ("load", True)) if compare else (("load", None),)
    for label, shared in runs:
        if shared is not None:
            server.stop()
            with shared_env(shared):
                server.start()
            log(f"live load with refreshes {'shared' if shared else 'not shared'}")
        result[label] = load(server, db_url, login, tabs=tabs, rate=rate, seconds=seconds,
                             browsers=browsers)
    return result


@contextlib.contextmanager
def shared_env(shared: bool):
    """NORTHWIND_LIVE_SHARED for a server started inside the block."""
    old = os.environ.get("NORTHWIND_LIVE_SHARED")
    os.environ["NORTHWIND_LIVE_SHARED"] = "1" if shared else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NORTHWIND_LIVE_SHARED", None)
        else:
            os.environ["NORTHWIND_LIVE_SHARED"] = old


REDIS_CLAIM_KEY = "northwind-test-claim"  # tests/prodserver.own_redis_db's marker


@contextlib.contextmanager
def own_redis_db(server_url: str):
    """An empty numbered database of the Redis at `server_url`, claimed as the tests claim
    theirs (tests/prodserver.own_redis_db: a marker key set NX in an empty database, never
    0), emptied afterwards; yields its URL."""
    import redis

    server_url = server_url.rstrip("/")
    databases = int(redis.Redis.from_url(server_url, socket_timeout=3)
                    .config_get("databases")["databases"])
    for db in range(databases - 1, 0, -1):
        client = redis.Redis.from_url(f"{server_url}/{db}")
        if not client.set(REDIS_CLAIM_KEY, f"bench {os.getpid()}", nx=True, ex=6 * 3600):
            continue
        if client.dbsize() != 1:
            client.delete(REDIS_CLAIM_KEY)
            continue
        try:
            yield f"{server_url}/{db}"
        finally:
            client.flushdb()
            client.close()
        return
    raise RuntimeError(f"no free Redis database on {server_url}")
