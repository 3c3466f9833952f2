"""Create and edit records of the entities whose declaration has form fields (customers,
products: northwind_app/entities/): one form, driven by the entity's `fields`.

Values stay strings in the state; numbers are written and read in the user's number format
(formats.py; the verified user's at load) and refused next to their field, saying how they
were read, when they do not fit it or could mean another amount. The entity's service
validates and converts the rest and names every bad field, which is shown next to it. Nothing
is written unless everything is valid. The record is read and written through ui/backend.py.

Live (live/): a record being edited shows who else has it open ("Also here: Margaret
(viewing)"; its page shows this form's user as editing), and when someone else changes it a
banner says who changed what and when; the typing stays (reload, or keep editing and save
over it).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from sqlmodel import Session

from northwind_app import formats
from northwind_app.entities import ENTITIES, Entity, Field
from northwind_app.live.tabs import LiveMixin, changed_callout, presence
from northwind_app.live.text import banner_text
from northwind_app.pages.catalog.lists import STATES, CatalogOptions, may
from northwind_app.services import audit, changes
from northwind_app.services.auth import Permission
from northwind_app.services.errors import NotFound, ServiceError
from northwind_app.ui import backend
from northwind_app.ui.backend import FIELDS_FAILED, ServerProblem, form_message
from northwind_app.ui.auth import actor_of, requires
from northwind_app.ui.breadcrumbs import breadcrumbs, list_href
from northwind_app.ui.drafts import drop_draft, keep_draft, resumes_draft
from northwind_app.ui.entity_list import path_part
from northwind_app.ui.layout import forbidden, page, grid_columns
from northwind_app.ui.widgets import link_button

SAVE_FAILED = "A server problem stopped the save; nothing was saved."


def _as_text(value: Any, fmt: str = formats.DEFAULT) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "quantize"):
        return formats.edit_text(value, fmt)
    return str(value)


def _form_entity(name: str) -> Entity:
    """The entity `name` if records of it are created and edited on the screens."""
    entity = ENTITIES.get(name)
    if entity is None or not entity.fields or None in (entity.get, entity.create, entity.replace):
        raise NotFound(f"No form edits {name!r}.")
    return entity


def _edited(session: Session, entity: Entity, key: Any) -> tuple[int, dict[str, Any]]:
    """The record's latest audit entry, where "changed since" starts, and the record (the
    entry read first: a change committed in between is named by the banner, not missed)."""
    return audit.last_id(session, entity.noun, key), entity.get(session, key)


@requires(Permission.WRITE_RECORDS)
class RecordFormState(LiveMixin, rx.State):
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
    # Someone else changed the record being edited (live.text.banner_text).
    changed_banner: str = ""
    _since: int = 0  # the record's latest audit entry when the form was filled

    @rx.event
    def leave_form(self):
        """The tab left the form through the app (it unmounted): coming back starts afresh."""
        drop_draft(self)

    @rx.event
    async def load(self):
        if await resumes_draft(self):
            self.saving = False  # a save still running would hold the tab's state
            if self.key:
                await self._live_follow()
                await self._live_refresh()  # what changed while the tab was away
            return
        path = self.router.url.path
        self.entity = path_part(path, 0)
        editing = path.rstrip("/").endswith("/edit")
        self.key = path_part(path, 1) if editing else ""
        self.errors, self.form_error, self.not_found, self.loading = {}, "", False, True
        self.changed_banner, self.present = "", ""
        yield
        try:
            entity = _form_entity(self.entity)
            self._fmt = (await actor_of(self)).number_format
            if self.key:
                self._since, record = await backend.load(self, _edited, entity,
                                                         entity.parse_key(self.key))
                self.values = {f.key: _as_text(record.get(f.key), self._fmt)
                               for f in entity.fields}
                await self._live_follow()
            else:
                self.values = entity.blank_form()
                self._live_unwatch()
            await keep_draft(self)
        except NotFound:
            self.not_found = True
        except ServiceError:  # a server problem (logged, or the outage banner raised)
            self.form_error = "The form could not be loaded. Try again."
        finally:
            self.loading = False

    # -- live ---------------------------------------------------------------------------------
    def _topic(self) -> str:
        return f"{_form_entity(self.entity).noun}:{self.key}"

    async def _live_follow(self) -> None:
        """Watch the record being edited, and be present on it as editing."""
        await self._live_watch(self._topic())
        await self._live_here(self._topic(), "editing")

    async def _live_refresh(self):
        """Others' changes to the record: the banner (what was typed stays)."""
        try:
            entity = _form_entity(self.entity)
            entries = await backend.read(self, changes.changes_since, entity.noun,
                                         entity.parse_key(self.key), self._since)
        except ServiceError:  # a server problem: logged, or the outage banner raised
            return
        self.changed_banner = banner_text(
            entries, f"this {entity.noun}",
            "It can no longer be saved; copy what you typed if you need it.")

    @rx.event
    async def keep_editing(self):
        """After the banner: keep what was typed, and save over the others' changes."""
        if not self.key:
            return
        try:
            entity = _form_entity(self.entity)
            self._since = await backend.read(self, audit.last_id, entity.noun,
                                             entity.parse_key(self.key))
        except ServiceError as exc:
            self.form_error = exc.message
            return
        self.changed_banner = ""

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
        try:
            entity = _form_entity(self.entity)
        except NotFound as exc:
            self.form_error, self.saving = exc.message, False
            return
        fields = [f for f in entity.fields if not (f.new_only and self.key)]
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
            self.form_error = FIELDS_FAILED
            self.saving = False
            return
        try:
            actor = await actor_of(self)
            if self.key:
                record = await backend.write(self, entity.replace, entity.parse_key(self.key),
                                             values, actor=actor)
            else:
                record = await backend.write(self, entity.create, values, actor=actor)
        except ServerProblem:  # logged, or the outage banner raised; the form is kept
            self.form_error, self.saving = SAVE_FAILED, False
            return
        except ServiceError as exc:
            self.errors = exc.fields
            self.form_error = form_message(exc)
            self.saving = False
            return
        saved = str(record[entity.key_field])
        self.saving = False
        self._live_unwatch()  # its own change: no banner on the way out
        drop_draft(self)
        yield rx.toast.success(f"{entity.noun.title()} {saved} saved.")
        yield rx.redirect(f"/{entity.name}/{saved}")


S = RecordFormState


def field_control(f: Field) -> rx.Component:
    error = rx.cond(S.errors.contains(f.key),
                    rx.text(S.errors[f.key], color_scheme="red", size="1", data_testid=f"error-{f.key}"))
    if f.kind == "checkbox":
        control = rx.checkbox(f.label, checked=S.values[f.key] == "true",
                              on_change=lambda v: S.set_value(f.key, v), data_testid=f"input-{f.key}")
        return rx.vstack(control, error, spacing="1")
    if f.kind == "select":
        options = getattr(CatalogOptions, f.options)
        control = rx.select.root(
            rx.select.trigger(placeholder="Choose…", width="100%", data_testid=f"input-{f.key}",
                              aria_label=f.label),
            rx.select.content(rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
            value=S.values[f.key], on_change=lambda v: S.set_value(f.key, v))
    else:
        control = rx.input(value=S.values[f.key], on_change=lambda v: S.set_value(f.key, v),
                           width="100%", data_testid=f"input-{f.key}", aria_label=f.label,
                           color_scheme=rx.cond(S.errors.contains(f.key), "red", "gray"))
    box = rx.vstack(rx.text(f.label, size="2", weight="medium"), control, error,
                    spacing="1", width="100%")
    return rx.cond(S.key == "", box, rx.fragment()) if f.new_only else box


def record_form_page(entity: Entity):
    """The page creating and editing `entity`'s records (its routes /new and /[key]/edit)."""
    noun = entity.noun

    def render() -> rx.Component:
        body = rx.vstack(
            rx.heading(rx.cond(S.key == "", f"New {noun}", f"Edit {noun} " + S.key), size="5",
                       data_testid="form-heading"),
            presence(S),
            changed_callout(S, f"Reload the {noun}"),
            rx.cond(S.form_error != "", rx.callout(S.form_error, color_scheme="red",
                                                   icon="triangle-alert", width="100%",
                                                   data_testid="form-error")),
            rx.grid(*[field_control(f) for f in entity.fields], columns=grid_columns(3), spacing="4",
                    width="100%"),
            rx.hstack(
                link_button("Cancel", variant="soft", color_scheme="gray",
                            href=rx.cond(S.key == "", f"/{entity.name}",
                                         f"/{entity.name}/" + S.key)),
                rx.button(rx.cond(S.key == "", f"Create {noun}", "Save changes"), on_click=S.save,
                          loading=S.saving, data_testid="save-record"),
                justify="end", width="100%", spacing="3"),
            width="100%", spacing="4")
        may_change = rx.Var.create(True)
        for permission in {entity.may_create, entity.may_edit} - {None}:
            may_change = may_change & may(permission)
        back = list_href(STATES[entity.name], f"/{entity.name}")
        trail = rx.cond(
            S.key == "",
            breadcrumbs((entity.title, back), (f"New {noun}", None), back=back),
            breadcrumbs((entity.title, back), (S.key, f"/{entity.name}/" + S.key),
                        ("Edit", None), back=back))
        return rx.fragment(page(entity.name.title(), trail, rx.cond(
            ~may_change,
            forbidden(f"Your role may not create or edit {entity.name}."),
            rx.cond(
                S.not_found,
                rx.vstack(rx.heading(f"{noun.title()} not found", size="4"),
                          rx.link("Back to the list", href=f"/{entity.name}"),
                          data_testid="record-not-found"),
                rx.cond(S.loading, rx.center(rx.spinner(size="3"), padding="3em", width="100%"),
                        body)))), on_unmount=S.leave_form)

    render.__name__ = f"{noun}_form_page"
    return render
