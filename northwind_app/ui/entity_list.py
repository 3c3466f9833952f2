"""Declare a list screen once: `EntityList` + `list_state()` build its state on the shared table.

The spec names the service `Listing`, the columns, how one service row becomes display
strings, and the URL filters. `list_state` returns a `ListState` subclass whose rows come
from `listing.page(...)` through ui/backend.py (a read-only session in a worker thread);
`fixed` filters (from the page URL) make the same list embeddable in a detail page (a
supplier's products, a customer's orders, …). The catalog's lists are built from their
entities' declarations (northwind_app/entities/, pages/catalog/lists.py). A list only
some roles may read names its service function as `fetch` (`fetch(session, actor, params)`,
e.g. users.list_users): the service, not the screen, checks the signed-in user's permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.services.auth import Actor
from northwind_app.services.listing import Listing, ListParams, Page
from northwind_app.ui import backend
from northwind_app.ui.table import Column, ListState


@dataclass(frozen=True)
class EntityList:
    name: str  # unique, used for the state class name
    route: str  # where the list lives ("/customers"); detail-embedded lists use the page path
    listing: Listing | Any  # anything with .page(session, params) -> Page and .default_sort
    columns: list[Column]
    row: Callable[[dict[str, Any]], dict[str, str]]
    filter_keys: tuple[str, ...] = ()
    fixed_from_path: Callable[[str], dict[str, str]] | None = None  # embedded lists
    # A service list function that checks the caller (used instead of listing.page).
    fetch: Callable[[Session, Actor, ListParams], Page] | None = None
    # What the list shows, for live updates: ListState.live_topics ("customer:{key}": the
    # detail page's record).
    topics: tuple[str, ...] = ()
    # The default sort in words ("time, newest first"); else the sorted column's label.
    default_sort_text: str = ""


def sort_text(spec: EntityList) -> str:
    """The list's default sort in words, for the notice about an unknown sort: "company",
    "unit price (descending)"."""
    if spec.default_sort_text:
        return spec.default_sort_text
    key = spec.listing.default_sort
    label = next((c.label.lower() for c in spec.columns if c.sort == key.lstrip("-")),
                 key.lstrip("-").replace("_", " "))
    return label + (" (descending)" if key.startswith("-") else "")


def list_state(spec: EntityList) -> type[ListState]:
    """Create the screen's state class (a ListState) for `spec`."""

    async def fetch(self, params: ListParams,
                    actor: Actor | None) -> tuple[list[dict[str, str]], int]:
        page = (await backend.load(self, spec.fetch, actor, params) if spec.fetch
                else await backend.load(self, spec.listing.page, params))
        return [spec.row(item) for item in page.items], page.total

    def read_rows(cls, params: ListParams) -> tuple[list[dict[str, str]], int]:
        page = backend.run_read(spec.listing.page, params)
        return [spec.row(item) for item in page.items], page.total

    def base_path(self) -> str:
        return self.router.url.path if spec.fixed_from_path else spec.route

    def fixed_filters(self) -> dict[str, str]:
        return spec.fixed_from_path(self.router.url.path) if spec.fixed_from_path else {}

    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__annotations__": {"route": ClassVar[str], "default_sort": ClassVar[str],
                            "filter_keys": ClassVar[tuple[str, ...]],
                            "needs_actor": ClassVar[bool], "list_name": ClassVar[str],
                            "live_topics": ClassVar[tuple[str, ...]],
                            "default_sort_text": ClassVar[str]},
        "route": spec.route,
        "list_name": spec.name,
        "default_sort": spec.listing.default_sort,
        "filter_keys": spec.filter_keys,
        "needs_actor": spec.fetch is not None,
        "live_topics": spec.topics,
        "default_sort_text": sort_text(spec),
        "_fetch": fetch,
        # Rows the same for every reader: live refreshes are pushed (ui/table/state.py).
        **({} if spec.fetch else {"_read_rows": classmethod(read_rows)}),
        "_base_path": base_path,
        "_fixed_filters": fixed_filters,
    }
    name = f"{spec.name.title().replace('_', '')}ListState"
    namespace["__qualname__"] = name
    cls = type(name, (ListState, rx.State), namespace)
    # Reachable by module and name, so the state manager can pickle its instances.
    globals()[name] = cls
    return cls


def path_part(path: str, index: int) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[index] if len(parts) > index else ""
