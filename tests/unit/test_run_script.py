"""scripts/run.sh ends with the address a person can open (scripts/_ready.py, issue #24): once
the server answers, `http://localhost:PORT` (or the one address it was told to listen on);
nothing if the server ends first. scripts/dev.sh is `reflex run` after the database is ready."""

from __future__ import annotations

import http.server
import importlib.util
import os
import threading

import pytest

from northwind_app.settings import PROJECT_ROOT
from tests.prodserver import free_port

_spec = importlib.util.spec_from_file_location("_ready", PROJECT_ROOT / "scripts" / "_ready.py")
ready = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ready)


@pytest.mark.parametrize(("bind", "url"), [
    (None, "http://localhost:3000"), ("127.0.0.1", "http://localhost:3000"),
    ("0.0.0.0", "http://localhost:3000"), ("::", "http://localhost:3000"),
    ("192.0.2.7", "http://192.0.2.7:3000"), ("2001:db8::7", "http://[2001:db8::7]:3000"),
])
def test_the_address_to_open(monkeypatch, bind, url):
    monkeypatch.delenv("REFLEX_BACKEND_HOST", raising=False)
    if bind is None:
        monkeypatch.delenv("NORTHWIND_BIND", raising=False)
    else:
        monkeypatch.setenv("NORTHWIND_BIND", bind)
    assert ready.address(3000) == url


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_announced_once_the_server_answers(monkeypatch, capsys):
    monkeypatch.delenv("REFLEX_BACKEND_HOST", raising=False)
    monkeypatch.delenv("NORTHWIND_BIND", raising=False)
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), _Health)
    threading.Timer(0.5, lambda: threading.Thread(target=server.serve_forever,
                                                  daemon=True).start()).start()
    try:
        assert ready.wait_and_announce(port, os.getpid(), interval=0.1)
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().out.strip() == (
        f"Northwind Orders is ready: open http://localhost:{port}  (Ctrl-C stops it)")


def test_silent_when_the_server_is_gone(capsys):
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    assert not ready.wait_and_announce(free_port(), gone, interval=0.1)
    assert capsys.readouterr().out == ""


def test_run_script_announces_its_port_and_then_serves():
    run_sh = (PROJECT_ROOT / "scripts" / "run.sh").read_text()
    announce = run_sh.index('python scripts/_ready.py "$port" $$ &')
    serve = run_sh.index("exec python -m northwind_app.serve run --env prod --single-port "
                         '--frontend-port "$port" --backend-port "$port"')
    assert announce < serve


def test_dev_script_is_reflex_run_after_the_database_is_prepared():
    """What tests/api/test_dev_server.py runs: first-run, then `reflex run` (its pages, on port
    3000, allowed to open the backend's websocket on port 8000)."""
    dev_sh = (PROJECT_ROOT / "scripts" / "dev.sh").read_text()
    first_run = dev_sh.index("python -m northwind_app.data first-run")
    cors = dev_sh.index('NORTHWIND_CORS_ORIGINS="${NORTHWIND_CORS_ORIGINS:-http://localhost:3000}"')
    assert first_run < cors < dev_sh.index('exec reflex run "$@"')
