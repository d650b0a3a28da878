"""The P&L forecast on demand: contract rows and forecast facts → `billing.forecast` (nothing persisted).

Forecast semantics, never the invoice engine's (domain.md §2.12, §2.13, §7 #1 #11 #12 #13 #14 #24): the
revenue-share tiers are lower bounds, PLH hours are forecast payroll regular hours, statistics are the
Forecast rows (else Actual), PLH counts in the site total, Management Agreement contributes nothing.

* The contract side (`ForecastContract`) of a month is the configuration in force for that service period:
  the edition of the period (amendments approved for it, `resolvers.contract_config.edition_of`), its header
  (`header_for`), and the single-row settings (billable accounts) in force on the period's first day — the
  day the forecast calculators test their rows against. A fixed-fee or labor-hour row without a start date
  (the PROD labor-hour jobs have none) is read as starting on January 1 of the forecast year: active all
  year, no historical compounding, the current-year escalator from the increment month on (the C# calculator
  needs a start date; this is our reading, documented in docs/architecture.md "The forecast API").
* The facts come from the forecast fact tables (migration 0016, `db.repositories.forecast`).
* Nothing is rounded here (the engine does not round); `Money` rounds half-up to cents for display only.

`load_forecast_sites` + `forecast_internal_revenue` are the set-based path (a fixed number of statements for
any number of sites and months); `site_forecast` is the `forecast(siteNumber, year)` query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing import BuildingBlock, ServicePeriod
from billing import forecast as fc
from billing.money import ZERO
from billing.statements import ForecastComparison, compare_with_forecast
from db.models import Contract, CustomerSite
from db.repositories import forecast as forecast_repo
from db.repositories import sites as site_repo
from db.repositories.contracts import ContractConfiguration
from resolvers import validation
from resolvers.billing import cooperatively, load_billables
from resolvers.context import Context
from resolvers.contract_config import edition_of, header_for, in_force
from resolvers.errors import BadUserInput

__all__ = [
    "ForecastFigures",
    "ForecastMonthResult",
    "ForecastSite",
    "SiteForecastResult",
    "forecast_contract",
    "forecast_internal_revenue",
    "load_forecast_sites",
    "site_forecast",
]

FIRST_YEAR, LAST_YEAR = validation.FIRST_PERIOD.year, validation.LAST_PERIOD.year


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _enum(kind: Any, value: Any) -> Any:
    return None if value is None else kind[str(value)]


def billable_account_row(settings: Mapping[str, Any]) -> fc.BillableAccountRow:
    """The forecast's reading of stored billable-account settings (snake_case, `importer.contract_config`):
    PTEB (`payroll_taxes_*`, with its escalator), support services (`payroll_support_*`) and the additional
    payroll amount (NULL ⇒ 0); the row is active (the store has no inactive billable-account rows)."""
    return fc.BillableAccountRow(
        additional_payroll_amount=_decimal(settings.get("additional_payroll_amount")) or ZERO,
        active=True,
        pteb_enabled=bool(settings.get("payroll_taxes_enabled")),
        pteb_billing_type=_enum(fc.PtebBillingType, settings.get("payroll_taxes_billing_type")),
        pteb_percentage=_decimal(settings.get("payroll_taxes_percentage")),
        pteb_escalator_enabled=bool(settings.get("payroll_taxes_escalator_enabled")),
        pteb_escalator_month=settings.get("payroll_taxes_escalator_month"),
        pteb_escalator_type=_enum(fc.EscalatorType, settings.get("payroll_taxes_escalator_type")),
        pteb_escalator_value=_decimal(settings.get("payroll_taxes_escalator_value")),
        support_enabled=bool(settings.get("payroll_support_enabled")),
        support_billing_type=_enum(fc.SupportBillingType, settings.get("payroll_support_billing_type")),
        support_payroll_type=_enum(fc.SupportPayrollType, settings.get("payroll_support_payroll_type")),
        support_amount=_decimal(settings.get("payroll_support_amount")),
    )


def forecast_contract(
    site: CustomerSite, contract: Contract, configuration: ContractConfiguration, period: ServicePeriod
) -> fc.ForecastContract:
    """The contract terms the forecast reads for `period` (§1.3, §1.5): the period's edition and header, the
    billable-account settings in force on its first day; rows in stored order (threshold structures by
    position, their tiers as stored: lower bounds here, §7 #1). Rows without a start date start on January 1
    of the period's year (see the module docstring)."""
    header = header_for(contract, configuration, period.start)
    edition = edition_of(configuration, period.start)
    year_start = dt.date(period.year, 1, 1)
    accounts = [
        c.settings
        for c in edition.components
        if c.building_block == "BILLABLE_ACCOUNTS" and in_force(c.valid_from, c.valid_to, period.start)
    ]
    return fc.ForecastContract(
        site_number=site.site_number,
        building_blocks=frozenset(BuildingBlock[b] for b in header.building_blocks),
        increment_month=header.increment_month,
        increment_amount=header.increment_percentage,
        occupied_room_rate=header.occupied_room_rate,
        fixed_fees=tuple(
            fc.FixedFeeRow(
                fee=s.fee, start_date=s.start_date or year_start, end_date=s.end_date, name=s.display_name
            )
            for s in edition.fixed_fee_services
        ),
        labor_jobs=tuple(
            fc.LaborHourJobRow(
                job_code=j.job_code,
                rate=j.rate,
                start_date=j.start_date or year_start,
                end_date=j.end_date,
                name=j.display_name,
            )
            for j in edition.labor_hour_jobs
        ),
        revenue_share=tuple(
            fc.RevenueShareStructure(
                tiers=tuple(
                    fc.ForecastTier(
                        share_percentage=Decimal(str(t["share_percentage"])), amount=Decimal(str(t["amount"]))
                    )
                    for t in s.tiers
                ),
                name=f"structure {s.position}",
            )
            for s in sorted(edition.revenue_share_thresholds, key=lambda s: s.position)
        ),
        billable_accounts=tuple(billable_account_row(settings) for settings in accounts[:1]),
    )


@dataclass(frozen=True, slots=True)
class ForecastSite:
    """A site with its contract, every configuration row and its forecast facts of the loaded periods."""

    site: CustomerSite
    contract: Contract
    configuration: ContractConfiguration
    facts: fc.ForecastFacts

    def input_for(self, period: ServicePeriod) -> fc.SiteForecastInput:
        """The engine's input for `period`: the contract in force for it and the site's facts."""
        return fc.SiteForecastInput(
            contract=forecast_contract(self.site, self.contract, self.configuration, period), facts=self.facts
        )

    def forecast(self, period: ServicePeriod) -> fc.SiteMonthForecast:
        """`billing.forecast.forecast_site_month` of `period` with the decided options (§7)."""
        return fc.forecast_site_month(self.input_for(period), period)


async def load_forecast_sites(
    session: AsyncSession,
    *,
    site_ids: Sequence[uuid.UUID],
    first: ServicePeriod,
    last: ServicePeriod,
    monthly_statistics: bool = False,
) -> dict[uuid.UUID, ForecastSite]:
    """Sites with a contract the caller may see, their configuration and forecast facts for `first`..`last`:
    13 statements whatever the number of sites and months (sites + contracts, 6 configuration tables, 6 fact
    tables). Sites without a (visible) contract are left out. `monthly_statistics`: statistic days summed
    per month in SQL (same figures, `db.repositories.forecast.load_forecast_facts`)."""
    billables = await load_billables(session, site_ids=site_ids)
    facts = await forecast_repo.load_forecast_facts(
        session, site_ids=list(billables), first=first, last=last, monthly_statistics=monthly_statistics
    )
    return {
        site_id: ForecastSite(b.site, b.contract, b.configuration, facts[site_id])
        for site_id, b in billables.items()
    }


FORECAST_BLOCKS: tuple[tuple[str, BuildingBlock], ...] = (
    ("fixed_fee", BuildingBlock.FIXED_FEE),
    ("per_occupied_room", BuildingBlock.PER_OCCUPIED_ROOM),
    ("per_labor_hour", BuildingBlock.PER_LABOR_HOUR),
    ("revenue_share", BuildingBlock.REVENUE_SHARE),
    ("billable_accounts", BuildingBlock.BILLABLE_ACCOUNTS),
)
"""The building blocks the forecast computes, in the P&L order (§2.13), by their attribute on
`billing.forecast.SiteMonthForecast` and `ForecastFigures`."""


@dataclass(frozen=True, slots=True)
class ForecastFigures:
    """Forecast internal revenue of one site and month by building block (USD, unrounded).

    ``internal_revenue`` is the engine's ``internal_revenue_value``: Σ of the blocks present (PLH included,
    §7 #13), or the budget ``InternalRevenue`` when no block produced data (``internal_is_forecast`` False).
    A block is None when its calculator produced no data (not on the contract); ``billable_accounts`` =
    additional payroll + PTEB + support services + expense accounts (those present). ``external_revenue`` is
    the calculated external revenue, or the budget when the month has no statistics
    (``external_is_forecast`` False)."""

    internal_revenue: Decimal
    internal_is_forecast: bool
    fixed_fee: Decimal | None
    per_occupied_room: Decimal | None
    per_labor_hour: Decimal | None
    revenue_share: Decimal | None
    billable_accounts: Decimal | None
    additional_payroll: Decimal | None
    pteb: Decimal | None
    support_services: Decimal | None
    expense_accounts: Decimal | None
    external_revenue: Decimal
    external_is_forecast: bool

    def by_block(self) -> list[tuple[BuildingBlock, Decimal]]:
        """(block, USD) of the blocks that produced data, in `FORECAST_BLOCKS` order."""
        return [
            (block, amount) for name, block in FORECAST_BLOCKS if (amount := getattr(self, name)) is not None
        ]

    @classmethod
    def of(cls, result: fc.SiteMonthForecast) -> ForecastFigures:
        """The figures of an engine result."""
        accounts = result.billable_accounts

        def part(value: Any) -> Decimal | None:
            return None if value is None else value.total

        return cls(
            internal_revenue=result.internal_revenue_value,
            internal_is_forecast=result.internal_is_forecast,
            fixed_fee=part(result.fixed_fee),
            per_occupied_room=part(result.per_occupied_room),
            per_labor_hour=part(result.per_labor_hour),
            revenue_share=part(result.revenue_share),
            billable_accounts=None if accounts is None else accounts.total,
            additional_payroll=None if accounts is None else part(accounts.additional_payroll),
            pteb=None if accounts is None else part(accounts.pteb),
            support_services=None if accounts is None else part(accounts.support_services),
            expense_accounts=None if accounts is None else part(accounts.expense_accounts),
            external_revenue=result.external_revenue_value,
            external_is_forecast=result.external_is_forecast,
        )


async def forecast_internal_revenue(
    session: AsyncSession,
    site_ids: Sequence[uuid.UUID],
    first_period: ServicePeriod,
    last_period: ServicePeriod,
) -> dict[tuple[uuid.UUID, ServicePeriod], ForecastFigures]:
    """Computed forecast internal revenue by building block for many sites and the service periods
    `first_period`..`last_period` (inclusive), keyed by (site id, period) — e.g. for a "computed forecast"
    measure of `billingSummary` grouped by territory (domain.md §2.13; sum `internal_revenue` per group).

    Reads in `session` (row-level security applies: sites whose contract the caller cannot see, and sites
    without a contract, are absent) in 13 statements whatever the number of sites and months, the statistic
    days summed per month in SQL; then computes on the event loop in slices (`resolvers.billing.cooperatively`).
    Amounts are unrounded `Decimal` USD. A year of all 649 demo sites: about 1.5 s (docs/architecture.md).
    Raises `ValueError` when `first_period` is after `last_period`.
    """
    if first_period > last_period:
        raise ValueError(f"first period {first_period} is after last period {last_period}")
    sites = await load_forecast_sites(
        session, site_ids=site_ids, first=first_period, last=last_period, monthly_statistics=True
    )
    keys = [(site_id, period) for site_id in sites for period in first_period.through(last_period)]
    return await cooperatively(keys, lambda key: ForecastFigures.of(sites[key[0]].forecast(key[1])))


# --- forecast(siteNumber, year) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForecastMonthResult:
    """One month of a site's forecast with the comparison against what was invoiced (§3.6).

    ``stored_forecast``: `forecast_internal_revenue` of the month (the P&L forecast statements compare with),
    None without a row. ``invoiced``: Σ lines coded 4000–4999 of the latest Sent version of the month's
    statement, None when no version is Sent. ``comparison``: §3.6's formulas with the *computed* forecast as
    Forecast and ``invoiced`` as Actual (posted 0), None without ``invoiced``."""

    period: ServicePeriod
    result: fc.SiteMonthForecast
    stored_forecast: Decimal | None
    invoiced: Decimal | None
    comparison: ForecastComparison | None


@dataclass(frozen=True, slots=True)
class SiteForecastResult:
    """A site's forecast of a calendar year: 12 months in order."""

    site: CustomerSite
    year: int
    months: tuple[ForecastMonthResult, ...]


def year_argument(value: int, *, argument: str = "year") -> int:
    """A calendar year the API forecasts: 2000..2099 (the service periods it bills, `resolvers.validation`)."""
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise BadUserInput(
            f"{argument} must be a year between {FIRST_YEAR} and {LAST_YEAR}, got {value}", argument=argument
        )
    return value


async def site_forecast(ctx: Context, site_number: str, year: int) -> SiteForecastResult | None:
    """`forecast(siteNumber, year)`: the site's 12 months of computed forecast with the stored P&L forecast,
    the invoiced revenue and the deviation. One read transaction of 16 statements. None when the caller
    cannot see the site or its contract (a gisEditor sees sites, not contracts) or the site has no contract.
    A malformed site number or a year outside 2000..2099 is `BadUserInput` naming the argument."""
    number = validation.site_number(site_number)
    year = year_argument(year)
    first, last = ServicePeriod(year, 1), ServicePeriod(year, 12)
    async with ctx.db.read() as session:
        site = (await site_repo.sites_by_number(session, site_numbers=[number])).get(number)
        if site is None:
            return None
        sites = await load_forecast_sites(session, site_ids=[site.id], first=first, last=last)
        loaded = sites.get(site.id)
        if loaded is None:
            return None
        stored = await forecast_repo.stored_forecasts(session, site_ids=[site.id], first=first, last=last)
        invoiced = await forecast_repo.invoiced_revenues(session, site_ids=[site.id], first=first, last=last)
    months = []
    for period in first.through(last):
        result = loaded.forecast(period)
        sent = invoiced.get((site.id, period))
        comparison = (
            None
            if sent is None
            else compare_with_forecast(
                forecast=result.internal_revenue_value,
                posted=ZERO,
                invoiced=sent,
                threshold_amount=None,
                threshold_percentage=None,
            )
        )
        months.append(ForecastMonthResult(period, result, stored.get((site.id, period)), sent, comparison))
    return SiteForecastResult(site=site, year=year, months=tuple(months))
