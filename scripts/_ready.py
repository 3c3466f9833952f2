"""`python scripts/_ready.py PORT PID`: once the app answers on PORT, print the address to open
in a browser, then exit; exit quietly if process PID (the server) ends first.

scripts/run.sh starts it in the background before it hands over to the server, whose own last
line names the address it listens on (`http://127.0.0.1:3000/`, or `http://0.0.0.0:3000/` when
it listens on every interface): not always one to click, and followed by nothing that says
the server is ready.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request

LOOPBACK_OR_ALL = {"", "127.0.0.1", "localhost", "0.0.0.0", "::", "::1"}


def address(port: int) -> str:
    """http://localhost:PORT, or the one address the server was told to listen on."""
    bind = (os.environ.get("REFLEX_BACKEND_HOST") or os.environ.get("NORTHWIND_BIND", "")).strip()
    host = "localhost" if bind in LOOPBACK_OR_ALL else (f"[{bind}]" if ":" in bind else bind)
    return f"http://{host}:{port}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_and_announce(port: int, server_pid: int, interval: float = 1.0) -> bool:
    url = address(port)
    while _alive(server_pid):
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5):
                pass
        except Exception:  # noqa: BLE001 - not listening yet, or the database not ready (503)
            time.sleep(interval)
            continue
        print(f"\nNorthwind Orders is ready: open {url}  (Ctrl-C stops it)", flush=True)
        return True
    return False


if __name__ == "__main__":
    wait_and_announce(int(sys.argv[1]), int(sys.argv[2]))
