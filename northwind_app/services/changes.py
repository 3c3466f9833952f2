"""What an audit entry says to a person: the trail's changes in the words of the screens.

The trail stores what changed as the database has it (`employee_id: 4 → 5`, `total:
3495.0705 → 3527.4500`, `line 11 Queso Cabrales: quantity`, times in UTC); `describe` turns a
page of entries into what a user reads: field labels of the screens ("Employee", "Ship via",
"Freight", "Total", "line Queso Cabrales: quantity"), names for ids (employee 4 → "Margaret
Peacock", shipper 3 → "Federal Shipping", customers, products, suppliers, categories), money to
cents, quantities, percentages and dates in the user's number format, and times in the user's
time zone (formats.current / formats.zone, set from the verified user). The names of a whole
page are read together in one statement, never one query per entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, cast, literal, select, union_all
from sqlmodel import Session

from northwind_app import formats
from northwind_app.db.models import Category, Customer, Employee, Shipper, Supplier
from northwind_app.money import format_money, format_number, format_percent
from northwind_app.services import audit
from northwind_app.services.audit import AuditView, ChangeSince
from northwind_app.services.orders import EMPLOYEE_NAME

# Kinds of value: how a stored text is shown.
TEXT, MONEY, NUMBER, PERCENT, DATE, TIME, FORMAT = (
    "text", "money", "number", "percent", "date", "time", "format")
# Records whose ids a change may hold, and how their names are read.
EMPLOYEE, SHIPPER, CUSTOMER, SUPPLIER, CATEGORY = (
    "employee", "shipper", "customer", "supplier", "category")


@dataclass(frozen=True)
class FieldSpec:
    label: str
    kind: str = TEXT  # one of the kinds above, or a record kind whose name replaces the id


_ORDER_FIELDS = {
    "customer_id": FieldSpec("Customer", CUSTOMER),
    "employee_id": FieldSpec("Employee", EMPLOYEE),
    "order_date": FieldSpec("Order date", DATE),
    "required_date": FieldSpec("Required date", DATE),
    "shipped_date": FieldSpec("Shipped date", DATE),
    "ship_via": FieldSpec("Ship via", SHIPPER),
    "freight": FieldSpec("Freight", MONEY),
    "ship_name": FieldSpec("Ship name"),
    "ship_address": FieldSpec("Ship address"),
    "ship_city": FieldSpec("Ship city"),
    "ship_region": FieldSpec("Ship region"),
    "ship_postal_code": FieldSpec("Ship postal code"),
    "ship_country": FieldSpec("Ship country"),
    "status": FieldSpec("Status"),
    "total": FieldSpec("Total", MONEY),
}
_LINE_FIELDS = {"quantity": FieldSpec("quantity", NUMBER),
                "unit_price": FieldSpec("unit price", MONEY),
                "discount": FieldSpec("discount", PERCENT)}
# An order line's field as the trail keeps it: "line 11 Queso Cabrales: quantity".
_LINE = re.compile(r"^line (\d+) (.*): (\w+)$")

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "order": _ORDER_FIELDS,
    "customer": {
        "customer_id": FieldSpec("Customer ID"), "company_name": FieldSpec("Company"),
        "contact_name": FieldSpec("Contact"), "contact_title": FieldSpec("Contact title"),
        "address": FieldSpec("Address"), "city": FieldSpec("City"),
        "region": FieldSpec("Region"), "postal_code": FieldSpec("Postal code"),
        "country": FieldSpec("Country"), "phone": FieldSpec("Phone"), "fax": FieldSpec("Fax"),
    },
    "product": {
        "product_id": FieldSpec("Product ID"), "product_name": FieldSpec("Product name"),
        "supplier_id": FieldSpec("Supplier", SUPPLIER),
        "category_id": FieldSpec("Category", CATEGORY),
        "quantity_per_unit": FieldSpec("Quantity per unit"),
        "unit_price": FieldSpec("Unit price", MONEY),
        "units_in_stock": FieldSpec("Units in stock", NUMBER),
        "units_on_order": FieldSpec("Units on order", NUMBER),
        "reorder_level": FieldSpec("Reorder level", NUMBER),
        "discontinued": FieldSpec("Discontinued"),
    },
    "user": {
        "username": FieldSpec("User name"), "full_name": FieldSpec("Full name"),
        "role": FieldSpec("Role"), "employee": FieldSpec("Employee"),
        "active": FieldSpec("Active"), "number_format": FieldSpec("Number format", FORMAT),
        "time_zone": FieldSpec("Time zone"),
    },
    "api_token": {
        "name": FieldSpec("Name"), "user": FieldSpec("User"), "prefix": FieldSpec("Prefix"),
        "expires_at": FieldSpec("Expires", TIME),
    },
}

EMPTY = "—"


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the field had no value (or did not exist)
    after: str | None


@dataclass(frozen=True)
class EntryText:
    """An audit entry as a person reads it (all display strings)."""

    audit_id: int
    at: str  # in the user's time zone and format
    username: str
    action: str
    entity: str
    entity_key: str
    summary: str
    changes: list[Change]


def _spec(entity: str, name: str) -> FieldSpec:
    """How field `name` of an `entity` entry is shown (an order line by its product's name,
    which the trail keeps beside the product id)."""
    if entity == "order" and (line := _LINE.match(name)):
        _product_id, product, attribute = line.groups()
        inner = _LINE_FIELDS.get(attribute, FieldSpec(attribute.replace("_", " ")))
        return FieldSpec(f"line {product}: {inner.label}", inner.kind)
    known = FIELDS.get(entity, {}).get(name)
    return known or FieldSpec(name.replace("_", " ").capitalize())


# The records a change may name: (how an id is written, the id column, the name) per kind.
_LOOKUPS: dict[str, tuple[Callable[[str], Any], Any, Any]] = {
    EMPLOYEE: (int, Employee.employee_id, EMPLOYEE_NAME),
    SHIPPER: (int, Shipper.shipper_id, Shipper.company_name),
    CUSTOMER: (str, Customer.customer_id, Customer.company_name),
    SUPPLIER: (int, Supplier.supplier_id, Supplier.company_name),
    CATEGORY: (int, Category.category_id, Category.category_name),
}


def names(session: Session, wanted: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """{kind: {id text: name}} for the ids of each kind, read in one statement (a UNION ALL
    of one lookup per kind that has any); ids that are not ids of that kind, or of no record
    any more, are left out."""
    parts = []
    for kind, ids in sorted(wanted.items()):
        parse, key, name = _LOOKUPS[kind]
        keys = []
        for text in ids:
            try:
                keys.append(parse(text))
            except ValueError:
                continue
        if keys:
            # Every column cast to text: MariaDB refuses a UNION of columns of different
            # collations, and the key columns are numbers and text.
            parts.append(select(literal(kind).label("kind"), cast(key, String).label("key"),
                                cast(name, String).label("name")).where(key.in_(keys)))
    found: dict[str, dict[str, str]] = {kind: {} for kind in wanted}
    if parts:
        stmt = parts[0] if len(parts) == 1 else union_all(*parts)
        for kind, key, name in session.execute(stmt):
            found[kind][str(key)] = name
    return found


def _value(text: str | None, kind: str, known: dict[str, dict[str, str]]) -> str | None:
    """A stored value as the user reads it (None stays None)."""
    if text is None or text == "":
        return None
    try:
        if kind == MONEY:
            return format_money(Decimal(text))
        if kind == NUMBER:
            return format_number(Decimal(text))
        if kind == PERCENT:
            return format_percent(Decimal(text))
        if kind == DATE:
            return formats.date_text(dt.date.fromisoformat(text))
        if kind == TIME:
            return formats.time_text(dt.datetime.fromisoformat(text))
    except (InvalidOperation, ValueError):
        return text  # not what the field holds now (an older entry): as it was written
    if kind == FORMAT:
        return formats.FORMATS[text].label if text in formats.FORMATS else text
    if kind in _LOOKUPS:
        return known.get(kind, {}).get(text, text)
    return text


def _wanted(entries: Iterable[tuple[str, dict[str, list[str | None]]]]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for entity, changes in entries:
        for name, values in changes.items():
            kind = _spec(entity, name).kind
            if kind in _LOOKUPS:
                wanted.setdefault(kind, set()).update(v for v in values if v)
    return wanted


def _changes(entity: str, changes: dict[str, list[str | None]],
             known: dict[str, dict[str, str]]) -> list[Change]:
    shown = []
    for name, (before, after) in changes.items():
        spec = _spec(entity, name)
        shown.append(Change(spec.label, _value(before, spec.kind, known),
                            _value(after, spec.kind, known)))
    return shown


def describe(session: Session, views: Sequence[AuditView]) -> list[EntryText]:
    """A page of audit entries in the user's words (see the module docstring): the names it
    needs read in one statement."""
    known = names(session, _wanted((v.entity, v.changes or {}) for v in views))
    return [EntryText(audit_id=v.audit_id, at=formats.time_text(v.at), username=v.username,
                      action=v.action, entity=v.entity, entity_key=v.entity_key,
                      summary=v.summary, changes=_changes(v.entity, v.changes or {}, known))
            for v in views]


def changes_since(session: Session, entity: str, key: Any, after_id: int) -> list[ChangeSince]:
    """`audit.changes_since` (a live screen's banner) with each entry's changes in the
    user's words: {label: [before, after]} (the names read in one statement)."""
    entries = audit.changes_since(session, entity, key, after_id)
    known = names(session, _wanted((entity, e.changes) for e in entries))
    return [replace(e, changes={c.label: [c.before, c.after]
                                for c in _changes(entity, e.changes, known)})
            for e in entries]


def change_line(change: Change) -> str:
    """"Employee: Margaret Peacock → Janet Leverling"."""
    return f"{change.label}: {change.before or EMPTY} → {change.after or EMPTY}"


def history(session: Session, entity: str, key: Any) -> list[EntryText]:
    """One record's history (audit.history), newest first, in the user's words."""
    return describe(session, audit.history(session, entity, key))


def list_audit(session: Session, actor: Any, params: Any) -> Any:
    """`audit.list_audit` (admins; it checks the permission) with the page's entries in the
    user's words (the screens' audit trail; the API sends the trail as stored)."""
    page = audit.list_audit(session, actor, params)
    return replace(page, items=describe(session, page.items))
