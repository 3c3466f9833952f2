"""Throughput of the REST API through haproxy on the Galera topology (issue #26), interleaved:

    python -m bench.cluster [--rounds 3] [--seconds 10] [--connections 16]

One 3-node Galera cluster (tests/cluster/harness.py; classic data) and three app processes
(production launcher, one Granian worker each, one Redis database): app 1 on node 1, app 2 on
node 2, app 3 on node 1. haproxy (deploy/haproxy.cfg) in front; its runtime API turns app
servers on and off between runs, so each configuration is measured in every round, one
after the other (interleaved: the machine's other load spreads over all of them):

- `1 app`: app 1 only (its database node 1);
- `2 apps, 1 node`: apps 1 and 3, both on node 1;
- `2 apps, 2 nodes`: apps 1 and 2, on nodes 1 and 2.

Each run is wrk on the orders list (`GET /api/orders?limit=50`) and on one order
(`GET /api/orders/{id}`) with a token, and the CPU each request cost the app processes and
the three `mariadbd` (bench/common.py). Also the cost of causal reads: one primary-key SELECT
in a loop on node 2 with `wsrep_sync_wait` 0 and 1. Prints a table and writes JSON to
bench/results/raw/. Every figure on a shared 2-core machine is noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import CpuSample, cpu_per_request
from bench.rest import wrk

CONFIGS = {"1 app": ["app1"], "2 apps, 1 node": ["app1", "app3"],
           "2 apps, 2 nodes": ["app1", "app2"]}


def _haproxy(top, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(top.haproxy.stats_socket))
        sock.sendall(command.encode() + b"\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode()


def _use(top, apps: list[str]) -> None:
    for i in range(1, len(top.apps) + 1):
        state = "ready" if f"app{i}" in apps else "maint"
        _haproxy(top, f"set server northwind_app/app{i} state {state}")
    deadline = time.monotonic() + 30
    while top.haproxy.servers_up() != len(apps):
        if time.monotonic() > deadline:
            raise RuntimeError(f"haproxy: {top.haproxy.server_states()}")
        time.sleep(0.2)


def _sync_wait_cost(node, statements: int = 2000) -> dict:
    """Microseconds per primary-key SELECT on a node, with and without causal reads."""
    result = {}
    with node.connect("northwind") as conn, conn.cursor() as cur:
        for value in (0, 1, 0, 1):
            cur.execute(f"SET SESSION wsrep_sync_wait = {value}")
            start = time.perf_counter()
            for i in range(statements):
                cur.execute("SELECT order_id, customer_id FROM orders WHERE order_id = %s",
                            (10248 + i % 830,))
                cur.fetchall()
            result.setdefault(value, []).append(
                (time.perf_counter() - start) / statements * 1e6)
    return {f"sync_wait_{k}_us": round(min(v), 1) for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)

    from tests.api.server import bearer, demo_tokens
    from tests.cluster.harness import missing_programs, topology
    from tests.prodserver import own_redis_db

    if missing := missing_programs():
        print(f"Missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="northwind-bench-cluster-"))
    runs: dict[str, dict[str, list[dict]]] = {}
    with own_redis_db() as redis_url, topology(root, redis_url, apps=3,
                                               web_workdir=".web-bench-cluster") as top:
        headers = bearer(demo_tokens(top.db_url)["admin"])
        endpoints = {"orders list": "/api/orders?limit=50", "order by id": "/api/orders/10600"}
        nodes = [pid for node in top.cluster.nodes for pid in [node.proc.pid]]
        apps = {f"app{i}": app for i, app in enumerate(top.apps, 1)}
        sync_wait = _sync_wait_cost(top.cluster.nodes[1])
        for name, path in endpoints.items():  # warm every app's caches and pools
            for app in top.apps:
                wrk(app.base + path, 4, 2, headers=headers)
        for round_no in range(1, args.rounds + 1):
            for config, members in CONFIGS.items():
                _use(top, members)
                for name, path in endpoints.items():
                    before = CpuSample.take(apps[members[0]].proc.pid, nodes)
                    others = [CpuSample.take(apps[m].proc.pid, None) for m in members[1:]]
                    result = wrk(top.base + path, args.connections, args.seconds,
                                 headers=headers)
                    after = CpuSample.take(apps[members[0]].proc.pid, nodes)
                    others_after = [CpuSample.take(apps[m].proc.pid, None) for m in members[1:]]
                    requests = result.get("requests", 0)
                    cpu = cpu_per_request(before, after, requests)
                    extra_server = sum(a.server_s - b.server_s
                                       for b, a in zip(others, others_after))
                    if requests and cpu:
                        cpu["server_us"] = round(cpu["server_us"] + extra_server / requests * 1e6)
                    run = {"round": round_no, **result, "cpu": cpu}
                    runs.setdefault(config, {}).setdefault(name, []).append(run)
                    print(f"round {round_no} {config:16} {name:12} "
                          f"{result.get('rps', 0):7.0f} req/s  p50 {result['latency_ms']['p50']:.1f} ms  "
                          f"non-2xx {result.get('non_2xx')}  "
                          f"app {cpu.get('server_us')} µs + db {cpu.get('database_us')} µs "
                          f"per request, machine {cpu.get('machine_busy_pct')} % busy",
                          flush=True)
        _use(top, ["app1", "app2", "app3"])
    summary = {config: {name: {
        "rps_median": round(statistics.median(r.get("rps", 0) for r in rs)),
        "app_us_median": round(statistics.median(r["cpu"].get("server_us") or 0 for r in rs)),
        "db_us_median": round(statistics.median(r["cpu"].get("database_us") or 0 for r in rs)),
    } for name, rs in by_endpoint.items()} for config, by_endpoint in runs.items()}
    print("\nmedians over", args.rounds, "rounds;", json.dumps(sync_wait))
    base = summary["1 app"]
    for config, by_endpoint in summary.items():
        for name, s in by_endpoint.items():
            print(f"{config:16} {name:12} {s['rps_median']:6d} req/s "
                  f"(×{s['rps_median'] / max(1, base[name]['rps_median']):.2f})  "
                  f"app {s['app_us_median']} µs, db {s['db_us_median']} µs per request")
    out = Path(__file__).parent / "results" / "raw" / f"cluster-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "sync_wait": sync_wait, "summary": summary,
                               "runs": runs}, indent=1))
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
