"""The geometry boundary (design.md §9): GeoJSON ⇄ shapely ⇄ WKB, validation, SRID rules.

Everything stored is EPSG:4326 (lon, lat degrees, RFC 7946 axis order). Inputs are validated here with
shapely and rejected with a message that names the fault and its coordinate.
"""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from spatial.validation import GeometryRefused, polygonal

SRID = 4326


class GeometryInputError(ValueError):
    """Bad geometry input; `str()` is a message a person can act on (which field, which coordinate)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_lon_lat(lon: float, lat: float, *, field: str) -> None:
    """Raise `GeometryInputError` unless (lon, lat) is a finite WGS 84 coordinate."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryInputError(f"{field}: coordinates must be finite numbers", field=field)
    if not -180.0 <= lon <= 180.0:
        raise GeometryInputError(f"{field}: longitude {lon} is outside [-180, 180]", field=field)
    if not -90.0 <= lat <= 90.0:
        raise GeometryInputError(f"{field}: latitude {lat} is outside [-90, 90]", field=field)


def check_bbox(bbox: list[float], *, field: str = "bbox") -> tuple[float, float, float, float]:
    """Validate `[minLon, minLat, maxLon, maxLat]` (EPSG:4326) and return it as a tuple.

    A box whose minLon exceeds its maxLon crosses the antimeridian (RFC 7946 §5.2): it spans minLon … 180
    and -180 … maxLon. Only minLat > maxLat is refused."""
    if len(bbox) != 4:
        raise GeometryInputError(
            f"{field}: expected [minLon, minLat, maxLon, maxLat], got {len(bbox)} numbers", field=field
        )
    min_lon, min_lat, max_lon, max_lat = bbox
    check_lon_lat(min_lon, min_lat, field=field)
    check_lon_lat(max_lon, max_lat, field=field)
    if min_lat > max_lat:
        raise GeometryInputError(
            f"{field}: minLat must not exceed maxLat (got lat {min_lat}..{max_lat}; a minLon above maxLon "
            "is a box across the antimeridian)",
            field=field,
        )
    return min_lon, min_lat, max_lon, max_lat


def multipolygon_from_geojson(data: dict[str, Any] | str, *, field: str = "geometry") -> MultiPolygon:
    """A valid, non-empty (Multi)Polygon from a GeoJSON geometry object (lon/lat, EPSG:4326).

    A Polygon is promoted to a MultiPolygon. Raises `GeometryInputError` with the message of
    `spatial.validation.polygonal` (which names the fault, its code and where it is).
    """
    try:
        return polygonal(data, field=field).geometry
    except GeometryRefused as exc:
        raise GeometryInputError(str(exc), field=field) from exc


def to_db(geom: BaseGeometry) -> WKBElement:
    """shapely → a WKB element tagged with SRID 4326 for geoalchemy2."""
    return from_shape(geom, srid=SRID)


def to_geojson(value: WKBElement | bytes | str | None) -> dict[str, Any] | None:
    """A stored geometry (WKB element, raw WKB or hex EWKB) → RFC 7946 GeoJSON geometry object."""
    if value is None:
        return None
    geom = to_shape(value) if isinstance(value, WKBElement) else shapely.from_wkb(value)
    result: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return result
