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
