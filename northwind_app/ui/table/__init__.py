"""The one paginated, sortable, searchable table every list screen uses.

- state.py: `ListState`, the state mixin holding one page of a list's rows for the view the
  address names (`load`, the page's on_load and every control's event);
- url.py: the view in the address (query string <-> view, the controls' address edits);
- components.py: `data_table`, its filters, search box and pager, and `Column`.

Every public name is importable from `northwind_app.ui.table`.
"""

from northwind_app.ui.table.components import (
    Column, data_table, filter_date, filter_error, filter_select, filter_text, pager, search_box,
)
from northwind_app.ui.table.state import OUTAGE_TEXT, SHOW_LOADING_AFTER, ListState
from northwind_app.ui.table.url import set_query_param, show, url_errors, view_query

__all__ = [
    "Column", "ListState", "OUTAGE_TEXT", "SHOW_LOADING_AFTER", "data_table", "filter_date",
    "filter_error", "filter_select", "filter_text", "pager", "search_box", "set_query_param", "show",
    "url_errors", "view_query",
]
