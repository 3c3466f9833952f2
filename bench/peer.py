"""The peer stage (`python -m bench --peer DIR_OR_URL`): our REST API against the reference
Node.js peer (Express 5 + mysql2, `../shared/peers/`), side by side in one run.

The REST targets are ratios against the peer measured in the same run on the same machine
(issue #25), which no machine's speed can move. For each scale (default classic and
1,000,000 demo orders) this stage:

- loads our data into a MariaDB database of its own (`<prefix>peer_<scale>`, the prefix from
  NORTHWIND_BENCH_DB_PREFIX) and points the peer at that same database: the peer's SQL names
  our tables and columns, so both serve the very same rows (checked: the first page's ids
  and totals, and one order's total, must agree);
- starts ours as production runs it (2 Granian workers, `GRANIAN_WORKERS`, sharing UI state
  in Redis: `--redis URL`, else a free Redis database is claimed as the tests claim theirs)
  and the peer (node:cluster, 2 workers, `WORKERS=2`), each in its own process group;
- runs wrk alternately on both (who goes first alternates by round; each run once MariaDB has
  finished the previous run's statements), ROUNDS rounds at each
  connection count (16 and 64), on `GET /api/orders?limit=50`, `GET /api/orders/{id}` (the
  order in the middle of the table) and a deep page: ours by its cursor (`after=`, the
  page ending at ½·rows), the peer's by `offset=½·rows`. Every request carries our bearer
  token (the peer ignores it), so our figures include checking it;
- reports per endpoint and connection count the median req/s and p99 of each side, the
  median of the per-round req/s ratios (ours ÷ peer) and of the p99 ratios, and each side's
  CPU per request (its process group's, and MariaDB's while it served).

`DIR` is the peer's folder (copied to a work folder; `npm ci` when it has no node_modules);
a URL is a peer already running (on data you loaded: the same-rows check still runs). The
table goes into bench/README.md (between the `peer-results` markers) unless `--quick` or
`--no-readme`; every figure into `results/<date>-peer-<scales>.json`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import data, rest
from bench.common import (
    MARIADB_SERVER_URL, BENCH_DIR, RAW_DIR, RESULTS_DIR, CpuSample, Server, cpu_per_request, create_database,
    database_pids, drop_database, free_port, group_pids, http_status, log, machine_info, cpu_check, query,
    sign_in,
)

START = "<!-- peer-results:start -->"
END = "<!-- peer-results:end -->"
WORKERS = 2  # both sides: 2 worker processes (2 cores)
REDIS_SERVER_URL = os.environ.get("NORTHWIND_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
# The claim the test suite puts on a Redis database it uses (tests/prodserver.own_redis_db).
_CLAIM_KEY = "northwind-test-claim"

LABELS = {
    "orders_first_page": "GET /api/orders?limit=50",
    "order_by_id": "GET /api/orders/{id}",
    "orders_deep": "deep page: ours `after=` cursor / peer `offset=`",
}


@dataclass
class PeerServer:
    """The peer: `node server.js` in its folder (node:cluster), in its own process group,
    or a URL already serving."""

    source: str
    database: str = ""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    folder: Path | None = None
    log_path: Path = field(default_factory=lambda: RAW_DIR / f"peer-{uuid.uuid4().hex[:8]}.log")

    @property
    def external(self) -> bool:
        return re.match(r"https?://", self.source) is not None

    @property
    def base(self) -> str:
        return self.source.rstrip("/") if self.external else f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def prepare(self) -> None:
        """Copy the peer's folder (it may be read-only) and install its packages once."""
        if self.external or self.folder is not None:
            return
        source = Path(self.source).resolve()
        express = source / "express" if (source / "express" / "server.js").exists() else source
        if not (express / "server.js").exists():
            raise RuntimeError(f"no server.js in {source} or {source / 'express'}")
        RAW_DIR.mkdir(parents=True, exist_ok=True)
        self.folder = RAW_DIR / "peer-express"
        if not (self.folder / "node_modules").is_dir() or \
                (self.folder / "server.js").read_bytes() != (express / "server.js").read_bytes():
            shutil.rmtree(self.folder, ignore_errors=True)
            shutil.copytree(express, self.folder, ignore=shutil.ignore_patterns("node_modules"))
            for path in [self.folder, *self.folder.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            if (express / "node_modules").is_dir():
                shutil.copytree(express / "node_modules", self.folder / "node_modules")
            else:
                log(f"peer: npm ci in {self.folder}")
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=self.folder,
                               check=True, capture_output=True, timeout=600)

    def start(self, database: str, timeout: float = 60) -> None:
        self.database = database
        if self.external:
            if http_status(self.base + "/healthz", timeout=5) != 200:
                raise RuntimeError(f"the peer at {self.base} does not answer /healthz")
            return
        self.prepare()
        server = make_url(MARIADB_SERVER_URL)  # the same MariaDB server as ours
        env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1",
               "WORKERS": str(WORKERS), "DB_NAME": database,
               "DB_HOST": server.host or "127.0.0.1", "DB_PORT": str(server.port or 3306),
               "DB_USER": server.username or "root", "DB_PASSWORD": server.password or ""}
        logfile = open(self.log_path, "a")
        self.proc = subprocess.Popen(["node", "server.js"], cwd=self.folder, env=env,
                                     stdout=logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logfile.close()
        deadline = time.monotonic() + timeout
        while http_status(self.base + "/healthz", timeout=2) != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"the peer did not start (log {self.log_path}):\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while group_pids(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_pids(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self.proc = None


@contextlib.contextmanager
def claimed_redis(url: str | None) -> Iterator[str]:
    """`url`, or a Redis database nobody uses, claimed (as the test suite claims one) until
    the block ends, then emptied."""
    if url:
        yield url
        return
    import redis

    server = redis.Redis.from_url(REDIS_SERVER_URL, socket_timeout=3)
    databases = int(server.config_get("databases")["databases"])
    for db in range(databases - 1, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_SERVER_URL}/{db}")
        if not client.set(_CLAIM_KEY, f"{os.getpid()}", nx=True, ex=6 * 3600):
            continue
        if client.dbsize() != 1:
            client.delete(_CLAIM_KEY)
            continue
        try:
            yield f"{REDIS_SERVER_URL}/{db}"
        finally:
            client.flushdb()
            client.close()
        return
    raise RuntimeError(f"no free Redis database on {REDIS_SERVER_URL}")


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 120):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                timeout=timeout) as response:
        return json.loads(response.read())


def same_rows(ours: str, peer: str, headers: dict[str, str], order_id: int) -> dict:
    """Both sides serve the same data: the first page's order ids and totals, and one order's
    total and line count."""
    a = _get(ours + "/api/orders?limit=50", headers)
    b = _get(peer + "/api/orders?limit=50")
    page_ours = [(row["order_id"], row["total"]) for row in a["items"]]
    page_peer = [(row["order_id"], row["total"]) for row in b["items"]]
    one_ours = _get(f"{ours}/api/orders/{order_id}", headers)
    one_peer = _get(f"{peer}/api/orders/{order_id}")
    out = {"first_page": page_ours == page_peer, "count": a["total"] == b["total"],
           "order": (one_ours["total"], len(one_ours["lines"]))
           == (one_peer["total"], len(one_peer["lines"]))}
    if not all(out.values()):
        raise RuntimeError(f"the peer does not serve the same rows as ours: {out}; "
                           f"first rows ours {page_ours[:3]}, peer {page_peer[:3]}")
    return out


def endpoints(ours: str, db_url: str, headers: dict[str, str]) -> tuple[list[tuple], dict]:
    """(name, our path, the peer's path) of each measured endpoint, and the facts used."""
    (total,), = query(db_url, "SELECT COUNT(*) FROM orders")
    deep = total // 2
    (mid_id,), = query(db_url, "SELECT order_id FROM orders ORDER BY order_id LIMIT 1 "
                               "OFFSET :o", o=deep)
    cursor = rest._deep_cursor(ours, deep, headers)
    if cursor is None:
        raise RuntimeError("no next_cursor on our /api/orders pages")
    # Ours: the page after the cursor of the page ending at row `deep`: rows deep..deep+49,
    # the peer's offset=deep page.
    return [
        ("orders_first_page", "/api/orders?limit=50", "/api/orders?limit=50"),
        ("order_by_id", f"/api/orders/{mid_id}", f"/api/orders/{mid_id}"),
        ("orders_deep", f"/api/orders?limit=50&after={urllib.parse.quote(cursor)}",
         f"/api/orders?limit=50&offset={deep}"),
    ], {"orders": total, "order_id": mid_id, "deep_offset": deep}


def serving_database_pids() -> list[int]:
    """The MariaDB server processes of this machine listening on the benchmark's port (other
    servers running here, e.g. another session's own, are not counted)."""
    port = make_url(MARIADB_SERVER_URL).port or 3306
    found = []
    for pid in database_pids():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        ports = [arg.split("=", 1)[1] for arg in args if arg.startswith("--port=")]
        if ports == [str(port)] or (not ports and port == 3306):
            found.append(pid)
    return found


# A side's run starts only once MariaDB has finished the statements of the run before it: at
# 1M orders the peer's page takes seconds in MariaDB (COUNT(*), OFFSET), and at 64
# connections its statements still running when its wrk stopped used to fall into the next
# side's run (its req/s and its MariaDB CPU per request), whichever side that was.
DRAIN_SECONDS = 120


def drained(database_url: str, timeout: float = DRAIN_SECONDS) -> float:
    """Wait until no statement runs on the benchmark's database (other sessions' statements
    on other databases do not count); the seconds waited (at most `timeout`)."""
    name = make_url(database_url).database
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        (running,) = query(database_url, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                           "WHERE DB = :db AND COMMAND = 'Query' AND ID <> CONNECTION_ID()",
                           db=name)[0]
        if not running:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def _measure(url: str, c: int, seconds: int, headers: dict, pgid: int | None,
             database: list[int] | None, database_url: str | None = None) -> dict:
    if database_url is not None:
        waited = drained(database_url)
        if waited >= 1:
            log(f"peer: waited {waited:.1f} s for MariaDB to finish the previous run's statements")
    before = CpuSample.take(pgid, database) if pgid else None
    r = rest.wrk(url, c, seconds, headers=headers)
    if before is not None:
        r["cpu"] = cpu_per_request(before, CpuSample.take(pgid, database), r["requests"])
    return {"rps": r["rps"], "p50": r["latency_ms"]["p50"], "p99": r["latency_ms"]["p99"],
            "non_2xx": r["non_2xx"], "requests": r["requests"],
            "errors": r.get("errors"), "cpu": r.get("cpu")}


def compare(ours: dict[str, Server], peer: PeerServer, pairs: list[tuple], headers: dict, *,
            connections: list[int], rounds: int, seconds: int, warmup: int,
            database_url: str | None = None) -> dict:
    """wrk on every side in turn (ours, each variant of ours, the peer; each round starts
    one further along); per endpoint and connection count every round's runs and the
    medians, each of our sides against the peer."""
    database = serving_database_pids() or None
    out: dict = {}
    for name, our_path, peer_path in pairs:
        sides = {label: (server.base + our_path, server.pgid) for label, server in ours.items()}
        sides["peer"] = (peer.base + peer_path, peer.pgid)
        labels = list(sides)
        if warmup:
            for url, _ in sides.values():
                rest.wrk(url, 16, warmup, headers=headers)
        entry = out[name] = {"ours_path": our_path, "peer_path": peer_path, "runs": {}}
        for c in connections:
            runs: list[dict] = []
            for r in range(rounds):
                one: dict = {}
                for side in labels[r % len(labels):] + labels[:r % len(labels)]:
                    url, pgid = sides[side]
                    one[side] = _measure(url, c, seconds, headers, pgid, database,
                                         database_url)
                runs.append(one)
                log(f"peer: {name} c={c} round {r + 1}: " + "; ".join(
                    f"{side} {one[side]['rps']:.0f} req/s p99 {one[side]['p99']:.1f} ms"
                    for side in labels))
            summary = entry["runs"][str(c)] = {"rounds": runs, **summarize(runs)}
            variants = [label for label in labels if label not in ("ours", "peer")]
            if variants:
                summary["variants"] = {label: summarize(runs, label) for label in variants}
    return out


def _median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarize(runs: list[dict], ours: str = "ours") -> dict:
    """The medians of the rounds: `ours` (our side's label) against the peer."""
    def side(name: str, key: str) -> list:
        return [run[name][key] for run in runs]

    def cpu(name: str, key: str) -> list:
        return [(run[name].get("cpu") or {}).get(key) for run in runs]

    ratios = [run[ours]["rps"] / run["peer"]["rps"] for run in runs if run["peer"]["rps"]]
    return {
        "ours_rps": _median(side(ours, "rps")), "peer_rps": _median(side("peer", "rps")),
        "ours_p99": _median(side(ours, "p99")), "peer_p99": _median(side("peer", "p99")),
        "rps_ratio": _median(ratios),
        "p99_ratio": _median([run[ours]["p99"] / run["peer"]["p99"] for run in runs
                              if run["peer"]["p99"]]),
        "rps_ratio_min": round(min(ratios), 3) if ratios else None,
        "rps_ratio_max": round(max(ratios), 3) if ratios else None,
        "ours_app_us": _median(cpu(ours, "server_us")),
        "peer_app_us": _median(cpu("peer", "server_us")),
        "ours_db_us": _median(cpu(ours, "database_us")),
        "peer_db_us": _median(cpu("peer", "database_us")),
        "non_2xx": sum(side(ours, "non_2xx")) + sum(side("peer", "non_2xx")),
    }


def parse_variants(specs: list[str]) -> dict[str, dict[str, str]]:
    """`--variant LABEL:NAME=VALUE[,NAME=VALUE…]` → {label: environment}: another server of
    ours, measured in the same rotation (e.g. `plain:NORTHWIND_LEAN_READS=0`)."""
    variants: dict[str, dict[str, str]] = {}
    for spec in specs:
        label, _, assignments = spec.partition(":")
        env = dict(item.split("=", 1) for item in assignments.split(",") if "=" in item)
        if not label or label in ("ours", "peer") or label in variants or not env:
            raise SystemExit(f"bad --variant {spec!r}: use LABEL:NAME=VALUE[,NAME=VALUE]")
        variants[label] = env
    return variants


def run_scale(args, scale: str, peer: PeerServer, redis_url: str) -> dict:
    url = create_database("mariadb", scale, reuse=args.reuse_data, tag="peer_")
    database = url.rsplit("/", 1)[-1].split("?")[0]
    result: dict = {"database": database}
    reused = data.existing(url) if args.reuse_data else None
    result["data"] = reused or data.load(url, scale)
    login = sign_in(url)
    headers = login.api_headers
    servers = {"ours": Server(url, redis_url=redis_url)}
    for label in args.peer_variants:
        servers[label] = Server(url, redis_url=redis_url)
    try:
        for label, server in servers.items():
            with _environ(**{"GRANIAN_WORKERS": str(WORKERS),
                             **args.peer_variants.get(label, {})}):
                started = server.start()
            log(f"peer: {label} started in {started:.1f} s "
                f"({len(group_pids(server.pgid))} processes)")
        peer.start(database)
        result["ports"] = {label: server.port for label, server in servers.items()}
        result["ports"]["peer"] = peer.port
        result["variants"] = args.peer_variants
        ours = servers["ours"]
        pairs, info = endpoints(ours.base, url, headers)
        result["info"] = info
        result["same_rows"] = same_rows(ours.base, peer.base, headers, info["order_id"])
        result["endpoints"] = compare(servers, peer, pairs, headers,
                                      connections=args.peer_connections, rounds=args.rounds,
                                      seconds=args.duration, warmup=args.warmup,
                                      database_url=url)
    finally:
        peer.stop()
        for server in servers.values():
            server.stop()
        if args.drop:
            drop_database(url)
    return result


def _fmt(value, places: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{places}f}"


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"Run {meta['date']}: `{meta['command']}`; {meta['machine']['nproc']} cores, "
        f"wrk {meta['wrk_seconds']} s per run, {meta['rounds']} interleaved rounds per "
        f"figure (who goes first alternates; each run starts once MariaDB has finished the "
        f"previous run's statements), both sides {WORKERS} worker processes (ours "
        "with Redis), MariaDB on this machine, our bearer token on every request. "
        "Ratio = ours ÷ peer, the median of the rounds' ratios (min–max); CPU = µs per "
        "request of the side's processes / of MariaDB.",
        "",
        "| scale | endpoint | conn | ours req/s | peer req/s | req/s ratio (min–max) "
        "| ours p99 ms | peer p99 ms | p99 ratio | CPU ours app/db µs | CPU peer app/db µs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scale, res in results["scales"].items():
        label = "classic (830)" if scale == "classic" else f"{int(scale):,} orders"
        if "error" in res:
            lines.append(f"| {label} | failed: {res['error'][:200]} | | | | | | | | | |")
            continue
        for name, entry in res["endpoints"].items():
            for c, s in entry["runs"].items():
                ratio = f"**{_fmt(s['rps_ratio'], 2)}×** ({_fmt(s['rps_ratio_min'], 2)}–" \
                        f"{_fmt(s['rps_ratio_max'], 2)})"
                flag = f" ⚠ {s['non_2xx']:,} non-2xx" if s["non_2xx"] else ""
                lines.append(
                    f"| {label} | {LABELS.get(name, name)}{flag} | {c} | {_fmt(s['ours_rps'])} | "
                    f"{_fmt(s['peer_rps'])} | {ratio} | {_fmt(s['ours_p99'], 1)} | "
                    f"{_fmt(s['peer_p99'], 1)} | {_fmt(s['p99_ratio'], 2)}× | "
                    f"{_fmt(s['ours_app_us'])} / {_fmt(s['ours_db_us'])} | "
                    f"{_fmt(s['peer_app_us'])} / {_fmt(s['peer_db_us'])} |")
                for variant, v in (s.get("variants") or {}).items():
                    lines.append(
                        f"| {label} | … ours as `{variant}` | {c} | {_fmt(v['ours_rps'])} | "
                        f"{_fmt(v['peer_rps'])} | **{_fmt(v['rps_ratio'], 2)}×** "
                        f"({_fmt(v['rps_ratio_min'], 2)}–{_fmt(v['rps_ratio_max'], 2)}) | "
                        f"{_fmt(v['ours_p99'], 1)} | {_fmt(v['peer_p99'], 1)} | "
                        f"{_fmt(v['p99_ratio'], 2)}× | {_fmt(v['ours_app_us'])} / "
                        f"{_fmt(v['ours_db_us'])} | {_fmt(v['peer_app_us'])} / "
                        f"{_fmt(v['peer_db_us'])} |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, results: dict, json_path: Path) -> None:
    text = readme.read_text()
    try:
        source = json_path.resolve().relative_to(readme.resolve().parent)
    except ValueError:
        source = json_path
    block = f"{START}\n<!-- generated by `python -m bench --peer` from {source}; " \
            f"do not edit -->\n\n{markdown(results)}{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Against the Node.js peer\n\n" + block + "\n"
    readme.write_text(text)


def main(args, argv: list[str]) -> int:
    """The peer stage on the parsed `python -m bench` arguments."""
    if args.db != "mariadb":
        raise SystemExit("--peer needs --db mariadb (the peer reads MariaDB)")
    quick = args.quick
    if args.scales is None:
        args.scales_list = ["classic"] if quick else ["classic", "1000000"]
    args.peer_connections = [16] if quick and args.connections == "1,16,64" else \
        [16, 64] if args.connections == "1,16,64" else args.connections_list
    if quick and args.rounds == 3:
        args.rounds = 2
    args.peer_variants = parse_variants(args.variant or [])
    peer = PeerServer(args.peer)
    started = dt.datetime.now().astimezone()
    results: dict = {"meta": {
        "date": started.strftime("%Y-%m-%d %H:%M %Z"),
        "command": "python -m bench " + shlex.join(argv), "quick": quick,
        "peer": args.peer, "scales": args.scales_list, "wrk_seconds": args.duration,
        "connections": args.peer_connections, "rounds": args.rounds,
        "variants": args.peer_variants,
        "machine": machine_info(), "cpu_check_start": cpu_check(),
    }, "scales": {}}
    failed = False
    with claimed_redis(args.redis) as redis_url:
        for scale in args.scales_list:
            log(f"=== peer stage, scale {scale} ===")
            try:
                results["scales"][scale] = run_scale(args, scale, peer, redis_url)
            except Exception as exc:  # noqa: BLE001 - keep the other scales
                import traceback

                traceback.print_exc()
                failed = True
                results["scales"][scale] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    results["meta"]["cpu_check_end"] = cpu_check()
    out_dir = args.out or (RAW_DIR if quick else RESULTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (f"{started:%Y%m%d-%H%M%S}-peer-{'-'.join(args.scales_list)}"
                      + ("-quick" if quick else "") + ".json")
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results: {path}")
    if (not quick) if args.readme is None else args.readme:
        update_readme(BENCH_DIR / "README.md", results, path)
        log(f"peer table written to {BENCH_DIR / 'README.md'}")
    print(markdown(results))
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover - run through `python -m bench --peer`
    sys.exit("run it as: python -m bench --peer DIR_OR_URL")
