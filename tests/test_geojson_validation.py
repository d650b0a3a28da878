"""GeoJSON polygon input (RFC 7946): every refusal with a real invalid polygon, its code and its location
(spatial/validation.py, issue 9 §1). Pure Python: no database."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely

from spatial import validation as v
from spatial.validation import GeometryRefused, polygonal

# A square of about 11 × 11 km in Orlando, counter-clockwise, closed.
SQUARE = [[-81.40, 28.50], [-81.30, 28.50], [-81.30, 28.60], [-81.40, 28.60], [-81.40, 28.50]]


def poly(*rings: list[list[float]], **extra: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings), **extra}


def refused(value: Any, **kwargs: Any) -> GeometryRefused:
    with pytest.raises(GeometryRefused) as caught:
        polygonal(value, **kwargs)
    return caught.value


def test_a_valid_polygon_becomes_a_one_part_multipolygon() -> None:
    checked = polygonal(poly(SQUARE))
    assert checked.geometry.geom_type == "MultiPolygon" and len(checked.geometry.geoms) == 1
    assert checked.repair is None
    assert checked.geometry.bounds == (-81.40, 28.50, -81.30, 28.60)


def test_json_text_and_altitudes_are_accepted_altitudes_dropped() -> None:
    with_z = [[x, y, 12.5] for x, y in SQUARE]
    checked = polygonal(json.dumps({"type": "MultiPolygon", "coordinates": [[with_z]]}))
    assert not checked.geometry.has_z


@pytest.mark.parametrize(
    "value",
    ['{"type": "Polygon", "coordinates": [[[-81.4, 28.5], ', "[1, 2]", '"Polygon"', "{not json}"],
)
def test_not_parseable(value: str) -> None:
    assert refused(value).code == v.NOT_PARSEABLE


def test_a_position_that_is_not_two_numbers_is_named() -> None:
    ring: list[Any] = [*SQUARE[:2], ["-81.3", 28.6], *SQUARE[3:]]
    error = refused(poly(ring))
    assert error.code == v.NOT_PARSEABLE
    assert error.position == (0, 0, 2) and "ring 0 (exterior), position 2" in str(error)


def test_no_type_member_is_not_parseable() -> None:
    assert refused({"coordinates": [SQUARE]}).code == v.NOT_PARSEABLE


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({"type": "Point", "coordinates": [-81.4, 28.5]}, "got a Point"),
        ({"type": "LineString", "coordinates": SQUARE}, "got a LineString"),
        ({"type": "Feature", "geometry": poly(SQUARE), "properties": {}}, "send its `geometry` member"),
        ({"type": "GeometryCollection", "geometries": [poly(SQUARE)]}, "got a GeometryCollection"),
        ({"type": "Polygonn", "coordinates": [SQUARE]}, "is not a GeoJSON type"),
    ],
)
def test_wrong_type(value: dict[str, Any], said: str) -> None:
    error = refused(value)
    assert error.code == v.WRONG_TYPE and said in str(error)


def test_longitude_200_names_the_position() -> None:
    ring = [*SQUARE[:2], [200.0, 28.6], *SQUARE[3:]]
    error = refused({"type": "MultiPolygon", "coordinates": [[SQUARE], [ring]]})
    assert error.code == v.COORDINATE_OUT_OF_RANGE
    assert error.position == (1, 0, 2)
    assert "part 1, ring 0 (exterior), position 2 [200.0, 28.6] has longitude 200.0" in str(error)


def test_swapped_axes_get_a_hint() -> None:
    anchorage = [[-149.9, 61.2], [-149.8, 61.2], [-149.8, 61.3], [-149.9, 61.2]]
    error = refused(poly([[lat, lon] for lon, lat in anchorage]))
    assert error.code == v.COORDINATE_OUT_OF_RANGE and "axes swapped" in str(error)


def test_web_mercator_metres_without_a_crs_get_a_reprojection_hint() -> None:
    metres = [
        [-9061000.0, 3317000.0],
        [-9050000.0, 3317000.0],
        [-9050000.0, 3330000.0],
        [-9061000.0, 3317000.0],
    ]
    error = refused(poly(metres))
    assert error.code == v.COORDINATE_OUT_OF_RANGE and "EPSG:3857" in str(error)


def test_a_crs_member_of_epsg_3857_is_unsupported() -> None:
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    error = refused(poly(SQUARE, crs=crs))
    assert error.code == v.UNSUPPORTED_CRS
    assert "EPSG::3857" in str(error) and "EPSG:4326" in str(error)


@pytest.mark.parametrize(
    "name", ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
)
def test_a_crs_member_naming_lon_lat_wgs84_is_accepted(name: str) -> None:
    assert polygonal(poly(SQUARE, crs={"type": "name", "properties": {"name": name}})).repair is None


def test_a_near_miss_crs_is_not_taken_for_4326() -> None:
    crs = {"type": "name", "properties": {"name": "EPSG:43260"}}
    assert refused(poly(SQUARE, crs=crs)).code == v.UNSUPPORTED_CRS


def test_a_three_point_ring_is_too_few_points() -> None:
    error = refused(poly([SQUARE[0], SQUARE[1], SQUARE[0]]))
    assert error.code == v.TOO_FEW_POINTS and "has 3 position(s)" in str(error)


def test_a_hole_of_too_few_points_is_named() -> None:
    hole = [[-81.36, 28.54], [-81.34, 28.54], [-81.36, 28.54]]
    error = refused(poly(SQUARE, hole))
    assert error.code == v.TOO_FEW_POINTS and "ring 1 (hole)" in str(error)


def test_empty_polygons_are_too_few_points() -> None:
    assert refused(poly()).code == v.TOO_FEW_POINTS
    assert refused({"type": "MultiPolygon", "coordinates": []}).code == v.TOO_FEW_POINTS


def test_an_unclosed_ring() -> None:
    error = refused(poly(SQUARE[:-1]))
    assert error.code == v.RING_NOT_CLOSED
    assert error.location == (-81.40, 28.50)
    assert "last position [-81.4, 28.6] differs from its first [-81.4, 28.5]" in str(error)


def test_an_unclosed_ring_is_not_repaired() -> None:
    assert refused(poly(SQUARE[:-1]), repair=True).code == v.RING_NOT_CLOSED


BOWTIE = [[-81.40, 28.50], [-81.30, 28.60], [-81.30, 28.50], [-81.40, 28.60], [-81.40, 28.50]]


def test_a_bowtie_is_a_self_intersection_at_its_crossing() -> None:
    error = refused(poly(BOWTIE))
    assert error.code == v.SELF_INTERSECTION
    assert error.location is not None
    assert error.location == pytest.approx((-81.35, 28.55))
    assert "[-81.350000, 28.550000]" in str(error) and "repair: true" in str(error)


def test_a_bowtie_is_repaired_into_two_triangles_on_request() -> None:
    checked = polygonal(poly(BOWTIE), repair=True)
    assert checked.geometry.is_valid and len(checked.geometry.geoms) == 2
    repair = checked.repair
    assert repair is not None
    assert repair.fault == v.SELF_INTERSECTION
    assert (repair.parts_before, repair.parts_after) == (1, 2)
    # the lobes of a figure eight cancel in the shoelace sum; the repaired triangles add up
    assert repair.area_before_m2 < 1e6
    square = v.area_m2(polygonal(poly(SQUARE)).geometry)
    assert repair.area_after_m2 == pytest.approx(square / 2, rel=1e-3)
    assert "1 → 2 part(s)" in repair.describe()


def test_a_spike_is_a_self_intersection_and_repair_drops_it() -> None:
    spike = [*SQUARE[:2], [-81.30, 28.60], [-81.35, 28.60], [-81.35, 28.70], [-81.35, 28.60], *SQUARE[3:]]
    assert refused(poly(spike)).code == v.SELF_INTERSECTION
    checked = polygonal(poly(spike), repair=True)
    assert checked.repair is not None and checked.geometry.bounds[3] == pytest.approx(28.60)


def test_a_hole_outside_its_shell_is_invalid_geometry() -> None:
    hole = [[-81.0, 28.0], [-80.9, 28.0], [-80.9, 28.1], [-81.0, 28.0]]
    error = refused(poly(SQUARE, hole))
    assert error.code == v.INVALID_GEOMETRY
    assert "Hole lies outside shell" in str(error) and error.location == (-81.0, 28.0)


def test_overlapping_parts_of_a_multipolygon_are_invalid_and_repair_unites_them() -> None:
    shifted = [[x + 0.05, y] for x, y in SQUARE]
    value = {"type": "MultiPolygon", "coordinates": [[SQUARE], [shifted]]}
    assert refused(value).code in (v.SELF_INTERSECTION, v.INVALID_GEOMETRY)
    checked = polygonal(value, repair=True)
    assert checked.repair is not None and checked.repair.parts_after == 1
    assert checked.geometry.bounds == pytest.approx((-81.40, 28.50, -81.25, 28.60))


def test_a_collapsed_ring_is_refused_even_with_repair() -> None:
    flat = [[-81.40, 28.50], [-81.30, 28.50], [-81.20, 28.50], [-81.40, 28.50]]
    assert refused(poly(flat)).code in (v.SELF_INTERSECTION, v.INVALID_GEOMETRY)
    error = refused(poly(flat), repair=True)
    assert error.code == v.INVALID_GEOMETRY and "nothing polygonal remains" in str(error)


def test_the_field_is_named_in_the_message() -> None:
    error = refused(poly(SQUARE[:-1]), field="features[3].geometry")
    assert error.field == "features[3].geometry" and str(error).startswith("features[3].geometry: ")


def test_spherical_area_is_close_to_the_geodesic_area() -> None:
    # PostGIS ST_Area(geography) of this square: 108,454,348 m² (WGS 84 ellipsoid)
    assert v.area_m2(polygonal(poly(SQUARE)).geometry) == pytest.approx(108_454_348, rel=5e-3)


def line_error(value: dict[str, Any]) -> str:
    with pytest.raises(GeometryRefused) as caught:
        v.line(value, field="line")
    return caught.value.code


def test_a_line_for_splitting() -> None:
    line = v.line({"type": "LineString", "coordinates": [[-81.35, 28.4], [-81.35, 28.7]]}, field="line")
    assert isinstance(line, shapely.LineString)
    assert line_error({"type": "LineString", "coordinates": [[-81.35, 28.4]]}) == v.TOO_FEW_POINTS
    assert line_error({"type": "Polygon", "coordinates": [SQUARE]}) == v.WRONG_TYPE
    assert line_error({"type": "LineString", "coordinates": [[-81.35, 95], [0, 0]]}) == (
        v.COORDINATE_OUT_OF_RANGE
    )


def test_positions_with_and_without_altitude_may_mix() -> None:
    mixed = [SQUARE[0], [*SQUARE[1], 30.0], *SQUARE[2:]]
    assert polygonal(poly(mixed)).geometry.bounds == (-81.40, 28.50, -81.30, 28.60)


def test_a_boolean_is_not_a_coordinate() -> None:
    error = refused(poly([SQUARE[0], [True, 28.5], *SQUARE[2:]]))
    assert error.code == "NOT_PARSEABLE" and "position 1 is [true, 28.5]" in str(error)


def test_a_ring_of_two_distinct_positions_has_too_few_points() -> None:
    error = refused(poly([[0, 0], [1, 1], [0, 0], [0, 0]]))
    assert error.code == "TOO_FEW_POINTS" and "2 distinct" in str(error)


def test_a_number_too_large_for_a_float_names_its_position() -> None:
    error = refused(poly([SQUARE[0], [10**400, 28.5], *SQUARE[2:]]))
    assert error.code == "COORDINATE_OUT_OF_RANGE" and "position 1" in str(error)
