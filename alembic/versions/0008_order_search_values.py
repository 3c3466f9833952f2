"""the search's distinct values (ship names, ship cities, company names) and their trigrams,
kept by triggers; the ship name and city indexes in the default sort's order

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

The orders search finds the customers, ship names and ship cities that contain a text first,
then the orders by value through their indexes. It read the distinct ship names and cities
from the orders' indexes by a loose index scan (one index seek per distinct value, ~15,000 at
1M orders: 30-40 ms with the indexes cached, hundreds of ms when MariaDB's buffer pool cannot
keep them) and the customers by a LIKE over all of them (10,000 at 1M orders: 2 ms).

`order_search_values` holds each distinct value once (`kind`: the column it comes from), and
`order_search_grams` each value's substrings of three characters: every value that contains a
text of three or more characters has all of the text's trigrams, so a few joined index lookups
of those trigrams find the candidates (the LIKE then checks them) instead of a LIKE over every
value. Shorter texts use a LIKE over `order_search_values`.

Triggers keep both tables in step with every writer: the services, the loaders, anything
writing SQL directly. Inserting or updating an order or a customer adds its values; adding a
value adds its trigrams. (A bulk loader may pause the first ones and add the values itself:
PAUSED below on MariaDB; on SQLite it drops and recreates them in its transaction.) Values
nothing has any more stay (deletes are not tracked): the search also matches the rows' own
columns, so an extra value never widens a result. On MariaDB the value columns are binary, so
spellings the tables' collation calls equal ('Straße', 'Strasse') are each kept; the trigram
column has the orders columns' collation, under which the search compares trigrams (SQLite:
NOCASE, as its LIKE ignores ASCII case).

The orders' ship city and ship name indexes get the order id after the order date: the search
then reads a city's orders in the default sort's order (newest first) and stops after a page,
instead of sorting them all (at 1M orders ~4,500 for the most common city: 2.2 -> 0.2 ms).

MariaDB runs triggers with their definer's rights: the account that migrates must stay (and
with binary logging on it needs SUPER or log_bin_trust_function_creators=1 to create them).
SQLite drops a table's triggers when a migration rebuilds that table (batch mode's
move-and-copy): a later migration that rebuilds `orders`, `customers` or
`order_search_values` must create them again (tests/services/test_search_values.py checks that they
exist at head).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from northwind_app.db import migrations as m

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALUES, GRAMS = "order_search_values", "order_search_grams"
SOURCES = {"orders": ("ship_name", "ship_city"), "customers": ("company_name",)}  # the kinds
GRAM = 3
VALUE_LENGTH = 40  # the longest source column
SEARCH_INDEXES = {"ix_orders_ship_city_status": "ship_city",
                  "ix_orders_ship_name_status": "ship_name"}
SORTED = ["order_date", "order_id", "shipped_date", "required_date"]  # after the value
UNSORTED = ["order_date", "shipped_date", "required_date"]  # as migration 0005 made them
# Set in a session, this user variable pauses the orders and customers triggers on MariaDB
# (one check per row instead of two inserts): the bulk loads of northwind_app.data set it and
# add the values themselves at the end (the triggers cost 13-17% of the 1M-order generation).
PAUSED = "@northwind_search_values_paused"
TRIGGERS = {  # name: (table, event)
    "trg_orders_search_values_insert": ("orders", "INSERT"),
    "trg_orders_search_values_update": ("orders", "UPDATE"),
    "trg_customers_search_values_insert": ("customers", "INSERT"),
    "trg_customers_search_values_update": ("customers", "UPDATE"),
    "trg_search_values_grams": (VALUES, "INSERT"),
}


def _mysql(dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


def _grams_insert(mysql: bool) -> str:
    """The values trigger's INSERT of the new value's trigrams, one per start position."""
    positions = " UNION ALL ".join(f"SELECT {i} AS i" if i == 1 else f"SELECT {i}"
                                   for i in range(1, VALUE_LENGTH - GRAM + 2))
    substring, length = ("SUBSTRING", "CHAR_LENGTH") if mysql else ("substr", "length")
    return (f"INSERT {'IGNORE' if mysql else 'OR IGNORE'} INTO {GRAMS} (kind, gram, value)\n"
            f"  SELECT NEW.kind, {substring}(NEW.value, p.i, {GRAM}), NEW.value\n"
            f"  FROM ({positions}) AS p WHERE p.i <= {length}(NEW.value) - {GRAM - 1}")


def _trigger_sql(dialect) -> list[str]:
    mysql = _mysql(dialect)
    statements = []
    for name, (table, event) in TRIGGERS.items():
        if table == VALUES:
            body = _grams_insert(mysql)
        elif mysql:
            # One INSERT per column, only for a value that is there (the key cannot be NULL,
            # and INSERT IGNORE would store it as ''). MariaDB triggers have no column list:
            # the update triggers run for every update, and find the values already there.
            # A bulk loader pauses them for its session and adds the values afterwards.
            body = f"BEGIN\n  IF {PAUSED} IS NULL THEN\n" + "".join(
                f"    IF NEW.{c} IS NOT NULL THEN\n"
                f"      INSERT IGNORE INTO {VALUES} (kind, value) VALUES ('{c}', NEW.{c});\n"
                f"    END IF;\n" for c in SOURCES[table]) + "  END IF;\nEND"
        else:
            body = "BEGIN\n" + "".join(
                f"  INSERT OR IGNORE INTO {VALUES} (kind, value)\n"
                f"    SELECT '{c}', NEW.{c} WHERE NEW.{c} IS NOT NULL;\n"
                for c in SOURCES[table]) + "END"
        if mysql:
            statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW\n"
                              f"{body}")
        else:
            if table == VALUES:
                body = f"BEGIN\n  {body};\nEND"
            if event == "UPDATE":
                event = f"UPDATE OF {', '.join(SOURCES[table])}"
            statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {table}\n{body}")
    return statements


def _fill_sql(dialect) -> list[str]:
    """Every distinct value there is now (distinct by bytes: on MariaDB under a binary
    collation, else it would keep one spelling of each group the column's collation calls
    equal); the values trigger adds their trigrams."""
    mysql = _mysql(dialect)
    return [f"INSERT {'IGNORE' if mysql else 'OR IGNORE'} INTO {VALUES} (kind, value) "
            f"SELECT DISTINCT '{c}', {c}{' COLLATE utf8mb4_bin' if mysql else ''} "
            f"FROM {table} WHERE {c} IS NOT NULL"
            for table, columns in SOURCES.items() for c in columns]


def _gram_type(dialect) -> sa.types.TypeEngine:
    """The trigram column compares like the searched columns: on MariaDB with the orders
    columns' collation (the search checks that every searched column has it), on SQLite
    NOCASE (its LIKE ignores ASCII case, and only ASCII case)."""
    if dialect.name == "sqlite":
        return sa.String(length=GRAM, collation="NOCASE")
    collation = None
    if _mysql(dialect) and not context.is_offline_mode():
        collation = op.get_bind().execute(sa.text(
            "SELECT collation_name FROM information_schema.columns WHERE table_schema = "
            "DATABASE() AND table_name = 'orders' AND column_name = 'ship_name'")).scalar()
    return sa.String(length=GRAM, collation=collation)


def _search_indexes(columns: list[str]) -> None:
    """Re-runnable: an index that has the columns already is kept."""
    for name, column in SEARCH_INDEXES.items():
        if m.index_columns("orders", name) != [column, *columns]:
            m.drop_index(name, "orders")
            op.create_index(name, "orders", [column, *columns], unique=False)


def upgrade() -> None:
    # Re-runnable (MariaDB commits each DDL statement at once): every step checks whether it
    # is done; the fill is INSERT IGNORE.
    _search_indexes(SORTED)  # before the triggers (should SQLite ever rebuild the table)
    dialect = op.get_context().dialect
    value_type = sa.String(length=VALUE_LENGTH).with_variant(
        sa.String(length=VALUE_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb")
    m.create_table(
        VALUES,
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", value_type, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    m.create_table(
        GRAMS,
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gram", _gram_type(dialect), nullable=False),
        sa.Column("value", value_type, nullable=False),
        sa.PrimaryKeyConstraint("kind", "gram", "value"),
    )
    # Triggers first, then the fill: a row written in between is kept by either.
    for name, statement in zip(TRIGGERS, _trigger_sql(dialect), strict=True):
        if not m.trigger_exists(name):
            op.execute(statement)
    for statement in _fill_sql(dialect):
        op.execute(statement)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table(GRAMS)
    op.drop_table(VALUES)
    _search_indexes(UNSORTED)
