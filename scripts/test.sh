#!/usr/bin/env bash
# Run every test: unit, database (SQLite always; MariaDB when reachable or required), browser.
# Extra arguments go to pytest, e.g. scripts/test.sh -k orders
source "$(dirname "$0")/_env.sh"
if [ ! -x "${NORTHWIND_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "Installing Debian's chromium for the browser tests …"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "Installing Debian's wrk for the benchmark smoke test …"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
# Two workers (pytest-xdist) by default; NORTHWIND_TEST_WORKERS=0 runs in this process
# (e.g. for --pdb). Each module, and all browser tests, stay on one worker (tests/conftest.py).
exec python -m pytest -n "${NORTHWIND_TEST_WORKERS:-2}" "$@"
