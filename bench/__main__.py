"""Run the benchmark suite: `python -m bench [--db mariadb|sqlite] [--scales classic,1000000]`.

For each scale: load the data (timed), start the production app twice (the first start builds
the frontend, the second is timed to the first 200 of /api/health), measure server memory with
connected tabs, REST throughput/latency with wrk, the /orders screen in Chromium, and finally
live updates (bench/live.py: write → other tabs' DOM, and 200 connected tabs under 10
writes a second) and POST /api/orders (last, since it adds orders). Results go to bench/results/<stamp>.json and,
for full runs, into the results section of bench/README.md. See bench/README.md.

`--ab OTHER_CHECKOUT` compares this checkout with another one in one interleaved run
(bench/ab.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

from bench import ab, data, live, memory, peer, report, rest, ui
from bench.common import (
    BENCH_DIR, RAW_DIR, RESULTS_DIR, Credentials, Server, cpu_check, create_database,
    drop_database, group_pids, log, machine_info, sign_in,
)

STAGES = ("data", "start", "memory", "rest", "ui", "live", "write")
SERVER_STAGES = {"start", "memory", "rest", "ui", "live", "write"}
GET_ENDPOINTS = {"orders_first_page", "orders_deep_page", "orders_deep_cursor", "orders_search",
                 "order_by_id", "customers_first_page", "customer_by_id",
                 *(floor.name for floor in rest.FLOORS)}


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["mariadb", "sqlite"], default="mariadb",
                   help="database backend (default mariadb at 127.0.0.1:3306, root)")
    p.add_argument("--scales", default=None,
                   help="comma-separated: classic and/or demo order counts "
                        "(default classic,1000000; --quick: classic,300)")
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run: 1 s wrk runs, 10 clicks, 2 and 5 clients, "
                        "results in bench/results/raw/, README untouched")
    p.add_argument("--only", default=",".join(STAGES),
                   help=f"stages to run (default all): {','.join(STAGES)}")
    p.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 10)")
    p.add_argument("--connections", default="1,16,64", help="wrk connection counts")
    p.add_argument("--clicks", type=int, default=None, help="timed UI clicks (default 120)")
    p.add_argument("--cold-loads", type=int, default=None, help="cold page loads (default 5)")
    p.add_argument("--clients", default=None, help="connected clients for memory (default 50,200)")
    p.add_argument("--reuse-data", action="store_true",
                   help="keep an already loaded benchmark database instead of reloading it "
                        "(the data stage is then not measured)")
    p.add_argument("--redis", default=None, metavar="URL",
                   help="run the app with this Redis (e.g. redis://127.0.0.1:6379/5; "
                        "'own:redis://127.0.0.1:6379' claims a free numbered database as the "
                        "tests do, emptied at the end): Reflex then "
                        "starts 2×cores+1 workers (GRANIAN_WORKERS to change); without it one "
                        "worker (memory figures then include server-side state only in the "
                        "server's RSS)")
    p.add_argument("--live-changes", type=int, default=None,
                   help="live: timed API changes (default 120; --quick 5)")
    p.add_argument("--live-tabs", type=int, default=None,
                   help="live: connected tabs on the orders list (default 200; --quick 5)")
    p.add_argument("--live-rate", type=float, default=None,
                   help="live: order writes per second (default 10; --quick 5)")
    p.add_argument("--live-seconds", type=float, default=None,
                   help="live: seconds of writes (default 60; --quick 3)")
    p.add_argument("--live-browsers", type=int, default=None,
                   help="live: Chromium tabs on the list beside the clients (default 2; "
                        "--quick 1)")
    p.add_argument("--live-compare", action="store_true",
                   help="live: run the load twice, refreshes not shared then shared "
                        "(NORTHWIND_LIVE_SHARED), each on a fresh server start")
    p.add_argument("--drop", action="store_true", help="drop the benchmark databases at the end")
    p.add_argument("--out", type=Path, default=None, help="folder for the JSON results")
    p.add_argument("--readme", dest="readme", action="store_true", default=None,
                   help="write the results table into bench/README.md (default for full runs)")
    p.add_argument("--no-readme", dest="readme", action="store_false")
    p.add_argument("--from-json", type=Path, default=None, metavar="FILE",
                   help="measure nothing: rewrite the README table from a results file")
    p.add_argument("--ab", default=None, metavar="OTHER_CHECKOUT",
                   help="compare this checkout with another one (e.g. a git worktree of an "
                        "older commit, beside this one): the same stages on both, rounds "
                        "alternating, one side-by-side table of medians, spreads and ratios "
                        "(default scales: classic; results in bench/results/raw/); see "
                        "bench/ab.py")
    p.add_argument("--rounds", type=int, default=3,
                   help="with --ab or --peer: rounds per side (default 3)")
    p.add_argument("--peer", default=None, metavar="DIR_OR_URL",
                   help="only the peer stage: our REST API against the Node.js peer (its "
                        "folder, e.g. ../shared/peers, or the URL of a running one), wrk "
                        "interleaved, median ratios (default scales classic,1000000, 16 and "
                        "64 connections; see bench/peer.py)")
    p.add_argument("--variant", action="append", metavar="LABEL:NAME=VALUE[,…]",
                   help="with --peer: also measure ours started with this environment, in "
                        "the same rotation (e.g. plain:NORTHWIND_LEAN_READS=0); repeatable")
    return p


def measure(args, server: Server, url: str, login: Credentials, result: dict) -> None:
    """Run the chosen stages after the start (memory, rest, ui, write) on a running server,
    into result; a stage that fails is recorded in result["errors"] and the others still run."""
    stages = args.stages
    for stage, fn in (
        ("memory", lambda: memory.run(server, args.clients_list,
                                      session_token=login.session_token)),
        ("rest", lambda: rest.run(server.base, url, credentials=login,
                                  connections=args.connections_list,
                                  seconds=args.duration, warmup=args.warmup,
                                  only=GET_ENDPOINTS, server_pgid=server.pgid)),
        ("ui", lambda: ui.run(server.base, clicks_count=args.clicks,
                              cold_count=args.cold_loads,
                              session_token=login.session_token)),
        ("live", lambda: live.run(server, url, login, changes=args.live_changes,
                                  tabs=args.live_tabs, rate=args.live_rate,
                                  seconds=args.live_seconds, browsers=args.live_browsers,
                                  compare=args.live_compare)),
        ("write", lambda: rest.run(server.base, url, credentials=login,
                                   connections=args.connections_list,
                                   seconds=args.duration, warmup=args.warmup,
                                   only={"order_create"}, server_pgid=server.pgid)),
    ):
        if stage not in stages:
            continue
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - record it, go on with the others
            traceback.print_exc()
            result.setdefault("errors", {})[stage] = f"{type(exc).__name__}: {exc}"[:1000]
            continue
        if stage == "write":
            rest_result = result.setdefault("rest", {"info": out["info"], "endpoints": {}})
            rest_result["endpoints"].update(out["endpoints"])
        else:
            result[stage] = out
    result["server_log"] = str(server.log_path)


def run_scale(args, scale: str) -> dict:
    result: dict = {"errors": {}}
    stages = args.stages
    url = create_database(args.db, scale, reuse=args.reuse_data)
    result["database"] = url.split("@")[-1] if "@" in url else url
    try:
        reused = data.existing(url) if args.reuse_data else None
        if reused:
            result["data"] = reused
            log(f"data: reusing {reused['orders']:,} orders")
        elif "data" in stages or stages & SERVER_STAGES:
            loaded = data.load(url, scale)
            if "data" in stages:
                result["data"] = loaded
        if not stages & SERVER_STAGES:
            return result

        login = sign_in(url)  # the API wants a token, the screens a signed-in session
        server = Server(url, redis_url=args.redis)
        try:
            first = server.start()
            log(f"start: first start (builds the frontend): {first:.1f} s")
            server.stop()
            started = server.start()
            log(f"start: second start → /api/health 200: {started:.2f} s")
            result["start"] = {"first_start_s": round(first, 2), "start_s": round(started, 2),
                               "port": server.port, "processes": len(group_pids(server.pgid))}
            measure(args, server, url, login, result)
        finally:
            server.stop()
    finally:
        if args.drop:
            drop_database(url)
    return result


def _terminate(signum, _frame):
    # SIGTERM (e.g. a test timeout) unwinds like Ctrl-C, so every server group is stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        results["targets"] = report.evaluate_targets(results)
        report.update_readme(BENCH_DIR / "README.md", results, args.from_json)
        print(report.markdown(results))
        return 0
    quick = args.quick
    default_scales = "classic" if args.ab else "classic,300" if quick else "classic,1000000"
    args.scales_list = [s.strip() for s in (args.scales or default_scales).split(",")
                        if s.strip()]
    for s in args.scales_list:
        if s != "classic" and not s.isdigit():
            raise SystemExit(f"bad scale {s!r}: use classic or a number of demo orders")
    args.stages = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := args.stages - set(STAGES):
        raise SystemExit(f"unknown stages: {', '.join(sorted(unknown))}")
    if args.ab and "--only" not in " ".join(argv if argv is not None else sys.argv[1:]):
        args.stages.discard("live")  # side by side only when asked for (--only live)
    if args.redis and args.redis.startswith("own:"):
        with live.own_redis_db(args.redis.removeprefix("own:")) as redis_url:
            args.redis = redis_url
            return _main(args, argv)
    return _main(args, argv)


def _main(args, argv: list[str] | None) -> int:
    quick = args.quick
    args.duration = args.duration or (1 if quick else 10)
    args.warmup = 0 if quick else 2
    args.connections_list = _ints(args.connections)
    args.clicks = args.clicks or (10 if quick else 120)
    args.cold_loads = args.cold_loads or (2 if quick else 5)
    args.clients_list = _ints(args.clients or ("2,5" if quick else "50,200"))
    args.live_changes = args.live_changes or (5 if quick else 120)
    args.live_tabs = args.live_tabs or (5 if quick else 200)
    args.live_rate = args.live_rate or (5.0 if quick else 10.0)
    args.live_seconds = args.live_seconds or (3.0 if quick else 60.0)
    args.live_browsers = args.live_browsers if args.live_browsers is not None else (
        1 if quick else 2)
    if args.peer:
        return peer.main(args, argv if argv is not None else sys.argv[1:])
    if args.ab:
        return ab.run(args, argv if argv is not None else sys.argv[1:], measure)
    out_dir = args.out or (RAW_DIR if quick else RESULTS_DIR)
    write_readme = (not quick) if args.readme is None else args.readme

    started = dt.datetime.now().astimezone()
    results: dict = {
        "meta": {
            "date": started.strftime("%Y-%m-%d %H:%M %Z"),
            "command": "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "db": args.db, "scales": args.scales_list, "quick": quick,
            "stages": sorted(args.stages), "wrk_seconds": args.duration,
            "wrk_connections": args.connections_list, "clicks": args.clicks,
            "clients": args.clients_list, "machine": machine_info(),
            "cpu_check_start": cpu_check(),
        },
        "scales": {},
    }
    t0 = time.perf_counter()
    for scale in args.scales_list:
        log(f"=== scale {scale} on {args.db} ===")
        try:
            results["scales"][scale] = run_scale(args, scale)
        except Exception as exc:  # noqa: BLE001 - keep what the other scales measured
            traceback.print_exc()
            results["scales"][scale] = {"errors": {"scale": f"{type(exc).__name__}: {exc}"[:2000]}}
    results["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    results["meta"]["cpu_check_end"] = cpu_check()
    results["targets"] = report.evaluate_targets(results)

    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{started:%Y%m%d-%H%M%S}-{args.db}-{'-'.join(args.scales_list)}" + \
        ("-quick" if quick else "") + ".json"
    path = out_dir / name
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results: {path}")
    if write_readme:
        report.update_readme(BENCH_DIR / "README.md", results, path)
        log(f"results table written to {BENCH_DIR / 'README.md'}")
    print(report.markdown(results))
    failed = any(r.get("errors") for r in results["scales"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
