"""Site queries (all SQL for `customer_site` reads lives here). Coordinates are EPSG:4326 lon/lat."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Contract, CustomerSite, SiteTerritoryAssignment, Territory, TerritoryLayer


class SiteOrder(Enum):
    SITE_NUMBER = "site_number"
    NAME = "name"
    DISTANCE = "distance"


@dataclass(frozen=True, slots=True)
class Near:
    lon: float
    lat: float
    radius_m: float | None = None  # None: no distance limit (ordering only)


@dataclass(frozen=True, slots=True)
class SiteQuery:
    """Filters of `sites(filter:)`, already validated (see `resolvers.sites`)."""

    territory: tuple[str, str] | None = None  # (layer code, territory code)
    source_district: str | None = None
    state: str | None = None
    building_block: str | None = None
    search: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # minLon, minLat, maxLon, maxLat
    near: Near | None = None
    source_district_mismatch_layer: str | None = None
    territory_id: int | None = None


def _point(lon: float, lat: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def bbox_envelopes(bbox: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """The plain boxes of `[minLon, minLat, maxLon, maxLat]`: itself, or two when minLon > maxLon (a box
    across the antimeridian, RFC 7946 §5.2: minLon … 180 and -180 … maxLon)."""
    min_lon, min_lat, max_lon, max_lat = bbox
    if min_lon <= max_lon:
        return [bbox]
    return [(min_lon, min_lat, 180.0, max_lat), (-180.0, min_lat, max_lon, max_lat)]


def in_bbox(geom: Any, bbox: tuple[float, float, float, float]) -> ColumnElement[bool]:
    """`geom` (EPSG:4326) intersects the box; one `ST_Intersects` per plain box, so each uses the GiST
    index (one envelope of both halves would span the whole globe)."""
    return or_(*(func.ST_Intersects(geom, func.ST_MakeEnvelope(*box, 4326)) for box in bbox_envelopes(bbox)))


def _conditions(q: SiteQuery) -> list[ColumnElement[bool]]:
    site = CustomerSite
    conditions: list[ColumnElement[bool]] = []
    open_row = SiteTerritoryAssignment.valid_to.is_(None)
    if q.territory is not None:
        layer_code, territory_code = q.territory
        conditions.append(
            exists()
            .where(SiteTerritoryAssignment.site_id == site.id, open_row)
            .where(Territory.id == SiteTerritoryAssignment.territory_id, Territory.code == territory_code)
            .where(TerritoryLayer.id == Territory.layer_id, TerritoryLayer.code == layer_code)
        )
    if q.territory_id is not None:
        conditions.append(
            exists().where(
                SiteTerritoryAssignment.site_id == site.id,
                open_row,
                SiteTerritoryAssignment.territory_id == q.territory_id,
            )
        )
    if q.source_district is not None:
        conditions.append(site.source_district == q.source_district)
    if q.state is not None:
        conditions.append(site.state == q.state.upper())
    if q.building_block is not None:
        conditions.append(
            exists().where(Contract.site_id == site.id, Contract.building_blocks.contains([q.building_block]))
        )
    if q.search:
        pattern = "%" + q.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # matches the trigram index ix_customer_site_search
        conditions.append((site.name + literal(" ") + site.address).ilike(pattern, escape="\\"))
    if q.bbox is not None:
        conditions.append(in_bbox(site.location, q.bbox))
    if q.near is not None and q.near.radius_m is not None:
        # geography: metres on the spheroid; served by the expression index ix_customer_site_geography
        conditions.append(
            func.ST_DWithin(
                func.geography(site.location), func.geography(_point(q.near.lon, q.near.lat)), q.near.radius_m
            )
        )
    if q.source_district_mismatch_layer is not None:
        layer = select(TerritoryLayer.id).where(TerritoryLayer.code == q.source_district_mismatch_layer)
        layer_id = layer.scalar_subquery()
        conditions.append(
            site.source_district.in_(select(Territory.source_district).where(Territory.layer_id == layer_id))
        )
        conditions.append(
            exists()
            .where(
                SiteTerritoryAssignment.site_id == site.id,
                SiteTerritoryAssignment.layer_id == layer_id,
                open_row,
            )
            .where(
                ~exists()
                .where(
                    Territory.id == SiteTerritoryAssignment.territory_id,
                    Territory.source_district == site.source_district,
                )
                # correlate to the site two levels up, not just the assignment
                .correlate_except(Territory)
            )
        )
    return conditions


def site_conditions(q: SiteQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `q` on `customer_site` (unaliased), for statements built elsewhere."""
    return _conditions(q)


def site_distance(q: SiteQuery) -> ColumnElement[float] | None:
    """Geodesic metres from `q.near`'s point to the site (None without a point)."""
    return _distance(q)


def site_ordering(q: SiteQuery, order: SiteOrder) -> list[Any]:
    """The ORDER BY of `site_select` (ties broken by site number)."""
    distance = _distance(q)
    if order is SiteOrder.DISTANCE and distance is not None:
        return [distance.asc().nulls_last(), CustomerSite.site_number]
    if order is SiteOrder.NAME:
        return [CustomerSite.name, CustomerSite.site_number]
    return [CustomerSite.site_number]


def _distance(q: SiteQuery) -> ColumnElement[float] | None:
    if q.near is None:
        return None
    return func.ST_Distance(
        func.geography(CustomerSite.location), func.geography(_point(q.near.lon, q.near.lat))
    )


def site_select(q: SiteQuery, order: SiteOrder) -> Select[Any]:
    distance = _distance(q)
    columns: list[Any] = [CustomerSite]
    columns.append(
        distance.label("distance_m") if distance is not None else literal(None).label("distance_m")
    )
    statement = select(*columns).where(and_(True, *_conditions(q)))
    return statement.order_by(*site_ordering(q, order))


async def find_sites(
    session: AsyncSession, *, query: SiteQuery, order: SiteOrder, offset: int, limit: int
) -> list[tuple[CustomerSite, float | None]]:
    """One page of sites with their distance in metres to `query.near` (None without a point)."""
    rows = await session.execute(site_select(query, order).offset(offset).limit(limit))
    return [(row[0], row[1]) for row in rows.all()]


async def count_sites(session: AsyncSession, *, query: SiteQuery) -> int:
    statement = select(func.count()).select_from(CustomerSite).where(and_(True, *_conditions(query)))
    return int((await session.execute(statement)).scalar_one())


async def sites_by_number(session: AsyncSession, *, site_numbers: Sequence[str]) -> dict[str, CustomerSite]:
    rows = await session.execute(select(CustomerSite).where(CustomerSite.site_number.in_(site_numbers)))
    return {site.site_number: site for site in rows.scalars()}


async def sites_by_id(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CustomerSite]:
    rows = await session.execute(select(CustomerSite).where(CustomerSite.id.in_(site_ids)))
    return {site.id: site for site in rows.scalars()}


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """An assignment row with its layer and territory (without the territory geometry)."""

    site_id: uuid.UUID
    layer_id: int
    layer_code: str
    territory_id: int | None
    method: str
    valid_from: dt.datetime | None  # None: since the beginning of the record ('-infinity')
    valid_to: dt.datetime | None


async def assignments_for_sites(
    session: AsyncSession,
    *,
    site_ids: Sequence[uuid.UUID],
    as_of: dt.datetime | None = None,
    layer_code: str | None = None,
    history: bool = False,
) -> list[AssignmentView]:
    """Assignments of many sites: open rows (default), rows valid at `as_of`, or the whole history.

    Ordered by site, layer id, valid_from; `valid_from` None = since the beginning of the record.
    """
    a = SiteTerritoryAssignment
    # '-infinity' → None here: asyncpg would hand it over as a naive datetime.min (and 0001-01-01 is a real
    # timestamp too), so the database says which it is
    valid_from = case((func.isfinite(a.valid_from), a.valid_from), else_=None)
    statement = (
        select(a.site_id, a.layer_id, TerritoryLayer.code, a.territory_id, a.method, valid_from, a.valid_to)
        .join(TerritoryLayer, TerritoryLayer.id == a.layer_id)
        .where(a.site_id.in_(site_ids))
        .order_by(a.site_id, a.layer_id, a.valid_from)
    )
    if layer_code is not None:
        statement = statement.where(TerritoryLayer.code == layer_code)
    if as_of is not None:
        statement = statement.where(a.valid_from <= as_of, (a.valid_to.is_(None)) | (a.valid_to > as_of))
    elif not history:
        statement = statement.where(a.valid_to.is_(None))
    rows = await session.execute(statement)
    return [AssignmentView(*row) for row in rows.all()]


async def site_numbers_in_territory(
    session: AsyncSession, *, layer_code: str, territory_code: str
) -> list[str]:
    """Site numbers currently assigned to a territory, ascending."""
    rows = await session.execute(
        select(CustomerSite.site_number)
        .where(and_(True, *_conditions(SiteQuery(territory=(layer_code, territory_code)))))
        .order_by(CustomerSite.site_number)
    )
    return list(rows.scalars())
