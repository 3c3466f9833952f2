"""People's number formats (northwind_app/formats.py): what is typed is read exactly in the
user's format or refused, never at another magnitude; what is shown reads back exactly.
Property-based (hypothesis) over every supported format."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import example, given, settings, strategies as st

from northwind_app import formats
from northwind_app.formats import FORMATS, parse_number
from northwind_app.money import format_money, format_number, format_percent

CODES = list(FORMATS)
PLACES = [0, 2, 4]  # whole numbers (quantities), percentages, prices and freight

amounts = st.decimals(min_value=Decimal("-999999999999"), max_value=Decimal("999999999999"),
                      places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=400)
@given(value=amounts, code=st.sampled_from(CODES))
@example(value=Decimal("1.234"), code="en")  # would read as 1234 where "." groups
@example(value=Decimal("1234"), code="de")
@example(value=Decimal("0.125"), code="fr")
def test_what_is_shown_reads_back_exactly(value, code):
    """Both the input fields' text and the grouped display text round-trip exactly."""
    fmt = FORMATS[code]
    assert parse_number(formats.edit_text(value, fmt), fmt, places=4) == value
    assert parse_number(formats.amount_text(value, fmt), fmt, places=4) == value


@settings(max_examples=300)
@given(value=st.integers(min_value=-10**12, max_value=10**12), code=st.sampled_from(CODES))
@example(value=1234, code="en")  # "1,234": a whole number cannot mean 1.234
@example(value=1234567, code="de")
def test_whole_numbers_read_back_exactly_grouped_or_not(value, code):
    assert parse_number(formats.number_text(value, code), code, places=0) == value
    assert parse_number(str(value), code, places=0) == value


def _oracle(text: str, code: str) -> Decimal:
    """What `text` means in format `code`, by its definition: group separators dropped, the
    decimal separator is the point."""
    fmt = FORMATS[code]
    text = text.strip()
    for group in fmt.typed_groups:
        text = text.replace(group, "")
    return Decimal(text.replace(fmt.decimal, "."))


typed = st.text(alphabet="0123456789.,  \u00a0\u202f-", min_size=1, max_size=14)


@settings(max_examples=3000)
@given(text=typed, code=st.sampled_from(CODES), places=st.sampled_from(PLACES))
@example(text="12,50", code="en", places=4)
@example(text="1,234", code="en", places=4)
@example(text="1.234", code="de", places=4)
@example(text="1,234", code="fr", places=4)
@example(text="2,5", code="en", places=2)
def test_no_input_is_read_at_another_magnitude(text, code, places):
    """Whatever is typed, an accepted number is exactly what it means in the user's format,
    fits the field, and no other supported format reads the same text as a different amount
    the field would take (that text is ambiguous and refused)."""
    try:
        value = parse_number(text, code, places=places)
    except ValueError as exc:
        assert str(exc)  # a refusal always says why
        return
    assert value == _oracle(text, code)
    assert value == value.quantize(Decimal(1).scaleb(-places))
    for other in CODES:
        if places == 0 and FORMATS[other].decimal in text:
            continue  # a quantity is never meant with decimals ("1,000" units: 1000)
        reading = formats.read(text, FORMATS[other])
        if reading is not None and reading == reading.quantize(Decimal(1).scaleb(-places)):
            assert reading == value, (other, reading)


@pytest.mark.parametrize(("text", "code", "places", "message"), [
    # The examples: a European's comma never becomes a group separator.
    ("12,50", "en", 4, "12,50 is not a number in the 1,234.56 format; did you mean 12.50?"),
    ("23,79", "en", 4, "23,79 is not a number in the 1,234.56 format; did you mean 23.79?"),
    ("2,5", "en", 2, "2,5 is not a number in the 1,234.56 format; did you mean 2.50?"),
    ("25.50", "de", 4, "25.50 is not a number in the 1.234,56 format; did you mean 25,50?"),
    ("12.50", "fr", 4, "12.50 is not a number in the 1 234,56 format; did you mean 12,50?"),
    ("1,234", "en", 4, "1,234 is ambiguous in the 1,234.56 format; type 1.2340 or 1234.00, "
                       "whichever you mean"),
    ("1.234", "de", 4, "1.234 is ambiguous in the 1.234,56 format; type 1,2340 or 1234,00, "
                       "whichever you mean"),
    ("1e3", "en", 4, "1e3 is not a number in the 1,234.56 format; write it like 1234.50"),
    ("12,5", "de", 0, "12,5 is not a whole number"),
    ("0,12345", "de", 4, "0,12345 has more than 4 decimal places"),
    ("", "en", 4, "is required"),
])
def test_refusals_say_how_the_text_was_read(text, code, places, message):
    with pytest.raises(ValueError) as refused:
        parse_number(text, code, places=places)
    assert str(refused.value) == message


@pytest.mark.parametrize(("text", "code", "places", "value"), [
    ("12,50", "de", 4, "12.50"), ("12,50", "fr", 4, "12.50"), ("12.50", "en", 4, "12.50"),
    ("1.234,56", "de", 4, "1234.56"), ("1 234,56", "fr", 4, "1234.56"),
    ("1\u00a0234,56", "fr", 4, "1234.56"), ("1\u202f234,56", "fr", 4, "1234.56"),
    ("1,234.56", "en", 4, "1234.56"), ("1,234", "en", 0, "1234"), ("1.234", "de", 0, "1234"),
    ("2,5", "de", 2, "2.5"), ("-0", "en", 2, "0"),
])
def test_numbers_in_the_users_format_are_read_exactly(text, code, places, value):
    assert parse_number(text, code, places=places) == Decimal(value)


def test_display_follows_the_format():
    value, day = Decimal("1265793.0395"), dt.date(1996, 7, 4)
    assert [format_money(value, code) for code in CODES] == [
        "$1,265,793.04", "1.265.793,04\xa0$", "1\u202f265\u202f793,04\xa0$US"]
    assert [format_number(1234567, code) for code in CODES] == [
        "1,234,567", "1.234.567", "1\u202f234\u202f567"]
    assert [format_percent(Decimal("0.125"), code) for code in CODES] == ["12.5%", "12,5%", "12,5%"]
    assert [formats.date_text(day, code) for code in CODES] == [
        "Jul 4, 1996", "04.07.1996", "4 juil. 1996"]
    assert [formats.edit_text(Decimal("18.0000"), code) for code in CODES] == [
        "18.00", "18,00", "18,00"]


def test_display_helpers_use_the_current_users_format():
    token = formats.current.set("de")
    try:
        assert format_money(Decimal("12.5")) == "12,50\xa0$"
        assert formats.date_text(dt.date(1996, 7, 4)) == "04.07.1996"
    finally:
        formats.current.reset(token)
    assert format_money(Decimal("12.5")) == "$12.50"


@pytest.mark.parametrize(("header", "code"), [
    ("de-DE,de;q=0.9,en;q=0.8", "de"), ("fr-FR,fr;q=0.9", "fr"), ("en-US,en;q=0.9", "en"),
    ("en-GB", "en"), ("es-ES", "de"), ("nl", "de"), ("sv-SE", "fr"), ("ru", "fr"),
    ("en;q=0.5, de;q=0.9", "de"), ("xx-YY, fr;q=0.1", "fr"), ("", "en"), ("*", "en"),
    ("de;q=0", "en"), ("garbage;q=x", "en"),
])
def test_first_format_from_the_browsers_languages(header, code):
    assert formats.from_accept_language(header) == code


def test_every_format_is_distinct_and_its_pattern_has_no_letters():
    assert len({(f.group, f.decimal) for f in FORMATS.values()}) == len(FORMATS)
    for f in FORMATS.values():
        assert not re.search("[A-Za-z]", f.group + f.decimal)
