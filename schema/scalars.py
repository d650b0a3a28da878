"""Custom scalars (design.md §7): amounts are `Money` strings with exactly 2 decimals, never floats.

Every `Decimal` field of the schema is `Money` (the scalar map sends `Decimal` to it); hourly and unit rates and
percentages are `Rate`, a `Decimal` at the stored scale of 4 places.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from billing.money import round2

GeoJSON = NewType("GeoJSON", object)
JSON = NewType("JSON", object)
Rate = NewType("Rate", Decimal)

_RATE_SCALE = Decimal("0.0001")


def _geojson(value: Any) -> Any:
    # Territory geometry arrives as GeoJSON text from ST_AsGeoJSON, points as dicts.
    return json.loads(value) if isinstance(value, str) else value


def parse_decimal(value: object, what: str) -> Decimal:
    """A decimal from a GraphQL input: a string (preferred) or a JSON number; NaN, infinity, booleans refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f'{what} must be a decimal number as a string, e.g. "250.00", got {value!r}')
    try:
        parsed = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation as exc:
        raise ValueError(f'{what} must be a decimal number, e.g. "250.00", got {value!r}') from exc
    if not parsed.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return parsed


def serialize_money(value: Any) -> str:
    """`Decimal("30800.0000")` → `"30800.00"`; rounded half away from zero (domain.md §0.1)."""
    return str(round2(value if isinstance(value, Decimal) else Decimal(str(value))))


def serialize_rate(value: Any) -> str:
    """`Decimal("9.706546275395")` → `"9.7065"`, `Decimal("25.03")` → `"25.0300"` (the stored scale)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return str(number.quantize(_RATE_SCALE, rounding=ROUND_HALF_UP))


SCALARS: dict[object, ScalarDefinition] = {
    GeoJSON: strawberry.scalar(
        name="GeoJSON",
        description="An RFC 7946 GeoJSON geometry object: lon/lat in EPSG:4326 (WGS 84).",
        serialize=_geojson,
        parse_value=lambda value: value,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Arbitrary JSON (building-block settings; decimals are strings).",
        serialize=lambda value: value,
        parse_value=lambda value: value,
    ),
    Decimal: strawberry.scalar(
        name="Money",
        description='An amount in US dollars as a string with exactly 2 decimals, e.g. "33300.00" '
        "(rounded half away from zero, domain.md §0.1). Inputs accept a decimal string or number.",
        serialize=serialize_money,
        parse_value=lambda value: parse_decimal(value, "an amount"),
    ),
    Rate: strawberry.scalar(
        name="Rate",
        description="An hourly or unit rate in US dollars, or a percentage in percent (30 = 30 %), as a "
        'string with the stored scale of 4 decimals, e.g. "25.0300".',
        serialize=serialize_rate,
        parse_value=lambda value: parse_decimal(value, "a rate"),
    ),
}
