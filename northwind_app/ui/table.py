"""The one paginated, sortable, searchable table every list screen uses.

A screen subclasses `ListState` (a state mixin), declares its route, columns and filters, and
implements `_fetch_rows(params) -> (rows, total)` by calling a service (run in a worker thread,
so the event loop never waits on the database). A list whose service checks the caller's
permission itself (users, audit trail) sets `needs_actor`: `_fetch_rows(params, actor)` then
gets the signed-in user, looked up before the thread hop. Sort, search, filters, page and page
size live in the URL query (`?q=…&sort=-order_date&page=3&size=50&status=late`), so links,
reload and the back button restore the same view. Every control (sort headers, pager, search,
filters, page size, "Clear filters") edits the address the browser shows and sends `load`,
which reads it back (`show`); `load` is also the page's on_load. A change costs one server
event and one render of the table. The state holds one page of display-ready strings. Its
helpers are private (`_fetch_rows`, …): every public method of a state is an event handler that
any websocket client may call with any payload.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx
from reflex.vars.function import ArgsFunctionOperation, FunctionStringVar
from reflex_components_core.react_router.dom import ReactRouterLink

from northwind_app.money import format_number
from northwind_app.services.errors import Forbidden, Invalid
from northwind_app.services.listing import MAX_OFFSET, MAX_SEARCH, PAGE_SIZES, ListParams
from northwind_app.services.validation import WholeNumber
from northwind_app.ui import outage
from northwind_app.ui.auth import actor_of

log = logging.getLogger(__name__)

# Seconds a list's rows may take before the table shows it is loading (a quicker answer
# replaces the rows without the extra render).
SHOW_LOADING_AFTER = 0.15
# A list's own message while the database is unreachable (the banner says so too).
OUTAGE_TEXT = "The database is not reachable; the list loads again when it is back."


@dataclass(frozen=True)
class Column:
    key: str  # key in each row dict
    label: str
    sort: str | None = None  # sort key understood by the service; None: not sortable
    align: str = "left"
    link: str | None = None  # row key holding an href: the cell becomes a link
    badge: str | None = None  # row key holding a color: the cell becomes a badge
    render: Callable[[Any], rx.Component] | None = None  # row Var -> the cell's content


class ListState(rx.State, mixin=True):
    rows: list[dict[str, str]] = []
    total: int = 0
    offset: int = 0  # of the page the address asks for
    rows_offset: int = 0  # of the rows shown (they are replaced one server trip later)
    # The query string of the address the rows shown are for (the table's data-view): a test
    # or benchmark can tell when a change's rows have come, even rows that look the same.
    rows_view: str = ""
    page_size: int = 25
    sort: str = ""
    search: str = ""
    filters: dict[str, str] = {}
    loading: bool = True  # before the first rows, and while a slow load runs
    error: str = ""
    field_errors: dict[str, str] = {}

    route: ClassVar[str] = "/"
    default_sort: ClassVar[str] = ""
    filter_keys: ClassVar[tuple[str, ...]] = ()
    needs_actor: ClassVar[bool] = False  # _fetch_rows(params, actor): the service checks it

    # -- to implement ---------------------------------------------------------------------
    def _fetch_rows(self, params: ListParams) -> tuple[list[dict[str, str]], int]:
        raise NotImplementedError

    def _base_path(self) -> str:
        """Where the list lives; a list embedded in a detail page returns that page's path."""
        return self.route

    def _fixed_filters(self) -> dict[str, str]:
        """Filters the page imposes (e.g. the customer of a customer's detail page)."""
        return {}

    # -- computed -------------------------------------------------------------------------
    @rx.var
    def page_number(self) -> int:
        return self.offset // self.page_size + 1 if self.page_size else 1

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size)) if self.page_size else 1

    @rx.var
    def range_text(self) -> str:
        if not self.total:
            return "No rows"
        first = self.rows_offset + 1
        last = self.rows_offset + len(self.rows)
        return f"Rows {format_number(first)}–{format_number(last)} of {format_number(self.total)}"

    @rx.var
    def has_filters(self) -> bool:
        return bool(self.search or any(self.filters.values()))

    @rx.var
    def query_string(self) -> str:
        """The current view as a query string (for exports and links)."""
        return urlencode(self._query())

    # -- URL <-> state ----------------------------------------------------------------------
    def _query(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "q": self.search, "sort": self.sort, "size": self.page_size,
            "page": self.page_number, **self.filters,
        }
        values.update(changes)
        query = {}
        for key, value in values.items():
            if value in (None, ""):
                continue
            if key == "size" and int(value) == PAGE_SIZES[0]:
                continue
            if key == "page" and int(value) <= 1:
                continue
            if key == "sort" and value == self.default_sort:
                continue
            query[key] = str(value)
        return query

    def _url(self, **changes: Any) -> str:
        query = self._query(**changes)
        return self._base_path() + ("?" + urlencode(query) if query else "")

    def _read_url(self) -> dict[str, str]:
        """Take the view from the address; returns what is wrong with its page size, page
        number or search (by query parameter; the view is then the first page). The
        services check the sort and the filters by the rules the API uses."""
        params = self.router.url.query_parameters
        errors, size, page = url_errors(params.get("size", ""), params.get("page", ""),
                                        params.get("q", ""))
        self._change(page_size=size, offset=(page - 1) * size,
                     sort=params.get("sort", "") or self.default_sort,
                     search=params.get("q", ""),
                     filters={key: params.get(key, "") for key in self.filter_keys})
        return errors

    def _change(self, **values: Any) -> None:
        """Assign the vars whose values differ. Reflex sends every assigned var, and each
        state it sends renders every component that reads it: back to a view whose rows are
        unchanged then renders nothing again."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    # -- events -----------------------------------------------------------------------------
    async def _load_extras(self) -> None:
        """Anything else the screen needs (e.g. a filter's options), loaded in `load`'s event
        before the rows: one server event per navigation, not one more per extra."""

    @rx.event(supersedes=True)  # a newer view of the list cancels an unfinished older one
    async def load(self):
        """The rows of the view the address names: the page's on_load, and the event every
        control of the list sends after changing the address (`show`). The table dims while
        the server works on it: from the moment a navigation starts (`data_table` reads the
        router's `is_hydrated`, which the browser clears at once and `load` sets again with
        the rows), and for a control's change once the rows take longer than
        SHOW_LOADING_AFTER (a delta before the rows would only make the browser render the
        table once more for every quick change). Values are assigned only when they change
        (`_change`)."""
        url_problems = self._read_url()
        view = self.router.url.query
        params = ListParams(limit=self.page_size, offset=self.offset, sort=self.sort or None,
                            search=self.search or None,
                            filters={key: value for key, value in
                                     {**self.filters, **self._fixed_filters()}.items() if value})
        fetching = None
        try:
            if url_problems:
                raise Invalid(fields=url_problems)
            await self._load_extras()
            actor = (await actor_of(self),) if self.needs_actor else ()
            fetching = asyncio.ensure_future(asyncio.to_thread(self._fetch_rows, params, *actor))
            done, _ = await asyncio.wait({fetching}, timeout=SHOW_LOADING_AFTER)
            if not done:
                self.loading = True
                yield
            rows, total = await fetching
            if not rows and total and self.offset:
                # The page is past the end (rows were deleted): show the last page instead.
                last = -(-total // self.page_size)
                self._change(loading=False)
                yield rx.redirect(self._url(page=last), replace=True)
                return
            self._change(rows=rows, total=total, rows_offset=self.offset, rows_view=view,
                         error="", field_errors={})
        except Invalid as exc:
            self._change(rows=[], total=0, rows_view=view, field_errors=exc.fields,
                         error="This view's address has invalid values: " + exc.message)
        except Forbidden as exc:
            self._change(rows=[], total=0, rows_view=view, field_errors={}, error=exc.message)
        except Exception as exc:  # noqa: BLE001 - show a clear message, log the cause
            down = await outage.failed(self, exc, log, "loading %s failed", self._base_path())
            self._change(rows=[], total=0, rows_view=view, field_errors={},
                         error=OUTAGE_TEXT if down else "The list could not be loaded. Check "
                                                        "the connection and try again.")
        finally:
            self._change(loading=False)
            if fetching is not None and not fetching.done():  # superseded by a newer view
                fetching.cancel()
        if not self.is_hydrated:
            # The page's rows are here: the table stops dimming with them, not one server
            # event later with Reflex's own `set_is_hydrated`, which follows the on_load.
            self.is_hydrated = True


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


# -- components ---------------------------------------------------------------------------------

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


def _clear_filters(state: type[ListState]) -> list[rx.EventSpec]:
    """The same list without search or filters (sort and page size kept)."""
    return show(state,
                "for (const k of [...p.keys()]) { if (k !== 'sort' && k !== 'size') p.delete(k); }")


def _sort_icon(state: type[ListState], key: str) -> rx.Component:
    return rx.cond(
        state.sort == key,
        rx.icon("arrow-up", size=14),
        rx.cond(state.sort == "-" + key, rx.icon("arrow-down", size=14),
                rx.icon("arrow-up-down", size=14, opacity="0.3")),
    )


def _header(state: type[ListState], col: Column) -> rx.Component:
    if col.sort is None:
        return rx.table.column_header_cell(col.label, text_align=col.align, white_space="nowrap")
    return rx.table.column_header_cell(
        rx.hstack(rx.text(col.label), _sort_icon(state, col.sort), spacing="1", align="center",
                  justify="end" if col.align == "right" else "start"),
        # Ascending first; a second click on the sorted column turns it around.
        on_click=show(
            state,
            f"const s = p.get('sort') || {json.dumps(state.default_sort)}; "
            f"p.set('sort', s === {json.dumps(col.sort)} ? {json.dumps('-' + col.sort)} "
            f": {json.dumps(col.sort)}); p.delete('page');"),
        cursor="pointer",
        user_select="none",
        white_space="nowrap",
        text_align=col.align,
        aria_sort=rx.cond(state.sort == col.sort, "ascending",
                          rx.cond(state.sort == "-" + col.sort, "descending", "none")),
        data_testid=f"sort-{col.sort}",
    )


def _cell(col: Column, row) -> rx.Component:
    """A row's cell. Its styles are class names (assets/table.css) and its links React
    Router's own with Radix's link classes: a page of rows is hundreds of elements, and an
    Emotion style on each would be work on every render of the rows. The rows, cells and
    status badges are plain elements with the classes Radix's components give them (the
    same markup without a component per element: 15-20 % less script per next-page click)."""
    value = row[col.key]
    if col.render:
        content = col.render(row)
    elif col.link:
        content = ReactRouterLink.create(
            value, to=row[col.link], custom_attrs={"data-accent-color": ""},
            class_name="rt-Text rt-reset rt-Link rt-underline-auto nw-link")
    elif col.badge:
        content = rx.el.span(value, custom_attrs={"data-accent-color": row[col.badge]},
                             class_name="rt-reset rt-Badge rt-r-size-1 rt-variant-soft")
    else:
        content = value
    return rx.el.td(content, class_name="rt-TableCell nw-cell-right" if col.align == "right"
                    else "rt-TableCell nw-cell")


def search_box(state: type[ListState], placeholder: str) -> rx.Component:
    return rx.debounce_input(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder=placeholder,
            value=state.search,
            on_change=lambda v: set_query_param(state, "q", v, ".trim()", replace=True),
            width="22em",
            data_testid="list-search",
            aria_label="Search",
        ),
        debounce_timeout=350,
    )


def filter_select(state: type[ListState], name: str, label: str,
                  options: list[tuple[str, str]] | rx.Var, width: str = "11em") -> rx.Component:
    """A select bound to one URL filter; options are (value, label) pairs."""
    if isinstance(options, rx.Var):
        items = rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))
    else:
        items = [rx.select.item(text, value=value) for value, text in options]
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.select.root(
            rx.select.trigger(placeholder="All", width=width, data_testid=f"filter-{name}"),
            rx.select.content(rx.select.item("All", value="all"), items),
            value=rx.cond(state.filters[name] != "", state.filters[name], "all"),
            on_change=lambda v: set_query_param(state, name, v, none="all"),
        ),
        spacing="1",
    )


def filter_text(state: type[ListState], name: str, label: str, placeholder: str = "",
                width: str = "9em") -> rx.Component:
    """A debounced text box bound to one URL filter (an exact value, e.g. a record key)."""
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.debounce_input(
            rx.input(placeholder=placeholder, value=state.filters[name],
                     on_change=lambda v: set_query_param(state, name, v, ".trim()"), width=width,
                     data_testid=f"filter-{name}", aria_label=label),
            debounce_timeout=400,
        ),
        spacing="1",
    )


def filter_date(state: type[ListState], name: str, label: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.input(type="date", value=state.filters[name],
                 on_change=lambda v: set_query_param(state, name, v), data_testid=f"filter-{name}",
                 aria_label=label),
        rx.cond(state.field_errors.contains(name),
                rx.text(state.field_errors[name], color="red", size="1")),
        spacing="1",
    )


# The pager's moves, as edits of the query string (a page past the end is turned into the last
# page by `load`); "last" gets the page count as a0.
_PAGE_MOVES = {
    "first": "p.delete('page');",
    "prev": "const n = (parseInt(p.get('page')) || 1) - 1; "
            "n > 1 ? p.set('page', n) : p.delete('page');",
    "next": "p.set('page', Math.max(1, parseInt(p.get('page')) || 1) + 1);",
    "last": "a0 > 1 ? p.set('page', a0) : p.delete('page');",
}


def _page_button(state: type[ListState], where: str, icon: str, label: str,
                 disabled: rx.Var) -> rx.Component:
    """A pager button (moves from the address the browser shows now, see `show`)."""
    args = (state.page_count,) if where == "last" else ()
    return rx.icon_button(rx.icon(icon), on_click=show(state, _PAGE_MOVES[where], *args),
                          variant="soft", disabled=disabled, aria_label=label, size="1")


def pager(state: type[ListState]) -> rx.Component:
    return rx.hstack(
        rx.text(state.range_text, size="2", data_testid="list-range"),
        # A page number or size in the address that no page has (e.g. ?page=0).
        *[rx.cond(state.field_errors.contains(name),
                  rx.text(f"{label} ", state.field_errors[name], color="red", size="2",
                          data_testid=f"pager-error-{name}"))
          for name, label in (("page", "Page"), ("size", "Rows per page"))],
        rx.spacer(),
        rx.text("Rows per page", size="2"),
        rx.select.root(
            rx.select.trigger(data_testid="page-size", aria_label="Rows per page"),
            rx.select.content(*[rx.select.item(str(size), value=str(size))
                                for size in PAGE_SIZES]),
            value=state.page_size.to_string(),
            on_change=lambda v: set_query_param(state, "size", v, none=str(PAGE_SIZES[0])),
            size="1",
        ),
        _page_button(state, "first", "chevrons-left", "First page", state.page_number <= 1),
        _page_button(state, "prev", "chevron-left", "Previous page", state.page_number <= 1),
        rx.text("Page ", state.page_number.to_string(), " of ", state.page_count.to_string(),
                size="2", data_testid="page-number"),
        _page_button(state, "next", "chevron-right", "Next page",
                     state.page_number >= state.page_count),
        _page_button(state, "last", "chevrons-right", "Last page",
                     state.page_number >= state.page_count),
        align="center",
        spacing="2",
        width="100%",
        padding_y="0.75em",
    )


def data_table(
    state: type[ListState],
    columns: list[Column],
    *,
    search_placeholder: str = "Search",
    filters: list[rx.Component] | None = None,
    actions: list[rx.Component] | None = None,
    empty_text: str = "Nothing matches these filters.",
) -> rx.Component:
    """Toolbar (search, filters, actions), the table, the pager, and empty/loading/error states."""
    toolbar = rx.flex(
        rx.vstack(rx.text("Search", size="1", color=rx.color("gray", 11)),
                  search_box(state, search_placeholder), spacing="1"),
        *(filters or []),
        rx.cond(state.has_filters,
                rx.button("Clear filters", variant="ghost", on_click=_clear_filters(state),
                          data_testid="clear-filters", align_self="end")),
        rx.spacer(),
        *(actions or []),
        wrap="wrap",
        spacing="3",
        align="end",
        width="100%",
        padding_bottom="0.75em",
    )
    # Dim while the rows are not those of the address: before the first load, and from the
    # moment a navigation starts until `load` has brought the new page's rows. Also while
    # the database is unreachable (rows shown then may be out of date).
    busy = state.loading | ~rx.State.is_hydrated
    table = rx.table.root(
        rx.table.header(rx.table.row(*[_header(state, col) for col in columns])),
        rx.table.body(
            rx.foreach(state.rows, lambda row: rx.el.tr(
                *[_cell(col, row) for col in columns],
                class_name="rt-TableRow",
                data_testid="list-row",
            )),
        ),
        variant="surface",
        size="2",
        width="100%",
        opacity=rx.cond(busy | outage.OutageState.db_down, "0.55", "1"),
        transition="opacity 0.15s",
        data_testid="list-table",
        data_loading=rx.cond(busy, "true", "false"),
        data_view=state.rows_view,
    )
    return rx.vstack(
        toolbar,
        rx.cond(state.error != "",
                rx.callout(state.error, icon="triangle-alert", color_scheme="red", width="100%",
                           data_testid="list-error")),
        rx.box(table, width="100%", overflow_x="auto"),
        rx.cond(
            busy & (state.rows.length() == 0),
            rx.center(rx.spinner(size="3"), rx.text("Loading…", margin_left="0.5em"), width="100%",
                      padding="2em", data_testid="list-loading"),
        ),
        rx.cond(
            ~busy & (state.rows.length() == 0) & (state.error == ""),
            rx.center(
                rx.vstack(rx.icon("inbox", size=32, color=rx.color("gray", 9)),
                          rx.text(empty_text, color=rx.color("gray", 11)),
                          rx.cond(state.has_filters,
                                  rx.button("Clear filters", variant="soft",
                                            on_click=_clear_filters(state))),
                          align="center"),
                width="100%", padding="2em", data_testid="list-empty",
            ),
        ),
        pager(state),
        width="100%",
        spacing="0",
    )
