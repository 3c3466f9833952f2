"""What every catalog detail page shares: `DetailState` (a state mixin: load one record, delete
it) and the page's frame (heading, fields, not-found, edit and delete for roles that may).

A detail page (one module per entity beside this one) subclasses `DetailState` with its
entity's declaration (`entity`), the vars it shows besides `record` (`data_lists`, emptied on
every load) and `_read(session, key)`, which reads and formats them in a worker thread through
ui/backend.py. Its helpers are private: every public method of a state is an event handler any
websocket may call with any payload.
"""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import Entity
from northwind_app.live.tabs import LiveMixin, presence
from northwind_app.pages.catalog.lists import STATES, embedded, may
from northwind_app.services import audit
from northwind_app.services.errors import NotFound, ServiceError
from northwind_app.ui import backend
from northwind_app.ui.auth import actor_of
from northwind_app.ui.breadcrumbs import breadcrumbs, list_href
from northwind_app.ui.charts import TICK_FONT, count_axis, money_axis, y_axis_props
from northwind_app.ui.entity_list import path_part
from northwind_app.ui.layout import page
from northwind_app.ui.widgets import confirm_delete_dialog, link_button

LOAD_FAILED = "This record could not be loaded. Try again."


class DetailState(LiveMixin, mixin=True):
    """One record of the page's entity (the URL's key), as display strings. It follows the
    record as others change it (live/: shown again in place; a deletion says who and when),
    and says who else has it open."""

    key: str = ""
    record: dict[str, str] = {}
    not_found: bool = False
    gone: str = ""  # who deleted the record shown, and when (a live update)
    loading: bool = True
    error: str = ""
    action_error: str = ""
    delete_open: bool = False

    entity: ClassVar[Entity]
    # The page's other vars read with the record (lists: a chart, the history, …).
    data_lists: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        """The page's vars (name -> value) for record `key`; NotFound when there is none."""
        raise NotImplementedError

    @rx.event
    async def load(self):
        self.key = path_part(self.router.url.path, 1)
        self.loading, self.not_found, self.error, self.action_error = True, False, "", ""
        self.gone = ""
        self.record = {}
        for name in self.data_lists:
            setattr(self, name, [])
        yield
        try:
            data = await backend.load(self, self._read, self.entity.parse_key(self.key))
        except NotFound:
            self.not_found = True
        except ServiceError:  # a server problem: logged, or the outage banner raised
            self.error = LOAD_FAILED
        else:
            for name, value in data.items():
                setattr(self, name, value)
            topic = f"{self.entity.noun}:{self.key}"
            await self._live_watch(topic)
            await self._live_here(topic)
        finally:
            self.loading = False

    async def _live_refresh(self):
        """The record changed: show it again in place (no spinner); deleted, say who and when."""
        try:
            key = self.entity.parse_key(self.key)
            data = await backend.read(self, self._read, key)
        except NotFound:
            self.not_found = True
            try:
                deleted = await backend.read(self, audit.last_action, self.entity.noun, key,
                                             "delete")
            except ServiceError:
                deleted = None
            if deleted is not None:
                self.gone = (f"{self.entity.noun.title()} {self.key} was deleted by "
                             f"{deleted.username} on {audit.when_text(deleted.at)}.")
            self._live_unwatch()
        except ServiceError:  # a server problem: logged, or the outage banner raised
            return
        else:
            for name, value in data.items():
                if getattr(self, name) != value:
                    setattr(self, name, value)

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value
        self.action_error = ""

    @rx.event
    async def confirm_delete(self):
        entity = self.entity
        if entity.delete is None:  # nothing of this entity is deleted on the screens
            return
        try:
            key = entity.parse_key(self.key)
            actor = await actor_of(self)
            await backend.write(self, entity.delete, key, actor=actor)
        except ServiceError as exc:
            self.action_error = exc.message
            return
        self.delete_open = False
        yield rx.toast.success(f"{entity.noun.title()} {self.key} deleted.")
        yield rx.redirect(f"/{entity.name}")


def info(state: type[DetailState], label: str, key: str,
         testid: str | None = None) -> rx.Component:
    record = state.record
    return rx.vstack(rx.text(label, size="1", color=rx.color("gray", 11)),
                     rx.text(rx.cond(record[key] != "", record[key], "—"), size="3",
                             data_testid=testid or f"field-{key}"),
                     spacing="0")


def detail_shell(state: type[DetailState], title: str, body: rx.Component) -> rx.Component:
    entity = state.entity
    back = list_href(STATES[entity.name], f"/{entity.name}")
    return page(title, breadcrumbs((entity.title, back), (state.key, None), back=back), rx.cond(
        state.not_found,
        rx.center(rx.vstack(rx.icon("search-x", size=40, color=rx.color("gray", 9)),
                            rx.heading(title, " not found", size="5"),
                            rx.cond(state.gone != "",
                                    rx.text(state.gone, data_testid="record-gone"),
                                    rx.text("Nothing has the id ", rx.code(state.key), ".")),
                            rx.link("Back to the list", href=f"/{state.entity.name}"),
                            align="center", data_testid="record-not-found"),
                  padding="4em", width="100%"),
        rx.cond(state.error != "", rx.callout(state.error, color_scheme="red"),
                rx.cond(state.record.length() > 0, body,
                        rx.center(rx.spinner(size="3"), padding="3em", width="100%")))))


def _delete_dialog(state: type[DetailState]) -> rx.Component:
    noun = state.entity.noun
    return confirm_delete_dialog(
        title=f"Delete this {noun}?", description="This cannot be undone.",
        open_=state.delete_open, on_open_change=state.set_delete_open,
        on_confirm=state.confirm_delete, error=state.action_error,
        confirm_label=f"Delete {noun}")


def record_actions(state: type[DetailState]) -> rx.Component:
    """Edit and delete, each for the roles the entity lets do it."""
    entity = state.entity
    parts: list[tuple[Any, rx.Component]] = []
    if entity.may_edit and entity.fields:
        parts.append((entity.may_edit, link_button(
            rx.icon("pencil", size=16), "Edit", variant="soft",
            href=f"/{entity.name}/" + state.key + "/edit", data_testid="edit-record")))
    if entity.may_delete and entity.delete:
        parts.append((entity.may_delete, rx.fragment(
            rx.button(rx.icon("trash-2", size=16), "Delete", variant="soft", color_scheme="red",
                      on_click=state.set_delete_open(True), data_testid="delete-record"),
            _delete_dialog(state))))
    if not parts:
        return rx.fragment()
    anyone = may(parts[0][0])
    for permission, _ in parts[1:]:
        anyone = anyone | may(permission)
    return rx.cond(anyone, rx.hstack(*[rx.cond(may(permission), part)
                                       for permission, part in parts], spacing="3",
                                     wrap="wrap"))


def heading(state: type[DetailState], *children, actions=None) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(*children, size="5", data_testid="record-heading"), rx.spacer(),
                  actions or rx.fragment(), width="100%", align="center", wrap="wrap"),
        presence(state),
        rx.cond(state.action_error != "", rx.callout(state.action_error, color_scheme="red",
                                                     width="100%", data_testid="action-error")),
        width="100%",
    )


def related_lists(state: type[DetailState]) -> list[rx.Component]:
    """The lists the entity declares for its detail page, in their order."""
    return [embedded(state.entity, related) for related in state.entity.related]


def chart_axes(rows: list[dict], money: str, count: str) -> dict[str, dict]:
    """`bar_chart`'s axes for `rows`: amounts (`money`) left, counts (`count`) right, in the
    user's format (ui/charts.py)."""
    return {"left": money_axis(row[money] for row in rows),
            "right": count_axis(row[count] for row in rows)}


def bar_chart(data, bar: tuple[str, str], line: tuple[str, str], axes: rx.Var,
              height=260) -> rx.Component:
    """Bars (left axis: money) and a line (right axis: counts) over `label`; `axes` is the
    state's `chart_axes` value."""
    return rx.recharts.composed_chart(
        rx.recharts.bar(data_key=bar[0], name=bar[1], fill=rx.color("accent", 8), y_axis_id="left"),
        rx.recharts.line(data_key=line[0], name=line[1], stroke=rx.color("orange", 9),
                         y_axis_id="right", dot=False),
        rx.recharts.x_axis(data_key="label", tick=TICK_FONT, interval="preserveStartEnd",
                           min_tick_gap=12),
        rx.recharts.y_axis(y_axis_id="left", **y_axis_props(axes["left"])),
        rx.recharts.y_axis(y_axis_id="right", orientation="right", **y_axis_props(axes["right"])),
        rx.recharts.graphing_tooltip(), rx.recharts.legend(),
        data=data, width="100%", height=height,
    )
