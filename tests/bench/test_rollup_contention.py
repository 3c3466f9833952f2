"""Smoke run of bench/rollup_contention.py (two writers on one employee's rollup rows, one
row per key against sharded counters) on MariaDB, so the script never rots. It checks the
table it prints, not the figures (those are in bench/README.md)."""

from __future__ import annotations

import re
import subprocess
import sys

from northwind_app.settings import PROJECT_ROOT
from tests import dbutil


def test_rollup_contention_runs_and_reports_both_layouts():
    dbutil.require_backend("mariadb")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.rollup_contention", "--url", dbutil.MARIADB_SERVER_URL,
         "--orders", "3", "--rounds", "1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = re.findall(r"^\| (\d+) \| (no wait|wait)[^|]*\| ([\d.]+) \| ([\d.]+) \|",
                      proc.stdout, re.MULTILINE)
    assert {(slots, mode) for slots, mode, *_ in rows} == {
        ("1", "no wait"), ("1", "wait"), ("8", "no wait"), ("8", "wait")}, proc.stdout
