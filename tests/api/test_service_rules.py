"""The service layer on its own (as the screens call it): list parameters and input rules
give the same named errors without FastAPI in front."""

from __future__ import annotations

from decimal import Decimal

import pytest

from northwind_app.db.engine import session_scope
from northwind_app.money import PLAIN_DECIMAL_TEXT
from northwind_app.services import catalog, customers, products
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import ListParams
from northwind_app.services.validation import clean_fields


def test_listing_rejects_unknown_sort_filters_and_bad_paging(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        with pytest.raises(Invalid) as failed:
            customers.CUSTOMERS.page(session, ListParams(sort="-colour"))
        assert set(failed.value.fields) == {"sort"}
        with pytest.raises(Invalid) as failed:
            products.PRODUCTS.page(session, ListParams(filters={"stock": "plenty", "colour": 1}))
        assert set(failed.value.fields) == {"stock", "colour"}
        with pytest.raises(Invalid) as failed:
            catalog.SHIPPERS.page(session, ListParams(limit=0, offset=-1))
        assert set(failed.value.fields) == {"limit", "offset"}
        # Screens may pass form strings for flags.
        page = products.PRODUCTS.page(session, ListParams(limit=100,
                                                          filters={"discontinued": "yes"}))
        assert page.total == 8 and all(p["discontinued"] for p in page.items)
        assert (page.first_row, page.last_row) == (1, 8)


def test_rules_parse_form_input_exactly():
    values = clean_fields(products.RULES, {"product_name": " Tea ", "unit_price": "1234.5678",
                                           "units_in_stock": "12", "discontinued": "no",
                                           "category_id": ""})
    assert values == {"product_name": "Tea", "supplier_id": None, "category_id": None,
                      "quantity_per_unit": None, "unit_price": Decimal("1234.5678"),
                      "units_in_stock": 12, "units_on_order": 0, "reorder_level": 0,
                      "discontinued": False}
    with pytest.raises(Invalid) as failed:
        clean_fields(products.RULES, {"product_name": "Tea", "unit_price": 1.5,
                                      "units_in_stock": "1.5", "discontinued": "perhaps"})
    assert failed.value.fields == {"units_in_stock": "must be a whole number",
                                   "discontinued": "must be true or false"}
    # Locale-free: a comma is neither a decimal nor a group separator (it used to be dropped,
    # turning 12,50 into 1250).
    with pytest.raises(Invalid) as failed:
        clean_fields(products.RULES, {"product_name": "Tea", "unit_price": "12,50",
                                      "units_in_stock": "1,000"})
    assert failed.value.fields == {"unit_price": f"must be {PLAIN_DECIMAL_TEXT}",
                                   "units_in_stock": "must be a whole number"}
    with pytest.raises(Invalid) as failed:
        clean_fields(customers.NEW, {"customer_id": "ab cd", "company_name": "A\x00B"})
    assert failed.value.fields == {"customer_id": "must be exactly 5 letters A-Z",
                                   "company_name": "contains characters that cannot be stored"}
    assert clean_fields(customers.EDITABLE, {"city": None}, partial=True) == {"city": None}
