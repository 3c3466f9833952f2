"""Customers, products, employees, suppliers, categories and shippers: lists and detail pages.

Every list (top-level or embedded in a detail page) is an `EntityList` on the shared table;
detail pages load one record through its service in a worker thread and link to related pages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import reflex as rx

from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.money import cents, format_money, format_number, format_percent
from northwind_app.pages.orders import COLUMNS as ORDER_COLUMNS
from northwind_app.pages.orders import OrdersListing
from northwind_app.services import audit, catalog, customers, products
from northwind_app.services import dashboard as figures
from northwind_app.services.errors import NotFound, ServiceError
from northwind_app.ui import outage
from northwind_app.ui.auth import AuthState, actor_of
from northwind_app.ui.entity_list import EntityList, list_state, path_part
from northwind_app.ui.format import date_text
from northwind_app.ui.history import HistoryRow, history_panel, history_rows
from northwind_app.ui.layout import page
from northwind_app.ui.table import Column, data_table, filter_select
from northwind_app.ui.widgets import address_card, confirm_delete_dialog, contact_card

log = logging.getLogger(__name__)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


# --- row formatters ----------------------------------------------------------------------------

def customer_row(r: dict) -> dict[str, str]:
    return {"customer_id": r["customer_id"], "href": f"/customers/{r['customer_id']}",
            "company_name": r["company_name"], "contact_name": _s(r["contact_name"]),
            "contact_title": _s(r["contact_title"]), "city": _s(r["city"]),
            "country": _s(r["country"]), "phone": _s(r["phone"])}


def product_row(r: dict) -> dict[str, str]:
    state, state_color = products.stock_badge(r["units_in_stock"], r["reorder_level"],
                                              r["discontinued"])
    return {"product_id": str(r["product_id"]), "href": f"/products/{r['product_id']}",
            "product_name": r["product_name"], "category_name": _s(r["category_name"]),
            "category_href": f"/categories/{r['category_id']}" if r["category_id"] else "",
            "supplier_name": _s(r["supplier_name"]),
            "supplier_href": f"/suppliers/{r['supplier_id']}" if r["supplier_id"] else "",
            "unit_price": format_money(r["unit_price"]),
            "units_in_stock": format_number(r["units_in_stock"]),
            "state": state, "state_color": state_color}


def employee_row(r: dict) -> dict[str, str]:
    return {"employee_id": str(r["employee_id"]), "href": f"/employees/{r['employee_id']}",
            "name": f"{r['first_name']} {r['last_name']}", "title": _s(r["title"]),
            "hire_date": date_text(r["hire_date"]), "city": _s(r["city"]),
            "country": _s(r["country"]), "manager": _s(r["manager_name"]),
            "manager_href": f"/employees/{r['reports_to']}" if r["reports_to"] else ""}


def supplier_row(r: dict) -> dict[str, str]:
    return {"supplier_id": str(r["supplier_id"]), "href": f"/suppliers/{r['supplier_id']}",
            "company_name": r["company_name"], "contact_name": _s(r["contact_name"]),
            "city": _s(r["city"]), "country": _s(r["country"]), "phone": _s(r["phone"])}


def category_row(r: dict) -> dict[str, str]:
    return {"category_id": str(r["category_id"]), "href": f"/categories/{r['category_id']}",
            "category_name": r["category_name"], "description": _s(r["description"])}


def shipper_row(r: dict) -> dict[str, str]:
    return {"shipper_id": str(r["shipper_id"]), "href": f"/shippers/{r['shipper_id']}",
            "company_name": r["company_name"], "phone": _s(r["phone"])}


# --- list specs ----------------------------------------------------------------------------------

CUSTOMER_COLUMNS = [
    Column("customer_id", "ID", sort="customer_id", link="href"),
    Column("company_name", "Company", sort="company_name", link="href"),
    Column("contact_name", "Contact", sort="contact_name"),
    Column("contact_title", "Title"),
    Column("city", "City", sort="city"),
    Column("country", "Country", sort="country"),
    Column("phone", "Phone"),
]
PRODUCT_COLUMNS = [
    Column("product_id", "ID", sort="product_id"),
    Column("product_name", "Product", sort="product_name", link="href"),
    Column("category_name", "Category", sort="category_name", link="category_href"),
    Column("supplier_name", "Supplier", sort="supplier_name", link="supplier_href"),
    Column("unit_price", "Unit price", sort="unit_price", align="right"),
    Column("units_in_stock", "In stock", sort="units_in_stock", align="right"),
    Column("state", "State", badge="state_color"),
]
EMPLOYEE_COLUMNS = [
    Column("name", "Name", sort="last_name", link="href"),
    Column("title", "Title", sort="title"),
    Column("manager", "Reports to", link="manager_href"),
    Column("hire_date", "Hired", sort="hire_date"),
    Column("city", "City"),
    Column("country", "Country", sort="country"),
]
SUPPLIER_COLUMNS = [
    Column("company_name", "Supplier", sort="company_name", link="href"),
    Column("contact_name", "Contact", sort="contact_name"),
    Column("city", "City", sort="city"),
    Column("country", "Country", sort="country"),
    Column("phone", "Phone"),
]
CATEGORY_COLUMNS = [
    Column("category_name", "Category", sort="category_name", link="href"),
    Column("description", "Description"),
]
SHIPPER_COLUMNS = [
    Column("company_name", "Shipper", sort="company_name", link="href"),
    Column("phone", "Phone"),
]


def _fixed(name: str, index: int = 1) -> Callable[[str], dict[str, str]]:
    return lambda path: {name: path_part(path, index)}


def _identity(row: dict) -> dict:
    return row


SPECS = {
    "customers": EntityList("customers", "/customers", customers.CUSTOMERS, CUSTOMER_COLUMNS,
                            customer_row, ("country",)),
    "products": EntityList("products", "/products", products.PRODUCTS, PRODUCT_COLUMNS,
                           product_row, ("category_id", "supplier_id", "stock", "discontinued")),
    "employees": EntityList("employees", "/employees", catalog.EMPLOYEES, EMPLOYEE_COLUMNS,
                            employee_row, ("country",)),
    "suppliers": EntityList("suppliers", "/suppliers", catalog.SUPPLIERS, SUPPLIER_COLUMNS,
                            supplier_row, ("country",)),
    "categories": EntityList("categories", "/categories", catalog.CATEGORIES, CATEGORY_COLUMNS,
                             category_row),
    "shippers": EntityList("shippers", "/shippers", catalog.SHIPPERS, SHIPPER_COLUMNS, shipper_row),
    # Lists embedded in detail pages: the page's id is a fixed filter.
    "customer_orders": EntityList("customer_orders", "/customers", OrdersListing, ORDER_COLUMNS,
                                  _identity, fixed_from_path=_fixed("customer_id")),
    "employee_orders": EntityList("employee_orders", "/employees", OrdersListing, ORDER_COLUMNS,
                                  _identity, fixed_from_path=_fixed("employee_id")),
    "shipper_orders": EntityList("shipper_orders", "/shippers", OrdersListing, ORDER_COLUMNS,
                                 _identity, fixed_from_path=_fixed("shipper_id")),
    "product_orders": EntityList("product_orders", "/products", OrdersListing, ORDER_COLUMNS,
                                 _identity, fixed_from_path=_fixed("product_id")),
    "supplier_products": EntityList("supplier_products", "/suppliers", products.PRODUCTS,
                                    PRODUCT_COLUMNS, product_row,
                                    fixed_from_path=_fixed("supplier_id")),
    "category_products": EntityList("category_products", "/categories", products.PRODUCTS,
                                    PRODUCT_COLUMNS, product_row,
                                    fixed_from_path=_fixed("category_id")),
}
STATES = {name: list_state(spec) for name, spec in SPECS.items()}
# The list each detail page embeds.
EMBEDDED = {"customers": "customer_orders", "products": "product_orders",
            "employees": "employee_orders", "suppliers": "supplier_products",
            "categories": "category_products", "shippers": "shipper_orders"}


def _options() -> dict[str, list[list[str]]]:
    with session_scope() as session:
        return {name: [list(choice) for choice in choices]
                for name, choices in catalog.filter_choices(session).items()}


class CatalogOptions(rx.State):
    """Choices for the list filters (loaded once per tab)."""

    customer_countries: list[list[str]] = []
    supplier_countries: list[list[str]] = []
    employee_countries: list[list[str]] = []
    categories: list[list[str]] = []
    suppliers: list[list[str]] = []

    @rx.event
    async def load(self):
        for name, values in (await asyncio.to_thread(_options)).items():
            setattr(self, name, values)


STOCK_OPTIONS = [("in_stock", "In stock"), ("low_stock", "Low stock (1 to reorder level)"),
                 ("out_of_stock", "Out of stock")]


def _new_button(href: str, label: str) -> rx.Component:
    return rx.cond(AuthState.can_write_records,
                   rx.link(rx.button(rx.icon("plus", size=16), label), href=href,
                           data_testid="new-record"))


def list_page(name: str, title: str, search: str, filters=None, actions=None) -> Callable:
    def render() -> rx.Component:
        state = STATES[name]
        return page(title, data_table(state, SPECS[name].columns, search_placeholder=search,
                                      filters=filters(state) if filters else None,
                                      actions=actions, empty_text=f"No {title.lower()} match."))
    return render


customers_page = list_page(
    "customers", "Customers", "ID, company, contact, city or country",
    lambda s: [filter_select(s, "country", "Country", CatalogOptions.customer_countries)],
    [_new_button("/customers/new", "New customer")])
products_page = list_page(
    "products", "Products", "Product name",
    lambda s: [filter_select(s, "category_id", "Category", CatalogOptions.categories),
               filter_select(s, "supplier_id", "Supplier", CatalogOptions.suppliers, width="14em"),
               filter_select(s, "stock", "Stock", STOCK_OPTIONS),
               filter_select(s, "discontinued", "Discontinued",
                             [("false", "Active only"), ("true", "Discontinued only")])],
    [_new_button("/products/new", "New product")])
employees_page = list_page(
    "employees", "Employees", "Name or title",
    lambda s: [filter_select(s, "country", "Country", CatalogOptions.employee_countries)])
suppliers_page = list_page(
    "suppliers", "Suppliers", "Company, contact, city or country",
    lambda s: [filter_select(s, "country", "Country", CatalogOptions.supplier_countries)])
categories_page = list_page("categories", "Categories", "Name or description")
shippers_page = list_page("shippers", "Shippers", "Name or phone")


def embedded(name: str, title: str, search: str) -> rx.Component:
    return rx.vstack(rx.heading(title, size="4"),
                     data_table(STATES[name], SPECS[name].columns, search_placeholder=search),
                     width="100%", spacing="2", padding_top="1em")


# --- detail pages --------------------------------------------------------------------------------

def _customer_detail(key: str) -> dict:
    with session_scope() as session:
        c = customers.get_customer(session, key)
        history = history_rows(audit.history(session, "customer", c["customer_id"]))
    return {"history": history, "record": {
        **{k: _s(v) for k, v in c.items() if k not in ("revenue",)},
        "revenue": format_money(c["revenue"]), "order_count": format_number(c["order_count"]),
        "first_order_date": date_text(c["first_order_date"]) or "—",
        "last_order_date": date_text(c["last_order_date"]) or "—",
        "address_line": " ".join(x for x in (c["postal_code"], c["city"], c["region"]) if x),
    }}


def _product_detail(key: str) -> dict:
    with session_scope() as session:
        p = products.get_product(session, int(key))
        months = figures.product_sales_by_month(session, int(key))
        history = history_rows(audit.history(session, "product", int(key)))
    return {"history": history, "record": {
        **{k: _s(v) for k, v in p.items()},
        "unit_price": format_money(p["unit_price"]), "revenue": format_money(p["revenue"]),
        "units_sold": format_number(p["units_sold"]),
        "order_count": format_number(p["order_count"]),
        "discontinued": "yes" if p["discontinued"] else "",
        "low_stock": "yes" if products.is_low_stock(p["units_in_stock"], p["reorder_level"]) else "",
        "out_of_stock": "yes" if products.stock_level(p["units_in_stock"], p["reorder_level"])
        == products.OUT_OF_STOCK else "",
    }, "chart": [{"label": m.month, "revenue": float(cents(m.revenue)), "units": m.orders}
                 for m in months]}


def _employee_detail(key: str) -> dict:
    employee_id = int(key)
    with session_scope() as session:
        e = catalog.get_employee(session, employee_id)
        relations = catalog.employee_relations(session, employee_id)
        years = figures.employee_sales_by_year(session, employee_id)
    return {"record": {**{k: _s(v) for k, v in e.items()},
                       "name": f"{e['title_of_courtesy'] or ''} {e['first_name']} {e['last_name']}".strip(),
                       "hire_date": date_text(e["hire_date"]), "birth_date": date_text(e["birth_date"]),
                       "manager_href": f"/employees/{e['reports_to']}" if e["reports_to"] else ""},
            "related": [{"name": f"{first} {last}", "href": f"/employees/{i}", "title": _s(title)}
                        for i, first, last, title in relations["reports"]],
            "related2": [{"name": f"{d.strip()} ({r.strip()})", "href": "", "title": tid}
                         for tid, d, r in relations["territories"]],
            "chart": [{"label": str(y), "revenue": float(cents(r)), "units": n,
                       "revenue_text": format_money(r)} for y, n, r in years]}


def _supplier_detail(key: str) -> dict:
    with session_scope() as session:
        s = catalog.get_supplier(session, int(key))
    return {"record": {**{k: _s(v) for k, v in s.items()},
                       "address_line": " ".join(x for x in (s["postal_code"], s["city"], s["region"]) if x)}}


def _category_detail(key: str) -> dict:
    with session_scope() as session:
        c = catalog.get_category(session, int(key))
        revenue, units = figures.category_revenue(session, int(key))
    return {"record": {**{k: _s(v) for k, v in c.items()}, "revenue": format_money(revenue),
                       "units_sold": format_number(units)}}


def _shipper_detail(key: str) -> dict:
    with session_scope() as session:
        s = catalog.get_shipper(session, int(key))
        perf = figures.shipper_performance(session, int(key))
    return {"record": {**{k: _s(v) for k, v in s.items()},
                       "order_count": format_number(s["order_count"]),
                       "shipped": format_number(perf.shipped),
                       "average_days": "—" if perf.average_days is None
                       else f"{perf.average_days.quantize(Decimal('0.1'))} days",
                       "late": format_number(perf.late),
                       "late_rate": "—" if perf.late_rate is None
                       else format_percent(perf.late_rate.quantize(Decimal("0.001")))}}


LOADERS: dict[str, Callable[[str], dict]] = {
    "customers": _customer_detail, "products": _product_detail, "employees": _employee_detail,
    "suppliers": _supplier_detail, "categories": _category_detail, "shippers": _shipper_detail,
}
NOUNS = {"customers": "Customer", "products": "Product", "employees": "Employee",
         "suppliers": "Supplier", "categories": "Category", "shippers": "Shipper"}


class DetailState(rx.State):
    """One detail page's record (whichever entity the URL names), as display strings."""

    entity: str = ""
    key: str = ""
    record: dict[str, str] = {}
    related: list[dict[str, str]] = []
    related2: list[dict[str, str]] = []
    chart: list[dict] = []
    history: list[HistoryRow] = []
    not_found: bool = False
    loading: bool = True
    error: str = ""
    action_error: str = ""
    delete_open: bool = False

    @rx.event
    async def load(self):
        self.entity = path_part(self.router.url.path, 0)
        self.key = path_part(self.router.url.path, 1)
        self.loading, self.not_found, self.error, self.action_error = True, False, "", ""
        self.record, self.related, self.related2, self.chart = {}, [], [], []
        self.history = []
        yield
        loader = LOADERS.get(self.entity)
        try:
            if loader is None or (self.entity != "customers" and not self.key.isdigit()):
                raise NotFound("unknown")
            data = await asyncio.to_thread(loader, self.key)
        except NotFound:
            self.not_found = True
        except Exception as exc:  # noqa: BLE001
            await outage.failed(self, exc, log, "loading %s %s failed", self.entity, self.key)
            self.error = "This record could not be loaded. Try again."
        else:
            for name, value in data.items():
                setattr(self, name, value)
        finally:
            self.loading = False

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value
        self.action_error = ""

    @rx.event
    async def confirm_delete(self):
        entity, key = self.entity, self.key
        try:
            actor = await actor_of(self)
            delete = {"customers": lambda s: customers.delete_customer(s, key, actor=actor),
                      "products": lambda s: products.delete_product(s, int(key), actor=actor),
                      }[entity]
            await asyncio.to_thread(write_transaction, delete)
        except ServiceError as exc:
            self.action_error = exc.message
            return
        self.delete_open = False
        yield rx.toast.success(f"{NOUNS[entity]} {key} deleted.")
        yield rx.redirect(f"/{entity}")

    @rx.event
    async def set_discontinued(self, value: bool):
        key = int(self.key)
        try:
            actor = await actor_of(self)
            await asyncio.to_thread(write_transaction, lambda s: products.update_product(
                s, key, {"discontinued": value}, actor=actor))
        except ServiceError as exc:
            self.action_error = exc.message
            return
        yield rx.toast.success("Product discontinued." if value else "Product available again.")
        yield DetailState.load


D = DetailState


def info(label: str, key: str, testid: str | None = None) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color=rx.color("gray", 11)),
                     rx.text(rx.cond(D.record[key] != "", D.record[key], "—"), size="3",
                             data_testid=testid or f"field-{key}"),
                     spacing="0")


def detail_shell(title: str, body: rx.Component) -> rx.Component:
    return page(title, rx.cond(
        D.not_found,
        rx.center(rx.vstack(rx.icon("search-x", size=40, color=rx.color("gray", 9)),
                            rx.heading(title, " not found", size="5"),
                            rx.text("Nothing has the id ", rx.code(D.key), "."),
                            rx.link("Back to the list", href="/" + D.entity),
                            align="center", data_testid="record-not-found"),
                  padding="4em", width="100%"),
        rx.cond(D.error != "", rx.callout(D.error, color_scheme="red"),
                rx.cond(D.record.length() > 0, body,
                        rx.center(rx.spinner(size="3"), padding="3em", width="100%")))))


def delete_dialog(noun: str) -> rx.Component:
    return confirm_delete_dialog(
        title=f"Delete this {noun}?", description="This cannot be undone.",
        open_=D.delete_open, on_open_change=D.set_delete_open, on_confirm=D.confirm_delete,
        error=D.action_error, confirm_label=f"Delete {noun}")


def record_actions(entity: str, noun: str) -> rx.Component:
    """Edit and delete, for roles that may change customers and products."""
    return rx.cond(AuthState.can_write_records, rx.hstack(
        rx.link(rx.button(rx.icon("pencil", size=16), "Edit", variant="soft"),
                href=f"/{entity}/" + D.key + "/edit", data_testid="edit-record"),
        rx.button(rx.icon("trash-2", size=16), "Delete", variant="soft", color_scheme="red",
                  on_click=D.set_delete_open(True), data_testid="delete-record"),
        delete_dialog(noun),
        spacing="3",
    ))


def heading(*children, actions=None) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(*children, size="5", data_testid="record-heading"), rx.spacer(),
                  actions or rx.fragment(), width="100%", align="center"),
        rx.cond(D.action_error != "", rx.callout(D.action_error, color_scheme="red", width="100%",
                                                 data_testid="action-error")),
        width="100%",
    )


def customer_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["company_name"], " (", r["customer_id"], ")",
                actions=record_actions("customers", "customer")),
        rx.grid(
            contact_card(r),
            address_card(r),
            rx.card(rx.grid(info("Lifetime revenue", "revenue"), info("Orders", "order_count"),
                            info("First order", "first_order_date"),
                            info("Last order", "last_order_date"), columns="2", spacing="3")),
            columns="3", spacing="4", width="100%"),
        embedded("customer_orders", "Orders", "Order id, ship name or city"),
        history_panel(D.history),
        width="100%", spacing="4")
    return detail_shell("Customer", body)


def _bar_chart(data, bar: tuple[str, str], line: tuple[str, str], height=260) -> rx.Component:
    """Bars (left axis) and a line (right axis) over `label`."""
    return rx.recharts.composed_chart(
        rx.recharts.bar(data_key=bar[0], name=bar[1], fill=rx.color("accent", 8), y_axis_id="left"),
        rx.recharts.line(data_key=line[0], name=line[1], stroke=rx.color("orange", 9),
                         y_axis_id="right", dot=False),
        rx.recharts.x_axis(data_key="label", font_size=12),
        rx.recharts.y_axis(y_axis_id="left", font_size=12, width=80),
        rx.recharts.y_axis(y_axis_id="right", orientation="right", font_size=12),
        rx.recharts.graphing_tooltip(), rx.recharts.legend(),
        data=data, width="100%", height=height,
    )


def product_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["product_name"],
                rx.cond(r["discontinued"] != "", rx.badge("Discontinued", color_scheme="gray",
                                                          margin_left="0.5em")),
                actions=rx.hstack(
                    rx.cond(~AuthState.can_write_records, rx.fragment(), rx.cond(
                        r["discontinued"] != "",
                            rx.button("Make available", variant="soft",
                                      on_click=D.set_discontinued(False), data_testid="undiscontinue"),
                            rx.button(rx.icon("archive", size=16), "Discontinue", variant="soft",
                                      on_click=D.set_discontinued(True), data_testid="discontinue"))),
                    record_actions("products", "product"), spacing="3")),
        rx.grid(
            rx.card(rx.grid(info("Unit price", "unit_price"), info("Quantity per unit", "quantity_per_unit"),
                            info("In stock", "units_in_stock"), info("On order", "units_on_order"),
                            info("Reorder level", "reorder_level"), columns="2", spacing="3")),
            rx.card(rx.vstack(
                rx.text("Category", size="1", color=rx.color("gray", 11)),
                rx.link(r["category_name"], href="/categories/" + r["category_id"], data_testid="product-category"),
                rx.text("Supplier", size="1", color=rx.color("gray", 11)),
                rx.link(r["supplier_name"], href="/suppliers/" + r["supplier_id"], data_testid="product-supplier"),
                spacing="1")),
            rx.card(rx.grid(info("Revenue (all time)", "revenue"), info("Units sold", "units_sold"),
                            info("Orders", "order_count"), columns="2", spacing="3")),
            columns="3", spacing="4", width="100%"),
        rx.cond(r["out_of_stock"] != "", rx.callout("Out of stock.", icon="triangle-alert",
                                                    color_scheme="red",
                                                    data_testid="product-out-of-stock")),
        rx.cond(r["low_stock"] != "", rx.callout("Low stock: at or below the reorder level.",
                                                 icon="triangle-alert", color_scheme="orange",
                                                 data_testid="product-low-stock")),
        rx.card(rx.vstack(rx.heading("Revenue and units sold by month", size="3"),
                          _bar_chart(D.chart, ("revenue", "Revenue"), ("units", "Units")),
                          width="100%"), width="100%", data_testid="product-chart"),
        embedded("product_orders", "Orders with this product", "Order id, customer, ship name or city"),
        history_panel(D.history),
        width="100%", spacing="4")
    return detail_shell("Product", body)


def _people(items, testid: str) -> rx.Component:
    return rx.vstack(rx.foreach(items, lambda p: rx.hstack(
        rx.cond(p["href"] != "", rx.link(p["name"], href=p["href"]), rx.text(p["name"])),
        rx.text(p["title"], size="1", color=rx.color("gray", 11)), data_testid=testid)),
        spacing="1")


def employee_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["name"]),
        rx.grid(
            rx.card(rx.vstack(info("Title", "title"), info("Hired", "hire_date"),
                              info("Born", "birth_date"), info("Extension", "extension"),
                              spacing="2")),
            rx.card(rx.vstack(
                rx.text("Reports to", size="1", color=rx.color("gray", 11)),
                rx.cond(r["manager_href"] != "",
                        rx.link(r["manager_name"], href=r["manager_href"], data_testid="employee-manager"),
                        rx.text("—")),
                rx.text("Direct reports", size="1", color=rx.color("gray", 11)),
                rx.cond(D.related.length() > 0, _people(D.related, "direct-report"), rx.text("None")),
                spacing="1")),
            rx.card(rx.vstack(rx.text("Territories", size="1", color=rx.color("gray", 11)),
                              _people(D.related2, "territory"), spacing="1",
                              max_height="12em", overflow_y="auto")),
            columns="3", spacing="4", width="100%"),
        rx.card(rx.vstack(rx.heading("Sales by year", size="3"),
                          _bar_chart(D.chart, ("revenue", "Revenue"), ("units", "Orders")),
                          rx.foreach(D.chart, lambda y: rx.hstack(
                              rx.text(y["label"]), rx.spacer(), rx.text(y["revenue_text"]),
                              width="100%", data_testid="employee-year")),
                          width="100%"), width="100%"),
        embedded("employee_orders", "Orders", "Order id, customer, ship name or city"),
        width="100%", spacing="4")
    return detail_shell("Employee", body)


def supplier_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["company_name"]),
        rx.grid(
            contact_card(r),
            address_card(r),
            rx.card(info("Products", "product_count")),
            columns="3", spacing="4", width="100%"),
        embedded("supplier_products", "Products", "Product name"),
        width="100%", spacing="4")
    return detail_shell("Supplier", body)


def category_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["category_name"]),
        rx.text(r["description"]),
        rx.grid(rx.card(info("Products", "product_count")),
                rx.card(info("Revenue (all time)", "revenue", "category-revenue")),
                rx.card(info("Units sold", "units_sold")), columns="3", spacing="4", width="100%"),
        embedded("category_products", "Products", "Product name"),
        width="100%", spacing="4")
    return detail_shell("Category", body)


def shipper_detail_page() -> rx.Component:
    r = D.record
    body = rx.vstack(
        heading(r["company_name"]),
        rx.grid(rx.card(info("Phone", "phone")), rx.card(info("Orders", "order_count")),
                rx.card(info("Average delivery", "average_days", "shipper-average-days")),
                rx.card(info("Shipped late", "late_rate", "shipper-late-rate")),
                columns="4", spacing="4", width="100%"),
        embedded("shipper_orders", "Orders", "Order id, customer, ship name or city"),
        width="100%", spacing="4")
    return detail_shell("Shipper", body)
