"""Custom scalars. Amounts use strawberry's `Decimal` (serialised as a string, never a float)."""

from __future__ import annotations

import json
from typing import Any, NewType

import strawberry

GeoJSON = strawberry.scalar(
    NewType("GeoJSON", object),
    description="An RFC 7946 GeoJSON geometry object: lon/lat in EPSG:4326 (WGS 84).",
    serialize=lambda value: json.loads(value) if isinstance(value, str) else value,
    parse_value=lambda value: value,
)

JSON = strawberry.scalar(
    NewType("JSON", object),
    description="Arbitrary JSON (building-block settings; decimals are strings).",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)


def as_any(value: Any) -> Any:
    return value
