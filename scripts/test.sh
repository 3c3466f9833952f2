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
# The Galera topology tests (tests/cluster) need Debian's galera-4, rsync and haproxy (and
# mariadb-server, which the MariaDB tests use too); without them they skip, saying so.
if [ ! -e /usr/lib/galera/libgalera_smm.so ] || ! command -v rsync >/dev/null 2>&1 \
    || { ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; }; then
  echo "Installing Debian's galera-4, rsync and haproxy for the Galera topology tests …"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq galera-4 rsync haproxy >/dev/null; } \
    || echo "WARNING: galera-4/rsync/haproxy could not be installed: THE GALERA TOPOLOGY TESTS WILL BE SKIPPED" >&2
fi
# Two workers (pytest-xdist) by default; NORTHWIND_TEST_WORKERS=0 runs in this process
# (e.g. for --pdb). Each module, and all browser tests, stay on one worker (tests/conftest.py).
# With no test path given, the Galera topology tests (tests/cluster: 3 mariadbd, 2 app
# processes, haproxy) run after the rest, alone on the machine: in CI, run beside the rest
# of the suite, the node-kill proof once saw one app answer 500 to half its requests from
# the first second (alone they pass; see README "Production topology").
for arg in "$@"; do
  case "$arg" in tests*|*/tests*|*.py|*::*) exec python -m pytest -n "${NORTHWIND_TEST_WORKERS:-2}" "$@" ;; esac
done
status=0
python -m pytest -n "${NORTHWIND_TEST_WORKERS:-2}" --ignore=tests/cluster "$@" || status=$?
python -m pytest tests/cluster "$@" || { rc=$?; [ "$rc" -eq 5 ] || status=$rc; }  # 5: none selected
exit "$status"
