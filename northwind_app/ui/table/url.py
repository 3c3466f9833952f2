"""A list's view in its address: the query string <-> the view, and the controls' address edits.

Sort, search, filters, page and page size live in the URL query (`?q=…&sort=-order_date&page=3
&size=50&status=late`), so links, reload and the back button restore the same view. Every
control of a list edits the address the browser shows (`show`) and sends the list's `load`,
which reads it back (state.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.vars.function import ArgsFunctionOperation, FunctionStringVar

from northwind_app.services.listing import MAX_OFFSET, MAX_SEARCH, PAGE_SIZES
from northwind_app.services.validation import WholeNumber

if TYPE_CHECKING:
    from northwind_app.ui.table.state import ListState


def view_query(values: Mapping[str, Any], default_sort: str) -> dict[str, str]:
    """The query parameters of a view (`q`, `sort`, `size`, `page` and the filters), leaving
    out what the address need not say: empty values, the first page, the first page size
    and the list's default sort."""
    query = {}
    for key, value in values.items():
        if value in (None, ""):
            continue
        if key == "size" and int(value) == PAGE_SIZES[0]:
            continue
        if key == "page" and int(value) <= 1:
            continue
        if key == "sort" and value == default_sort:
            continue
        query[key] = str(value)
    return query


def url_errors(size_text: str, page_text: str, search: str) -> tuple[dict[str, str], int, int]:
    """(what is wrong, page size, page number) for a list address's `size`, `page` and `q`.
    The size is one of PAGE_SIZES; the page a whole number whose rows start within the
    API's largest offset (MAX_OFFSET); the search at most MAX_SEARCH characters, as in the
    API. A wrong size or page gives the first page of 25 rows."""
    errors: dict[str, str] = {}
    size = PAGE_SIZES[0]
    if size_text.strip():
        if size_text.strip() in {str(choice) for choice in PAGE_SIZES}:
            size = int(size_text)
        else:
            errors["size"] = f"must be one of {', '.join(str(c) for c in PAGE_SIZES)}"
    page = 1
    if page_text.strip():
        try:
            page = WholeNumber(minimum=1, maximum=MAX_OFFSET // size + 1).convert(page_text)
        except ValueError as exc:
            errors["page"] = str(exc)
    if len(search) > MAX_SEARCH:
        errors["q"] = f"must be at most {MAX_SEARCH} characters"
    if errors:
        page = 1
    return errors, size, page


# -- the controls' address edits ----------------------------------------------------------------

# Pushes an address the way React Router does (its history entries carry a key and an index).
_PUSH = ("window.history.pushState({usr: window.history.state?.usr ?? null, "
         "key: Math.random().toString(36).slice(2, 10), "
         "idx: (window.history.state?.idx ?? 0) + 1}, '', h)")
_REPLACE = "window.history.replaceState(window.history.state, '', h)"


def show(state: type[ListState], edit: str, *args: rx.Var,
         replace: bool = False) -> list[rx.EventSpec]:
    """Show the list at the address the browser shows when the event happens, with its query
    string edited by `edit` (JavaScript statements on `p`, its URLSearchParams, and on `a0`,
    `a1`, … the values of `args`, e.g. a select's new value).

    Every control of a list (sort headers, pager, search, filters, page size) uses it. The
    browser's address changes at once (`replace`: without a new history entry, for typing in
    a search box), then `load` reads it: Reflex sends the live address with every event.
    It is not a React Router navigation, which would render the whole page again and cost
    two more server events (Reflex's on_load dispatch before the rows, the hydrated flag
    after them). Back, forward, reload and links are still navigations, and `load` is the page's
    on_load. Reading the address at the moment of the event (not the state, which learns of
    a change one server trip later) makes a quick second change build on the first instead
    of repeating it. (The static server may show a page's path with a trailing slash; the
    app's routes have none.)"""
    names = ", ".join(f"a{i}" for i in range(len(args)))
    move = FunctionStringVar.create(
        f"(({names}) => {{ const p = new URLSearchParams(window.location.search); " + edit
        + " const q = p.toString();"
        " const path = window.location.pathname.replace(/\\/+$/, '') || '/';"
        " const h = path + (q ? '?' + q : '');"
        " if (h !== window.location.pathname + window.location.search) "
        + (_REPLACE if replace else _PUSH) + "; })")
    go = ArgsFunctionOperation.create((), move.call(*args))
    return [rx.call_function(go), state.load]


def set_query_param(state: type[ListState], name: str, value: rx.Var, clean: str = "",
                    none: str = "", replace: bool = False) -> list[rx.EventSpec]:
    """Show the list's first page with query parameter `name` set to `value` (its
    JavaScript string method calls `clean` applied, e.g. ".trim()"), or removed when the
    value is empty or equals `none` (a select's "All"); `replace`: without a new history
    entry (typing in a search box)."""
    return show(state,
                f"const v = String(a0 ?? ''){clean}; p.delete('page'); "
                f"(v === '' || v === {json.dumps(none)}) ? p.delete({json.dumps(name)}) "
                f": p.set({json.dumps(name)}, v);", value, replace=replace)


def clear_filters(state: type[ListState]) -> list[rx.EventSpec]:
    """The same list without search or filters (sort and page size kept)."""
    return show(state,
                "for (const k of [...p.keys()]) { if (k !== 'sort' && k !== 'size') p.delete(k); }")


def toggle_sort(state: type[ListState], sort: str) -> list[rx.EventSpec]:
    """Sort by `sort` ascending; a second click on the sorted column turns it around."""
    return show(state,
                f"const s = p.get('sort') || {json.dumps(state.default_sort)}; "
                f"p.set('sort', s === {json.dumps(sort)} ? {json.dumps('-' + sort)} "
                f": {json.dumps(sort)}); p.delete('page');")


# The pager's moves, as edits of the query string (a page past the end is turned into the last
# page by `load`); "last" gets the page count as a0.
PAGE_MOVES = {
    "first": "p.delete('page');",
    "prev": "const n = (parseInt(p.get('page')) || 1) - 1; "
            "n > 1 ? p.set('page', n) : p.delete('page');",
    "next": "p.set('page', Math.max(1, parseInt(p.get('page')) || 1) + 1);",
    "last": "a0 > 1 ? p.set('page', a0) : p.delete('page');",
}
