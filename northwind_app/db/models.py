"""The eleven Northwind tables as SQLModel models (snake_case names).

Money (`unit_price`, `freight`) and `discount` use `ExactDecimal`: DECIMAL on MariaDB,
scaled integers on SQLite. Pictures and photos of the classic data are not stored (see README).

Three columns extend the classic `orders` table, all maintained by the order service in the
same transaction as the lines:
- `subtotal`: the exact sum of the order's line values; `total`: subtotal + freight (indexed,
  so the list sorts by total without computing it for every row);
- `version`: incremented by every change, for optimistic edit-conflict detection;
- `cancelled_at`: when the order was cancelled (None while it is not; see the order lifecycle).

The `sales_month_*` tables are monthly rollups of the orders for the dashboard, kept exact and
current by the same transactions (see northwind_app/services/rollups.py). Each (month, key) is
split over `slot` rows (a counter sharded in a few rows: a change adds to one slot, readers
sum them) so that two orders of one employee in one month seldom write the same row (on a
multi-primary Galera cluster such two transactions on two nodes would conflict at commit).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from northwind_app.db.types import Amount, Fraction, Money

metadata = SQLModel.metadata


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    category_id: int | None = Field(default=None, primary_key=True)
    category_name: str = Field(max_length=15, index=True)
    description: str | None = Field(default=None, sa_type=Text)


class Region(SQLModel, table=True):
    __tablename__ = "regions"

    region_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    region_description: str = Field(max_length=50)


class Territory(SQLModel, table=True):
    __tablename__ = "territories"

    territory_id: str = Field(primary_key=True, max_length=20)
    territory_description: str = Field(max_length=50)
    region_id: int = Field(foreign_key="regions.region_id", index=True)


class Shipper(SQLModel, table=True):
    __tablename__ = "shippers"

    shipper_id: int | None = Field(default=None, primary_key=True)
    company_name: str = Field(max_length=40)
    phone: str | None = Field(default=None, max_length=24)


class Supplier(SQLModel, table=True):
    __tablename__ = "suppliers"

    supplier_id: int | None = Field(default=None, primary_key=True)
    company_name: str = Field(max_length=40, index=True)
    contact_name: str | None = Field(default=None, max_length=30)
    contact_title: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=60)
    city: str | None = Field(default=None, max_length=30)
    region: str | None = Field(default=None, max_length=30)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=30, index=True)
    phone: str | None = Field(default=None, max_length=24)
    fax: str | None = Field(default=None, max_length=24)
    home_page: str | None = Field(default=None, sa_type=Text)


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    customer_id: str = Field(primary_key=True, max_length=5)
    company_name: str = Field(max_length=40, index=True)
    contact_name: str | None = Field(default=None, max_length=30)
    contact_title: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=60)
    city: str | None = Field(default=None, max_length=30, index=True)
    region: str | None = Field(default=None, max_length=30)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=30, index=True)
    phone: str | None = Field(default=None, max_length=24)
    fax: str | None = Field(default=None, max_length=24)


class Employee(SQLModel, table=True):
    __tablename__ = "employees"

    employee_id: int | None = Field(default=None, primary_key=True)
    last_name: str = Field(max_length=20, index=True)
    first_name: str = Field(max_length=10)
    title: str | None = Field(default=None, max_length=30)
    title_of_courtesy: str | None = Field(default=None, max_length=25)
    birth_date: dt.date | None = None
    hire_date: dt.date | None = None
    address: str | None = Field(default=None, max_length=60)
    city: str | None = Field(default=None, max_length=30)
    region: str | None = Field(default=None, max_length=30)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=30)
    home_phone: str | None = Field(default=None, max_length=24)
    extension: str | None = Field(default=None, max_length=4)
    notes: str | None = Field(default=None, sa_type=Text)
    reports_to: int | None = Field(default=None, foreign_key="employees.employee_id", index=True)
    photo_path: str | None = Field(default=None, max_length=255)


class EmployeeTerritory(SQLModel, table=True):
    __tablename__ = "employee_territories"

    employee_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("employees.employee_id", ondelete="CASCADE"), primary_key=True
        )
    )
    territory_id: str = Field(
        sa_column=Column(
            String(20),
            ForeignKey("territories.territory_id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )


class Product(SQLModel, table=True):
    __tablename__ = "products"

    product_id: int | None = Field(default=None, primary_key=True)
    product_name: str = Field(max_length=40, index=True)
    supplier_id: int | None = Field(default=None, foreign_key="suppliers.supplier_id", index=True)
    category_id: int | None = Field(default=None, foreign_key="categories.category_id", index=True)
    quantity_per_unit: str | None = Field(default=None, max_length=20)
    unit_price: Decimal = Field(default=Decimal("0"), sa_type=Money(), nullable=False)
    units_in_stock: int = Field(default=0)
    units_on_order: int = Field(default=0)
    reorder_level: int = Field(default=0)
    discontinued: bool = Field(default=False)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_order_date_id", "order_date", "order_id"),
        # Per customer / employee / shipper, carrying the dates the status is derived from, so
        # lists filtered by status and sorted by those names never read the order rows
        # (secondary indexes also hold order_id, the primary key, on both backends).
        Index("ix_orders_customer_status", "customer_id", "order_date", "shipped_date",
              "required_date"),
        Index("ix_orders_employee_status", "employee_id", "order_date", "shipped_date",
              "required_date"),
        Index("ix_orders_shipped_required", "shipped_date", "required_date"),
        Index("ix_orders_ship_country", "ship_country"),
        Index("ix_orders_ship_via_status", "ship_via", "shipped_date", "required_date"),
        Index("ix_orders_total_id", "total", "order_id"),
        # Sorting (and cursor paging) by required or shipped date reads these in order.
        Index("ix_orders_required_id", "required_date", "order_id"),
        Index("ix_orders_shipped_id", "shipped_date", "order_id"),
        # Free-text search finds the orders by ship city / name value (see
        # services.orders.search_condition); with the order date and id (the default sort,
        # read in order: no sort of a city's thousands of orders) and the status dates they
        # also serve that page, status filter and count without reading the orders themselves.
        Index("ix_orders_ship_city_status", "ship_city", "order_date", "order_id",
              "shipped_date", "required_date"),
        Index("ix_orders_ship_name_status", "ship_name", "order_date", "order_id",
              "shipped_date", "required_date"),
        # The few cancelled orders, counted apart from the rollups (which leave them out) from
        # the index alone: the dated ones are those the rollups would have counted.
        Index("ix_orders_cancelled_at", "cancelled_at", "order_date"),
    )

    order_id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=5)
    employee_id: int = Field(foreign_key="employees.employee_id")
    order_date: dt.date | None = None
    required_date: dt.date | None = None
    shipped_date: dt.date | None = None
    ship_via: int | None = Field(default=None, foreign_key="shippers.shipper_id")
    freight: Decimal = Field(default=Decimal("0"), sa_type=Money(), nullable=False)
    ship_name: str | None = Field(default=None, max_length=40)
    ship_address: str | None = Field(default=None, max_length=60)
    ship_city: str | None = Field(default=None, max_length=30)
    ship_region: str | None = Field(default=None, max_length=30)
    ship_postal_code: str | None = Field(default=None, max_length=20)
    ship_country: str | None = Field(default=None, max_length=30)
    subtotal: Decimal = Field(default=Decimal("0"), sa_type=Amount(), nullable=False)
    total: Decimal = Field(default=Decimal("0"), sa_type=Amount(), nullable=False)
    version: int = Field(default=1)
    # Set when the order is cancelled (services.orders.cancel_order): it is kept, its stock
    # returned, and it counts in no revenue or rollup (migration 0011).
    cancelled_at: dt.datetime | None = None


# Every spelling is its own row: binary on MariaDB, where the tables' own collation calls
# 'Straße' and 'Strasse' equal (SQLite compares text bytewise already).
SEARCH_VALUE = String(40).with_variant(String(40, collation="utf8mb4_bin"), "mysql", "mariadb")
# Trigrams compare like the searched columns' LIKE: on MariaDB with the orders columns'
# collation (which migration 0008 reads from the database), on SQLite ignoring ASCII case.
SEARCH_GRAM = String(3).with_variant(String(3, collation="NOCASE"), "sqlite")


class OrderSearchValue(SQLModel, table=True):
    """A distinct value that the orders search matches (`kind`: the column it comes from:
    ship_name, ship_city, company_name): a text is looked for in these few thousand rows,
    and the orders are then found by value (services.orders.search_condition).

    Kept by the database itself: triggers (migration 0008) add the values of every order and
    customer inserted or updated, whoever writes them (the bulk loaders pause them and add
    the values at the end: data.loading.search_values_paused). Values nothing has any more
    stay (the search narrows by the rows' own columns, so an extra value never widens a
    match)."""

    __tablename__ = "order_search_values"

    kind: str = Field(primary_key=True, max_length=16)
    value: str = Field(sa_column=Column(SEARCH_VALUE, primary_key=True))


class OrderSearchGram(SQLModel, table=True):
    """Each substring of three characters (`gram`) of each OrderSearchValue, added by a
    trigger on that table: a value containing a text has every trigram of the text, so the
    values containing a text of three or more characters are found by index lookups."""

    __tablename__ = "order_search_grams"

    kind: str = Field(primary_key=True, max_length=16)
    gram: str = Field(sa_column=Column(SEARCH_GRAM, primary_key=True))
    value: str = Field(sa_column=Column(SEARCH_VALUE, primary_key=True))


class OrderDetail(SQLModel, table=True):
    __tablename__ = "order_details"

    order_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True
        )
    )
    product_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("products.product_id"), primary_key=True, index=True
        )
    )
    unit_price: Decimal = Field(sa_type=Money(), nullable=False)
    quantity: int = Field(default=1)
    discount: Decimal = Field(default=Decimal("0"), sa_type=Fraction(), nullable=False)


class SalesMonthCustomer(SQLModel, table=True):
    __tablename__ = "sales_month_customer"

    month: dt.date = Field(primary_key=True)  # first day of the month
    customer_id: str = Field(primary_key=True, max_length=5)
    # Which of the key's counter rows (rollups.SLOTS of them; loaders write slot 0).
    slot: int = Field(default=0, primary_key=True,
                      sa_column_kwargs={"autoincrement": False, "server_default": "0"})
    orders: int = Field(default=0)
    revenue: Decimal = Field(default=Decimal("0"), sa_type=Amount(), nullable=False)


class SalesMonthEmployee(SQLModel, table=True):
    __tablename__ = "sales_month_employee"

    month: dt.date = Field(primary_key=True)
    employee_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # Which of the key's counter rows (rollups.SLOTS of them; loaders write slot 0).
    slot: int = Field(default=0, primary_key=True,
                      sa_column_kwargs={"autoincrement": False, "server_default": "0"})
    orders: int = Field(default=0)
    revenue: Decimal = Field(default=Decimal("0"), sa_type=Amount(), nullable=False)
    # Of `orders`, those shipped on time / late (their status no longer depends on the day):
    # the order lists count "shipped" and "shipped late" from these.
    shipped: int = Field(default=0)
    shipped_late: int = Field(default=0)


class SalesMonthProduct(SQLModel, table=True):
    __tablename__ = "sales_month_product"

    month: dt.date = Field(primary_key=True)
    product_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # Which of the key's counter rows (rollups.SLOTS of them; loaders write slot 0).
    slot: int = Field(default=0, primary_key=True,
                      sa_column_kwargs={"autoincrement": False, "server_default": "0"})
    units: int = Field(default=0)
    revenue: Decimal = Field(default=Decimal("0"), sa_type=Amount(), nullable=False)


# --- accounts and audit (not part of the classic data) -----------------------------------


class User(SQLModel, table=True):
    """A person who signs in. `role` is one of services.auth.ROLES; `employee_id` optionally
    links the account to a Northwind employee (new orders default to that employee)."""

    __tablename__ = "users"

    user_id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    employee_id: int | None = Field(default=None, foreign_key="employees.employee_id", index=True)
    active: bool = Field(default=True)
    created_at: dt.datetime
    password_changed_at: dt.datetime
    last_login_at: dt.datetime | None = None
    # How numbers and dates are read and shown on the screens (formats.FORMATS: en, de, fr);
    # NULL until the first sign-in sets it from the browser's language.
    number_format: str | None = Field(default=None, max_length=8)
    # The columns the user hides in each list of the screens: list name -> column keys
    # (services/users.py, `set_list_columns`); NULL: every column shown.
    list_columns: dict | None = Field(default=None, sa_type=JSON, nullable=True)
    # The IANA time zone times are shown in ("Europe/Berlin"); NULL until the first sign-in
    # sets it from the browser's zone.
    time_zone: str | None = Field(default=None, max_length=64)


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only an HMAC of the cookie's token is stored."""

    __tablename__ = "user_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.user_id", ondelete="CASCADE"),
                         nullable=False, index=True))
    created_at: dt.datetime
    expires_at: dt.datetime = Field(index=True)
    last_seen_at: dt.datetime


class ApiToken(SQLModel, table=True):
    """A personal API token. Only an HMAC of the token is stored; `prefix` identifies it."""

    __tablename__ = "api_tokens"

    token_id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.user_id", ondelete="CASCADE"),
                         nullable=False, index=True))
    name: str = Field(max_length=60)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: one row per create/update/ship/delete, written in the same
    transaction as the change. `changes` maps a field to [before, after] (see services.audit).
    `username` is kept as it was, so the trail survives a renamed or deleted account."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_key", "audit_id"),
        Index("ix_audit_user", "user_id", "audit_id"),
    )

    audit_id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True))
    username: str = Field(max_length=64)
    action: str = Field(max_length=16)
    entity: str = Field(max_length=16)
    entity_key: str = Field(max_length=32)
    summary: str = Field(default="", max_length=200)
    changes: dict = Field(default_factory=dict, sa_type=JSON, nullable=False)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins of one throttling bucket (services/throttle.py), counted for any
    submitted username, existing or not: `scope` "pair" is one username from one client
    address, "address" one address whatever the username (`username` ""), "name" one username
    from every address (`address` ""). `failures` counts those since `window_start`; while
    `locked_until` is ahead, the bucket's sign-ins are refused without a password check."""

    __tablename__ = "sign_in_throttle"

    scope: str = Field(primary_key=True, max_length=8)
    username: str = Field(primary_key=True, max_length=64)
    address: str = Field(primary_key=True, max_length=64)
    failures: int
    window_start: dt.datetime = Field(index=True)
    locked_until: dt.datetime | None = None


# The eleven Northwind tables, in an order that respects foreign keys (parents first).
LOAD_ORDER = [
    Category, Region, Territory, Shipper, Supplier, Customer, Employee,
    EmployeeTerritory, Product, Order, OrderDetail,
]
ROLLUPS = [SalesMonthCustomer, SalesMonthEmployee, SalesMonthProduct]
# The search's copies of the orders' and customers' values (kept by triggers).
SEARCH_TABLES = [OrderSearchGram, OrderSearchValue]
