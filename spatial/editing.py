"""Geometry of territory edits: the union of a merge, the two sides of a split (EPSG:4326, shapely).

Pure functions; the service layer (`resolvers.territories`) decides what is written.
"""

from __future__ import annotations

from typing import Literal

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

Side = Literal["left", "right"]


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of `geom` as one MultiPolygon (lines and points of a collection dropped)."""
    polygons: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(part.geoms)
    return MultiPolygon(polygons)


def union(geoms: list[BaseGeometry]) -> MultiPolygon:
    """The union of polygons as a valid MultiPolygon (shared borders dissolved)."""
    merged = shapely.union_all(geoms)
    if not merged.is_valid:
        merged = shapely.make_valid(merged, method="structure", keep_collapsed=False)
    return as_multipolygon(merged)


def side_of(line: LineString, point: Point) -> Side:
    """Which side of `line` (walked from its first to its last position) `point` lies on, by the
    segment nearest to it."""
    at = line.project(point)
    step = max(line.length * 1e-6, 1e-9)
    start, end = (at, at + step) if at + step <= line.length else (at - step, at)
    a, b = line.interpolate(start), line.interpolate(end)
    cross = (b.x - a.x) * (point.y - a.y) - (b.y - a.y) * (point.x - a.x)
    return "left" if cross > 0 else "right"


def split_by_line(geom: MultiPolygon, line: LineString) -> tuple[MultiPolygon, MultiPolygon] | None:
    """The pieces of `geom` left and right of `line` (each a MultiPolygon), or None when the line does not
    cut it into pieces on both sides (it must cross the territory from border to border)."""
    pieces = [p for p in split(geom, line).geoms if isinstance(p, Polygon) and not p.is_empty]
    sides: dict[Side, list[Polygon]] = {"left": [], "right": []}
    for piece in pieces:
        sides[side_of(line, piece.representative_point())].append(piece)
    if not sides["left"] or not sides["right"]:
        return None
    return union(list(sides["left"])), union(list(sides["right"]))
