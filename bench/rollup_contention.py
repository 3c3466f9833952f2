"""Hot rollup rows: two concurrent writers creating orders of one employee in one month, with
the monthly rollups as one row per key (`--slots 1`, as before migration 0012) and as sharded
counters (rollups.SLOTS rows per key), interleaved round by round on one MariaDB database.

The writers share nothing but the employee and the month (each has its own customer and
products, so no stock row is shared): whatever waits is a rollup row. Two measures:

- `conflicts`: each transaction runs with innodb_lock_wait_timeout = 0, so any row lock it
  would wait for fails it at once (1205) and the runner retries it: the closest a single
  server comes to Galera's first-committer-wins, where two such transactions on two nodes
  cannot both commit. Counted per committed order.
- `lock waits`: the normal 10 s timeout; the server's Innodb_row_lock_waits and
  Innodb_row_lock_time grow by the waits (a server of its own: the counters are global).

    python -m bench.rollup_contention --url 'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4'
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from northwind_app.data.classic import load_classic
from northwind_app.db.engine import dispose_engine, get_engine, session_scope, write_transaction
from northwind_app.db.migrations import upgrade_to_head
from northwind_app.db.models import Product
from northwind_app.services import orders as svc
from northwind_app.services import rollups
from northwind_app.services.auth import SYSTEM

CLASSIC_DIR = Path(os.environ.get("NORTHWIND_CLASSIC_DIR")
                   or Path(__file__).resolve().parents[2] / "shared" / "northwind-classic")
WRITERS = {"ALFKI": (11, 12), "BONAP": (13, 14)}  # customer → its own products


def _status(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {name: int(value) for name, value in conn.execute(text(
            "SHOW GLOBAL STATUS WHERE Variable_name IN "
            "('Innodb_row_lock_waits', 'Innodb_row_lock_time', 'Innodb_deadlocks')"))}


def _round(url: str, orders: int, wait_timeout: int) -> dict[str, float]:
    attempts = [0]
    lock = threading.Lock()

    def writer(customer: str, products: tuple[int, ...]) -> None:
        raw = {"customer_id": customer, "employee_id": 5, "order_date": "2026-07-04",
               "lines": [{"product_id": pid, "quantity": 1} for pid in products]}
        data = svc.parse_order_input(raw)

        def create(session):
            with lock:
                attempts[0] += 1
            session.execute(text(f"SET SESSION innodb_lock_wait_timeout = {wait_timeout}"))
            return svc.create_order(session, data, actor=SYSTEM)

        for _ in range(orders):
            write_transaction(create, url)

    before, start = _status(url), time.perf_counter()
    threads = [threading.Thread(target=writer, args=item) for item in WRITERS.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, after = time.perf_counter() - start, _status(url)
    committed = orders * len(WRITERS)
    return {"conflicts": (attempts[0] - committed) / committed,
            "waits": (after["Innodb_row_lock_waits"] - before["Innodb_row_lock_waits"]) / committed,
            "wait_ms": (after["Innodb_row_lock_time"] - before["Innodb_row_lock_time"]) / committed,
            "deadlocks": after["Innodb_deadlocks"] - before["Innodb_deadlocks"],
            "orders_per_s": committed / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4",
                        help="MariaDB server URL (no database part)")
    parser.add_argument("--orders", type=int, default=100, help="orders per writer per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slots", default=f"1,{rollups.SLOTS}", help="slot counts to compare")
    args = parser.parse_args()
    name = f"nw_bench_rollups_{uuid.uuid4().hex[:8]}"
    server = create_engine(args.url)
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci"))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_to_head(url)
        with get_engine(url).begin() as conn:
            load_classic(conn, CLASSIC_DIR)
        with session_scope(url, write=True) as session:
            session.execute(update(Product).values(units_in_stock=1_000_000))
        slot_counts = [int(n) for n in args.slots.split(",")]
        results: dict[tuple[int, str], list[dict]] = {}
        for round_ in range(args.rounds):
            for slots in slot_counts:  # interleaved: each round measures every variant
                rollups.SLOTS = slots
                for mode, timeout in (("no wait (first locker wins)", 0), ("wait", 10)):
                    result = _round(url, args.orders, timeout)
                    results.setdefault((slots, mode), []).append(result)
                    print(f"round {round_ + 1} slots={slots} {mode}: "
                          + ", ".join(f"{k}={v:.3f}" for k, v in result.items()), flush=True)
        print(f"\n{dt.datetime.now():%Y-%m-%d %H:%M}, {args.rounds} rounds × 2 writers × "
              f"{args.orders} orders (employee 5, one month), means:")
        print("| slots | lock wait | retried conflicts / order | row lock waits / order "
              "| lock wait ms / order | deadlocks | orders/s |")
        print("|---|---|---|---|---|---|---|")
        for (slots, mode), runs in results.items():
            mean = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
            print(f"| {slots} | {mode} | {mean['conflicts']:.3f} | {mean['waits']:.3f} | "
                  f"{mean['wait_ms']:.2f} | {mean['deadlocks']:.1f} | {mean['orders_per_s']:.1f} |")
    finally:
        dispose_engine(url)
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


if __name__ == "__main__":
    main()
