"""`python -m northwind_app.serve ARGS` is `reflex ARGS`, except that the production server
replaces a worker process that dies instead of stopping.

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

import sys

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


def main(argv: list[str] | None = None) -> None:
    install()
    from reflex.reflex import cli

    cli(args=argv, prog_name="reflex")


if __name__ == "__main__":
    main(sys.argv[1:])
