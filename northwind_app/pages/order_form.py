"""Create (/orders/new) and edit (/orders/[order_id]/edit) an order with its line items.

The form keeps strings, written and read in the user's number format (formats.py: the format
of the verified user when the form was filled, never one an event names). Reading that format
is the form's only concern; every rule is the order service's: a new order's start
(`new_order_draft`: the defaults, or for the customer or as a copy of the order the address
names, `?customer=ALFKI`, `?from=10248`), the live totals and the problem of the field being
typed (`preview_totals`, in the words a save uses), and the save (`save_order`, reached through
ui/backend). Saving first reads every number — text that does not fit the format, or could
mean another amount, is refused next to its field with how it was read, and nothing is sent —
then sends exact values to the service, which validates and writes the order, its lines and
the stock changes in one transaction. Errors come back keyed by field and are shown next to
that field. Discounts are typed as a percentage (15 = 15 %); the service takes the fraction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import reflex as rx
from sqlmodel import Session

from northwind_app import formats
from northwind_app.live.tabs import LiveMixin, changed_callout, presence
from northwind_app.live.text import banner_text
from northwind_app.money import format_money
from northwind_app.pages.order_detail import order_id_from_path
from northwind_app.pages.orders import OrdersState
from northwind_app.services import audit, changes
from northwind_app.services import orders as svc
from northwind_app.services.errors import Conflict, Invalid, NotFound, ServiceError
from northwind_app.services.auth import Permission
from northwind_app.ui import backend
from northwind_app.ui.auth import AuthState, actor_of, requires
from northwind_app.ui.breadcrumbs import breadcrumbs, list_href
from northwind_app.ui.drafts import drop_draft, keep_draft, resumes_draft
from northwind_app.ui.layout import forbidden, page, grid_columns
from northwind_app.ui.picker import (MAX_TEXT, key_action, scroll_to_option, search_picker,
                                      valid_key_payload)
from northwind_app.ui.widgets import line_header, link_button

# Each picker's search and pick (private methods of OrderFormState), for `_picker_key`.
_PICKER_METHODS = {"customer": ("_search_customers", "_pick_customer"),
                   "product": ("_search_products", "_add_product")}

HEADER_FIELDS = ("order_date", "required_date", "freight", "employee_id", "ship_via",
                 *svc.SHIP_FIELDS)
LINE_FIELDS = ("product_id", "unit_price", "quantity", "discount")
LINE_NUMBERS = ("quantity", "unit_price", "discount")  # the line fields typed as numbers
FORM_READING = "Numbers must be typed in your format"
SAVE_FAILED = ("The order could not be saved because of a server problem (the database may "
               "be unavailable); nothing was saved. Try again.")
DISCOUNT_TEXT = "must be a percentage from 0 to 100 with at most 2 decimals"


# Decimals each number field takes as typed (the discount is a percentage: 2 decimals of a
# percent are the 4 of the stored fraction).
PLACES = {"freight": 4, "unit_price": 4, "quantity": 0, "discount": 2}


def read_number(text: str, name: str, fmt: str) -> Decimal:
    """A form number typed in format `fmt`; ValueError saying how it was read. A blank
    discount or freight is 0."""
    if name in ("discount", "freight") and not (text or "").strip():
        return Decimal(0)
    return formats.parse_number(text, fmt, places=PLACES[name])


def percent_to_fraction(text: str, fmt: str = formats.DEFAULT) -> Decimal:
    """"15" -> 0.15, "2,5" -> 0.025 in a format with a decimal comma."""
    return read_number(text, "discount", fmt) / 100


def fraction_to_percent(value: Decimal, fmt: str = formats.DEFAULT) -> str:
    return formats.plain(value * 100, formats.get(fmt), 2)


def read_form(values: dict[str, str], lines: list[dict[str, str]],
              fmt: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's figures as service input, its numbers read in format `fmt` (a discount
    typed as a percentage becomes the fraction the service takes), and the numbers that do
    not read, keyed like the service's errors, with how they were read (left out of the
    input as None)."""
    unread: dict[str, str] = {}

    def number(text: str, name: str, key: str) -> Decimal | None:
        try:
            value = read_number(text, name, fmt)
        except ValueError as exc:
            unread[key] = str(exc)
            return None
        return value / 100 if name == "discount" else value

    raw: dict[str, Any] = {name: values.get(name, "") for name in HEADER_FIELDS}
    raw["freight"] = number(raw["freight"], "freight", "freight")
    raw["lines"] = [{"product_id": line["product_id"],
                     **{name: number(line.get(name, ""), name, f"lines[{index}].{name}")
                        for name in LINE_NUMBERS}}
                    for index, line in enumerate(lines)]
    return raw, unread


def field_message(name: str, message: str) -> str:
    """A service's message for the line field `name` as the form shows it ("" for none): the
    service speaks of the discount as a fraction, the form takes a percentage."""
    return DISCOUNT_TEXT if name == "discount" and message else message


def form_refusal(exc: ServiceError, mode: str, header: set[str],
                 line_errors: bool) -> tuple[str, bool, bool]:
    """(message, offer a reload, the order was deleted) for a refused save. Every refusal is
    shown: a stale version, a lifecycle rule (the order shipped or was cancelled meanwhile),
    a deleted order, a permission, or a field the form has no place for gets its message;
    only errors that all sit beside their fields get the summary."""
    conflict = "version" in exc.fields or (
        isinstance(exc, Conflict) and not line_errors)  # stock shortages are fixed in the form
    if isinstance(exc, NotFound) and mode == "edit":
        return (f"{exc.message} Nothing was saved. You can save your edit as a new order, or "
                "go back to the list.", False, True)
    if isinstance(exc, Invalid) and header <= set(HEADER_FIELDS) | {"customer_id", "lines"}:
        return backend.FIELDS_FAILED, conflict, False
    return (exc.message if not isinstance(exc, Invalid) else f"{exc.message} Nothing was saved.",
            conflict, False)


# -- what the form reads (each runs in a worker thread through ui/backend) ----------------------

def _form_data(session: Session, order_id: int | None) -> tuple[
        dict[str, list[list[str]]], svc.OrderDetailView | None, int]:
    """The pickers' options, the order edited (None for a new order), and the order's latest
    audit entry, where "changed since" starts (read before the order: a change committed
    in between is named by the banner rather than missed)."""
    options = {
        "employees": [[c.value, c.label] for c in svc.employee_choices(session)],
        "shippers": [[c.value, c.label] for c in svc.shipper_choices(session)],
    }
    if order_id is None:
        return options, None, 0
    since = audit.last_id(session, "order", order_id)
    return options, svc.get_order(session, order_id), since


def _customer_results(session: Session, text: str) -> list[dict[str, str]]:
    return [{"value": c.value, "label": c.label, "detail": c.detail}
            for c in svc.customer_choices(session, text, limit=12)]


def _customer(session: Session, customer_id: str) -> tuple[str, dict]:
    ship_to = svc.customer_ship_to(session, customer_id)
    return f"{ship_to['ship_name']} ({customer_id})", ship_to


def _product_results(session: Session, text: str) -> list[dict[str, str]]:
    return [{"value": str(p.product_id), "label": p.product_name,
             "detail": f"{format_money(p.unit_price)} · {p.units_in_stock} in stock",
             "price": formats.edit_text(p.unit_price),
             "stock": str(p.units_in_stock)}
            for p in svc.product_choices(session, text, limit=12)]


@requires(Permission.WRITE_ORDERS)
class OrderFormState(LiveMixin, rx.State):
    """The order form. Live (live/): when someone else changes the order being edited, a
    banner says who changed what and when (the typing stays; reload, or keep editing and
    save over it); its lines' stock and the product picker's follow other users' orders."""

    mode: str = "new"
    order_id: str = ""
    version: int = 0
    loading: bool = True
    not_found: bool = False
    saving: bool = False

    values: dict[str, str] = {}
    customer_id: str = ""
    customer_label: str = ""
    customer_query: str = ""
    customer_results: list[dict[str, str]] = []
    customer_active: int = -1  # the picker's highlighted option (-1: none)
    employee_options: list[list[str]] = []
    shipper_options: list[list[str]] = []

    lines: list[dict[str, str]] = []
    product_query: str = ""
    product_results: list[dict[str, str]] = []
    product_active: int = -1
    product_message: str = ""

    errors: dict[str, str] = {}
    form_error: str = ""
    conflict: bool = False
    # The number format the form's texts are written in (the verified user's, at load).
    _fmt: str = formats.DEFAULT
    deleted: bool = False  # the edited order was deleted meanwhile: offer to save it as new
    lines_frozen: str = ""  # why the lines cannot change (the order has shipped), or ""
    prefill_note: str = ""  # what a duplicate copied and left out
    subtotal: str = "$0.00"
    freight_text: str = "$0.00"
    total: str = "$0.00"

    # What was typed survives the tab's reconnection (ui/drafts.py).
    _draft_key: str = ""
    _draft_sid: str = ""
    # Someone else changed the order being edited ("Margaret changed this order 5 s ago: …").
    changed_banner: str = ""
    _since: int = 0  # the order's latest audit entry when the form was filled

    # -- loading ----------------------------------------------------------------------------
    @rx.event
    def leave_form(self):
        """The tab left the form through the app (it unmounted): coming back starts afresh."""
        drop_draft(self)

    @rx.event
    async def load(self):
        if await resumes_draft(self):
            # A save still running holds the tab's state until it ends, so one marked as
            # running here died with its worker.
            self.saving = False
            await self._live_follow()
            await self._live_refresh()  # what changed while the tab was away
            return
        self.changed_banner = ""
        self.loading = True
        self.not_found = False
        self.errors, self.form_error, self.conflict, self.product_message = {}, "", False, ""
        self.deleted, self.lines_frozen, self.prefill_note = False, "", ""
        self.customer_query, self.customer_results, self.customer_active = "", [], -1
        self.product_query, self.product_results, self.product_active = "", [], -1
        path = self.router.url.path
        order_id = order_id_from_path(path)
        self.mode = "edit" if path.rstrip("/").endswith("/edit") else "new"
        yield
        try:
            actor = await actor_of(self)
            self._fmt = actor.number_format
            if self.mode == "edit" and order_id is None:
                raise NotFound("no such order")
            options, order, since = await backend.load(
                self, _form_data, order_id if self.mode == "edit" else None)
            self.employee_options = options["employees"]
            self.shipper_options = options["shippers"]
            if order is not None:
                self._fill_from(order)
                actions = svc.order_actions(order, actor)
                if actions.edit_blocked:  # e.g. cancelled: the service would refuse the save
                    self.form_error, self.conflict = actions.edit_blocked, False
                self.lines_frozen = actions.lines_blocked
                self._since = since
            else:
                self._fill_new(await self._new_draft(actor))
                self._since = 0
            await keep_draft(self)
            await self._live_follow()
            if order is not None:
                await self._live_here(f"order:{order.order_id}", "editing")
        except NotFound:
            self.not_found = True
        except ServiceError:  # a server problem (logged, the outage banner raised) or the
            # session ended
            self.form_error = "The form could not be loaded. Try again."
        finally:
            self.loading = False

    # -- live ---------------------------------------------------------------------------------
    async def _live_follow(self) -> None:
        """Watch the order being edited, and the products on its lines and in the picker."""
        topics = [f"order:{self.order_id}"] if self.mode == "edit" and self.order_id else []
        topics += [f"product:{line['product_id']}" for line in self.lines]
        topics += [f"product:{p['value']}" for p in self.product_results]
        await self._live_watch(*topics)

    async def _live_refresh(self):
        """Others' changes: the banner for the order's, fresh stock for its lines and the
        picker. What was typed stays."""
        try:
            if self.mode == "edit" and self.order_id:
                entries = await backend.read(self, changes.changes_since, "order",
                                             int(self.order_id), self._since)
                self.changed_banner = banner_text(
                    entries, "this order",
                    "Saving will offer to keep what you typed as a new order.")
            ids = [int(line["product_id"]) for line in self.lines]
            stock = await backend.read(self, svc.stock_levels, ids)
            lines = [{**line, "stock": str(stock.get(int(line["product_id"]), line["stock"]))}
                     for line in self.lines]
            if lines != self.lines:
                self.lines = lines
            if self.product_results and self.product_query.strip():
                results = await backend.read(self, _product_results, self.product_query)
                if results != self.product_results:
                    self.product_results = results
                    self.product_active = min(self.product_active, len(results) - 1)
        except ServiceError:  # a server problem: logged, or the outage banner raised
            return

    @rx.event
    async def keep_editing(self):
        """After the banner: save over the others' changes (the save then carries the
        order's current version)."""
        if self.mode != "edit" or not self.order_id:
            return
        try:
            order_id = int(self.order_id)
            self.version = (await backend.read(self, svc.get_order, order_id)).version
            self._since = await backend.read(self, audit.last_id, "order", order_id)
        except ServiceError as exc:
            self.form_error = exc.message
            return
        self.changed_banner = ""

    async def _new_draft(self, actor) -> svc.OrderDraft:
        """A new order's start (the service's `new_order_draft`): for the customer or as a
        duplicate of the order the address names (`?customer=ALFKI`, `?from=10248`); one
        that cannot be found starts the form empty, saying why."""
        params = self.router.url.query_parameters
        try:
            return await backend.load(self, svc.new_order_draft, actor,
                                      params.get("customer"), params.get("from"))
        except (Invalid, NotFound) as exc:
            self.form_error = (f"{exc.message} The form starts empty." if not exc.fields else
                               "This address's " + "; ".join(
                                   f"{name} {text}" for name, text in exc.fields.items())
                               + ". The form starts empty.")
            return await backend.load(self, svc.new_order_draft, actor)

    def _fill_new(self, new: svc.OrderDraft):
        self.order_id, self.version = "", 0
        self.customer_id = new.customer_id
        self.customer_label = f"{new.customer_name} ({new.customer_id})" if new.customer_id \
            else ""
        self.values = {name: "" for name in HEADER_FIELDS}
        self.values.update(order_date=new.order_date.isoformat(),
                           required_date=new.required_date.isoformat(),
                           freight=formats.edit_text(new.freight, self._fmt),
                           employee_id="" if new.employee_id is None else str(new.employee_id),
                           ship_via="" if new.ship_via is None else str(new.ship_via),
                           **new.ship)
        self.lines = [self._line(str(line.product_id), line.product_name,
                                 formats.edit_text(line.unit_price, self._fmt),
                                 str(line.quantity), fraction_to_percent(line.discount, self._fmt),
                                 str(line.units_in_stock))
                      for line in new.lines]
        if new.source_order_id is not None:
            self.prefill_note = " ".join((
                f"A copy of order {new.source_order_id}: its customer, shipping and lines at "
                "today's prices, dated today. Nothing is saved until you create it.",
                *new.notes))
        self._recompute()

    def _fill_from(self, order: svc.OrderDetailView):
        self.order_id, self.version = str(order.order_id), order.version
        self.customer_id = order.customer_id or ""
        self.customer_label = f"{order.customer_name} ({order.customer_id})"
        self.values = {
            "order_date": order.order_date.isoformat() if order.order_date else "",
            "required_date": order.required_date.isoformat() if order.required_date else "",
            "freight": formats.edit_text(order.freight, self._fmt),
            "employee_id": str(order.employee_id or ""),
            "ship_via": str(order.ship_via or ""),
            **{name: getattr(order, name) or "" for name in svc.SHIP_FIELDS},
        }
        self.lines = [self._line(str(l.product_id), l.product_name,
                                 formats.edit_text(l.unit_price, self._fmt), str(l.quantity),
                                 fraction_to_percent(l.discount, self._fmt),
                                 str(l.units_in_stock), existing=True)
                      for l in order.lines]
        self._recompute()

    @staticmethod
    def _line(product_id, name, price, quantity, discount, stock, existing=False) -> dict[str, str]:
        return {"product_id": product_id, "product_name": name, "unit_price": price,
                "quantity": quantity, "discount": discount, "stock": stock,
                "existing": "1" if existing else "", "line_total": "",
                **{f"err_{f}": "" for f in LINE_FIELDS}}

    def _recompute(self, edited: str | None = None) -> None:
        """The figures of what is typed (the service's `preview_totals`); `edited`, the key
        of the field just changed (e.g. "lines[0].quantity"), gets its problem at once, in
        the words a save would use."""
        raw, unread = read_form(self.values, self.lines, self._fmt)
        totals = svc.preview_totals(raw)
        lines = []
        for index, (line, value) in enumerate(zip(self.lines, totals.lines, strict=True)):
            prefix = f"lines[{index}]."
            readable = not any(key.startswith(prefix) for key in unread)
            line = {**line, "line_total": format_money(value)
                    if readable and value is not None else "—"}
            if edited is not None and edited.startswith(prefix):
                name = edited[len(prefix):]
                line[f"err_{name}"] = unread.get(edited) or field_message(
                    name, totals.problems.get(edited, ""))
            lines.append(line)
        self.lines = lines
        freight = None if "freight" in unread else totals.freight
        if edited == "freight" and (problem := unread.get("freight")
                                    or totals.problems.get("freight")):
            self.errors = {**self.errors, "freight": problem}
        readable = not any(key.startswith("lines[") for key in unread)
        self.freight_text = format_money(freight) if freight is not None else "—"
        self.subtotal = format_money(totals.subtotal) \
            if readable and totals.subtotal is not None else "—"
        self.total = format_money(totals.total) \
            if readable and totals.total is not None and freight is not None else "—"

    # -- field edits ------------------------------------------------------------------------
    @rx.event
    def set_value(self, name: str, value: str):
        if not isinstance(value, str) or name not in HEADER_FIELDS:
            return
        self.values = {**self.values, name: value}
        self.errors = {k: v for k, v in self.errors.items() if k != name}
        if name == "freight":
            self._recompute(edited="freight")

    # -- the pickers (ui/picker.py: a combobox each) ------------------------------------------
    @rx.event
    async def search_customers(self, text: str):
        if isinstance(text, str) and len(text) <= MAX_TEXT and (
                text != self.customer_query or not self.customer_results):
            await self._search_customers(text)

    async def _search_customers(self, text: str) -> None:
        self.customer_query, self.customer_active = text, -1
        try:
            self.customer_results = (await backend.read(self, _customer_results, text)
                                     if text.strip() else [])
        except ServiceError:  # a server problem: logged, and no results
            self.customer_results = []

    @rx.event
    async def pick_customer(self, customer_id: str):
        if isinstance(customer_id, str) and 0 < len(customer_id) <= MAX_TEXT:
            await self._pick_customer(customer_id)

    async def _pick_customer(self, customer_id: str) -> None:
        try:
            label, ship_to = await backend.read(self, _customer, customer_id)
        except ServiceError:  # not a customer (any more), or a server problem
            return
        self.customer_id, self.customer_label = customer_id, label
        self.customer_query, self.customer_results, self.customer_active = "", [], -1
        self.values = {**self.values, **{k: v or "" for k, v in ship_to.items()}}
        self.errors = {k: v for k, v in self.errors.items()
                       if k != "customer_id" and k not in svc.SHIP_FIELDS}

    @rx.event
    async def customer_key(self, key: str, text: str):
        """A key in the customer picker, with the picker's text (see ui/picker.py). Enter with
        no option chosen is the form's (the browser submits it when the list is closed)."""
        async for update in self._picker_key("customer", key, text):
            yield update

    async def _picker_key(self, name: str, key: str, text: str):
        """A key in picker `name` ("customer" or "product"), with its text: the combobox's
        moves, pick, close and clear (ui/picker.py `key_action`)."""
        if not valid_key_payload(key, text):
            return
        search, pick = (getattr(self, method) for method in _PICKER_METHODS[name])
        if text != getattr(self, f"{name}_query"):  # typed faster than the debounced search
            await search(text)
        results = getattr(self, f"{name}_results")
        action, index = key_action(key, getattr(self, f"{name}_active"), len(results))
        if action == "search" and text.strip():
            await search(text)
            setattr(self, f"{name}_active", 0 if getattr(self, f"{name}_results") else -1)
        elif action == "move":
            setattr(self, f"{name}_active", index)
            yield scroll_to_option(name, index)
        elif action == "pick":
            await pick(results[index]["value"])
        elif action == "close":
            setattr(self, f"{name}_results", [])
            setattr(self, f"{name}_active", -1)
        elif action == "clear":
            setattr(self, f"{name}_query", "")
            if name == "product":
                self.product_message = ""

    @rx.event
    async def search_products(self, text: str):
        if isinstance(text, str) and len(text) <= MAX_TEXT and (
                text != self.product_query or not self.product_results):
            await self._search_products(text)

    async def _search_products(self, text: str) -> None:
        self.product_query, self.product_active = text, -1
        self.product_message = ""
        try:
            self.product_results = (await backend.read(self, _product_results, text)
                                    if text.strip() else [])
        except ServiceError as exc:
            self.product_results, self.product_message = [], exc.message
        await self._live_follow()

    @rx.event
    async def add_product(self, product_id: str):
        if isinstance(product_id, str):
            await self._add_product(product_id)

    async def _add_product(self, product_id: str) -> None:
        match = next((p for p in self.product_results if p["value"] == product_id), None)
        if match is None:
            return
        line = self._line(product_id, match["label"], match["price"], "1", "0", match["stock"])
        raw, _unread = read_form(self.values, [*self.lines, line], self._fmt)
        problem = svc.preview_totals(raw).problems.get(f"lines[{len(self.lines)}].product_id")
        if problem:  # each product once per order (e.g. already on a line)
            self.product_message = f"{match['label']}: {problem}."
            self.product_results, self.product_active = [], -1
            return
        self.lines = [*self.lines, line]
        self.product_query, self.product_results, self.product_message = "", [], ""
        self.product_active = -1
        self.errors = {k: v for k, v in self.errors.items() if k != "lines"}
        self._recompute()
        await self._live_follow()

    @rx.event
    async def product_key(self, key: str, text: str):
        """A key in the line picker, with its text: Enter only ever picks (ui/picker.py)."""
        async for update in self._picker_key("product", key, text):
            yield update

    @rx.event
    def set_line(self, index: int, name: str, value: str):
        if (not isinstance(index, int) or not isinstance(value, str)
                or name not in LINE_NUMBERS or not 0 <= index < len(self.lines)):
            return
        lines = list(self.lines)
        lines[index] = {**lines[index], name: value, f"err_{name}": ""}
        self.lines = lines
        self._recompute(edited=f"lines[{index}].{name}")

    @rx.event
    def remove_line(self, index: int):
        if isinstance(index, int) and 0 <= index < len(self.lines):
            self.lines = [line for i, line in enumerate(self.lines) if i != index]
            self._recompute()

    # -- save -------------------------------------------------------------------------------
    def _raw_input(self) -> dict[str, Any]:
        """The form as service input, its numbers read in the form's format; Invalid
        (keyed like the service's errors) naming every number that does not read."""
        raw, unread = read_form(self.values, self.lines, self._fmt)
        if unread:
            raise Invalid(f"{FORM_READING} ({formats.get(self._fmt).example}).", unread)
        raw["customer_id"] = self.customer_id
        return raw

    def _show_errors(self, exc: ServiceError):
        header, per_line = {}, {}
        for key, message in exc.fields.items():
            if key.startswith("lines[") and "]." in key:
                index, name = key[6:].split("].", 1)
                per_line.setdefault(int(index), {})[f"err_{name}"] = (
                    message if exc.message.startswith(FORM_READING)
                    else field_message(name, message))
            else:
                header[key] = message
        self.lines = [{**line, **per_line.get(i, {})} for i, line in enumerate(self.lines)]
        self.errors = header
        self.form_error, self.conflict, self.deleted = form_refusal(
            exc, self.mode, set(header), bool(per_line))

    @rx.event
    async def save_as_new(self):
        """After the edited order was deleted: save the form as a new order."""
        if not self.deleted or self.saving:
            return
        self.mode, self.order_id, self.version, self.deleted = "new", "", 0, False
        self.lines = [{**line, "existing": ""} for line in self.lines]
        yield OrderFormState.save

    @rx.event
    def submit_form(self, _form_data: dict):
        """The form was submitted (its button, or Enter in a field): save what the state
        holds; what the browser sends with the submission is not read."""
        return OrderFormState.save

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        self.errors, self.form_error, self.conflict = {}, "", False
        self.lines = [{**line, **{f"err_{f}": "" for f in LINE_FIELDS}} for line in self.lines]
        yield
        try:
            raw = self._raw_input()
        except Invalid as exc:  # typed numbers that do not read: nothing is sent
            self._show_errors(exc)
            self.saving = False
            return
        editing = self.mode == "edit"
        try:
            actor = await actor_of(self)
            # An edit sends the whole form, which has no shipped date: the save keeps it.
            saved = await backend.write(
                self, svc.save_order, int(self.order_id) if editing else None, raw,
                self.version if editing else None, actor=actor)
        except backend.ServerProblem:  # logged, the outage banner raised if the database is down
            self.form_error = SAVE_FAILED
            self.saving = False
            return
        except ServiceError as exc:
            self._show_errors(exc)
            self.saving = False
            return
        self.saving = False
        drop_draft(self)
        self._live_unwatch()  # its own change: no banner on the way out
        yield rx.toast.success(f"Order {saved.order_id} saved.")
        yield rx.redirect(f"/orders/{saved.order_id}")


# -- components ---------------------------------------------------------------------------------
S = OrderFormState


def error_text(key: str) -> rx.Component:
    return rx.cond(S.errors.contains(key),
                   rx.text(S.errors[key], color_scheme="red", size="1", data_testid=f"error-{key}"))


def labeled(label: str, control: rx.Component, key: str) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, error_text(key),
                     spacing="1", width="100%")


def text_input(label: str, key: str, type_: str = "text", width: str = "100%") -> rx.Component:
    return labeled(label, rx.input(
        value=S.values[key], on_change=lambda v: S.set_value(key, v), type=type_, width=width,
        data_testid=f"input-{key}", aria_label=label,
        color_scheme=rx.cond(S.errors.contains(key), "red", "gray"),
    ), key)


def select_input(label: str, key: str, options, placeholder: str) -> rx.Component:
    return labeled(label, rx.select.root(
        rx.select.trigger(placeholder=placeholder, width="100%", data_testid=f"input-{key}",
                          aria_label=label),
        rx.select.content(rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
        value=S.values[key], on_change=lambda v: S.set_value(key, v),
    ), key)


def line_row(line, index) -> rx.Component:
    def cell_input(name, width, label=None):
        return rx.vstack(
            rx.input(value=line[name], on_change=lambda v: S.set_line(index, name, v),
                     width=width, text_align="right", data_testid=f"line-{name}",
                     aria_label=label or name.replace("_", " "),
                     color_scheme=rx.cond(line[f"err_{name}"] != "", "red", "gray")),
            rx.cond(line[f"err_{name}"] != "",
                    rx.text(line[f"err_{name}"], color_scheme="red", size="1", max_width="16em",
                            data_testid=f"line-error-{name}")),
            spacing="1", align="end",
        )
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.text(line["product_name"], weight="medium"),
            rx.text(line["stock"], " in stock", size="1", color=rx.color("gray", 11),
                    data_testid="line-stock"),
            rx.cond(line["err_product_id"] != "",
                    rx.text(line["err_product_id"], color_scheme="red", size="1",
                            data_testid="line-error-product_id")),
            spacing="0")),
        rx.table.cell(cell_input("unit_price", "7em")),
        rx.table.cell(cell_input("quantity", "5em")),
        rx.table.cell(rx.hstack(cell_input("discount", "4.5em", "discount in percent"),
                                rx.text("%"), align="start", spacing="1")),
        rx.table.cell(rx.text(line["line_total"], data_testid="line-total"), text_align="right"),
        rx.table.cell(rx.icon_button(rx.icon("x", size=14), variant="ghost", color_scheme="red",
                                     on_click=S.remove_line(index), aria_label="Remove line", type="button",
                                     data_testid="remove-line")),
        data_testid="form-line",
    )


def lines_editor() -> rx.Component:
    return rx.vstack(
        rx.heading("Lines", size="4"),
        rx.table.root(
            line_header(removable=True),
            rx.table.body(rx.foreach(S.lines, line_row)),
            width="100%", variant="surface",
        ),
        error_text("lines"),
        rx.hstack(
            rx.text("Add product", size="2", weight="medium"),
            search_picker(query=S.product_query, on_query=S.search_products,
                          results=S.product_results, active=S.product_active,
                          on_pick=S.add_product, on_key=S.product_key, label="Add product",
                          placeholder="Search products by name or id", testid="product",
                          enter_picks=True),
            align="center", spacing="3", wrap="wrap", width="100%",
        ),
        rx.cond(S.product_message != "",
                rx.text(S.product_message, color_scheme="orange", size="2",
                        data_testid="product-message")),
        width="100%",
        spacing="3",
    )


def totals_box() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text("Subtotal"), rx.spacer(), rx.text(S.subtotal, data_testid="form-subtotal"),
                  width="16em"),
        rx.hstack(rx.text("Freight"), rx.spacer(), rx.text(S.freight_text, data_testid="form-freight"), width="16em"),
        rx.divider(width="16em"),
        rx.hstack(rx.text("Total", weight="bold"), rx.spacer(),
                  rx.text(S.total, weight="bold", data_testid="form-total"), width="16em"),
        align="end", width="100%",
    )


def form_body() -> rx.Component:
    return rx.form(rx.vstack(
        presence(S),
        changed_callout(S, "Reload the order"),
        rx.cond(S.prefill_note != "", rx.callout(
            S.prefill_note, icon="copy", color_scheme="blue", width="100%",
            data_testid="prefill-note")),
        rx.cond(S.form_error != "", rx.callout(
            rx.vstack(rx.text(S.form_error),
                      rx.cond(S.conflict, rx.button("Reload the order", size="1", variant="soft",
                                                    type="button", on_click=S.load,
                                                    data_testid="reload-order")),
                      rx.cond(S.deleted, rx.hstack(
                          rx.button("Save as a new order", size="1", on_click=S.save_as_new,
                                    type="button",
                                    data_testid="save-as-new"),
                          link_button("Back to the list", size="1", variant="soft",
                                      href="/orders", data_testid="back-to-list"),
                          spacing="2")),
                      spacing="2"),
            icon="triangle-alert", color_scheme=rx.cond(S.conflict, "orange", "red"),
            width="100%", data_testid="form-error")),
        rx.grid(
            rx.vstack(
                rx.text("Customer", size="2", weight="medium"),
                search_picker(query=S.customer_query, on_query=S.search_customers,
                              results=S.customer_results, active=S.customer_active,
                              on_pick=S.pick_customer, on_key=S.customer_key, label="Customer",
                              placeholder="Search customers by name, id or city",
                              testid="customer", selected_label=S.customer_label,
                              error=S.errors.get("customer_id", ""), width="100%"),
                spacing="1", width="100%",
            ),
            select_input("Employee", "employee_id", S.employee_options, "Choose an employee"),
            select_input("Shipper", "ship_via", S.shipper_options, "Choose later"),
            text_input("Order date", "order_date", "date"),
            text_input("Required date", "required_date", "date"),
            text_input("Freight", "freight"),
            columns=grid_columns(3), spacing="4", width="100%",
        ),
        rx.heading("Ship to", size="4"),
        rx.grid(
            text_input("Name", "ship_name"), text_input("Address", "ship_address"),
            text_input("City", "ship_city"), text_input("Region", "ship_region"),
            text_input("Postal code", "ship_postal_code"), text_input("Country", "ship_country"),
            columns=grid_columns(3), spacing="4", width="100%",
        ),
        rx.cond(S.lines_frozen != "", rx.callout(
            S.lines_frozen, icon="lock", color_scheme="gray", width="100%",
            data_testid="lines-frozen")),
        lines_editor(),
        totals_box(),
        rx.hstack(
            link_button("Cancel", variant="soft", color_scheme="gray",
                        href=rx.cond(S.mode == "edit", "/orders/" + S.order_id, "/orders")),
            # The form's one submit button: Enter in any of its fields presses it too (the
            # pickers keep their Enter while their list is open, the line picker always).
            rx.button(rx.cond(S.mode == "edit", "Save changes", "Create order"),
                      type="submit", loading=S.saving, data_testid="save-order"),
            justify="end", width="100%", spacing="3",
        ),
        width="100%", spacing="4",
    ), on_submit=S.submit_form, width="100%")


def order_form_page() -> rx.Component:
    orders = list_href(OrdersState, "/orders")
    return rx.fragment(page(
        "Order",
        rx.cond(
            AuthState.can_write_orders,
            rx.fragment(
                rx.cond(S.mode == "edit",
                        breadcrumbs(("Orders", orders), (S.order_id, "/orders/" + S.order_id),
                                    ("Edit", None), back=orders),
                        breadcrumbs(("Orders", orders), ("New order", None), back=orders)),
                rx.heading(rx.cond(S.mode == "edit", "Edit order " + S.order_id, "New order"),
                           size="5", margin_bottom="1em", data_testid="form-heading"),
                rx.cond(S.not_found,
                        rx.vstack(rx.heading("Order not found", size="4"),
                                  rx.link("Back to orders", href="/orders"),
                                  data_testid="order-not-found"),
                        rx.cond(S.loading, rx.center(rx.spinner(size="3"), padding="3em"),
                                form_body())),
            ),
            forbidden("Your role may not create or edit orders."),
        ),
    ), on_unmount=S.leave_form)
