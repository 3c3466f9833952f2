"""`reflex run`, the development server with hot reload (issue #24), started as the README
says (`python -m northwind_app.data first-run`, then `reflex run`) in a copy of the project, so
the test may edit a page and the real tree is left alone.

It compiles the app once and then stays put while it is used: the embedded SQLite database,
its `-wal`/`-shm` files and `northwind.lock` live in the project folder and change with every
query and every start of a worker, which used to make Reflex's reloader (that watched every
entry of the folder) reload, recompile and restart the worker, forever (rxconfig.py now
watches the app's sources only). An edit of a page reloads it exactly once.
Its first start (no .web yet) does not advise installing with `uv` (rxconfig.py).

Slow (the frontend is installed and the app compiled twice): one test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from northwind_app.settings import PROJECT_ROOT
from tests.prodserver import answers, free_port, stop_group, wait_for

START_TIMEOUT = 600
IDLE_SECONDS = 30
# What `reflex run` needs of the project (tests, benchmarks and scripts are not served).
COPIED = ("northwind_app", "alembic", "assets", "reflex.lock", "rxconfig.py", "alembic.ini",
          "requirements.txt")
# Settings of the test process that would point the copy at the real tree or elsewhere
# (the test process imported the real rxconfig.py, which sets the reload paths).
NOT_INHERITED = ("NORTHWIND_DATABASE_URL", "REFLEX_HOT_RELOAD_OVERRIDE_PATHS",
                 "REFLEX_HOT_RELOAD_INCLUDE_PATHS", "REFLEX_HOT_RELOAD_EXCLUDE_PATHS",
                 "REFLEX_WEB_WORKDIR", "REFLEX_STATES_WORKDIR", "REFLEX_REDIS_URL", "PYTHONPATH")


def _copy_project(target: Path) -> Path:
    target.mkdir()
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


def _compiles(log_path: Path) -> int:
    """The compiles the server has reported: one `Compiling: ━━━ 100% …` line each (the
    first by `reflex run` itself, each later one by the backend worker after a reload)."""
    return len(re.findall(r"^Compiling:", log_path.read_text(errors="replace"), re.MULTILINE))


def test_dev_server_compiles_once_and_reloads_once_per_edit(tmp_path):
    project = _copy_project(tmp_path / "project")
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    env.update(NORTHWIND_DEMO_ORDERS="50", REFLEX_CHECK_LATEST_VERSION="0", REFLEX_USE_NPM="1")
    # As the README says: migrate and load the demo data first (so the database, its lock
    # file and its -wal/-shm are there when the server starts, as on every later start).
    subprocess.run([sys.executable, "-m", "northwind_app.data", "first-run"], cwd=project,
                   env=env, check=True, timeout=300, capture_output=True)
    assert (project / "northwind.db").exists()

    frontend, backend = free_port(), free_port()
    log_path = tmp_path / "reflex-dev.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--frontend-port", str(frontend),
             "--backend-port", str(backend), "--loglevel", "info"],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    health = f"http://127.0.0.1:{backend}/api/health"  # reads the database
    page = f"http://localhost:{frontend}/login"

    def server_log() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (answers(health) and answers(page)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the development server did not start:\n{server_log()}")
            time.sleep(1)
        assert _compiles(log_path) == 1, server_log()
        # Its first start prepared the frontend (.web) without advising `uv` (rxconfig.py).
        assert "Initialized northwind_app." in server_log()
        assert "uv run reflex run" not in server_log()

        # Used for a while (every health check queries the database): nothing recompiles.
        until = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < until:
            assert answers(health), server_log()
            time.sleep(1)
        assert answers(page)
        assert _compiles(log_path) == 1, f"recompiled with nothing edited:\n{server_log()}"

        # A real edit of a page's source: one reload, one compile, and the app serves again.
        login = project / "northwind_app" / "pages" / "login.py"
        login.write_text(login.read_text() + "\n# edited while the development server runs\n")
        assert wait_for(lambda: _compiles(log_path) >= 2, timeout=300, interval=1), \
            f"no reload after editing {login.name}:\n{server_log()}"
        assert wait_for(lambda: answers(health), timeout=120, interval=1), server_log()
        time.sleep(IDLE_SECONDS / 2)
        assert answers(health) and answers(page)
        assert _compiles(log_path) == 2, f"more than one reload for one edit:\n{server_log()}"
    finally:
        stop_group(proc)
