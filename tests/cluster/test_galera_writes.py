"""Writes on the Galera topology (issue #26): 3 nodes, app process 1 on node 1 and 2 on node 2,
haproxy in front (tests/cluster/conftest.py).

- Concurrent orders for one low-stock product written through different nodes: exactly the
  feasible number succeed, the others get the clear 409 (not enough stock), never a 503, and
  stock ends at 0, never negative. Galera's first committer wins; the loser's COMMIT fails
  with 1213, which the transaction runner retries (db/engine.py write_transaction).
- A Galera node is SIGKILLed while 20 clients create and edit orders through haproxy: no
  acknowledged order or edit is lost, no order is partial, stock equals a recomputation from
  the lines and is never negative, the rollups equal a rebuild, the audit trail has one entry
  per change; the node rejoins from its recovered position by IST, and CHECKSUM TABLE agrees
  on all three nodes.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict

import httpx
from sqlalchemy import func, select, update

from northwind_app.db import engine as db_engine
from northwind_app.db.engine import get_engine, health_check, session_scope
from northwind_app.db.models import AuditEntry, Order, OrderDetail, Product
from northwind_app.services import rollups
from northwind_app.services.errors import WriteConflict
from tests.api.server import bearer, demo_tokens

ORDER_DATE = "2026-07-04"


def _order(customer: str, lines: dict[int, int]) -> dict:
    return {"customer_id": customer, "employee_id": 5, "order_date": ORDER_DATE, "ship_via": 3,
            "freight": "1.00", "lines": _lines(lines)}


def _lines(lines: dict[int, int]) -> list[dict]:
    return [{"product_id": pid, "quantity": qty, "discount": "0"} for pid, qty in lines.items()]


def _new_customer(base: str, token: str, customer_id: str) -> None:
    with httpx.Client(base_url=base, timeout=60, headers=bearer(token)) as http:
        response = http.post("/api/customers", json={"customer_id": customer_id,
                                                     "company_name": f"Galera {customer_id}"})
        assert response.status_code in (201, 409), response.text


def _set_stock(db_url: str, stock: dict[int, int]) -> None:
    with session_scope(db_url, write=True) as session:
        for pid, units in stock.items():
            session.execute(update(Product).where(Product.product_id == pid)
                            .values(units_in_stock=units))


def _line_sums(session, pids) -> dict[int, int]:
    return dict(session.execute(
        select(OrderDetail.product_id, func.sum(OrderDetail.quantity))
        .where(OrderDetail.product_id.in_(pids)).group_by(OrderDetail.product_id)).all())


def test_orders_for_one_low_stock_product_through_two_nodes_succeed_exactly_as_stock_allows(
        cluster_topology):
    top = cluster_topology
    tokens = demo_tokens(top.db_url)
    product, stock, clients = 2, 6, 16
    customer = "GALRC"
    _new_customer(top.base, tokens["admin"], customer)
    _set_stock(top.db_url, {product: stock})
    with session_scope(top.db_url) as session:
        lines_before = _line_sums(session, [product]).get(product, 0)
    conflicts_before = _conflicts(top)
    start = threading.Barrier(clients)
    results: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        app = top.apps[i % 2]  # app 1 → node 1, app 2 → node 2
        with httpx.Client(base_url=app.base, timeout=120, headers=bearer(tokens["sales"])) as http:
            start.wait()
            response = http.post("/api/orders", json=_order(customer, {product: 1}))
        with lock:
            results.append((app.base, response.status_code, response.json()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(status for _, status, _ in results)
    by_app = Counter((base, status) for base, status, _ in results)
    print(f"\n{clients} orders of 1 for {stock} in stock through 2 nodes: {dict(statuses)}; "
          f"{dict(by_app)}")
    assert statuses == {201: stock, 409: clients - stock}, results
    refusals = [body for _, status, body in results if status == 409]
    for body in refusals:  # the stock refusal, not "kept conflicting" (nor an outage)
        assert body["error"]["code"] == "conflict", body
        assert body["error"]["message"].startswith("Not enough stock"), body
        assert body["error"]["message"] != WriteConflict.MESSAGE
    print(f"transactions that lost a conflict between nodes (retried): "
          f"{_conflicts(top) - conflicts_before}")
    for node in top.cluster.nodes:  # every node agrees (causal reads: wsrep_sync_wait)
        with session_scope(node.url()) as session:
            units = session.execute(select(Product.units_in_stock)
                                    .where(Product.product_id == product)).scalar_one()
            ordered = _line_sums(session, [product]).get(product, 0) - lines_before
        assert (units, ordered) == (0, stock), node.name


def _conflicts(top, nodes=(0, 1, 2)) -> int:
    """Galera's count so far of transactions that lost a conflict with another node's: failed
    certification at COMMIT, or aborted by a replicated write ("brute force"); each one
    reached the app as error 1213, and the transaction runner ran it again."""
    return sum(int(top.cluster.nodes[i].status(name) or 0) for i in nodes
               for name in ("wsrep_local_cert_failures", "wsrep_local_bf_aborts"))


def test_a_write_through_one_node_is_read_at_once_through_another(cluster_topology):
    """Read-your-writes across nodes (the save handled by one app host, the page the
    redirect opens by another): an order created through app 1 (node 1) and then edited is
    read back at once through app 2 (node 2), every time. The nodes run with
    wsrep_sync_wait=1 (deploy/galera-node.cnf); without it node 2 may not yet have applied
    the commit."""
    top = cluster_topology
    tokens = demo_tokens(top.db_url)
    _new_customer(top.base, tokens["admin"], "GALRR")
    _set_stock(top.db_url, {14: 100_000})
    one, two = (httpx.Client(base_url=app.base, timeout=60, headers=bearer(tokens["sales"]))
                for app in top.apps[:2])
    with one, two:
        for i in range(40):
            created = one.post("/api/orders", json=_order("GALRR", {14: 1 + i % 5}))
            assert created.status_code == 201, created.text
            order_id = created.json()["order_id"]
            read = two.get(f"/api/orders/{order_id}")
            assert read.status_code == 200, (i, read.text)
            edited = one.patch(f"/api/orders/{order_id}", json={"lines": _lines({14: 7})})
            assert edited.status_code == 200, edited.text
            read = two.get(f"/api/orders/{order_id}")
            assert [line["quantity"] for line in read.json()["lines"]] == [7], i
    for node in top.cluster.nodes:
        with node.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT @@wsrep_sync_wait")
            assert cur.fetchone()[0] == 1, node.name


class Client:
    """One of the load's clients: creates orders and edits the lines of its own, through
    haproxy, and keeps what the server acknowledged and what it may have done anyway (a
    request that failed without an answer, e.g. on the killed node, may have committed)."""

    PRODUCTS = (4, 7, 11, 72)  # none discontinued

    def __init__(self, base: str, token: str, customer: str, seed: int):
        self.http = httpx.Client(base_url=base, timeout=60, headers=bearer(token))
        self.customer = customer
        self.random = random.Random(seed)
        self.acked: dict[int, dict[int, int]] = {}  # order → its lines as last acknowledged
        self.maybe: dict[int, list[dict[int, int]]] = defaultdict(list)  # unacknowledged since
        self.acked_edits: Counter[int] = Counter()
        self.unacked_edits: Counter[int] = Counter()
        self.unacked_creates = 0
        self.statuses: Counter[str] = Counter()
        self.failed_at: list[float] = []
        self.errors: list[str] = []  # the first answers 500 and over, for the report

    def _lines(self) -> dict[int, int]:
        chosen = self.random.sample(self.PRODUCTS, self.random.randint(1, 3))
        return {pid: self.random.randint(1, 4) for pid in sorted(chosen)}

    def _send(self, method: str, path: str, body: dict) -> httpx.Response | None:
        try:
            response = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.statuses[type(exc).__name__] += 1
            self.failed_at.append(time.monotonic())
            time.sleep(self.random.uniform(0.1, 0.5))
            return None
        status = str(response.status_code)
        if response.status_code >= 300:
            self.failed_at.append(time.monotonic())
            try:  # the app's error code, or haproxy's own page (no server up)
                status += " " + response.json()["error"]["code"]
            except ValueError:
                status += " haproxy"
            if response.status_code >= 500 and len(self.errors) < 3:
                self.errors.append(f"{method} {path}: {status}: {response.text[:300]}")
            time.sleep(self.random.uniform(0.1, 0.5))  # a client backs off before trying again
        self.statuses[status] += 1
        return response

    def step(self) -> None:
        if not self.acked or self.random.random() < 0.5:
            lines = self._lines()
            response = self._send("POST", "/api/orders", _order(self.customer, lines))
            if response is not None and response.status_code == 201:
                self.acked[response.json()["order_id"]] = lines
            else:
                self.unacked_creates += 1
            return
        order_id = self.random.choice(sorted(self.acked))
        lines = self._lines()
        while lines == self.acked[order_id] or lines in self.maybe[order_id]:
            lines = self._lines()  # a real change (an unchanged save is not audited)
        response = self._send("PATCH", f"/api/orders/{order_id}", {"lines": _lines(lines)})
        if response is not None and response.status_code == 200:
            self.acked[order_id] = lines
            self.maybe[order_id] = []
            self.acked_edits[order_id] += 1
        else:
            self.maybe[order_id].append(lines)
            self.unacked_edits[order_id] += 1


LOAD_CLIENTS = 20
LOAD_SECONDS = 45
KILL_AFTER, DOWN_SECONDS = 10, 8


def test_a_galera_node_killed_under_load_loses_no_acknowledged_write(cluster_topology):
    top = cluster_topology
    tokens = demo_tokens(top.db_url)
    customer = "GALRB"
    _new_customer(top.base, tokens["admin"], customer)
    initial = 100_000
    _set_stock(top.db_url, {pid: initial for pid in Client.PRODUCTS})
    with session_scope(top.db_url) as session:
        lines_before = _line_sums(session, Client.PRODUCTS)
    clients = [Client(top.base, tokens["sales"], customer, seed) for seed in range(LOAD_CLIENTS)]
    conflicts_before = _conflicts(top, (0, 2))  # (node 2's counters restart with it)
    started = time.monotonic()
    stop = threading.Event()
    lowest_stock: list[int] = []

    def run(client: Client) -> None:
        while not stop.is_set():
            client.step()

    def watch_stock() -> None:  # stock never negative, seen from node 3 while it all happens
        node = top.cluster.nodes[2]
        while not stop.is_set():
            with node.connect("northwind") as conn, conn.cursor() as cur:
                cur.execute("SELECT MIN(units_in_stock) FROM products")
                lowest_stock.append(cur.fetchone()[0])
            time.sleep(0.5)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    threads.append(threading.Thread(target=watch_stock))
    for thread in threads:
        thread.start()
    victim = top.cluster.nodes[1]  # app 2's node
    try:
        time.sleep(KILL_AFTER)
        killed_at = time.monotonic()
        victim.kill()
        time.sleep(DOWN_SECONDS)
        rejoin = top.cluster.rejoin(victim)
        rejoined_at = time.monotonic()
        time.sleep(max(5.0, LOAD_SECONDS - (rejoined_at - started)))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    for client in clients:
        client.http.close()

    statuses = sum((client.statuses for client in clients), Counter())
    failures = sorted(t for client in clients for t in client.failed_at)
    acked = {order_id: lines for client in clients for order_id, lines in client.acked.items()}
    print(f"\n{LOAD_CLIENTS} clients, {time.monotonic() - started:.0f} s, node2 killed at "
          f"{killed_at - started:.1f} s, rejoined ({'IST' if rejoin['ist'] else 'no IST'}"
          f"{', SST' if rejoin['sst'] else ''}) in {rejoin['seconds']:.1f} s: {dict(statuses)}; "
          f"{len(acked)} orders acknowledged; failures between "
          f"{(failures[0] - started) if failures else 0:.1f} and "
          f"{(failures[-1] - started) if failures else 0:.1f} s; "
          f"{_conflicts(top, (0, 2)) - conflicts_before} conflicts between nodes retried "
          f"(seen on nodes 1 and 3)")
    assert len(acked) >= 50, statuses  # enough load to matter
    assert rejoin["ist"] and not rejoin["sst"], rejoin  # only what it missed, not a full copy
    # Nothing but the outage's own answers: no 500, no refusal of a valid write.
    # (503 database_unavailable: app 2 while its node is down, until haproxy's check takes
    # it out; haproxy's own 502/503/504: a request cut off on the way.)
    assert set(statuses) <= {"200", "201", "503 database_unavailable", "502 haproxy",
                             "503 haproxy", "504 haproxy", "ConnectError",
                             "RemoteProtocolError", "ReadError"}, (
        statuses, [error for client in clients for error in client.errors][:6],
        [app.log(3000) for app in top.apps])  # what the apps logged, when it is not
    assert not failures or killed_at - 1 <= failures[0] and failures[-1] <= rejoined_at + 15, \
        [round(t - started, 1) for t in failures]

    top.cluster.wait_all_synced()
    with session_scope(top.db_url) as session:
        orders = set(session.execute(select(Order.order_id)
                                     .where(Order.customer_id == customer)).scalars())
        lines: dict[int, dict[int, int]] = defaultdict(dict)
        for order_id, pid, qty in session.execute(
                select(OrderDetail.order_id, OrderDetail.product_id, OrderDetail.quantity)
                .join(Order).where(Order.customer_id == customer)):
            lines[order_id][pid] = qty
        audit = Counter(session.execute(
            select(AuditEntry.entity_key, AuditEntry.action).where(AuditEntry.entity == "order")
            .where(AuditEntry.entity_key.in_([str(o) for o in orders] or ["-"]))).all())
        stock = dict(session.execute(select(Product.product_id, Product.units_in_stock)
                                     .where(Product.product_id.in_(Client.PRODUCTS))).all())
        lines_now = _line_sums(session, Client.PRODUCTS)
        # The rollups summed over their slots (a change adds to a random one of 8 slots; a
        # rebuild writes one), keys all zero left out (an edit can leave one).
        before = rollups.totals(session)
        rollups.rebuild(session)
        rebuilt = rollups.totals(session)
        session.rollback()

    # No acknowledged order lost; its lines are the last acknowledged ones (or a later edit
    # whose answer was lost); no order without lines.
    assert set(acked) <= orders
    for client in clients:
        for order_id, last in client.acked.items():
            assert lines[order_id] in [last, *client.maybe[order_id]], order_id
            creates = audit[(str(order_id), "create")]
            updates = audit[(str(order_id), "update")]
            assert creates == 1, order_id
            assert client.acked_edits[order_id] <= updates <= (
                client.acked_edits[order_id] + client.unacked_edits[order_id]), order_id
    unacked_orders = orders - set(acked)
    assert len(unacked_orders) <= sum(client.unacked_creates for client in clients)
    assert all(lines[order_id] for order_id in orders)  # no partial (empty) order
    # Stock: never negative, and exactly what the lines took.
    assert min(lowest_stock) >= 0 and min(stock.values()) >= 0
    for pid in Client.PRODUCTS:
        assert stock[pid] == initial - (lines_now.get(pid, 0) - lines_before.get(pid, 0)), pid
    assert before == rebuilt
    # The node that was killed holds exactly what the others do.
    checksums = top.cluster.checksums()
    assert checksums["node1"] == checksums["node2"] == checksums["node3"], checksums


def test_the_health_check_does_not_wait_for_causal_reads(cluster_topology):
    """The app's reads are causal (the nodes' wsrep_sync_wait=1); its health check's are
    not: while the cluster reforms after losing a node every causal read waits for seconds
    on every node, and haproxy would take every app host out at once (db/engine.py
    health_check)."""
    url = cluster_topology.cluster.nodes[2].url()
    for engine, expected in ((get_engine(url), 1), (get_engine(url, read_only=True), 1),
                             (db_engine._other_engine(url, "health"), 0)):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT @@wsrep_sync_wait").scalar_one() == expected
    assert health_check(url) == "mysql"
