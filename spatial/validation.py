"""GeoJSON polygon input (RFC 7946, lon/lat EPSG:4326) checked before anything is written (issue 9 §1).

`polygonal(value)` turns a GeoJSON Polygon or MultiPolygon (an object or its JSON text) into a valid
shapely `MultiPolygon` (a Polygon becomes a one-part MultiPolygon, as the database stores it), or raises
`GeometryRefused` with a stable `code` and a message that names the fault and where it is:

    NOT_PARSEABLE            not JSON, not an object, or `coordinates` not nested arrays of numbers
    UNSUPPORTED_CRS          a `crs` member (GeoJSON 2008) naming anything but EPSG:4326 / OGC CRS84
    WRONG_TYPE               a GeoJSON object other than Polygon / MultiPolygon (a Feature, a LineString, …)
    COORDINATE_OUT_OF_RANGE  a longitude outside [-180, 180] or latitude outside [-90, 90] (which position)
    TOO_FEW_POINTS           a linear ring of fewer than 4 positions (RFC 7946 §3.1.6), or no ring at all
    RING_NOT_CLOSED          a ring whose last position differs from its first (RFC 7946 §3.1.6)
    SELF_INTERSECTION        a ring crossing itself or another ring (location from `explain_validity`)
    INVALID_GEOMETRY         any other OGC validity fault (hole outside its shell, nested shells, …)

Positions are named `part p, ring r, position i` (0-based, ring 0 the exterior), a location `[lon, lat]`.
The database checks the same again (migration 0006's trigger) for edits that bypass the API.

With `repair=True` a validity fault (SELF_INTERSECTION, INVALID_GEOMETRY) is repaired by `shapely.make_valid`
(method "structure": polygonal parts only, collapsed pieces dropped) and `Repair` says what changed; the
structural faults above it are never guessed at. Areas in the repair report are on the sphere of the
authalic radius (within ~0.5 % of PostGIS's geodesic `ST_Area(geography)`), in m².
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

NOT_PARSEABLE: Final = "NOT_PARSEABLE"
WRONG_TYPE: Final = "WRONG_TYPE"
COORDINATE_OUT_OF_RANGE: Final = "COORDINATE_OUT_OF_RANGE"
TOO_FEW_POINTS: Final = "TOO_FEW_POINTS"
RING_NOT_CLOSED: Final = "RING_NOT_CLOSED"
SELF_INTERSECTION: Final = "SELF_INTERSECTION"
INVALID_GEOMETRY: Final = "INVALID_GEOMETRY"
UNSUPPORTED_CRS: Final = "UNSUPPORTED_CRS"
CODES: Final = (
    NOT_PARSEABLE,
    WRONG_TYPE,
    COORDINATE_OUT_OF_RANGE,
    TOO_FEW_POINTS,
    RING_NOT_CLOSED,
    SELF_INTERSECTION,
    INVALID_GEOMETRY,
    UNSUPPORTED_CRS,
)
REPAIRABLE: Final = frozenset({SELF_INTERSECTION, INVALID_GEOMETRY})

# crs names meaning lon/lat WGS 84 (GeoJSON 2008 §3.1, OGC URNs and http URIs); EPSG:4326 is read in the
# lon/lat order GeoJSON always has, as every GIS tool writing it does
_LON_LAT_CRS: Final = frozenset(
    {
        "epsg:4326",
        "urn:ogc:def:crs:epsg::4326",
        "urn:ogc:def:crs:epsg:6.6:4326",
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:ogc::crs84",
        "crs84",
        "ogc:crs84",
        "http://www.opengis.net/def/crs/epsg/0/4326",
        "http://www.opengis.net/def/crs/ogc/1.3/crs84",
        "https://www.opengis.net/def/crs/epsg/0/4326",
        "https://www.opengis.net/def/crs/ogc/1.3/crs84",
    }
)
_GEOJSON_TYPES: Final = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    }
)
_REASON: Final = re.compile(r"^(?P<reason>[^\[]+?)\s*\[(?P<x>\S+) (?P<y>\S+)\]$")
AUTHALIC_RADIUS_M: Final = 6_371_007.2  # the sphere of WGS 84's surface area


class GeometryRefused(ValueError):
    """A GeoJSON geometry the service will not store; `code` is one of `CODES`, `str()` the message.

    `field` is the argument (`geometry`, `features[3].geometry`); `location` `[lon, lat]` where the fault
    is, when one point names it; `position` `(part, ring, index)` for a single faulty position or ring.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str,
        location: tuple[float, float] | None = None,
        position: tuple[int, int, int | None] | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.code = code
        self.field = field
        self.detail = message
        self.location = location
        self.position = position


@dataclass(frozen=True, slots=True)
class Repair:
    """What `make_valid` changed: the fault it repaired and the geometry before and after."""

    fault: str  # SELF_INTERSECTION or INVALID_GEOMETRY
    reason: str  # explain_validity's words, e.g. "Self-intersection at [-81.38, 28.54]"
    location: tuple[float, float] | None
    area_before_m2: float  # of the rings as given (a bowtie's lobes cancel: its area is about 0)
    area_after_m2: float
    parts_before: int
    parts_after: int
    vertices_before: int
    vertices_after: int

    def describe(self) -> str:
        return (
            f"repaired {self.fault} ({self.reason}): {self.parts_before} → {self.parts_after} part(s), "
            f"{self.vertices_before} → {self.vertices_after} vertices, area {self.area_before_m2:,.0f} → "
            f"{self.area_after_m2:,.0f} m²"
        )


@dataclass(frozen=True, slots=True)
class Checked:
    """A valid MultiPolygon in EPSG:4326 (2D), and the repair that made it valid, if one did."""

    geometry: MultiPolygon
    repair: Repair | None = None


def _where(part: int | None, ring: int, index: int | None = None) -> str:
    words = [] if part is None else [f"part {part}"]
    words.append(f"ring {ring}" + (" (exterior)" if ring == 0 else " (hole)"))
    if index is not None:
        words.append(f"position {index}")
    return ", ".join(words)


def load(value: Any, *, field: str) -> dict[str, Any]:
    """A GeoJSON object from an object or its JSON text; NOT_PARSEABLE otherwise."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at character {exc.pos + 1}" if isinstance(exc, json.JSONDecodeError) else ""
            raise GeometryRefused(NOT_PARSEABLE, f"not JSON{where}", field=field) from exc
        except RecursionError as exc:
            raise GeometryRefused(NOT_PARSEABLE, "JSON nested too deeply", field=field) from exc
    if not isinstance(value, dict):
        raise GeometryRefused(
            NOT_PARSEABLE, f"expected a GeoJSON object, got a JSON {type(value).__name__}", field=field
        )
    return value


def check_crs(data: dict[str, Any], *, field: str) -> None:
    """UNSUPPORTED_CRS unless a `crs` member (absent in RFC 7946) names lon/lat WGS 84."""
    if "crs" not in data or data["crs"] is None:
        return
    crs = data["crs"]
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if isinstance(crs, dict) and crs.get("type") == "name" and isinstance(name, str):
        if name.strip().lower() in _LON_LAT_CRS:
            return
        said = name[:80]
    else:
        said = json.dumps(crs)[:80]
    raise GeometryRefused(
        UNSUPPORTED_CRS,
        f"crs {said} is not supported: coordinates must be longitude/latitude in WGS 84 (EPSG:4326, RFC "
        "7946); reproject the layer (e.g. QGIS Export → CRS EPSG:4326, or `ogr2ogr -t_srs EPSG:4326`) and "
        "drop the crs member",
        field=field,
    )


def _ring_array(ring: Any, *, field: str, part: int | None, index: int) -> np.ndarray[Any, Any]:
    """A ring's positions as an (n, 2) float array (altitudes dropped); NOT_PARSEABLE when it is not a list
    of positions of 2 or 3 numbers."""
    if not isinstance(ring, list):
        raise GeometryRefused(
            NOT_PARSEABLE,
            f"{_where(part, index)} is not an array of positions",
            field=field,
            position=(part or 0, index, None),
        )
    try:
        array = np.asarray(ring)
        # not dtype=float: numpy would read the string "-81.3" as a number, JSON does not; JSON's true and
        # false would pass as 1 and 0, so a numeric array is also checked for booleans
        if (
            array.dtype.kind in "iuf"
            and array.ndim == 2
            and 2 <= array.shape[1] <= 3
            and not any(type(n) is bool for position in ring for n in position)
        ):
            return array[:, :2].astype(np.float64)
        if array.size == 0:
            return np.empty((0, 2))
    except (ValueError, TypeError, OverflowError):
        pass
    # the slow path: positions of 2 and 3 numbers mixed (valid GeoJSON), or a bad one to name
    positions: list[tuple[float, float]] = []
    for i, position in enumerate(ring):
        ok = (
            isinstance(position, list)
            and 2 <= len(position) <= 3
            and all(isinstance(n, int | float) and not isinstance(n, bool) for n in position)
        )
        if not ok:
            raise GeometryRefused(
                NOT_PARSEABLE,
                f"{_where(part, index, i)} is {json.dumps(position)[:60]}, expected [longitude, latitude]",
                field=field,
                position=(part or 0, index, i),
            )
        try:
            positions.append((float(position[0]), float(position[1])))
        except OverflowError:
            raise GeometryRefused(
                COORDINATE_OUT_OF_RANGE,
                f"{_where(part, index, i)} has a number too large for a coordinate",
                field=field,
                position=(part or 0, index, i),
            ) from None
    return np.array(positions, dtype=np.float64).reshape(-1, 2)


def _rings(coordinates: Any, *, field: str, part: int | None) -> list[np.ndarray[Any, Any]]:
    if not isinstance(coordinates, list):
        what = "polygon" if part is None else f"part {part}"
        raise GeometryRefused(NOT_PARSEABLE, f"{what}: coordinates must be an array of rings", field=field)
    if not coordinates:
        what = "the polygon" if part is None else f"part {part}"
        raise GeometryRefused(
            TOO_FEW_POINTS, f"{what} has no ring: give at least its exterior ring", field=field
        )
    return [_ring_array(ring, field=field, part=part, index=i) for i, ring in enumerate(coordinates)]


def _check_range(
    rings: list[np.ndarray[Any, Any]], *, field: str, part: int | None, projected_hint: bool
) -> None:
    for r, ring in enumerate(rings):
        lon, lat = ring[:, 0], ring[:, 1]
        bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        if not bad.any():
            continue
        i = int(np.flatnonzero(bad)[0])
        x, y = float(lon[i]), float(lat[i])
        if not (math.isfinite(x) and math.isfinite(y)):
            fault = "is not a finite number"
        elif abs(x) > 180:
            fault = f"has longitude {x}, outside [-180, 180]"
        else:
            fault = f"has latitude {y}, outside [-90, 90]"
        hint = ""
        if projected_hint:
            hint = "; these look like projected coordinates (metres, e.g. EPSG:3857): reproject to EPSG:4326"
        elif math.isfinite(x) and math.isfinite(y) and abs(x) <= 90 and 90 < abs(y) <= 180:
            hint = "; GeoJSON is [longitude, latitude]: are the axes swapped?"
        raise GeometryRefused(
            COORDINATE_OUT_OF_RANGE,
            f"{_where(part, r, i)} [{x}, {y}] {fault}{hint}",
            field=field,
            position=(part or 0, r, i),
        )


def _check_rings(rings: list[np.ndarray[Any, Any]], *, field: str, part: int | None) -> None:
    for r, ring in enumerate(rings):
        if len(ring) < 4:
            raise GeometryRefused(
                TOO_FEW_POINTS,
                f"{_where(part, r)} has {len(ring)} position(s); a linear ring needs at least 4 (3 corners "
                "and the first repeated at the end, RFC 7946 §3.1.6)",
                field=field,
                position=(part or 0, r, None),
            )
        first, last = ring[0], ring[-1]
        distinct = len(np.unique(ring, axis=0))
        if np.array_equal(first, last) and distinct < 3:
            raise GeometryRefused(
                TOO_FEW_POINTS,
                f"{_where(part, r)} has {distinct} distinct position(s); a ring needs at least 3 corners",
                field=field,
                position=(part or 0, r, None),
            )
        if not np.array_equal(first, last):
            raise GeometryRefused(
                RING_NOT_CLOSED,
                f"{_where(part, r)} is not closed: its last position [{last[0]}, {last[1]}] differs from its "
                f"first [{first[0]}, {first[1]}]; repeat the first position at the end (RFC 7946 §3.1.6)",
                field=field,
                location=(float(first[0]), float(first[1])),
                position=(part or 0, r, len(ring) - 1),
            )


def _polygon(rings: list[np.ndarray[Any, Any]]) -> Polygon:
    return Polygon(rings[0], rings[1:])


def validity_fault(geom: BaseGeometry) -> tuple[str, str, tuple[float, float] | None] | None:
    """None for a valid geometry, else (code, reason with location, location [lon, lat])."""
    if shapely.is_valid(geom):
        return None
    explained = shapely.is_valid_reason(geom)
    found = _REASON.match(explained)
    if found is None:
        return INVALID_GEOMETRY, explained, None
    reason = found["reason"]
    location = (float(found["x"]), float(found["y"]))
    code = SELF_INTERSECTION if "self-intersection" in reason.lower() else INVALID_GEOMETRY
    return code, f"{reason} at [{location[0]:.6f}, {location[1]:.6f}]", location


def polygonal(value: Any, *, field: str = "geometry", repair: bool = False) -> Checked:
    """A GeoJSON Polygon or MultiPolygon (object or JSON text; lon/lat EPSG:4326; altitudes dropped) as a
    valid 2D MultiPolygon, or `GeometryRefused` (module docstring for the codes). With `repair`, a
    validity fault is repaired by `make_valid` and reported in `Checked.repair`."""
    data = load(value, field=field)
    check_crs(data, field=field)
    kind = data.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        if kind in _GEOJSON_TYPES:
            hint = "; send its `geometry` member" if kind == "Feature" else ""
            message = f"expected a GeoJSON Polygon or MultiPolygon, got a {kind}{hint}"
            raise GeometryRefused(WRONG_TYPE, message, field=field)
        if kind is None:
            message = 'not a GeoJSON geometry: no "type" member (expected "Polygon" or "MultiPolygon")'
            raise GeometryRefused(NOT_PARSEABLE, message, field=field)
        raise GeometryRefused(
            WRONG_TYPE,
            f"type {json.dumps(kind)[:40]} is not a GeoJSON type; expected Polygon or MultiPolygon",
            field=field,
        )
    if "coordinates" not in data:
        raise GeometryRefused(NOT_PARSEABLE, f"the {kind} has no coordinates member", field=field)
    coordinates = data["coordinates"]
    if kind == "Polygon":
        parts = [_rings(coordinates, field=field, part=None)]
        numbered: list[int | None] = [None]
    else:
        if not isinstance(coordinates, list):
            message = "MultiPolygon coordinates must be an array of polygons"
            raise GeometryRefused(NOT_PARSEABLE, message, field=field)
        if not coordinates:
            raise GeometryRefused(TOO_FEW_POINTS, "the MultiPolygon has no polygon", field=field)
        parts = [_rings(c, field=field, part=p) for p, c in enumerate(coordinates)]
        numbered = list(range(len(parts)))
    # every coordinate far outside degrees: a projected layer (one stray position is a typo, not this)
    every = np.concatenate([ring for rings in parts for ring in rings]) if parts else np.empty((0, 2))
    projected = bool(len(every)) and bool(np.all(np.abs(every[np.isfinite(every)]) > 1000))
    for rings, p in zip(parts, numbered, strict=True):
        _check_range(rings, field=field, part=p, projected_hint=projected)
    for rings, p in zip(parts, numbered, strict=True):
        _check_rings(rings, field=field, part=p)
    geom = MultiPolygon([_polygon(rings) for rings in parts])
    fault = validity_fault(geom)
    if fault is None:
        return Checked(geom)
    code, reason, location = fault
    if not repair:
        hint = " (or send repair: true to have it repaired and see what changed)"
        raise GeometryRefused(code, f"invalid geometry: {reason}{hint}", field=field, location=location)
    return _repaired(geom, code, reason, location, field=field)


def _repaired(
    geom: MultiPolygon, code: str, reason: str, location: tuple[float, float] | None, *, field: str
) -> Checked:
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    polygons = [g for g in shapely.get_parts(fixed) if isinstance(g, Polygon) and not g.is_empty]
    flat = [q for g in polygons for q in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    if not flat:
        raise GeometryRefused(
            INVALID_GEOMETRY,
            f"invalid geometry: {reason}, and nothing polygonal remains after repair: redraw it",
            field=field,
            location=location,
        )
    result = MultiPolygon(flat)
    return Checked(
        result,
        Repair(
            fault=code,
            reason=reason,
            location=location,
            area_before_m2=area_m2(geom, signed_rings=True),
            area_after_m2=area_m2(result),
            parts_before=len(geom.geoms),
            parts_after=len(result.geoms),
            vertices_before=shapely.get_num_coordinates(geom),
            vertices_after=shapely.get_num_coordinates(result),
        ),
    )


def _ring_area_m2(coords: np.ndarray[Any, Any]) -> float:
    """Signed area of a closed lon/lat ring on the authalic sphere (counter-clockwise positive)."""
    lon = np.radians(coords[:, 0])
    lat = np.radians(coords[:, 1])
    # Chamberlain & Duquette (2007): Σ (λ₂ − λ₁)(2 + sin φ₁ + sin φ₂) · R² / 2
    total = np.sum((lon[1:] - lon[:-1]) * (2 + np.sin(lat[:-1]) + np.sin(lat[1:])))
    return float(-total * AUTHALIC_RADIUS_M**2 / 2)


def area_m2(geom: BaseGeometry, *, signed_rings: bool = False) -> float:
    """Area of a (Multi)Polygon in m² on the authalic sphere. `signed_rings`: each ring counts with its
    orientation (a figure-eight's lobes cancel, as the shoelace formula has it); else exterior minus
    holes."""
    total = 0.0
    polygons = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    for polygon in polygons:
        exterior = _ring_area_m2(np.asarray(polygon.exterior.coords))
        holes = [_ring_area_m2(np.asarray(r.coords)) for r in polygon.interiors]
        if signed_rings:
            total += exterior + sum(holes)
        else:
            total += abs(exterior) - sum(abs(h) for h in holes)
    return abs(total)


def line(value: Any, *, field: str) -> shapely.LineString:
    """A GeoJSON LineString (lon/lat, ≥ 2 positions in range) as shapely; `GeometryRefused` otherwise."""
    data = load(value, field=field)
    check_crs(data, field=field)
    if data.get("type") != "LineString":
        got = data.get("type")
        raise GeometryRefused(
            WRONG_TYPE, f"expected a GeoJSON LineString, got {json.dumps(got)[:40]}", field=field
        )
    coords = _ring_array(data.get("coordinates"), field=field, part=None, index=0)
    lon, lat = coords[:, 0], coords[:, 1]
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)))
    if len(bad):
        i = int(bad[0])
        raise GeometryRefused(
            COORDINATE_OUT_OF_RANGE,
            f"position {i} [{lon[i]}, {lat[i]}] is outside longitude [-180, 180], latitude [-90, 90]",
            field=field,
            position=(0, 0, i),
        )
    if len(coords) < 2:
        raise GeometryRefused(
            TOO_FEW_POINTS, f"the line has {len(coords)} position(s); it needs at least 2", field=field
        )
    return shapely.LineString(coords)


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A shapely geometry as an RFC 7946 GeoJSON object (lon/lat)."""
    result: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return result
