"""Customer sites in the GraphQL contract (domain.md §1.2, §4): lookups, filters, Relay paging."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry

import billing
from resolvers import billing as billing_resolvers
from resolvers import sites as site_resolvers
from resolvers import territories as territory_resolvers
from resolvers.records import SiteRecord
from schema.access import BILLING_DETAIL
from schema.audit import site_audit_log
from schema.billing import BillingPreview
from schema.common import Ctx, PageInfo, SiteOrderField
from schema.contracts import BuildingBlock, Contract
from schema.scalars import GeoJSON
from schema.territories import SiteTerritory
from spatial.geometry import to_geojson


@strawberry.enum(description="How a site's point was found (sites are geocoded offline, README § Data).")
class GeocodeMethod(enum.Enum):
    ZIP = strawberry.enum_value("zip", description="The point of the site's ZIP code.")
    ZIP3_PREFIX = strawberry.enum_value(
        "zip3_prefix", description="The centroid of the ZIP codes sharing its first 3 digits."
    )
    MANUAL = strawberry.enum_value("manual", description="Placed by hand.")


@strawberry.input(
    description='A territory by layer code and territory code, e.g. {layer: "districts", code: "orlando"}.'
)
class TerritoryRef:
    layer: str = strawberry.field(description="Layer code, e.g. `districts`.")
    code: str = strawberry.field(description="Territory code in that layer, e.g. `orlando`.")


@strawberry.input(description="A point in lon/lat degrees (EPSG:4326).")
class PointInput:
    lon: float = strawberry.field(description="Longitude, −180…180.")
    lat: float = strawberry.field(description="Latitude, −90…90.")


@strawberry.input(description="Sites within `radiusMeters` (geodesic) of a lon/lat point (EPSG:4326).")
class NearInput:
    lon: float = strawberry.field(description="Longitude, −180…180.")
    lat: float = strawberry.field(description="Latitude, −90…90.")
    radius_meters: float = strawberry.field(description="Radius in metres, > 0.")


@strawberry.input(description="Filters of a site list; all given filters apply (AND).")
class SiteFilter:
    territory: TerritoryRef | None = strawberry.field(
        default=None,
        description="Sites currently in this territory; an unknown layer or code is BAD_USER_INPUT.",
    )
    source_district: str | None = strawberry.field(default=None, description="Exact legacy district string.")
    state: str | None = strawberry.field(default=None, description="2-letter USPS code.")
    building_block: BuildingBlock | None = strawberry.field(
        default=None, description="Sites whose contract enables this building block."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Substring of the name or address (case-insensitive), at most 200 characters.",
    )
    bbox: list[float] | None = strawberry.field(
        default=None,
        description="[minLon, minLat, maxLon, maxLat] in EPSG:4326; minLon > maxLon is a box across the "
        "antimeridian (RFC 7946 §5.2).",
    )
    near: NearInput | None = strawberry.field(default=None, description="Sites within a radius of a point.")
    source_district_mismatch: str | None = strawberry.field(
        default=None,
        description="Layer code: sites whose territory in that layer stands for another legacy district "
        "than their own (only sites whose legacy district the layer represents).",
    )


def filter_input(raw: SiteFilter | None) -> site_resolvers.FilterInput | None:
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


@strawberry.type(description="A Towne Park parking operation (customer site, `bs_customersite` §1.2).")
class Site:
    id: strawberry.ID = strawberry.field(description="Site id.")
    site_number: str = strawberry.field(description="4-digit, zero-padded business key.")
    name: str = strawberry.field(description="Name of the operation, e.g. the hotel.")
    address: str = strawberry.field(description="The legacy single address field, verbatim.")
    street: str = strawberry.field(description="Street part of the address.")
    city: str | None = strawberry.field(description="City (from the address, else from the ZIP code).")
    state: str = strawberry.field(description="2-letter USPS code.")
    zip: str = strawberry.field(description="5-digit ZIP code.")
    source_district: str | None = strawberry.field(description="Legacy `bs_district`, verbatim.")
    gl_string: str = strawberry.field(
        description="GL string prefix of the site's accounts, e.g. `02-03-1009-` (§3.8)."
    )
    parking_spaces: int | None = strawberry.field(description="Number of parking spaces.")
    rooms: int | None = strawberry.field(description="Number of hotel rooms.")
    start_date: dt.date | None = strawberry.field(
        description="Start of operation (empty in the PROD export, §6.1)."
    )
    close_date: dt.date | None = strawberry.field(description="End of operation.")
    is_active: bool = strawberry.field(description="The operation is running.")
    updated_at: dt.datetime = strawberry.field(
        description="When the site row last changed; pass it as `expectedUpdatedAt` to `updateCustomerSite` "
        "so a concurrent change is not overwritten unseen."
    )
    geocode_method: GeocodeMethod | None = strawberry.field(
        description="How `location` was found; null: no point."
    )
    _row: strawberry.Private[SiteRecord]

    @strawberry.field(
        description="Great Plains vendor id (§3.8); null unless the caller holds billingAdmin or billingManager "
        "(§4.4: billing details only for roles that need them)."
    )
    def vendor_id(self, info: Ctx) -> str | None:
        return self._row.vendor_id if info.context.caller.has_any(BILLING_DETAIL) else None

    @strawberry.field(
        description="Who the site's invoices are addressed to (legacy `bs_invoicerecipient`); null unless the "
        "caller holds billingAdmin or billingManager (§1.2, §4.4: personal)."
    )
    def invoice_recipient(self, info: Ctx) -> str | None:
        return self._row.invoice_recipient if info.context.caller.has_any(BILLING_DETAIL) else None

    @strawberry.field(
        description="The addresses the site's invoices are e-mailed to (`sendStatements` channel EMAIL; legacy "
        "`bs_billingcontactemail`); null unless the caller holds billingAdmin or billingManager (§1.2, §4.4)."
    )
    def billing_contact_emails(self, info: Ctx) -> list[str] | None:
        if not info.context.caller.has_any(BILLING_DETAIL):
            return None
        return list(self._row.billing_contact_emails)

    @classmethod
    def from_row(cls, row: SiteRecord) -> Site:
        return cls(
            id=strawberry.ID(str(row.id)),
            site_number=row.site_number,
            name=row.name,
            address=row.address,
            street=row.street,
            city=row.city,
            state=row.state,
            zip=row.zip,
            source_district=row.source_district,
            gl_string=row.gl_string,
            parking_spaces=row.parking_spaces,
            rooms=row.rooms,
            start_date=row.start_date,
            close_date=row.close_date,
            is_active=row.is_active,
            updated_at=row.updated_at,
            geocode_method=GeocodeMethod(row.geocode_method) if row.geocode_method else None,
            _row=row,
        )

    @strawberry.field(description="GeoJSON Point, lon/lat EPSG:4326; null when the site could not be placed.")
    def location(self) -> GeoJSON | None:
        point = to_geojson(self._row.location)
        return GeoJSON(point) if point is not None else None

    @strawberry.field(
        description="The site's current territory in every layer (territory null = unassigned)."
    )
    async def territories(self, info: Ctx) -> list[SiteTerritory]:
        return [
            SiteTerritory.from_view(v) for v in await info.context.loaders.open_assignments.load(self._row.id)
        ]

    @strawberry.field(
        description="The site's territory in one layer, now or as of a past instant; an unknown layer is "
        "BAD_USER_INPUT."
    )
    async def territory(
        self,
        info: Ctx,
        layer: Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")],
        as_of: Annotated[
            dt.datetime | None,
            strawberry.argument(description="An instant with a time-zone offset; null: now."),
        ] = None,
    ) -> SiteTerritory | None:
        view = await territory_resolvers.assignment_as_of(info.context, self._row.id, layer, as_of)
        return SiteTerritory.from_view(view, as_of=as_of) if view else None

    @strawberry.field(description="Every assignment of the site in one layer, oldest first.")
    async def territory_history(
        self,
        info: Ctx,
        layer: Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")],
    ) -> list[SiteTerritory]:
        return [
            SiteTerritory.from_view(v)
            for v in await territory_resolvers.assignment_history(info.context, self._row.id, layer)
        ]

    audit_log = site_audit_log()

    @strawberry.field(description="The site's contract; null when it has none.")
    async def contract(self, info: Ctx) -> Contract | None:
        row = await info.context.loaders.contract_by_site.load(self._row.id)
        return Contract.from_row(row) if row else None

    @strawberry.field(
        description="Invoices for a service period, computed now and not persisted; null when the site has "
        "no contract."
    )
    async def billing_preview(
        self,
        info: Ctx,
        service_period: Annotated[
            str | None,
            strawberry.argument(description="YYYY-MM; null: the billing type's default period (§3.2)."),
        ] = None,
        building_blocks: Annotated[
            list[BuildingBlock] | None,
            strawberry.argument(
                description="Compute only these of the contract's blocks (what-if); null: all."
            ),
        ] = None,
    ) -> BillingPreview | None:
        blocks = None if building_blocks is None else list(building_blocks)
        result = await billing_resolvers.billing_preview(info.context, self._row, service_period, blocks)
        return BillingPreview.from_result(result) if result else None


@strawberry.type(description="A site in a list, with its cursor.")
class SiteEdge:
    cursor: str = strawberry.field(description="Opaque position: pass it as `after` to continue.")
    node: Site = strawberry.field(description="The site.")
    distance_meters: float | None = strawberry.field(
        description="Geodesic distance to the requested point, metres (null without one)."
    )


@strawberry.type(description="A page of sites (Relay connection).")
class SiteConnection:
    edges: list[SiteEdge] = strawberry.field(description="The sites of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is.")
    _page: strawberry.Private[site_resolvers.SitePage]

    @strawberry.field(description="Number of sites matching the filter (all pages).")
    async def total_count(self, info: Ctx) -> int:
        return await site_resolvers.count(info.context, self._page.query)

    @classmethod
    def from_page(cls, page: site_resolvers.SitePage) -> SiteConnection:
        edges = [
            SiteEdge(
                cursor=site_resolvers.encode_cursor(page.offset + i),
                node=Site.from_row(row),
                distance_meters=d,
            )
            for i, (row, d) in enumerate(page.rows)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of([e.cursor for e in edges], offset=page.offset, has_next=page.has_next),
            _page=page,
        )


@strawberry.type
class SiteRoot:
    @strawberry.field(description="The site with this site number (leading zeros optional); null if unknown.")
    async def site(
        self, info: Ctx, site_number: Annotated[str, strawberry.argument(description="1–4 digits, e.g. 349.")]
    ) -> Site | None:
        row = await site_resolvers.site_by_number(info.context, site_number)
        return Site.from_row(row) if row else None

    @strawberry.field(description="Sites, filtered and ordered, as a Relay connection.")
    async def sites(
        self,
        info: Ctx,
        filter: Annotated[
            SiteFilter | None, strawberry.argument(description="Which sites; null: all.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 0–500.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
        order_by: Annotated[
            SiteOrderField, strawberry.argument(description="Sort order.")
        ] = SiteOrderField.SITE_NUMBER,
        distance_from: Annotated[
            PointInput | None,
            strawberry.argument(description="Point for `distanceMeters` and `orderBy: DISTANCE`."),
        ] = None,
    ) -> SiteConnection:
        query = await site_resolvers.build_query(
            info.context,
            filter_input(filter),
            distance_from=(distance_from.lon, distance_from.lat) if distance_from else None,
        )
        page = await site_resolvers.site_page(
            info.context, query=query, order=order_by.order, first=first, after=after
        )
        return SiteConnection.from_page(page)
