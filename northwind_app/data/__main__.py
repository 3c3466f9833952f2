"""Command line: `python -m northwind_app.data {migrate,classic,demo,first-run,status}`.

    python -m northwind_app.data migrate                     # bring the schema to head
    python -m northwind_app.data classic ../shared/northwind-classic [--replace]
    python -m northwind_app.data demo --orders 1000000 --seed 7 [--replace]
    python -m northwind_app.data first-run                   # migrate; demo data if empty
    python -m northwind_app.data demo-users                  # add the README's demo accounts

Every command uses NORTHWIND_DATABASE_URL (or --database-url). Loads run in one
transaction: they either complete or leave the database as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from tqdm import tqdm

from northwind_app.data.classic import load_classic
from northwind_app.data.demo import load_demo
from northwind_app.data.loading import (
    NotEmptyError, add_demo_users, data_counts, has_users, is_empty,
)
from northwind_app.db.engine import get_engine
from northwind_app.db.migrations import upgrade_to_head
from northwind_app.settings import settings


def _print_counts(counts: dict[str, int], seconds: float) -> None:
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    print(f"Loaded {summary} in {seconds:.1f} s.")


def cmd_migrate(args) -> int:
    upgrade_to_head(args.database_url)
    print("Schema is at the latest migration.")
    return 0


def cmd_classic(args) -> int:
    upgrade_to_head(args.database_url)
    start = time.perf_counter()
    with get_engine(args.database_url, bulk=True).begin() as conn:
        counts = load_classic(conn, Path(args.directory), replace=args.replace)
        _demo_users(conn, args.demo_users)
    _print_counts(counts, time.perf_counter() - start)
    return 0


def cmd_demo(args) -> int:
    upgrade_to_head(args.database_url)
    start = time.perf_counter()
    with tqdm(total=args.orders, unit="orders", unit_scale=True, disable=args.quiet) as bar:
        with get_engine(args.database_url, bulk=True).begin() as conn:
            counts = load_demo(
                conn, orders=args.orders, seed=args.seed, end_date=args.end_date,
                replace=args.replace, progress=bar.update,
            )
            _demo_users(conn, args.demo_users)
    _print_counts(counts, time.perf_counter() - start)
    return 0


def _demo_users(conn, wanted: bool) -> None:
    if wanted:
        created = add_demo_users(conn)
        print("Demo users: " + (", ".join(created) if created else "already there") +
              " (passwords in the README).")


def cmd_demo_users(args) -> int:
    upgrade_to_head(args.database_url)
    with get_engine(args.database_url, bulk=True).begin() as conn:
        _demo_users(conn, True)
    return 0


def cmd_first_run(args) -> int:
    """Migrate; when the database has no data yet, load the demo dataset."""
    upgrade_to_head(args.database_url)
    engine = get_engine(args.database_url, bulk=True)
    with engine.connect() as conn:
        empty = is_empty(conn)
    if not empty:
        with engine.connect() as conn:
            counts = data_counts(conn)
            users = has_users(conn)
        print("Database ready: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()) + ".")
        if not users:
            if args.database_url is None and settings.is_default_database:
                with engine.begin() as conn:  # embedded demo database from before accounts
                    _demo_users(conn, True)
            else:
                print("No user accounts yet: create the first with "
                      "`python -m northwind_app.users create-admin`.")
        return 0
    print(f"Empty database: generating {args.orders:,} demo orders (seed {args.seed}).")
    args.replace = False
    args.end_date = None
    args.demo_users = True
    return cmd_demo(args)


def cmd_status(args) -> int:
    engine = get_engine(args.database_url, bulk=True)
    with engine.connect() as conn:
        counts = data_counts(conn)
    print(", ".join(f"{n:,} {t}" for t, n in counts.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m northwind_app.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: NORTHWIND_DATABASE_URL or the SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="bring the schema to the latest migration").set_defaults(func=cmd_migrate)

    classic = sub.add_parser("classic", help="import the classic Northwind CSV files")
    classic.add_argument("directory", help="folder with categories.csv, orders.csv, …")
    classic.add_argument("--replace", action="store_true", help="delete existing data first")
    classic.add_argument("--demo-users", action="store_true",
                         help="also create the demo accounts admin/sales/viewer (see README)")
    classic.set_defaults(func=cmd_classic)

    for name, func, helptext in (("demo", cmd_demo, "generate a deterministic demo dataset"),
                                 ("first-run", cmd_first_run, "migrate, and load demo data if empty")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--orders", type=int, default=settings.demo_orders, help="how many orders")
        p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "demo":
            p.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                           help="date of the newest orders, YYYY-MM-DD (default: today)")
            p.add_argument("--replace", action="store_true", help="delete existing data first")
            p.add_argument("--demo-users", action="store_true",
                           help="also create the demo accounts admin/sales/viewer (see README)")
        p.set_defaults(func=func)

    sub.add_parser("status", help="print row counts").set_defaults(func=cmd_status)
    sub.add_parser("demo-users", help="create the demo accounts admin/sales/viewer (see README)"
                   ).set_defaults(func=cmd_demo_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NotEmptyError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
