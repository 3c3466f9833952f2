"""Test data through the services, so every rule (validation, audit, stock, rollups, search
values) holds for it as for real data: a customer, product, employee, order with lines, user
with a role and an API token, each with sensible defaults that a test overrides by keyword.

Every factory takes `db`: an open Session (the row is made in the caller's transaction) or a
database URL (the row is made in a write transaction of its own, `write_transaction`). Orders
default to rows of the classic data (customer ALFKI, employee 5, products 1 and 2); on an
empty database make those first (`customer`, `employee`, `product`) and pass their ids.
Unique values (customer ids, usernames) are drawn from a counter so that tests never collide.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlmodel import Session

from northwind_app.db.engine import write_transaction
from northwind_app.db.models import Employee, User
from northwind_app.services import auth, customers, orders, products, users
from northwind_app.services.auth import SYSTEM, Actor

T = TypeVar("T")

PASSWORD = "a long password"
_serial = itertools.count(1)


def _in(db: Session | str, fn: Callable[[Session], T]) -> T:
    """`fn(session)` in the caller's session, or in a write transaction on the URL `db`."""
    if isinstance(db, str):
        return write_transaction(fn, db)
    return fn(db)


def unique_code(length: int = 5) -> str:
    """Uppercase letters never returned before in this process (customer ids: 5 letters)."""
    number = next(_serial)
    letters = []
    for _ in range(length):
        number, digit = divmod(number, 26)
        letters.append(string.ascii_uppercase[digit])
    return "".join(reversed(letters))


def customer(db: Session | str, *, actor: Actor = SYSTEM, **overrides: Any) -> str:
    """A customer made by customers.create_customer; returns its id."""
    data = {"customer_id": unique_code(), "company_name": "Factory Customer",
            "city": "Berlin", "country": "Germany", **overrides}
    return _in(db, lambda s: customers.create_customer(s, data, actor=actor))["customer_id"]


def product(db: Session | str, *, actor: Actor = SYSTEM, **overrides: Any) -> int:
    """A product made by products.create_product (in stock); returns its id."""
    data = {"product_name": "Factory Product", "unit_price": "10.00", "units_in_stock": 100,
            "reorder_level": 10, **overrides}
    return _in(db, lambda s: products.create_product(s, data, actor=actor))["product_id"]


def employee(db: Session | str, **overrides: Any) -> int:
    """An employee row; returns its id. (Employees have no service: they are reference data,
    only loaded.)"""
    values = {"last_name": "Factory", "first_name": "Erin", "title": "Sales Representative",
              **overrides}

    def add(session: Session) -> int:
        row = Employee(**values)
        session.add(row)
        session.flush()
        return row.employee_id

    return _in(db, add)


def order_raw(**overrides: Any) -> dict[str, Any]:
    """Raw order input (what a form or the API sends) for orders.parse_order_input: an open
    order of classic customer ALFKI taken by employee 5, with two lines (product 1 at its
    list price, product 2 at 19.00); keyword arguments replace fields (`lines` whole)."""
    return {"customer_id": "ALFKI", "employee_id": 5, "order_date": "1998-05-07",
            "required_date": "1998-06-04", "freight": "12.30",
            "lines": [{"product_id": 1, "quantity": 2},
                      {"product_id": 2, "quantity": 3, "unit_price": "19.00"}],
            **overrides}


def order(db: Session | str, *, actor: Actor = SYSTEM, **overrides: Any) -> int:
    """An order made by orders.create_order from `order_raw(**overrides)`; returns its id."""
    data = orders.parse_order_input(order_raw(**overrides))
    return _in(db, lambda s: orders.create_order(s, data, actor=actor))


def user(db: Session | str, role: str = "sales", *, username: str | None = None,
         password: str = PASSWORD, actor: Actor = SYSTEM, **extra: Any) -> Actor:
    """An active account with `role` made by users.create_user; returns its Actor."""
    data: Mapping[str, Any] = {"username": username or f"user-{unique_code().lower()}",
                               "password": password, "role": role, **extra}

    def add(session: Session) -> Actor:
        created = users.create_user(session, actor, data)
        return auth.actor_of(session.get(User, created["user_id"]))

    return _in(db, add)


def api_token(db: Session | str, user_id: int, *, name: str = "tests",
              expires_days: int | None = None, actor: Actor = SYSTEM) -> str:
    """A new API token of `user_id` made by users.create_api_token; returns the token."""
    return _in(db, lambda s: users.create_api_token(s, actor, user_id, name, expires_days))[0]
