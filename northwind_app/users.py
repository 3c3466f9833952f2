"""Command line for accounts: `python -m northwind_app.users COMMAND`.

    python -m northwind_app.users create-admin [--username admin]   # asks for the password
    python -m northwind_app.users create USERNAME --role sales [--employee-id 4] [--name "…"]
    python -m northwind_app.users reset-password USERNAME
    python -m northwind_app.users set-role USERNAME viewer
    python -m northwind_app.users deactivate USERNAME | activate USERNAME
    python -m northwind_app.users list
    python -m northwind_app.users create-token USERNAME --name "nightly export" [--days 90]
    python -m northwind_app.users revoke-token TOKEN_ID

Passwords are asked twice without echo; with --password-stdin the first line of standard
input is used instead (for scripts). Uses NORTHWIND_DATABASE_URL (or --database-url). Changes
are made as the "system" user and appear so in the audit trail.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.db.migrations import upgrade_to_head
from northwind_app.services import users
from northwind_app.services.auth import ROLES, SYSTEM
from northwind_app.services.errors import ServiceError
from northwind_app.services.listing import ListParams


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("The passwords differ; nothing was changed.")
    return first


def _user_id(session, username: str) -> int:
    user = users.find_user(session, username)
    if user is None:
        raise SystemExit(f"There is no user {username!r}.")
    return user.user_id


def cmd_create(args) -> int:
    role = "admin" if args.command == "create-admin" else args.role
    password = _password(args)
    user = write_transaction(lambda session: users.create_user(session, SYSTEM, {
        "username": args.username, "password": password, "role": role,
        "full_name": args.name or "", "employee_id": args.employee_id}), args.database_url)
    print(f"Created {user['role']} {user['username']} (user {user['user_id']}).")
    return 0


def cmd_reset_password(args) -> int:
    password = _password(args)
    write_transaction(lambda session: users.set_password(
        session, SYSTEM, _user_id(session, args.username), password), args.database_url)
    print(f"Password of {args.username} set; their browser sessions were signed out.")
    return 0


def _update(args, changes: dict, done: str) -> int:
    write_transaction(lambda session: users.update_user(
        session, SYSTEM, _user_id(session, args.username), changes), args.database_url)
    print(f"{args.username}: {done}.")
    return 0


def cmd_set_role(args) -> int:
    return _update(args, {"role": args.role}, f"role is now {args.role}")


def cmd_deactivate(args) -> int:
    return _update(args, {"active": False}, "deactivated and signed out")


def cmd_activate(args) -> int:
    return _update(args, {"active": True}, "active again")


def cmd_list(args) -> int:
    with session_scope(args.database_url) as session:
        page = users.list_users(session, SYSTEM, ListParams(limit=500))
    for row in page.items:
        state = "" if row["active"] else "  (deactivated)"
        employee = f"  employee {row['employee_name']}" if row["employee_name"] else ""
        print(f"{row['user_id']:>4}  {row['username']:<24} {row['role']:<7}{employee}{state}")
    print(f"{page.total} users.")
    return 0


def cmd_create_token(args) -> int:
    token, view = write_transaction(lambda session: users.create_api_token(
        session, SYSTEM, _user_id(session, args.username), args.name, args.days),
        args.database_url)
    print(f"Token {view.token_id} ({view.name}) for {view.username}; it is shown only now:",
          file=sys.stderr)
    print(token)
    return 0


def cmd_revoke_token(args) -> int:
    view = write_transaction(lambda session: users.revoke_api_token(session, SYSTEM, args.token_id),
                             args.database_url)
    print(f"Token {view.token_id} ({view.name}) of {view.username} is revoked.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m northwind_app.users", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: NORTHWIND_DATABASE_URL or the SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_password(p):
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
        return p

    admin = with_password(sub.add_parser("create-admin", help="create an admin account"))
    admin.add_argument("--username", default="admin")
    admin.add_argument("--name", default="", help="full name")
    admin.add_argument("--employee-id", type=int, default=None)
    admin.set_defaults(func=cmd_create)

    create = with_password(sub.add_parser("create", help="create an account"))
    create.add_argument("username")
    create.add_argument("--role", choices=list(ROLES), required=True)
    create.add_argument("--name", default="", help="full name")
    create.add_argument("--employee-id", type=int, default=None,
                        help="the Northwind employee this user is (new orders default to them)")
    create.set_defaults(func=cmd_create)

    reset = with_password(sub.add_parser("reset-password", help="set a user's password"))
    reset.add_argument("username")
    reset.set_defaults(func=cmd_reset_password)

    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=list(ROLES))
    role.set_defaults(func=cmd_set_role)

    for name, func in (("deactivate", cmd_deactivate), ("activate", cmd_activate)):
        p = sub.add_parser(name, help=f"{name} an account")
        p.add_argument("username")
        p.set_defaults(func=func)

    sub.add_parser("list", help="list accounts").set_defaults(func=cmd_list)

    token = sub.add_parser("create-token", help="create an API token (printed once)")
    token.add_argument("username")
    token.add_argument("--name", required=True, help="what the token is for")
    token.add_argument("--days", type=int, default=None, help="expires after this many days")
    token.set_defaults(func=cmd_create_token)

    revoke = sub.add_parser("revoke-token", help="revoke an API token")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(func=cmd_revoke_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    upgrade_to_head(args.database_url)
    try:
        return args.func(args)
    except ServiceError as exc:
        if exc.fields:
            details = "".join(f"\n  {name}: {text}" for name, text in exc.fields.items())
            print(f"Refused:{details}", file=sys.stderr)
        else:
            print(f"Refused: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
