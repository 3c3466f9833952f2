"""A deterministic generator of a Northwind-shaped dataset, from a few hundred to millions of orders.

The same (orders, seed, end date) always produce the same rows. Reference tables are modest
(8 categories, 77 products, 29 suppliers, 9 employees, 3 shippers, 4 regions, 53 territories);
customers grow with the order count (at least 91, about one per 100 orders). Orders span the
three years up to the end date (default: today) with denser recent months, 1–5 distinct lines
each, Northwind-like discounts, and shipping lags that leave recent orders unshipped and a
few older ones late. Rows are inserted in batches inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from decimal import Decimal

from faker import Faker
from sqlalchemy import Connection

from northwind_app.data.loading import (
    analyze, ensure_empty_or_replace, insert_rows, insert_written, references_unchecked,
    search_values_paused,
)
from northwind_app.db import models
from northwind_app.money import line_value, order_total
from northwind_app.services import rollups

CATEGORIES = [
    ("Beverages", "Soft drinks, coffees, teas, beers and ales",
     ["Chai", "Lager", "Stout", "Pale Ale", "Cola", "Espresso", "Green Tea", "Cider",
      "Lemonade", "Root Beer", "Mate", "Tonic"]),
    ("Condiments", "Sweet and savory sauces, relishes, spreads and seasonings",
     ["Mustard", "Relish", "Chutney", "Hot Sauce", "Maple Syrup", "Pesto", "Ketchup",
      "Aioli", "Tapenade", "Curry Paste"]),
    ("Confections", "Desserts, candies and sweet breads",
     ["Chocolate", "Toffee", "Biscuits", "Marzipan", "Gummy Bears", "Scones", "Fudge",
      "Nougat", "Licorice", "Pralines"]),
    ("Dairy Products", "Cheeses",
     ["Cheddar", "Gouda", "Brie", "Mozzarella", "Feta", "Camembert", "Gorgonzola",
      "Mascarpone", "Raclette", "Gruyère"]),
    ("Grains/Cereals", "Breads, crackers, pasta and cereal",
     ["Gnocchi", "Ravioli", "Crispbread", "Couscous", "Polenta", "Granola", "Tagliatelle",
      "Rye Bread", "Oatmeal"]),
    ("Meat/Poultry", "Prepared meats",
     ["Pâté", "Sausage", "Bacon", "Smoked Ham", "Meat Pie", "Duck Confit", "Salami",
      "Chorizo"]),
    ("Produce", "Dried fruit and bean curd",
     ["Dried Apples", "Tofu", "Dried Pears", "Sun-dried Tomatoes", "Olives", "Dates",
      "Figs"]),
    ("Seafood", "Seaweed and fish",
     ["Crab Meat", "Caviar", "Pickled Herring", "Smoked Salmon", "Anchovies",
      "Clam Chowder", "Lobster", "Sardines"]),
]
ADJECTIVES = ["Original", "Organic", "Gourmet", "Traditional", "Spicy", "Classic", "Alpine",
              "Northern", "Royal", "Rustic", "Golden", "Old Town", "Island", "Valley"]
UNITS = ["10 boxes x 20 bags", "24 - 12 oz bottles", "12 - 550 ml bottles", "48 - 6 oz jars",
         "36 boxes", "12 - 8 oz jars", "18 - 500 g pkgs.", "10 - 500 g pkgs.", "24 - 250 g jars",
         "1 kg pkg.", "20 - 1 kg tins", "16 pies", "50 bags x 30 sausgs."]
LOCALES = {  # Faker locale -> country name as Northwind writes it
    "en_US": "USA", "de_DE": "Germany", "fr_FR": "France", "en_GB": "UK", "pt_BR": "Brazil",
    "es_ES": "Spain", "it_IT": "Italy", "es_MX": "Mexico", "sv_SE": "Sweden", "en_CA": "Canada",
    "de_AT": "Austria", "nl_BE": "Belgium", "da_DK": "Denmark", "fi_FI": "Finland",
    "pl_PL": "Poland", "pt_PT": "Portugal", "de_CH": "Switzerland", "en_IE": "Ireland",
}
LOCALE_WEIGHTS = [18, 14, 12, 9, 9, 6, 5, 5, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1]
REGIONS = ["Eastern", "Western", "Northern", "Southern"]
SHIPPERS = ["Speedy Express", "United Package", "Federal Shipping"]
DISCOUNTS = [Decimal("0")] * 12 + [Decimal(d) for d in ("0.05", "0.1", "0.15", "0.2", "0.25")]
LINE_COUNTS = [1, 1, 2, 2, 2, 3, 3, 3, 4, 5]
TITLES = [("Vice President, Sales", "Dr."), ("Sales Manager", "Mr."),
          ("Inside Sales Coordinator", "Ms.")] + [("Sales Representative", t)
                                                   for t in ("Ms.", "Mr.", "Mrs.", "Ms.", "Mr.", "Ms.")]
YEARS = 3


def _cut(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length].strip()


class DemoGenerator:
    def __init__(self, orders: int, seed: int = 42, end_date: dt.date | None = None):
        if orders < 0:
            raise ValueError("orders must be ≥ 0")
        self.order_count = orders
        self.seed = seed
        self.end_date = end_date or dt.date.today()
        self.start_date = self.end_date - dt.timedelta(days=365 * YEARS)
        self.rng = random.Random(seed)
        self.fake = Faker(list(LOCALES))
        self.fake.seed_instance(seed)
        self.customer_rows: list[dict] = []
        self.product_rows: list[dict] = []
        self.employee_ids: list[int] = []

    # -- reference tables -------------------------------------------------------------
    def _locale(self) -> str:
        return self.rng.choices(list(LOCALES), weights=LOCALE_WEIGHTS)[0]

    def _address(self, locale: str) -> dict:
        f = self.fake[locale]
        region = None
        if locale in ("en_US", "en_CA"):
            region = f.state_abbr() if locale == "en_US" else f.province_abbr()
        return {
            "address": _cut(f.street_address(), 60),
            "city": _cut(f.city(), 30),
            "region": region,
            "postal_code": _cut(f.postcode(), 20),
            "country": LOCALES[locale],
            "phone": _cut(f.phone_number(), 24),
        }

    def categories(self) -> list[dict]:
        return [
            {"category_id": i, "category_name": name, "description": description}
            for i, (name, description, _) in enumerate(CATEGORIES, start=1)
        ]

    def regions(self) -> list[dict]:
        return [{"region_id": i, "region_description": name} for i, name in enumerate(REGIONS, 1)]

    def territories(self) -> list[dict]:
        seen, rows = set(), []
        us = self.fake["en_US"]
        while len(rows) < 53:
            territory_id = us.zipcode()
            if territory_id in seen:
                continue
            seen.add(territory_id)
            rows.append({
                "territory_id": territory_id,
                "territory_description": _cut(us.city(), 50),
                "region_id": self.rng.randint(1, len(REGIONS)),
            })
        return rows

    def shippers(self) -> list[dict]:
        return [
            {"shipper_id": i, "company_name": name, "phone": self.fake["en_US"].phone_number()[:24]}
            for i, name in enumerate(SHIPPERS, start=1)
        ]

    def suppliers(self) -> list[dict]:
        rows = []
        for supplier_id in range(1, 30):
            locale = self._locale()
            f = self.fake[locale]
            rows.append({
                "supplier_id": supplier_id,
                "company_name": _cut(f.company(), 40),
                "contact_name": _cut(f.name(), 30),
                "contact_title": self.rng.choice(
                    ["Purchasing Manager", "Sales Representative", "Export Administrator",
                     "Marketing Manager", "Order Administrator", "Sales Manager"]),
                **self._address(locale),
                "fax": None,
                "home_page": None,
            })
        return rows

    def products(self) -> list[dict]:
        rows, names = [], set()
        for product_id in range(1, 78):
            category_id = (product_id - 1) % len(CATEGORIES) + 1
            words = CATEGORIES[category_id - 1][2]
            while True:
                name = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(words)}"
                if name not in names:
                    names.add(name)
                    break
            price = Decimal(self.rng.choice([
                self.rng.randint(250, 4000), self.rng.randint(1000, 6000), self.rng.randint(4000, 26350)
            ])).scaleb(-2)
            reorder = self.rng.choice([0, 5, 10, 15, 20, 25, 30])
            rows.append({
                "product_id": product_id,
                "product_name": name,
                "supplier_id": self.rng.randint(1, 29),
                "category_id": category_id,
                "quantity_per_unit": self.rng.choice(UNITS),
                "unit_price": price,
                "units_in_stock": self.rng.choice([0, self.rng.randint(0, 30), self.rng.randint(10, 125)]),
                "units_on_order": self.rng.choice([0, 0, 0, 10, 20, 40, 70]),
                "reorder_level": reorder,
                "discontinued": product_id % 10 == 5,  # 8 of 77 discontinued, as in the classic data
            })
        self.product_rows = rows
        return rows

    def employees(self) -> list[dict]:
        rows = []
        us = self.fake["en_US"]
        for employee_id in range(1, 10):
            title, courtesy = TITLES[employee_id - 1]
            first = us.first_name_female() if courtesy in ("Ms.", "Mrs.") else us.first_name_male()
            birth = self.start_date - dt.timedelta(days=self.rng.randint(25 * 365, 60 * 365))
            hire = self.start_date - dt.timedelta(days=self.rng.randint(30, 8 * 365))
            rows.append({
                "employee_id": employee_id,
                "last_name": _cut(us.last_name(), 20),
                "first_name": _cut(first, 10),
                "title": title,
                "title_of_courtesy": courtesy,
                "birth_date": birth,
                "hire_date": hire,
                **{k: v for k, v in self._address("en_US" if employee_id < 6 else "en_GB").items()
                   if k != "phone"},
                "home_phone": _cut(us.phone_number(), 24),
                "extension": str(self.rng.randint(100, 9999)),
                "notes": us.paragraph(nb_sentences=2),
                "reports_to": None if employee_id == 1 else (1 if employee_id <= 3 else 2),
                "photo_path": None,
            })
        self.employee_ids = [row["employee_id"] for row in rows if row["title"] != TITLES[0][0]]
        return rows

    def employee_territories(self, territories: list[dict]) -> list[dict]:
        ids = [t["territory_id"] for t in territories]
        self.rng.shuffle(ids)
        rows = []
        for index, territory_id in enumerate(ids):
            rows.append({"employee_id": index % 9 + 1, "territory_id": territory_id})
        return rows

    def _customer_id(self, company: str, taken: set[str]) -> str:
        letters = "".join(ch for ch in company.upper() if "A" <= ch <= "Z")
        base = (letters + "XXXXX")[:5]
        candidate = base
        while candidate in taken:
            candidate = base[:2] + "".join(
                self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        taken.add(candidate)
        return candidate

    def customers_rows(self) -> list[dict]:
        count = max(91, self.order_count // 100)
        taken: set[str] = set()
        rows = []
        for _ in range(count):
            locale = self._locale()
            f = self.fake[locale]
            company = _cut(f.company(), 40)
            rows.append({
                "customer_id": self._customer_id(company, taken),
                "company_name": company,
                "contact_name": _cut(f.name(), 30),
                "contact_title": self.rng.choice(
                    ["Owner", "Sales Representative", "Order Administrator", "Marketing Manager",
                     "Accounting Manager", "Sales Agent", "Purchasing Manager"]),
                **self._address(locale),
                "fax": None,
            })
        self.customer_rows = rows
        return rows

    # -- orders -------------------------------------------------------------------------
    def orders_and_lines(self) -> Iterator[tuple[dict, list[dict]]]:
        rng = self.rng
        span = (self.end_date - self.start_date).days
        customers = self.customer_rows
        n_customers = len(customers)
        products = [(p["product_id"], p["unit_price"]) for p in self.product_rows]
        employees = self.employee_ids
        first_id = 10248
        for index in range(self.order_count):
            order_id = first_id + index
            # Ordered by id, dates rise with the id, denser towards the end (growing business).
            fraction = (index + rng.random()) / max(self.order_count, 1)
            order_date = self.start_date + dt.timedelta(days=int(span * fraction ** 0.8))
            customer = customers[int(n_customers * rng.random() ** 1.7)]
            required = order_date + dt.timedelta(days=rng.choice((14, 28, 28, 28, 42)))
            lag = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 21, 30, 35))
            shipped = order_date + dt.timedelta(days=lag)
            if shipped > self.end_date or rng.random() < 0.002:
                shipped = None
            lines = []
            subtotal = Decimal(0)
            for product_id, price in rng.sample(products, rng.choice(LINE_COUNTS)):
                quantity = rng.choice((rng.randint(1, 20), rng.randint(5, 40), rng.randint(10, 120)))
                discount = rng.choice(DISCOUNTS)
                subtotal += line_value(price, quantity, discount)
                lines.append({"order_id": order_id, "product_id": product_id,
                              "unit_price": price, "quantity": quantity, "discount": discount})
            freight = Decimal(rng.randint(2, 120) * 100 + rng.randint(0, 99)).scaleb(-2)
            yield (
                {
                    "order_id": order_id,
                    "customer_id": customer["customer_id"],
                    "employee_id": rng.choice(employees),
                    "order_date": order_date,
                    "required_date": required,
                    "shipped_date": shipped,
                    "ship_via": rng.randint(1, 3),
                    "freight": freight,
                    "ship_name": customer["company_name"],
                    "ship_address": customer["address"],
                    "ship_city": customer["city"],
                    "ship_region": customer["region"],
                    "ship_postal_code": customer["postal_code"],
                    "ship_country": customer["country"],
                    "subtotal": subtotal,
                    "total": order_total(subtotal, freight),
                    "version": 1,
                },
                lines,
            )


def _insert_orders(conn: Connection, gen: DemoGenerator, batch_size: int,
                   progress: Callable[[int], None] | None,
                   add_values: Callable[[type, list[dict]], None]) -> dict[str, int]:
    """Insert the generated orders and their lines in batches; returns their counts."""
    order_batch: list[dict] = []
    line_batch: list[dict] = []
    counts = {"orders": 0, "order_details": 0}

    def flush() -> None:
        if order_batch:
            insert_written(conn, models.Order, order_batch)
            insert_written(conn, models.OrderDetail, line_batch)
            add_values(models.Order, order_batch)
            counts["orders"] += len(order_batch)
            counts["order_details"] += len(line_batch)
            if progress:
                progress(len(order_batch))
            order_batch.clear()
            line_batch.clear()

    for order, lines in gen.orders_and_lines():
        order_batch.append(order)
        line_batch.extend(lines)
        if len(order_batch) >= batch_size:
            flush()
    flush()
    return counts


def load_demo(
    conn: Connection,
    *,
    orders: int = 5000,
    seed: int = 42,
    end_date: dt.date | None = None,
    replace: bool = False,
    batch_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate and insert a demo dataset in the caller's transaction. Returns row counts."""
    ensure_empty_or_replace(conn, replace)
    gen = DemoGenerator(orders, seed, end_date)
    territories = gen.territories()
    reference = [
        (models.Category, gen.categories()),
        (models.Region, gen.regions()),
        (models.Territory, territories),
        (models.Shipper, gen.shippers()),
        (models.Supplier, gen.suppliers()),
        (models.Customer, gen.customers_rows()),
        (models.Employee, gen.employees()),
        (models.EmployeeTerritory, gen.employee_territories(territories)),
        (models.Product, gen.products()),
    ]
    with references_unchecked(conn), search_values_paused(conn) as add_values:
        # (the search's values are added at the end of the block)
        counts = {}
        for model, rows in reference:
            counts[model.__tablename__] = insert_rows(conn, model, rows)
            add_values(model, rows)
        counts.update(_insert_orders(conn, gen, batch_size, progress, add_values))
    rollups.rebuild(conn)
    analyze(conn)
    return counts
