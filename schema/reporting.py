"""Reporting in the GraphQL contract (issue 11 §1): `billingSummary`, totals grouped by any dimension.

The stored measures come from one SQL statement whatever the grouping (resolvers/reporting.py); the groups'
money adds up to `total` to the cent. Row scopes are PostgreSQL's: a district manager's summary is that of
the sites it sees. The territory of a figure is the one its site was assigned to on the last day of its service
period (domain.md §4.3): moving a border in June does not move May's revenue to the new district.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from billing import BillingType as BillingTypeCode
from billing import BuildingBlock as BlockCode
from billing.money import ZERO
from billing.statements import StatementStatus as StatusCode
from resolvers import reporting as service
from resolvers.context import Context
from resolvers.reporting import ContractDimension as ContractKey
from schema.common import Ctx
from schema.contracts import BillingType, BuildingBlock, ContractStatus
from schema.plain import plain_root
from schema.statements import StatementStatus


@strawberry.enum(description="What a billing summary groups by (issue 11 §1).")
class SummaryDimension(enum.Enum):
    TERRITORY = strawberry.enum_value(
        "territory",
        description="The territory of `territoryLayer` the site was assigned to on the last day of each service "
        "period (from the assignment history); null: unassigned in that layer.",
    )
    SERVICE_PERIOD = strawberry.enum_value("service_period", description="The service period (month).")
    SITE = strawberry.enum_value("site", description="The site (number and name).")
    STATE = strawberry.enum_value("state", description="The site's state (USPS code).")
    BILLING_TYPE = strawberry.enum_value(
        "billing_type",
        description="Arrears or Advanced: the statement version's, else the contract's (§3.2).",
    )
    CONTRACT_TYPE = strawberry.enum_value(
        "contract_type", description="The contract's EDW type label (§1.3), e.g. `Revenue Share`."
    )
    BUILDING_BLOCK = strawberry.enum_value(
        "building_block",
        description="The building block that produced the invoice line (§1.4); null: ad-hoc lines, a management "
        "agreement's invoice rounding (§2.10e) and the site-month forecast.",
    )
    LINE_CODE = strawberry.enum_value(
        "line_code",
        description="The invoice line's GL main account code (§1.6); null: invoice rounding and the forecast.",
    )
    STATEMENT_STATUS = strawberry.enum_value(
        "statement_status",
        description="The status of the version a figure comes from: SENT for invoiced amounts, the unsent "
        "version's for pending ones (§3.5); null: the forecast and previews.",
    )

    @property
    def dimension(self) -> service.Dimension:
        return service.Dimension(self.value)


@strawberry.input(description="Which figures a billing summary counts; each list means any of its values.")
class BillingSummaryFilter:
    territories: list[str] | None = strawberry.field(
        default=None, description="Territory codes of `territoryLayer`, as assigned at each service period."
    )
    site_numbers: list[str] | None = strawberry.field(default=None, description="Site numbers, 1–4 digits.")
    states: list[str] | None = strawberry.field(default=None, description="2-letter USPS codes.")
    billing_types: list[BillingType] | None = strawberry.field(default=None, description="Arrears/Advanced.")
    contract_types: list[str] | None = strawberry.field(
        default=None, description="EDW contract type labels (§1.3), exactly."
    )
    building_blocks: list[BuildingBlock] | None = strawberry.field(
        default=None, description="Lines these blocks produced (leaves out the site-month forecast)."
    )
    line_codes: list[str] | None = strawberry.field(
        default=None, description="Lines with these GL codes (leaves out the site-month forecast)."
    )
    statuses: list[StatementStatus] | None = strawberry.field(
        default=None,
        description="Versions in these statuses: SENT keeps invoiced figures, the others pending ones (leaves "
        "out the forecast and previews).",
    )


@strawberry.type(description="A territory of a summary key.")
class SummaryTerritory:
    code: str = strawberry.field(description="Territory code in the layer, e.g. `orlando`.")
    name: str = strawberry.field(description="Its current name.")


@strawberry.type(description="A group's key: the grouped dimensions' values (null where a figure has none); "
                 "the other fields are null.")  # fmt: skip
class BillingSummaryKey:
    territory: SummaryTerritory | None = strawberry.field(description="TERRITORY: as assigned at the period.")
    service_period: str | None = strawberry.field(description="SERVICE_PERIOD: YYYY-MM.")
    site_number: str | None = strawberry.field(description="SITE: the site number.")
    site_name: str | None = strawberry.field(description="SITE: the site's name.")
    state: str | None = strawberry.field(description="STATE: 2-letter USPS code.")
    billing_type: BillingType | None = strawberry.field(description="BILLING_TYPE.")
    contract_type: str | None = strawberry.field(description="CONTRACT_TYPE: the EDW label.")
    building_block: BuildingBlock | None = strawberry.field(description="BUILDING_BLOCK of the lines.")
    line_code: str | None = strawberry.field(description="LINE_CODE: GL main account of the lines.")
    statement_status: StatementStatus | None = strawberry.field(
        description="STATEMENT_STATUS of the versions."
    )


@strawberry.type(description="The pending amount of one status.")
class PendingAmount:
    status: StatementStatus = strawberry.field(description="The unsent version's status.")
    amount: Decimal = strawberry.field(description="USD.")


@strawberry.type(description="One group of a billing summary (or the grand total) and its measures, USD.")
class BillingSummaryGroup:
    key: BillingSummaryKey = strawberry.field(description="The group's key.")
    invoiced_amount: Decimal = strawberry.field(
        description="Σ lines of the latest Sent version of each statement, plus any invoice rounding (§2.10e): "
        "what the clients were billed."
    )
    invoiced_revenue: Decimal = strawberry.field(
        description="The part of `invoicedAmount` on revenue codes 4000–4999 (§3.6 Invoiced)."
    )
    pending_amount: Decimal = strawberry.field(
        description="Σ lines of the statements' unsent versions (Generating, AR Review, Approval Team, Ready To "
        "Send, Failed)."
    )
    pending_by_status: list[PendingAmount] = strawberry.field(description="`pendingAmount` by status.")
    forecast_internal_revenue: Decimal = strawberry.field(
        description="The stored P&L forecast of internal revenue of the sites and months (§3.6 Forecast)."
    )
    deviation_amount: Decimal = strawberry.field(
        description="invoicedRevenue − forecastInternalRevenue (positive: more invoiced than forecast)."
    )
    deviation_percentage: Decimal = strawberry.field(
        description="deviationAmount / forecastInternalRevenue × 100, 2 decimals; 0 without a forecast."
    )
    site_count: int = strawberry.field(description="Distinct sites with a figure in the group.")
    statement_count: int = strawberry.field(
        description="Distinct statements with a version in the group (grouped or filtered by building block "
        "or line code: with a line of it)."
    )
    previewed_amount: Decimal | None = strawberry.field(
        description="Computed on demand: Σ the invoice engine's previews of every billable site-month the "
        f"filters keep, now (at most {service.MAX_PREVIEW_SITE_MONTHS} site-months, else QUERY_TOO_COSTLY)."
    )

    computed_forecast: Decimal | None = strawberry.field(
        description="Computed on demand: the P&L forecast of internal revenue with the C# semantics (domain.md "
        "§2.13, as `forecast(siteNumber, year)`) of every site-month the filters keep, by building block (a "
        "budget fallback under a null block), now; no line code or status: those filters leave it out (at most "
        f"{service.MAX_FORECAST_SITE_MONTHS} site-months, else QUERY_TOO_COSTLY)."
    )

    @classmethod
    def of(
        cls,
        key: service.SummaryKey,
        m: service.Measures,
        *,
        by_status: bool = True,
        deviation: bool = True,
        territories: dict[int, SummaryTerritory] | None = None,
    ) -> BillingSummaryGroup:
        """The group of a key and its measures. `by_status` and `deviation` False leave out figures the request
        does not select (never read: a summary builds thousands of groups); `territories` shares one
        territory object per territory among the groups of a request."""
        territory = None
        if key.territory is not None:
            cache = territories if territories is not None else {}
            territory = cache.get(key.territory.id)
            if territory is None:
                territory = cache[key.territory.id] = SummaryTerritory(
                    code=key.territory.code, name=key.territory.name
                )
        period = key.service_period
        return cls(
            key=BillingSummaryKey(
                territory=territory,
                service_period=None if period is None else f"{period.year:04d}-{period.month:02d}",
                site_number=key.site_number,
                site_name=key.site_name,
                state=key.state,
                billing_type=None if key.billing_type is None else BillingTypeCode[key.billing_type],
                contract_type=key.contract_type,
                building_block=None if key.building_block is None else BlockCode[key.building_block],
                line_code=key.line_code,
                statement_status=None if key.statement_status is None else StatusCode[key.statement_status],
            ),
            invoiced_amount=m.invoiced,
            invoiced_revenue=m.invoiced_revenue,
            pending_amount=m.pending,
            pending_by_status=[
                PendingAmount(status=StatusCode[s], amount=a) for s, a in m.pending_by_status.items()
            ]
            if by_status
            else [],
            forecast_internal_revenue=m.forecast,
            deviation_amount=m.deviation if deviation else ZERO,
            deviation_percentage=m.deviation_percentage if deviation else ZERO,
            site_count=m.site_count,
            statement_count=m.statement_count,
            previewed_amount=m.previewed,
            computed_forecast=m.computed_forecast,
        )


@strawberry.type(description="Billing figures grouped as asked, with the grand total.")
class BillingSummary:
    from_period: str = strawberry.field(description="First service period, YYYY-MM.")
    to_period: str = strawberry.field(description="Last service period, YYYY-MM (inclusive).")
    territory_layer: str | None = strawberry.field(description="The layer of the territory dimension.")
    group_by: list[SummaryDimension] = strawberry.field(description="The dimensions of the keys, as asked.")
    groups: list[BillingSummaryGroup] = strawberry.field(
        description="One per distinct key, ordered by the keys in `groupBy` order, nulls last."
    )
    total: BillingSummaryGroup = strawberry.field(
        description="Over every figure of the request (its key is all null): the groups' money adds up to it."
    )


@strawberry.enum(description="What the contract portfolio groups by.")
class ContractDimension(enum.Enum):
    CONTRACT_TYPE = strawberry.enum_value("contract_type", description="The EDW type label (§1.3).")
    BILLING_TYPE = strawberry.enum_value("billing_type", description="Arrears or Advanced (§1.3).")
    BUILDING_BLOCK = strawberry.enum_value(
        "building_block",
        description="Each enabled building block (§1.4): a hybrid counts once in each of its blocks, so these "
        "groups add up to more than the total; null: a contract with no block.",
    )
    STATUS = strawberry.enum_value("status", description="The contract's lifecycle status.")
    STATE = strawberry.enum_value("state", description="The site's state.")
    TERRITORY = strawberry.enum_value(
        "territory", description="The territory of `territoryLayer` the site is in now; null: unassigned."
    )


@strawberry.type(description="A contract portfolio group's key; dimensions not grouped are null.")
class ContractPortfolioKey:
    contract_type: str | None = strawberry.field(description="CONTRACT_TYPE.")
    billing_type: BillingType | None = strawberry.field(description="BILLING_TYPE.")
    building_block: BuildingBlock | None = strawberry.field(description="BUILDING_BLOCK.")
    status: ContractStatus | None = strawberry.field(description="STATUS.")
    state: str | None = strawberry.field(description="STATE.")
    territory: SummaryTerritory | None = strawberry.field(description="TERRITORY, now.")


@strawberry.type(description="Contracts and sites of one group.")
class ContractPortfolioGroup:
    key: ContractPortfolioKey = strawberry.field(description="The group's key.")
    contract_count: int = strawberry.field(description="Contracts.")
    site_count: int = strawberry.field(description="Their sites.")

    @classmethod
    def of(cls, group: service.PortfolioGroup) -> ContractPortfolioGroup:
        k = group.key
        territory = k.get(ContractKey.TERRITORY)
        billing_type = k.get(ContractKey.BILLING_TYPE)
        block = k.get(ContractKey.BUILDING_BLOCK)
        status = k.get(ContractKey.STATUS)
        return cls(
            key=ContractPortfolioKey(
                contract_type=k.get(ContractKey.CONTRACT_TYPE),
                billing_type=None if billing_type is None else BillingTypeCode[billing_type],
                building_block=None if block is None else BlockCode[block],
                status=None if status is None else ContractStatus(status),
                state=k.get(ContractKey.STATE),
                territory=None
                if territory is None
                else SummaryTerritory(code=territory.code, name=territory.name),
            ),
            contract_count=group.contracts,
            site_count=group.sites,
        )


@strawberry.type(
    description="The contract portfolio (the legacy portfolio overview and revenue-by-type reports)."
)
class ContractPortfolio:
    group_by: list[ContractDimension] = strawberry.field(description="The dimensions, as asked.")
    groups: list[ContractPortfolioGroup] = strawberry.field(description="By key, nulls last.")
    total: ContractPortfolioGroup = strawberry.field(description="Every contract the caller sees.")


@strawberry.type(description="How many waiting statements have waited this long.")
class AgeBand:
    from_days: int = strawberry.field(description="First whole day of the band.")
    to_days: int | None = strawberry.field(description="Last whole day; null: open-ended.")
    statement_count: int = strawberry.field(description="Statements in the band.")


@strawberry.type(description="Statements waiting in one status (or in any, for the total).")
class StatementAgingGroup:
    status: StatementStatus | None = strawberry.field(description="The status; null in the total.")
    statement_count: int = strawberry.field(description="Statements whose unsent version is in it.")
    site_count: int = strawberry.field(description="Their sites.")
    amount: Decimal = strawberry.field(description="Σ their invoices, USD.")
    oldest_days: int = strawberry.field(description="Whole days the longest-waiting one has been in it.")
    average_days: float = strawberry.field(description="Average days waited, 1 decimal.")
    bands: list[AgeBand] = strawberry.field(description="Counts by days waited: 0–2, 3–7, 8–30, 31+.")


@strawberry.type(
    description="What waits in AR Review, Approval Team or Ready To Send, and for how long (§3.5)."
)
class StatementAging:
    as_of: dt.datetime = strawberry.field(description="The instant the ages are measured at.")
    groups: list[StatementAgingGroup] = strawberry.field(
        description="One per status with a waiting statement."
    )
    total: StatementAgingGroup = strawberry.field(description="Every waiting statement.")


def _aging(group: service.AgingGroup) -> StatementAgingGroup:
    return StatementAgingGroup(
        status=None if group.status is None else StatusCode[group.status],
        statement_count=group.statements,
        site_count=group.sites,
        amount=group.amount,
        oldest_days=group.oldest_days,
        average_days=float(group.average_days),
        bands=[AgeBand(from_days=a, to_days=b, statement_count=n) for a, b, n in group.bands],
    )


@strawberry.type(description="A territory's sites, area and density (the territory performance report).")
class TerritoryStatistics:
    code: str = strawberry.field(description="Territory code.")
    name: str = strawberry.field(description="Its name.")
    area_km2: float = strawberry.field(description="Geodesic area, km².")
    site_count: int = strawberry.field(description="Sites the caller sees, assigned to it now.")
    active_site_count: int = strawberry.field(description="Of those, the active ones.")
    parking_spaces: int = strawberry.field(description="Σ their parking spaces (unknown counts as 0).")
    rooms: int = strawberry.field(description="Σ their rooms (unknown counts as 0).")
    sites_per_1000_km2: float | None = strawberry.field(
        description="siteCount / areaKm2 × 1000; null: no area."
    )


def _selects(selections: Any, name: str) -> bool:
    for selection in selections or ():
        if getattr(selection, "name", None) == name:
            return True
        if _selects(getattr(selection, "selections", ()), name):
            return True
    return False


def request_of(
    group_by: list[SummaryDimension],
    from_period: str,
    to_period: str,
    territory_layer: str | None,
    filter: BillingSummaryFilter | None,
    *,
    measures: frozenset[str] | None = None,
) -> service.SummaryRequest:
    """The checked request of the arguments (also the export's, so a URL and a query mean the same)."""
    f = filter or BillingSummaryFilter()
    return service.summary_request(
        group_by=[d.dimension for d in group_by],
        from_period=from_period,
        to_period=to_period,
        layer=territory_layer,
        filter=service.SummaryFilter(
            territories=tuple(f.territories or ()),
            site_numbers=tuple(f.site_numbers or ()),
            states=tuple(f.states or ()),
            billing_types=tuple(b.name for b in f.billing_types or ()),
            contract_types=tuple(f.contract_types or ()),
            building_blocks=tuple(b.name for b in f.building_blocks or ()),
            line_codes=tuple(f.line_codes or ()),
            statuses=tuple(s.name for s in f.statuses or ()),
        ),
        measures=measures,
    )


# The stored measures each field of a group reads (the others are not computed: a field not selected is
# never read, on either path).
MEASURES_OF_FIELDS: dict[str, tuple[str, ...]] = {
    "invoicedAmount": ("invoiced",),
    "invoicedRevenue": ("invoiced_revenue",),
    "pendingAmount": ("pending",),
    "pendingByStatus": tuple(f"pending_{s.lower()}" for s in service.PENDING_STATUSES),
    "forecastInternalRevenue": ("forecast",),
    "deviationAmount": ("invoiced_revenue", "forecast"),
    "deviationPercentage": ("invoiced_revenue", "forecast"),
    "siteCount": ("sites",),
    "statementCount": ("statements",),
}


# The roots' computations, shared by the resolvers and the fast path (schema.plain): (context, whether the
# selection names a field, the arguments) → the plain object the root returns.


def _never(name: str) -> bool:
    return False


@plain_root("billingSummary")
async def billing_summary(
    context: Context,
    mentions: Callable[[str], bool],
    *,
    group_by: list[SummaryDimension],
    from_period: str,
    to_period: str,
    territory_layer: str | None = None,
    filter: BillingSummaryFilter | None = None,
) -> BillingSummary:
    measures = frozenset(m for name, needs in MEASURES_OF_FIELDS.items() if mentions(name) for m in needs)
    request = request_of(group_by, from_period, to_period, territory_layer, filter, measures=measures)
    summary = await service.billing_summary(
        context, request, previews=mentions("previewedAmount"), forecasts=mentions("computedForecast")
    )
    by_status = mentions("pendingByStatus")
    deviation = mentions("deviationAmount") or mentions("deviationPercentage")
    territories: dict[int, SummaryTerritory] = {}

    def group(key: service.SummaryKey, measures: service.Measures) -> BillingSummaryGroup:
        return BillingSummaryGroup.of(
            key, measures, by_status=by_status, deviation=deviation, territories=territories
        )

    return BillingSummary(
        from_period=str(request.first),
        to_period=str(request.last),
        territory_layer=request.layer,
        group_by=list(group_by),
        groups=[group(g.key, g.measures) for g in summary.groups],
        total=group(service.SummaryKey(), summary.total),
    )


@plain_root("contractPortfolio")
async def contract_portfolio(
    context: Context,
    mentions: Callable[[str], bool],
    *,
    group_by: list[ContractDimension],
    territory_layer: str | None = None,
) -> ContractPortfolio:
    groups, total = await service.contract_portfolio(
        context, [ContractKey(d.value) for d in group_by], territory_layer
    )
    return ContractPortfolio(
        group_by=list(group_by),
        groups=[ContractPortfolioGroup.of(g) for g in groups],
        total=ContractPortfolioGroup.of(total),
    )


@plain_root("statementAging")
async def statement_aging(
    context: Context, mentions: Callable[[str], bool], *, as_of: dt.datetime | None = None
) -> StatementAging:
    at, groups = await service.statement_aging(context, as_of)
    return StatementAging(as_of=at, groups=[_aging(g) for g in groups[:-1]], total=_aging(groups[-1]))


@plain_root("territoryStatistics")
async def territory_statistics(
    context: Context, mentions: Callable[[str], bool], *, layer: str
) -> list[TerritoryStatistics]:
    return [
        TerritoryStatistics(
            code=t.code,
            name=t.name,
            area_km2=t.area_km2,
            site_count=t.sites,
            active_site_count=t.active_sites,
            parking_spaces=t.parking_spaces,
            rooms=t.rooms,
            sites_per_1000_km2=t.sites_per_1000_km2,
        )
        for t in await service.territory_statistics(context, layer)
    ]


@strawberry.type
class ReportingRoot:
    @strawberry.field(
        description="Billing totals grouped by any of territory (as assigned at each service period), service "
        "period, site, state, billing type, contract type, building block, line code and statement status, "
        "filtered on the same, over a range of at most 36 service periods. The stored measures are one SQL "
        "statement; `previewedAmount`, when selected, runs the invoice engine. Errors: BAD_USER_INPUT naming "
        "the argument (period, range, unknown layer or territory code, repeated dimension), QUERY_TOO_COSTLY "
        "(too many groups or previews)."
    )
    async def billing_summary(
        self,
        info: Ctx,
        group_by: Annotated[
            list[SummaryDimension],
            strawberry.argument(description="Dimensions, in key order; [] = total only."),
        ],
        from_period: Annotated[str, strawberry.argument(description="First service period, YYYY-MM.")],
        to_period: Annotated[
            str, strawberry.argument(description="Last service period, YYYY-MM, inclusive.")
        ],
        territory_layer: Annotated[
            str | None,
            strawberry.argument(
                description="Layer code of the territory dimension and filter, e.g. `districts`."
            ),
        ] = None,
        filter: Annotated[
            BillingSummaryFilter | None, strawberry.argument(description="Which figures count.")
        ] = None,
    ) -> BillingSummary:
        return await billing_summary(
            info.context,
            lambda name: _selects(info.selected_fields, name),
            group_by=group_by,
            from_period=from_period,
            to_period=to_period,
            territory_layer=territory_layer,
            filter=filter,
        )

    @strawberry.field(
        description="Contracts by type, billing type, building block, lifecycle status, state and current "
        "territory, with the total (one SQL statement). Renewal and expiry tracking: `contractsDueForRenewal`, "
        "`contractsExpiring`."
    )
    async def contract_portfolio(
        self,
        info: Ctx,
        group_by: Annotated[
            list[ContractDimension], strawberry.argument(description="Dimensions, in key order.")
        ],
        territory_layer: Annotated[
            str | None, strawberry.argument(description="Layer of the TERRITORY dimension.")
        ] = None,
    ) -> ContractPortfolio:
        return await contract_portfolio(
            info.context, _never, group_by=group_by, territory_layer=territory_layer
        )

    @strawberry.field(
        description="Statements waiting (their unsent version) by status and by how long they have been in it "
        "(one SQL statement)."
    )
    async def statement_aging(
        self,
        info: Ctx,
        as_of: Annotated[
            dt.datetime | None, strawberry.argument(description="Measure ages at this instant; default now.")
        ] = None,
    ) -> StatementAging:
        return await statement_aging(info.context, _never, as_of=as_of)

    @strawberry.field(description="Every current territory of a layer with its sites, area and density.")
    async def territory_statistics(
        self,
        info: Ctx,
        layer: Annotated[str, strawberry.argument(description="Layer code, e.g. `districts`.")],
    ) -> list[TerritoryStatistics]:
        return await territory_statistics(info.context, _never, layer=layer)


__all__ = ["BillingSummary", "BillingSummaryFilter", "ReportingRoot", "SummaryDimension", "request_of"]
