"""The load that crashed MariaDB 10.11.19 (signal 11): the orders list's first page from many
threads at once, on a database of your own server (never a shared one: the old shape can
bring it down).

    python -m bench.crash_stress --url 'mysql+pymysql://root@127.0.0.1:PORT/DB?charset=utf8mb4' \
        [--threads 32] [--seconds 300] [--shape app|old] [--page 50]

`app`: `orders.list_orders` as the REST API calls it (its statements as the fast path reads
them, db/fastpath/json_rows.py). `old`: the list's rows statement in the shape before the fix,
`JSON_ARRAYAGG(JSON_ARRAY(...))` over the page, whose on-disk Aria temporary table MariaDB
crashed creating (`Item_func_group_concat::setup` → `create_tmp_table` failed →
`ha_maria::drop_table`). The database must hold the classic data (or more). Prints the
queries run, the errors by kind, the session's on-disk temporary tables per list read, and
whether the server still answers; exits 1 if it does not.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import threading
import time

import pymysql
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from northwind_app import private_apis
from northwind_app.db.engine import session_scope
from northwind_app.services import orders
from northwind_app.services.listing import ListParams
from northwind_app.services.orders import query as order_query


def _old_statement(session, page: int):
    """The rows statement of the first page in its pre-fix JSON shape, as SQL text."""
    params = order_query._parsed(ListParams(sort="-order_date", limit=page).validated())
    view, _binds = order_query._filtered(params, dt.date.today(), session)
    keys = session.execute(view.query.page, {"page_limit": page, "page_offset": 0}) \
        .scalars().all()
    stmt = view.query.rows
    names = list(stmt.selected_columns.keys())
    numbered = stmt.add_columns(
        func.row_number().over(order_by=private_apis.order_by_clauses(stmt))
        .label("nw_row_number")).order_by(None).subquery()
    old = select(func.count(), func.json_arrayagg(func.json_array(
        numbered.c.nw_row_number, *(numbered.c[name] for name in names))),
        view.query.count.scalar_subquery())
    sql = old.params(page_keys=keys).compile(dialect=session.get_bind().dialect,
                                             compile_kwargs={"literal_binds": True})
    return text(str(sql).replace("%%", "%")), {}


def _disk_tables(session) -> int:
    return int(session.execute(text(
        "SHOW SESSION STATUS LIKE 'Created_tmp_disk_tables'")).one()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--shape", choices=("app", "old"), default="app")
    parser.add_argument("--page", type=int, default=50)
    args = parser.parse_args()
    errors: collections.Counter[str] = collections.Counter()
    done = [0]
    disk = collections.Counter()
    stop = time.monotonic() + args.seconds
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < stop:
            try:
                with session_scope(args.url) as session:
                    if args.shape == "old":
                        stmt, binds = _old_statement(session, args.page)
                    while time.monotonic() < stop:
                        before = _disk_tables(session)
                        if args.shape == "app":
                            orders.list_orders(session, ListParams(sort="-order_date",
                                                                   limit=args.page))
                        else:
                            session.execute(stmt, binds).one()
                        created = _disk_tables(session) - before
                        with lock:
                            done[0] += 1
                            disk[created] += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors[f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"] += 1
                time.sleep(0.5)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    url = make_url(args.url)
    try:
        pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                        password=url.password or "", connect_timeout=5).close()
        alive = True
    except pymysql.Error:
        alive = False
    print(f"shape {args.shape}: {done[0]} list reads by {args.threads} threads in "
          f"{time.monotonic() - started:.0f} s; on-disk temporary tables per read "
          f"{dict(disk)}; server {'alive' if alive else 'DOWN'}")
    for kind, count in errors.most_common():
        print(f"  {count} × {kind}")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
