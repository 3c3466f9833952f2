"""Smoke run of the benchmark suite (bench/) on a tiny SQLite dataset, so the scripts never rot.

It runs the real command (`python -m bench --quick ...`: data load, two server starts, memory
with websocket clients, wrk, Chromium clicks) in a subprocess and checks the numbers it wrote
are sane. Benchmarks themselves are scripts, not tests: nothing here checks the targets.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench import common, report, rest
from northwind_app.settings import PROJECT_ROOT
from tests.dbutil import CLASSIC_DIR

CHROMIUM = os.environ.get("NORTHWIND_CHROMIUM", "/usr/bin/chromium")


def _require_wrk() -> None:
    """wrk is installed by scripts/test.sh (as chromium is), never by a test."""
    if not shutil.which("wrk"):
        pytest.skip("wrk not found on PATH (scripts/test.sh installs Debian's wrk)")


def _bench(tmp_path: Path, *args: str, timeout: int = 400) -> dict:
    out = tmp_path / "results"
    env = {**os.environ, "NORTHWIND_BENCH_WORK_DIR": str(tmp_path / "work")}
    proc = subprocess.Popen([sys.executable, "-m", "bench", "--db", "sqlite", *args,
                             "--out", str(out), "--no-readme"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # bench stops its app server's process group on SIGTERM
        output, _ = proc.communicate(timeout=90)
        pytest.fail(f"bench did not finish in {timeout} s:\n{output[-6000:]}")
    files = sorted(out.glob("*.json"))
    assert proc.returncode == 0 and files, f"bench failed:\n{output[-8000:]}"
    results = json.loads(files[-1].read_text())
    rendered = report.markdown(results)
    assert "### Targets" in rendered and "CPU check (CPU time of a 10,000,000-step" in rendered
    return results


def _port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_order_body_follows_the_request_schema():
    openapi = {"components": {"schemas": {
        "NewOrder": {"type": "object", "required": ["customer_id", "lines", "ship_via"],
                     "properties": {k: {} for k in ("customer_id", "employee_id", "order_date",
                                                   "ship_via", "freight", "lines")}
                     | {"lines": {"type": "array", "items": {"$ref": "#/components/schemas/L"}}}},
        "L": {"type": "object", "required": ["product_id", "quantity"],
              "properties": {"product_id": {}, "quantity": {}, "discount": {}}}}}}
    op = {"requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/NewOrder"}}}}}
    values = {"customer_id": "ALFKI", "employee_id": 1, "order_date": "2026-01-02",
              "ship_via": 2, "freight": "1.00", "required_date": "2026-02-01"}
    line = {"product_id": 7, "quantity": 1, "unit_price": "1.00", "discount": "0"}
    body, note = rest._order_body(openapi, op, values, line)
    assert note == ""
    assert body == {"customer_id": "ALFKI", "employee_id": 1, "order_date": "2026-01-02",
                    "ship_via": 2, "lines": [{"product_id": 7, "quantity": 1}]}
    # A required field the benchmark cannot fill: reported, not guessed.
    openapi["components"]["schemas"]["NewOrder"]["required"].append("mystery")
    body, note = rest._order_body(openapi, op, values, line)
    assert body is None and "mystery" in note


def test_the_benchmark_signs_in_with_the_screens_cookie():
    from bench.common import SESSION_COOKIE
    from northwind_app.ui.auth import COOKIE_NAME

    assert SESSION_COOKIE == COOKIE_NAME


def test_cpu_per_request_counts_the_servers_and_the_machine():
    before = common.CpuSample(server_s=10.0, database_s=4.0, machine_busy_s=50.0,
                              machine_total_s=100.0)
    after = common.CpuSample(server_s=13.0, database_s=5.0, machine_busy_s=54.0,
                             machine_total_s=104.0)
    cpu = common.cpu_per_request(before, after, 2000)
    assert cpu == {"server_us": 1500, "database_us": 500, "machine_busy_pct": 100,
                   "cpu_bound_rps": (os.cpu_count() or 1) * 500}
    sqlite = common.cpu_per_request(replace(before, database_s=None),
                                    replace(after, database_s=None), 3000)
    assert sqlite["server_us"] == 1000 and sqlite["database_us"] is None
    assert sqlite["cpu_bound_rps"] == (os.cpu_count() or 1) * 1000
    assert common.cpu_per_request(before, after, 0) == {}


def test_cpu_sample_reads_this_process_group():
    sample = common.CpuSample.take(os.getpgrp(), common.database_pids() or None)
    assert sample.server_s > 0 and 0 < sample.machine_busy_s < sample.machine_total_s
    assert sample.database_s is None or sample.database_s > 0


def test_data_benchmark_classic_import(tmp_path):
    if not CLASSIC_DIR.is_dir():
        pytest.skip(f"classic CSVs not found at {CLASSIC_DIR}")
    results = _bench(tmp_path, "--scales", "classic", "--only", "data", timeout=180)
    data = results["scales"]["classic"]["data"]
    assert data["kind"] == "classic_import"
    assert data["orders"] == 830 and data["order_lines"] == 2155
    assert 0 < data["load_s"] <= data["wall_s"] < 120


def test_quick_run_of_every_benchmark(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not found at {CHROMIUM}")
    _require_wrk()
    results = _bench(tmp_path, "--scales", "300", "--quick", "--connections", "1,4",
                     "--clicks", "10", "--cold-loads", "2", "--clients", "2,5")
    meta = results["meta"]
    assert meta["machine"]["nproc"] >= 1 and meta["machine"]["ram_gb"] > 0
    for check in (meta["cpu_check_start"], meta["cpu_check_end"]):
        assert check["one_s"] > 0 and check["two_s"] > 0 and check["loop"] == 10_000_000
    res = results["scales"]["300"]
    assert res["errors"] == {}

    assert res["data"]["kind"] == "demo_generation" and res["data"]["orders"] == 300
    assert 0 < res["data"]["wall_s"] < 120

    start = res["start"]
    assert 0 < start["start_s"] < 300 and start["first_start_s"] > 0
    assert _port_closed(start["port"]), "the app server was left running"

    mem = res["memory"]
    assert 50_000 < mem["idle_rss_kb"] < 4_000_000
    assert [p["clients"] for p in mem["points"]] == [2, 5]
    assert all(p["alive"] == p["clients"] and p["rss_kb"] > 0 for p in mem["points"])

    endpoints = res["rest"]["endpoints"]
    assert set(endpoints) >= {"orders_first_page", "orders_deep_page", "orders_search",
                              "order_by_id", "order_create", "customers_first_page",
                              "customer_by_id", "server_ping", "api_health"}
    for name, ep in endpoints.items():
        if not ep["available"]:
            assert ep["note"] and not ep["runs"], name
            assert not name.startswith("customer"), f"{name}: {ep['note']}"
            continue
        assert set(ep["runs"]) == {"1", "4"}, name
        for run in ep["runs"].values():
            assert run["requests"] > 0 and run["rps"] > 0, (name, run)
            lat = run["latency_ms"]
            assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], (name, lat)
            assert run["non_2xx"] == 0, (name, run["first_non_2xx"])
            # What the run cost: the server's CPU per request (SQLite runs inside it, so
            # there is no database server to count) and what the CPUs allow at that cost.
            cpu = run["cpu"]
            assert cpu["server_us"] > 0 and cpu["database_us"] is None, (name, cpu)
            assert 0 < cpu["machine_busy_pct"] <= 100, (name, cpu)
            # Both figures are rounded: the rate to a whole request per second, the cost to a
            # whole microsecond (which moves the rate by up to half a microsecond's share).
            expected = (os.cpu_count() or 1) * 1e6 / cpu["server_us"]
            assert cpu["cpu_bound_rps"] == pytest.approx(
                expected, abs=0.5 + expected * 0.5 / cpu["server_us"] + 1e-9), (name, cpu)

    ui = res["ui"]
    assert ui["cold_load_ms"]["n"] == 2 and 0 < ui["cold_load_ms"]["p50_ms"] < 60_000
    assert ui["clicks"]["n"] == 10
    assert 0 < ui["clicks"]["p50_ms"] <= ui["clicks"]["p95_ms"] < 30_000
    assert all(ui["clicks_by_kind"][k]["n"] >= 1 for k in ("next_page", "sort", "filter",
                                                          "open", "back"))

    live = res["live"]
    lat = live["latency"]
    assert lat["changes"] == 5 and lat["list"]["n"] == 5 and lat["order_page"]["n"] == 5
    assert 0 < lat["all"]["p50_ms"] <= lat["all"]["p95_ms"] < 30_000
    load = live["load"]
    assert load["tabs"] == 5 and load["writes"] == 15 and load["write_errors"] == 0
    # Every tab (websocket clients and Chromium) showed every order created, and ends on
    # the database's first page; the tab on an unrelated product received nothing.
    assert load["missed"] == 0 and load["tabs_stale_at_end"] == 0 and load["tabs_closed"] == 0
    assert load["browser_missed"] == 0 and load["browser_rows_match_database"]
    assert load["notified"]["n"] == 5 * 15 and load["browser_shown"]["n"] == 15
    assert load["unrelated_updates"] == 0
    assert load["server_cpu_ms_per_write"] > 0 and load["rss_kb_end"] > 0
    rendered = report.markdown(results)
    assert "### Live updates" in rendered and "| 300 demo | shared reads | 5 (+ 1) |" in rendered

    assert results["targets"]
    assert {t["status"] for t in results["targets"]} <= {"met", "missed", "not measured"}
    # GET by id is read against the API's floor (/api/health), measured in the same run at the
    # connection count of its best run.
    by_id = next(t for t in results["targets"] if t["target"].startswith("GET /api/orders/{id}"))
    best = max(endpoints["order_by_id"]["runs"].values(), key=lambda run: run["rps"])
    floor = endpoints["api_health"]["runs"][str(best["connections"])]
    assert (f"/api/health (one SELECT 1, no token), {report._fmt(floor['rps'])} req/s at "
            f"{best['connections']} conn.") in by_id["note"], by_id


PEERS_DIR = Path(os.environ.get("NORTHWIND_PEERS_DIR") or PROJECT_ROOT.parent / "shared" / "peers")


def test_quick_peer_stage(tmp_path):
    """`python -m bench --peer DIR --quick`: ours and the Node.js peer on the same MariaDB
    data, wrk on both alternately; the run's figures are sane and the servers are stopped."""
    from bench.common import query
    from tests.dbutil import MARIADB_SERVER_URL, require_backend
    from tests.prodserver import own_redis_db

    if not shutil.which("node") or not (PEERS_DIR / "express" / "server.js").exists():
        pytest.skip(f"node or the peer ({PEERS_DIR}) not found")
    _require_wrk()
    require_backend("mariadb")
    out = tmp_path / "results"
    prefix = f"nw_test_peer{os.getpid()}_"
    env = {**os.environ, "NORTHWIND_BENCH_WORK_DIR": str(tmp_path / "work"),
           "NORTHWIND_BENCH_DB_PREFIX": prefix, "NORTHWIND_BENCH_MARIADB_URL": MARIADB_SERVER_URL}
    with own_redis_db() as redis_url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "--peer", str(PEERS_DIR), "--quick", "--duration",
             "1", "--redis", redis_url, "--drop", "--out", str(out), "--no-readme"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        try:
            output, _ = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.terminate()  # bench stops both servers' process groups on SIGTERM
            output, _ = proc.communicate(timeout=90)
            pytest.fail(f"bench --peer did not finish in 600 s:\n{output[-6000:]}")
    assert proc.returncode == 0, output[-8000:]
    (path,) = out.glob("*-peer-classic-quick.json")
    results = json.loads(path.read_text())
    res = results["scales"]["classic"]
    assert res["same_rows"] == {"first_page": True, "count": True, "order": True}
    assert res["data"]["orders"] == 830
    assert set(res["endpoints"]) == {"orders_first_page", "order_by_id", "orders_deep"}
    for name, entry in res["endpoints"].items():
        assert set(entry["runs"]) == {"16"}, name
        summary = entry["runs"]["16"]
        assert len(summary["rounds"]) == 2 and summary["non_2xx"] == 0, (name, summary)
        for run in summary["rounds"]:
            for side in ("ours", "peer"):
                assert run[side]["rps"] > 0 and 0 < run[side]["p50"] <= run[side]["p99"]
                assert run[side]["cpu"]["server_us"] > 0, (name, side, run[side])
        assert summary["rps_ratio_min"] <= summary["rps_ratio"] <= summary["rps_ratio_max"]
    assert "offset=415" in res["endpoints"]["orders_deep"]["peer_path"]
    assert "after=" in res["endpoints"]["orders_deep"]["ours_path"]
    assert all(_port_closed(port) for port in res["ports"].values()), "a server was left running"
    assert "| classic (830) | GET /api/orders/{id} | 16 |" in output
    assert not query(MARIADB_SERVER_URL, "SHOW DATABASES LIKE :p", p=prefix + "%")
