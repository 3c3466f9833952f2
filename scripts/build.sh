#!/usr/bin/env bash
# Build a release's frontend once (into .web, or REFLEX_WEB_WORKDIR) for every app host:
#   REFLEX_API_URL=https://orders.example.com REFLEX_DEPLOY_URL=https://orders.example.com \
#     ./scripts/build.sh
# then copy the folder, without node_modules, to each host and start them with
# NORTHWIND_PREBUILT_FRONTEND=1 (README "Production topology"; deploy/northwind-app.service).
source "$(dirname "$0")/_env.sh"
if [ -z "${REFLEX_API_URL:-}" ]; then
  echo "Set REFLEX_API_URL (and REFLEX_DEPLOY_URL) to the address browsers use (the load balancer's):" \
       "the build opens its websocket there." >&2
  exit 2
fi
exec python -m northwind_app.serve build "$@"
