"""REST API throughput and latency with wrk at several connection counts.

Endpoints come from the running app's OpenAPI schema: the /api/orders ones are measured when
the schema has them and reported as "not available" otherwise; the customers list and record
are always measured (they exist since the first API release and check the wrk machinery).
Every request sends the benchmark admin's API token (`common.sign_in`), as any API client
must, so the figures include checking it.

Two floors are measured beside them, so that a missed throughput target can be read against
what this machine allows at all: `/ping` (Reflex's own endpoint: the server, Granian and
Reflex's app, no API) and `/api/health` (the API's cheapest endpoint: FastAPI, one worker
thread and one `SELECT 1`, no token). No endpoint of the API can be faster than the second.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from bench.common import (
    BENCH_DIR, Credentials, CpuSample, cpu_per_request, database_pids, log, query,
)

LUA = BENCH_DIR / "lua" / "report.lua"


@dataclass
class Endpoint:
    name: str
    method: str
    path: str = ""
    body: dict | None = None
    available: bool = True
    note: str = ""
    extra: dict = field(default_factory=dict)


# The floors (see the module's docstring): measured like the endpoints, token sent and all.
FLOORS = (Endpoint("server_ping", "GET", "/ping"), Endpoint("api_health", "GET", "/api/health"))


def _get_json(url: str, timeout: float = 30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _post_json(url: str, body: dict, headers: dict[str, str],
               timeout: float = 30) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _resolve(schema: dict, openapi: dict) -> dict:
    """Follow $ref (and a single allOf/anyOf branch) to a schema with properties."""
    for _ in range(10):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = openapi.get("components", {}).get("schemas", {}).get(name, {})
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        elif "anyOf" in schema:
            schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), {})
        else:
            return schema
    return schema


MINIMAL_ORDER = ("customer_id", "employee_id", "order_date")
MINIMAL_LINE = ("product_id", "quantity")


def _order_body(openapi: dict, op: dict, values: dict, line: dict) -> tuple[dict | None, str]:
    """A valid POST /api/orders body built from the operation's request schema."""
    content = (op.get("requestBody") or {}).get("content", {})
    schema = _resolve((content.get("application/json") or {}).get("schema", {}), openapi)
    props = schema.get("properties")
    if not props:  # schema not declared: the documented minimal body
        return {k: values[k] for k in MINIMAL_ORDER} | {
            "lines": [{k: line[k] for k in MINIMAL_LINE}]}, ""
    # The documented minimal body, plus any other field the schema requires that we know.
    required = set(schema.get("required", []))
    body = {k: v for k, v in values.items()
            if k in props and (k in MINIMAL_ORDER or k in required)}
    lines_schema = _resolve(props.get("lines", {}), openapi)
    item = _resolve(lines_schema.get("items", {}), openapi)
    item_required = set(item.get("required", []))
    body["lines"] = [{k: v for k, v in line.items()
                      if k in MINIMAL_LINE or k in item_required}]
    missing = [k for k in schema.get("required", []) if k not in body]
    missing += [f"lines.{k}" for k in item.get("required", []) if k not in body["lines"][0]]
    if missing:
        return None, "POST /api/orders requires fields this benchmark does not know: " + \
            ", ".join(missing)
    return body, ""


def _deep_cursor(base: str, deep: int, headers: dict[str, str]) -> str | None:
    """The `next_cursor` of the page that ends at row `deep`: the cursor form of the
    offset-`deep` page (the same rows, found by seeking instead of skipping)."""
    url = f"{base}/api/orders?limit=50&offset={max(0, deep - 50)}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=120) as response:
            return json.loads(response.read()).get("next_cursor")
    except (urllib.error.URLError, ValueError):
        return None


def plan(base: str, db_url: str,
         headers: dict[str, str] | None = None) -> tuple[list[Endpoint], dict]:
    """The endpoints to measure on this server and database."""
    openapi = _get_json(base + "/api/openapi.json")
    paths = openapi.get("paths", {})
    orders_ops = paths.get("/api/orders", {})
    record_path = next((p for p in paths if re.fullmatch(r"/api/orders/\{[^}/]+\}", p)), None)
    info: dict = {}

    (total, lo, hi), = query(db_url, "SELECT COUNT(*), MIN(order_id), MAX(order_id) FROM orders")
    info["orders"] = total
    mid_id = (query(db_url, "SELECT order_id FROM orders ORDER BY order_id LIMIT 1 OFFSET :o",
                    o=max(0, total // 2))[0][0] if total else lo)
    # The most common ship city: a search term whose share of rows is similar at every scale.
    city_rows = query(db_url, "SELECT ship_city, COUNT(*) AS n FROM orders WHERE ship_city IS NOT "
                              "NULL GROUP BY ship_city ORDER BY n DESC, ship_city LIMIT 1")
    search = city_rows[0][0] if city_rows else "a"
    deep = max(0, total // 2)
    info.update(order_id=mid_id, search=search, deep_offset=deep)

    endpoints: list[Endpoint] = []
    na = "not available: /api/orders is not in /api/openapi.json yet"
    list_ok = "get" in orders_ops
    endpoints += [
        Endpoint("orders_first_page", "GET", "/api/orders?limit=50",
                 available=list_ok, note="" if list_ok else na),
        Endpoint("orders_deep_page", "GET", f"/api/orders?limit=50&offset={deep}",
                 available=list_ok, note="" if list_ok else na),
    ]
    cursor = _deep_cursor(base, deep, headers or {}) if list_ok and deep else None
    endpoints += [
        Endpoint("orders_deep_cursor", "GET",
                 f"/api/orders?limit=50&after={urllib.parse.quote(cursor or '')}",
                 available=cursor is not None,
                 note="" if cursor else "not available: no next_cursor in /api/orders pages"),
        Endpoint("orders_search", "GET",
                 f"/api/orders?limit=50&q={urllib.parse.quote(search)}&status=shipped",
                 available=list_ok, note="" if list_ok else na),
    ]
    record_ok = record_path is not None and "get" in paths[record_path]
    endpoints.append(Endpoint(
        "order_by_id", "GET", f"/api/orders/{mid_id}", available=record_ok,
        note="" if record_ok else "not available: GET /api/orders/{id} is not in /api/openapi.json yet"))

    post = orders_ops.get("post")
    if post is None:
        endpoints.append(Endpoint("order_create", "POST", "/api/orders", available=False,
                                  note="not available: POST /api/orders is not in "
                                       "/api/openapi.json yet"))
    else:
        (customer,), = query(db_url, "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1")
        (employee,), = query(db_url, "SELECT MIN(employee_id) FROM employees")
        (shipper,), = query(db_url, "SELECT MIN(shipper_id) FROM shippers")
        (product, price), = query(db_url, "SELECT product_id, unit_price FROM products WHERE "
                                          "discontinued = 0 ORDER BY units_in_stock DESC, "
                                          "product_id LIMIT 1")
        if db_url.startswith("sqlite"):  # ExactDecimal: scaled integers on SQLite
            price = f"{int(price) / 10000:.2f}"
        today = dt.date.today()
        values = {"customer_id": customer, "employee_id": employee,
                  "order_date": today.isoformat(),
                  "required_date": (today + dt.timedelta(days=28)).isoformat(),
                  "ship_via": shipper, "freight": "1.00"}
        line = {"product_id": product, "quantity": 1, "unit_price": str(price), "discount": "0"}
        body, note = _order_body(openapi, post, values, line)
        endpoints.append(Endpoint("order_create", "POST", "/api/orders", body=body,
                                  available=body is not None, note=note,
                                  extra={"product_id": product}))

    (cust,), = query(db_url, "SELECT COALESCE(MAX(CASE WHEN customer_id = 'ALFKI' THEN "
                             "customer_id END), MIN(customer_id)) FROM customers")
    endpoints += [
        Endpoint("customers_first_page", "GET", "/api/customers?limit=50"),
        Endpoint("customer_by_id", "GET", f"/api/customers/{cust}"),
        *FLOORS,
    ]
    return endpoints, info



def wrk(url: str, connections: int, seconds: int, method: str = "GET",
        body: dict | None = None, headers: dict[str, str] | None = None) -> dict:
    exe = shutil.which("wrk")
    if not exe:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    threads = max(1, min(2, connections))
    env = {**os.environ, "BENCH_METHOD": method,
           "BENCH_BODY": json.dumps(body) if body is not None else ""}
    header_args = [arg for name, value in (headers or {}).items()
                   for arg in ("-H", f"{name}: {value}")]
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "--latency", *header_args, "-s", str(LUA), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    result = json.loads(line[len("BENCH_JSON "):])
    result.update(connections=connections, threads=threads)
    return result


def _recovery(base: str, limit: float = 90) -> float:
    """Seconds until /api/health answers again after a run (requests wrk left in flight must
    drain first; a stuck server shows here, since wrk does not count unfinished requests)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=limit) as response:
                if response.status == 200:
                    break
        except Exception:  # noqa: BLE001 - keep polling
            time.sleep(0.2)
    return time.perf_counter() - t0


def _is_local(db_url: str) -> bool:
    return urllib.parse.urlsplit(db_url).hostname in ("127.0.0.1", "localhost", "::1", None)


def _raise_stock(db_url: str, product_id: int) -> None:
    query(db_url, "UPDATE products SET units_in_stock = 100000000 WHERE product_id = :p",
          p=product_id)


def run(base: str, db_url: str, *, credentials: Credentials, connections: list[int],
        seconds: int, warmup: int = 1, include_writes: bool = True,
        only: set[str] | None = None, server_pgid: int | None = None) -> dict:
    """wrk at each connection count on each endpoint; returns {endpoint: {...}}. With the
    server's process group, each run also records its CPU per request (`cpu_per_request`):
    the server's, and the database server's when the database is MariaDB/MySQL on this
    machine."""
    headers = credentials.api_headers
    # None (not counted) when the database runs inside the server (SQLite) or elsewhere.
    database = (database_pids() or None) if db_url.startswith("mysql") and _is_local(db_url) \
        else None
    endpoints, info = plan(base, db_url, headers)
    results: dict = {"info": info, "endpoints": {}}
    for ep in endpoints:
        if only and ep.name not in only:
            continue
        entry: dict = {"method": ep.method, "path": ep.path, "available": ep.available,
                       "note": ep.note, "runs": {}}
        results["endpoints"][ep.name] = entry
        if not ep.available:
            log(f"rest: {ep.name}: {ep.note}")
            continue
        if ep.method == "POST":
            if not include_writes:
                entry.update(available=False, note="skipped (--no-writes)")
                continue
            _raise_stock(db_url, ep.extra["product_id"])
            entry["body"] = ep.body
            status, text = _post_json(base + ep.path, ep.body, headers)
            if not 200 <= status < 300:
                entry.update(available=False,
                             note=f"a single POST answered {status}: {text[:300]}")
                log(f"rest: {ep.name}: {entry['note']}")
                continue
        else:
            try:
                request = urllib.request.Request(base + ep.path, headers=headers)
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
            except urllib.error.HTTPError as exc:
                entry.update(available=False, note=f"GET answered {exc.code}")
                log(f"rest: {ep.name}: {entry['note']}")
                continue
        if warmup:
            wrk(base + ep.path, 16, warmup, ep.method, ep.body, headers)
        for c in connections:
            before = CpuSample.take(server_pgid, database) if server_pgid else None
            r = wrk(base + ep.path, c, seconds, ep.method, ep.body, headers)
            if before is not None:
                r["cpu"] = cpu_per_request(before, CpuSample.take(server_pgid, database),
                                           r["requests"])
            r["recovery_s"] = round(_recovery(base), 2)
            entry["runs"][str(c)] = r
            lat = r["latency_ms"]
            log(f"rest: {ep.name} c={c}: {r['rps']:.0f} req/s, p50 {lat['p50']:.1f} ms, "
                f"p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms, non-2xx {r['non_2xx']}")
            if r["recovery_s"] > 1:
                log(f"rest: {ep.name} c={c}: the server needed {r['recovery_s']:.1f} s after the "
                    "run to answer /api/health again (requests stuck in flight)")
    return results
