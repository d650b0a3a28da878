"""Territory and layer queries. Geometry leaves the database as RFC 7946 GeoJSON text (EPSG:4326)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SiteTerritoryAssignment, Territory, TerritoryLayer


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


async def geometries_geojson(
    session: AsyncSession, *, territory_ids: Sequence[int], tolerance_deg: float | None
) -> dict[int, str]:
    """GeoJSON text of each territory, 6 decimals (≈ 0.1 m), optionally simplified by `tolerance_deg`
    degrees with `ST_SimplifyPreserveTopology` (for web maps)."""
    geom: Any = Territory.geom
    if tolerance_deg:
        geom = func.ST_SimplifyPreserveTopology(Territory.geom, tolerance_deg)
    rows = await session.execute(
        select(Territory.id, func.ST_AsGeoJSON(geom, 6)).where(Territory.id.in_(territory_ids))
    )
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
