"""GraphQL object types, hand-written: the API is a contract, not a mirror of the tables (design.md §6)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

import billing
import billing.codes
from db.models import Contract as ContractRow
from db.models import CustomerSite
from db.models import TerritoryLayer as LayerRow
from db.repositories.contracts import ContractConfiguration
from db.repositories.sites import AssignmentView, SiteOrder, SiteQuery
from db.repositories.territories import TerritoryView
from resolvers import billing as billing_resolvers
from resolvers import sites as site_resolvers
from resolvers import statements as statement_resolvers
from resolvers.context import Context
from resolvers.errors import BadUserInput
from schema.scalars import JSON, GeoJSON
from spatial.geometry import to_geojson

# strawberry.enum registers the GraphQL enum on the class itself; the aliases keep annotations plain types
strawberry.enum(billing.BuildingBlock, name="BuildingBlock", description="domain.md §1.4")
strawberry.enum(billing.BillingType, name="BillingType", description="Arrears or Advanced (§1.3)")
strawberry.enum(billing.codes.AdhocLineType, name="AdhocLineType", description="§3.4 GL code types")
strawberry.enum(SiteOrder, name="SiteOrderField")
BuildingBlock = billing.BuildingBlock
BillingType = billing.BillingType
AdhocLineType = billing.codes.AdhocLineType
SiteOrderField = SiteOrder


@strawberry.enum(description="How a site's point was found.")
class GeocodeMethod(enum.Enum):
    ZIP = "zip"
    ZIP3_PREFIX = "zip3_prefix"
    MANUAL = "manual"


@strawberry.enum
class LayerKind(enum.Enum):
    PARTITION = "partition"
    OVERLAY = "overlay"


@strawberry.enum
class AssignmentMethod(enum.Enum):
    INITIAL = strawberry.enum_value(
        "initial",
        description="The site's first assignment in the layer (point in polygon), in force since its start "
        "date, or since the beginning of the record when that is unknown.",
    )
    POINT_IN_POLYGON = "point_in_polygon"
    MANUAL = "manual"


Ctx = Info[Context, None]


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class SiteEdge:
    cursor: str
    node: Site
    distance_meters: float | None = strawberry.field(
        description="Geodesic distance to the requested point, metres (null without one)."
    )


@strawberry.type
class SiteConnection:
    edges: list[SiteEdge]
    page_info: PageInfo
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
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            _page=page,
        )


@strawberry.type(
    description="A territory layer: districts, regions, … (`partition`: no overlaps; `overlay`: may overlap)."
)
class TerritoryLayer:
    id: int
    code: str
    name: str
    kind: LayerKind
    description: str | None

    @classmethod
    def from_row(cls, row: LayerRow) -> TerritoryLayer:
        return cls(
            id=row.id, code=row.code, name=row.name, kind=LayerKind(row.kind), description=row.description
        )

    @strawberry.field
    async def territories(self, info: Ctx) -> list[Territory]:
        return [Territory.from_view(v) for v in await info.context.loaders.territories_of_layer.load(self.id)]


@strawberry.type(description="A territory polygon of a layer (EPSG:4326).")
class Territory:
    id: int
    code: str
    name: str
    source_district: str | None = strawberry.field(
        description="The legacy district string this polygon stands for."
    )
    version: int = strawberry.field(
        description="Incremented on every edit of the geometry, name or code (as of an instant: the version then)."
    )
    area_km2: float = strawberry.field(description="Geodesic area in km².")
    _layer_id: strawberry.Private[int]
    # None: the territory as it is now; else the version in force at this instant (code, name, geometry)
    _as_of: strawberry.Private[dt.datetime | None] = None

    @classmethod
    def from_view(cls, view: TerritoryView, *, as_of: dt.datetime | None = None) -> Territory:
        return cls(
            id=view.id,
            code=view.code,
            name=view.name,
            source_district=view.source_district,
            version=view.version,
            area_km2=round(view.area_km2, 3),
            _layer_id=view.layer_id,
            _as_of=as_of,
        )

    @strawberry.field
    async def layer(self, info: Ctx) -> TerritoryLayer:
        row = await info.context.loaders.layer_by_id.load(self._layer_id)
        assert row is not None
        return TerritoryLayer.from_row(row)

    @strawberry.field(
        description="GeoJSON MultiPolygon (of the version in force at the `asOf` the territory was asked "
        "for, if any); `simplifyTolerance` in degrees for web maps."
    )
    async def geometry(self, info: Ctx, simplify_tolerance: float | None = None) -> GeoJSON:
        if simplify_tolerance is not None and not 0 <= simplify_tolerance <= 1:
            raise BadUserInput(
                f"simplifyTolerance must be between 0 and 1 degree, got {simplify_tolerance}",
                argument="simplifyTolerance",
            )
        text = await info.context.loaders.geometry.load((self.id, simplify_tolerance or None, self._as_of))
        assert text is not None  # the territory exists: it was loaded to get here
        return GeoJSON(text)

    @strawberry.field(description="Number of sites currently assigned to this territory.")
    async def site_count(self, info: Ctx) -> int:
        return await info.context.loaders.site_count.load(self.id)

    @strawberry.field
    async def sites(
        self,
        info: Ctx,
        first: int = 50,
        after: str | None = None,
        order_by: SiteOrderField = SiteOrder.SITE_NUMBER,
    ) -> SiteConnection:
        query = SiteQuery(territory_id=self.id)
        page = await site_resolvers.site_page(
            info.context, query=query, order=order_by, first=first, after=after
        )
        return SiteConnection.from_page(page)


@strawberry.type(
    description="A site's assignment to a territory of one layer; `territory` null = unassigned."
)
class SiteTerritory:
    method: AssignmentMethod
    valid_from: dt.datetime | None = strawberry.field(
        description="Null: since the beginning of the record (a first assignment whose site start date is unknown)."
    )
    valid_to: dt.datetime | None
    _view: strawberry.Private[AssignmentView]
    # the instant asked for (Site.territory(asOf:)): the territory is then the version in force at it
    _as_of: strawberry.Private[dt.datetime | None] = None

    @classmethod
    def from_view(cls, view: AssignmentView, *, as_of: dt.datetime | None = None) -> SiteTerritory:
        return cls(
            method=AssignmentMethod(view.method),
            valid_from=view.valid_from,
            valid_to=view.valid_to,
            _view=view,
            _as_of=as_of,
        )

    @strawberry.field
    async def layer(self, info: Ctx) -> TerritoryLayer:
        row = await info.context.loaders.layer_by_id.load(self._view.layer_id)
        assert row is not None
        return TerritoryLayer.from_row(row)

    @strawberry.field(
        description="As of an instant: the territory's version then (as `Query.territory(asOf:)`)."
    )
    async def territory(self, info: Ctx) -> Territory | None:
        if self._view.territory_id is None:
            return None
        if self._as_of is not None:
            view = await info.context.loaders.territory_as_of.load((self._view.territory_id, self._as_of))
        else:
            view = await info.context.loaders.territory_by_id.load(self._view.territory_id)
        return Territory.from_view(view, as_of=self._as_of) if view else None


@strawberry.type(description="Metadata flags of an invoice line (domain.md §1.6).")
class InvoiceLineFlags:
    is_adhoc: bool
    is_profit_deduction: bool
    is_non_billable_expense: bool
    is_client_paid_expense: bool
    is_management_fee: bool
    is_billable_payroll_accounts: bool
    is_pteb: bool
    is_support_services: bool
    is_billable_expense_accounts: bool
    is_insurance: bool
    is_claims: bool
    is_profit_share: bool
    is_deposited_revenue: bool
    is_paid_parking_tax: bool


FLAG_NAMES = tuple(InvoiceLineFlags.__annotations__)


@strawberry.type
class InvoiceLine:
    id: strawberry.ID | None = strawberry.field(description="`lineItemId`; null on a preview.")
    building_block: BuildingBlock | None = strawberry.field(description="Null for ad-hoc lines.")
    adhoc_type: AdhocLineType | None
    title: str
    code: str = strawberry.field(description="GL main account, e.g. 4790.")
    description: str
    amount: Decimal = strawberry.field(description="USD, as a decimal string.")
    explanation: str = strawberry.field(
        description="Inputs used and the formula applied, with the domain rule."
    )
    flags: InvoiceLineFlags
    monthly_profit: Decimal | None
    taxes_paid: Decimal | None
    details: JSON = strawberry.field(
        description="Structured inputs behind the figure: revenue-share distribution, validation allocation, "
        "profit-share tiers (decimals as strings)."
    )

    @classmethod
    def build(cls, line: Any, *, line_id: str | None = None) -> InvoiceLine:
        """From an engine line (`billing.InvoiceLine`) or a stored `invoice_line` row; both carry the flags."""
        block = line.building_block
        if isinstance(block, str):
            block = billing.BuildingBlock[block]
        adhoc = line.adhoc_type
        if isinstance(adhoc, str):
            adhoc = billing.codes.AdhocLineType[adhoc]
        return cls(
            id=strawberry.ID(line_id) if line_id else None,
            building_block=block,
            adhoc_type=adhoc,
            title=line.title,
            code=line.code,
            description=line.description,
            amount=line.amount,
            explanation=line.explanation,
            flags=InvoiceLineFlags(**{name: bool(getattr(line, name, False)) for name in FLAG_NAMES}),
            monthly_profit=line.monthly_profit,
            taxes_paid=line.taxes_paid,
            # stored rows carry their details; engine lines are described on the fly
            details=JSON(line.details if line_id else statement_resolvers.line_details(line)),
        )


@strawberry.type
class Invoice:
    id: strawberry.ID | None = strawberry.field(description="Null on a preview.")
    group_number: int
    invoice_number: str = strawberry.field(description="`site-yyyyMM-GG-VV` (§3.4)")
    invoice_date: dt.date
    title: str | None
    description: str | None
    payment_terms: str | None
    purchase_order: str | None
    amount: Decimal
    lines: list[InvoiceLine]


@strawberry.type(description="Invoices of one site and service period, computed on demand (not persisted).")
class BillingPreview:
    site_number: str
    service_period: str = strawberry.field(description="YYYY-MM")
    billing_type: BillingType
    version: int
    rate_selection_date: dt.date = strawberry.field(
        description="Rate rows are those active on this date (§2.15)."
    )
    invoices: list[Invoice]
    total: Decimal
    not_computed: list[BuildingBlock] = strawberry.field(
        description="Enabled building blocks this engine version does not compute yet (never silently 0)."
    )
    warnings: list[str]

    @classmethod
    def from_result(cls, result: billing.BillingPreview) -> BillingPreview:
        return cls(
            site_number=result.site_number,
            service_period=result.service_period.key,
            billing_type=result.billing_type,
            version=result.version,
            rate_selection_date=result.rate_selection_date,
            invoices=[
                Invoice(
                    id=None,
                    group_number=inv.group_number,
                    invoice_number=inv.invoice_number,
                    invoice_date=inv.invoice_date,
                    title=inv.title,
                    description=inv.description,
                    payment_terms=inv.payment_terms,
                    purchase_order=inv.purchase_order,
                    amount=inv.amount,
                    lines=[InvoiceLine.build(line) for line in inv.lines],
                )
                for inv in result.invoices
            ],
            total=result.total,
            not_computed=list(result.not_computed),
            warnings=list(result.warnings),
        )


@strawberry.type
class InvoiceGroup:
    group_number: int
    title: str
    description: str | None
    site_number_override: str | None
    customer_name: str | None
    vendor_id: str | None


@strawberry.type(description="Fixed-fee service row (§1.5, §2.1).")
class FixedFeeService:
    name: str | None
    display_name: str
    code: str
    fee: Decimal
    start_date: dt.date | None
    end_date: dt.date | None
    invoice_group: int | None


@strawberry.type(description="Per-labor-hour job rate row (§1.5, §2.2).")
class LaborHourJob:
    name: str | None
    display_name: str
    job_code: str
    code: str | None
    rate: Decimal
    overtime_rate: Decimal | None
    is_salaried: bool
    start_date: dt.date | None
    end_date: dt.date | None
    invoice_group: int | None


@strawberry.type(description="Revenue-share tier: `amount` is the cumulative cap, 0 = unlimited (§2.4).")
class RevenueShareTier:
    share_percentage: Decimal
    amount: Decimal


@strawberry.type(description="Revenue-share threshold structure (§1.5, §2.4).")
class RevenueShareThreshold:
    position: int
    revenue_codes: list[str]
    accumulation_type: str
    tiers: list[RevenueShareTier]
    validation_threshold_type: str | None
    validation_threshold_amount: Decimal | None
    invoice_group: int | None


@strawberry.type(
    description="Settings of a single-row building block (bell, mid-month advance, deposits, …)."
)
class BuildingBlockSettings:
    building_block: BuildingBlock
    invoice_group: int | None
    settings: JSON


@strawberry.type(description="Per-occupied-room configuration on the contract (§2.3).")
class OccupiedRoom:
    rate: Decimal | None
    code: str | None
    invoice_group: int | None


@strawberry.type
class Contract:
    id: strawberry.ID
    contract_type: str | None = strawberry.field(description="EDW label, informational (§1.3).")
    billing_type: BillingType
    building_blocks: list[BuildingBlock]
    increment_percentage: Decimal
    increment_month: int | None
    consumer_price_index: bool
    deviation_amount: Decimal | None
    deviation_percentage: Decimal | None
    payment_terms: str | None
    purchase_order: str | None
    deposits: bool
    hours_backup_report: bool
    supporting_reports: list[str]
    configuration_source: str = strawberry.field(
        description="`snapshot`: full configuration imported; `export`: only the contract table row."
    )
    occupied_room: OccupiedRoom
    _row: strawberry.Private[ContractRow]

    @classmethod
    def from_row(cls, row: ContractRow) -> Contract:
        return cls(
            id=strawberry.ID(str(row.id)),
            contract_type=row.contract_type,
            billing_type=billing.BillingType[row.billing_type],
            building_blocks=[billing.BuildingBlock[b] for b in row.building_blocks],
            increment_percentage=row.increment_percentage,
            increment_month=row.increment_month,
            consumer_price_index=row.consumer_price_index,
            deviation_amount=row.deviation_amount,
            deviation_percentage=row.deviation_percentage,
            payment_terms=row.payment_terms,
            purchase_order=row.purchase_order,
            deposits=row.deposits,
            hours_backup_report=row.hours_backup_report,
            supporting_reports=list(row.supporting_reports),
            configuration_source=row.configuration_source,
            occupied_room=OccupiedRoom(
                rate=row.occupied_room_rate,
                code=row.occupied_room_code,
                invoice_group=row.occupied_room_invoice_group,
            ),
            _row=row,
        )

    async def _configuration(self, info: Ctx) -> ContractConfiguration:
        return await info.context.loaders.configuration.load(self._row.id)

    @strawberry.field
    async def invoice_groups(self, info: Ctx) -> list[InvoiceGroup]:
        return [
            InvoiceGroup(
                group_number=g.group_number,
                title=g.title,
                description=g.description,
                site_number_override=g.site_number_override,
                customer_name=g.customer_name,
                vendor_id=g.vendor_id,
            )
            for g in (await self._configuration(info)).invoice_groups
        ]

    @strawberry.field
    async def fixed_fee_services(self, info: Ctx) -> list[FixedFeeService]:
        return [
            FixedFeeService(
                name=s.name,
                display_name=s.display_name,
                code=s.code,
                fee=s.fee,
                start_date=s.start_date,
                end_date=s.end_date,
                invoice_group=s.invoice_group,
            )
            for s in (await self._configuration(info)).fixed_fee_services
        ]

    @strawberry.field
    async def labor_hour_jobs(self, info: Ctx) -> list[LaborHourJob]:
        return [
            LaborHourJob(
                name=j.name,
                display_name=j.display_name,
                job_code=j.job_code,
                code=j.code,
                rate=j.rate,
                overtime_rate=j.overtime_rate,
                is_salaried=j.is_salaried,
                start_date=j.start_date,
                end_date=j.end_date,
                invoice_group=j.invoice_group,
            )
            for j in (await self._configuration(info)).labor_hour_jobs
        ]

    @strawberry.field
    async def revenue_share_thresholds(self, info: Ctx) -> list[RevenueShareThreshold]:
        return [
            RevenueShareThreshold(
                position=t.position,
                revenue_codes=list(t.revenue_codes),
                accumulation_type=t.accumulation_type,
                tiers=[
                    RevenueShareTier(
                        share_percentage=Decimal(x["share_percentage"]), amount=Decimal(x["amount"])
                    )
                    for x in t.tiers
                ],
                validation_threshold_type=t.validation_threshold_type,
                validation_threshold_amount=t.validation_threshold_amount,
                invoice_group=t.invoice_group,
            )
            for t in (await self._configuration(info)).revenue_share_thresholds
        ]

    @strawberry.field(description="Single-row building blocks with their validated settings.")
    async def block_settings(self, info: Ctx) -> list[BuildingBlockSettings]:
        return [
            BuildingBlockSettings(
                building_block=billing.BuildingBlock[c.building_block],
                invoice_group=c.invoice_group,
                settings=JSON(c.settings),
            )
            for c in (await self._configuration(info)).components
        ]

    @strawberry.field
    async def site(self, info: Ctx) -> Site:
        row = await info.context.loaders.site_by_id.load(self._row.site_id)
        assert row is not None
        return Site.from_row(row)


@strawberry.type(description="A Towne Park parking operation (customer site).")
class Site:
    id: strawberry.ID
    site_number: str = strawberry.field(description="4-digit, zero-padded business key.")
    name: str
    address: str = strawberry.field(description="The legacy single address field, verbatim.")
    street: str
    city: str | None
    state: str
    zip: str
    source_district: str | None = strawberry.field(description="Legacy `bs_district`, verbatim.")
    gl_string: str
    parking_spaces: int | None
    rooms: int | None
    vendor_id: str | None
    start_date: dt.date | None
    close_date: dt.date | None
    is_active: bool
    geocode_method: GeocodeMethod | None
    _row: strawberry.Private[CustomerSite]

    @classmethod
    def from_row(cls, row: CustomerSite) -> Site:
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
            vendor_id=row.vendor_id,
            start_date=row.start_date,
            close_date=row.close_date,
            is_active=row.is_active,
            geocode_method=GeocodeMethod(row.geocode_method) if row.geocode_method else None,
            _row=row,
        )

    @strawberry.field(description="GeoJSON Point, lon/lat EPSG:4326.")
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

    @strawberry.field(description="The site's territory in one layer, now or as of a past instant.")
    async def territory(
        self, info: Ctx, layer: str, as_of: dt.datetime | None = None
    ) -> SiteTerritory | None:
        if as_of is not None and as_of.tzinfo is None:
            raise BadUserInput(
                "asOf must carry a time zone offset, e.g. 2025-03-15T00:00:00Z", argument="asOf"
            )
        view = await info.context.loaders.assignment_as_of.load((self._row.id, layer, as_of))
        return SiteTerritory.from_view(view, as_of=as_of) if view else None

    @strawberry.field(description="Every assignment of the site in one layer, oldest first.")
    async def territory_history(self, info: Ctx, layer: str) -> list[SiteTerritory]:
        return [
            SiteTerritory.from_view(v)
            for v in await info.context.loaders.assignment_history.load((self._row.id, layer))
        ]

    @strawberry.field
    async def contract(self, info: Ctx) -> Contract | None:
        row = await info.context.loaders.contract_by_site.load(self._row.id)
        return Contract.from_row(row) if row else None

    @strawberry.field(
        description="Invoices for a service period `YYYY-MM` (default: the billing type's period, §3.2), computed now "
        "and not persisted; `buildingBlocks` restricts the computation to those blocks (what-if)."
    )
    async def billing_preview(
        self,
        info: Ctx,
        service_period: str | None = None,
        building_blocks: list[BuildingBlock] | None = None,
    ) -> BillingPreview | None:
        blocks = None if building_blocks is None else list(building_blocks)
        result = await billing_resolvers.billing_preview(info.context, self._row, service_period, blocks)
        return BillingPreview.from_result(result) if result else None
