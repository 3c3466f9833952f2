"""Runtime configuration, read once from the environment.

| variable | meaning | default |
|---|---|---|
| NORTHWIND_DATABASE_URL | SQLAlchemy URL of the database | SQLite file `northwind.db` in the project |
| NORTHWIND_CORS_ORIGINS | comma-separated origins allowed to call the API | none besides the app itself |
| NORTHWIND_DEMO_ORDERS | orders generated on first run of an empty embedded database | 5000 |
| NORTHWIND_SECRET_KEY | secret that keys the stored digests of session and API tokens | generated into `.northwind-secret` |
| NORTHWIND_SECRET_FILE | where the generated secret is kept when NORTHWIND_SECRET_KEY is unset | `<project>/.northwind-secret` |
| NORTHWIND_SESSION_HOURS | a signed-in browser is signed out after this many idle hours | 8 |
| NORTHWIND_SESSION_MAX_DAYS | ... and after this many days whatever its activity | 7 |
| NORTHWIND_API_THREADS | API requests a worker process runs at once (more wait their turn) | 4 |
| NORTHWIND_MAX_BODY_BYTES | largest API request body (413 above) and websocket message accepted | 1048576 (1 MiB) |
| NORTHWIND_BIND | address the server listens on (`0.0.0.0`: every interface) | 127.0.0.1 |
| NORTHWIND_DB_CONNECT_TIMEOUT | MySQL/MariaDB: seconds to connect (and be greeted) before the database counts as down | 5 |
| NORTHWIND_DB_READ_TIMEOUT | MySQL/MariaDB: seconds to wait for any answer of the server (not for bulk loads) | 30 |
| NORTHWIND_DB_WRITE_TIMEOUT | MySQL/MariaDB: seconds to wait for the server to take a request (not for bulk loads) | 30 |
| NORTHWIND_DB_LOCK_WAIT_TIMEOUT | MySQL/MariaDB: seconds a statement waits for a row lock (kept below the read timeout) | 10 |
| NORTHWIND_HEALTH_TIMEOUT | seconds /api/health waits for the database before answering 503 | 2 |
| NORTHWIND_WRITE_ATTEMPTS | tries of a write transaction that deadlocks or times out on a lock | 20 |
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "northwind.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
DEFAULT_SECRET_FILE = PROJECT_ROOT / ".northwind-secret"

log = logging.getLogger(__name__)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _seconds(name: str, default: float) -> float:
    value = float(os.environ.get(name) or default)
    if not 0 < value <= 31536000:  # PyMySQL's own bounds
        raise ValueError(f"{name} must be a number of seconds above 0, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("NORTHWIND_DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    cors_origins: list[str] = field(
        default_factory=lambda: _csv(os.environ.get("NORTHWIND_CORS_ORIGINS"))
    )
    demo_orders: int = field(
        default_factory=lambda: int(os.environ.get("NORTHWIND_DEMO_ORDERS", "5000"))
    )

    session_idle_hours: float = field(
        default_factory=lambda: float(os.environ.get("NORTHWIND_SESSION_HOURS", "8"))
    )
    session_max_days: float = field(
        default_factory=lambda: float(os.environ.get("NORTHWIND_SESSION_MAX_DAYS", "7"))
    )
    api_threads: int = field(
        default_factory=lambda: max(1, int(os.environ.get("NORTHWIND_API_THREADS", "4")))
    )
    lean_reads: bool = field(
        default_factory=lambda: os.environ.get("NORTHWIND_LEAN_READS", "1").strip() != "0"
    )
    # The lean reads on the event loop through asyncmy (db/loop_reads.py), where they apply.
    loop_reads: bool = field(
        default_factory=lambda: os.environ.get("NORTHWIND_LOOP_READS", "1").strip() != "0"
    )
    max_body_bytes: int = field(
        default_factory=lambda: max(1, int(os.environ.get("NORTHWIND_MAX_BODY_BYTES", "1048576")))
    )
    bind_host: str = field(
        default_factory=lambda: os.environ.get("NORTHWIND_BIND", "").strip() or "127.0.0.1"
    )
    # Fail fast on a dead or hung database (db/engine.py): MySQL/MariaDB socket timeouts.
    db_connect_timeout: float = field(
        default_factory=lambda: _seconds("NORTHWIND_DB_CONNECT_TIMEOUT", 5))
    db_read_timeout: float = field(
        default_factory=lambda: _seconds("NORTHWIND_DB_READ_TIMEOUT", 30))
    db_write_timeout: float = field(
        default_factory=lambda: _seconds("NORTHWIND_DB_WRITE_TIMEOUT", 30))
    db_lock_wait_timeout: int = field(
        default_factory=lambda: max(1, int(_seconds("NORTHWIND_DB_LOCK_WAIT_TIMEOUT", 10))))
    health_timeout: float = field(
        default_factory=lambda: _seconds("NORTHWIND_HEALTH_TIMEOUT", 2))
    # Tries of a write transaction that conflicted (db/engine.py write_transaction).
    write_attempts: int = field(
        default_factory=lambda: max(1, int(os.environ.get("NORTHWIND_WRITE_ATTEMPTS", "20"))))
    secret_file: Path = field(
        default_factory=lambda: Path(os.environ.get("NORTHWIND_SECRET_FILE") or DEFAULT_SECRET_FILE)
    )

    @property
    def is_default_database(self) -> bool:
        return self.database_url == DEFAULT_DATABASE_URL

    def secret_key(self) -> bytes:
        """NORTHWIND_SECRET_KEY, or a random secret generated once into `secret_file` (mode
        0600, never committed). Every worker and host serving one database must share it:
        changing it signs everyone out and invalidates every API token."""
        configured = os.environ.get("NORTHWIND_SECRET_KEY")
        if configured:
            return configured.encode()
        return _secret_from_file(self.secret_file, warn=not self.is_default_database)


_secret_cache: dict[Path, bytes] = {}


def _secret_from_file(path: Path, *, warn: bool) -> bytes:
    if path in _secret_cache:
        return _secret_cache[path]
    if not path.exists():
        # Written to a private temporary file, then linked into place: os.link fails if the
        # file exists, so of several workers starting at once exactly one secret wins and
        # nobody ever reads a half-written file.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        else:
            if warn:
                log.warning("NORTHWIND_SECRET_KEY is not set: generated a secret in %s. Set it "
                            "in production so every worker and host shares one secret.", path)
        finally:
            tmp.unlink()
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"The secret file {path} is empty; delete it or set NORTHWIND_SECRET_KEY.")
    _secret_cache[path] = value.encode()
    return _secret_cache[path]


settings = Settings()
