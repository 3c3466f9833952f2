"""Property-based run of Schemathesis against the API's own OpenAPI schema, over HTTP, on a
SQLite copy of the classic data. Bounded and deterministic so that it takes well under a
minute: it fails on any 5xx, on any response (status, content type, body) the schema does not
describe, and on any request the schema forbids that the API accepts anyway.

The schema is built in-process at collection time (it needs no database) so that each
operation is its own test; `test_served_schema_is_the_fuzzed_one` checks it is exactly what
the server publishes. (Schemathesis' lazy `from_fixture` loader does not work with pytest 9.)
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance, negative_data_rejection, not_a_server_error,
    response_schema_conformance, status_code_conformance,
)

from northwind_app.api.app import create_api
from northwind_app.data.classic import load_classic
from northwind_app.db.engine import get_engine
from tests import dbutil
from tests.api.server import serve

CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": 100, "deterministic": True},
})
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory) -> Iterator[str]:
    db = dbutil.TestDatabase("sqlite", tmp_path_factory.mktemp("fuzz")).migrate()
    with get_engine(db.url).begin() as conn:
        load_classic(conn, dbutil.CLASSIC_DIR)
    with serve(create_api(database_url=db.url)) as base_url:
        yield base_url
    db.drop()


OPENAPI = create_api().openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


def test_served_schema_is_the_fuzzed_one(fuzz_server):
    assert httpx.get(f"{fuzz_server}/api/openapi.json").json() == OPENAPI


@schema.parametrize()
def test_api_matches_its_schema(case, fuzz_server):
    case.call_and_validate(base_url=fuzz_server, checks=CHECKS)
