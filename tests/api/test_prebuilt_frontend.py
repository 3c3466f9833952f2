"""The launcher's prebuilt mode (NORTHWIND_PREBUILT_FRONTEND=1, northwind_app/serve.py): an
app host serves the release's one frontend build and never builds its own, so it must refuse
to start, saying how to build, when its web folder holds no usable build. (Serving a real
build on two hosts behind haproxy: tests/cluster/test_ui_failover.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from reflex_base import constants

from northwind_app import serve
from northwind_app.settings import PROJECT_ROOT
from tests.prodserver import free_port


def _launch(web, *args: str, prebuilt: str = "1") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "northwind_app.serve", *args], cwd=PROJECT_ROOT,
        env={**os.environ, "REFLEX_CHECK_LATEST_VERSION": "0", "REFLEX_WEB_WORKDIR": str(web),
             "NORTHWIND_PREBUILT_FRONTEND": prebuilt,
             "REFLEX_STATES_WORKDIR": str(web.parent / "states")},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_host_without_a_build_refuses_to_start_and_names_the_build_command(tmp_path):
    web = tmp_path / "web"
    port = str(free_port())
    done = _launch(web, "run", "--env", "prod", "--single-port", "--frontend-port", port,
                   "--backend-port", port)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "NORTHWIND_PREBUILT_FRONTEND=1" in done.stderr
    assert "holds no frontend build" in done.stderr
    assert "python -m northwind_app.serve build" in done.stderr
    assert not web.exists()  # it neither initialised nor built anything


def test_prebuilt_mode_is_for_the_production_server_only(tmp_path):
    done = _launch(tmp_path / "web", "run", "--env", "dev")
    assert done.returncode == 1
    assert "`run --env prod` only" in done.stderr


def _fake_build(web, *, version: str = constants.Reflex.VERSION, event_url: str) -> None:
    static = web / constants.Dirs.STATIC
    static.mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><html></html>")
    (web / constants.Reflex.JSON).write_text(json.dumps({"version": version}))
    (web / constants.Dirs.ENV_JSON).write_text(
        json.dumps({constants.Endpoint.EVENT.name: event_url}))


@pytest.fixture
def web(tmp_path, monkeypatch):
    web = tmp_path / "web"
    monkeypatch.setenv("REFLEX_WEB_WORKDIR", str(web))
    return web


def test_a_build_for_this_url_and_version_is_served(web):
    _fake_build(web, event_url=constants.Endpoint.EVENT.get_url())
    assert serve.check_prebuilt_frontend() == (web / constants.Dirs.STATIC).resolve()


def test_a_build_for_another_url_is_refused(web):
    _fake_build(web, event_url="wss://elsewhere.example.com/_event")
    with pytest.raises(serve.PrebuiltFrontendError) as refused:
        serve.check_prebuilt_frontend()
    assert "wss://elsewhere.example.com/_event" in refused.value.message
    assert "REFLEX_API_URL" in refused.value.message
    assert serve.BUILD_COMMAND in refused.value.message


def test_a_build_of_another_reflex_version_is_refused(web):
    _fake_build(web, version="0.0.1", event_url=constants.Endpoint.EVENT.get_url())
    with pytest.raises(serve.PrebuiltFrontendError) as refused:
        serve.check_prebuilt_frontend()
    assert "Reflex 0.0.1" in refused.value.message


def test_a_half_copied_build_is_refused(web):
    _fake_build(web, event_url=constants.Endpoint.EVENT.get_url())
    (web / constants.Dirs.ENV_JSON).unlink()
    with pytest.raises(serve.PrebuiltFrontendError, match="incomplete"):
        serve.check_prebuilt_frontend()


_SERVE_UNTIL_GRANIAN = """
import sys
from reflex.utils import exec as reflex_exec
from northwind_app import serve

def reached(*args, **kwargs):
    print("SERVING-REACHED", flush=True)
    raise SystemExit(0)

reflex_exec.run_backend_prod = reached
serve.main(sys.argv[1:])
"""


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_prebuilt_mode_reaches_the_server_without_compiling_or_building(tmp_path):
    """The Reflex internals prebuilt mode replaces (`reflex.reflex._compile_app`,
    `build.setup_frontend_prod`, `prerequisites.needs_reinit`, all looked up when
    `reflex run --env prod` runs): the run gets to starting Granian with the web folder
    untouched. When a Reflex upgrade moves one of them, this fails (the folder is initialised,
    compiled into or built)."""
    web, port = tmp_path / "web", free_port()
    url = f"http://127.0.0.1:{port}"
    _fake_build(web, event_url=f"ws://127.0.0.1:{port}/_event")
    before = _tree(web)
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_UNTIL_GRANIAN, "run", "--env", "prod", "--single-port",
         "--frontend-port", str(port), "--backend-port", str(port)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "REFLEX_CHECK_LATEST_VERSION": "0", "REFLEX_WEB_WORKDIR": str(web),
             "NORTHWIND_PREBUILT_FRONTEND": "1", "REFLEX_API_URL": url,
             "REFLEX_DEPLOY_URL": url, "REFLEX_STATES_WORKDIR": str(tmp_path / "states")})
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "SERVING-REACHED" in done.stdout
    assert "Compiling" not in done.stdout and "Creating Production Build" not in done.stdout
    assert _tree(web) == before  # nothing initialised, compiled or built into it


def test_prebuilt_mode_refuses_a_build_for_another_address(tmp_path):
    web, port = tmp_path / "web", str(free_port())
    _fake_build(web, event_url="ws://127.0.0.1:1/_event")
    done = subprocess.run(
        [sys.executable, "-m", "northwind_app.serve", "run", "--env", "prod", "--single-port",
         "--frontend-port", port, "--backend-port", port],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "REFLEX_CHECK_LATEST_VERSION": "0", "REFLEX_WEB_WORKDIR": str(web),
             "NORTHWIND_PREBUILT_FRONTEND": "1", "REFLEX_API_URL": f"http://127.0.0.1:{port}",
             "REFLEX_STATES_WORKDIR": str(tmp_path / "states")})
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "opens its websocket at ws://127.0.0.1:1/_event" in done.stderr
    assert "python -m northwind_app.serve build" in done.stderr
