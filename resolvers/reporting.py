"""Billing aggregates for reporting clients (issue 11 §1): `billingSummary`, computed in one SQL statement.

The stored measures of a request are one `SELECT … GROUP BY GROUPING SETS ((dimensions), ())`: the groups
and the grand total come back together, from the same rows, so the groups' money always adds up to the total.
Row scopes are PostgreSQL's (every table read has its policy, migration 0008): a scoped caller's summary is the
summary of its sites, with nothing filtered here.

The facts summed, per service period (domain.md §1.6, §3.3, §3.5, §3.6):

* **invoiced**: the lines of the latest Sent version of each statement (the figure the client was billed);
  `invoiced_revenue` is the part whose code is an integer 4000–4999 (§3.6 `Invoiced`).
* **pending**: the lines of the statement's unsent version (at most one is not superseded, §3.3), by the
  status it waits in (§3.5).
* **forecast**: the stored P&L forecast of internal revenue of the site and month (`forecast_internal_revenue`,
  §3.6 `Forecast`). It is a site-month figure with no building block, line code or statement status: grouped by
  one of those it falls in the group whose key is null, and a filter on one of them leaves it out.
* **deviation**: invoiced revenue − forecast, in USD and in % of the forecast (0 without one), from each
  group's sums (signed: positive means more was invoiced than forecast; §3.6 stores the absolute values).

The territory of a fact is the site's assignment in the layer **on the last day of its service period**
(`tstzrange(valid_from, valid_to) @> towne_period_as_of(period)`, the last instant of that day in UTC): a
border moved in June leaves May's revenue in the district it was in (domain.md §4.3). Sites with no assignment
in the layer then group under a null territory.

Previewed amounts are computed on demand by the invoice engine (`resolvers.billing.compute_previews`), only
when asked for, and grouped by the same dimensions in Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import billing
from billing.money import ZERO, round2
from db.repositories import reporting as repo
from db.repositories.reporting import (
    LINE_DIMENSIONS,
    PENDING_STATUSES,
    ContractDimension,
    Dimension,
    SummaryFilter,
    SummaryRequest,
    summary_sql,
)
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import BadUserInput, QueryTooCostly

MAX_PERIODS = 36  # a summary spans at most three years of service periods
MAX_PREVIEW_SITE_MONTHS = 2000  # the engine computes ~1,000 site-months a second: keep a preview interactive
MAX_FORECAST_SITE_MONTHS = 8000  # a forecast site-month costs ~0.2 ms: a year of every site fits
CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True, slots=True)
class TerritoryKey:
    id: int
    code: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class SummaryKey:
    """A group's key: the grouped dimensions are set (each may still be null, e.g. no territory), the others
    None. `service_period` is the month's first day."""

    territory: TerritoryKey | None = None
    service_period: dt.date | None = None
    site_number: str | None = None
    site_name: str | None = None
    state: str | None = None
    billing_type: str | None = None
    contract_type: str | None = None
    building_block: str | None = None
    line_code: str | None = None
    statement_status: str | None = None


@dataclasses.dataclass(slots=True)
class Measures:
    """A group's measures: USD with 2 decimals, counts of distinct sites and statements."""

    invoiced: Decimal = ZERO
    invoiced_revenue: Decimal = ZERO
    pending: Decimal = ZERO
    pending_by_status: dict[str, Decimal] = dataclasses.field(default_factory=dict)
    forecast: Decimal = ZERO
    site_count: int = 0
    statement_count: int = 0
    previewed: Decimal | None = None
    computed_forecast: Decimal | None = None

    @property
    def deviation(self) -> Decimal:
        """Invoiced revenue − forecast (USD)."""
        return self.invoiced_revenue - self.forecast

    @property
    def deviation_percentage(self) -> Decimal:
        """Deviation in % of the forecast, rounded half-up to 2 decimals; 0 without a forecast (§3.6)."""
        if self.forecast == 0:
            return ZERO
        return (self.deviation / self.forecast * 100).quantize(CENT, rounding="ROUND_HALF_UP")


@dataclasses.dataclass(frozen=True, slots=True)
class SummaryGroup:
    key: SummaryKey
    measures: Measures


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """The groups (ordered by their keys, nulls last) and the grand total over every fact of the request."""

    request: SummaryRequest
    groups: list[SummaryGroup]
    total: Measures


def summary_request(
    *,
    group_by: Sequence[Dimension],
    from_period: str,
    to_period: str,
    layer: str | None,
    filter: SummaryFilter,
    measures: frozenset[str] | None = None,
) -> SummaryRequest:
    """Check the arguments (`measures`: the stored measures to compute, of `MEASURES`; None: all): `BAD_USER_INPUT` naming the argument for a malformed period, a range backwards or
    over `MAX_PERIODS` months, a repeated dimension, a territory grouping or filter without `territoryLayer`,
    a malformed site number or line code."""
    first = validation.service_period(from_period, argument="fromPeriod")
    last = validation.service_period(to_period, argument="toPeriod")
    if (last.year, last.month) < (first.year, first.month):
        raise BadUserInput(f"toPeriod {last} is before fromPeriod {first}", argument="toPeriod")
    if len(set(group_by)) != len(group_by):
        raise BadUserInput("groupBy names a dimension twice", argument="groupBy")
    if (Dimension.TERRITORY in group_by or filter.territories) and layer is None:
        raise BadUserInput(
            "grouping or filtering by territory needs territoryLayer (e.g. `districts`)",
            argument="territoryLayer",
        )
    if layer is not None:
        layer = validation.code(layer, argument="territoryLayer")
    checked = dataclasses.replace(
        filter,
        territories=tuple(validation.code(c, argument="filter.territories") for c in filter.territories),
        site_numbers=tuple(
            validation.site_number(n, argument="filter.siteNumbers") for n in filter.site_numbers
        ),
        line_codes=tuple(validation.gl_code(c, argument="filter.lineCodes") for c in filter.line_codes),
        states=tuple(
            validation.text(s, argument="filter.states", max_length=2).upper() for s in filter.states
        ),
        contract_types=tuple(
            validation.text(s, argument="filter.contractTypes", max_length=100) for s in filter.contract_types
        ),
    )
    request = SummaryRequest(
        group_by=tuple(group_by),
        first=first,
        last=last,
        layer=layer,
        filter=checked,
        measures=frozenset(repo.MEASURES) if measures is None else measures,
    )
    if request.periods > MAX_PERIODS:
        raise BadUserInput(
            f"fromPeriod {first} to toPeriod {last} is {request.periods} service periods; at most {MAX_PERIODS}",
            argument="toPeriod",
        )
    return request


def _reader(request: SummaryRequest, columns: Sequence[str]) -> Callable[[Sequence[Any]], SummaryGroup]:
    """The function turning a row of `summary_sql` (a tuple in `columns` order) into a group."""
    at = {name: i for i, name in enumerate(columns)}
    dimensions: list[tuple[Dimension, list[int]]] = []
    n = 0
    for dimension in request.group_by:
        width = len(repo.KEYS[dimension])
        dimensions.append((dimension, [at[f"k{j}"] for j in range(n, n + width)]))
        n += width
    invoiced, revenue, pending, forecast, sites, statements = (
        at[c] for c in ("invoiced", "invoiced_revenue", "pending", "forecast", "sites", "statements")
    )
    by_status = [(s, at[f"pending_{s.lower()}"]) for s in PENDING_STATUSES]

    territory_at = next((cells for d, cells in dimensions if d is Dimension.TERRITORY), None)
    site_at = next((cells for d, cells in dimensions if d is Dimension.SITE), None)
    plain = [(d.value, cells[0]) for d, cells in dimensions if d not in (Dimension.TERRITORY, Dimension.SITE)]
    territories: dict[int, TerritoryKey] = {}

    def read(row: Sequence[Any]) -> SummaryGroup:
        values: dict[str, Any] = {name: row[i] for name, i in plain}
        if territory_at is not None:
            id_ = row[territory_at[2]]
            if id_ is not None:
                found = territories.get(id_)
                if found is None:
                    found = territories[id_] = TerritoryKey(id_, row[territory_at[0]], row[territory_at[1]])
                values["territory"] = found
        if site_at is not None:
            values["site_number"], values["site_name"] = row[site_at[0]], row[site_at[1]]
        measures = Measures(
            invoiced=row[invoiced],
            invoiced_revenue=row[revenue],
            pending=row[pending],
            pending_by_status={s: row[i] for s, i in by_status},
            forecast=row[forecast],
            site_count=row[sites],
            statement_count=row[statements],
        )
        return SummaryGroup(SummaryKey(**values), measures)

    return read


async def billing_summary(
    ctx: Context, request: SummaryRequest, *, previews: bool = False, forecasts: bool = False
) -> Summary:
    """The summary of `request` as the caller sees it (one SQL statement for the stored measures; with
    `previews`, the engine's previews of the site-months in scope, at most `MAX_PREVIEW_SITE_MONTHS`; with
    `forecasts`, the P&L forecast computed now, domain.md §2.13, at most `MAX_FORECAST_SITE_MONTHS`).

    Errors: `BAD_USER_INPUT` for an unknown `territoryLayer` (argument `territoryLayer`) or territory code
    (`filter.territories`); `QUERY_TOO_COSTLY` for previews of too many site-months.
    """
    async with ctx.db.read() as session:
        columns, rows = await repo.summary_rows(session, request)
        total_row = rows[-1]  # the grand total sorts last and always exists
        _check_layer(request, dict(zip(columns, total_row, strict=True)))
        read = _reader(request, columns)
        groups = [read(row) for row in rows[:-1]]
        summary = Summary(request=request, groups=groups, total=read(total_row).measures)
        if previews:
            await _add_previews(session, summary)
        if forecasts:
            await _add_forecasts(session, summary)
    return summary


def _check_layer(request: SummaryRequest, row: Any) -> None:
    if request.layer is not None and row["layer_id"] is None:
        raise BadUserInput(f"no territory layer {request.layer!r}", argument="territoryLayer")
    unknown = sorted(set(request.filter.territories) - set(row["known_codes"]))
    if unknown:
        raise BadUserInput(
            f"layer {request.layer!r} has no territory {', '.join(map(repr, unknown))}",
            argument="filter.territories",
        )


# --- previews on demand ------------------------------------------------------------------------------------


Item = tuple[str | None, str | None, Decimal]  # (building block, line code, USD) of an on-demand figure


def _add_items(
    summary: Summary,
    sites: dict[uuid.UUID, dict[str, Any]],
    items: dict[tuple[uuid.UUID, billing.ServicePeriod], list[Item]],
    attribute: str,
) -> None:
    """Add each site-month's `items` to the `attribute` measure of its group and of the total, keyed and
    filtered like stored lines (no status: a status grouping puts them under a null status); a key only these
    figures have becomes a group of its own, in the SQL's order."""
    request = summary.request
    f = request.filter
    index: dict[SummaryKey, Measures] = {g.key: g.measures for g in summary.groups}  # keys are frozen
    for measures in (summary.total, *index.values()):
        setattr(measures, attribute, ZERO)
    total = ZERO
    for (site_id, period), figures in items.items():
        site = sites[site_id]
        territory = site["territories"].get(period.start)
        if f.territories and (territory is None or territory.code not in f.territories):
            continue
        for block, code, amount in figures:
            if (f.building_blocks and block not in f.building_blocks) or (
                f.line_codes and code not in f.line_codes
            ):
                continue
            key = _preview_key(request, site, territory, period, block, code)
            total += amount
            found = index.get(key)
            if found is None:
                found = index[key] = Measures()
                setattr(found, attribute, ZERO)
                summary.groups.append(SummaryGroup(key, found))
            setattr(found, attribute, getattr(found, attribute) + amount)
    setattr(summary.total, attribute, total)
    summary.groups.sort(key=lambda g: _sort_key(request, g.key))


async def _add_previews(session: Any, summary: Summary) -> None:
    """Fill `previewed` of every group and the total: the invoice engine's preview total of each billable
    site-month of the range that the filters keep (a status filter leaves previews out)."""
    from resolvers.billing import compute_previews, load_billables
    from resolvers.billing_gates import billable

    request = summary.request
    f = request.filter
    sites = {} if f.statuses else await _preview_sites(session, request)
    periods = request.first.through(request.last)
    if len(sites) * len(periods) > MAX_PREVIEW_SITE_MONTHS:
        raise QueryTooCostly(
            f"previewedAmount computes {len(sites)} sites × {len(periods)} service periods = "
            f"{len(sites) * len(periods)} previews; at most {MAX_PREVIEW_SITE_MONTHS}: narrow the filter or the "
            "period range"
        )
    billables = await load_billables(session, site_ids=list(sites)) if sites else {}
    items: dict[tuple[uuid.UUID, billing.ServicePeriod], list[Item]] = {}
    for period in periods:
        open_ = {i: b for i, b in billables.items() if billable(b.site, b.contract, period)}
        for site_id, preview in (await compute_previews(session, open_, period)).items():
            figures = items.setdefault((site_id, period), [])
            for invoice in preview.invoices:
                figures += [
                    (
                        line.building_block.name if line.building_block is not None else None,
                        line.code,
                        line.amount,
                    )
                    for line in invoice.lines
                ]
                rounding = invoice.amount - sum((line.amount for line in invoice.lines), ZERO)
                if rounding and not (f.building_blocks or f.line_codes):
                    figures.append((None, None, rounding))  # §2.10e, as for stored invoices
    _add_items(summary, sites, items, "previewed")


async def _add_forecasts(session: Any, summary: Summary) -> None:
    """Fill `computed_forecast`: the P&L forecast computed now with the C# semantics (domain.md §2.13,
    `resolvers.forecast`) of each site-month the filters keep, by building block (a budget fallback has no
    block); it has no line code or status, so those filters leave it out."""
    from resolvers.forecast import forecast_internal_revenue

    request = summary.request
    f = request.filter
    sites = {} if (f.statuses or f.line_codes) else await _preview_sites(session, request)
    months = len(sites) * request.periods
    if months > MAX_FORECAST_SITE_MONTHS:
        raise QueryTooCostly(
            f"computedForecast computes {months} site-months; at most {MAX_FORECAST_SITE_MONTHS}: narrow the "
            "filter or the period range"
        )
    figures = (
        await forecast_internal_revenue(session, list(sites), request.first, request.last) if sites else {}
    )
    # each site-month's block figure to the cent (half-up, as the forecast API shows it) before summing, so
    # the groups add up to the total exactly, as the stored measures do
    items: dict[tuple[uuid.UUID, billing.ServicePeriod], list[Item]] = {}
    for key, figure in figures.items():
        if not figure.internal_is_forecast:
            items[key] = [(None, None, round2(figure.internal_revenue))]
            continue
        items[key] = [(block.name, None, round2(amount)) for block, amount in figure.by_block()]
    _add_items(summary, sites, items, "computed_forecast")


def _sort_key(request: SummaryRequest, key: SummaryKey) -> tuple[tuple[bool, Any], ...]:
    """The SQL's order of groups (by the grouped dimensions in order, nulls last), for groups added here."""
    values = {
        Dimension.TERRITORY: key.territory.code if key.territory is not None else None,
        Dimension.SERVICE_PERIOD: key.service_period,
        Dimension.SITE: key.site_number,
        Dimension.STATE: key.state,
        Dimension.BILLING_TYPE: key.billing_type,
        Dimension.CONTRACT_TYPE: key.contract_type,
        Dimension.BUILDING_BLOCK: key.building_block,
        Dimension.LINE_CODE: key.line_code,
        Dimension.STATEMENT_STATUS: key.statement_status,
    }
    return tuple((values[d] is None, values[d] or "") for d in request.group_by)


def _preview_key(
    request: SummaryRequest,
    site: dict[str, Any],
    territory: TerritoryKey | None,
    period: billing.ServicePeriod,
    block: str | None,
    code: str | None,
) -> SummaryKey:
    values: dict[str, Any] = {}
    for dimension in request.group_by:
        match dimension:
            case Dimension.TERRITORY:
                values["territory"] = territory
            case Dimension.SERVICE_PERIOD:
                values["service_period"] = period.start
            case Dimension.SITE:
                values["site_number"], values["site_name"] = site["site_number"], site["name"]
            case Dimension.STATE:
                values["state"] = site["state"]
            case Dimension.BILLING_TYPE:
                values["billing_type"] = site["billing_type"]
            case Dimension.CONTRACT_TYPE:
                values["contract_type"] = site["contract_type"]
            case Dimension.BUILDING_BLOCK:
                values["building_block"] = block
            case Dimension.LINE_CODE:
                values["line_code"] = code
            case Dimension.STATEMENT_STATUS:
                values["statement_status"] = None
    return SummaryKey(**values)


async def _preview_sites(session: Any, request: SummaryRequest) -> dict[uuid.UUID, dict[str, Any]]:
    """The sites in scope that the site-level filters keep, with their territory per service period."""
    sites: dict[uuid.UUID, dict[str, Any]] = {}
    for row in await repo.preview_sites(session, request):
        site = sites.setdefault(
            row["id"],
            {
                "site_number": row["site_number"],
                "name": row["name"],
                "state": row["state"],
                "billing_type": row["billing_type"],
                "contract_type": row["contract_type"],
                "territories": {},
            },
        )
        territory = (
            None
            if row["territory_id"] is None
            else TerritoryKey(row["territory_id"], row["code"], row["territory_name"])
        )
        site["territories"][row["period"]] = territory
    return sites


# --- portfolio reports (issue 11 §1: the standard reports of the legacy systems) -----------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PortfolioGroup:
    """Contracts and sites of one key (`key`: dimension → value, None where the contract has none)."""

    key: dict[repo.ContractDimension, Any]
    contracts: int
    sites: int


async def contract_portfolio(
    ctx: Context, group_by: Sequence[repo.ContractDimension], layer: str | None
) -> tuple[list[PortfolioGroup], PortfolioGroup]:
    """Contracts by type, billing type, building block, lifecycle status, state or current territory, with
    the total; one SQL statement. `BAD_USER_INPUT`: a repeated dimension, TERRITORY without `territoryLayer`,
    an unknown layer."""
    if len(set(group_by)) != len(group_by):
        raise BadUserInput("groupBy names a dimension twice", argument="groupBy")
    if repo.ContractDimension.TERRITORY in group_by and layer is None:
        raise BadUserInput(
            "grouping by territory needs territoryLayer (e.g. `districts`)", argument="territoryLayer"
        )
    if layer is not None:
        layer = validation.code(layer, argument="territoryLayer")
    async with ctx.db.read() as session:
        rows = await repo.contract_portfolio_rows(session, tuple(group_by), layer)
    if layer is not None and rows[-1]["layer_id"] is None:
        raise BadUserInput(f"no territory layer {layer!r}", argument="territoryLayer")
    groups = []
    for row in rows:
        key: dict[repo.ContractDimension, Any] = {}
        i = 0
        for dimension in group_by:
            width = len(repo.CONTRACT_KEYS[dimension])
            cells = [row[f"k{j}"] for j in range(i, i + width)]
            i += width
            if dimension is repo.ContractDimension.TERRITORY:
                key[dimension] = None if cells[2] is None else TerritoryKey(cells[2], cells[0], cells[1])
            else:
                key[dimension] = cells[0]
        groups.append(PortfolioGroup(key=key, contracts=row["contracts"], sites=row["sites"]))
    return groups[:-1], PortfolioGroup(key={}, contracts=rows[-1]["contracts"], sites=rows[-1]["sites"])


AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("band_0_2", 0, 2),
    ("band_3_7", 3, 7),
    ("band_8_30", 8, 30),
    ("band_31", 31, None),
)
"""Age bands of a waiting statement, whole days (label column, first day, last day or None = open)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AgingGroup:
    """Statements waiting in `status` (None: every status): count, sites, amount (USD), days waited."""

    status: str | None
    statements: int
    sites: int
    amount: Decimal
    oldest_days: int
    average_days: Decimal
    bands: tuple[tuple[int, int | None, int], ...]  # (first day, last day or None, statements)


async def statement_aging(ctx: Context, as_of: dt.datetime | None) -> tuple[dt.datetime, list[AgingGroup]]:
    """What waits in AR Review, Approval Team, Ready To Send … (domain.md §3.5) and for how long, at `as_of`
    (default now); the last group is every status together. One SQL statement."""
    at = validation.as_of(as_of) or dt.datetime.now(dt.UTC)
    async with ctx.db.read() as session:
        rows = await repo.statement_aging_rows(session, at)
    groups = [
        AgingGroup(
            status=None if row["grand"] else row["k0"],
            statements=row["statements"],
            sites=row["sites"],
            amount=row["amount"],
            oldest_days=row["oldest_days"],
            average_days=row["average_days"],
            bands=tuple((first, last, row[label]) for label, first, last in AGE_BANDS),
        )
        for row in rows
    ]
    return at, groups


@dataclasses.dataclass(frozen=True, slots=True)
class TerritoryStatistics:
    """A territory's area (km², geodesic), the caller's sites now in it, their parking spaces and rooms, and
    the density in sites per 1,000 km² (None for a territory of no area)."""

    code: str
    name: str
    area_km2: float
    sites: int
    active_sites: int
    parking_spaces: int
    rooms: int

    @property
    def sites_per_1000_km2(self) -> float | None:
        return None if not self.area_km2 else round(self.sites / self.area_km2 * 1000, 3)


async def territory_statistics(ctx: Context, layer: str) -> list[TerritoryStatistics]:
    """Every current territory of `layer` with its statistics, by code; one SQL statement.
    `BAD_USER_INPUT` (argument `layer`) for an unknown layer."""
    code = validation.code(layer, argument="layer")
    async with ctx.db.read() as session:
        rows = await repo.territory_statistics_rows(session, code)
    if not rows:
        raise BadUserInput(f"no territory layer {code!r}", argument="layer")
    return [
        TerritoryStatistics(
            code=r["code"],
            name=r["name"],
            area_km2=round(r["area_km2"], 3),
            sites=r["sites"],
            active_sites=r["active_sites"],
            parking_spaces=r["parking_spaces"],
            rooms=r["rooms"],
        )
        for r in rows
        if r["id"] is not None
    ]


__all__ = [
    "AGE_BANDS",
    "LINE_DIMENSIONS",
    "MAX_FORECAST_SITE_MONTHS",
    "MAX_PERIODS",
    "MAX_PREVIEW_SITE_MONTHS",
    "PENDING_STATUSES",
    "AgingGroup",
    "ContractDimension",
    "Dimension",
    "Measures",
    "PortfolioGroup",
    "Summary",
    "SummaryFilter",
    "SummaryGroup",
    "SummaryKey",
    "SummaryRequest",
    "TerritoryKey",
    "TerritoryStatistics",
    "billing_summary",
    "contract_portfolio",
    "statement_aging",
    "summary_request",
    "summary_sql",
    "territory_statistics",
]
