"""Products: listed with their category, supplier and stock state, filtered by category,
supplier, stock and discontinued; created, edited, discontinued and deleted by roles that may
write records; a product's page lists the orders with it."""

from __future__ import annotations

from northwind_app.entities.base import Entity, Field, Filter, Related, text
from northwind_app.money import format_money, format_number
from northwind_app.services import products
from northwind_app.services.auth import Permission
from northwind_app.ui.table import Column

STOCK_OPTIONS = (("in_stock", "In stock"), ("low_stock", "Low stock (1 to reorder level)"),
                 ("out_of_stock", "Out of stock"))


def product_row(r: dict) -> dict[str, str]:
    state, state_color = products.stock_badge(r["units_in_stock"], r["reorder_level"],
                                              r["discontinued"])
    return {"product_id": str(r["product_id"]), "href": f"/products/{r['product_id']}",
            "product_name": r["product_name"], "category_name": text(r["category_name"]),
            "category_href": f"/categories/{r['category_id']}" if r["category_id"] else "",
            "supplier_name": text(r["supplier_name"]),
            "supplier_href": f"/suppliers/{r['supplier_id']}" if r["supplier_id"] else "",
            "unit_price": format_money(r["unit_price"]),
            "units_in_stock": format_number(r["units_in_stock"]),
            "state": state, "state_color": state_color}


PRODUCTS = Entity(
    name="products", noun="product", title="Products",
    listing=products.PRODUCTS,
    columns=(
        Column("product_id", "ID", sort="product_id"),
        Column("product_name", "Product", sort="product_name", link="href"),
        Column("category_name", "Category", sort="category_name", link="category_href"),
        Column("supplier_name", "Supplier", sort="supplier_name", link="supplier_href"),
        Column("unit_price", "Unit price", sort="unit_price", align="right"),
        Column("units_in_stock", "In stock", sort="units_in_stock", align="right"),
        Column("state", "State", badge="state_color"),
    ),
    row=product_row,
    search_placeholder="Product name",
    filters=(
        Filter("category_id", "Category", "categories"),
        Filter("supplier_id", "Supplier", "suppliers", width="14em"),
        Filter("stock", "Stock", STOCK_OPTIONS),
        Filter("discontinued", "Discontinued",
               (("false", "Active only"), ("true", "Discontinued only"))),
    ),
    get=products.get_product,
    fields=(
        Field("product_name", "Product name"),
        Field("category_id", "Category", "select", "categories"),
        Field("supplier_id", "Supplier", "select", "suppliers"),
        Field("quantity_per_unit", "Quantity per unit"),
        Field("unit_price", "Unit price", places=4),
        Field("units_in_stock", "Units in stock", places=0),
        Field("units_on_order", "Units on order", places=0),
        Field("reorder_level", "Reorder level", places=0),
        Field("discontinued", "Discontinued", "checkbox"),
    ),
    new_values={"units_in_stock": "0", "units_on_order": "0", "reorder_level": "0"},
    create=products.create_product,
    replace=products.replace_product,
    delete=products.delete_product,
    may_create=Permission.WRITE_RECORDS,
    may_edit=Permission.WRITE_RECORDS,
    may_delete=Permission.WRITE_RECORDS,
    related=(Related("orders", "Orders with this product",
                     "Order id, customer, ship name or city", "orders", "product_id"),),
)
