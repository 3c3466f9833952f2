"""The orders search: which orders a text finds, through the kept values and trigrams
(migration 0008) where they are few, by LIKE otherwise."""

from __future__ import annotations

from sqlalchemy import and_, false, func, or_, select
from sqlmodel import Session

from northwind_app.db.fastpath import per_database
from northwind_app.db.models import Customer, Order, OrderSearchGram, OrderSearchValue
from northwind_app.db.schema import column_collations, column_name
from northwind_app.services.listing import search_clause
from northwind_app.services.validation import MAX_INT


# A search finds the matching values first and then the orders by value through indexes when
# the values are few (SEARCH_VALUES_MAX per part: customers, ship names, ship cities) and
# belong to few orders (SEARCH_ORDERS_MAX index entries in all). Past that it matches by LIKE
# over every order: a scan, but then cheaper than reading that many orders one by one. The
# break-even is lower on MariaDB, which reads pages through its buffer pool, than on SQLite,
# whose pages come from the OS cache (figures: bench/README.md).
SEARCH_VALUES_MAX = 500
SEARCH_ORDERS_MAX = 20_000
SEARCH_ORDERS_MAX_SQLITE = 100_000
# The columns whose distinct values order_search_values keeps (its `kind`s), in the order of
# the search's parts: customers by company name, orders by ship name and by ship city.
SEARCH_VALUE_COLUMNS = (Customer.company_name, Order.ship_name, Order.ship_city)
# A text of SEARCH_GRAM or more characters is looked up by up to SEARCH_GRAMS of its trigrams
# (order_search_grams), spread over it; the database starts from the rarest of them.
SEARCH_GRAM = 3
SEARCH_GRAMS = 4
_GRAM = OrderSearchGram.__table__.c.gram


def search_condition(session: Session, text: str):
    """The orders matching a search text: the customer's company name, the ship name or the
    ship city contains the text (case-insensitive, LIKE wildcards literal: `search_clause`),
    or the text is the order id or the customer id.

    Contains (LIKE '%text%') cannot seek an index, and over the orders it reads every row. But
    few distinct values contain a text: they are found first (`_matching_values`), and the
    customers and orders are then found by value through the indexes (MariaDB: index_merge
    sort_union). Parts without a matching value drop out. Each part keeps its LIKE, so a match
    is never widened."""
    exact = []
    if text.isascii() and text.isdigit() and int(text) <= MAX_INT:  # not "²", not 10**40
        exact.append(Order.order_id == int(text))
    if len(text) <= 5:
        exact.append(Order.customer_id == text.upper())
    values = _matching_values(session, text)
    customer_ids = None
    if values is not None:
        names, *ship_values = values
        customer_ids = _at_most(session, select(Customer.customer_id).where(
            Customer.company_name.in_(names),
            Customer.company_name.contains(text, autoescape=True))) if names else []
    if customer_ids is not None:
        parts = [(column, found) for column, found in zip(
            (Order.customer_id, *SEARCH_VALUE_COLUMNS[1:]), (customer_ids, *ship_values))
            if found]
    if customer_ids is None or (parts and not _few_orders(session, parts)):
        named = select(Customer.customer_id).where(search_clause(text, [Customer.company_name]))
        return or_(Order.customer_id.in_(named),
                   search_clause(text, [Order.ship_name, Order.ship_city]), *exact)
    matches = [column.in_(found) if column is Order.customer_id
               else and_(column.in_(found), column.contains(text, autoescape=True))
               for column, found in parts]
    return or_(*matches, *exact) if matches or exact else false()


def _at_most(session: Session, stmt) -> list | None:
    """The values `stmt` selects, or None when there are more than SEARCH_VALUES_MAX."""
    values = list(session.execute(stmt.limit(SEARCH_VALUES_MAX + 1)).scalars())
    return None if len(values) > SEARCH_VALUES_MAX else values


def _few_orders(session: Session, parts: list) -> bool:
    """Whether at most SEARCH_ORDERS_MAX(_SQLITE) orders have one of the values of `parts`
    ((indexed column, values) pairs), counted from the indexes alone (an order found by
    several parts counts more than once), each count stopping past the limit."""
    most = per_database(session, sqlite=SEARCH_ORDERS_MAX_SQLITE, mysql=SEARCH_ORDERS_MAX)
    counts = [select(func.count()).select_from(
        select(Order.order_id).where(column.in_(values)).limit(most + 1).subquery())
        .scalar_subquery() for column, values in parts]
    return session.execute(select(sum(counts[1:], counts[0]))).scalar_one() <= most


def _matching_values(session: Session, text: str) -> list[list[str]] | None:
    """The values of each of SEARCH_VALUE_COLUMNS that contain `text`, in one statement;
    None when a column has more than SEARCH_VALUES_MAX.

    The database keeps these columns' distinct values, and their trigrams, with the rows
    (migration 0008). A value that contains the text has every trigram of the text: the
    values having some of them (joined index lookups, starting from the rarest) are the
    candidates, and the LIKE checks those. A text shorter than a trigram is looked for by a
    LIKE over all values (a few thousand short rows). The tables may hold values nothing has
    any more: the caller's conditions on the rows drop them.

    MariaDB keeps every spelling, under a binary collation; the LIKE runs under each column's
    own collation, so it matches what the column's LIKE matches, and IN then finds the rows of
    every spelling that collation calls equal ('Straße' = 'Strasse'), which the caller's LIKE
    narrows again. The trigrams compare under the orders columns' collation: used only when
    every searched column has that collation (a LIKE match then implies equal trigrams)."""
    collations = _collations(session)
    grams = _spread_grams(text)
    if collations is not None and any(
            collations[column_name(c)] != collations[column_name(_GRAM)]
            for c in SEARCH_VALUE_COLUMNS):
        grams = []
    if grams:
        first, *others = (OrderSearchGram.__table__.alias(f"gram_{i}") for i in range(len(grams)))
        stmt = select(first.c.kind, first.c.value).where(
            first.c.kind.in_([c.key for c in SEARCH_VALUE_COLUMNS]), first.c.gram == grams[0])
        for other, gram in zip(others, grams[1:]):
            stmt = stmt.join(other, and_(other.c.kind == first.c.kind,
                                         other.c.value == first.c.value, other.c.gram == gram))
        kind, value = first.c.kind, first.c.value
    else:
        stmt = select(OrderSearchValue.kind, OrderSearchValue.value)
        kind, value = OrderSearchValue.kind, OrderSearchValue.value
    conditions = []
    for column in SEARCH_VALUE_COLUMNS:
        collation = collations and collations[column_name(column)]
        compared = value.collate(collation) if collation else value
        conditions.append(and_(kind == column.key, compared.contains(text, autoescape=True)))
    most = SEARCH_VALUES_MAX * len(SEARCH_VALUE_COLUMNS)
    rows = session.execute(stmt.where(or_(*conditions)).limit(most + 1)).all()
    found: dict[str, list[str]] = {column.key: [] for column in SEARCH_VALUE_COLUMNS}
    for row_kind, row_value in rows:
        found[row_kind].append(row_value)
    if any(len(values) > SEARCH_VALUES_MAX for values in found.values()):
        return None  # also when `most` + 1 rows came: one column has more than its share
    return [found[column.key] for column in SEARCH_VALUE_COLUMNS]


def _spread_grams(text: str) -> list[str]:
    """Up to SEARCH_GRAMS trigrams of `text`, the first and the last among them."""
    starts = len(text) - SEARCH_GRAM + 1
    if starts < 1:
        return []
    picks = range(starts) if starts <= SEARCH_GRAMS else sorted(
        {round(i * (starts - 1) / (SEARCH_GRAMS - 1)) for i in range(SEARCH_GRAMS)})
    return list(dict.fromkeys(text[i:i + SEARCH_GRAM] for i in picks))


def _collations(session: Session) -> dict[str, str] | None:
    """The collations of the searched columns and of the trigrams ("table.column": name);
    None on SQLite (db/schema.py)."""
    return column_collations(session, [*SEARCH_VALUE_COLUMNS, _GRAM])
