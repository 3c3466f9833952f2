"""Orders: every rule about an order, one subject per module.

- status.py: an order's status (new, late, shipped, shipped late, cancelled) as values and SQL;
- query.py: the orders list: filters, sorts, cursor paging, the exact count (`list_orders`);
- search.py: which orders a search text finds (`search_condition`);
- detail.py: one order with its lines and totals (`get_order`);
- input.py: raw form/JSON input to a typed OrderInput, every bad field named; a new order's
  defaults and the live totals of typed input (`new_order_defaults`, `preview_totals`);
- stock.py: the stock check and stock moves of a save;
- writes.py: save (`save_order`: create or update), delete, ship, cancel; the lifecycle
  (`order_actions`);
- choices.py: the pickers' lookups (customers, employees, shippers, products);
- prefill.py: what a new order's form starts with: for a customer, or a duplicate of an
  order (`new_order_draft`).

Callers use this package's names (`orders.list_orders`, `orders.get_order`, …).
"""

from northwind_app.services.orders.status import (
    CANCELLED, LATE, NEW, SHIPPED, SHIPPED_LATE, STATUSES, STATUS_LABELS, status_of,
    status_condition, status_rank,
)
from northwind_app.services.orders.query import (
    OrderFilters, OrderRow, EMPLOYEE_NAME, NAME_SORTS,
    SORT_KEYS, sort_columns, DEFAULT_SORT, CURSOR_SORTS, next_cursor,
    count_all_orders, checked_params, existing_customer_id, require_employee,
    list_orders, iter_orders, ship_countries,
)
from northwind_app.services.orders.search import (
    SEARCH_VALUE_COLUMNS,
    search_condition,
)
from northwind_app.services.orders.detail import (
    OrderLine, OrderDetailView, get_order,
)
from northwind_app.services.orders.input import (
    SHIP_FIELDS, MAX_QUANTITY, MAX_AMOUNT, DEFAULT_REQUIRED_DAYS, LineInput, OrderInput,
    parse_order_input, order_input_from_view, check_shipment, duplicate_text, Totals,
    preview_totals, NewOrder, new_order_defaults,
)
from northwind_app.services.orders.stock import (
    shortage_text,
)
from northwind_app.services.orders.writes import (
    AUDITED_FIELDS, audit_snapshot, create_order, update_order, revise_order, SavedOrder,
    save_order, delete_order, ship_order, cancel_order, Actions, order_actions,
)
from northwind_app.services.orders.choices import (
    Choice, customer_choices, employee_choices, shipper_choices, ProductChoice,
    product_choices, customer_ship_to, stock_levels,
)
from northwind_app.services.orders.prefill import (
    DraftLine, OrderDraft, new_order_draft,
)

__all__ = [
    'CANCELLED', 'LATE', 'NEW', 'SHIPPED', 'SHIPPED_LATE', 'STATUSES', 'STATUS_LABELS', 'status_of', 'status_condition',
    'status_rank', 'OrderFilters', 'OrderRow', 'EMPLOYEE_NAME',
    'NAME_SORTS', 'SORT_KEYS', 'sort_columns', 'DEFAULT_SORT',
    'CURSOR_SORTS', 'next_cursor', 'count_all_orders',
    'checked_params', 'existing_customer_id', 'require_employee',
    'list_orders', 'iter_orders', 'ship_countries',
    'SEARCH_VALUE_COLUMNS', 'search_condition', 'OrderLine',
    'OrderDetailView', 'get_order', 'SHIP_FIELDS', 'MAX_QUANTITY', 'MAX_AMOUNT',
    'DEFAULT_REQUIRED_DAYS', 'LineInput', 'OrderInput', 'parse_order_input',
    'order_input_from_view', 'check_shipment', 'duplicate_text', 'Totals', 'preview_totals',
    'NewOrder', 'new_order_defaults', 'shortage_text',
    'AUDITED_FIELDS', 'audit_snapshot', 'create_order', 'update_order', 'revise_order',
    'SavedOrder', 'save_order',
    'delete_order', 'ship_order', 'cancel_order', 'Actions', 'order_actions', 'Choice',
    'customer_choices', 'employee_choices', 'shipper_choices', 'ProductChoice',
    'product_choices', 'customer_ship_to', 'stock_levels',
    'DraftLine', 'OrderDraft', 'new_order_draft',
]
