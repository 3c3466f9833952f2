"""/api/orders over real HTTP on both backends: the list (paging, sort, search, filters, per
customer and employee), the detail with exact money, the streamed CSV export, and writes with
stock, versions (body `version` and If-Match) and every error status."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from northwind_app.api import orders as orders_api
from northwind_app.data.demo import load_demo
from northwind_app.db.engine import get_engine, session_scope
from northwind_app.db.models import Customer, Employee, Order, OrderDetail, Product, Shipper
from northwind_app.money import money_str
from tests.api.server import api_client, assert_error

ITEM_FIELDS = {"order_id", "order_date", "customer_id", "customer_name", "employee_id",
               "employee_name", "ship_country", "shipper_id", "shipper_name", "status",
               "required_date", "shipped_date", "total"}
CSV_HEADER = ["order_id", "order_date", "customer_id", "customer_name", "employee_id",
              "employee_name", "ship_country", "shipper_name", "status", "required_date",
              "shipped_date", "total"]


def _stock(url: str, *product_ids: int) -> tuple[int, ...]:
    with session_scope(url) as session:
        return tuple(session.get(Product, pid).units_in_stock for pid in product_ids)


def _order_count(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(Order)).scalar_one()


def _csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == CSV_HEADER
    return list(reader)


# --- reads ----------------------------------------------------------------------------------


def test_list_envelope_items_and_default_sort(api_ro):
    page = api_ro.get("/api/orders", params={"limit": 5, "offset": 10}).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (830, 5, 10, 5)
    assert all(set(item) == ITEM_FIELDS for item in page["items"])
    dates = [item["order_date"] for item in page["items"]]
    assert dates == sorted(dates, reverse=True)  # default: newest first

    [vinet] = api_ro.get("/api/orders", params={"q": "10248"}).json()["items"]
    assert vinet == {
        "order_id": 10248, "order_date": "1996-07-04", "customer_id": "VINET",
        "customer_name": "Vins et alcools Chevalier", "employee_id": 5,
        "employee_name": "Steven Buchanan", "ship_country": "France", "shipper_id": 3,
        "shipper_name": "Federal Shipping", "status": "shipped", "required_date": "1996-08-01",
        "shipped_date": "1996-07-16", "total": "472.38"}

    top = api_ro.get("/api/orders", params={"sort": "-total", "limit": 50}).json()["items"]
    assert (top[0]["order_id"], top[0]["total"]) == (10865, "16735.64")
    totals = [Decimal(o["total"]) for o in top]
    assert totals == sorted(totals, reverse=True)
    oldest = api_ro.get("/api/orders", params={"sort": "order_id", "limit": 500}).json()
    assert [o["order_id"] for o in oldest["items"]] == list(range(10248, 10748))


@pytest.mark.parametrize(("params", "total"), [
    ({"customer_id": "vinet"}, 5),
    ({"employee_id": 5}, 42),
    ({"shipper_id": 1}, 249),
    ({"ship_country": "France"}, 77),
    ({"product_id": 11}, 38),
    ({"status": "shipped_late"}, 37),
    ({"status": "late"}, 21),  # the 21 unshipped orders were due in 1998
    ({"status": "new"}, 0),
    ({"status": "shipped"}, 830 - 37 - 21),
    ({"date_from": "1997-01-01", "date_to": "1997-01-31"}, 33),
    ({"q": "chevalier"}, 5),
    ({"q": "reims", "status": "shipped", "customer_id": "VINET"}, 5),
    ({"q": "²"}, 0),  # a digit, but not an order id
    ({"q": "9" * 40}, 0),
])
def test_list_filters_and_search(api_ro, params, total):
    page = api_ro.get("/api/orders", params={**params, "limit": 500}).json()
    assert page["total"] == total and len(page["items"]) == min(total, 500)


def _ranks(url: str) -> dict[str, dict]:
    """Each name a sort compares, by its position in the database's own order (its collation
    decides: SQLite compares bytes, MariaDB utf8mb4_unicode_ci does not), so the list's order
    is checked against the database's, not Python's, idea of alphabetical."""
    with session_scope(url) as session:
        def positions(stmt) -> dict:
            return {value: i for i, (value,) in enumerate(session.execute(stmt))}
        return {
            "customer": positions(select(Customer.customer_id).order_by(
                Customer.company_name, Customer.customer_id)),
            "employee": positions(select(Employee.employee_id).order_by(
                orders_api.svc.EMPLOYEE_NAME, Employee.employee_id)),
            "shipper": positions(select(Shipper.shipper_id).order_by(
                Shipper.company_name, Shipper.shipper_id)),
            "ship_country": positions(select(Order.ship_country).distinct().where(
                Order.ship_country.is_not(None)).order_by(Order.ship_country)),
        }


def _sort_value(key: str, item: dict, ranks: dict[str, dict]):
    """What `key` sorts `item` by, comparable in Python; a missing value sorts lowest."""
    lowest = -1
    if key == "order_id":
        return 0
    if key in ("customer", "employee", "shipper"):
        id_field = "shipper_id" if key == "shipper" else f"{key}_id"
        return ranks[key].get(item[id_field], lowest)
    if key == "ship_country":
        return ranks[key].get(item[key], lowest)
    if key == "status":
        return orders_api.svc.STATUSES.index(item["status"])
    if key == "total":
        return Decimal(item["total"])
    return item[key] or ""  # ISO dates compare as text; "" (none) below every date


def test_every_sort_key_orders_the_list(api_ro, classic_db_ro):
    """Every sort gives every order once, in the sort's order, ties by id (in the same
    direction), in both directions."""
    ranks = _ranks(classic_db_ro)
    for key in orders_api.svc.SORT_KEYS:
        for descending in (False, True):
            sort = f"-{key}" if descending else key
            items = []
            for offset in (0, 500):
                response = api_ro.get("/api/orders",
                                      params={"sort": sort, "limit": 500, "offset": offset})
                assert response.status_code == 200, (sort, response.text)
                items += response.json()["items"]
            assert len(items) == 830 == len({item["order_id"] for item in items}), sort
            keys = [(_sort_value(key, item, ranks), item["order_id"]) for item in items]
            assert keys == sorted(keys, reverse=descending), sort


@pytest.mark.parametrize(("params", "fields"), [
    ({"limit": 0}, {"limit"}),
    ({"limit": 501}, {"limit"}),
    ({"offset": -1}, {"offset"}),
    ({"sort": "colour"}, {"sort"}),
    ({"sort": "-"}, {"sort"}),
    ({"status": "lost", "date_from": "yesterday", "employee_id": "x"},
     {"status", "date_from", "employee_id"}),
    ({"date_from": "0"}, {"date_from"}),
    ({"date_from": "1998-01-02", "date_to": "1998-01-01"}, {"date_to"}),
    ({"customer_id": "TOOLONG", "shipper_id": 0, "product_id": 2**40},
     {"customer_id", "shipper_id", "product_id"}),
])
def test_bad_list_parameters_are_422_naming_each(api_ro, params, fields):
    for path in ("/api/orders", "/api/orders/export.csv"):
        if path.endswith(".csv") and set(params) & {"limit", "offset"}:
            continue
        assert_error(api_ro.get(path, params=params), 422, "validation_failed", fields)
    error = assert_error(api_ro.get("/api/orders", params={"sort": "colour"}), 422,
                         "validation_failed", {"sort"})
    assert "ship_country" in error["fields"]["sort"]


def test_cursor_paging_follows_next_cursor(api_ro):
    """`next_cursor` → `after` walks the list in the offset pages' order; bad cursors are 422."""
    by_offset = [row["order_id"] for offset in (0, 400, 800) for row in api_ro.get(
        "/api/orders", params={"limit": 400, "offset": offset, "sort": "-total"}).json()["items"]]
    by_cursor, after = [], None
    while True:
        page = api_ro.get("/api/orders", params={"limit": 400, "sort": "-total",
                                                 **({"after": after} if after else {})}).json()
        assert page["total"] == 830
        by_cursor += [row["order_id"] for row in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert by_cursor == by_offset and len(by_cursor) == 830
    first = api_ro.get("/api/orders", params={"limit": 5}).json()
    for params, field in (({"after": "nonsense"}, "after"),
                          ({"after": first["next_cursor"], "sort": "-total"}, "after"),
                          ({"after": first["next_cursor"], "offset": 5}, "offset"),
                          ({"after": first["next_cursor"], "sort": "customer"}, "after")):
        assert_error(api_ro.get("/api/orders", params=params), 422, "validation_failed", {field})
    customer = api_ro.get("/api/orders/customer/QUICK", params={"limit": 20}).json()
    rest = api_ro.get("/api/orders/customer/QUICK",
                      params={"limit": 20, "after": customer["next_cursor"]}).json()
    assert len(customer["items"]) + len(rest["items"]) == customer["total"] == 28
    assert rest["next_cursor"] is None


def test_order_detail_with_exact_money(api_ro):
    response = api_ro.get("/api/orders/10248")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    order = response.json()
    assert (order["subtotal"], order["freight"], order["total"]) == ("440.00", "32.38", "472.38")
    assert (order["customer_name"], order["employee_name"], order["shipper_name"]) == (
        "Vins et alcools Chevalier", "Steven Buchanan", "Federal Shipping")
    assert (order["status"], order["version"], order["ship_via"], order["ship_region"]) == (
        "shipped", 1, 3, None)
    assert order["lines"] == [
        {"product_id": 72, "product_name": "Mozzarella di Giovanni", "unit_price": "34.80",
         "quantity": 5, "discount": "0", "line_total": "174.00"},
        {"product_id": 11, "product_name": "Queso Cabrales", "unit_price": "14.00",
         "quantity": 12, "discount": "0", "line_total": "168.00"},
        {"product_id": 42, "product_name": "Singaporean Hokkien Fried Mee", "unit_price": "9.80",
         "quantity": 10, "discount": "0", "line_total": "98.00"},
    ]
    discounted = api_ro.get("/api/orders/10250").json()
    assert {line["discount"] for line in discounted["lines"]} == {"0", "0.15"}
    assert (discounted["subtotal"], discounted["freight"], discounted["total"]) == (
        "1552.60", "65.83", "1618.43")

    assert_error(api_ro.get("/api/orders/99999"), 404, "not_found", set())
    assert_error(api_ro.get("/api/orders/abc"), 422, "validation_failed", {"id"})
    assert_error(api_ro.get("/api/orders/0"), 422, "validation_failed", {"id"})


def test_orders_of_a_customer_and_of_an_employee(api_ro):
    page = api_ro.get("/api/orders/customer/vinet", params={"sort": "order_id"}).json()
    assert page["total"] == 5
    assert [o["order_id"] for o in page["items"]] == [10248, 10274, 10295, 10737, 10739]
    assert {o["customer_id"] for o in page["items"]} == {"VINET"}
    filtered = api_ro.get("/api/orders/customer/VINET", params={"date_from": "1997-01-01",
                                                                "limit": 1, "offset": 1}).json()
    assert (filtered["total"], filtered["limit"], filtered["offset"]) == (2, 1, 1)

    employee = api_ro.get("/api/orders/employee/5", params={"limit": 100}).json()
    assert employee["total"] == 42 and {o["employee_id"] for o in employee["items"]} == {5}
    assert api_ro.get("/api/orders/employee/5", params={"q": "10248"}).json()["total"] == 1

    assert_error(api_ro.get("/api/orders/customer/XXXXX"), 404, "not_found", set())
    assert_error(api_ro.get("/api/orders/employee/99"), 404, "not_found", set())
    assert_error(api_ro.get("/api/orders/employee/abc"), 422, "validation_failed", {"employee_id"})
    assert_error(api_ro.get("/api/orders/customer/VINET", params={"sort": "x"}), 422,
                 "validation_failed", {"sort"})


def test_csv_export_of_the_filtered_sorted_list(api_ro):
    # The query string the orders screen links with (page and size are the screen's own).
    response = api_ro.get("/api/orders/export.csv?customer_id=VINET&sort=order_id&size=50&page=2")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    rows = _csv(response.text)
    assert [r["order_id"] for r in rows] == ["10248", "10274", "10295", "10737", "10739"]
    assert rows[0] == {
        "order_id": "10248", "order_date": "1996-07-04", "customer_id": "VINET",
        "customer_name": "Vins et alcools Chevalier", "employee_id": "5",
        "employee_name": "Steven Buchanan", "ship_country": "France",
        "shipper_name": "Federal Shipping", "status": "shipped", "required_date": "1996-08-01",
        "shipped_date": "1996-07-16", "total": "472.38"}

    # Every matching row, in the list's order (not a page of it).
    everything = _csv(api_ro.get("/api/orders/export.csv", params={"sort": "-total"}).text)
    listed = [(o["order_id"], o["total"]) for offset in (0, 500) for o in api_ro.get(
        "/api/orders", params={"sort": "-total", "limit": 500, "offset": offset}).json()["items"]]
    assert [(int(r["order_id"]), r["total"]) for r in everything] == listed
    assert len(listed) == 830

    unshipped = _csv(api_ro.get("/api/orders/export.csv", params={"status": "late"}).text)
    assert len(unshipped) == 21 and {r["shipped_date"] for r in unshipped} == {""}
    empty = api_ro.get("/api/orders/export.csv", params={"q": "no such order"})
    assert empty.status_code == 200 and _csv(empty.text) == []


def test_database_unreachable_is_503(api_down):
    for response in (api_down.get("/api/orders"), api_down.get("/api/orders/export.csv"),
                     api_down.get("/api/orders/10248"),
                     api_down.get("/api/orders/customer/VINET"),
                     api_down.delete("/api/orders/10248"),
                     api_down.post("/api/orders", json={
                         "customer_id": "VINET", "employee_id": 5, "order_date": "2026-01-02",
                         "lines": [{"product_id": 1, "quantity": 1}]})):
        error = assert_error(response, 503, "database_unavailable", set())
        assert "127.0.0.1" not in error["message"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/orders"), ("PUT", "/api/orders/10248"), ("PATCH", "/api/orders/10248"),
    ("POST", "/api/orders/10248/ship")])
def test_malformed_json_is_400(api_ro, method, path):
    response = api_ro.request(method, path, content=b'{"customer_id": "VINET",',
                              headers={"content-type": "application/json"})
    assert_error(response, 400, "malformed_json", set())


def test_fixed_paths_are_not_taken_for_order_ids(api_ro):
    assert_error(api_ro.post("/api/orders/export.csv"), 405, "method_not_allowed", set())
    assert api_ro.get("/api/orders/customer/VINET").status_code == 200
    assert_error(api_ro.get("/api/orders/customer"), 422, "validation_failed", {"id"})
    assert_error(api_ro.get("/api/orders/10248/lines"), 404, "not_found", set())


# --- writes ---------------------------------------------------------------------------------

NEW_ORDER = {
    "customer_id": "vinet", "employee_id": 5, "order_date": "2026-07-04",
    "required_date": "2099-08-01", "ship_via": 3, "freight": "32.38",  # "new", not "late"
    "ship_name": "Vins et alcools Chevalier", "ship_city": "Reims", "ship_region": "Grand Est",
    "ship_country": "France",
    "lines": [{"product_id": 11, "quantity": 12, "unit_price": "14.00"},
              {"product_id": 72, "quantity": 5, "discount": "0.15"},
              {"product_id": 1, "quantity": 3, "unit_price": 0.125}],
}


def test_order_lifecycle_moves_stock(api, classic_db):
    before = _stock(classic_db, 11, 72, 1, 2)
    assert before == (22, 14, 39, 17)

    created = api.post("/api/orders", json=NEW_ORDER)
    assert created.status_code == 201, created.text
    order = created.json()
    order_id = order["order_id"]
    assert created.headers["location"] == f"/api/orders/{order_id}"
    assert created.headers["etag"] == '"1"'
    assert (order["customer_id"], order["status"], order["version"], order["shipped_date"]) == (
        "VINET", "new", 1, None)
    # 12 × 14.00 + 5 × 34.80 × 0.85 + 3 × 0.125 = 168 + 147.90 + 0.375 → 316.275
    assert [(line["product_id"], line["unit_price"], line["line_total"])
            for line in order["lines"]] == [(1, "0.13", "0.38"), (72, "34.80", "147.90"),
                                            (11, "14.00", "168.00")]
    assert (order["subtotal"], order["freight"], order["total"]) == ("316.28", "32.38", "348.66")
    assert _stock(classic_db, 11, 72, 1, 2) == (10, 9, 36, 17)
    assert api.get(created.headers["location"]).json() == order
    assert api.get("/api/orders", params={"q": str(order_id)}).json()["items"][0]["total"] == (
        "348.66")
    with session_scope(classic_db) as session:  # stored exactly, rounded only when sent
        stored = session.get(Order, order_id)
        assert (stored.subtotal, stored.total) == (Decimal("316.275"), Decimal("348.655"))

    # PATCH: null clears optional fields; the rest (and the lines) stay.
    patched = api.patch(f"/api/orders/{order_id}", headers={"If-Match": '"1"'},
                        json={"required_date": None, "ship_region": None, "ship_via": None,
                              "freight": 10})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["required_date"], body["ship_region"], body["ship_via"], body["shipper_name"],
            body["freight"], body["version"]) == (None, None, None, None, "10.00", 2)
    assert (body["ship_city"], body["subtotal"], len(body["lines"])) == ("Reims", "316.28", 3)
    assert patched.headers["etag"] == '"2"'
    assert _stock(classic_db, 11, 72, 1, 2) == (10, 9, 36, 17)

    # PATCH lines: they replace every line; stock moves by the difference.
    relined = api.patch(f"/api/orders/{order_id}", json={
        "version": 2,
        "lines": [{"product_id": 11, "quantity": 2}, {"product_id": 2, "quantity": 4}]})
    assert relined.status_code == 200, relined.text
    assert [(line["product_id"], line["quantity"], line["unit_price"])
            for line in relined.json()["lines"]] == [(2, 4, "19.00"), (11, 2, "21.00")]
    assert _stock(classic_db, 11, 72, 1, 2) == (20, 14, 39, 13)

    # PUT: a whole order; fields left out are cleared, the lines replaced.
    replaced = api.put(f"/api/orders/{order_id}", json={
        "customer_id": "VINET", "employee_id": 6, "order_date": "2026-07-05",
        "lines": [{"product_id": 2, "quantity": 1, "unit_price": "19.5", "discount": "0.05"}],
        "version": 3})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["employee_name"], body["ship_name"], body["ship_city"], body["freight"],
            body["total"], body["version"]) == ("Michael Suyama", None, None, "0.00", "18.53", 4)
    assert _stock(classic_db, 11, 72, 1, 2) == (22, 14, 39, 16)

    # Ship, then shipping again is a conflict; PUT keeps the shipped date.
    shipped = api.post(f"/api/orders/{order_id}/ship",
                       json={"shipped_date": "2026-07-06", "ship_via": 2, "version": 4})
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["status"], shipped.json()["shipped_date"],
            shipped.json()["shipper_name"], shipped.json()["version"]) == (
        "shipped", "2026-07-06", "United Package", 5)
    again = api.post(f"/api/orders/{order_id}/ship",
                     json={"shipped_date": "2026-07-07", "ship_via": 2})
    error = assert_error(again, 409, "conflict", {"shipped_date"})
    assert "already shipped on 2026-07-06" in error["message"]
    # A shipped order's lines are frozen (409); its header may change and PUT keeps the date.
    frozen = api.put(f"/api/orders/{order_id}", json={
        "customer_id": "VINET", "employee_id": 6, "order_date": "2026-07-05", "ship_via": 2,
        "lines": [{"product_id": 2, "quantity": 3}]})
    assert "lines are frozen" in assert_error(frozen, 409, "conflict", {"lines"})["message"]
    kept = api.put(f"/api/orders/{order_id}", json={
        "customer_id": "VINET", "employee_id": 6, "order_date": "2026-07-05", "ship_via": 2,
        "lines": [{"product_id": 2, "quantity": 1, "unit_price": "19.5", "discount": "0.05"}]})
    assert kept.status_code == 200, kept.text
    kept = kept.json()
    assert (kept["shipped_date"], kept["status"], kept["version"]) == ("2026-07-06", "shipped", 6)

    # DELETE: a stale version is refused; a shipped order is never deleted nor cancelled.
    stale = api.delete(f"/api/orders/{order_id}", params={"version": 5})
    assert "changed by someone else" in assert_error(stale, 409, "conflict", {"version"})["message"]
    shipped_delete = api.delete(f"/api/orders/{order_id}", headers={"If-Match": 'W/"6"'})
    assert "cannot be deleted" in assert_error(shipped_delete, 409, "conflict")["message"]
    shipped_cancel = api.post(f"/api/orders/{order_id}/cancel", headers={"If-Match": '"6"'})
    assert "cannot be cancelled" in assert_error(shipped_cancel, 409, "conflict")["message"]
    assert _stock(classic_db, 11, 72, 1, 2) == (22, 14, 39, 16)

    # An open order is cancelled (kept, stock back), then may be deleted (stock not again).
    open_id = api.post("/api/orders", json=NEW_ORDER).json()["order_id"]
    assert _stock(classic_db, 11, 72, 1, 2) == (10, 9, 36, 16)
    stale = api.post(f"/api/orders/{open_id}/cancel", json={"version": 7})
    assert "changed by someone else" in assert_error(stale, 409, "conflict", {"version"})["message"]
    cancelled = api.post(f"/api/orders/{open_id}/cancel", headers={"If-Match": '"1"'})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["version"], cancelled.headers["etag"],
            len(cancelled.json()["lines"])) == ("cancelled", 2, '"2"', 3)
    assert cancelled.json()["cancelled_at"] is not None
    assert _stock(classic_db, 11, 72, 1, 2) == (22, 14, 39, 16)
    again = api.post(f"/api/orders/{open_id}/cancel")
    assert "cancelled on" in assert_error(again, 409, "conflict", {"status"})["message"]
    assert_error(api.patch(f"/api/orders/{open_id}", json={"freight": 1}), 409, "conflict")
    assert [item["order_id"] for item in api.get(
        "/api/orders", params={"status": "cancelled"}).json()["items"]] == [open_id]
    deleted = api.delete(f"/api/orders/{open_id}", headers={"If-Match": 'W/"2"'})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert _stock(classic_db, 11, 72, 1, 2) == (22, 14, 39, 16)
    assert_error(api.get(f"/api/orders/{open_id}"), 404, "not_found")
    gone = assert_error(api.delete(f"/api/orders/{open_id}"), 404, "not_found")
    assert f"Order {open_id} was deleted by " in gone["message"]  # from the audit trail
    assert_error(api.patch(f"/api/orders/{open_id}", json={"freight": 1}), 404, "not_found")
    assert_error(api.post(f"/api/orders/{open_id}/ship",
                          json={"shipped_date": "2026-07-06", "ship_via": 2}), 404, "not_found")
    assert_error(api.post(f"/api/orders/{open_id}/cancel"), 404, "not_found")
    assert _order_count(classic_db) == 831


def test_delete_a_classic_order_restores_its_stock(api, classic_db):
    before = _stock(classic_db, 11, 42, 72)
    shipped = api.delete("/api/orders/10248", headers={"If-Match": "*"})  # shipped 1996-07-16
    assert "shipped on 1996-07-16" in assert_error(shipped, 409, "conflict")["message"]
    assert _stock(classic_db, 11, 42, 72) == before
    with session_scope(classic_db) as session:  # 11077 never shipped
        lines = dict(session.execute(select(OrderDetail.product_id, OrderDetail.quantity)
                                     .where(OrderDetail.order_id == 11077)).all())
    stock = _stock(classic_db, *lines)
    assert api.delete("/api/orders/11077", headers={"If-Match": "*"}).status_code == 204
    assert _stock(classic_db, *lines) == tuple(s + q for s, q in zip(stock, lines.values()))
    with session_scope(classic_db) as session:
        assert session.execute(select(func.count()).select_from(OrderDetail)
                               .where(OrderDetail.order_id == 11077)).scalar_one() == 0


def test_a_shipped_date_after_today_is_a_422_naming_it(api, classic_db):
    future = api.post("/api/orders/11077/ship", json={"shipped_date": "2999-01-01",
                                                     "ship_via": 2})
    error = assert_error(future, 422, "validation_failed", {"shipped_date"})
    assert "server's date" in error["fields"]["shipped_date"]


def test_cancel_is_documented_in_openapi(api_ro):
    spec = api_ro.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/orders/{id}/cancel"]["post"]
    assert "Cancel an order that has not shipped" in operation["summary"]
    assert {"200", "404", "409"} <= set(operation["responses"])
    assert "if-match" in {p["name"].lower() for p in operation["parameters"]}
    assert "cancelled" in spec["components"]["schemas"]["OrderOut"]["properties"]["status"][
        "description"]


def test_invalid_orders_are_422_naming_every_field(api, classic_db):
    # What the schema states (text, ids, decimal strings) is checked first, all at once ...
    invalid = api.post("/api/orders", json={
        "customer_id": "TOOLONG", "employee_id": 0, "order_date": "2026-07-04",
        "required_date": "2026-07-01", "freight": "-1", "ship_city": "x" * 31,
        "lines": [{"product_id": 11, "quantity": 0}, {"product_id": 11, "quantity": 1},
                  {"product_id": 1, "quantity": 1, "unit_price": "1.23456", "discount": "1.5"}]})
    error = assert_error(invalid, 422, "validation_failed", {
        "customer_id", "freight", "ship_city", "lines[2].unit_price", "lines[2].discount"})
    assert error["fields"]["lines[2].unit_price"] == "must have at most 4 decimal places"
    assert error["fields"]["customer_id"] == "must be exactly 5 letters A-Z"
    # ... then the service's rules, each named as the service names it, all at once.
    invalid = api.post("/api/orders", json={
        "customer_id": "VINET", "employee_id": 0, "order_date": "2026-07-04",
        "required_date": "2026-07-01", "freight": -1,
        "lines": [{"product_id": 11, "quantity": 0}, {"product_id": 11, "quantity": 1},
                  {"product_id": 1, "quantity": 1, "unit_price": 1.23456, "discount": 1.5}]})
    error = assert_error(invalid, 422, "validation_failed", {
        "employee_id", "required_date", "freight", "lines[0].quantity", "lines[1].product_id",
        "lines[2].unit_price", "lines[2].discount"})
    assert error["fields"]["lines[2].unit_price"] == "must have at most 4 decimal places"
    assert error["fields"]["required_date"] == "must not be before the order date"

    # JSON types: checked before the service runs.
    typed = api.post("/api/orders", json={
        "customer_id": 5, "employee_id": "5", "order_date": "04/07/2026", "colour": "red",
        "lines": [{"product_id": 1, "quantity": 1.5}]})
    error = assert_error(typed, 422, "validation_failed", {
        "customer_id", "employee_id", "order_date", "colour", "lines[0].quantity"})
    assert error["fields"]["order_date"] == "must be a date (YYYY-MM-DD)"
    assert error["fields"]["colour"] == "is not a field that can be set"
    missing = api.post("/api/orders", json={"lines": []})
    assert set(assert_error(missing, 422, "validation_failed")["fields"]) == {
        "customer_id", "order_date"}
    # employee_id may be left out only by a user linked to an employee; the admin is not.
    unlinked = api.post("/api/orders", json={**NEW_ORDER, "employee_id": None})
    assert assert_error(unlinked, 422, "validation_failed", {"employee_id"})["fields"] == {
        "employee_id": "is required (your account is not linked to an employee)"}
    assert assert_error(api.post("/api/orders", json={
        "customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04", "lines": []}),
        422, "validation_failed")["fields"] == {"lines": "an order needs at least one line"}
    huge = api.post("/api/orders", headers={"content-type": "application/json"}, content=(
        b'{"customer_id": "VINET", "employee_id": 5, "order_date": "2026-07-04", '
        b'"freight": 1e400, "lines": [{"product_id": 1, "quantity": 1, "discount": 0.00001}]}'))
    assert_error(huge, 422, "validation_failed", {"freight", "lines[0].discount"})

    # References are checked against the database.
    unknown = api.post("/api/orders", json={
        "customer_id": "XXXXX", "employee_id": 99, "order_date": "2026-07-04", "ship_via": 9,
        "lines": [{"product_id": 1, "quantity": 1}]})
    assert_error(unknown, 422, "validation_failed", {"customer_id", "employee_id", "ship_via"})
    no_product = api.post("/api/orders", json={**NEW_ORDER, "lines": [
        {"product_id": 1, "quantity": 1}, {"product_id": 999, "quantity": 1},
        {"product_id": 9, "quantity": 1}]})
    error = assert_error(no_product, 422, "validation_failed",
                         {"lines[1].product_id", "lines[2].product_id"})
    assert "discontinued" in error["fields"]["lines[2].product_id"]

    # Not enough stock: 409, naming the line and what is available.
    short = api.post("/api/orders", json={**NEW_ORDER, "lines": [
        {"product_id": 1, "quantity": 2}, {"product_id": 11, "quantity": 23}]})
    error = assert_error(short, 409, "conflict", {"lines[1].quantity"})
    assert error["fields"]["lines[1].quantity"] == (
        "Queso Cabrales: 23 asked, 22 in stock, 1 missing")
    frozen = api.patch("/api/orders/10248", json={"lines": [{"product_id": 72, "quantity": 20}]})
    assert "lines are frozen" in assert_error(frozen, 409, "conflict", {"lines"})["message"]
    open_id = api.post("/api/orders", json=NEW_ORDER).json()["order_id"]  # 5 of 14 Mozzarella
    growing = api.patch(f"/api/orders/{open_id}",
                        json={"lines": [{"product_id": 72, "quantity": 20}]})
    assert assert_error(growing, 409, "conflict", {"lines[0].quantity"})["fields"][
        "lines[0].quantity"] == ("Mozzarella di Giovanni: 20 asked (15 more than before), "
                                 "9 in stock, 6 missing")
    assert api.delete(f"/api/orders/{open_id}").status_code == 204  # stock back, as before

    # PATCH merges, then validates the whole order; PUT needs the required fields.
    assert_error(api.patch("/api/orders/10248", json={"customer_id": None}), 422,
                 "validation_failed", {"customer_id"})
    assert_error(api.patch("/api/orders/10248", json={"order_date": None}), 422,
                 "validation_failed", {"order_date"})
    assert_error(api.patch("/api/orders/10248", json={"required_date": "1996-07-01"}), 422,
                 "validation_failed", {"required_date"})
    assert_error(api.patch("/api/orders/10248", json={"shipped_date": "1996-07-01"}), 422,
                 "validation_failed", {"shipped_date"})
    assert_error(api.put("/api/orders/10248", json={"freight": "1.00"}), 422,
                 "validation_failed", {"customer_id", "employee_id", "order_date", "lines"})
    assert_error(api.put("/api/orders/99999", json=NEW_ORDER), 404, "not_found")

    # Nothing above was written.
    assert _order_count(classic_db) == 830
    assert _stock(classic_db, 1, 11, 72) == (39, 22, 14)
    order = api.get("/api/orders/10248").json()
    assert (order["version"], order["total"], order["required_date"]) == (1, "472.38", "1996-08-01")


def test_versions_in_body_and_if_match(api):
    change = {"freight": "40.00"}
    stale = api.patch("/api/orders/10248", json={**change, "version": 7})
    error = assert_error(stale, 409, "conflict", {"version"})
    assert "changed by someone else" in error["message"] and "your version 7, now 1" in (
        error["message"])
    assert_error(api.patch("/api/orders/10248", json=change, headers={"If-Match": '"2"'}), 409,
                 "conflict", {"version"})
    assert_error(api.put("/api/orders/10248", json={**NEW_ORDER, "version": 2}), 409, "conflict",
                 {"version"})
    assert_error(api.post("/api/orders/10249/ship", headers={"If-Match": '"3"'},
                          json={"shipped_date": "2026-07-06", "ship_via": 2}), 409, "conflict")
    assert_error(api.patch("/api/orders/10248", json={**change, "version": 1},
                           headers={"If-Match": '"2"'}), 422, "validation_failed", {"version"})
    assert_error(api.patch("/api/orders/10248", json=change, headers={"If-Match": "latest"}),
                 422, "validation_failed", {"If-Match"})
    assert_error(api.delete("/api/orders/10248", params={"version": "one"}), 422,
                 "validation_failed", {"version"})
    assert api.get("/api/orders/10248").json()["freight"] == "32.38"

    ok = api.patch("/api/orders/10248", json={**change, "version": 1},
                   headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["freight"] == "40.00"
    assert ok.json()["total"] == "480.00" and ok.headers["etag"] == '"2"'
    assert api.patch("/api/orders/10248", json={"freight": 1}).json()["version"] == 3  # no check


def test_ship_errors(api):
    # 11008 is unshipped (ordered 1998-04-08).
    bad = api.post("/api/orders/11008/ship", json={"shipped_date": "1998-04-07", "ship_via": 9})
    assert_error(bad, 422, "validation_failed", {"shipped_date", "ship_via"})
    not_a_date = api.post("/api/orders/11008/ship", json={"shipped_date": "soon", "ship_via": 0})
    assert_error(not_a_date, 422, "validation_failed", {"shipped_date"})
    assert_error(api.post("/api/orders/11008/ship", json={"shipped_date": "1998-04-09"}), 422,
                 "validation_failed", {"ship_via"})
    assert_error(api.post("/api/orders/11008/ship", json={"shipped_date": "1998-04-09",
                                                          "ship_via": 0}),
                 422, "validation_failed", {"ship_via"})
    assert api.get("/api/orders/11008").json()["status"] == "late"
    shipped = api.post("/api/orders/11008/ship", json={"shipped_date": "1998-04-09", "ship_via": 1})
    assert shipped.status_code == 200
    assert (shipped.json()["status"], shipped.json()["version"]) == ("shipped", 2)
    assert_error(api.post("/api/orders/10248/ship", json={"shipped_date": "1998-04-09",
                                                          "ship_via": 1}),
                 409, "conflict", {"shipped_date"})


# --- a large export streams -------------------------------------------------------------------

DEMO_ORDERS = 20_000


@pytest.fixture
def demo_db(empty_db):
    with get_engine(empty_db).begin() as conn:
        load_demo(conn, orders=DEMO_ORDERS, seed=7)
    return empty_db


def test_large_export_is_streamed_in_chunks(demo_db, monkeypatch):
    monkeypatch.setattr(orders_api, "CSV_CHUNK", 16 * 1024)
    produced = []
    real_chunks = orders_api.csv_chunks

    def counting(*args):
        for chunk in real_chunks(*args):
            produced.append(len(chunk))
            yield chunk

    monkeypatch.setattr(orders_api, "csv_chunks", counting)
    with api_client(demo_db) as client, \
            client.stream("GET", "/api/orders/export.csv", params={"sort": "order_id"}) as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        received = list(response.iter_raw())
        text = b"".join(received).decode("utf-8")
    rows = _csv(text)
    assert len(rows) == DEMO_ORDERS
    assert [int(r["order_id"]) for r in rows] == sorted(int(r["order_id"]) for r in rows)
    # Written and sent piece by piece: many chunks, each about CSV_CHUNK characters.
    assert len(produced) > 20 and max(produced) < 17 * 1024
    assert len(received) > 5
    with session_scope(demo_db) as session:
        stored = session.execute(select(Order.order_id, Order.total).order_by(Order.order_id))
        assert [(int(r["order_id"]), r["total"]) for r in rows] == [
            (order_id, money_str(total)) for order_id, total in stored]


def test_csv_cells_cannot_become_spreadsheet_formulas():
    from northwind_app.api.orders import _csv_value

    assert _csv_value("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert _csv_value("@SUM(A1)") == "'@SUM(A1)"
    assert _csv_value("Vins et alcools Chevalier") == "Vins et alcools Chevalier"
