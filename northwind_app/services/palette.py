"""The command palette's search (Ctrl-K on the screens): one text finds orders by id,
customers by id or name, products by id or name, and the app's pages by name, each through
the search the rest of the app already uses for it (the orders list's search, the order
form's customer and product pickers), and only what the user's role may read.

Pages are the caller's (the screens know their routes): each `Destination` names the
permission it needs, if any, and the search leaves out those the actor lacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import MAX_SEARCH, ListParams
from northwind_app.services.orders import STATUS_LABELS, customer_choices, list_orders, \
    product_choices
from northwind_app.services.validation import MAX_INT

PER_KIND = 5  # results of each kind (orders, customers, products, pages)
MAX_PER_KIND = 20

# What a role needs to read each kind of record (None: every signed-in user; every role
# reads orders, customers and products today, services/auth.py ROLES).
READ_PERMISSION: dict[str, Permission | None] = {
    "order": None, "customer": None, "product": None,
}


@dataclass(frozen=True)
class Destination:
    """A page the palette offers: its name, its route, other words it answers to, and the
    permission a role needs to open it (None: anyone signed in)."""

    label: str
    route: str
    keywords: str = ""
    permission: Permission | None = None


@dataclass(frozen=True)
class Hit:
    """One result: its kind ("order", "customer", "product", "page"), its key (the order id,
    customer id, product id, or the page's route), what it is called and a line about it;
    an order's date and total and a product's price as values, for the screen to format."""

    kind: str
    key: str
    label: str
    detail: str = ""
    date: dt.date | None = None
    amount: Decimal | None = None


def check_text(text: object) -> str:
    """The search text, stripped; Invalid naming `q` when it is not text or too long (the
    lists' limit)."""
    if not isinstance(text, str):
        raise Invalid(fields={"q": "must be text"})
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise Invalid(fields={"q": f"must be at most {MAX_SEARCH} characters"})
    return text


def _may(actor: Actor, permission: Permission | None) -> bool:
    return permission is None or actor.can(permission)


def _pages(actor: Actor, text: str, pages: Sequence[Destination], limit: int) -> list[Hit]:
    words = text.casefold().split()
    found = []
    for page in pages:
        if not _may(actor, page.permission):
            continue
        haystack = f"{page.label} {page.keywords}".casefold()
        if all(word in haystack for word in words):
            found.append(Hit("page", page.route, page.label, page.route))
    return found[:limit]


def _orders(session: Session, text: str, limit: int) -> list[Hit]:
    """The order whose id is the text (the orders list's search finds it by its id)."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_INT:
        return []
    rows = list_orders(session, ListParams(limit=limit, search=text)).items
    rows.sort(key=lambda row: row.order_id != int(text))  # the order with that id first
    return [Hit("order", str(row.order_id), f"Order {row.order_id}",
                " · ".join(x for x in (row.customer_name or row.customer_id,
                                       STATUS_LABELS[row.status]) if x),
                date=row.order_date, amount=row.total)
            for row in rows]


def _customers(session: Session, text: str, limit: int) -> list[Hit]:
    return [Hit("customer", choice.value, choice.label, choice.detail)
            for choice in customer_choices(session, text, limit=limit)]


def _products(session: Session, text: str, limit: int) -> list[Hit]:
    return [Hit("product", str(p.product_id), p.product_name,
                f"#{p.product_id} · {p.units_in_stock} in stock"
                + (" · discontinued" if p.discontinued else ""), amount=p.unit_price)
            for p in product_choices(session, text, limit=limit, include_discontinued=True)]


def palette_search(session: Session, actor: Actor, text: object,
                   pages: Sequence[Destination] = (), per_kind: int = PER_KIND) -> list[Hit]:
    """What `text` finds for `actor`: the order with that id, customers (id, name, city),
    products (id, name), then the pages whose name or keywords contain every word, at most
    `per_kind` of each, leaving out what the actor's role may not read. An empty text finds
    the pages only."""
    text = check_text(text)
    if not 1 <= per_kind <= MAX_PER_KIND:
        raise Invalid(fields={"per_kind": f"must be between 1 and {MAX_PER_KIND}"})
    hits: list[Hit] = []
    if text:
        for kind, find in (("order", _orders), ("customer", _customers),
                           ("product", _products)):
            if _may(actor, READ_PERMISSION[kind]):
                hits += find(session, text, per_kind)
    return hits + _pages(actor, text, pages, per_kind if text else len(pages))
