"""The list table's components: `data_table` (toolbar, rows, pager, empty/loading/error), its
filters and search box, and `Column`, how one column of rows is shown.

Rows are display-ready strings (state.py); every control edits the address (url.py). A cell's
styles are class names (assets/table.css), not Emotion styles: a page of rows is hundreds of
elements.

Every column but the first carries the class `nw-col-<key>`; the list's column chooser
(`column_chooser`) hides columns with one style element the state writes (`hidden_css`),
so hiding a column renders no row again. The first column stays in place while the rest
scroll sideways on a narrow screen (`nw-sticky-first`, assets/table.css).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from northwind_app.services.listing import PAGE_SIZES
from northwind_app.ui import outage
from northwind_app.ui.table.state import ListState
from northwind_app.ui.table.url import PAGE_MOVES, clear_filters, set_query_param, show, toggle_sort


@dataclass(frozen=True)
class Column:
    key: str  # key in each row dict
    label: str
    sort: str | None = None  # sort key understood by the service; None: not sortable
    align: str = "left"
    link: str | None = None  # row key holding an href: the cell becomes a link
    badge: str | None = None  # row key holding a color: the cell becomes a badge
    render: Callable[[Any], rx.Component] | None = None  # row Var -> the cell's content


def _sort_icon(state: type[ListState], key: str) -> rx.Component:
    return rx.cond(
        state.sort == key,
        rx.icon("arrow-up", size=14),
        rx.cond(state.sort == "-" + key, rx.icon("arrow-down", size=14),
                rx.icon("arrow-up-down", size=14, opacity="0.3")),
    )


def _col_class(col: Column) -> str:
    return f"nw-col-{col.key}"


def _header(state: type[ListState], col: Column) -> rx.Component:
    if col.sort is None:
        return rx.table.column_header_cell(col.label, text_align=col.align, white_space="nowrap",
                                           class_name=_col_class(col))
    return rx.table.column_header_cell(
        rx.hstack(rx.text(col.label), _sort_icon(state, col.sort), spacing="1", align="center",
                  justify="end" if col.align == "right" else "start"),
        # Ascending first; a second click on the sorted column turns it around.
        on_click=toggle_sort(state, col.sort),
        cursor="pointer",
        user_select="none",
        white_space="nowrap",
        text_align=col.align,
        aria_sort=rx.cond(state.sort == col.sort, "ascending",
                          rx.cond(state.sort == "-" + col.sort, "descending", "none")),
        data_testid=f"sort-{col.sort}",
        class_name=_col_class(col),
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
        # No link where there is nothing to show (e.g. an employee without a manager): an
        # empty link is a tab stop without a name.
        content = rx.cond(value, ReactRouterLink.create(
            value, to=row[col.link], custom_attrs={"data-accent-color": ""},
            class_name="rt-Text rt-reset rt-Link rt-underline-auto nw-link"))
    elif col.badge:
        content = rx.el.span(value, custom_attrs={"data-accent-color": row[col.badge]},
                             class_name="rt-reset rt-Badge rt-r-size-1 rt-variant-soft")
    else:
        content = value
    return rx.el.td(content, class_name=("rt-TableCell nw-cell-right " if col.align == "right"
                                         else "rt-TableCell nw-cell ") + _col_class(col))


def search_box(state: type[ListState], placeholder: str) -> rx.Component:
    return rx.debounce_input(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder=placeholder,
            value=state.search,
            on_change=lambda v: set_query_param(state, "q", v, ".trim()", replace=True),
            width="min(22em, 100%)",
            data_testid="list-search",
            data_shortcut="search",  # the `/` shortcut focuses it (ui/shortcuts.py)
            aria_label="Search",
        ),
        debounce_timeout=350,
    )


def filter_error(state: type[ListState], name: str) -> rx.Component:
    """What is wrong with filter `name`'s value, beside its control, in its words ("The end
    date is before the start date")."""
    return rx.cond(state.field_errors.contains(name),
                   rx.text(state.field_errors[name], color_scheme="red", size="1", max_width="16em",
                           data_testid=f"filter-error-{name}"))


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
            rx.select.trigger(placeholder="All", width=width, data_testid=f"filter-{name}",
                              aria_label=label),
            rx.select.content(rx.select.item("All", value="all"), items),
            value=rx.cond(state.filters[name] != "", state.filters[name], "all"),
            on_change=lambda v: set_query_param(state, name, v, none="all"),
        ),
        filter_error(state, name),
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
        filter_error(state, name),
        spacing="1",
    )


def filter_date(state: type[ListState], name: str, label: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.input(type="date", value=state.filters[name],
                 on_change=lambda v: set_query_param(state, name, v), data_testid=f"filter-{name}",
                 aria_label=label),
        filter_error(state, name),
        spacing="1",
    )


def _page_button(state: type[ListState], where: str, icon: str, label: str,
                 disabled: rx.Var) -> rx.Component:
    """A pager button (moves from the address the browser shows now, see `show`)."""
    args = (state.page_count,) if where == "last" else ()
    return rx.icon_button(rx.icon(icon), on_click=show(state, PAGE_MOVES[where], *args),
                          variant="soft", disabled=disabled, aria_label=label, size="1")


def pager(state: type[ListState]) -> rx.Component:
    return rx.hstack(
        rx.text(state.range_text, size="2", data_testid="list-range"),
        # A page number or size in the address that no page has (e.g. ?page=0).
        *[rx.cond(state.field_errors.contains(name),
                  rx.text(f"{label} ", state.field_errors[name], color_scheme="red", size="2",
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
        wrap="wrap",
        width="100%",
        padding_y="0.75em",
    )


def _show_column(state: type[ListState], key: str):
    return lambda shown: state.set_column_shown(key, shown)


def column_chooser(state: type[ListState], columns: list[Column]) -> rx.Component:
    """A "Columns" button whose popover shows or hides each column but the first; the choice
    is kept with the signed-in user, per list (ListState.set_column_shown)."""
    return rx.popover.root(
        rx.popover.trigger(rx.button(rx.icon("columns-3", size=16), "Columns", variant="soft",
                                     color_scheme="gray", data_testid="column-chooser")),
        rx.popover.content(
            rx.vstack(
                rx.text("Show columns", size="2", weight="medium"),
                *[rx.checkbox(col.label, checked=~state.hidden_columns.contains(col.key),
                              on_change=_show_column(state, col.key),
                              data_testid=f"column-toggle-{col.key}")
                  for col in columns[1:]],
                spacing="2",
            ),
            data_testid="column-chooser-panel",
        ),
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
                rx.button("Clear filters", variant="ghost", on_click=clear_filters(state),
                          data_testid="clear-filters", align_self="end")),
        rx.spacer(),
        *(actions or []),
        column_chooser(state, columns) if len(columns) > 1 else rx.fragment(),
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
                # Highlighted a moment after a live update brought it (assets/table.css).
                data_changed=rx.cond(state.changed_rows.contains(row[state.live_key]),
                                     "true", "false"),
            )),
        ),
        variant="surface",
        size="2",
        width="100%",
        class_name=f"nw-sticky-first nw-list-{state.list_name}",
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
        rx.el.style(state.hidden_css),
        # The table scrolls sideways inside its own box when its columns are wider than the
        # screen (the page itself never does).
        rx.cond(state.notice != "",
                rx.text(state.notice, size="1", color=rx.color("gray", 11),
                        data_testid="list-notice", padding_bottom="0.5em")),
        rx.box(table, width="100%", overflow_x="auto", data_scroll_x="true"),
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
                                            on_click=clear_filters(state))),
                          align="center"),
                width="100%", padding="2em", data_testid="list-empty",
            ),
        ),
        pager(state),
        width="100%",
        spacing="0",
    )
