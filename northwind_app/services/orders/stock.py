"""Stock: every save moves `products.units_in_stock` by the change in quantity, in the
same transaction, with conditional updates so concurrent saves never drive it negative."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from northwind_app.db.models import OrderDetail, Product
from northwind_app.services.errors import Conflict


def _current_lines(session: Session, order_id: int) -> dict[int, int]:
    return dict(session.execute(
        select(OrderDetail.product_id, OrderDetail.quantity)
        .where(OrderDetail.order_id == order_id)).all())


def _apply_stock(session: Session, deltas: dict[int, int], line_fields: dict[int, str],
                 wanted: dict[int, int] | None = None) -> None:
    """Take (delta > 0) or return (delta < 0) stock, in product-id order to avoid deadlocks.

    A take only succeeds while enough stock remains (one atomic conditional UPDATE), so
    concurrent saves can never drive stock negative. A line whose quantity stays has its
    product locked too, in the same order: inserting the line would share-lock it later
    (the foreign key), and another save holding it while it waits for one of ours deadlocks.
    """
    shortages: dict[str, str] = {}
    table = Product.__table__
    wanted = wanted or {}
    for product_id in sorted(deltas):
        delta = deltas[product_id]
        if delta == 0:
            session.execute(select(table.c.product_id)
                            .where(table.c.product_id == product_id).with_for_update())
            continue
        if delta > 0:
            result = session.execute(
                update(table)
                .where(table.c.product_id == product_id, table.c.units_in_stock >= delta)
                .values(units_in_stock=table.c.units_in_stock - delta))
            if result.rowcount != 1:
                name, available = session.execute(
                    select(Product.product_name, Product.units_in_stock)
                    .where(Product.product_id == product_id)).one()
                shortages[line_fields.get(product_id, "lines")] = shortage_text(
                    name, wanted.get(product_id, delta), delta, available)
        else:
            session.execute(
                update(table).where(table.c.product_id == product_id)
                .values(units_in_stock=table.c.units_in_stock - delta))
    if shortages:
        raise Conflict("Not enough stock for " + "; ".join(shortages.values()) + ".", shortages)


def shortage_text(name: str, asked: int, more: int, available: int) -> str:
    """"Royal Chai: 5 asked, 1 in stock, 4 missing" (an edit from 3 to 8: "8 asked, 5 more
    than before, ..."); `more` is what the save takes from stock, `available` what is there."""
    extra = "" if more == asked else f" ({more} more than before)"
    return (f"{name}: {asked} asked{extra}, {available} in stock, "
            f"{more - available} missing")
