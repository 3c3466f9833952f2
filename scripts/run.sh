#!/usr/bin/env bash
# Run Northwind Orders: install, migrate, seed demo data if empty, serve on http://localhost:3000
# (production build; embedded SQLite unless NORTHWIND_DATABASE_URL is set).
source "$(dirname "$0")/_env.sh"
echo "Preparing the database (migrations; demo data if it is empty) …"
python -m northwind_app.data first-run
port="${PORT:-3000}"
if [ "${NORTHWIND_PREBUILT_FRONTEND:-}" = 1 ]; then
  echo "Starting the server on port $port with the prebuilt frontend in ${REFLEX_WEB_WORKDIR:-.web} …"
else
  echo "Building the frontend and starting the server on port $port (a minute or two) …"
fi
# Says where to open the app once it answers (detached, so nothing waits for it to exit).
( python scripts/_ready.py "$port" $$ & )
# `reflex run`, but a worker process that dies is replaced, and with
# NORTHWIND_PREBUILT_FRONTEND=1 the release's build (scripts/build.sh) is served as it is
# (northwind_app/serve.py).
exec python -m northwind_app.serve run --env prod --single-port --frontend-port "$port" --backend-port "$port"
