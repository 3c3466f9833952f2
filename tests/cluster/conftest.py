"""The production topology on loopback for the proofs of issue #26 (tests/cluster/harness.py):
3 Galera nodes, 2 app processes (one worker each, one Redis database, one secret key) on
nodes 1 and 2, haproxy in front. One topology for the whole session (it takes a minute or
more to start: the cluster, the release's one frontend build in .web-test-cluster (once,
`python -m northwind_app.serve build`), then the app processes, each serving its copy of that
build, .web-test-cluster-1 and -2, in prebuilt mode).

Without galera-4, haproxy, rsync or mariadb-server the tests skip, with the reason in
capitals in the summary; under NORTHWIND_REQUIRE_GALERA=1 (CI, .ci/run) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from northwind_app.db.engine import dispose_engine
from tests.browser.conftest import browser  # noqa: F401 - the shared Chromium fixture
from tests.cluster.harness import Topology, missing_programs, topology
from tests.prodserver import own_redis_db

REQUIRE = os.environ.get("NORTHWIND_REQUIRE_GALERA") == "1"


def require_programs() -> None:
    if missing := missing_programs():
        message = (f"GALERA TOPOLOGY TESTS NOT RUN: {', '.join(missing)} not installed "
                   f"(apt-get install {' '.join(missing)})")
        if REQUIRE:
            pytest.fail(message + " (NORTHWIND_REQUIRE_GALERA=1)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def cluster_topology(tmp_path_factory) -> Iterator[Topology]:
    require_programs()
    root = tmp_path_factory.mktemp("cluster")
    web = os.environ.get("NORTHWIND_TEST_CLUSTER_WEB_WORKDIR", ".web-test-cluster")
    with own_redis_db() as redis_url, topology(root, redis_url, web_workdir=web) as top:
        yield top
        for node in top.cluster.nodes:
            dispose_engine(node.url())
