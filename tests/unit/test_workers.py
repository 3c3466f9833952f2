"""The README documents GRANIAN_WORKERS as the number of worker processes the app runs with
Redis: Reflex's production server must still read it."""

from __future__ import annotations

import inspect

from reflex.utils import exec as reflex_exec


def test_reflex_reads_the_documented_worker_count():
    # A Reflex upgrade that stopped reading it would make the README's setting do nothing.
    assert 'os.getenv("GRANIAN_WORKERS"' in inspect.getsource(
        reflex_exec.run_granian_backend_prod)
