"""SQL of the GIS reads (issue 9 §3): GeoJSON exports, Mapbox vector tiles, OGC API – Features items.

Every function runs in a session of the request's door, i.e. as the application role with the caller
bound: territory layers, territories and US states are company geography (every signed-in caller),
sites and their assignments follow the caller's row scope (migration 0008, docs/security.md).

Geometry is stored in EPSG:4326. GeoJSON leaves the database as RFC 7946 text written by PostgreSQL
(`ST_AsGeoJSON`, lon/lat, `precision` decimal places), one feature per row, so an export is streamed and
never held whole in memory. Tiles are `ST_AsMVT` blobs in Web Mercator (EPSG:3857) tile space, extent 4096,
buffer 64. "As of" an instant `T`: territories from the `territory_version` rows in force at `T`
(`valid_from <= T < valid_to`), site assignments from the `site_territory_assignment` rows in force at `T`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories.sites import bbox_envelopes

EXTENT = 4096  # MVT tile extent (the vector tile spec's usual value)
BUFFER = 64  # pixels of geometry kept beyond the tile edge, so strokes and labels do not break at seams

Box = tuple[float, float, float, float]  # minLon, minLat, maxLon, maxLat (EPSG:4326)

# current territories: a retired one (migration 0009) stays in the table, without parts, sites or an open version
_CURRENT = "t.retired_at IS NULL"


@dataclass(frozen=True, slots=True)
class Layer:
    id: int
    code: str
    name: str
    kind: str
    description: str | None


@dataclass(frozen=True, slots=True)
class LayerExtent:
    """The bbox (EPSG:4326) of a layer's current territories and the first instant of its history (None:
    since the beginning of the record, '-infinity')."""

    bbox: Box | None
    since: dt.datetime | None


async def layers(session: AsyncSession) -> list[Layer]:
    rows = await session.execute(
        text("SELECT id, code, name, kind, description FROM territory_layer ORDER BY code")
    )
    return [Layer(*row) for row in rows.all()]


async def layer_by_code(session: AsyncSession, code: str) -> Layer | None:
    row = (
        await session.execute(
            text("SELECT id, code, name, kind, description FROM territory_layer WHERE code = :code"),
            {"code": code},
        )
    ).one_or_none()
    return Layer(*row) if row else None


async def layer_extent(session: AsyncSession, layer_id: int) -> LayerExtent:
    row = (
        await session.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e),"
                " (SELECT CASE WHEN isfinite(min(v.valid_from)) THEN min(v.valid_from) END"
                "  FROM territory_version v JOIN territory t ON t.id = v.territory_id WHERE t.layer_id = :layer)"
                f" FROM (SELECT ST_Extent(t.geom)::geometry AS e FROM territory t WHERE t.layer_id = :layer AND {_CURRENT}) x"
            ),
            {"layer": layer_id},
        )
    ).one()
    bbox = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    return LayerExtent(bbox, row[4])


async def sites_extent(session: AsyncSession) -> Box | None:
    """The bbox of the sites the caller sees."""
    row = (
        await session.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(location)::geometry AS e FROM customer_site) x"
            )
        )
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


async def layer_fingerprint(session: AsyncSession, layer_id: int) -> str:
    """A digest that changes whenever a territory of the layer is created, edited, retired or deleted: the
    count, the sums of the ids and versions, and the latest transaction that changed one (`changed_xact`,
    set by the trigger, so no writer can keep it; a delete and an insert in one transaction change the sum
    of the ids)."""
    row = (
        await session.execute(
            text(
                "SELECT count(*), coalesce(sum(id), 0), coalesce(sum(version), 0), coalesce(max(changed_xact), 0)"
                " FROM territory WHERE layer_id = :layer"
            ),
            {"layer": layer_id},
        )
    ).one()
    return f"{layer_id}:{row[0]}:{row[1]}:{row[2]}:{row[3]}"


async def scope_fingerprint(session: AsyncSession) -> str:
    """A digest of what decides the caller's row scope: its user id, roles, explicit site links and
    managed territories (the rows of `app_user_role`, `app_user_site`, `app_user_territory` it may read)."""
    row = (
        await session.execute(
            text(
                "SELECT towne_user_id(),"
                " (SELECT string_agg(role, ',' ORDER BY role) FROM app_user_role WHERE user_id = towne_user_id()),"
                " (SELECT md5(string_agg(site_id::text, ',' ORDER BY site_id)) FROM app_user_site"
                "  WHERE user_id = towne_user_id()),"
                " (SELECT string_agg(territory_id::text, ',' ORDER BY territory_id) FROM app_user_territory"
                "  WHERE user_id = towne_user_id())"
            )
        )
    ).one()
    return hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:24]


# ---- GeoJSON ------------------------------------------------------------------------------------------------


def _geometry(column: str, precision: int, simplify: float) -> str:
    """`ST_AsGeoJSON` of `column`, simplified first when `simplify` > 0 (degrees; topology of each polygon
    kept, shared borders between neighbours are simplified independently)."""
    geom = f"ST_SimplifyPreserveTopology({column}, :simplify)" if simplify > 0 else column
    return f"coalesce(ST_AsGeoJSON({geom}, {int(precision)}), 'null')"


def _feature(id_sql: str, geometry_sql: str, properties_sql: str) -> str:
    return (
        """'{"type":"Feature","id":' || to_json("""
        + id_sql
        + """)::text || ',"geometry":' || """
        + geometry_sql
        + """ || ',"properties":' || ("""
        + properties_sql
        + """)::text || '}'"""
    )


def _territory_source(as_of: dt.datetime | None) -> tuple[str, str]:
    """(FROM … WHERE of a layer's territories now or at `as_of`, its geometry column); the columns are
    `code`, `name`, `version`, `area_km2`, `geom`."""
    if as_of is None:
        return (
            "(SELECT t.id, t.code, t.name, t.version, t.area_km2, t.geom FROM territory t"
            f" WHERE t.layer_id = :layer AND {_CURRENT}) f",
            "f.geom",
        )
    return (
        "(SELECT t.id, v.code, v.name, v.version, ST_Area(geography(v.geom)) / 1e6 AS area_km2, v.geom"
        " FROM territory_version v JOIN territory t ON t.id = v.territory_id"
        " WHERE t.layer_id = :layer AND v.valid_from <= :as_of AND (v.valid_to IS NULL OR v.valid_to > :as_of)) f",
        "f.geom",
    )


def _territory_feature(geom: str, precision: int, simplify: float) -> str:
    return _feature(
        "f.code",
        _geometry(geom, precision, simplify),
        "json_build_object('code', f.code, 'name', f.name, 'version', f.version, 'areaKm2', f.area_km2)",
    )


def _bbox_sql(column: str, bbox: Box | None, params: dict[str, Any]) -> str:
    if bbox is None:
        return "TRUE"
    boxes = []
    for i, box in enumerate(bbox_envelopes(bbox)):
        params.update({f"b{i}x0": box[0], f"b{i}y0": box[1], f"b{i}x1": box[2], f"b{i}y1": box[3]})
        boxes.append(f"ST_Intersects({column}, ST_MakeEnvelope(:b{i}x0, :b{i}y0, :b{i}x1, :b{i}y1, 4326))")
    return "(" + " OR ".join(boxes) + ")"


async def _stream_text(
    session: AsyncSession, sql: str, params: dict[str, Any], batch: int
) -> AsyncIterator[list[str]]:
    result = await session.stream(text(sql), params)
    async for rows in result.partitions(batch):
        yield [row[0] for row in rows]


def stream_territory_features(
    session: AsyncSession,
    *,
    layer_id: int,
    precision: int,
    simplify: float,
    as_of: dt.datetime | None,
    batch: int = 50,
) -> AsyncIterator[list[str]]:
    """The layer's territories now (or in force at `as_of`) as RFC 7946 Feature texts, ordered by code, in
    batches (a server-side cursor): `id` = code, properties `code`, `name`, `version`, `areaKm2` (geodesic
    km², of the geometry as stored, not as simplified)."""
    source, geom = _territory_source(as_of)
    sql = f"SELECT {_territory_feature(geom, precision, simplify)} FROM {source} ORDER BY f.code"
    return _stream_text(session, sql, {"layer": layer_id, "as_of": as_of, "simplify": simplify}, batch)


def _site_source(as_of: dt.datetime | None) -> str:
    """Sites with their territory (code, name, as of `as_of` when given) in layer `:layer`."""
    if as_of is None:
        return (
            "customer_site s"
            " LEFT JOIN site_territory_assignment a ON a.site_id = s.id AND a.layer_id = :layer"
            "  AND a.valid_to IS NULL"
            " LEFT JOIN LATERAL (SELECT t.code, t.name FROM territory t WHERE t.id = a.territory_id) tt ON TRUE"
        )
    return (
        "customer_site s"
        " LEFT JOIN site_territory_assignment a ON a.site_id = s.id AND a.layer_id = :layer"
        "  AND a.valid_from <= :as_of AND (a.valid_to IS NULL OR a.valid_to > :as_of)"
        # the territory's code and name then (a renamed territory shows its old name)
        " LEFT JOIN LATERAL (SELECT coalesce(v.code, t.code) AS code, coalesce(v.name, t.name) AS name"
        "  FROM territory t LEFT JOIN territory_version v ON v.territory_id = t.id AND v.valid_from <= :as_of"
        "   AND (v.valid_to IS NULL OR v.valid_to > :as_of)"
        "  WHERE t.id = a.territory_id) tt ON TRUE"
    )


_SITE_PROPERTIES = (
    "json_build_object('siteNumber', s.site_number, 'name', s.name,"
    " 'territoryCode', tt.code, 'territoryName', tt.name)"
)


def stream_site_features(
    session: AsyncSession, *, layer_id: int, precision: int, as_of: dt.datetime | None, batch: int = 500
) -> AsyncIterator[list[str]]:
    """The sites the caller sees as Point Feature texts, ordered by site number: `id` = siteNumber,
    properties `siteNumber`, `name`, `territoryCode`, `territoryName` (their territory in the layer now or
    at `as_of`; null when unassigned). A site without a location has a null geometry."""
    sql = (
        f"SELECT {_feature('s.site_number', _geometry('s.location', precision, 0), _SITE_PROPERTIES)}"
        f" FROM {_site_source(as_of)} ORDER BY s.site_number"
    )
    return _stream_text(session, sql, {"layer": layer_id, "as_of": as_of}, batch)


# ---- vector tiles -------------------------------------------------------------------------------------------

_TILE_ENVELOPE = (
    "(SELECT ST_TileEnvelope(:z, :x, :y) AS tile,"
    f" ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER}.0 / {EXTENT}), 4326) AS probe) env"
)


def _mvt_geom(geom_3857: str) -> str:
    return f"ST_AsMVTGeom({geom_3857}, env.tile, {EXTENT}, {BUFFER}, true)"


async def _tile(session: AsyncSession, sql: str, params: dict[str, Any]) -> bytes:
    value = (await session.execute(text(sql), params)).scalar_one()
    return bytes(value or b"")


async def territory_tile(
    session: AsyncSession, *, layer: Layer, z: int, x: int, y: int, as_of: dt.datetime | None
) -> bytes:
    """MVT tile z/x/y of a layer: one MVT layer named by the layer code, one polygon feature per territory
    touching the tile (attributes `code`, `name`, `version`).

    Now: from `territory_part` (the `ST_Subdivide` pieces, found by their GiST index and cut to the tile
    each), the pieces of one territory merged again in tile space, so no seam of the subdivision shows
    in an outline. `ST_Union` orients rings the other way round from `ST_AsMVTGeom`, hence the
    `ST_ForcePolygonCCW`. As of an instant: from the `territory_version` geometries then, cut by the
    tile's box first so a large polygon is not transformed whole."""
    params: dict[str, Any] = {"layer": layer.id, "z": z, "x": x, "y": y, "as_of": as_of, "name": layer.code}
    if as_of is None:
        sql = (
            "WITH pieces AS ("
            f" SELECT t.id, t.code, t.name, t.version, {_mvt_geom('ST_Transform(p.geom, 3857)')} AS geom"
            f" FROM territory_part p JOIN territory t ON t.id = p.territory_id, {_TILE_ENVELOPE}"
            f" WHERE p.layer_id = :layer AND p.geom && env.probe AND {_CURRENT}),"
            " features AS (SELECT code, name, version, ST_ForcePolygonCCW(ST_Union(geom)) AS geom FROM pieces"
            "  WHERE geom IS NOT NULL GROUP BY id, code, name, version ORDER BY code)"
            f" SELECT ST_AsMVT(features, :name, {EXTENT}, 'geom') FROM features"
        )
    else:
        sql = (
            "WITH features AS ("
            " SELECT v.code, v.name, v.version,"
            f" {_mvt_geom('ST_Transform(ST_ClipByBox2D(v.geom, env.probe), 3857)')} AS geom"
            f" FROM territory_version v JOIN territory t ON t.id = v.territory_id, {_TILE_ENVELOPE}"
            " WHERE t.layer_id = :layer AND v.valid_from <= :as_of AND (v.valid_to IS NULL OR v.valid_to > :as_of)"
            " AND v.geom && env.probe ORDER BY v.code)"
            f" SELECT ST_AsMVT(features, :name, {EXTENT}, 'geom') FROM features WHERE geom IS NOT NULL"
        )
    return await _tile(session, sql, params)


async def site_tile(
    session: AsyncSession, *, layer: Layer, z: int, x: int, y: int, as_of: dt.datetime | None
) -> bytes:
    """MVT tile z/x/y of the sites the caller sees: MVT layer `sites`, one point per site with attributes
    `siteNumber`, `name`, `territoryCode`, `territoryName` (its territory in `layer`, now or at `as_of`)."""
    sql = (
        'WITH features AS (SELECT s.site_number AS "siteNumber", s.name, tt.code AS "territoryCode",'
        f' tt.name AS "territoryName", {_mvt_geom("ST_Transform(s.location, 3857)")} AS geom'
        f" FROM {_site_source(as_of)} CROSS JOIN {_TILE_ENVELOPE}"
        " WHERE s.location && env.probe ORDER BY s.site_number)"
        f" SELECT ST_AsMVT(features, 'sites', {EXTENT}, 'geom') FROM features WHERE geom IS NOT NULL"
    )
    return await _tile(session, sql, {"layer": layer.id, "z": z, "x": x, "y": y, "as_of": as_of})


async def states_fingerprint(session: AsyncSession) -> str:
    row = (
        await session.execute(text("SELECT count(*), md5(string_agg(code, ',' ORDER BY code)) FROM us_state"))
    ).one()
    return f"states:{row[0]}:{row[1]}"


async def states_tile(session: AsyncSession, *, z: int, x: int, y: int) -> bytes:
    """MVT tile z/x/y of the US states basemap: MVT layer `states`, attributes `code` (USPS), `name`,
    `fips`; each state cut by the tile's box in EPSG:4326 before it is transformed."""
    sql = (
        "WITH features AS (SELECT s.code, s.name, s.fips,"
        f" {_mvt_geom('ST_Transform(ST_ClipByBox2D(s.geom, env.probe), 3857)')} AS geom"
        f" FROM us_state s, {_TILE_ENVELOPE} WHERE s.geom && env.probe ORDER BY s.code)"
        f" SELECT ST_AsMVT(features, 'states', {EXTENT}, 'geom') FROM features WHERE geom IS NOT NULL"
    )
    return await _tile(session, sql, {"z": z, "x": x, "y": y})


# ---- OGC API – Features items ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemsPage:
    """Feature texts of one page and the number of features matching the filter."""

    features: list[str]
    matched: int


async def territory_items(
    session: AsyncSession,
    *,
    layer_id: int,
    bbox: Box | None,
    as_of: dt.datetime | None,
    limit: int,
    offset: int,
    code: str | None = None,
    precision: int = 7,
) -> ItemsPage:
    """A page of a layer's territories (now or at `as_of`) ordered by code, those intersecting `bbox` (a
    box across the antimeridian too); `code`: that one only."""
    params: dict[str, Any] = {
        "layer": layer_id,
        "as_of": as_of,
        "limit": limit,
        "offset": offset,
        "code": code,
    }
    source, geom = _territory_source(as_of)
    where = _bbox_sql(geom, bbox, params) + (" AND f.code = :code" if code is not None else "")
    return await _page(session, f"{_territory_feature(geom, precision, 0)}", source, where, "f.code", params)


def _sites_of_every_layer(as_of: dt.datetime | None) -> str:
    """A JSON object {layer code: territory code} of the site `s` in every layer, now or at `as_of`."""
    period = (
        "a.valid_to IS NULL"
        if as_of is None
        else "a.valid_from <= :as_of AND (a.valid_to IS NULL OR a.valid_to > :as_of)"
    )
    return (
        "(SELECT coalesce(jsonb_object_agg(l.code, t.code), '{}') FROM territory_layer l"
        f" LEFT JOIN site_territory_assignment a ON a.site_id = s.id AND a.layer_id = l.id AND {period}"
        " LEFT JOIN territory t ON t.id = a.territory_id)"
    )


async def site_items(
    session: AsyncSession,
    *,
    bbox: Box | None,
    as_of: dt.datetime | None,
    limit: int,
    offset: int,
    site_number: str | None = None,
    precision: int = 7,
) -> ItemsPage:
    """A page of the sites the caller sees, ordered by site number, those inside `bbox`: properties
    `siteNumber`, `name`, `city`, `state` and, per territory layer, its code → the site's territory code
    there (now or at `as_of`; null when unassigned)."""
    params: dict[str, Any] = {"as_of": as_of, "limit": limit, "offset": offset, "number": site_number}
    properties = (
        "jsonb_build_object('siteNumber', s.site_number, 'name', s.name, 'city', s.city, 'state', s.state)"
        f" || {_sites_of_every_layer(as_of)}"
    )
    feature = _feature("s.site_number", _geometry("s.location", precision, 0), properties)
    where = _bbox_sql("s.location", bbox, params) + (
        " AND s.site_number = :number" if site_number is not None else ""
    )
    return await _page(session, feature, "customer_site s", where, "s.site_number", params)


async def _page(
    session: AsyncSession, feature: str, source: str, where: str, order: str, params: dict[str, Any]
) -> ItemsPage:
    matched = (
        await session.execute(text(f"SELECT count(*) FROM {source} WHERE {where}"), params)
    ).scalar_one()
    rows = await session.execute(
        text(f"SELECT {feature} FROM {source} WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset"),
        params,
    )
    return ItemsPage([row[0] for row in rows.all()], int(matched))


__all__: Sequence[str] = (
    "EXTENT",
    "ItemsPage",
    "Layer",
    "LayerExtent",
    "layer_by_code",
    "layer_extent",
    "layer_fingerprint",
    "layers",
    "scope_fingerprint",
    "site_items",
    "site_tile",
    "sites_extent",
    "states_fingerprint",
    "states_tile",
    "stream_site_features",
    "stream_territory_features",
    "territory_items",
    "territory_tile",
)
