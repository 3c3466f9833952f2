"""The production topology on loopback ports (issue #26): a MariaDB Galera cluster of three
nodes, app processes (the production launcher, one Granian worker each, one shared Redis
database and secret key) pointed at different nodes, and haproxy in front of them.

Every node is a `mariadbd` of this harness's own: its own datadir, socket and ports under a
temporary folder, its configuration rendered from deploy/galera-node.cnf, started in its own
process group and stopped by its pid. The machine's own MariaDB (port 3306) is never touched.
haproxy's configuration is rendered from deploy/haproxy.cfg. The app processes serve one
frontend build, made once (`python -m northwind_app.serve build`) and copied to each, as a
release is deployed (README "Production topology").

Used by the pytest fixtures (tests/cluster/conftest.py) and by `python -m tests.cluster`.
"""

from __future__ import annotations

import csv
import os
import pwd
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from northwind_app.settings import PROJECT_ROOT
from tests.prodserver import AppServer, answers, free_port, stop_group, wait_for

DEPLOY = PROJECT_ROOT / "deploy"
MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
GALERA_PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))
APP_USER, APP_PASSWORD, APP_DATABASE = "northwind", "northwind-cluster-test", "northwind"
START_TIMEOUT = 120  # one node's start, state transfer included
BUILD_TIMEOUT = 900  # the release's frontend build (npm install the first time)
APP_START_TIMEOUT = 300  # an app process serving the prebuilt frontend


def missing_programs() -> list[str]:
    """What the harness needs and this machine lacks (the tests skip, loudly, or fail)."""
    missing = []
    if not MARIADBD or not INSTALL_DB:
        missing.append("mariadb-server")
    if not GALERA_PROVIDER.exists():
        missing.append("galera-4")
    if not shutil.which("rsync"):
        missing.append("rsync")
    if not HAPROXY:
        missing.append("haproxy")
    return missing


def render(template: Path, values: dict[str, object]) -> str:
    return string.Template(template.read_text()).substitute(
        {key: str(value) for key, value in values.items()})


@dataclass
class GaleraNode:
    index: int
    root: Path
    port: int = field(default_factory=free_port)
    gcomm_port: int = field(default_factory=free_port)
    ist_port: int = field(default_factory=free_port)
    sst_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    host: str = "127.0.0.1"

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def datadir(self) -> Path:
        return self.root / self.name / "data"

    @property
    def tmpdir(self) -> Path:
        """The node's own temporary folder (never /tmp: a starting mariadbd empties its
        tmpdir of every #sql* file, another server's live temporary tables included)."""
        return self.root / self.name / "tmp"

    @property
    def cnf(self) -> Path:
        return self.root / self.name / "my.cnf"

    @property
    def socket(self) -> Path:
        return self.root / self.name / "mariadbd.sock"

    @property
    def error_log(self) -> Path:
        return self.datadir / "error.log"

    def url(self, database: str = APP_DATABASE) -> str:
        return (f"mysql+pymysql://{APP_USER}:{APP_PASSWORD}@{self.host}:{self.port}/{database}"
                "?charset=utf8mb4")

    def connect(self, database: str | None = None, **kwargs) -> pymysql.Connection:
        """A root connection through the node's socket."""
        return pymysql.connect(unix_socket=str(self.socket), user="root", database=database,
                               autocommit=True, **kwargs)

    def status(self, name: str) -> str | None:
        try:
            with self.connect(connect_timeout=2, read_timeout=5) as conn, conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
                row = cur.fetchone()
                return row[1] if row else None
        except pymysql.Error:
            return None

    def synced(self, size: int) -> bool:
        return (self.status("wsrep_local_state_comment") == "Synced"
                and self.status("wsrep_cluster_size") == str(size))

    def log(self, tail: int = 6000) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no error log)"

    def _mariadbd(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [MARIADBD, f"--defaults-file={self.cnf}", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def start(self, *args: str) -> None:
        self.proc = self._mariadbd(*args)

    def recovered_position(self) -> str:
        """The node's last committed position (`uuid:seqno`), read by `--wsrep-recover` from
        its InnoDB logs after a crash: starting from it, the node asks the cluster for what it
        missed only (IST) instead of a full copy (SST)."""
        before = len(self.error_log.read_bytes()) if self.error_log.exists() else 0
        proc = self._mariadbd("--wsrep-recover")
        proc.wait(timeout=START_TIMEOUT)
        text = self.error_log.read_bytes()[before:].decode(errors="replace")
        found = re.findall(r"WSREP: Recovered position: (\S+:-?\d+)", text)
        if not found:
            raise RuntimeError(f"{self.name}: --wsrep-recover found no position:\n{text[-3000:]}")
        return found[-1]

    def kill(self) -> None:
        """SIGKILL: a crash (the node's group, state-transfer scripts included)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            stop_group(self.proc, timeout=60)


class GaleraCluster:
    """`size` Galera nodes on loopback; `start()` bootstraps node 1 (--wsrep-new-cluster),
    joins the others by state transfer (rsync SST), and creates the app's database and
    account (replicated like every DDL)."""

    def __init__(self, size: int = 3, *, sync_wait: int = 1, buffer_pool: str = "64M",
                 gcache: str = "64M"):
        # Its own folder, readable by the server's account: as root the nodes run as
        # `mysql` (rsync's SST daemon started by root would write as `nobody`).
        self.root = root = Path(tempfile.mkdtemp(prefix="northwind-galera-"))
        os.chmod(root, 0o755)
        self.user = "mysql" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.name = f"northwind-{os.getpid()}-{free_port()}"
        self.nodes = [GaleraNode(index, root) for index in range(1, size + 1)]
        self.sync_wait, self.buffer_pool, self.gcache = sync_wait, buffer_pool, gcache

    def _write_cnf(self, node: GaleraNode) -> None:
        node.datadir.mkdir(parents=True, exist_ok=True)
        peers = ",".join(f"{other.host}:{other.gcomm_port}" for other in self.nodes)
        node.cnf.write_text(render(DEPLOY / "galera-node.cnf", {
            "user": self.user,
            "datadir": node.datadir, "socket": node.socket, "host": node.host,
            "tmpdir": node.tmpdir,
            "port": node.port, "innodb_buffer_pool_size": self.buffer_pool,
            "cluster_name": self.name, "peers": peers, "node_name": node.name,
            "gcomm_port": node.gcomm_port, "sst_port": node.sst_port,
            "ist_port": node.ist_port, "gcache_size": self.gcache,
            "sync_wait": self.sync_wait,
        }))

    def start(self) -> GaleraCluster:
        started = time.monotonic()
        first, *others = self.nodes
        for node in self.nodes:
            self._write_cnf(node)
            shutil.chown(node.datadir.parent, self.user)
            shutil.chown(node.datadir, self.user)
            node.tmpdir.mkdir(parents=True, exist_ok=True)
            shutil.chown(node.tmpdir, self.user)
        subprocess.run([INSTALL_DB, f"--defaults-file={first.cnf}", "--auth-root-authentication-method=socket",
                        "--skip-test-db"], check=True, capture_output=True, timeout=START_TIMEOUT)
        first.start("--wsrep-new-cluster")
        self._wait_synced(first, 1)
        with first.connect() as conn, conn.cursor() as cur:
            for statement in (
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
                "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
                f"CREATE DATABASE IF NOT EXISTS {APP_DATABASE} CHARACTER SET utf8mb4",
                # The app's account has no SUPER (log_bin_trust_function_creators lets it
                # create the search triggers) and may create and drop test databases.
                f"CREATE USER IF NOT EXISTS '{APP_USER}'@'127.0.0.1' "
                f"IDENTIFIED BY '{APP_PASSWORD}'",
                f"GRANT ALL ON *.* TO '{APP_USER}'@'127.0.0.1'",
                f"REVOKE SUPER ON *.* FROM '{APP_USER}'@'127.0.0.1'",
                # haproxy's `option mysql-check` signs in with it (no password, no rights)
                "CREATE USER IF NOT EXISTS 'haproxy'@'127.0.0.1'",
            ):
                cur.execute(statement)
        for node in others:  # one at a time: each needs a donor that is not busy
            node.start()
            self._wait_synced(node, node.index)
        self.started_seconds = time.monotonic() - started
        return self

    def _wait_synced(self, node: GaleraNode, size: int, timeout: float = START_TIMEOUT) -> None:
        if not wait_for(lambda: node.synced(size) or (node.proc.poll() is not None),
                        timeout, 0.25) or node.proc.poll() is not None:
            raise RuntimeError(f"{node.name} did not reach Synced in a cluster of {size}:\n"
                               f"{node.log()}")

    def wait_all_synced(self, timeout: float = START_TIMEOUT) -> None:
        for node in self.nodes:
            self._wait_synced(node, len(self.nodes), timeout)

    def rejoin(self, node: GaleraNode) -> dict[str, object]:
        """Restart a crashed node from its recovered position and wait until it is Synced;
        returns how (`ist`: whether it got an incremental transfer) and how long it took."""
        started = time.monotonic()
        position = node.recovered_position()
        before = len(node.error_log.read_bytes())
        node.start(f"--wsrep_start_position={position}")
        self._wait_synced(node, len(self.nodes))
        text = node.error_log.read_bytes()[before:].decode(errors="replace")
        return {"position": position, "seconds": time.monotonic() - started,
                "ist": "IST received" in text,
                # rsync's joiner script runs either way: "rsync IST completed on joiner"
                # when the donor bypassed the copy, "rsync SST …" when it copied the datadir
                "sst": "rsync SST completed on joiner" in text,
                "log": [line for line in text.splitlines()
                        if "SST" in line or "IST" in line][:40]}

    def checksums(self, database: str = APP_DATABASE) -> dict[str, dict[str, int]]:
        """CHECKSUM TABLE of every base table of `database`, per node."""
        result = {}
        for node in self.nodes:
            with node.connect(database) as conn, conn.cursor() as cur:
                cur.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = %s AND table_type = 'BASE TABLE' "
                            "ORDER BY table_name", (database,))
                tables = [row[0] for row in cur.fetchall()]
                cur.execute("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
                result[node.name] = {row[0].split(".", 1)[1]: row[1] for row in cur.fetchall()}
        return result

    def stop(self, keep: bool = False) -> None:
        for node in reversed(self.nodes):
            try:
                node.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                node.kill()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


class HAProxy:
    """haproxy (deploy/haproxy.cfg) on a free port: HTTP to the app processes, TCP to the
    Galera nodes (the `galera` listener, node 1 the active one, the others backups)."""

    def __init__(self, root: Path, apps: list[str], nodes: list[GaleraNode],
                 port: int | None = None):
        self.port, self.galera_port = port or free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cfg = root / "haproxy.cfg"
        self.log_path = root / "haproxy.log"
        self.stats_socket = root / "haproxy.sock"
        app_lines = [f"    server app{i} {address.split('//', 1)[-1]}"
                     for i, address in enumerate(apps, 1)]
        node_lines = [f"    server {node.name} {node.host}:{node.port}"
                      + ("" if node.index == 1 else " backup") for node in nodes]
        self.cfg.write_text(render(DEPLOY / "haproxy.cfg", {
            "stats_socket": self.stats_socket, "bind": f"127.0.0.1:{self.port}", "galera_bind": f"127.0.0.1:{self.galera_port}",
            "app_servers": "\n".join(app_lines), "galera_servers": "\n".join(node_lines),
        }))
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg)], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refuses {self.cfg}:\n{check.stdout}{check.stderr}")
        self._log = open(self.log_path, "w")
        # -db: foreground, -W master-worker off; its own group, stopped by pid.
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, apps: int, timeout: float = 60) -> None:
        """Until haproxy answers and counts `apps` app servers up."""
        if not wait_for(lambda: answers(self.base + "/api/health", 3)
                        and self.servers_up() == apps, timeout, 0.5):
            raise RuntimeError(f"haproxy does not answer:\n{self.log_path.read_text()[-3000:]}")

    def server_states(self) -> dict[str, str]:
        """`backend/server` → haproxy's status of it (UP, DOWN, …), from its stats socket."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(5)
                sock.connect(str(self.stats_socket))
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return {}
        rows = list(csv.reader(data.decode().lstrip("# ").splitlines()))
        head = rows[0] if rows else []
        return {f"{row[0]}/{row[1]}": row[head.index("status")] for row in rows[1:]
                if len(row) == len(head) and row[1] not in ("FRONTEND", "BACKEND")}

    def servers_up(self, backend: str = "northwind_app") -> int:
        return sum(1 for name, status in self.server_states().items()
                   if name.startswith(backend + "/") and status == "UP")

    def stop(self) -> None:
        stop_group(self.proc)
        self._log.close()


def prepare_database(url: str) -> None:
    """Migrate the cluster's app database and load the classic data and the demo users."""
    from northwind_app.data.classic import load_classic
    from northwind_app.data.loading import add_demo_users
    from northwind_app.db.engine import dispose_engine, get_engine
    from northwind_app.db.migrations import upgrade_to_head
    from tests.dbutil import CLASSIC_DIR

    upgrade_to_head(url)
    with get_engine(url, bulk=True).begin() as conn:
        load_classic(conn, CLASSIC_DIR)
        add_demo_users(conn)
    dispose_engine(url)


def same_frontend(servers: list[AppServer], path: str = "/orders") -> None:
    """Every app process serves the same page, loading the same assets, under the same
    Content-Security-Policy, which allows that page's inline scripts: behind a load balancer
    without stickiness a page comes from one host and its scripts from another, and the CSP
    hashes each process read from its build at start must be those of the pages it serves."""
    from northwind_app.security_headers import inline_script_hashes

    assets, policies = {}, {}
    for server in servers:
        with urllib.request.urlopen(server.base + path, timeout=30) as response:
            html = response.read().decode()
            policy = response.headers["Content-Security-Policy"] or ""
        assets[server.base] = frozenset(re.findall(r"/assets/[\w.-]+", html))
        policies[server.base] = policy
        script_src = next((d.split()[1:] for d in policy.split(";")
                           if d.split()[:1] == ["script-src"]), [])
        if not assets[server.base] or (missing := set(inline_script_hashes(html))
                                       - set(script_src)):
            raise RuntimeError(f"{server.base}{path}: no assets, or its CSP does not allow "
                               f"its inline scripts: {missing} not in {script_src}")
    if len(set(assets.values())) != 1:
        raise RuntimeError(f"the app processes' pages load different assets: {assets}")
    if len(set(policies.values())) != 1:
        raise RuntimeError(f"the app processes send different CSPs: {policies}")


def app_env(public_url: str, web_workdir: str) -> dict[str, str]:
    """What the frontend build depends on. `public_url`: where browsers reach the app
    (haproxy): the build opens its websocket there, not on a host's own port."""
    return {"REFLEX_API_URL": public_url, "REFLEX_DEPLOY_URL": public_url,
            "REFLEX_WEB_WORKDIR": web_workdir}


def build_frontend(web_workdir: str, public_url: str, log_path: Path) -> float:
    """The release's frontend build, once (`python -m northwind_app.serve build`) into
    `web_workdir` (relative to the project; its node_modules kept for the next build);
    returns how long it took."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "northwind_app.serve", "build", "--loglevel", "info"],
            cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "REFLEX_CHECK_LATEST_VERSION": "0",
                 **app_env(public_url, web_workdir)},
            timeout=BUILD_TIMEOUT, start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"the frontend build failed:\n{log_path.read_text()[-4000:]}")
    return time.monotonic() - started


def tree_digest(folder: str) -> str:
    """SHA-256 over the relative paths and contents of a build folder's files (its
    node_modules left out): equal for a build and its copies, as long as nothing changes."""
    import hashlib

    root, digest = PROJECT_ROOT / folder, hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == "node_modules" or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_build(build: str, host_copy: str) -> None:
    """What deploy/ copies to an app host: the build folder without its node_modules (a
    host serving a prebuilt frontend runs no Node.js)."""
    source, target = PROJECT_ROOT / build, PROJECT_ROOT / host_copy
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules"),
                    symlinks=True)


def start_app(root: Path, name: str, db_url: str, redis_url: str, secret: str,
              web_workdir: str, public_url: str, port: int | None = None) -> AppServer:
    """An app process as on an app host, serving the prebuilt frontend in `web_workdir`
    (NORTHWIND_PREBUILT_FRONTEND=1: it neither compiles nor builds anything)."""
    server = AppServer(
        ["-m", "northwind_app.serve", "run", "--env", "prod", "--single-port"],
        {"NORTHWIND_DATABASE_URL": db_url, "REFLEX_REDIS_URL": redis_url,
         **app_env(public_url, web_workdir), "NORTHWIND_PREBUILT_FRONTEND": "1",
         "NORTHWIND_SECRET_KEY": secret, "GRANIAN_WORKERS": "1",
         "REFLEX_TRUSTED_PROXY_HOPS": "1",
         "REFLEX_STATES_WORKDIR": str(root / f"states-{name}")},
        root / f"{name}.log", port)
    return server


@dataclass
class Topology:
    cluster: GaleraCluster
    apps: list[AppServer]
    haproxy: HAProxy
    redis_url: str
    secret: str
    web_workdir: str
    build_seconds: float = 0.0
    build_digest: str = ""

    def copies_unchanged(self) -> dict[str, bool]:
        """Whether each app process's copy of the build is still exactly the build (a
        prebuilt host must not compile or build anything into it)."""
        return {f"{self.web_workdir}-{i}": tree_digest(f"{self.web_workdir}-{i}")
                == self.build_digest for i in range(1, len(self.apps) + 1)}

    @property
    def base(self) -> str:
        return self.haproxy.base

    def restart_app(self, index: int) -> AppServer:
        """Start app process `index` again (after a test killed it), on its port and node."""
        old = self.apps[index]
        node = self.cluster.nodes[index % len(self.cluster.nodes)]
        self.apps[index] = server = start_app(
            old.log_path.parent, f"app{index + 1}", node.url(), self.redis_url, self.secret,
            f"{self.web_workdir}-{index + 1}", self.base, port=old.port)
        server.wait_ready(("/api/health", "/"), APP_START_TIMEOUT)
        return server

    @property
    def db_url(self) -> str:
        """The app database through node 1 (for the tests' own setup and checks)."""
        return self.cluster.nodes[0].url()


@contextmanager
def running_cluster(size: int = 3, *, keep: bool = False,
                    **kwargs) -> Iterator[GaleraCluster]:
    """A started cluster, stopped (and its folder removed unless `keep`) when the block ends."""
    cluster = GaleraCluster(size, **kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.stop(keep)


@contextmanager
def topology(root: Path, redis_url: str, *, nodes: int = 3, apps: int = 2,
             web_workdir: str = ".web-test-cluster",
             secret: str | None = None, keep: bool = False) -> Iterator[Topology]:
    """The whole topology: app process i uses node ((i-1) mod nodes) + 1 directly. Every
    app process gets `secret` as NORTHWIND_SECRET_KEY (default: this process's own, so the
    tokens and session cookies a test makes through the services are valid there too). The
    frontend is built once into `web_workdir` and app process i serves its copy of that
    build, `web_workdir`-i (as each host its own copy of the release's build)."""
    from northwind_app.settings import settings

    secret = secret or settings.secret_key().decode()
    with ExitStack() as stack:
        cluster = stack.enter_context(running_cluster(nodes, keep=keep))
        prepare_database(cluster.nodes[0].url())
        servers: list[AppServer] = []
        stack.callback(lambda: [server.stop() for server in servers])  # (= top.apps)
        proxy_port = free_port()
        public_url = f"http://127.0.0.1:{proxy_port}"
        build_seconds = build_frontend(web_workdir, public_url, root / "build.log")
        for i in range(apps):
            copy_build(web_workdir, f"{web_workdir}-{i + 1}")
        for i in range(apps):
            node = cluster.nodes[i % nodes]
            server = start_app(root, f"app{i + 1}", node.url(), redis_url, secret,
                               f"{web_workdir}-{i + 1}", public_url)
            servers.append(server)
            server.wait_ready(("/api/health", "/"), APP_START_TIMEOUT)
        proxy = HAProxy(root, [server.base for server in servers], cluster.nodes, proxy_port)
        stack.callback(proxy.stop)
        top = Topology(cluster, servers, proxy, redis_url, secret, web_workdir, build_seconds,
                       tree_digest(web_workdir))
        proxy.wait_ready(len(servers))
        yield top


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.cluster [--nodes 3] [--apps 2]`: start the topology, print where
    everything is, and keep it up until Ctrl-C."""
    import argparse

    from tests.prodserver import own_redis_db

    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=main.__doc__)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if missing := missing_programs():
        print(f"Missing: {', '.join(missing)} (apt-get install {' '.join(missing)})",
              file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="northwind-cluster-"))

    def interrupt(*_args) -> None:  # SIGTERM stops everything as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        with own_redis_db() as redis_url, \
                topology(root, redis_url, nodes=args.nodes, apps=args.apps,
                         keep=args.keep) as top:
            print(f"Galera: {args.nodes} nodes, up in {top.cluster.started_seconds:.1f} s; "
                  f"frontend built once in {top.build_seconds:.0f} s ({top.web_workdir})")
            for node in top.cluster.nodes:
                print(f"  {node.name}: 127.0.0.1:{node.port} (socket {node.socket}, "
                      f"log {node.error_log})")
            for i, app in enumerate(top.apps, 1):
                print(f"  app{i}: {app.base} (log {app.log_path})")
            print(f"  haproxy: {top.base} (database through haproxy: 127.0.0.1:"
                  f"{top.haproxy.galera_port}; config {top.haproxy.cfg})")
            print(f"  Redis: {redis_url}; sign in as admin / the demo password")
            print("Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0
