"""`python -m northwind_app.serve ARGS` is `reflex ARGS`, except that the production server
replaces a worker process that dies instead of stopping, and that a release's frontend can be
built once and served unchanged by every app host.

Build once, serve everywhere (issue #26): two Reflex builds of one revision differ (a shared
chunk embeds a random project hash and the build time, so every chunk name differs), and
behind a load balancer without stickiness a page from one host asks another for its scripts.
So production builds the frontend once per release and copies that folder to every host:

- `python -m northwind_app.serve build` compiles the app and builds the frontend into
  REFLEX_WEB_WORKDIR (default `.web`) for the REFLEX_API_URL/REFLEX_DEPLOY_URL set now (where
  browsers reach the app: the build opens its websocket there), exactly as `reflex run --env
  prod` would before serving, then stops.
- With NORTHWIND_PREBUILT_FRONTEND=1, `run --env prod` serves that build as it is: Reflex's
  compile and frontend build are skipped (nothing in the folder changes, so the CSP hashes
  that security_headers.py reads from it at start are the same on every host). It refuses to
  start, naming the build command, when the folder holds no build, one of another Reflex
  version, or one made for another REFLEX_API_URL.

With Redis the production server (`reflex run --env prod`) runs several Granian worker
processes. Granian stops the whole server when one of them exits unexpectedly (an
out-of-memory kill, a crash in a native library) unless it was built with
`respawn_failed_workers=True`, and Reflex 0.10 builds it without, offering no setting or
environment variable for it (Granian reads `GRANIAN_RESPAWN_FAILED_WORKERS` only in its own
command line, which Reflex does not use). So this launcher runs Reflex's own command line
with Granian's server class swapped for a subclass whose `respawn_failed_workers` defaults to
on; everything else (the build, the fork preload, the worker count, the logging) stays
Reflex's. Granian still stops if the replacement dies again within 5.5 s (its crash-loop
guard), so a worker that cannot start does not respawn forever.

Other libraries' internals this relies on (each guarded by tests/api/test_respawn.py, which fails
when a Reflex or Granian upgrade changes it):
- `granian.server.Server` is the class Reflex builds its server from, and
  `reflex.utils.exec.run_granian_backend_prod` looks it up there when it runs (it imports it
  inside the function), so replacing the module attribute before the CLI runs reaches it.
- `respawn_failed_workers` is a keyword of that class's constructor (Granian's documented
  embedding API, the same setting as the CLI's `--respawn-failed-workers`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import granian.server

_GranianServer = granian.server.Server


class RespawningServer(_GranianServer):  # type: ignore[misc,valid-type]
    """Granian's server with `respawn_failed_workers` on by default (except with the
    development reloader, which restarts workers itself)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("respawn_failed_workers", not kwargs.get("reload", False))
        super().__init__(*args, **kwargs)


def install() -> None:
    """Make Reflex build its Granian server from RespawningServer (idempotent)."""
    granian.server.Server = RespawningServer


PREBUILT_ENV = "NORTHWIND_PREBUILT_FRONTEND"
BUILD_COMMAND = "python -m northwind_app.serve build"


class PrebuiltFrontendError(SystemExit):
    """Prebuilt mode without a usable build: the server must not start (exit status 1)."""

    def __init__(self, message: str):
        super().__init__(message)  # SystemExit prints it to stderr and exits with 1
        self.message = message


def prebuilt_requested() -> bool:
    return os.environ.get(PREBUILT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _option(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` / `--name=VALUE` in a command line (the last one)."""
    value = None
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def check_prebuilt_frontend(*, check_url: bool = True) -> Path:
    """The compiled frontend this server would serve (REFLEX_WEB_WORKDIR's `build/client`),
    or PrebuiltFrontendError saying what is wrong and which command builds it. `check_url`:
    also that the build opens its websocket where this configuration says (once the command
    line's ports are applied, when the URL is not set)."""
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config

    web = prerequisites.get_web_dir().resolve()
    static = web / constants.Dirs.STATIC
    how = (f"build it once for this release with `{BUILD_COMMAND}` (same REFLEX_API_URL, "
           f"REFLEX_DEPLOY_URL and REFLEX_WEB_WORKDIR) and copy {web} to every app host, or "
           f"unset {PREBUILT_ENV} to build at start")
    if not (static / "index.html").is_file():
        raise PrebuiltFrontendError(
            f"{PREBUILT_ENV}=1 but {static} holds no frontend build: {how}.")
    try:
        version = json.loads((web / constants.Reflex.JSON).read_text()).get("version")
        env_json = json.loads((web / constants.Dirs.ENV_JSON).read_text())
    except (OSError, ValueError) as exc:
        raise PrebuiltFrontendError(
            f"{PREBUILT_ENV}=1 but the build in {web} is incomplete ({exc}): {how}.") from exc
    if version != constants.Reflex.VERSION:
        raise PrebuiltFrontendError(
            f"{PREBUILT_ENV}=1 but the build in {web} was made by Reflex {version}, this is "
            f"Reflex {constants.Reflex.VERSION}: {how}.")
    if not check_url:
        return static
    get_config()  # REFLEX_API_URL and the other settings read now
    expected = constants.Endpoint.EVENT.get_url()
    if env_json.get(constants.Endpoint.EVENT.name) != expected:
        raise PrebuiltFrontendError(
            f"{PREBUILT_ENV}=1 but the build in {web} opens its websocket at "
            f"{env_json.get(constants.Endpoint.EVENT.name)}, not {expected} (REFLEX_API_URL "
            f"now): {how}.")
    return static


def install_prebuilt() -> Path:
    """Make `reflex run --env prod` serve the build in the web folder as it is: no app
    compile, no frontend build, no `reflex init` (a host needs no Node.js). Checks the build
    first (PrebuiltFrontendError)."""
    static = check_prebuilt_frontend(check_url=False)  # fail fast: no build at all
    import reflex.reflex
    from reflex.utils import build, prerequisites

    def no_compile(*, avoid_dirty_check: bool = True) -> None:
        pass

    def no_build(root: Path) -> None:  # called with the ports applied: check the URL now
        check_prebuilt_frontend()

    reflex.reflex._compile_app = no_compile
    build.setup_frontend_prod = no_build
    prerequisites.needs_reinit = lambda: False
    return static


class _Built(Exception):
    """Raised where the production server would start: the build is done."""


def build_frontend(argv: list[str] | None = None) -> None:
    """`python -m northwind_app.serve build [reflex run options]`: what `reflex run --env prod
    --single-port` does before it serves (init if needed, compile, frontend build into
    REFLEX_WEB_WORKDIR), then stop, serving nothing."""
    from reflex.reflex import cli
    from reflex.utils import exec as reflex_exec

    def built(*_args, **_kwargs) -> None:
        raise _Built

    reflex_exec.run_backend_prod = built
    reflex_exec.run_frontend_prod = built
    reflex_exec.notify_app_running = lambda: None  # nothing runs: say so at the end
    reflex_exec.notify_frontend = lambda *_args, **_kwargs: None
    try:
        cli(args=["run", "--env", "prod", "--single-port", *(argv or [])],
            prog_name="reflex", standalone_mode=False)
    except _Built:
        static = check_prebuilt_frontend()
        print(f"Frontend built in {static.parent.parent}: copy this folder to every app host "
              f"(as its REFLEX_WEB_WORKDIR) and start them with {PREBUILT_ENV}=1.", flush=True)
        return
    raise SystemExit("the build stopped before the frontend was built")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        build_frontend(argv[1:])
        return
    install()
    if prebuilt_requested() and argv[:1] == ["run"]:
        if _option(argv, "--env") != "prod" or "--backend-only" in argv:
            raise PrebuiltFrontendError(
                f"{PREBUILT_ENV}=1 serves a prebuilt frontend with `run --env prod` only")
        install_prebuilt()
    from reflex.reflex import cli

    cli(args=argv, prog_name="reflex")


if __name__ == "__main__":
    main(sys.argv[1:])
