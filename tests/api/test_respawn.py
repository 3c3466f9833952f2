"""One crashed worker must not stop the whole app (issue #20).

- The production launcher (`northwind_app/serve.py`, used by scripts/run.sh) makes Reflex
  build Granian with `respawn_failed_workers`; plain `reflex run` does not (the reason the
  launcher exists: when a Reflex upgrade turns it on by itself, the launcher can go).
- A real server (launcher, Redis, 2 workers) keeps answering the API while its workers are
  SIGKILLed one after the other, and replaces each.
- The tabs of a dead worker keep their token, hence their state, on another worker
  (`northwind_app/ui/workers.py`), while a real duplicate tab still gets a new one; and the
  Reflex internals both rely on are still there.

The browser side (a tab's websocket worker killed while an order form is half filled) is
tests/browser/test_respawn_ui.py.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
import time
import urllib.request

import pytest
import redis.asyncio as aioredis
from reflex.app import EventNamespace
from reflex.utils import exec as reflex_exec
from reflex.utils.token_manager import RedisTokenManager, TokenManager
from reflex_base.constants import LogLevel

from northwind_app import serve
from northwind_app.settings import PROJECT_ROOT
from northwind_app.ui import workers
from northwind_app.ui.workers import WorkerAwareTokenManager, worker_aware_tabs
from tests import aio
from tests.prodserver import AppServer, own_redis_db, wait_for

START_TIMEOUT = 300


# -- the launcher ---------------------------------------------------------------------------

def _granian_server_reflex_builds(monkeypatch) -> object:
    """Run Reflex's production Granian start up to `serve()` and return the server object."""
    built = []
    monkeypatch.setattr(serve._GranianServer, "serve", lambda self: built.append(self))
    # No fork preparation in the test process (it would freeze its heap).
    monkeypatch.setattr(reflex_exec, "_backend_start_method", lambda: None)
    monkeypatch.setenv("GRANIAN_WORKERS", "3")
    reflex_exec.run_granian_backend_prod("127.0.0.1", 1, LogLevel.INFO,
                                         app_target="northwind_app.serve:main")
    assert len(built) == 1, "Reflex no longer starts Granian through granian.server.Server"
    return built[0]


def test_reflex_alone_builds_granian_without_respawn(monkeypatch):
    monkeypatch.setattr("granian.server.Server", serve._GranianServer)
    server = _granian_server_reflex_builds(monkeypatch)
    assert server.workers == 3
    # When this fails, Reflex respawns by itself: northwind_app/serve.py can go.
    assert server.respawn_failed_workers is False


def test_launcher_makes_reflex_build_granian_with_respawn(monkeypatch):
    monkeypatch.setattr("granian.server.Server", serve._GranianServer)
    serve.install()
    server = _granian_server_reflex_builds(monkeypatch)
    assert isinstance(server, serve.RespawningServer)
    assert server.respawn_failed_workers is True
    assert server.workers == 3  # the rest is still Reflex's (GRANIAN_WORKERS read)


def test_development_reloader_is_left_alone():
    assert serve.RespawningServer("x:y", reload=True).respawn_failed_workers is False


def test_run_script_uses_the_launcher():
    run_sh = (PROJECT_ROOT / "scripts" / "run.sh").read_text()
    assert "python -m northwind_app.serve run --env prod --single-port" in run_sh


# -- a real server --------------------------------------------------------------------------

@pytest.fixture
def api_server(empty_db, tmp_path):
    """The backend (API and websocket; no frontend build) in the production shape: the
    launcher, Redis, 2 workers, on a migrated database (SQLite, MariaDB)."""
    with own_redis_db() as redis_url:
        server = AppServer(
            ["-m", "northwind_app.serve", "run", "--env", "prod", "--backend-only"],
            {"NORTHWIND_DATABASE_URL": empty_db, "REFLEX_REDIS_URL": redis_url,
             "GRANIAN_WORKERS": "2", "REFLEX_WEB_WORKDIR": str(tmp_path / "web"),
             "REFLEX_STATES_WORKDIR": str(tmp_path / "states")},
            tmp_path / "server.log")
        try:
            server.wait_ready(("/api/health",), START_TIMEOUT)
            assert wait_for(lambda: len(server.workers()) == 2, 30), server.log()
            yield server
        finally:
            server.stop()


class _Prober(threading.Thread):
    """GET /api/health on a new connection every 20 ms, recording when each failure was."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.answered, self.failures = url, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=3) as response:
                    assert response.status == 200
                self.answered += 1
            except Exception as exc:  # noqa: BLE001
                self.failures.append((time.monotonic(), repr(exc)))
            time.sleep(0.02)


def test_api_keeps_answering_while_workers_are_killed(api_server):
    originals = api_server.workers()
    prober = _Prober(api_server.base + "/api/health")
    prober.start()
    kills = []
    try:
        assert wait_for(lambda: prober.answered > 20, 10)
        for victim in sorted(originals):  # each worker in turn, as an OOM killer would
            kills.append(time.monotonic())
            os.kill(victim, signal.SIGKILL)
            replaced = wait_for(lambda: (len(now := api_server.workers()) == 2
                                         and victim not in now), 15)
            assert replaced, f"no replacement worker:\n{api_server.log()}"
            assert api_server.proc.poll() is None, api_server.log()
            answered = prober.answered
            assert wait_for(lambda: prober.answered > answered + 20, 10)
            # (Granian's crash-loop guard stops the server when a replacement dies within
            # 5.5 s of starting; the next kill is of the other original worker.)
    finally:
        prober.stop.set()
        prober.join()
    assert api_server.proc.poll() is None, api_server.log()
    assert "Unexpected exit from worker" in api_server.log(100_000)
    assert not api_server.workers() & originals
    # Only a request the killed worker was answering at that moment may fail (the prober has
    # one in flight at a time); every later one is answered.
    assert len(prober.failures) <= len(kills), prober.failures
    assert all(any(0 <= at - kill < 1 for kill in kills) for at, _ in prober.failures), \
        (kills, prober.failures)


# -- tabs of a dead worker ------------------------------------------------------------------

@pytest.fixture
def redis_url():
    with own_redis_db() as url:
        yield url


def _run(coro):
    return aio.run(coro)


async def _manager(cls, redis_url: str) -> RedisTokenManager:
    return cls(aioredis.Redis.from_url(redis_url))


async def _dead_workers_record(redis_url: str, token: str) -> None:
    """The record a worker that was SIGKILLed leaves: written by Reflex's own manager (which
    has no presence channel, like a dead worker), never deleted."""
    dead = await _manager(RedisTokenManager, redis_url)
    assert await dead.link_token_to_sid(token, "old-sid") is None
    await dead.close()  # its connections close; no disconnect cleanup, as with SIGKILL


def test_reflex_alone_gives_a_dead_workers_tab_a_new_token(redis_url):
    async def scenario():
        await _dead_workers_record(redis_url, "tab-1")
        manager = await _manager(RedisTokenManager, redis_url)
        try:
            return await manager.link_token_to_sid("tab-1", "new-sid")
        finally:
            await manager.close()
    # A new token is a fresh, empty state: the reason for WorkerAwareTokenManager. When this
    # fails, Reflex recognises dead workers itself.
    assert _run(scenario()) is not None


def test_a_dead_workers_tab_keeps_its_token(redis_url):
    async def scenario():
        await _dead_workers_record(redis_url, "tab-1")
        manager = await _manager(WorkerAwareTokenManager, redis_url)
        try:
            new_token = await manager.link_token_to_sid("tab-1", "new-sid")
            record = pickle.loads(await manager.redis.get(manager._get_redis_key("tab-1")))
            return new_token, record
        finally:
            await manager.close()
    new_token, record = _run(scenario())
    assert new_token is None
    assert record.sid == "new-sid"


def test_a_live_workers_tab_duplicated_still_gets_a_new_token(redis_url):
    async def scenario():
        first = await _manager(WorkerAwareTokenManager, redis_url)
        second = await _manager(WorkerAwareTokenManager, redis_url)
        try:
            assert await first.link_token_to_sid("tab-1", "sid-a") is None
            duplicate = await second.link_token_to_sid("tab-1", "sid-b")
            # The first worker dies: Redis drops its subscription with its connections.
            await first.close()
            gone = await wait_async(lambda: second._worker_alive(first.instance_id), False)
            again = await second.link_token_to_sid("tab-1", "sid-c")
            return duplicate, gone, again
        finally:
            await second.close()
    duplicate, gone, again = _run(scenario())
    assert duplicate is not None  # a second tab with the token of an open one: new token
    assert gone
    assert again is None  # its worker gone, the tab keeps its token


async def wait_async(check, want, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check() == want:
            return True
        await asyncio.sleep(0.05)
    return False


def test_presence_channel_names_the_worker(redis_url):
    async def scenario():
        manager = await _manager(WorkerAwareTokenManager, redis_url)
        try:
            await manager.link_token_to_sid("tab-1", "sid-a")
            return manager.instance_id, await manager.redis.pubsub_channels(
                workers.presence_pattern(manager.instance_id))
        finally:
            await manager.close()
    instance_id, channels = _run(scenario())
    assert channels == [f"{workers.PRESENCE_PREFIX}{instance_id}:{os.getpid()}".encode()]


def test_lifespan_task_replaces_reflexs_redis_token_manager(redis_url, monkeypatch):
    async def scenario():
        manager = await _manager(RedisTokenManager, redis_url)
        monkeypatch.setattr(TokenManager, "create", classmethod(lambda cls: manager))
        namespace = EventNamespace("/_event", app=None)  # Reflex's own construction
        assert namespace._token_manager is manager

        class App:
            event_namespace = namespace

        async with worker_aware_tabs(App()):
            installed = namespace._token_manager
        await installed.close()
        return installed, manager

    installed, original = _run(scenario())
    assert type(installed) is WorkerAwareTokenManager
    assert installed.redis is original.redis
