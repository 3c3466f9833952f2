"""Types shared by every endpoint: money and fraction strings, exact decimal input, the page
envelope and the query parameters common to all lists."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from fastapi import Path
from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema, create_model,
)
from pydantic_core import PydanticCustomError

from northwind_app.api.errors import describe_pattern
from northwind_app.money import money_str, parse_decimal
from northwind_app.services.listing import MAX_LIMIT, Listing, ListParams
from northwind_app.services.validation import MAX_INT, at_least, at_most

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
FRACTION_PATTERN = r"^[0-9]+(\.[0-9]+)?$"


def fraction_str(value: Decimal) -> str:
    """Discounts and other fractions: the exact value without trailing zeros ("0.15", "0")."""
    return format(value.normalize(), "f")


MoneyOut = Annotated[
    Decimal,
    PlainSerializer(money_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["18.00"],
                    "description": "Amount rounded half-up to cents, as a decimal string."}),
]

FractionOut = Annotated[
    Decimal,
    PlainSerializer(fraction_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": FRACTION_PATTERN, "examples": ["0.15"],
                    "description": "Exact fraction (0 to 1) as a decimal string."}),
]

# Decimal input is accepted as a JSON string or number; the request parser keeps numbers as
# exact Decimals and the service parses both with `money.parse_decimal` (never through float).


def decimal_in(*, digits: int, places: int = 4, maximum: int | None = None,
               below: int | None = None) -> Any:
    """An exact decimal from 0 up to `maximum` (or below `below`), with at most `places`
    decimals: a string of digits (at most `digits` before the point; the schema's pattern,
    checked here) or a JSON number (its range is in the schema; its decimals, which JSON
    Schema cannot state for binary numbers, are checked by the service)."""
    pattern = rf"^[0-9]{{1,{digits}}}(\.[0-9]{{1,{places}}})?$"
    return _decimal_in(pattern, {"minimum": 0, **({"maximum": maximum} if maximum is not None
                                                  else {"exclusiveMaximum": below})}, places)


def _decimal_problem(value: str, places: int, number: dict[str, Any]) -> str:
    """Why a decimal string does not match its pattern, as the service would say it."""
    if not value.strip():
        return "must be a number (leave it out, or send null, for none)"
    try:
        amount = parse_decimal(value, places=places)
    except ValueError as exc:
        return str(exc)
    except ArithmeticError:
        amount = None
    if amount is not None and amount < number["minimum"]:
        return at_least(number["minimum"])
    if "maximum" in number and (amount is None or amount > number["maximum"]):
        return at_most(number["maximum"])
    if "exclusiveMaximum" in number and (amount is None or amount >= number["exclusiveMaximum"]):
        return f"must be less than {number['exclusiveMaximum']:,}"
    return (f"must be written with digits and at most {places} decimals after a point, "
            "e.g. \"18.00\"")


def _decimal_in(pattern: str, number: dict[str, Any], places: int = 4,
                example: str = "18.00") -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise PydanticCustomError("decimal_string", _decimal_problem(value, places, number))
        return value

    return Annotated[Any, BeforeValidator(check), WithJsonSchema({
        "anyOf": [{"type": "string", "pattern": pattern, "examples": [example]},
                  {"type": "number", **number}],
        "description": "Exact decimal, as a string (preferred) or a number."})]


# A fraction from 0 to 1 with at most 4 decimals (discounts: "0.15" is 15%).
FractionIn = _decimal_in(r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$", {"minimum": 0, "maximum": 1},
                         example="0.15")

# Text fields. What the services store: surrounding blanks (Python's str.strip(), i.e.
# str.isspace) dropped, no NUL (no database stores it), required text not blank. The same
# rules as schema patterns, which pydantic checks too: the blanks are spelled out so that the
# pattern means the same in every regex dialect (ECMA-262, Rust, Python). The length limit
# counts what is sent.
BLANKS = r"\x09-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
STORABLE_TEXT = describe_pattern(r"^[^\x00]*$", "contains characters that cannot be stored")
REQUIRED_TEXT = describe_pattern(rf"^[^\x00]*[^\x00{BLANKS}][^\x00]*$",
                                 "is required (not blank, without NUL characters)")
# Customer ids: five letters (case-insensitive; stored uppercase).
CUSTOMER_ID_PATTERN = describe_pattern(r"^[A-Za-z]{5}$", "must be exactly 5 letters A-Z")


def text_in(max_length: int | None, *, required: bool = False, default: Any = None,
            description: str | None = None, **extra: Any) -> Any:
    """The `Field` of a text field: at most `max_length` characters; `required`: not blank
    (and no default), else optional (`default`)."""
    return Field(... if required else default, max_length=max_length,
                 pattern=REQUIRED_TEXT if required else STORABLE_TEXT,
                 description=description, **extra)


def column_length(column: Any) -> int | None:
    return getattr(column.type, "length", None)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> dt.date:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_type", "must be a date (YYYY-MM-DD)")


# A date in a request body or query: only an ISO 8601 string "YYYY-MM-DD" (never a number,
# which pydantic would otherwise read as a Unix time).
DateIn = Annotated[dt.date, BeforeValidator(_iso_date)]

# Request bodies: exactly the JSON types the schema states (no "1" for 1, no 0 for false).
BODY_CONFIG = ConfigDict(extra="forbid", strict=True)



def _digits(value: Any) -> Any:
    """A path id is its digits only: pydantic would read " 7" or "7\n" as 7."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "must be a whole number (digits only)")
    return value


RowIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The row's id.", examples=[1]),
                      BeforeValidator(_digits)]
RowIdFilter = Annotated[int, Field(ge=1, le=MAX_INT)] | None

ItemT = TypeVar("ItemT")


class PageOut(BaseModel, Generic[ItemT]):
    """One page of a list and the number of rows matching the query in all."""

    items: list[ItemT]
    total: int = Field(examples=[91])
    limit: int = Field(examples=[25])
    offset: int = Field(examples=[0])
    next_cursor: str | None = Field(
        None, description="Lists that page by cursor (orders, sorted by one of its own "
                          "columns): pass this as `after` for the next page, which costs what "
                          "the first page does however deep; null on the last page and for "
                          "lists or sorts that page only by offset.",
        examples=[None])


def _list_params(query: BaseModel) -> ListParams:
    common = {"limit", "offset", "q", "sort", "after"}
    filters = {name: getattr(query, name) for name in type(query).model_fields
               if name not in common and getattr(query, name) is not None}
    return ListParams(limit=getattr(query, "limit", 25), offset=getattr(query, "offset", 0),
                      sort=getattr(query, "sort", None), search=getattr(query, "q", None),
                      filters=filters, after=getattr(query, "after", None))


class AuditEntryOut(BaseModel):
    """One change in the audit trail."""

    audit_id: int = Field(examples=[17])
    at: dt.datetime = Field(description="When (UTC).", examples=["2026-07-04T09:30:12Z"])
    username: str = Field(description="Who, as their username was then ('system': the command "
                                      "line).", examples=["sales"])
    action: str = Field(description="create, update, ship, delete, password, revoke, "
                                    "sign_in_failed or lockout.", examples=["update"])
    entity: str = Field(description="order, customer, product, user, api_token or sign_in "
                                    "(a failed sign-in or the throttling it started: `username` "
                                    "is the submitted name, `entity_key` the client address).",
                        examples=["order"])
    entity_key: str = Field(description="The record's id.", examples=["10248"])
    summary: str = Field(examples=["order 10248"])
    changes: dict[str, tuple[str | None, str | None]] = Field(
        description="Field → [before, after] as display text; null where the field did not "
                    "exist (a line added or removed, a record created or deleted).",
        examples=[{"freight": ["32.38", "40.00"], "total": ["472.38", "480.00"]}])


class ListQuery(BaseModel):
    """Query parameters of every list; `sort` and the filters are added per entity."""

    limit: int = Field(25, ge=1, le=MAX_LIMIT, description=f"Rows per page (1-{MAX_LIMIT}).")
    offset: int = Field(0, ge=0, le=MAX_INT, description="Rows to skip.")
    q: str | None = Field(None, max_length=200,
                          description="Search text: case-insensitive 'contains'.")

    def list_params(self) -> ListParams:
        return _list_params(self)


class UnpagedQuery(BaseModel):
    """A list's parameters without paging (exports: every matching row)."""

    q: str | None = Field(None, max_length=200,
                          description="Search text: case-insensitive 'contains'.")

    def list_params(self) -> ListParams:
        return _list_params(self)


class Sortable(Protocol):
    """What `list_query` needs of a list: its sort whitelist and default (e.g. a `Listing`)."""

    @property
    def sort_keys(self) -> list[str]: ...

    @property
    def default_sort(self) -> str: ...


def list_query(name: str, listing: Listing | Sortable, search_help: str, *, paged: bool = True,
               **filters: tuple[Any, Any]) -> type[ListQuery]:
    """The query model of one list: common parameters, `sort` restricted to the listing's
    whitelist, and the entity's filters as (type, Field(...)) pairs. `paged=False` leaves
    out `limit` and `offset` (for exports of every matching row)."""
    sort_type = Literal[tuple(listing.sort_keys)]  # type: ignore[valid-type]
    model = create_model(
        f"{name}ListQuery" if paged else f"{name}ExportQuery",
        __base__=ListQuery if paged else UnpagedQuery,
        sort=(sort_type | None, Field(None, description=(
            f"Sort by a field, '-' prefix for descending (default {listing.default_sort}).")),
        ),
        q=(str | None, Field(None, max_length=200, description=(
            f"Search {search_help} (case-insensitive 'contains')."))),
        **filters,
    )
    return model


def partial_model(model: type[BaseModel], name: str, example: dict[str, Any]) -> type[BaseModel]:
    """`model` with every field optional, for PATCH bodies: a field left out is not changed;
    null is accepted only where `model` accepts it (it clears the field)."""
    fields = {name: (Annotated[(info.annotation, *info.metadata)] if info.metadata
                     else info.annotation,
                     Field(None, description=info.description,
                           json_schema_extra=info.json_schema_extra))
              for name, info in model.model_fields.items()}
    config = ConfigDict({**model.model_config, "json_schema_extra": {"examples": [example]}})
    return create_model(name, __config__=config, **fields)
