"""What an entity's screens are made of, declared once (in the manner of Django's ModelAdmin).

An `Entity` names its service `Listing` (the SQL side: selected columns, sort keys, searched
columns, filters; services/, UI-free), the columns its list shows and how a listing row
becomes display strings, the list's filter controls, the record form's fields, the service
functions that read and change one record, who may change records, and the related lists its
detail page embeds. The list page, the embedded lists, the record form and the detail pages
(pages/catalog/, pages/record_form.py) are built from it, so an entity differs from another
only here. Declaring checks the declaration against the service's `Listing`: every column's
sort is one of its sort keys and every filter one of its filters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from northwind_app.services.auth import Permission
from northwind_app.services.errors import NotFound
from northwind_app.ui.table import Column


def text(value: Any) -> str:
    """A value as display text ("" for none)."""
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Filter:
    """A list's filter control: a select bound to the URL filter `key`."""

    key: str
    label: str
    # (value, label) pairs, or the name of a CatalogOptions list (choices read from the data).
    options: tuple[tuple[str, str], ...] | str
    width: str = "11em"


@dataclass(frozen=True)
class Field:
    """One field of the record form; values are strings on the screen."""

    key: str
    label: str
    kind: str = "text"  # text | select | checkbox
    options: str = ""  # CatalogOptions list name, for selects
    new_only: bool = False  # e.g. the customer id, chosen once
    places: int | None = None  # a number typed in the user's format, with at most these decimals


@dataclass(frozen=True)
class Related:
    """A list a detail page embeds: `source`'s list (a registry name) with its filter
    `filter` fixed to the page's record key."""

    name: str  # unique within the entity ("orders", "products")
    title: str
    search_placeholder: str
    source: str
    filter: str
    # Columns of `source`'s list left out here: the same on every row (the customer on the
    # customer's own page).
    hide: tuple[str, ...] = ()

    def columns(self, source_columns) -> list[Column]:
        """`source`'s columns as this list shows them."""
        return [column for column in source_columns if column.key not in self.hide]


@dataclass(frozen=True)
class Entity:
    name: str  # the URL segment and registry key ("customers")
    noun: str  # one record ("customer")
    title: str  # the list page's title ("Customers")
    listing: Any  # a services Listing, or anything with .page(session, params), .default_sort
    columns: tuple[Column, ...]
    row: Callable[[Any], dict[str, str]]  # a listing row as display strings
    search_placeholder: str = "Search"
    filters: tuple[Filter, ...] = ()
    key_type: type = int  # of the record key in URLs (str: customers' five letters)
    # One record: get(session, key) -> dict (NotFound when there is none).
    get: Callable[..., dict[str, Any]] | None = None
    # The record form; no fields: records are not created or edited on the screens.
    fields: tuple[Field, ...] = ()
    new_values: Mapping[str, str] = field(default_factory=dict)  # a new record's form texts
    create: Callable[..., dict[str, Any]] | None = None  # (session, values, *, actor)
    replace: Callable[..., dict[str, Any]] | None = None  # (session, key, values, *, actor)
    delete: Callable[..., None] | None = None  # (session, key, *, actor)
    # Who may create, edit and delete records (the services check it again: this decides
    # which buttons a role sees).
    may_create: Permission | None = None
    may_edit: Permission | None = None
    may_delete: Permission | None = None
    related: tuple[Related, ...] = ()

    def __post_init__(self) -> None:
        sorts = getattr(self.listing, "sorts", None)
        filters = getattr(self.listing, "filters", None)
        if sorts is not None:
            unknown = [c.sort for c in self.columns if c.sort and c.sort not in sorts]
            if unknown:
                raise ValueError(f"{self.name}: columns sort by unknown keys {unknown}")
        if filters is not None:
            unknown = [f.key for f in self.filters if f.key not in filters]
            if unknown:
                raise ValueError(f"{self.name}: unknown filters {unknown}")

    @property
    def filter_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.filters)

    @property
    def key_field(self) -> str:
        """The record's key in the service's dicts ("customer_id")."""
        return f"{self.noun}_id"

    def parse_key(self, key: str) -> Any:
        """The record key of a URL's text; NotFound when it cannot name a record."""
        if self.key_type is int:
            if not key.isdigit():
                raise NotFound(f"No {self.noun} has the id {key!r}.")
            return int(key)
        return key

    def blank_form(self) -> dict[str, str]:
        """A new record's form texts."""
        return {**{f.key: ("false" if f.kind == "checkbox" else "") for f in self.fields},
                **self.new_values}
