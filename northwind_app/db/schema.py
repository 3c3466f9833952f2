"""What the live database says about its own schema, read once per database."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

_COLLATIONS: dict[str, dict[str, str]] = {}  # by database URL: "table.column" -> collation
_LOCK = threading.Lock()


def column_name(column: Any) -> str:
    """"table.column" of a table's column (or an ORM attribute mapped to one)."""
    return f"{column.table.name}.{column.key}"


def column_collations(session: Session, columns: Sequence[Any]) -> dict[str, str] | None:
    """The collations of `columns` ("table.column": name) on MariaDB/MySQL, read from
    information_schema once per database; None on SQLite, whose LIKE is the same for every
    column. Each name is checked to be a plain name (callers write it into SQL, COLLATE) and
    to be there (the database is migrated): RuntimeError otherwise."""
    bind = session.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return None
    url = bind.engine.url.render_as_string()
    wanted = [column_name(column) for column in columns]
    known = _COLLATIONS.get(url, {})
    if any(name not in known for name in wanted):
        tables = sorted({name.split(".")[0] for name in wanted})
        found = {f"{table}.{column}": collation for table, column, collation in session.execute(
            text("SELECT table_name, column_name, collation_name "
                 "FROM information_schema.columns WHERE table_schema = DATABASE() "
                 "AND table_name IN :tables")
            .bindparams(bindparam("tables", tables, expanding=True)))}
        for name in wanted:
            if not (found.get(name) or "").replace("_", "").isalnum():
                raise RuntimeError(f"unexpected collation {found.get(name)!r} of {name}")
        with _LOCK:
            known = _COLLATIONS[url] = {**_COLLATIONS.get(url, {}),
                                        **{name: found[name] for name in wanted}}
    return {name: known[name] for name in wanted}
