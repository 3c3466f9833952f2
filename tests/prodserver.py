"""The production shape for tests: a Redis database of the test's own on the shared Redis, and
the app served by the production launcher (`python -m northwind_app.serve run --env prod`)
with Redis and several Granian worker processes, in its own process group on a free port.

The Redis database is claimed with a marker key (SET NX) in an empty numbered database, so
tests never share one with each other or with anyone else using the server, and it is
emptied (FLUSHDB of that database only) afterwards. Without Redis the tests skip, or fail
when NORTHWIND_REQUIRE_REDIS=1 (as .ci/run sets).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from northwind_app.settings import PROJECT_ROOT

REDIS_SERVER_URL = os.environ.get("NORTHWIND_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REQUIRE_REDIS = os.environ.get("NORTHWIND_REQUIRE_REDIS") == "1"
_CLAIM_KEY = "northwind-test-claim"


@contextmanager
def own_redis_db() -> Iterator[str]:
    """The URL of an empty Redis database that is this test's alone until the block ends."""
    try:
        databases = int(redis.Redis.from_url(REDIS_SERVER_URL, socket_timeout=3)
                        .config_get("databases")["databases"])
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        message = f"Redis not reachable at {REDIS_SERVER_URL}: {exc}"
        if REQUIRE_REDIS:
            pytest.fail(message + " (NORTHWIND_REQUIRE_REDIS=1)")
        pytest.skip(message)
    for db in range(databases - 1, 0, -1):  # 0, the default, is left to everyone else
        client = redis.Redis.from_url(f"{REDIS_SERVER_URL}/{db}")
        if not client.set(_CLAIM_KEY, f"{os.getpid()}", nx=True, ex=6 * 3600):
            continue
        if client.dbsize() != 1:  # someone's data (without a claim): not ours to use
            client.delete(_CLAIM_KEY)
            continue
        try:
            yield f"{REDIS_SERVER_URL}/{db}"
        finally:
            client.flushdb()
            client.close()
        return
    pytest.fail(f"no free Redis database on {REDIS_SERVER_URL}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str, timeout: float = 5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001
        return False


class AppServer:
    """`python -m northwind_app.serve run --env prod ...` (or another command) on a free port."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path,
                 port: int | None = None):
        self.port = port or free_port()  # a port: a restart where a proxy expects it
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "a")
        ports = ["--backend-port", str(self.port)]
        if "--backend-only" not in args:
            ports += ["--frontend-port", str(self.port)]
        self.proc = subprocess.Popen(
            [sys.executable, *args, *ports, "--loglevel", "info"],
            cwd=PROJECT_ROOT, env={**os.environ, "REFLEX_CHECK_LATEST_VERSION": "0", **env},
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log(self, tail: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text()[-tail:]

    def wait_ready(self, paths: tuple[str, ...], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(answers(self.base + path) for path in paths):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"app server did not start:\n{self.log()}")
            time.sleep(1)

    def workers(self) -> set[int]:
        """The pids of the server's worker processes: its children forked from it (a
        helper it starts with another program, like multiprocessing's resource tracker,
        has another command line)."""
        return set(worker_pids(self.proc.pid))

    def stop(self) -> None:
        stop_group(self.proc)
        self._log.close()


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server started in its own process group (start_new_session): SIGTERM to the
    group, then SIGKILL when it has not ended within `timeout` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def worker_pids(parent: int) -> list[int]:
    own = _cmdline(parent)
    children = []
    for task in Path(f"/proc/{parent}/task").glob("*/children"):
        try:
            children += [int(pid) for pid in task.read_text().split()]
        except OSError:
            pass
    return sorted(pid for pid in children if _cmdline(pid) == own and _alive(pid))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(condition, timeout: float, interval: float = 0.1):
    """Poll `condition` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
