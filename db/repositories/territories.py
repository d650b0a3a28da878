"""Territory and layer queries. Geometry leaves the database as RFC 7946 GeoJSON text (EPSG:4326).

As-of reads come from `territory_version` (one row per version, `[valid_from, valid_to)`), kept by the
territory triggers; `as_of` is an aware datetime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, and_, func, or_, select, type_coerce
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


_COLUMNS = (
    Territory.id,
    Territory.layer_id,
    Territory.code,
    Territory.name,
    Territory.source_district,
    Territory.version,
    Territory.area_km2,
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
        select(*_COLUMNS).where(Territory.layer_id.in_(layer_ids)).order_by(Territory.code)
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
