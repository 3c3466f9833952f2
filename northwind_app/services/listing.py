"""Paginated, sorted, searched lists, done in SQL. Every list (API and screens) uses this."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session

from northwind_app.services.errors import ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 500
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class ListParams:
    limit: int = 25
    offset: int = 0
    sort: str | None = None  # "field" ascending, "-field" descending
    search: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    def validated(self) -> ListParams:
        errors = {}
        if not 1 <= self.limit <= MAX_LIMIT:
            errors["limit"] = f"must be between 1 and {MAX_LIMIT}"
        if self.offset < 0:
            errors["offset"] = "must be 0 or more"
        if errors:
            raise ValidationFailed(errors)
        return self


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        return self.offset + len(self.items)


def sort_clauses(
    sort: str | None,
    columns: Mapping[str, ColumnElement],
    default: str,
    tie_breaker: ColumnElement,
) -> list:
    """ORDER BY for "field"/"-field" from a whitelist; the id breaks ties (stable paging)."""
    key = (sort or default).strip()
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in columns:
        raise ValidationFailed({"sort": f"unknown sort field {name!r}; use one of: "
                                        f"{', '.join(sorted(columns))} (prefix - for descending)"})
    column = columns[name]
    if descending:
        return [column.desc(), tie_breaker.desc()]
    return [column.asc(), tie_breaker.asc()]


def search_clause(text: str | None, columns: Sequence[ColumnElement]) -> ColumnElement | None:
    """Case-insensitive "contains" over several columns; LIKE wildcards in the text are literal."""
    text = (text or "").strip()
    if not text:
        return None
    return or_(*(column.contains(text, autoescape=True) for column in columns))


def fetch_page(
    session: Session,
    stmt: Select,
    params: ListParams,
    order_by: list,
    row: Callable[[Any], T],
    count_stmt: Select | None = None,
) -> Page[T]:
    """Run `stmt` for one page and count all matches (`count_stmt` or the statement's rows)."""
    params = params.validated()
    rows = session.execute(stmt.order_by(*order_by).limit(params.limit).offset(params.offset)).all()
    if count_stmt is None:
        count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = session.execute(count_stmt).scalar_one()
    return Page(items=[row(r) for r in rows], total=total, limit=params.limit, offset=params.offset)
