"""Territory and layer queries. Geometry leaves the database as RFC 7946 GeoJSON text (EPSG:4326).

As-of reads come from `territory_version` (one row per version, `[valid_from, valid_to)`), kept by the
territory triggers; `as_of` is an aware datetime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, and_, func, or_, select, text, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SiteTerritoryAssignment, Territory, TerritoryLayer, TerritoryVersion


@dataclass(frozen=True, slots=True)
class TerritoryView:
    id: int
    layer_id: int
    code: str
    name: str
    source_district: str | None
    version: int
    area_km2: float
    # None: current (or, as of an instant, the version in force then)
    retired_at: dt.datetime | None = None


_COLUMNS = (
    Territory.id,
    Territory.layer_id,
    Territory.code,
    Territory.name,
    Territory.source_district,
    Territory.version,
    Territory.area_km2,
    Territory.retired_at,
)


_V = TerritoryVersion
# A version's own code, name, number and geodesic area (km², as the trigger computes `territory.area_km2`).
_VERSION_COLUMNS = (
    Territory.id,
    Territory.layer_id,
    _V.code,
    _V.name,
    Territory.source_district,
    _V.version,
    type_coerce(func.ST_Area(func.geography(_V.geom)) / 1e6, Double),
)


def _in_force(as_of: dt.datetime) -> ColumnElement[bool]:
    return and_(_V.valid_from <= as_of, or_(_V.valid_to.is_(None), _V.valid_to > as_of))


async def layers(session: AsyncSession) -> list[TerritoryLayer]:
    return list((await session.execute(select(TerritoryLayer).order_by(TerritoryLayer.id))).scalars())


async def layers_by_id(session: AsyncSession, *, layer_ids: Sequence[int]) -> dict[int, TerritoryLayer]:
    rows = await session.execute(select(TerritoryLayer).where(TerritoryLayer.id.in_(layer_ids)))
    return {layer.id: layer for layer in rows.scalars()}


async def layers_by_code(session: AsyncSession, *, codes: Sequence[str]) -> dict[str, TerritoryLayer]:
    rows = await session.execute(select(TerritoryLayer).where(TerritoryLayer.code.in_(codes)))
    return {layer.code: layer for layer in rows.scalars()}


async def territories_by_id(
    session: AsyncSession, *, territory_ids: Sequence[int]
) -> dict[int, TerritoryView]:
    rows = await session.execute(select(*_COLUMNS).where(Territory.id.in_(territory_ids)))
    return {row[0]: TerritoryView(*row) for row in rows.all()}


async def territories_of_layers(
    session: AsyncSession, *, layer_ids: Sequence[int]
) -> dict[int, list[TerritoryView]]:
    rows = await session.execute(
        select(*_COLUMNS)
        .where(Territory.layer_id.in_(layer_ids), Territory.retired_at.is_(None))
        .order_by(Territory.code)
    )
    out: dict[int, list[TerritoryView]] = {layer_id: [] for layer_id in layer_ids}
    for row in rows.all():
        out[row[1]].append(TerritoryView(*row))
    return out


async def territory_by_code(session: AsyncSession, *, layer_code: str, code: str) -> TerritoryView | None:
    row = (
        await session.execute(
            select(*_COLUMNS)
            .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
            .where(TerritoryLayer.code == layer_code, Territory.code == code)
        )
    ).one_or_none()
    return TerritoryView(*row) if row else None


async def territory_by_code_as_of(
    session: AsyncSession, *, layer_code: str, code: str, as_of: dt.datetime
) -> TerritoryView | None:
    """The version of a territory in force at `as_of`: its code, name, version number and area then.

    The code is matched against each version's own code, so a territory renamed since is found under the
    code it had at `as_of` (codes are unique in a layer at every instant). None when no version was in
    force: unknown code, or a territory created after `as_of`. `territory_view.version` is the version's
    number; fetch its geometry with `geometries_geojson(as_of=…)`.
    """
    row = (
        await session.execute(
            select(*_VERSION_COLUMNS)
            .join(_V, _V.territory_id == Territory.id)
            .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
            .where(TerritoryLayer.code == layer_code, _V.code == code, _in_force(as_of))
        )
    ).one_or_none()
    return TerritoryView(*row) if row else None


async def territories_by_id_as_of(
    session: AsyncSession, *, territory_ids: Sequence[int], as_of: dt.datetime
) -> dict[int, TerritoryView]:
    """The version of each territory in force at `as_of` (territories with none then are absent)."""
    rows = await session.execute(
        select(*_VERSION_COLUMNS)
        .join(_V, _V.territory_id == Territory.id)
        .where(Territory.id.in_(territory_ids), _in_force(as_of))
    )
    return {row[0]: TerritoryView(*row) for row in rows.all()}


async def geometries_geojson(
    session: AsyncSession,
    *,
    territory_ids: Sequence[int],
    tolerance_deg: float | None,
    as_of: dt.datetime | None = None,
) -> dict[int, str]:
    """GeoJSON text of each territory, 6 decimals (≈ 0.1 m), optionally simplified by `tolerance_deg`
    degrees with `ST_SimplifyPreserveTopology` (for web maps): the current geometry, or with `as_of` the
    geometry of the version in force then (territories with none then are absent)."""
    if as_of is None:
        source: Any = Territory.geom
        statement = select(Territory.id).where(Territory.id.in_(territory_ids))
    else:
        source = _V.geom
        statement = select(_V.territory_id).where(_V.territory_id.in_(territory_ids), _in_force(as_of))
    geom: Any = func.ST_SimplifyPreserveTopology(source, tolerance_deg) if tolerance_deg else source
    rows = await session.execute(statement.add_columns(func.ST_AsGeoJSON(geom, 6)))
    return {row[0]: row[1] for row in rows.all()}


async def site_counts(session: AsyncSession, *, territory_ids: Sequence[int]) -> dict[int, int]:
    """Number of sites currently assigned to each territory."""
    a = SiteTerritoryAssignment
    rows = await session.execute(
        select(a.territory_id, func.count())
        .where(a.territory_id.in_(territory_ids), a.valid_to.is_(None))
        .group_by(a.territory_id)
    )
    counts = {territory_id: 0 for territory_id in territory_ids}
    counts.update({row[0]: row[1] for row in rows.all() if row[0] is not None})
    return counts


async def code_ever_used(session: AsyncSession, *, layer_code: str, code: str) -> bool:
    """Whether any version of a territory of the layer had this code."""
    found = await session.execute(
        select(_V.territory_id)
        .join(Territory, Territory.id == _V.territory_id)
        .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
        .where(TerritoryLayer.code == layer_code, _V.code == code)
        .limit(1)
    )
    return found.first() is not None


# ------------------------------------------------------------------------ editing (issue 9 §1, migration 0009)
# Raw SQL against migration 0009's columns and functions: `towne_flush_territory_changes()` does the
# commit-time processing now (overlap refusal, versions, reassignment) and returns the moved sites.


@dataclass(frozen=True, slots=True)
class LayerEditRow:
    id: int
    code: str
    name: str
    kind: str
    overlap_tolerance_m2: float


@dataclass(frozen=True, slots=True)
class LockedTerritory:
    """A territory row locked `FOR UPDATE` by the transaction that read it."""

    id: int
    layer_id: int
    code: str
    name: str
    version: int
    updated_by: str | None
    updated_at: dt.datetime
    retired_at: dt.datetime | None
    priority: float
    geom_wkb: bytes


@dataclass(frozen=True, slots=True)
class Overlap:
    territory_id: int
    code: str
    name: str
    overlap_m2: float


@dataclass(frozen=True, slots=True)
class SiteChange:
    """A site whose territory in a layer changed; `site_number` None when the caller may not see it."""

    site_number: str | None
    layer_code: str
    from_code: str | None
    to_code: str | None


@dataclass(frozen=True, slots=True)
class VersionRow:
    territory_id: int
    version: int
    code: str
    name: str
    geometry: str  # GeoJSON text, 6 decimals
    valid_from: dt.datetime | None  # None: since the beginning of the record
    valid_to: dt.datetime | None
    changed_by: str
    change: str


_WKB = "ST_SetSRID(ST_GeomFromWKB(CAST(:wkb AS bytea)), 4326)"


async def layer_for_edit(session: AsyncSession, *, code: str, lock: bool = False) -> LayerEditRow | None:
    """The layer with its overlap tolerance; `lock` takes its row `FOR UPDATE` (one import at a time)."""
    row = (
        await session.execute(
            text(
                "SELECT id, code, name, kind, overlap_tolerance_m2 FROM territory_layer WHERE code = :code"
                + (" FOR UPDATE" if lock else "")
            ),
            {"code": code},
        )
    ).one_or_none()
    return LayerEditRow(*row) if row else None


async def create_layer(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: str,
    description: str | None,
    overlap_tolerance_m2: float | None,
) -> int | None:
    """A new layer's id; None when the code is taken."""
    found = await session.execute(
        text(
            "INSERT INTO territory_layer (code, name, kind, description, overlap_tolerance_m2) "
            "VALUES (:code, :name, :kind, :description, coalesce(:tolerance, 10000)) "
            "ON CONFLICT (code) DO NOTHING RETURNING id"
        ),
        {
            "code": code,
            "name": name,
            "kind": kind,
            "description": description,
            "tolerance": overlap_tolerance_m2,
        },
    )
    return found.scalar_one_or_none()


async def lock_territories(
    session: AsyncSession, *, layer_id: int, codes: Sequence[str], lock: bool = True, geometry: bool = True
) -> dict[str, LockedTerritory]:
    """The territories of a layer with these codes (retired ones too), locked `FOR UPDATE` in id order
    (two editors locking several territories queue instead of deadlocking); `lock` False: only read
    (a caller who may not write territories, whose row policy hides them from `FOR UPDATE`); `geometry`
    False: without the WKB (`geom_wkb` empty)."""
    rows = await session.execute(
        text(
            "SELECT id, layer_id, code, name, version, updated_by, updated_at, retired_at, priority, "
            + ("ST_AsBinary(geom)" if geometry else "NULL")
            + " FROM territory WHERE layer_id = :layer AND code = ANY (:codes) "
            "ORDER BY id" + (" FOR UPDATE" if lock else "")
        ),
        {"layer": layer_id, "codes": list(codes)},
    )
    return {
        row[2]: LockedTerritory(
            id=row[0],
            layer_id=row[1],
            code=row[2],
            name=row[3],
            version=row[4],
            updated_by=row[5],
            updated_at=row[6],
            retired_at=row[7],
            priority=row[8],
            geom_wkb=bytes(row[9]) if row[9] is not None else b"",
        )
        for row in rows.all()
    }


async def codes_of_layer(session: AsyncSession, *, layer_id: int) -> dict[str, bool]:
    """Every code of the layer → whether its territory is current (not retired)."""
    rows = await session.execute(
        text("SELECT code, retired_at IS NULL FROM territory WHERE layer_id = :layer"), {"layer": layer_id}
    )
    return {row[0]: row[1] for row in rows.all()}


async def insert_territory(
    session: AsyncSession,
    *,
    layer_id: int,
    code: str,
    name: str,
    wkb: bytes,
    priority: float | None = None,
) -> int | None:
    """A new territory's id (its priority frozen now: `priority`, else its area in km²); None when the
    layer already has the code."""
    found = await session.execute(
        text(
            "INSERT INTO territory (layer_id, code, name, geom, priority) "
            f"VALUES (:layer, :code, :name, {_WKB}, :priority) "
            "ON CONFLICT (layer_id, code) DO NOTHING RETURNING id"
        ),
        {"layer": layer_id, "code": code, "name": name, "wkb": wkb, "priority": priority},
    )
    return found.scalar_one_or_none()


async def update_territory(
    session: AsyncSession,
    *,
    territory_id: int,
    wkb: bytes | None = None,
    name: str | None = None,
    code: str | None = None,
    restore: bool = False,
) -> None:
    """Change geometry, name and/or code (None: keep); `restore` ends a retirement."""
    await session.execute(
        text(
            "UPDATE territory SET "
            f"geom = CASE WHEN CAST(:wkb AS bytea) IS NULL THEN geom ELSE {_WKB} END, "
            "name = coalesce(:name, name), code = coalesce(:code, code), "
            "retired_at = CASE WHEN :restore THEN NULL ELSE retired_at END "
            "WHERE id = :id"
        ),
        {"id": territory_id, "wkb": wkb, "name": name, "code": code, "restore": restore},
    )


async def retire_territories(session: AsyncSession, *, territory_ids: Sequence[int]) -> None:
    await session.execute(
        text("UPDATE territory SET retired_at = now() WHERE id = ANY (:ids) AND retired_at IS NULL"),
        {"ids": list(territory_ids)},
    )


async def ever_assigned(session: AsyncSession, *, territory_id: int) -> bool:
    found = await session.execute(
        text("SELECT EXISTS (SELECT 1 FROM site_territory_assignment WHERE territory_id = :id)"),
        {"id": territory_id},
    )
    return bool(found.scalar())


async def delete_territory(session: AsyncSession, *, territory_id: int) -> None:
    await session.execute(text("DELETE FROM territory WHERE id = :id"), {"id": territory_id})


async def overlaps(
    session: AsyncSession, *, layer_id: int, wkb: bytes, except_ids: Sequence[int] = ()
) -> list[Overlap]:
    """Current territories of the layer (but `except_ids`) overlapping the geometry, largest first
    (geodesic m², migration 0009 `towne_territory_overlaps`)."""
    rows = await session.execute(
        text(
            "SELECT territory_id, code, name, overlap_m2 "
            f"FROM towne_territory_overlaps(:layer, {_WKB}, NULL) "
            "WHERE NOT (territory_id = ANY (:except)) ORDER BY overlap_m2 DESC, code"
        ),
        {"layer": layer_id, "wkb": wkb, "except": list(except_ids)},
    )
    return [Overlap(*row) for row in rows.all()]


async def layer_overlaps(
    session: AsyncSession, *, layer_id: int, territory_ids: Sequence[int], tolerance_m2: float
) -> list[tuple[int, Overlap]]:
    """Pairs (territory of `territory_ids`, a current neighbour) of the layer overlapping by more than
    `tolerance_m2` geodesic m² (the check of an import, before its commit-time processing)."""
    rows = await session.execute(
        text(
            "SELECT t.id, o.id, o.code, o.name, ST_Area(ST_Intersection(t.geom, o.geom)::geography) AS m2 "
            "FROM territory t JOIN territory o ON o.layer_id = t.layer_id AND o.id <> t.id "
            "  AND o.retired_at IS NULL AND ST_Intersects(t.geom, o.geom) AND NOT ST_Touches(t.geom, o.geom) "
            "WHERE t.id = ANY (:ids) AND t.retired_at IS NULL AND t.layer_id = :layer "
            "  AND ST_Area(ST_Intersection(t.geom, o.geom)::geography) > :tolerance "
            "ORDER BY t.id, m2 DESC"
        ),
        {"ids": list(territory_ids), "layer": layer_id, "tolerance": tolerance_m2},
    )
    return [(row[0], Overlap(*row[1:])) for row in rows.all()]


async def flush_changes(session: AsyncSession) -> list[SiteChange]:
    """Run the commit-time processing of this transaction's territory changes now (migration 0009): an
    overlap above a partition layer's tolerance raises (SQLSTATE 23P01); versions are written and the
    affected sites reassigned. Returns the sites whose territory changed, by site number."""
    rows = await session.execute(
        text(
            "WITH f AS MATERIALIZED (SELECT * FROM towne_flush_territory_changes()) "
            "SELECT s.site_number, l.code, ft.code, tt.code FROM f "
            "JOIN territory_layer l ON l.id = f.layer_id "
            "LEFT JOIN customer_site s ON s.id = f.site_id "
            "LEFT JOIN territory ft ON ft.id = f.from_territory_id "
            "LEFT JOIN territory tt ON tt.id = f.to_territory_id "
            "WHERE f.from_territory_id IS DISTINCT FROM f.to_territory_id "
            "ORDER BY s.site_number NULLS LAST, l.code"
        )
    )
    return [SiteChange(*row) for row in rows.all()]


async def version_of(session: AsyncSession, *, territory_id: int, version: int) -> VersionRow | None:
    rows = await history(session, territory_ids=[territory_id], version=version)
    found = rows.get(territory_id, [])
    return found[0] if found else None


async def history(
    session: AsyncSession, *, territory_ids: Sequence[int], version: int | None = None
) -> dict[int, list[VersionRow]]:
    """Every version of each territory, oldest first (`territory_version`, migration 0006/0009)."""
    rows = await session.execute(
        text(
            "SELECT territory_id, version, code, name, ST_AsGeoJSON(geom, 6), "
            "CASE WHEN valid_from = '-infinity' THEN NULL ELSE valid_from END, valid_to, changed_by, change "
            "FROM territory_version WHERE territory_id = ANY (:ids) "
            "AND (CAST(:version AS integer) IS NULL OR version = :version) "
            "ORDER BY territory_id, version"
        ),
        {"ids": list(territory_ids), "version": version},
    )
    out: dict[int, list[VersionRow]] = {territory_id: [] for territory_id in territory_ids}
    for row in rows.all():
        out[row[0]].append(VersionRow(*row))
    return out


async def site_id_by_number(session: AsyncSession, *, site_number: str) -> Any:
    """The id of a site the caller may see (row scopes apply), else None."""
    found = await session.execute(
        text("SELECT id FROM customer_site WHERE site_number = :n"), {"n": site_number}
    )
    return found.scalar_one_or_none()


async def set_manual_assignment(
    session: AsyncSession, *, site_id: Any, layer_id: int, territory_id: int | None
) -> None:
    """Migration 0009's role-checked `towne_set_manual_assignment` (42501 for other roles)."""
    await session.execute(
        text("SELECT towne_set_manual_assignment(:site, :layer, CAST(:territory AS integer))"),
        {"site": site_id, "layer": layer_id, "territory": territory_id},
    )


async def clear_manual_assignment(session: AsyncSession, *, site_id: Any, layer_id: int) -> int | None:
    """Migration 0009's `towne_clear_manual_assignment`: the territory the site has again by geometry
    (None: none); P0002 when the site has no manual assignment in the layer."""
    found = await session.execute(
        text("SELECT towne_clear_manual_assignment(:site, :layer)"), {"site": site_id, "layer": layer_id}
    )
    value = found.scalar()
    return int(value) if value is not None else None


async def open_assignment(session: AsyncSession, *, site_id: Any, layer_id: int) -> tuple[str | None, str]:
    """(territory code or None, method) of the site's open assignment row in the layer."""
    row = (
        await session.execute(
            text(
                "SELECT t.code, a.method FROM site_territory_assignment a "
                "LEFT JOIN territory t ON t.id = a.territory_id "
                "WHERE a.site_id = :site AND a.layer_id = :layer AND a.valid_to IS NULL"
            ),
            {"site": site_id, "layer": layer_id},
        )
    ).one_or_none()
    return (row[0], row[1]) if row else (None, "none")


async def version_wkb(
    session: AsyncSession, *, territory_id: int, version: int
) -> tuple[str, str, bytes] | None:
    """(code, name, WKB geometry) of one version of a territory."""
    row = (
        await session.execute(
            text(
                "SELECT code, name, ST_AsBinary(geom) FROM territory_version "
                "WHERE territory_id = :id AND version = :version"
            ),
            {"id": territory_id, "version": version},
        )
    ).one_or_none()
    return (row[0], row[1], bytes(row[2])) if row else None


async def insert_territories(
    session: AsyncSession, *, layer_id: int, rows: Sequence[tuple[str, str, bytes]]
) -> None:
    """New territories (code, name, WKB) of a layer in one statement per batch (an import)."""
    if rows:
        await session.execute(
            text(f"INSERT INTO territory (layer_id, code, name, geom) VALUES (:layer, :code, :name, {_WKB})"),
            [{"layer": layer_id, "code": c, "name": n, "wkb": w} for c, n, w in rows],
        )


async def update_territories(session: AsyncSession, *, rows: Sequence[tuple[int, str, bytes, bool]]) -> None:
    """(id, name, WKB, restore) for each territory an import rewrites."""
    if rows:
        await session.execute(
            text(
                f"UPDATE territory SET geom = {_WKB}, name = :name, "
                "retired_at = CASE WHEN :restore THEN NULL ELSE retired_at END WHERE id = :id"
            ),
            [{"id": i, "name": n, "wkb": w, "restore": r} for i, n, w, r in rows],
        )
