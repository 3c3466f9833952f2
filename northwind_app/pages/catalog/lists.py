"""The catalog entities' list pages and the lists their detail pages embed, built from their
declarations (northwind_app/entities/).

Every list (top-level or embedded) is an `EntityList` on the shared table. `STATES` holds each
list's state by name: the entity's ("customers") and each related list's, named after the
page's record ("customer_orders"), whose page key is a fixed filter.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from northwind_app.entities import ENTITIES, LISTS, Entity, Related
from northwind_app.services import catalog
from northwind_app.services.auth import Permission
from northwind_app.services.errors import ServiceError
from northwind_app.ui import backend
from northwind_app.ui.auth import AuthState
from northwind_app.ui.entity_list import EntityList, list_state, path_part
from northwind_app.ui.layout import page
from northwind_app.ui.widgets import link_button
from northwind_app.ui.table import ListState, data_table, filter_select


def may(permission: Permission) -> rx.Var:
    """Whether the signed-in user holds `permission` (a var of AuthState)."""
    return {Permission.WRITE_RECORDS: AuthState.can_write_records,
            Permission.WRITE_ORDERS: AuthState.can_write_orders,
            Permission.MANAGE_USERS: AuthState.can_manage_users,
            Permission.VIEW_AUDIT: AuthState.can_view_audit}[permission]


def related_name(entity: Entity, related: Related) -> str:
    """The name of a related list's state ("customer_orders")."""
    return f"{entity.noun}_{related.name}"


def _fixed(name: str, index: int = 1) -> Callable[[str], dict[str, str]]:
    return lambda path: {name: path_part(path, index)}


# Order changes name their customer, employee and products (live/feed.py): a list of one of
# those records' orders follows only its record's.
_ORDERS_OF = ("customer", "employee", "product")


def _related_topics(entity: Entity, related: Related) -> tuple[str, ...]:
    """What a related list shows, for live updates."""
    if related.source == "orders" and entity.noun in _ORDERS_OF:
        return (f"{entity.noun}:{{key}}",)
    return (related.source,)


def _states() -> dict[str, type[ListState]]:
    states = {}
    for entity in ENTITIES.values():
        states[entity.name] = list_state(EntityList(
            entity.name, f"/{entity.name}", entity.listing, list(entity.columns), entity.row,
            entity.filter_keys, topics=(entity.name,)))
        for related in entity.related:
            source = LISTS[related.source]
            name = related_name(entity, related)
            states[name] = list_state(EntityList(
                name, f"/{entity.name}", source.listing, related.columns(source.columns),
                source.row,
                fixed_from_path=_fixed(related.filter),
                topics=_related_topics(entity, related)))
    return states


STATES = _states()


class CatalogOptions(rx.State):
    """Choices for the list filters and the product form's selects (loaded once per tab)."""

    customer_countries: list[list[str]] = []
    supplier_countries: list[list[str]] = []
    employee_countries: list[list[str]] = []
    categories: list[list[str]] = []
    suppliers: list[list[str]] = []

    @rx.event
    async def load(self):
        try:
            choices = await backend.load(self, catalog.filter_choices)
        except ServiceError:  # a server problem: logged, or the outage banner raised
            return
        for name, values in choices.items():
            setattr(self, name, [list(choice) for choice in values])


def _new_button(entity: Entity) -> rx.Component:
    return rx.cond(may(entity.may_create),
                   link_button(rx.icon("plus", size=16), f"New {entity.noun}",
                               href=f"/{entity.name}/new", data_testid="new-record",
                               data_shortcut="new"))


def list_page(entity: Entity) -> Callable[[], rx.Component]:
    """The page of `entity`'s list, with its filters and (for roles that may) "New …"."""
    def render() -> rx.Component:
        state = STATES[entity.name]
        filters = [filter_select(state, f.key, f.label,
                                 getattr(CatalogOptions, f.options)
                                 if isinstance(f.options, str) else list(f.options),
                                 width=f.width)
                   for f in entity.filters]
        actions = [_new_button(entity)] if entity.may_create and entity.fields else None
        return page(entity.title, data_table(
            state, list(entity.columns), search_placeholder=entity.search_placeholder,
            filters=filters or None, actions=actions,
            empty_text=f"No {entity.title.lower()} match."))
    render.__name__ = f"{entity.name}_page"
    return render


def embedded(entity: Entity, related: Related) -> rx.Component:
    """A related list inside `entity`'s detail page."""
    state = STATES[related_name(entity, related)]
    return rx.vstack(rx.heading(related.title, size="4"),
                     data_table(state, related.columns(LISTS[related.source].columns),
                                search_placeholder=related.search_placeholder),
                     width="100%", spacing="2", padding_top="1em")


def related_loads(entity: Entity) -> list:
    """The on_load events of the lists `entity`'s detail page embeds."""
    return [STATES[related_name(entity, related)].load for related in entity.related]
