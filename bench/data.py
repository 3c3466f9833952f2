"""Data loading: the classic CSV import and the demo generator, timed through the project's CLI
(`python -m northwind_app.data classic DIR` / `demo --orders N`), exactly as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from bench.common import CLASSIC_DIR, PROJECT_ROOT, checkout_env, log, query

SEED = 42


def load(url: str, scale: str, root: Path = PROJECT_ROOT) -> dict:
    """Load one scale into the (empty) database at url with the loader of the checkout at root;
    wall time and the loader's own time."""
    if scale == "classic":
        args = ["classic", str(CLASSIC_DIR)]
        kind = "classic_import"
    else:
        args = ["demo", "--orders", str(int(scale)), "--seed", str(SEED), "--quiet"]
        kind = "demo_generation"
    cmd = [sys.executable, "-m", "northwind_app.data", "--database-url", url, *args]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=root, env=checkout_env(root), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"loading {scale} failed:\n{out.stdout}\n{out.stderr}")
    # "Loaded 8 categories, …, 830 orders, … in 1.2 s." (the load itself, after the migration)
    match = re.search(r" in ([0-9.]+) s\.", out.stdout)
    (orders,), = query(url, "SELECT COUNT(*) FROM orders")
    (lines,), = query(url, "SELECT COUNT(*) FROM order_details")
    result = {"kind": kind, "command": "python -m northwind_app.data " + " ".join(args),
              "wall_s": round(wall, 2), "load_s": float(match.group(1)) if match else None,
              "orders": orders, "order_lines": lines}
    log(f"data: {kind} of {orders:,} orders: {wall:.1f} s wall "
        f"({result['load_s']} s reported by the loader)")
    return result


def existing(url: str) -> dict | None:
    """Row counts of an already loaded database (for --reuse-data), None when empty/missing."""
    try:
        (orders,), = query(url, "SELECT COUNT(*) FROM orders")
        (lines,), = query(url, "SELECT COUNT(*) FROM order_details")
    except Exception:  # noqa: BLE001 - no schema yet
        return None
    return {"kind": "reused", "orders": orders, "order_lines": lines} if orders else None
