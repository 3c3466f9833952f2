"""Two checkouts side by side: `python -m bench --ab OTHER_CHECKOUT [--rounds N] ...`.

For a refactor's "the same figures before and after, within noise": the same stages are run
on this checkout and on another one (typically `git worktree add /work/old <commit>`, a
sibling of this one so that `../shared` resolves the same), in one run, on the same machine,
alternating: round 1 measures this, then the other; round 2 the other, then this; and so on,
so a machine that slows down during the run (see `common.cpu_check`) weighs on both alike.

What each side gets from its own checkout: its database, loaded by its own loader (same
command, same data and seed; a separate database because each side's migrations are its
own), its own sign-in (its own `bench.common.sign_in` in a subprocess, since services may
change between the two), its app server (`reflex run` in its folder with this Python, its
frontend built into its own `.web-bench`). What is the same for both: this checkout's
measuring code (wrk and its Lua script, the websocket clients, Chromium through Playwright),
its options, and this Python with its packages.

Each round starts each side's server afresh (the start is timed, as the second start of a
normal run: the first start of each side, which builds the frontend, comes before round 1
and is not compared). With the `data` stage each round also reloads each side's database
(timed); without it each side's database is loaded once before the rounds.

The output is one table: for every figure, each side's median over the rounds and its spread
(min–max), the ratio of the medians (this ÷ other), and whether the two spreads overlap
(if they do, the difference is within what the rounds themselves vary by). All rounds' figures
and results go to a JSON file (in `results/raw/` unless `--out`).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.report import ENDPOINT_LABELS
from bench.common import (
    PROJECT_ROOT, RAW_DIR, WEB_WORKDIR, Credentials, Server, checkout_env, cpu_check,
    create_database, drop_database, group_pids, log, machine_info,
)

# (args, running server, database URL, credentials, result to fill)
Measure = Callable[[object, Server, str, Credentials, dict], None]
SIGN_IN = ("import json, sys\nfrom bench.common import sign_in\n"
           "c = sign_in(sys.argv[1])\nprint(json.dumps([c.api_token, c.session_token]))")


@dataclass
class Side:
    """One of the two checkouts being compared."""

    name: str  # "this" or "other"
    root: Path
    commit: str
    tag: str  # in its databases' names

    @property
    def web_workdir(self) -> str:
        # Relative: inside the side's own folder; an absolute one gets the side's tag.
        return WEB_WORKDIR if not Path(WEB_WORKDIR).is_absolute() else f"{WEB_WORKDIR}-{self.tag}"


def _commit(root: Path) -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return out.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _sign_in(side: Side, url: str) -> Credentials:
    out = subprocess.run([sys.executable, "-c", SIGN_IN, url], cwd=side.root,
                         env=checkout_env(side.root), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"sign-in in {side.root} failed:\n{out.stderr[-3000:]}")
    api_token, session_token = json.loads(out.stdout.strip().splitlines()[-1])
    return Credentials(api_token=api_token, session_token=session_token)


def _load(args, side: Side, scale: str) -> tuple[str, dict]:
    url = create_database(args.db, scale, tag=side.tag)
    return url, data.load(url, scale, root=side.root)


def _round(args, side: Side, scale: str, url: str, measure: Measure) -> dict:
    """One side's round: (reload,) sign in, start, measure, stop."""
    result: dict = {"errors": {}}
    if "data" in args.stages:
        url, result["data"] = _load(args, side, scale)
    login = _sign_in(side, url)
    server = Server(url, redis_url=args.redis, root=side.root, web_workdir=side.web_workdir)
    try:
        started = server.start()
        log(f"ab: {side.name}: start → /api/health 200: {started:.2f} s")
        result["start"] = {"start_s": round(started, 2),
                           "processes": len(group_pids(server.pgid))}
        measure(args, server, url, login, result)
    finally:
        server.stop()
    return result


def figures(result: dict) -> dict[str, float]:
    """The comparable figures of one side's round, by name."""
    out: dict[str, float] = {}

    def put(name: str, value) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)

    put("data: load, command wall s", (result.get("data") or {}).get("wall_s"))
    put("start → /api/health 200, s", (result.get("start") or {}).get("start_s"))
    mem = result.get("memory") or {}
    if mem:
        put("memory: idle RSS MB", (mem.get("idle_rss_kb") or 0) / 1024)
        for point in mem.get("points", []):
            put(f"memory: KB per tab, {point['clients']} tabs", point.get("kb_per_client"))
        put("memory: marginal KB per tab", mem.get("marginal_kb_per_client"))
    for name, ep in ((result.get("rest") or {}).get("endpoints") or {}).items():
        # By the endpoint's name, not its path: ids, cursors and search texts are taken
        # from each side's data and may differ in form.
        label = ENDPOINT_LABELS.get(name, name)
        for conns, run in (ep.get("runs") or {}).items():
            where = f"{label} c={conns}"
            put(f"{where}: req/s", run.get("rps"))
            lat = run.get("latency_ms") or {}
            put(f"{where}: p50 ms", lat.get("p50"))
            put(f"{where}: p99 ms", lat.get("p99"))
            cpu = run.get("cpu") or {}
            put(f"{where}: app CPU µs/req", cpu.get("server_us"))
            put(f"{where}: DB CPU µs/req", cpu.get("database_us"))
    ui = result.get("ui") or {}
    if ui:
        put("UI: cold load → rows p50 ms", (ui.get("cold_load_ms") or {}).get("p50_ms"))
        clicks = ui.get("clicks") or {}
        put("UI: click → rows p50 ms", clicks.get("p50_ms"))
        put("UI: click → rows p95 ms", clicks.get("p95_ms"))
        for kind, summary in (ui.get("clicks_by_kind") or {}).items():
            put(f"UI: {kind} click p50 ms", summary.get("p50_ms"))
    return out


def _places(values: list[float]) -> int:
    """Decimals for one figure's row (the same for both sides): fewer for larger numbers."""
    biggest = max((abs(v) for v in values), default=0)
    return 0 if biggest >= 1000 else 1 if biggest >= 10 else 2


def table(rounds: dict[str, list[dict[str, float]]], sides: list[Side]) -> str:
    """Markdown: each figure's median and spread for both sides, the ratio, the overlap."""
    this, other = sides
    names: list[str] = []
    for side in sides:
        for fig in rounds[side.name]:
            names.extend(n for n in fig if n not in names)
    lines = [f"| figure | this ({this.commit}) median (min–max) | other ({other.commit}) "
             "median (min–max) | this ÷ other | spreads overlap |",
             "|---|---:|---:|---:|---|"]
    for name in names:
        cells, ranges, medians = [], [], []
        places = _places([fig[name] for side in sides for fig in rounds[side.name]
                          if name in fig])
        for side in sides:
            values = [fig[name] for fig in rounds[side.name] if name in fig]
            if not values:
                cells.append("—")
                continue
            med = statistics.median(values)
            medians.append(med)
            ranges.append((min(values), max(values)))
            cells.append(f"{med:,.{places}f} ({min(values):,.{places}f}–"
                         f"{max(values):,.{places}f}, n={len(values)})")
        ratio = f"{medians[0] / medians[1]:.2f}" if len(medians) == 2 and medians[1] else "—"
        overlap = "—" if len(ranges) < 2 else (
            "yes" if ranges[0][0] <= ranges[1][1] and ranges[1][0] <= ranges[0][1] else "**no**")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {ratio} | {overlap} |")
    return "\n".join(lines)


def run(args, argv: list[str], measure: Measure) -> int:
    """The A/B run of `python -m bench --ab DIR`; `measure` runs the stages on a started
    server (`bench.__main__.measure`). Exit status 1 when a stage failed in some round."""
    other_root = Path(args.ab).resolve()
    if not (other_root / "rxconfig.py").is_file() or not (other_root / "bench").is_dir():
        raise SystemExit(f"{other_root} is not a checkout of this project (no rxconfig.py/bench)")
    if other_root == PROJECT_ROOT:
        raise SystemExit("--ab needs another checkout than this one")
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    sides = [Side("this", PROJECT_ROOT, _commit(PROJECT_ROOT), "this_"),
             Side("other", other_root, _commit(other_root), "other_")]
    requirements = [(s.root / "requirements.txt").read_bytes()
                    if (s.root / "requirements.txt").is_file() else b"" for s in sides]
    if requirements[0] != requirements[1]:
        # Both sides run on this virtualenv: the other's pinned packages are not installed.
        log("ab: warning: requirements.txt differs between the checkouts; both run with this "
            "virtualenv's packages")
    started = dt.datetime.now().astimezone()
    meta = {"date": started.strftime("%Y-%m-%d %H:%M %Z"),
            "command": "python -m bench " + shlex.join(argv), "db": args.db,
            "scales": args.scales_list, "stages": sorted(args.stages), "rounds": args.rounds,
            "wrk_seconds": args.duration, "wrk_connections": args.connections_list,
            "clicks": args.clicks, "clients": args.clients_list, "machine": machine_info(),
            "sides": {s.name: {"root": str(s.root), "commit": s.commit} for s in sides},
            "same_requirements": requirements[0] == requirements[1],
            "cpu_check_start": cpu_check()}
    results: dict = {"meta": meta, "scales": {}}
    failed = False
    t0 = time.perf_counter()
    for scale in args.scales_list:
        log(f"=== ab: scale {scale} on {args.db}: this {sides[0].commit} vs other "
            f"{sides[1].commit} ({sides[1].root}), {args.rounds} rounds ===")
        urls: dict[str, str] = {}
        per_side: dict[str, list[dict]] = {s.name: [] for s in sides}
        try:
            for side in sides:
                # Each side's first start builds its frontend: done here, not compared.
                urls[side.name], _ = _load(args, side, scale)
                server = Server(urls[side.name], redis_url=args.redis, root=side.root,
                                web_workdir=side.web_workdir)
                try:
                    log(f"ab: {side.name}: first start (builds the frontend): "
                        f"{server.start():.1f} s")
                finally:
                    server.stop()
            for n in range(args.rounds):
                order = sides if n % 2 == 0 else sides[::-1]
                for side in order:
                    log(f"ab: round {n + 1}/{args.rounds}: {side.name}")
                    try:
                        result = _round(args, side, scale, urls[side.name], measure)
                    except Exception as exc:  # noqa: BLE001 - keep the other rounds' figures
                        traceback.print_exc()
                        result = {"errors": {"round": f"{type(exc).__name__}: {exc}"[:2000]}}
                    failed = failed or bool(result["errors"])
                    per_side[side.name].append(result)
        finally:
            if args.drop:
                for url in urls.values():
                    drop_database(url)
        figs = {name: [figures(r) for r in rs] for name, rs in per_side.items()}
        results["scales"][scale] = {"rounds": per_side, "figures": figs,
                                    "table": table(figs, sides)}
    meta["total_s"] = round(time.perf_counter() - t0, 1)
    meta["cpu_check_end"] = cpu_check()

    out_dir = args.out or RAW_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (f"{started:%Y%m%d-%H%M%S}-ab-{args.db}-{'-'.join(args.scales_list)}"
                      + ".json")
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results: {path}")
    print(markdown(results, sides))
    return 1 if failed else 0


def markdown(results: dict, sides: list[Side]) -> str:
    meta = results["meta"]
    start, end = meta["cpu_check_start"], meta["cpu_check_end"]
    out = [f"A/B run **{meta['date']}** · `{meta['command']}`", "",
           f"this: `{sides[0].root}` ({sides[0].commit}); other: `{sides[1].root}` "
           f"({sides[1].commit}); {meta['rounds']} rounds, alternating which side goes first; "
           f"database {meta['db']}; wrk {meta['wrk_seconds']} s per run"
           + ("." if meta["same_requirements"] else
              "; **requirements.txt differs** (both ran with this virtualenv)."),
           f"CPU check (s, alone / each of two): start {start['one_s']} / {start['two_s']}, "
           f"end {end['one_s']} / {end['two_s']}.", ""]
    for scale, res in results["scales"].items():
        out += [f"### {scale}", "", res["table"], ""]
        for name, rounds in res["rounds"].items():
            for n, r in enumerate(rounds, 1):
                for stage, error in (r.get("errors") or {}).items():
                    out.append(f"- {name}, round {n}, {stage}: {error}")
    return "\n".join(out)
