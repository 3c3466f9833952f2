#!/usr/bin/env bash
# Run Northwind Orders: install, migrate, seed demo data if empty, serve on http://localhost:3000
# (production build; embedded SQLite unless NORTHWIND_DATABASE_URL is set).
source "$(dirname "$0")/_env.sh"
python -m northwind_app.data first-run
# `reflex run`, but a worker process that dies is replaced (northwind_app/serve.py).
exec python -m northwind_app.serve run --env prod --single-port --frontend-port "${PORT:-3000}" --backend-port "${PORT:-3000}"
