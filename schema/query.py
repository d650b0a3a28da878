"""The Query root."""

from __future__ import annotations

import datetime as dt

import strawberry

import billing
from db.repositories import territories as territory_repo
from db.repositories.sites import SiteOrder
from resolvers import sites as site_resolvers
from resolvers import territories as territory_resolvers
from resolvers.errors import BadUserInput
from schema import statements as statement_schema
from schema.types import (
    BillingPreview,
    BuildingBlock,
    Ctx,
    Site,
    SiteConnection,
    SiteOrderField,
    Territory,
    TerritoryLayer,
)


@strawberry.input(
    description='A territory by layer code and territory code, e.g. {layer: "districts", code: "orlando"}.'
)
class TerritoryRef:
    layer: str
    code: str


@strawberry.input(description="A point in lon/lat degrees (EPSG:4326).")
class PointInput:
    lon: float
    lat: float


@strawberry.input(description="Sites within `radiusMeters` (geodesic) of a lon/lat point.")
class NearInput:
    lon: float
    lat: float
    radius_meters: float


@strawberry.input
class SiteFilter:
    territory: TerritoryRef | None = None
    source_district: str | None = strawberry.field(default=None, description="Exact legacy district string.")
    state: str | None = strawberry.field(default=None, description="2-letter USPS code.")
    building_block: BuildingBlock | None = None
    search: str | None = strawberry.field(default=None, description="Substring of the name or address.")
    bbox: list[float] | None = strawberry.field(
        default=None, description="[minLon, minLat, maxLon, maxLat] in EPSG:4326."
    )
    near: NearInput | None = None
    source_district_mismatch: str | None = strawberry.field(
        default=None,
        description="Layer code: sites whose territory in that layer stands for another legacy district "
        "than their own (only sites whose legacy district the layer represents).",
    )


def _filter_input(raw: SiteFilter | None) -> site_resolvers.FilterInput | None:
    if raw is None:
        return None
    block = raw.building_block
    return site_resolvers.FilterInput(
        territory=(raw.territory.layer, raw.territory.code) if raw.territory else None,
        source_district=raw.source_district,
        state=raw.state,
        building_block=block.name if isinstance(block, billing.BuildingBlock) else None,
        search=raw.search,
        bbox=raw.bbox,
        near=(raw.near.lon, raw.near.lat, raw.near.radius_meters) if raw.near else None,
        source_district_mismatch=raw.source_district_mismatch,
    )


@strawberry.type(description="A site and its billing preview (null preview: no contract).")
class SiteBillingPreview:
    site: Site
    preview: BillingPreview | None


@strawberry.type
class Query:
    statement = strawberry.field(
        resolver=statement_schema.statement, description="A statement by id; null if unknown."
    )
    statements = strawberry.field(
        resolver=statement_schema.statements, description="Statements, newest service period first."
    )

    @strawberry.field(
        description="Billing previews of many sites for one service period, facts fetched set-based "
        "(a fixed number of SQL statements whatever the number of sites). At most 1000 sites per call."
    )
    async def billing_previews(
        self, info: Ctx, service_period: str, filter: SiteFilter | None = None, first: int = 1000
    ) -> list[SiteBillingPreview]:
        from resolvers import billing as billing_resolvers

        if not 0 <= first <= 1000:
            raise BadUserInput(f"first must be between 0 and 1000, got {first}", argument="first")
        period = statement_schema.parse_period(service_period)
        assert period is not None
        query = site_resolvers.build_query(_filter_input(filter))
        rows, previews = await billing_resolvers.portfolio_previews(
            info.context, query=query, period=period, limit=first
        )
        return [
            SiteBillingPreview(
                site=Site.from_row(row),
                preview=BillingPreview.from_result(previews[row.id]) if row.id in previews else None,
            )
            for row in rows
        ]

    @strawberry.field(description="The site with this site number (leading zeros optional); null if unknown.")
    async def site(self, info: Ctx, site_number: str) -> Site | None:
        row = await site_resolvers.site_by_number(info.context, site_number)
        return Site.from_row(row) if row else None

    @strawberry.field(description="Sites, filtered and ordered, as a Relay connection.")
    async def sites(
        self,
        info: Ctx,
        filter: SiteFilter | None = None,
        first: int = 50,
        after: str | None = None,
        order_by: SiteOrderField = SiteOrder.SITE_NUMBER,
        distance_from: PointInput | None = None,
    ) -> SiteConnection:
        query = site_resolvers.build_query(
            _filter_input(filter),
            distance_from=(distance_from.lon, distance_from.lat) if distance_from else None,
        )
        page = await site_resolvers.site_page(
            info.context, query=query, order=order_by, first=first, after=after
        )
        return SiteConnection.from_page(page)

    @strawberry.field
    async def territory_layers(self, info: Ctx) -> list[TerritoryLayer]:
        async with info.context.db.read() as session:
            return [TerritoryLayer.from_row(row) for row in await territory_repo.layers(session)]

    @strawberry.field
    async def territory_layer(self, info: Ctx, code: str) -> TerritoryLayer | None:
        async with info.context.db.read() as session:
            row = await territory_repo.layer_by_code(session, code=code)
        return TerritoryLayer.from_row(row) if row else None

    @strawberry.field(
        description="A territory by layer and code; with `asOf`, the version in force at that instant "
        "(its code, name, version, area and geometry then), so it agrees with `Site.territory(asOf:)`. "
        "Null if unknown or not in force then."
    )
    async def territory(
        self, info: Ctx, layer: str, code: str, as_of: dt.datetime | None = None
    ) -> Territory | None:
        view = await territory_resolvers.territory_by_code(info.context, layer=layer, code=code, as_of=as_of)
        return Territory.from_view(view, as_of=as_of) if view else None
