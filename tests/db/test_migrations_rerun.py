"""Every migration can be run again after it failed halfway (issue #26).

MariaDB (and MySQL) commit each DDL statement at once: a migration that fails after some of
its steps leaves those done and its revision not recorded, and `alembic upgrade head` then
starts it again. Each test brings a database to the revision before one migration, applies
only the first k statements of that migration and then fails it (the first k are
committed, as MariaDB has committed each DDL statement; `alembic_version` is not updated),
then runs `alembic upgrade head` and compares the schema
(SHOW CREATE of every table, view and trigger; SQLite: sqlite_master) with a clean
migration's.

SQLite runs a migration's DDL in its transaction (a failure leaves nothing), so a SQLite
state can only be cut between whole steps: not inside batch mode's rebuild of a table (copy,
drop, rename, indexes), which the cuts skip there. On SQLite every cut point is tried; on
MariaDB (a few seconds per database) five, evenly spread.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.ddl.impl import DefaultImpl
from alembic.script import ScriptDirectory

from northwind_app.db.engine import dispose_engine
from northwind_app.db.migrations import alembic_config
from tests import dbutil
from tests.conftest import BACKENDS
from tests.db.test_schema import _schema

REVISIONS = [script.revision for script in
             reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


class _Stop(Exception):
    """The failure injected after the k-th statement."""


class _Cut:
    """Patches Alembic's one statement executor: records each statement and, once `limit`
    have run, commits them (as MariaDB has committed every DDL statement) and fails."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, limit: int | None = None):
        self.limit, self.statements = limit, []
        real = DefaultImpl._exec

        def _exec(impl, construct, *args, **kwargs):
            text = str(construct if isinstance(construct, str)
                       else construct.compile(dialect=impl.dialect)).strip()
            self.statements.append(text)
            if self.limit is not None and len(self.statements) > self.limit:
                impl.connection.commit()
                raise _Stop(text)
            return real(impl, construct, *args, **kwargs)

        monkeypatch.setattr(DefaultImpl, "_exec", _exec)


def _upgrade(url: str, target: str) -> None:
    command.upgrade(alembic_config(url), target)
    dispose_engine(url)


def _previous(revision: str) -> str:
    index = REVISIONS.index(revision)
    return REVISIONS[index - 1] if index else "base"


def _consistent_cuts(statements: list[str], sqlite: bool) -> list[int]:
    """Numbers k of statements after which the migration may have stopped (0 ≤ k < all;
    the last statement records the revision)."""
    cuts = set(range(len(statements)))
    if sqlite:
        for start, text in enumerate(statements):
            if text.upper().startswith("CREATE TABLE _ALEMBIC_TMP_"):
                end = start
                while not statements[end].upper().startswith("ALTER TABLE _ALEMBIC_TMP_"):
                    end += 1
                while end + 1 < len(statements) and \
                        statements[end + 1].upper().startswith(("CREATE INDEX", "CREATE UNIQUE")):
                    end += 1
                cuts -= set(range(start + 1, end + 1))  # after part of the rebuild
    return sorted(cuts)


@pytest.fixture(scope="module", params=BACKENDS)
def clean(request, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """(backend, the schema of a database brought to head by every migration)."""
    dbutil.require_backend(request.param)
    db = dbutil.TestDatabase(request.param, tmp_path_factory.mktemp("rerun"),
                             prefix="nw_rerun").run_migrations()
    yield request.param, _schema(db.url)
    db.drop()


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_migration_stopped_after_any_step_completes_on_the_next_run(
        clean, revision, tmp_path, monkeypatch):
    backend, expected = clean
    sqlite = backend == "sqlite"

    def database_before() -> dbutil.TestDatabase:
        db = dbutil.TestDatabase(backend, tmp_path, prefix="nw_rerun")
        _upgrade(db.url, _previous(revision))
        return db

    # The migration's statements, from a clean run of it.
    db = database_before()
    with monkeypatch.context() as patch:
        counted = _Cut(patch)
        _upgrade(db.url, revision)
    db.drop()
    cuts = _consistent_cuts(counted.statements, sqlite)
    assert cuts and len(counted.statements) >= 2, counted.statements
    if not sqlite:  # five, evenly spread, the first after one statement
        cuts = sorted({cuts[min(len(cuts) - 1, 1 + (len(cuts) - 2) * i // 4)] for i in range(5)})
    for cut in cuts:
        db = database_before()
        try:
            with monkeypatch.context() as patch, pytest.raises(_Stop):
                stopped = _Cut(patch, limit=cut)
                _upgrade(db.url, revision)
            dispose_engine(db.url)
            assert len(stopped.statements) == cut + 1  # stopped before statement cut + 1
            partial = _schema(db.url)
            assert partial["revision"] == (None if revision == REVISIONS[0]
                                           else _previous(revision))
            _upgrade(db.url, "head")  # runs the stopped migration again, then the rest
            assert _schema(db.url) == expected, \
                f"{revision} stopped after statement {cut}: {counted.statements[cut - 1]!r}"
        finally:
            db.drop()


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_completed_migration_runs_again_unchanged(clean, revision, tmp_path):
    """Each upgrade, run a second time over its own result (its revision set back), changes
    nothing: every step finds itself done."""
    backend, expected = clean
    db = dbutil.TestDatabase(backend, tmp_path, prefix="nw_rerun")
    try:
        _upgrade(db.url, revision)
        command.stamp(alembic_config(db.url), _previous(revision), purge=True)
        dispose_engine(db.url)
        _upgrade(db.url, "head")
        assert _schema(db.url) == expected
    finally:
        db.drop()
