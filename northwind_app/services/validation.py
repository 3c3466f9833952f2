"""Input rules for records written through the services (API bodies and screen forms alike).

Each writable entity declares a mapping of field name → rule; `clean_fields` applies it to
raw input (strings, numbers, booleans, None) and returns typed values or raises
`Invalid` naming every bad field at once. Text lengths come from the model columns,
so the database schema is the single source of those limits.

The rules word their messages one way for the whole app ("must be at least 1", "must be at
most 2,147,483,647"): screens show them beside the field, the API in its 422 body.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Column
from sqlmodel import Session, SQLModel

from northwind_app.money import parse_decimal
from northwind_app.services.errors import Invalid

MAX_INT = 2_147_483_647  # INTEGER columns on every backend


def blank(value: Any) -> bool:
    """No value: None, or text of blanks only (a rule gives its default, or "is required")."""
    return value is None or (isinstance(value, str) and not value.strip())


def at_least(minimum: int | Decimal) -> str:
    return f"must be at least {minimum}"


def at_most(maximum: int | Decimal) -> str:
    return f"must be at most {maximum:,}"


class Rule:
    """One field: `clean` turns raw input into a stored value or raises ValueError(message)."""

    def __init__(self, *, required: bool = False, default: Any = None):
        self.required = required
        self.default = default

    def clean(self, value: Any) -> Any:
        if blank(value):
            if self.required:
                raise ValueError("is required")
            return self.default
        return self.convert(value)

    def convert(self, value: Any) -> Any:
        raise NotImplementedError


class Text(Rule):
    """Text limited to its column's length; surrounding blanks are dropped, blank is None."""

    def __init__(self, column: Column, *, required: bool | None = None):
        super().__init__(required=not column.nullable if required is None else required)
        self.max_length = getattr(column.type, "length", None)

    def convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        text = value.strip()
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters")
        if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
            raise ValueError("contains characters that cannot be stored")
        return text


class Code(Text):
    """A fixed-format identifier such as a customer id: uppercased, then matched."""

    def __init__(self, column: Column, pattern: str, description: str):
        super().__init__(column, required=True)
        self.pattern = re.compile(pattern)
        self.description = description

    def convert(self, value: Any) -> str:
        text = super().convert(value).upper()
        if not self.pattern.fullmatch(text):
            raise ValueError(f"must be {self.description}")
        return text


class WholeNumber(Rule):
    def __init__(self, *, minimum: int = 0, maximum: int = MAX_INT, **kwargs: Any):
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        if isinstance(value, str):
            value = value.strip()
        try:  # locale-free: "1,000" is refused, never read as 1000 (or as 1)
            number = Decimal(str(value))
        except ArithmeticError:
            raise ValueError("must be a whole number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError("must be a whole number")
        # Range first, on the Decimal: int() of e.g. 1e999999999 would take forever.
        if number < self.minimum:
            raise ValueError(at_least(self.minimum))
        if number > self.maximum:
            raise ValueError(at_most(self.maximum))
        return int(number)


class Amount(Rule):
    """An exact decimal (e.g. a unit price) parsed with `money.parse_decimal`, never via float.
    At most `maximum` when given, else less than `below`."""

    def __init__(self, *, places: int, minimum: Decimal = Decimal(0),
                 below: Decimal = Decimal(10) ** 15, maximum: Decimal | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.places = places
        self.minimum = minimum
        self.below = below
        self.maximum = maximum

    def convert(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        too_large = ValueError(at_most(self.maximum) if self.maximum is not None
                               else f"must be less than {self.below:,f}")
        try:
            number = parse_decimal(value, places=self.places)
        except ArithmeticError:  # more digits than decimal arithmetic holds, e.g. 1e400
            raise too_large from None
        if number < self.minimum:
            raise ValueError(at_least(self.minimum))
        if (number > self.maximum) if self.maximum is not None else (number >= self.below):
            raise too_large
        return number


class Day(Rule):
    """A calendar date: a date (a datetime's day), or text starting with YYYY-MM-DD."""

    def convert(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None


class Flag(Rule):
    _WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}

    def convert(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in self._WORDS:
            return self._WORDS[value.strip().lower()]
        raise ValueError("must be true or false")


class Reference(WholeNumber):
    """The id of a row of another table; `check_references` verifies that it exists."""

    def __init__(self, model: type[SQLModel], label: str, **kwargs: Any):
        super().__init__(minimum=1, **kwargs)
        self.model = model
        self.label = label


def clean_fields(rules: Mapping[str, Rule], data: Mapping[str, Any], *,
                 partial: bool = False) -> dict[str, Any]:
    """Typed values for `data`. Full input: absent fields get their default (or are required).
    Partial input (PATCH): only the given fields are cleaned; None clears a nullable field."""
    errors = {name: "is not a field that can be set" for name in data if name not in rules}
    values: dict[str, Any] = {}
    for name, rule in rules.items():
        if partial and name not in data:
            continue
        try:
            values[name] = rule.clean(data.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise Invalid(fields=errors)
    return values


def check_references(session: Session, rules: Mapping[str, Rule],
                     values: Mapping[str, Any]) -> None:
    """Invalid naming each `Reference` field whose row does not exist."""
    errors = {
        name: f"{rule.label} {values[name]} does not exist"
        for name, rule in rules.items()
        if isinstance(rule, Reference) and values.get(name) is not None
        and session.get(rule.model, values[name]) is None
    }
    if errors:
        raise Invalid(fields=errors)


def row_id(value: Any) -> int:
    """A row id given as a filter's value (e.g. `?category_id=3` on a list screen): a whole
    number from 1 to MAX_INT, like the API's id parameters; ValueError(message) else."""
    return WholeNumber(minimum=1).convert(value)
