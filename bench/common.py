"""Shared helpers: machine facts, benchmark databases, the app server, process-group memory."""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
# Git-ignored work folder: SQLite files, server logs, quick-run results.
RAW_DIR = Path(os.environ.get("NORTHWIND_BENCH_WORK_DIR") or RESULTS_DIR / "raw")
CLASSIC_DIR = Path(os.environ.get("NORTHWIND_CLASSIC_DIR")
                   or PROJECT_ROOT.parent / "shared" / "northwind-classic")
MARIADB_SERVER_URL = os.environ.get(
    "NORTHWIND_BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4")
WEB_WORKDIR = os.environ.get("NORTHWIND_BENCH_WEB_WORKDIR", ".web-bench")
# The screens' session cookie (northwind_app/ui/auth.py COOKIE_NAME), which the browser
# contexts and the memory stage's websocket clients carry.
SESSION_COOKIE = "nw_session"


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


# -- numbers ------------------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (pct in 0..100) of values, None when empty."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * pct / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary_ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": _r(percentile(values, 50)),
        "p95_ms": _r(percentile(values, 95)),
        "max_ms": _r(max(values) if values else None),
        "mean_ms": _r(statistics.fmean(values) if values else None),
    }


def _r(value, places: int = 2):
    return None if value is None else round(value, places)


# -- machine ------------------------------------------------------------------------------------

def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(ram_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": shutil.which("wrk"),
    }


CPU_CHECK_LOOP = ("import time\nt = time.process_time()\nfor i in range({n}): pass\n"
                  "print(time.process_time() - t)")


def cpu_check(n: int = 10_000_000) -> dict:
    """How fast this machine runs Python just now: CPU seconds of a fixed loop in one process
    alone, and in each of two running at once (on 2 vCPUs that share a core, or a busy host,
    two take much longer than one). Taken at the start and the end of a run, it tells runs
    on a slower (or meanwhile slowed) machine apart."""
    def run(count: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", CPU_CHECK_LOOP.format(n=n)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return [float(proc.communicate()[0]) for proc in procs]

    return {"loop": n, "one_s": round(min(run(1) + run(1)), 3), "two_s": round(max(run(2)), 3)}


# -- databases ----------------------------------------------------------------------------------

def scale_label(scale: str) -> str:
    return "classic" if scale == "classic" else str(int(scale))


def create_database(db: str, scale: str, *, reuse: bool = False, tag: str = "") -> str:
    """A fresh (empty) benchmark database for one scale; returns its SQLAlchemy URL.

    With reuse=True an existing database is kept (its data is not reloaded). `tag` goes into
    the name, so that two checkouts compared side by side (`bench.ab`) each get their own."""
    label = tag + scale_label(scale)
    if db == "sqlite":
        RAW_DIR.mkdir(parents=True, exist_ok=True)
        path = RAW_DIR / f"nw_bench_{label}.db"
        if not reuse:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if db != "mariadb":
        raise ValueError(f"unknown database kind {db!r}")
    name = os.environ.get("NORTHWIND_BENCH_DB_PREFIX", "nw_bench_") + label
    server = create_engine(MARIADB_SERVER_URL, connect_args={"connect_timeout": 5})
    with server.begin() as conn:
        if not reuse:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return make_url(MARIADB_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(parsed.database) + suffix).unlink(missing_ok=True)
        return
    server = create_engine(MARIADB_SERVER_URL)
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
    server.dispose()


def query(url: str, sql: str, **params):
    """All rows of one SQL statement (a short-lived engine: the app's own pool is untouched)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return result.fetchall() if result.returns_rows else []
    finally:
        engine.dispose()


# -- signing in ---------------------------------------------------------------------------------

BENCH_USER = "bench"


@dataclass(frozen=True)
class Credentials:
    """How the benchmarks sign in: the API needs a bearer token, the screens a session."""

    api_token: str
    session_token: str  # the value of the screens' session cookie

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}


def sign_in(url: str) -> Credentials:
    """A fresh API token and browser session of the `bench` admin in the database at url
    (the account is created when missing, with a random password nobody needs), made
    through the services as `python -m northwind_app.users create-token` makes them. The
    server verifies them with the same secret: it inherits NORTHWIND_SECRET_KEY, or reads the
    same generated secret file of the project."""
    from northwind_app.db.engine import dispose_engine, session_scope
    from northwind_app.services import auth, users

    try:
        with session_scope(url, write=True) as session:
            user = users.find_user(session, BENCH_USER)
            if user is None:
                users.create_user(session, auth.SYSTEM, {
                    "username": BENCH_USER, "password": secrets.token_urlsafe(24),
                    "role": "admin", "full_name": "Benchmark"})
                user = users.find_user(session, BENCH_USER)
            token, _ = users.create_api_token(session, auth.SYSTEM, user.user_id, "benchmark",
                                              expires_days=1)
            session_token = auth.start_session(session, auth.actor_of(user))
    finally:
        dispose_engine(url)
    return Credentials(api_token=token, session_token=session_token)


# -- processes (/proc): process-group memory ---------------------------------------------------

def _proc_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """(command name, fields after it) of /proc/<pid>/stat; None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        stat = _proc_stat(entry) if entry.isdigit() else None
        # Fields after the parenthesised command: state ppid pgrp ...
        if stat is not None and int(stat[1][2]) == pgid:
            pids.append(int(entry))
    return pids


def group_rss_kb(pgid: int) -> int:
    """Resident memory (VmRSS) summed over every process of the process group, in KB."""
    total = 0
    for pid in group_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


# -- CPU per request ------------------------------------------------------------------------------

DATABASE_COMMANDS = ("mariadbd", "mysqld")  # the database server's process, by its name


def process_cpu_s(pids: list[int]) -> float:
    """CPU time (user + system) the live processes `pids` have used, in seconds."""
    ticks = 0
    for pid in pids:
        stat = _proc_stat(pid)
        if stat is not None:
            ticks += int(stat[1][11]) + int(stat[1][12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def database_pids() -> list[int]:
    """The processes of a MariaDB/MySQL server running on this machine."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()
            and (_proc_stat(entry) or ("",))[0] in DATABASE_COMMANDS]


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by the app server's process group, by the database server
    (None: not measured, e.g. SQLite, which runs inside the app) and by the whole machine."""

    server_s: float
    database_s: float | None
    machine_busy_s: float
    machine_total_s: float

    @classmethod
    def take(cls, server_pgid: int, database: list[int] | None) -> CpuSample:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
        tick = os.sysconf("SC_CLK_TCK")
        return cls(process_cpu_s(group_pids(server_pgid)),
                   None if database is None else process_cpu_s(database),
                   (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick)


def cpu_per_request(before: CpuSample, after: CpuSample, requests: int) -> dict:
    """What a run cost the CPUs: the app server's and the database's CPU microseconds per
    request, how busy the machine was, and the most requests per second its CPUs could serve
    at that cost (every CPU doing only the server's and the database's work)."""
    if requests <= 0:
        return {}
    server = (after.server_s - before.server_s) / requests * 1e6
    database = None if before.database_s is None or after.database_s is None \
        else (after.database_s - before.database_s) / requests * 1e6
    total = after.machine_total_s - before.machine_total_s
    busy = (after.machine_busy_s - before.machine_busy_s) / total * 100 if total > 0 else None
    per_request = server + (database or 0)
    return {"server_us": _r(server, 0), "database_us": _r(database, 0),
            "machine_busy_pct": _r(busy, 0),
            "cpu_bound_rps": _r((os.cpu_count() or 1) * 1e6 / per_request, 0)
            if per_request > 0 else None}


# -- the app server -----------------------------------------------------------------------------

def checkout_env(root: Path) -> dict[str, str]:
    """The environment for a command run in the checkout at root: its own packages are
    imported from its folder (the working directory), never from another checkout's."""
    return {**os.environ, "PYTHONPATH": str(root)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 5) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception:  # noqa: BLE001 - not up yet
        return None


@dataclass
class Server:
    """`reflex run --env prod --single-port` in its own process group, started in the
    checkout at `root` (this one unless `bench.ab` compares another) with this Python."""

    database_url: str
    redis_url: str | None = None  # set: Reflex runs several workers sharing state in Redis
    root: Path = PROJECT_ROOT
    web_workdir: str = WEB_WORKDIR  # relative: inside root
    port: int = field(default_factory=free_port)
    log_path: Path = field(default_factory=lambda: RAW_DIR / f"server-{uuid.uuid4().hex[:8]}.log")
    proc: subprocess.Popen | None = None
    states_dir: Path = field(default_factory=lambda: RAW_DIR / f"states-{uuid.uuid4().hex[:8]}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the leader's pid is the group id

    def command(self) -> list[str]:
        return [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
                "--frontend-port", str(self.port), "--backend-port", str(self.port),
                "--loglevel", "info"]

    def start(self, timeout: float = 900) -> float:
        """Start the server; seconds from the start command to the first 200 of /api/health."""
        RAW_DIR.mkdir(parents=True, exist_ok=True)
        self.states_dir.mkdir(parents=True, exist_ok=True)
        env = {**checkout_env(self.root), "NORTHWIND_DATABASE_URL": self.database_url,
               "REFLEX_WEB_WORKDIR": self.web_workdir, "REFLEX_CHECK_LATEST_VERSION": "0",
               "REFLEX_STATES_WORKDIR": str(self.states_dir), "PYTHONUNBUFFERED": "1"}
        if self.redis_url:
            env["REFLEX_REDIS_URL"] = self.redis_url
        logfile = open(self.log_path, "a")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=self.root, env=env, stdout=logfile,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        logfile.close()
        deadline = t0 + timeout
        while True:
            if http_status(self.base + "/api/health", timeout=2) == 200:
                elapsed = time.perf_counter() - t0
                break
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"app server did not start (log {self.log_path}):\n{tail}")
            time.sleep(0.05)
        # The API answers before the frontend is served; wait for the page too (not timed).
        while http_status(self.base + "/", timeout=5) != 200:
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(f"frontend not served (log {self.log_path})")
            time.sleep(0.1)
        return elapsed

    def stop(self) -> None:
        """Stop the whole process group (server, workers, node)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.pgid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        # Stragglers of the group (a worker that ignored SIGTERM) get SIGKILL.
        deadline = time.monotonic() + 10
        while group_pids(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_pids(self.pgid):
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        shutil.rmtree(self.states_dir, ignore_errors=True)

    def rss_kb(self) -> int:
        return group_rss_kb(self.pgid)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
