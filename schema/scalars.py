"""Custom scalars. Amounts use strawberry's `Decimal` (serialised as a string, never a float)."""

from __future__ import annotations

import json
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

GeoJSON = NewType("GeoJSON", object)
JSON = NewType("JSON", object)


def _geojson(value: Any) -> Any:
    # Territory geometry arrives as GeoJSON text from ST_AsGeoJSON, points as dicts.
    return json.loads(value) if isinstance(value, str) else value


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
}
