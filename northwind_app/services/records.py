"""Small helpers shared by the entity services: one row as a dict, counted nouns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlmodel import Session

from northwind_app.services.errors import NotFound


def fetch_one(session: Session, stmt: Select, not_found: str) -> dict[str, Any]:
    """The single row of `stmt` as a dict; NotFound(`not_found`) when there is none."""
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(not_found)
    return dict(row._mapping)


def plural(count: int, noun: str) -> str:
    """"1 order", "6 orders"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
