"""The number and date formats people read and type on the screens (the REST API has none: it
sends and takes plain decimal strings, see `money.parse_decimal`).

Each user has one format (`users.number_format`): English ``1,234.56``, German ``1.234,56`` or
French ``1 234,56``. What they type is read with babel's strict parser in their format and
refused, never guessed, when it does not fit it or could mean another amount:

- only ASCII digits, an optional leading ``-``, the format's group separator (French: any
  space) and at most one decimal separator followed by digits; groups of three where grouped;
- *ambiguous*: the same text, read in another supported format, is a different amount that the
  field would also accept (``1,234`` for a price is 1234 in English but 1.234 in German and
  French) — refused, saying both readings and how to write the one meant. For whole numbers
  (quantities) a reading with decimals is no alternative: ``1,000`` units is 1000 in English;
  ``1,5`` units is refused as not whole;
- the refusal says how the text was read and suggests what the user probably meant
  ("12,50 is not a number in the 1,234.56 format; did you mean 12.50?").

`current` holds the signed-in user's format for the display helpers (money.format_money, …):
the screens' auth check (ui/auth.py) sets it from the verified user before every event, so it
never comes from an event's payload; asyncio.to_thread carries it into worker threads.

Times (the audit trail's, sign-ins, tokens) are shown in each user's time zone
(`users.time_zone`, an IANA name such as ``Europe/Berlin``; `zone` holds the signed-in user's,
set beside `current`): ``Dec 6, 2026, 9:10 AM +0100``, in their number format's language.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import NumberFormatError, format_decimal, parse_decimal


@dataclass(frozen=True)
class NumberFormat:
    code: str
    locale: str  # babel locale used to read and write numbers and dates
    group: str  # the group separator babel writes
    decimal: str
    typed_groups: str  # group separators accepted when typed (all mean `group`)
    example: str

    @property
    def label(self) -> str:
        return f"{self.example} ({LANGUAGES[self.code]})"


LANGUAGES = {"en": "English", "de": "German", "fr": "French"}
FORMATS: dict[str, NumberFormat] = {
    "en": NumberFormat("en", "en_US", ",", ".", ",", "1,234.56"),
    "de": NumberFormat("de", "de_DE", ".", ",", ".", "1.234,56"),
    "fr": NumberFormat("fr", "fr_FR", "\u202f", ",", " \u00a0\u202f", "1 234,56"),
}
DEFAULT = "en"
CODES = tuple(FORMATS)

MAX_LANGUAGES = 20  # of an Accept-Language header, the ones looked at

current: ContextVar[str] = ContextVar("number_format", default=DEFAULT)
DEFAULT_ZONE = "UTC"
zone: ContextVar[str] = ContextVar("time_zone", default=DEFAULT_ZONE)


def get(code: str | None = None) -> NumberFormat:
    """The format `code`, or the current one; an unknown code is the default."""
    return FORMATS.get(code if code is not None else current.get(), FORMATS[DEFAULT])


def use(code: str | None) -> None:
    """Make `code` (a verified user's format; None: signed out) the current format."""
    current.set(code if code in FORMATS else DEFAULT)


def use_zone(name: str | None) -> None:
    """Make `name` (a verified user's time zone; None: not chosen or signed out) the current
    time zone; an unknown name is UTC."""
    zone.set(name if name and is_zone(name) else DEFAULT_ZONE)


def is_zone(name: Any) -> bool:
    """Whether `name` is an IANA time zone this machine knows ("Europe/Berlin", "UTC")."""
    return isinstance(name, str) and name in zone_names()


_ZONES: list[str] = []


def zone_names() -> list[str]:
    """Every IANA time zone name the system knows, sorted ("Africa/Abidjan" … "UTC")."""
    if not _ZONES:
        _ZONES.extend(sorted(name for name in available_timezones()
                             if "/" in name or name == "UTC"))
    return _ZONES


def from_accept_language(header: str | None) -> str:
    """The supported format closest to a browser's languages (an `Accept-Language` header):
    the first language, by preference, whose decimal separator (and, for a comma, group
    separator: a point or a space) babel knows; English when none."""
    tags = []
    for position, part in enumerate((header or "").split(",")[:MAX_LANGUAGES]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            tags.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(tags):
        try:
            symbols = Locale.parse(tag, sep="-").number_symbols["latn"]
        except (UnknownLocaleError, ValueError, TypeError, KeyError):
            continue
        if symbols["decimal"] == ".":
            return "en"
        if symbols["decimal"] == ",":
            return "de" if symbols["group"] == "." else "fr"
    return DEFAULT


# --- reading ------------------------------------------------------------------------------------

def _pattern(fmt: NumberFormat) -> re.Pattern[str]:
    group, decimal = re.escape(fmt.group), re.escape(fmt.decimal)
    return re.compile(f"-?[0-9](?:[0-9{group}]*[0-9])?(?:{decimal}[0-9]+)?")


_PATTERNS = {code: _pattern(fmt) for code, fmt in FORMATS.items()}


def _normalized(text: str, fmt: NumberFormat) -> str:
    text = text.strip()
    for typed in fmt.typed_groups:
        text = text.replace(typed, fmt.group)
    return text


def read(text: str, fmt: NumberFormat) -> Decimal | None:
    """`text` read strictly in `fmt`, or None when it is not a number written in it."""
    text = _normalized(text, fmt)
    if not _PATTERNS[fmt.code].fullmatch(text):
        return None
    try:
        return parse_decimal(text, fmt.locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        return None


def _fits(value: Decimal, places: int) -> bool:
    return value == value.quantize(Decimal(1).scaleb(-places))


def plain(value: Decimal, fmt: NumberFormat, places: int = 4, *, decimals: int = 0) -> str:
    """`value` written in `fmt` without grouping, with at least `decimals` decimals, and so
    that no other format reads it as another amount a field with `places` decimals takes:
    ``1234``, ``12,50``, ``1.2340`` (``1.234`` would be 1234 where "." groups)."""
    whole, _, fraction = format(value, "f").partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) == 3 and places > 3:
        fraction += "0"
    fraction = fraction.ljust(decimals, "0")
    return whole + (fmt.decimal + fraction if fraction else "")


def _alternative(text: str, other: NumberFormat, places: int) -> bool:
    """Whether `other`'s reading of `text` counts as another meaning for a field with
    `places` decimals: for a whole number, a reading with decimals does not (nobody types a
    quantity "1,000" meaning 1, so an English "1,000" is 1000)."""
    return places > 0 or other.decimal not in text


def parse_number(text: Any, fmt: NumberFormat | str | None = None, *, places: int) -> Decimal:
    """What a person typed, as an exact Decimal with at most `places` decimals (0: a whole
    number), read in their format. ValueError with a message for the field otherwise."""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    if text is None or not str(text).strip():
        raise ValueError("is required")
    text = str(text).strip()
    value = read(text, fmt)
    if value is None:
        readings = {v for code, other in FORMATS.items() if code != fmt.code
                    and (v := read(text, other)) is not None and _fits(v, places)}
        decimals = min(places, 2)
        hint = " or ".join(sorted(plain(v, fmt, places, decimals=decimals) for v in readings))
        example = plain(Decimal("1234.5"), fmt, places, decimals=decimals) if places else "1234"
        raise ValueError(f"{text} is not a number in the {fmt.example} format; "
                         + (f"did you mean {hint}?" if hint else f"write it like {example}"))
    if not _fits(value, places):
        raise ValueError(f"{text} is not a whole number" if places == 0 else
                         f"{text} has more than {places} decimal places")
    others = {v for code, other in FORMATS.items() if code != fmt.code
              and _alternative(text, other, places)
              and (v := read(text, other)) is not None and v != value and _fits(v, places)}
    if others:
        meant = " or ".join(sorted(plain(v, fmt, places, decimals=2) for v in {value, *others}))
        raise ValueError(f"{text} is ambiguous in the {fmt.example} format; type {meant}, "
                         "whichever you mean")
    return value if value else abs(value)  # no "-0"


# --- writing ------------------------------------------------------------------------------------

def number_text(value: int | Decimal, fmt: NumberFormat | str | None = None) -> str:
    """A quantity or count, grouped: ``1,234`` / ``1.234`` / ``1 234``; decimals exactly."""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    return format_decimal(value, locale=fmt.locale, decimal_quantization=False)


def edit_text(value: Decimal | None, fmt: NumberFormat | str | None = None) -> str:
    """An amount for an input field: ``18.00``, ``0.1250``, ``1234,50``; "" for None."""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    return "" if value is None else plain(value, fmt, 4, decimals=2)


def amount_text(value: Decimal, fmt: NumberFormat | str | None = None) -> str:
    """An exact amount, grouped, at least two decimals, readable back without ambiguity."""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    fraction = plain(value, FORMATS["en"], 4).partition(".")[2]
    pattern = "#,##0." + "0" * max(2, len(fraction))
    return format_decimal(value, pattern, locale=fmt.locale, decimal_quantization=False)


def date_text(value: dt.date | None, fmt: NumberFormat | str | None = None) -> str:
    """"Jul 4, 1996" / "04.07.1996" / "4 juil. 1996"; empty for no date."""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    return "" if value is None else format_date(value, "medium", locale=fmt.locale)


def _time_pattern(fmt: NumberFormat) -> str:
    """The locale's medium date and short time, joined as the locale joins them, and the
    zone: "MMM d, y, h:mm a z"."""
    locale = Locale.parse(fmt.locale)
    return (locale.datetime_formats["medium"].replace("{1}", locale.date_formats["medium"].pattern)
            .replace("{0}", locale.time_formats["short"].pattern) + " z")


def time_text(value: dt.datetime | None, fmt: NumberFormat | str | None = None,
              time_zone: str | None = None) -> str:
    """A moment in the user's time zone (`time_zone`, default the current one) and format:
    "Dec 6, 2026, 9:10 AM +0100" / "06.12.2026, 09:10 MEZ"; empty for none. A naive
    value is UTC (how some backends return stored times)."""
    if value is None:
        return ""
    fmt = fmt if isinstance(fmt, NumberFormat) else get(fmt)
    name = time_zone if time_zone and is_zone(time_zone) else zone.get()
    try:
        tzinfo = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        tzinfo = ZoneInfo(DEFAULT_ZONE)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value, _time_pattern(fmt), tzinfo=tzinfo, locale=fmt.locale)
