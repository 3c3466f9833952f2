"""Runtime configuration, read once from the environment.

| variable | meaning | default |
|---|---|---|
| NORTHWIND_DATABASE_URL | SQLAlchemy URL of the database | SQLite file `northwind.db` in the project |
| NORTHWIND_CORS_ORIGINS | comma-separated origins allowed to call the API | none besides the app itself |
| NORTHWIND_DEMO_ORDERS | orders generated on first run of an empty embedded database | 5000 |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "northwind.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


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

    @property
    def is_default_database(self) -> bool:
        return self.database_url == DEFAULT_DATABASE_URL


settings = Settings()
