"""The README documents GRANIAN_WORKERS as the number of worker processes the app runs with
Redis: Reflex's production server must still start that many."""

from __future__ import annotations

import granian.server
import pytest
from reflex.constants import LogLevel
from reflex.utils import exec as reflex_exec


@pytest.mark.parametrize("workers", [1, 5])
def test_reflex_starts_the_documented_worker_count(monkeypatch, workers):
    # A Reflex upgrade that stopped reading it would make the README's setting do nothing.
    built: list[dict] = []

    class RecordingServer:
        """Granian's server as Reflex builds it, recorded instead of served."""

        def __init__(self, *args, **kwargs):
            built.append(kwargs)

        def serve(self) -> None:
            pass

    monkeypatch.setattr(granian.server, "Server", RecordingServer)
    # No fork preparation in the test process (it would freeze its heap).
    monkeypatch.setattr(reflex_exec, "_backend_start_method", lambda: None)
    monkeypatch.setenv("GRANIAN_WORKERS", str(workers))
    reflex_exec.run_granian_backend_prod("127.0.0.1", 1, LogLevel.INFO,
                                         app_target="northwind_app.serve:main")
    assert [kwargs["workers"] for kwargs in built] == [workers]
