"""Headline counts for the home view and the health check."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlmodel import Session

from northwind_app.db.models import Customer, Product
from northwind_app.services.orders import count_all_orders


def entity_counts(session: Session) -> dict[str, int]:
    return {
        "orders": int(session.execute(count_all_orders()).scalar_one()),
        "customers": session.execute(select(func.count()).select_from(Customer)).scalar_one(),
        "products": session.execute(select(func.count()).select_from(Product)).scalar_one(),
    }


def database_ping(session: Session) -> None:
    session.execute(text("SELECT 1")).scalar_one()
