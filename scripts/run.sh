#!/usr/bin/env bash
# Run Northwind Orders: install, migrate, seed demo data if empty, serve on http://localhost:3000
# (production build; embedded SQLite unless NORTHWIND_DATABASE_URL is set).
source "$(dirname "$0")/_env.sh"
python -m northwind_app.data first-run
exec reflex run --env prod --single-port --frontend-port "${PORT:-3000}" --backend-port "${PORT:-3000}"
