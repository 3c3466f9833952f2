"""/api/products: list with stock filters, detail with sales, create/replace/update/delete."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from northwind_app.api.routing import (
    add_history_route, add_read_routes, add_write_routes, resource_router,
)
from northwind_app.api.schemas import (
    BODY_CONFIG, MoneyOut, RowIdFilter, RowIdPath, column_length, decimal_in, list_query,
    partial_model, text_in,
)
from northwind_app.services import products
from northwind_app.services.validation import MAX_INT
from northwind_app.services.auth import Permission


class ProductItem(BaseModel):
    product_id: int = Field(examples=[1])
    product_name: str = Field(examples=["Chai"])
    supplier_id: int | None
    supplier_name: str | None = Field(examples=["Exotic Liquids"])
    category_id: int | None
    category_name: str | None = Field(examples=["Beverages"])
    quantity_per_unit: str | None = Field(examples=["10 boxes x 20 bags"])
    unit_price: MoneyOut
    units_in_stock: int
    units_on_order: int
    reorder_level: int
    discontinued: bool


class ProductDetail(ProductItem):
    order_count: int = Field(description="Orders with this product.", examples=[38])
    units_sold: int = Field(examples=[828])
    revenue: MoneyOut = Field(description="Sum of the product's line values.")


# Ranges the service checks (with the body's other rules, all named at once); stated here.
ROW_ID = {"minimum": 1, "maximum": MAX_INT}
COUNT = {"minimum": 0, "maximum": MAX_INT}


class ProductFields(BaseModel):
    model_config = ConfigDict(**BODY_CONFIG, json_schema_extra={"examples": [{
        "product_name": "Chai", "supplier_id": 1, "category_id": 1,
        "quantity_per_unit": "10 boxes x 20 bags", "unit_price": "18.00",
        "units_in_stock": 39, "units_on_order": 0, "reorder_level": 10, "discontinued": False,
    }]})

    product_name: str = text_in(column_length(products.COLUMNS.product_name), required=True,
                                description="Required; at most 40 characters.")
    supplier_id: int | None = Field(None, json_schema_extra=ROW_ID,
                                    description="An existing supplier, or null.")
    category_id: int | None = Field(None, json_schema_extra=ROW_ID,
                                    description="An existing category, or null.")
    quantity_per_unit: str | None = text_in(column_length(products.COLUMNS.quantity_per_unit))
    unit_price: decimal_in(digits=9, below=int(products.MAX_PRICE)) = Field(
        description="Required; 0 or more (below 1,000,000,000), at most 4 decimals.")
    units_in_stock: int = Field(0, json_schema_extra=COUNT, description="0 or more.")
    units_on_order: int = Field(0, json_schema_extra=COUNT, description="0 or more.")
    reorder_level: int = Field(0, json_schema_extra=COUNT, description="0 or more.")
    discontinued: bool = False


ProductChanges = partial_model(ProductFields, "ProductChanges",
                               {"unit_price": "19.50", "units_in_stock": 45})

router = resource_router("/api/products", "products")

add_read_routes(
    router, plural="products", singular="product", listing=products.PRODUCTS,
    query=list_query(
        "Product", products.PRODUCTS, "product names",
        category_id=(RowIdFilter, Field(None, description="Products of this category.")),
        supplier_id=(RowIdFilter, Field(None, description="Products of this supplier.")),
        stock=(Literal[tuple(products.STOCK_LEVELS)] | None, Field(None, description=(
            "in_stock: units in stock > 0; low_stock: some in stock, at or below the "
            "reorder level; out_of_stock: none in stock."))),
        discontinued=(bool | None, Field(None, description="true or false.")),
    ),
    item=ProductItem, detail=ProductDetail, get=products.get_product, id_type=RowIdPath,
)
add_write_routes(
    router, singular="product", detail=ProductDetail, id_type=RowIdPath, id_field="product_id",
    new_body=ProductFields, replace_body=ProductFields, patch_body=ProductChanges,
    permission=Permission.WRITE_RECORDS,
    create=products.create_product, replace=products.replace_product,
    update=products.update_product, delete=products.delete_product,
)
add_history_route(router, entity="product", singular="product", id_type=RowIdPath)
