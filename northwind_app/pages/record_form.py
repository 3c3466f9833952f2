"""Create and edit customers and products: one form, driven by a list of fields per entity.

Values stay strings in the state; numbers are written and read in the user's number format
(formats.py; the verified user's at load) and refused next to their field, saying how they
were read, when they do not fit it or could mean another amount. The entity's service
validates and converts the rest and names every bad field, which is shown next to it. Nothing
is written unless everything is valid.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import reflex as rx

from northwind_app import formats
from northwind_app.db.engine import session_scope, write_transaction
from northwind_app.pages.catalog import CatalogOptions
from northwind_app.services import customers, products
from northwind_app.services.auth import Actor, Permission
from northwind_app.services.errors import Conflict, NotFound, ServiceError
from northwind_app.ui import outage
from northwind_app.ui.auth import AuthState, actor_of, requires
from northwind_app.ui.drafts import drop_draft, keep_draft, resumes_draft
from northwind_app.ui.entity_list import path_part
from northwind_app.ui.layout import forbidden, page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = "text"  # text | select | checkbox
    options: str = ""  # CatalogOptions var name, for selects
    new_only: bool = False  # e.g. the customer id, chosen once
    places: int | None = None  # a number typed in the user's format, with at most these decimals


FIELDS: dict[str, list[Field]] = {
    "customers": [
        Field("customer_id", "Customer ID (5 letters)", new_only=True),
        Field("company_name", "Company"), Field("contact_name", "Contact"),
        Field("contact_title", "Contact title"), Field("address", "Address"),
        Field("city", "City"), Field("region", "Region"), Field("postal_code", "Postal code"),
        Field("country", "Country"), Field("phone", "Phone"), Field("fax", "Fax"),
    ],
    "products": [
        Field("product_name", "Product name"),
        Field("category_id", "Category", "select", "categories"),
        Field("supplier_id", "Supplier", "select", "suppliers"),
        Field("quantity_per_unit", "Quantity per unit"),
        Field("unit_price", "Unit price", places=4),
        Field("units_in_stock", "Units in stock", places=0),
        Field("units_on_order", "Units on order", places=0),
        Field("reorder_level", "Reorder level", places=0),
        Field("discontinued", "Discontinued", "checkbox"),
    ],
}
NOUN = {"customers": "customer", "products": "product"}


def _as_text(value: Any, fmt: str = formats.DEFAULT) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "quantize"):
        return formats.edit_text(value, fmt)
    return str(value)


def _load(entity: str, key: str, fmt: str) -> dict[str, str]:
    with session_scope() as session:
        record = (customers.get_customer(session, key) if entity == "customers"
                  else products.get_product(session, int(key)))
    return {f.key: _as_text(record.get(f.key), fmt) for f in FIELDS[entity]}


def _save(entity: str, key: str, values: dict[str, Any], actor: Actor) -> str:
    def write(session):
        if entity == "customers":
            if key:
                return customers.replace_customer(session, key, values, actor=actor)["customer_id"]
            return customers.create_customer(session, values, actor=actor)["customer_id"]
        if key:
            return str(products.replace_product(session, int(key), values,
                                                actor=actor)["product_id"])
        return str(products.create_product(session, values, actor=actor)["product_id"])
    return write_transaction(write)


@requires(Permission.WRITE_RECORDS)
class RecordFormState(rx.State):
    entity: str = "customers"
    key: str = ""  # empty when creating
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    form_error: str = ""
    not_found: bool = False
    loading: bool = True
    saving: bool = False
    # The number format the form's texts are written in (the verified user's, at load).
    _fmt: str = formats.DEFAULT
    # What was typed survives the tab's reconnection (ui/drafts.py).
    _draft_key: str = ""
    _draft_sid: str = ""

    @rx.event
    def leave_form(self):
        """The tab left the form through the app (it unmounted): coming back starts afresh."""
        drop_draft(self)

    @rx.event
    async def load(self):
        if await resumes_draft(self):
            self.saving = False  # a save still running would hold the tab's state
            return
        path = self.router.url.path
        self.entity = path_part(path, 0)
        editing = path.rstrip("/").endswith("/edit")
        self.key = path_part(path, 1) if editing else ""
        self.errors, self.form_error, self.not_found, self.loading = {}, "", False, True
        yield
        try:
            self._fmt = (await actor_of(self)).number_format
            if self.key:
                if self.entity == "products" and not self.key.isdigit():
                    raise NotFound("no such product")
                self.values = await asyncio.to_thread(_load, self.entity, self.key, self._fmt)
            else:
                self.values = {f.key: ("false" if f.kind == "checkbox" else "")
                               for f in FIELDS[self.entity]}
                if self.entity == "products":
                    self.values.update(units_in_stock="0", units_on_order="0", reorder_level="0")
            await keep_draft(self)
        except NotFound:
            self.not_found = True
        except Exception as exc:  # noqa: BLE001
            await outage.failed(self, exc, log, "loading the %s form failed", self.entity)
            self.form_error = "The form could not be loaded. Try again."
        finally:
            self.loading = False

    @rx.event
    def set_value(self, key: str, value: str | bool):
        self.values = {**self.values, key: value if isinstance(value, str) else _as_text(value)}
        self.errors = {k: v for k, v in self.errors.items() if k != key}

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving, self.errors, self.form_error = True, {}, ""
        yield
        fields = [f for f in FIELDS[self.entity] if not (f.new_only and self.key)]
        values: dict[str, Any] = {}
        unread: dict[str, str] = {}
        for f in fields:
            text = self.values.get(f.key, "")
            values[f.key] = (text == "true") if f.kind == "checkbox" else (text if text.strip() else None)
            if f.places is not None and values[f.key] is not None:
                try:
                    values[f.key] = formats.parse_number(text, self._fmt, places=f.places)
                except ValueError as exc:
                    unread[f.key] = str(exc)
        if unread:  # typed numbers that do not read in the user's format: nothing is sent
            self.errors = unread
            self.form_error = "Some fields need attention; nothing was saved."
            self.saving = False
            return
        try:
            actor = await actor_of(self)
            saved = await asyncio.to_thread(_save, self.entity, self.key, values, actor)
        except ServiceError as exc:
            self.errors = exc.fields
            self.form_error = (exc.message if not exc.fields or isinstance(exc, Conflict)
                               else "Some fields need attention; nothing was saved.")
            self.saving = False
            return
        except Exception as exc:  # noqa: BLE001
            await outage.failed(self, exc, log, "saving a %s failed", self.entity, reload=False)
            self.form_error = "A server problem stopped the save; nothing was saved."
            self.saving = False
            return
        self.saving = False
        drop_draft(self)
        yield rx.toast.success(f"{NOUN[self.entity].title()} {saved} saved.")
        yield rx.redirect(f"/{self.entity}/{saved}")


S = RecordFormState


def field_control(entity: str, f: Field) -> rx.Component:
    error = rx.cond(S.errors.contains(f.key),
                    rx.text(S.errors[f.key], color="red", size="1", data_testid=f"error-{f.key}"))
    if f.kind == "checkbox":
        control = rx.checkbox(f.label, checked=S.values[f.key] == "true",
                              on_change=lambda v: S.set_value(f.key, v), data_testid=f"input-{f.key}")
        return rx.vstack(control, error, spacing="1")
    if f.kind == "select":
        options = getattr(CatalogOptions, f.options)
        control = rx.select.root(
            rx.select.trigger(placeholder="Choose…", width="100%", data_testid=f"input-{f.key}"),
            rx.select.content(rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
            value=S.values[f.key], on_change=lambda v: S.set_value(f.key, v))
    else:
        control = rx.input(value=S.values[f.key], on_change=lambda v: S.set_value(f.key, v),
                           width="100%", data_testid=f"input-{f.key}", aria_label=f.label,
                           color_scheme=rx.cond(S.errors.contains(f.key), "red", "gray"))
    box = rx.vstack(rx.text(f.label, size="2", weight="medium"), control, error,
                    spacing="1", width="100%")
    return rx.cond(S.key == "", box, rx.fragment()) if f.new_only else box


def record_form(entity: str) -> rx.Component:
    noun = NOUN[entity]
    body = rx.vstack(
        rx.heading(rx.cond(S.key == "", f"New {noun}", f"Edit {noun} " + S.key), size="5",
                   data_testid="form-heading"),
        rx.cond(S.form_error != "", rx.callout(S.form_error, color_scheme="red", icon="triangle-alert",
                                               width="100%", data_testid="form-error")),
        rx.grid(*[field_control(entity, f) for f in FIELDS[entity]], columns="3", spacing="4",
                width="100%"),
        rx.hstack(
            rx.link(rx.button("Cancel", variant="soft", color_scheme="gray"),
                    href=rx.cond(S.key == "", f"/{entity}", f"/{entity}/" + S.key)),
            rx.button(rx.cond(S.key == "", f"Create {noun}", "Save changes"), on_click=S.save,
                      loading=S.saving, data_testid="save-record"),
            justify="end", width="100%", spacing="3"),
        width="100%", spacing="4")
    return rx.fragment(page(entity.title(), rx.cond(
        ~AuthState.can_write_records,
        forbidden(f"Your role may not create or edit {entity}."),
        rx.cond(
            S.not_found,
            rx.vstack(rx.heading(f"{noun.title()} not found", size="4"),
                      rx.link("Back to the list", href=f"/{entity}"),
                      data_testid="record-not-found"),
            rx.cond(S.loading, rx.center(rx.spinner(size="3"), padding="3em", width="100%"),
                    body)))), on_unmount=S.leave_form)


def customer_form_page() -> rx.Component:
    return record_form("customers")


def product_form_page() -> rx.Component:
    return record_form("products")
