"""Search, sort and filter input cannot change the SQL: text is always a bound value, LIKE
wildcards in it are literal, and sort keys come from a whitelist (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from northwind_app.db.engine import session_scope
from northwind_app.db.models import Order
from northwind_app.services import customers, orders
from northwind_app.services.errors import Invalid
from northwind_app.services.listing import ListParams

ATTACKS = ["' OR '1'='1", "x' OR 1=1 -- ", "\"; DROP TABLE orders; --", "%", "_", "\\",
           "%' UNION SELECT password_hash FROM users -- "]


@pytest.mark.parametrize("text", ATTACKS)
def test_search_text_is_a_value(classic_db_ro, text):
    with session_scope(classic_db_ro) as session:
        assert orders.list_orders(session, ListParams(search=text)).total == 0
        assert customers.CUSTOMERS.page(session, ListParams(search=text)).total == 0
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 830


def test_like_wildcards_match_literally(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        # "Bólido" has no "_" : a wildcard would have matched every name of that length.
        assert customers.CUSTOMERS.page(session, ListParams(search="B_lido")).total == 0
        assert customers.CUSTOMERS.page(session, ListParams(search="Bólido")).total == 1


@pytest.mark.parametrize("sort", ["order_id; DROP TABLE orders", "(select 1)", "total desc",
                                  "1", "-", "customer_name"])
def test_sort_outside_the_whitelist_is_refused(classic_db_ro, sort):
    with session_scope(classic_db_ro) as session, pytest.raises(Invalid) as failed:
        orders.list_orders(session, ListParams(sort=sort))
    assert set(failed.value.fields) == {"sort"}


def test_filter_values_are_values(classic_db_ro):
    with session_scope(classic_db_ro) as session:
        page = orders.list_orders(session, ListParams(
            filters={"ship_country": "France' OR '1'='1", "customer_id": "x' OR 1=1"}))
        assert page.total == 0
        with pytest.raises(Invalid) as failed:
            orders.list_orders(session, ListParams(filters={"employee_id": "1 OR 1=1"}))
        assert "employee_id" in failed.value.fields
