"""The lean read path (api/lean.py) answers GET /api/orders and GET /api/orders/{id} with
exactly what FastAPI's routes answer: the same status, the same bytes, the same headers; and
everything it does not answer itself (errors of every kind) reaches FastAPI."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from northwind_app.api import app as api_app
from northwind_app.api import lean
from northwind_app.api.app import create_api
from northwind_app.settings import settings
from tests.api.server import UNKNOWN_TOKEN, api_client, demo_tokens


@pytest.fixture
def answered_lean(monkeypatch) -> list[int]:
    """The number of responses the lean path wrote (a one-item list, counted as it goes)."""
    count = [0]
    write = lean._json

    def counted(body):
        count[0] += 1
        return write(body)

    monkeypatch.setattr(lean, "_json", counted)
    return count


def _fastapi_only(url: str):
    """The API without the lean path (NORTHWIND_LEAN_READS=0)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_app, "settings", dataclasses.replace(settings, lean_reads=False))
        return create_api(database_url=url)


@pytest.fixture
def both(classic_db) -> Iterator[tuple[httpx.Client, httpx.Client, str, str]]:
    """Clients of the API with the lean path (default) and without it, on one database that
    tests may change, the admin's token and the database's URL."""
    token = demo_tokens(classic_db)["admin"]
    with api_client(classic_db, token=token) as lean_client, \
            api_client(classic_db, _fastapi_only(classic_db), token=token) as plain_client:
        yield lean_client, plain_client, token, classic_db


def _same(lean_client: httpx.Client, plain_client: httpx.Client, path: str,
          headers: dict[str, str] | None = None) -> httpx.Response:
    a = lean_client.get(path, headers=headers)
    b = plain_client.get(path, headers=headers)
    assert (a.status_code, a.content) == (b.status_code, b.content), path
    for name in ("content-type", "content-length", "etag", "www-authenticate"):
        assert a.headers.get(name) == b.headers.get(name), (path, name)
    assert [k for k, _ in a.headers.raw] == [k for k, _ in b.headers.raw], path
    return a


def test_the_lean_reads_answer_what_fastapi_answers(both, answered_lean):
    lean_client, plain_client, *_ = both
    first = _same(lean_client, plain_client, "/api/orders?limit=50").json()
    assert len(first["items"]) == 50 and first["total"] == 830 and first["next_cursor"]
    served = answered_lean[0]
    assert served == 1  # that one was the lean path's
    cursor = quote(first["next_cursor"])
    for path in (
        "/api/orders", "/api/orders?limit=500", "/api/orders?limit=1&offset=829",
        "/api/orders?sort=order_id&limit=7", "/api/orders?sort=-total&offset=100",
        "/api/orders?sort=customer&limit=30", "/api/orders?sort=-status", "/api/orders?status=new",
        "/api/orders?q=ab&status=shipped", "/api/orders?customer_id=vinet",
        "/api/orders?date_from=1997-01-01&date_to=1997-02-01&employee_id=4",
        f"/api/orders?limit=50&after={cursor}", "/api/orders?shipper_id=3&product_id=11",
        "/api/orders?limit=2&limit=3", "/api/orders?unknown=1",
        "/api/orders/10248", "/api/orders/11077", "/api/orders/010248",
    ):
        _same(lean_client, plain_client, path)
    assert answered_lean[0] == served + 18


def test_deep_pages_by_a_cursor_answer_what_fastapi_answers(both, answered_lean):
    # The benchmark's deep page (bench/peer.py): the page after the one ending at row 415,
    # found by its cursor; and a cursor of another sort. Read in one statement (MariaDB).
    lean_client, plain_client, *_ = both
    for sort in ("", "&sort=-total", "&sort=ship_country"):
        before = plain_client.get(f"/api/orders?limit=50&offset=365{sort}").json()
        deep = _same(lean_client, plain_client,
                     f"/api/orders?limit=50&after={quote(before['next_cursor'])}{sort}").json()
        by_offset = plain_client.get(f"/api/orders?limit=50&offset=415{sort}").json()
        assert deep["items"] == by_offset["items"] and deep["total"] == 830
        _same(lean_client, plain_client,
              f"/api/orders?limit=50&after={quote(deep['next_cursor'])}{sort}")
    assert answered_lean[0] == 6


def test_what_the_lean_path_refuses_is_fastapis_answer(both, answered_lean):
    lean_client, plain_client, *_ = both
    for path in (
        "/api/orders?limit=0", "/api/orders?limit=x", "/api/orders?sort=bogus",
        "/api/orders?offset=-1", "/api/orders?after=!!", "/api/orders?after=abc&offset=5",
        "/api/orders?status=lost", "/api/orders/99999", "/api/orders/0",
        "/api/orders/2147483648", "/api/orders/99999999999", "/api/orders/%2B7",
        "/api/orders/%207", "/api/orders/7%0A", "/api/orders/",
    ):
        _same(lean_client, plain_client, path)
    for headers in ({"Authorization": "Bearer " + UNKNOWN_TOKEN}, {"Authorization": "Basic x"},
                    {"Authorization": "Bearer a b"}, {"Authorization": ""}):
        _same(lean_client, plain_client, "/api/orders", headers)
        _same(lean_client, plain_client, "/api/orders/10248", headers)
    assert answered_lean[0] == 0


def test_the_lean_path_without_a_cached_token_looks_it_up(both, answered_lean):
    from northwind_app.services import auth

    lean_client, plain_client, *_ = both
    auth.token_cache.forget()
    _same(lean_client, plain_client, "/api/orders/10250")
    assert answered_lean[0] == 1


def test_a_cancelled_order_reads_alike(both, answered_lean):
    lean_client, plain_client, *_ = both
    created = lean_client.post("/api/orders", json={
        "customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04",
        "lines": [{"product_id": 11, "quantity": 1, "discount": "0.15"}]})
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    assert lean_client.post(f"/api/orders/{order_id}/cancel").status_code == 200
    body = _same(lean_client, plain_client, f"/api/orders/{order_id}").json()
    assert body["cancelled_at"] and body["status"] == "cancelled"
    assert body["lines"][0]["discount"] == "0.15"
    _same(lean_client, plain_client, "/api/orders?status=cancelled")
    assert answered_lean[0] == 2


def test_other_methods_and_paths_are_fastapis(both, answered_lean):
    lean_client, plain_client, token, _ = both
    a = lean_client.head("/api/orders/10248")
    b = plain_client.head("/api/orders/10248")
    assert (a.status_code, a.headers.get("etag")) == (b.status_code, b.headers.get("etag"))
    _same(lean_client, plain_client, "/api/orders/customer/VINET")
    _same(lean_client, plain_client, "/api/orders/10248/history")
    _same(lean_client, plain_client, "/api/customers?limit=5")
    assert lean_client.get("/api/orders/export.csv").text == \
        plain_client.get("/api/orders/export.csv").text
    assert answered_lean[0] == 0


def test_on_mariadb_the_reads_run_on_the_event_loop_with_the_same_answers(both, answered_lean):
    # db/loop_reads.py: with a cached token, a read whose statements have their plans runs
    # on the loop through asyncmy; the answers are the thread path's, byte for byte.
    from northwind_app.db.loop_reads import loop_reads

    lean_client, plain_client, *_ = both
    url = str(lean_client.get("/api/health").request.url)  # (the token gets cached below)
    reads = loop_reads(_url_of(both))
    if reads is None:
        pytest.skip("reads on the event loop are for MariaDB/MySQL on this machine")
    paths = ["/api/orders?limit=50", "/api/orders?sort=-total&limit=20",
             "/api/orders?status=shipped&q=ab", "/api/orders/10248", "/api/orders/11077"]
    for _ in range(2):  # the first time, each statement is met (its plan comes the second)
        for path in paths:
            _same(lean_client, plain_client, path)
    on_loop = []
    for path in paths:
        before = reads.served
        _same(lean_client, plain_client, path)
        if reads.served == before + 1:
            on_loop.append(path)
    # A search builds statements for its request (never kept, so never planned): a thread's.
    assert on_loop == [path for path in paths if "q=" not in path], url
    # A refusal on the loop is FastAPI's answer.
    before = reads.served
    _same(lean_client, plain_client, "/api/orders/99999")
    assert reads.served == before and answered_lean[0] == 3 * len(paths)


def _url_of(both) -> str:
    return both[3]


def test_a_broken_loop_connection_is_dropped_and_the_read_done_in_a_thread(both, monkeypatch):
    # A loop connection the server closed (a restart, a failover, KILL) is not used again and
    # the client sees the normal answer; a driver error on the loop closes that connection
    # and the same read runs in a thread.
    import pymysql
    from sqlalchemy.engine import make_url

    from northwind_app.db import loop_reads as loop

    lean_client, plain_client, *_ = both
    reads = loop.loop_reads(_url_of(both))
    if reads is None:
        pytest.skip("reads on the event loop are for MariaDB/MySQL on this machine")
    for _ in range(3):
        _same(lean_client, plain_client, "/api/orders/10248")
    (pool,) = reads.pools.values()
    killed = {connection.thread_id() for connection in pool._free}  # asyncmy's idle ones
    assert killed
    url = make_url(_url_of(both))
    admin = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                            password=url.password or "")
    try:
        with admin.cursor() as cursor:
            for thread_id in killed:
                cursor.execute(f"KILL CONNECTION {int(thread_id)}")
    finally:
        admin.close()
    _same(lean_client, plain_client, "/api/orders/10248")
    _same(lean_client, plain_client, "/api/orders/10249")
    assert not {connection.thread_id() for connection in pool._free} & killed

    used = []
    execute = loop._LoopCursor.execute

    def failing(self, sql):
        used.append(self)
        raise pymysql.err.OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(loop._LoopCursor, "execute", failing)
    served = reads.served
    _same(lean_client, plain_client, "/api/orders/10250")  # in a thread: the same answer
    assert reads.served == served and len(used) == 1
    monkeypatch.setattr(loop._LoopCursor, "execute", execute)
    assert all(connection.thread_id() not in killed for connection in pool._free)
    _same(lean_client, plain_client, "/api/orders/10250")
    assert reads.served == served + 1


def test_a_model_the_encoder_does_not_know_is_refused():
    from pydantic import BaseModel

    class Odd(BaseModel):
        values: dict[str, int]

    with pytest.raises(TypeError, match="Odd.values"):
        lean.ModelEncoder(Odd)


def test_the_setting_turns_the_lean_path_off(classic_db_ro):
    def lean_middleware(api):
        return [m for m in api.user_middleware if m.cls is lean.LeanReads]

    assert lean_middleware(create_api(database_url=classic_db_ro))
    assert not lean_middleware(_fastapi_only(classic_db_ro))


def test_the_encoder_reads_a_dataclass_of_the_models_fields_by_its_dict():
    # An object holding just the model's fields, in its order, is encoded from its own dict;
    # any other (other order, more or fewer attributes) field by field: the same values.
    import datetime as dt
    from decimal import Decimal

    from pydantic import BaseModel

    from northwind_app.api.schemas import MoneyOut

    class Model(BaseModel):
        a: int
        day: dt.date | None
        total: MoneyOut

    @dataclasses.dataclass
    class Same:
        a: int
        day: dt.date | None
        total: Decimal

    @dataclasses.dataclass
    class Reordered:
        total: Decimal
        a: int
        day: dt.date | None

    @dataclasses.dataclass
    class More:
        a: int
        day: dt.date | None
        total: Decimal
        extra: str = "x"

    encode = lean.ModelEncoder(Model)
    want = {"a": 1, "day": dt.date(1998, 5, 1), "total": "12.50"}
    for obj in (Same(1, dt.date(1998, 5, 1), Decimal("12.5")),
                Reordered(Decimal("12.5"), 1, dt.date(1998, 5, 1)),
                More(1, dt.date(1998, 5, 1), Decimal("12.5"))):
        got = encode(obj)
        assert got == want and list(got) == list(want), type(obj).__name__
        assert lean._json(got) == Model(a=1, day=dt.date(1998, 5, 1), total=Decimal("12.5")) \
            .model_dump_json().encode()
    assert encode.same == {Same: True, Reordered: False}
    odd = Same(1, None, Decimal("1"))
    odd.later = 2  # one attribute more than the class's: read field by field
    assert encode(odd) == {"a": 1, "day": None, "total": "1.00"}
