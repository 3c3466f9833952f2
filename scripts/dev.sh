#!/usr/bin/env bash
# Development server: `reflex run` (frontend http://localhost:3000 with hot reload, backend and
# API on port 8000; an edit of the app's sources reloads it), after run.sh's install and
# database preparation. Extra arguments go to `reflex run`, e.g. --frontend-port 3001.
source "$(dirname "$0")/_env.sh"
echo "Preparing the database (migrations; demo data if it is empty) …"
python -m northwind_app.data first-run
# The frontend's pages (Vite, port 3000) open the backend's websocket (port 8000): another
# origin, which the backend refuses unless it is listed.
export NORTHWIND_CORS_ORIGINS="${NORTHWIND_CORS_ORIGINS:-http://localhost:3000}"
exec reflex run "$@"
