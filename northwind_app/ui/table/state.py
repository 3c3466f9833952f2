"""`ListState`: one page of a list's rows for the view its address names.

A screen subclasses `ListState` (a state mixin), declares its route and filter keys, and
reads its rows in `_fetch(params, actor)`: a list declared with `EntityList`
(ui/entity_list.py) reads its service through ui/backend.py; by default `_fetch` runs
`_fetch_rows(params) -> (rows, total)` in a worker thread, so the event loop never waits on
the database. A list whose service checks the caller's permission itself (users, audit trail)
sets `needs_actor`: the signed-in user is then looked up before the rows are read. The view
(sort, search, filters, page, page size) is in the address (url.py); `load` reads it back,
and is also the page's on_load. A change costs one server event and one render of the table.
The state holds one page of display-ready strings, and the columns the signed-in user hides
in this list (`hidden_columns`, read with the first load of the tab's list, kept with the
user by `set_column_shown`). Its helpers are private (`_fetch`, …):
every public method of a state is an event handler that any websocket client may call with
any payload.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx
from reflex.state import StateUpdate
from reflex_base.constants.state import FIELD_MARKER

from northwind_app import formats
from northwind_app.live.registry import Pushed, View, registry
from northwind_app.live.shared import format_key, shared_reads
from northwind_app.live.tabs import LiveMixin
from northwind_app.money import format_number
from northwind_app.services import users
from northwind_app.services.auth import Actor
from northwind_app.services.errors import Forbidden, Invalid, ServiceError
from northwind_app.services.listing import ListParams
from northwind_app.ui import backend, outage
from northwind_app.ui.auth import actor_of
from northwind_app.ui.backend import ServerProblem
from northwind_app.ui.table.url import url_errors, view_query

log = logging.getLogger(__name__)

# Seconds a list's rows may take before the table shows it is loading (a quicker answer
# replaces the rows without the extra render).
SHOW_LOADING_AFTER = 0.15
# A list's own message while the database is unreachable (the banner says so too).
OUTAGE_TEXT = "The database is not reachable; the list loads again when it is back."
FAILED_TEXT = "The list could not be loaded. Check the connection and try again."
# A filter's refusal in the words of the filter controls (the services word it for the API,
# by query parameter); any other is the service's message as a sentence.
FILTER_WORDS = {("date_to", "must not be before date_from"):
                "The end date is before the start date"}


def filter_message(name: str, message: str) -> str:
    """What a filter control says about its refused value: "The end date is before the start
    date", "Must be a date (YYYY-MM-DD)."."""
    if (name, message) in FILTER_WORDS:
        return FILTER_WORDS[name, message]
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# The vars a pushed refresh of a list sets (live/registry.py's views).
PUSHED_VARS = ("rows", "total", "changed_rows")


@dataclass(frozen=True)
class ListView:
    """How to read a list's view for a pushed refresh: the list's class, the view's
    parameters (fixed filters included), and the number format and time zone its rows are
    written in. Called by the registry with the view: the rows again (one read per feed
    position, shared with nudged refreshes of the same view), the rows that changed since
    the last push, and the update every tab of the view is sent."""

    cls: type
    params: ListParams
    fmt: Any  # format_key()

    async def __call__(self, view: View) -> Pushed | None:
        formats.current.set(self.fmt[0])  # (this task's context only)
        formats.zone.set(self.fmt[1])
        rows, total = await shared_reads.get(
            view.key, lambda: asyncio.to_thread(self.cls._read_rows, self.params))
        if not rows and total and self.params.offset:
            return None  # past the end now: the tabs' own refresh shows the last page
        changed = (LiveMixin._live_rows_changed(view.rows, rows, self.cls.live_key)
                   if view.rows is not None else [])
        values = {"rows": rows, "total": total, "changed_rows": changed}
        return Pushed(self.cls._pushed_update(values, self.params), values, rows)


class ListState(LiveMixin, mixin=True):
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
    # The columns (keys) the signed-in user hides in this list (the column chooser).
    hidden_columns: list[str] = []
    _columns_read: bool = False  # hidden_columns has been read for this tab's list
    # A small notice about the view (an unknown sort in the address, ignored).
    notice: str = ""

    route: ClassVar[str] = "/"
    # The list's name for the user's column choice ("orders", "customer_orders").
    list_name: ClassVar[str] = "list"
    default_sort: ClassVar[str] = ""
    filter_keys: ClassVar[tuple[str, ...]] = ()
    needs_actor: ClassVar[bool] = False  # the service checks the signed-in user
    # The default sort in words, for the notice when the address's sort is unknown
    # ("order date, newest first").
    default_sort_text: ClassVar[str] = ""
    # What the list shows, for live updates (northwind_app/live/): topics such as "orders" or,
    # in a list embedded in a detail page, "customer:{key}" (the page's record key).
    live_topics: ClassVar[tuple[str, ...]] = ()
    live_key: ClassVar[str] = "href"  # the row value that tells rows apart (highlights)
    _live_refreshing: bool = False  # the next load is a live refresh: highlight what changed

    # -- to implement (one of the two) -------------------------------------------------------
    @classmethod
    def _read_rows(cls, params: ListParams) -> tuple[list[dict[str, str]], int]:
        """The rows and total of `params` read without a tab (in a worker thread), for a list
        whose rows are the same for every reader: live refreshes of such a list are pushed,
        one read per view for all its tabs (`ListView`). Not implemented: every tab
        refreshes in its own event."""
        raise NotImplementedError

    @classmethod
    def _pushes(cls) -> bool:
        return (not cls.needs_actor
                and getattr(cls._read_rows, "__func__", None)
                is not ListState._read_rows.__func__)

    @classmethod
    def _pushed_update(cls, values: dict[str, Any], params: ListParams) -> StateUpdate:
        """The update of a pushed refresh: `values` and the computed vars that depend on
        them (computed from them and the view, in the task's number format)."""
        delta = {name + FIELD_MARKER: value for name, value in values.items()}
        view = SimpleNamespace(**values, rows_offset=params.offset, page_size=params.limit,
                               offset=params.offset)
        for name in cls._pushed_computed():
            delta[name + FIELD_MARKER] = cls.computed_vars[name].fget(view)
        return StateUpdate(delta={cls.get_full_name(): delta})

    @classmethod
    def _pushed_computed(cls) -> list[str]:
        """This state's computed vars that depend on PUSHED_VARS (transitively)."""
        own, found, pending = cls.get_full_name(), [], list(PUSHED_VARS)
        while pending:
            for state, name in cls._var_dependencies.get(pending.pop(), ()):
                if state == own and name not in found:
                    found.append(name)
                    pending.append(name)
        return sorted(found)

    def _fetch_rows(self, params: ListParams) -> tuple[list[dict[str, str]], int]:
        """The rows and total of `params`, in a worker thread (`_fetch`'s default)."""
        raise NotImplementedError

    async def _fetch(self, params: ListParams,
                     actor: Actor | None) -> tuple[list[dict[str, str]], int]:
        """The rows of `params` as display strings, and the total of matching rows; `actor`
        is the signed-in user when `needs_actor`."""
        extra = (actor,) if self.needs_actor else ()
        return await asyncio.to_thread(self._fetch_rows, params, *extra)

    def _base_path(self) -> str:
        """Where the list lives; a list embedded in a detail page returns that page's path."""
        return self.route

    def _fixed_filters(self) -> dict[str, str]:
        """Filters the page imposes (e.g. the customer of a customer's detail page)."""
        return {}

    def _live_watched(self) -> tuple[str, ...]:
        parts = [part for part in self.router.url.path.split("/") if part]
        key = parts[1] if len(parts) > 1 else ""  # /customers/ALFKI: the page's record
        return tuple(topic.format(key=key) for topic in self.live_topics)

    async def _live_refresh(self):
        """Data the list shows changed: load the same view again (filters, sort, page, as
        the address has them), in the refresh's own event, then highlight the rows that are
        new or changed."""
        self._live_refreshing = True
        async for update in self._load_view():
            yield update

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
    def hidden_css(self) -> str:
        """The style that hides this list's hidden columns (the table's class names its list;
        each cell its column)."""
        return "".join(f".nw-list-{self.list_name} .nw-col-{key}{{display:none}}"
                       for key in self.hidden_columns if key.replace("_", "").isalnum())

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
        return view_query(values, self.default_sort)

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

    async def _read_hidden_columns(self) -> None:
        """The user's hidden columns of this list, once per tab (a failure shows them all)."""
        if self._columns_read:
            return
        try:
            actor = await actor_of(self)
            chosen = await backend.load(self, users.list_columns, actor)
        except ServiceError:  # logged, or the banner raised: every column shown meanwhile
            return
        self._columns_read = True
        self._change(hidden_columns=chosen.get(self.list_name, []))

    # -- events -----------------------------------------------------------------------------
    @rx.event
    async def set_column_shown(self, key: str, shown: bool):
        """Show or hide a column of this list, and remember it for the signed-in user. (Any
        socket may send any payload: the service takes names only, and unknown ones hide
        nothing.)"""
        if not isinstance(key, str) or not isinstance(shown, bool):
            return
        hidden = [name for name in self.hidden_columns if name != key] + ([] if shown else [key])
        before, self.hidden_columns = self.hidden_columns, hidden
        yield
        try:
            actor = await actor_of(self)
            kept = await backend.write(self, users.set_list_columns, actor, self.list_name,
                                       hidden)
        except ServiceError as exc:  # a refusal, or a server problem (logged, or the banner)
            self.hidden_columns = before
            yield rx.toast.error(f"The column choice was not saved: {exc.message}")
        else:
            self._change(hidden_columns=kept.get(self.list_name, []))

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
        async for update in self._load_view():
            yield update

    def _view_key(self, params: ListParams, actor: Actor | None) -> tuple:
        """What tells one view's rows from another's in this worker: the list, its address,
        its parameters, the reader where rows depend on who reads, and the number format
        and time zone (shared reads and pushed views are keyed by it)."""
        return (self.get_full_name(), self.router.url.path, repr(params),
                actor if self.needs_actor else None, format_key())

    async def _load_view(self):
        """`load`'s work (also a live refresh's, in its own event)."""
        # While it loads, the tab is not pushed its view's refreshes (nudged instead).
        registry.hide(self._live_token(), self.get_full_name())
        url_problems = self._read_url()
        view = self.router.url.query
        refreshing, self._live_refreshing = self._live_refreshing, False
        params = ListParams(limit=self.page_size, offset=self.offset, sort=self.sort or None,
                            search=self.search or None,
                            filters={key: value for key, value in
                                     {**self.filters, **self._fixed_filters()}.items() if value})
        fetching = None
        notice = ""
        try:
            if url_problems:
                raise Invalid(fields=url_problems)
            await self._load_extras()
            actor = await actor_of(self) if self.needs_actor else None

            async def read(view: ListParams) -> tuple[list[dict[str, str]], int]:
                if refreshing:
                    # A live refresh: tabs of this worker on the same view share one read per
                    # feed position (live/shared.py); a navigation reads afresh.
                    return await shared_reads.get(self._view_key(view, actor),
                                                  lambda: self._fetch(view, actor))
                return await self._fetch(view, actor)

            read_params = params

            async def fetch() -> tuple[list[dict[str, str]], int]:
                """The rows; a sort the list does not know is ignored, with a notice."""
                nonlocal notice, read_params
                try:
                    return await read(params)
                except Invalid as exc:
                    if set(exc.fields) != {"sort"} or params.sort == self.default_sort:
                        raise
                    notice = (f"Unknown sort '{params.sort}' ignored; sorted by "
                              f"{self.default_sort_text or self.default_sort.lstrip('-')}.")
                    read_params = replace(params, sort=self.default_sort)
                    return await read(read_params)

            fetching = asyncio.ensure_future(fetch())
            # The tab's first load of the list also reads the user's hidden columns, while
            # the rows are read (another worker thread).
            await self._read_hidden_columns()
            done, _ = await asyncio.wait({fetching}, timeout=SHOW_LOADING_AFTER)
            if not done and not refreshing:  # a live refresh replaces the rows in place
                self.loading = True
                yield
            rows, total = await fetching
            if not rows and total and self.offset:
                # The page is past the end (rows were deleted): show the last page instead.
                last = -(-total // self.page_size)
                self._change(loading=False)
                yield rx.redirect(self._url(page=last), replace=True)
                return
            self._change(changed_rows=self._live_rows_changed(self.rows, rows, self.live_key)
                         if refreshing else [])
            self._change(rows=rows, total=total, rows_offset=self.offset, rows_view=view,
                         error="", field_errors={}, notice=notice)
            if self.live_topics:
                await self._live_watch(*self._live_watched())
                if self._pushes():  # its refreshes are pushed while it shows this view
                    registry.show(self._live_token(), self.get_full_name(),
                                  self._view_key(read_params, None),
                                  ListView(self.__class__, read_params, format_key()), rows)
        except Invalid as exc:
            # A filter's refusal is said beside its control, in its words; the rest above the
            # list (a page number or size also beside the pager).
            shown = {name: filter_message(name, message) if name in self.filter_keys
                     else message for name, message in exc.fields.items()}
            others = {name: message for name, message in exc.fields.items()
                      if name not in self.filter_keys}
            self._change(rows=[], total=0, rows_view=view, field_errors=shown, notice="",
                         error="This view's address has invalid values: "
                         + "; ".join(f"{name}: {message}" for name, message in others.items())
                         if others else "")
        except Forbidden as exc:
            self._change(rows=[], total=0, rows_view=view, field_errors={}, notice="",
                         error=exc.message)
        except ServerProblem as exc:  # ui/backend.py has logged it or raised the banner
            down = exc.__cause__ is not None and outage.is_unavailable(exc.__cause__)
            self._change(rows=[], total=0, rows_view=view, field_errors={},
                         error=OUTAGE_TEXT if down else FAILED_TEXT)
        except Exception as exc:  # noqa: BLE001 - show a clear message, log the cause
            down = await outage.failed(self, exc, log, "loading %s failed", self._base_path())
            self._change(rows=[], total=0, rows_view=view, field_errors={},
                         error=OUTAGE_TEXT if down else FAILED_TEXT)
        finally:
            self._change(loading=False)
            if fetching is not None and not fetching.done():  # superseded by a newer view
                fetching.cancel()
        if not self.is_hydrated:
            # The page's rows are here: the table stops dimming with them, not one server
            # event later with Reflex's own `set_is_hydrated`, which follows the on_load.
            self.is_hydrated = True
