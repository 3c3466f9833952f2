"""The shared API types: money and fraction strings out (with accurate JSON schemas)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from northwind_app.api.schemas import FRACTION_PATTERN, MONEY_PATTERN, FractionOut, MoneyOut


class Line(BaseModel):
    unit_price: MoneyOut
    discount: FractionOut


def test_money_and_fractions_serialize_as_exact_strings():
    line = Line(unit_price=Decimal("18.0000"), discount=Decimal("0.1500"))
    assert line.model_dump(mode="json") == {"unit_price": "18.00", "discount": "0.15"}
    half_cent = Line(unit_price=Decimal("110277.30500000"), discount=Decimal("0.0000"))
    assert half_cent.model_dump_json() == '{"unit_price":"110277.31","discount":"0"}'
    assert Line(unit_price=Decimal("0.004"), discount=Decimal("1.0000")).model_dump(
        mode="json") == {"unit_price": "0.00", "discount": "1"}


def test_schema_declares_strings_with_patterns():
    properties = Line.model_json_schema(mode="serialization")["properties"]
    assert properties["unit_price"]["type"] == "string"
    assert properties["unit_price"]["pattern"] == MONEY_PATTERN
    assert properties["discount"]["pattern"] == FRACTION_PATTERN
