"""Import the classic Northwind CSV dump (one file per table, camelCase headers).

`NULL` text becomes NULL, dates `1996-07-04 00:00:00.000` become dates, money is parsed
with `Decimal(str)`, and the hex-encoded picture/photo blobs are not imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Boolean, Connection, Date, Integer

from northwind_app.data.loading import analyze, ensure_empty_or_replace, insert_rows
from northwind_app.db import models
from northwind_app.db.types import ExactDecimal
from northwind_app.money import order_subtotal, order_total
from northwind_app.services import rollups

FILES = {
    models.Category: "categories.csv",
    models.Region: "regions.csv",
    models.Territory: "territories.csv",
    models.Shipper: "shippers.csv",
    models.Supplier: "suppliers.csv",
    models.Customer: "customers.csv",
    models.Employee: "employees.csv",
    models.EmployeeTerritory: "employee_territories.csv",
    models.Product: "products.csv",
    models.Order: "orders.csv",
    models.OrderDetail: "order_details.csv",
}
DROPPED_COLUMNS = {"picture", "photo"}


def snake_case(name: str) -> str:
    name = re.sub(r"ID$", "Id", name)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _converter(column):
    sql_type = column.type
    if isinstance(sql_type, ExactDecimal):
        return lambda text: Decimal(text)
    if isinstance(sql_type, Boolean):
        return lambda text: text.strip() not in ("0", "false", "False")
    if isinstance(sql_type, Integer):
        return int
    if isinstance(sql_type, Date):
        return lambda text: dt.date.fromisoformat(text[:10])
    return lambda text: text


def read_table(directory: Path, model) -> list[dict]:
    path = Path(directory) / FILES[model]
    table = model.__table__
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        mapping = {}
        for header in reader.fieldnames or []:
            column_name = snake_case(header)
            if column_name in DROPPED_COLUMNS:
                continue
            if column_name not in table.c:
                raise ValueError(f"{path.name}: unexpected column {header!r}")
            mapping[header] = (column_name, _converter(table.c[column_name]))
        rows = []
        for record in reader:
            row = {}
            for header, (column_name, convert) in mapping.items():
                value = record[header]
                row[column_name] = None if value is None or value == "NULL" else convert(value)
            rows.append(row)
    return rows


def load_classic(conn: Connection, directory: Path, *, replace: bool = False) -> dict[str, int]:
    """Load every table from `directory` in one transaction (the caller's). Returns row counts."""
    directory = Path(directory)
    missing = [name for name in FILES.values() if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} is missing {', '.join(missing)}")
    ensure_empty_or_replace(conn, replace)
    tables = {model: read_table(directory, model) for model in FILES}

    lines_by_order = defaultdict(list)
    for line in tables[models.OrderDetail]:
        lines_by_order[line["order_id"]].append(
            (line["unit_price"], line["quantity"], line["discount"])
        )
    for order in tables[models.Order]:
        order["subtotal"] = order_subtotal(lines_by_order[order["order_id"]])
        order["total"] = order_total(order["subtotal"], order["freight"])
        order["version"] = 1

    # Employees reference each other: insert them without managers, then set reports_to.
    employees = tables[models.Employee]
    managers = {row["employee_id"]: row.pop("reports_to") for row in employees}
    counts = {}
    for model in models.LOAD_ORDER:
        counts[model.__tablename__] = insert_rows(conn, model, tables[model])
        if model is models.Employee:
            table = model.__table__
            for employee_id, manager in managers.items():
                if manager is not None:
                    conn.execute(
                        table.update()
                        .where(table.c.employee_id == employee_id)
                        .values(reports_to=manager)
                    )
    rollups.rebuild(conn)
    analyze(conn)
    return counts
