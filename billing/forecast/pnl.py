"""Forecast P&L pipeline, C# ``PnlService`` (domain.md §2.12, §2.13, §7 #1, #11, #12, #13, #14).

Per year, per month, per site:

1. **External revenue** (§2.12) first. Without statistics the site's external value is its budget
   ``ExternalRevenue`` (``external_is_forecast`` False) and the internal calculators see 0 external revenue.
2. **Internal calculators in registration order** (:data:`INTERNAL_CALCULATOR_ORDER`): FixedFee →
   PerOccupiedRoom → PerLaborHour → RevenueShare → AdditionalPayroll → BillablePteb → SupportServices →
   ExpenseAccount. Order matters: SupportServices of payroll type "Total" reads the PTEB just computed.
3. **Site value** = total internal revenue = FF + POR + PLH + RS + BillableAccounts (= additional payroll +
   PTEB + support + expense accounts). If no calculator produced data (no forecastable building block on the
   contract) the site value is its budget ``InternalRevenue`` (``internal_is_forecast`` False).
4. **Month totals** per component and overall.

**Management Agreement is out of scope** (§2.10 "Forecast", §7 #14): the C# pipeline has the interface and
ordering but no registered calculator, so MA contributes nothing here either; a site whose only block is MA
falls back to its budget.

Deviation from C# (documented): each internal calculator returns no data unless its building block is on
the contract (C# computes FF/POR/PLH/RS from whatever rows exist, which only exist for enabled blocks), so the
budget fallback of step 3 is reachable.

Decisions and their legacy switches (:class:`ForecastOptions`, all False = decided behaviour):

* §7 #1 — revenue-share tiers are lower bounds; the C# next-tier index bug is fixed
  (``legacy_unsorted_next_tier`` reproduces it, F-5: 0.00 instead of 11,250.00).
* §7 #11 — PTEB escalator "FixedAmount" is additive (``legacy_ignore_fixed_amount_escalator``: never applied).
* §7 #12 — statistics: Forecast rows, else Actual (``legacy_sum_all_statistic_types``: all types summed).
* §7 #13 — the site total includes PLH, and the month total is Σ site values
  (``legacy_site_total_without_plh``: site totals omit PLH as the C# calculators recompute them, while the month
  total is the C# central aggregation FF + POR + RS + PLH + BillableAccounts of the sites' breakdowns, which
  leaves budget-fallback site values out).
* §7 #24 — PLH hours = payroll regular hours with the site-total budget fallback, flagged in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money
from .billable_accounts import (
    AdditionalPayrollForecast,
    ExpenseAccountsForecast,
    PtebForecast,
    SupportServicesForecast,
    forecast_additional_payroll,
    forecast_billable_pteb,
    forecast_expense_accounts,
    forecast_support_services,
)
from .external_revenue import ExternalRevenueForecast, forecast_external_revenue
from .fixed_fee import FixedFeeForecast, forecast_fixed_fee
from .inputs import BudgetRow, SiteForecastInput
from .labor_hours import PerLaborHourForecast, forecast_per_labor_hour
from .occupied_rooms import PerOccupiedRoomForecast, forecast_per_occupied_room
from .revenue_share import RevenueShareForecast, forecast_revenue_share

__all__ = [
    "INTERNAL_CALCULATOR_ORDER",
    "BillableAccountsForecast",
    "ForecastOptions",
    "MonthForecast",
    "PnlForecast",
    "SiteMonthForecast",
    "forecast_month",
    "forecast_site_month",
    "forecast_year",
]


@dataclass(frozen=True, slots=True)
class ForecastOptions:
    """Legacy switches of the forecast; the defaults are the §7 decisions (see the module docstring)."""

    legacy_unsorted_next_tier: bool = False
    legacy_sum_all_statistic_types: bool = False
    legacy_site_total_without_plh: bool = False
    legacy_ignore_fixed_amount_escalator: bool = False


@dataclass(frozen=True, slots=True)
class BillableAccountsForecast:
    """The four billable-account pieces of a site and month; ``total`` = Σ of those present (USD)."""

    additional_payroll: AdditionalPayrollForecast | None
    pteb: PtebForecast | None
    support_services: SupportServicesForecast | None
    expense_accounts: ExpenseAccountsForecast | None
    total: Decimal


@dataclass(frozen=True, slots=True)
class SiteMonthForecast:
    """One site's forecast of one month.

    ``external_revenue`` is the calculated breakdown (``None`` ⇒ ``external_revenue_value`` is the budget and
    ``external_is_forecast`` False). Internal component results are ``None`` when the calculator produced no
    data. ``internal_revenue_value`` is ``CalculatedTotalInternalRevenue`` (with PLH unless the legacy switch
    is on) or the budget fallback (``internal_is_forecast`` False). ``steps`` = (calculator, total or None) in
    run order; ``warnings`` collects flagged defects (§7 #24) and out-of-scope notes (§7 #14).
    """

    site_number: str
    period: ServicePeriod
    external_revenue: ExternalRevenueForecast | None
    external_revenue_value: Decimal
    external_is_forecast: bool
    fixed_fee: FixedFeeForecast | None
    per_occupied_room: PerOccupiedRoomForecast | None
    per_labor_hour: PerLaborHourForecast | None
    revenue_share: RevenueShareForecast | None
    billable_accounts: BillableAccountsForecast | None
    internal_revenue_value: Decimal
    internal_is_forecast: bool
    steps: tuple[tuple[str, Decimal | None], ...]
    warnings: tuple[str, ...]
    explanation: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonthForecast:
    """All sites of one month with per-component sums (USD, unrounded; absent components count 0).

    ``internal_revenue`` = Σ site internal values (legacy: C# central aggregation, see module docstring);
    ``external_revenue`` = Σ site external values (calculated or budget).
    """

    period: ServicePeriod
    sites: tuple[SiteMonthForecast, ...]
    fixed_fee: Decimal
    per_occupied_room: Decimal
    per_labor_hour: Decimal
    revenue_share: Decimal
    additional_payroll: Decimal
    pteb: Decimal
    support_services: Decimal
    expense_accounts: Decimal
    billable_accounts: Decimal
    internal_revenue: Decimal
    external_revenue: Decimal


@dataclass(frozen=True, slots=True)
class PnlForecast:
    """Forecast of a year: ``months`` 1..12 in order."""

    year: int
    months: tuple[MonthForecast, ...]


# --- the pipeline ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """Working state of one site-month while the calculators run (private, mutable)."""

    site: SiteForecastInput
    period: ServicePeriod
    external_revenue: Decimal
    options: ForecastOptions
    fixed_fee: FixedFeeForecast | None = None
    per_occupied_room: PerOccupiedRoomForecast | None = None
    per_labor_hour: PerLaborHourForecast | None = None
    revenue_share: RevenueShareForecast | None = None
    additional_payroll: AdditionalPayrollForecast | None = None
    pteb: PtebForecast | None = None
    support_services: SupportServicesForecast | None = None
    expense_accounts: ExpenseAccountsForecast | None = None
    lines: list[str] = field(default_factory=list)


def _fixed_fee(run: _Run) -> Decimal | None:
    run.fixed_fee = forecast_fixed_fee(run.site.contract, run.period)
    return None if run.fixed_fee is None else run.fixed_fee.total


def _per_occupied_room(run: _Run) -> Decimal | None:
    run.per_occupied_room = forecast_per_occupied_room(
        run.site.contract,
        run.site.facts,
        run.period,
        legacy_sum_all_statistic_types=run.options.legacy_sum_all_statistic_types,
    )
    return None if run.per_occupied_room is None else run.per_occupied_room.total


def _per_labor_hour(run: _Run) -> Decimal | None:
    run.per_labor_hour = forecast_per_labor_hour(run.site.contract, run.site.facts, run.period)
    return None if run.per_labor_hour is None else run.per_labor_hour.total


def _revenue_share(run: _Run) -> Decimal | None:
    run.revenue_share = forecast_revenue_share(
        run.site.contract,
        run.period,
        run.external_revenue,
        legacy_unsorted_next_tier=run.options.legacy_unsorted_next_tier,
    )
    return None if run.revenue_share is None else run.revenue_share.total


def _additional_payroll(run: _Run) -> Decimal | None:
    run.additional_payroll = forecast_additional_payroll(run.site.contract)
    return None if run.additional_payroll is None else run.additional_payroll.total


def _billable_pteb(run: _Run) -> Decimal | None:
    run.pteb = forecast_billable_pteb(
        run.site.contract,
        run.site.facts,
        run.period,
        legacy_ignore_fixed_amount_escalator=run.options.legacy_ignore_fixed_amount_escalator,
    )
    return None if run.pteb is None else run.pteb.total


def _support_services(run: _Run) -> Decimal | None:
    # Reads the PTEB computed by the previous calculator (payroll type "Total", §2.13).
    run.support_services = forecast_support_services(run.site.contract, run.site.facts, run.period, run.pteb)
    return None if run.support_services is None else run.support_services.total


def _expense_accounts(run: _Run) -> Decimal | None:
    run.expense_accounts = forecast_expense_accounts(run.site.contract, run.site.facts, run.period)
    return None if run.expense_accounts is None else run.expense_accounts.total


_INTERNAL_CALCULATORS: tuple[tuple[str, Callable[[_Run], Decimal | None]], ...] = (
    ("FixedFee", _fixed_fee),
    ("PerOccupiedRoom", _per_occupied_room),
    ("PerLaborHour", _per_labor_hour),
    ("RevenueShare", _revenue_share),
    ("AdditionalPayroll", _additional_payroll),
    ("BillablePteb", _billable_pteb),
    ("SupportServices", _support_services),
    ("ExpenseAccount", _expense_accounts),
)

INTERNAL_CALCULATOR_ORDER: tuple[str, ...] = tuple(name for name, _ in _INTERNAL_CALCULATORS)
"""The C# registration order of the internal-revenue calculators (§2.13)."""


def _total(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


def forecast_site_month(
    site: SiteForecastInput, period: ServicePeriod, options: ForecastOptions = ForecastOptions()
) -> SiteMonthForecast:
    """Forecast one site for one month through the whole pipeline (§2.13; see the module docstring)."""
    contract, facts = site.contract, site.facts
    lines = [f"§2.13 forecast P&L (C# PnlService) of site {contract.site_number} for {period}"]
    warnings: list[str] = []

    external = forecast_external_revenue(
        facts, period, legacy_sum_all_statistic_types=options.legacy_sum_all_statistic_types
    )
    if external is None:
        budget = facts.budget_value(BudgetRow.EXTERNAL_REVENUE, period)
        external_value = _total(budget)
        lines.append(
            f"external revenue: no statistics ⇒ budget {money(external_value)}"
            + (" (absent ⇒ 0)" if budget is None else "")
            + "; internal calculators see external revenue 0"
        )
    else:
        external_value = external.total
        lines.append(f"external revenue (calculated): {money(external_value)}")

    run = _Run(
        site=site,
        period=period,
        external_revenue=ZERO if external is None else external.total,
        options=options,
    )
    steps: list[tuple[str, Decimal | None]] = []
    for name, calculate in _INTERNAL_CALCULATORS:
        result = calculate(run)
        steps.append((name, result))
        lines.append(f"{name}: {'no data' if result is None else money(result)}")

    billable_parts = (run.additional_payroll, run.pteb, run.support_services, run.expense_accounts)
    billable: BillableAccountsForecast | None = None
    if any(part is not None for part in billable_parts):
        billable = BillableAccountsForecast(
            additional_payroll=run.additional_payroll,
            pteb=run.pteb,
            support_services=run.support_services,
            expense_accounts=run.expense_accounts,
            total=sum((part.total for part in billable_parts if part is not None), ZERO),
        )
    if run.per_labor_hour is not None:
        warnings.extend(run.per_labor_hour.warnings)
    if contract.enables(BuildingBlock.MANAGEMENT_AGREEMENT):
        warnings.append(
            "Management Agreement is not forecast (no C# calculator registered, §2.10, §7 #14): contributes 0"
        )

    components = {
        "FixedFee": run.fixed_fee.total if run.fixed_fee else None,
        "PerOccupiedRoom": run.per_occupied_room.total if run.per_occupied_room else None,
        "PerLaborHour": run.per_labor_hour.total if run.per_labor_hour else None,
        "RevenueShare": run.revenue_share.total if run.revenue_share else None,
        "BillableAccounts": billable.total if billable else None,
    }
    produced = any(value is not None for value in components.values())
    if produced:
        counted = {
            name: value
            for name, value in components.items()
            if value is not None and not (options.legacy_site_total_without_plh and name == "PerLaborHour")
        }
        internal_value = sum(counted.values(), ZERO)
        formula = " + ".join(f"{name} {money(value)}" for name, value in counted.items())
        lines.append(f"site internal revenue = {formula or '0'} = {money(internal_value)}")
        if options.legacy_site_total_without_plh and components["PerLaborHour"] is not None:
            lines.append("legacy (§7 #13): PerLaborHour left out of the site total")
    else:
        budget = facts.budget_value(BudgetRow.INTERNAL_REVENUE, period)
        internal_value = _total(budget)
        lines.append(
            f"no calculator produced data ⇒ budget internal revenue {money(internal_value)}"
            + (" (absent ⇒ 0)" if budget is None else "")
        )
    lines.extend(warnings)
    return SiteMonthForecast(
        site_number=contract.site_number,
        period=period,
        external_revenue=external,
        external_revenue_value=external_value,
        external_is_forecast=external is not None,
        fixed_fee=run.fixed_fee,
        per_occupied_room=run.per_occupied_room,
        per_labor_hour=run.per_labor_hour,
        revenue_share=run.revenue_share,
        billable_accounts=billable,
        internal_revenue_value=internal_value,
        internal_is_forecast=produced,
        steps=tuple(steps),
        warnings=tuple(warnings),
        explanation=tuple(lines),
    )


def _sum(values: Sequence[Decimal | None]) -> Decimal:
    return sum((value for value in values if value is not None), ZERO)


def forecast_month(
    sites: Sequence[SiteForecastInput], period: ServicePeriod, options: ForecastOptions = ForecastOptions()
) -> MonthForecast:
    """Forecast every site for ``period`` (in the given order) and aggregate the month (§2.13).

    T-5 (e): PTEB 500 + 750 + 250 → month PTEB 1,500.00. T-6: support 1,500 + 2,000 + 750 → 4,250.00.
    """
    results = tuple(forecast_site_month(site, period, options) for site in sites)
    fixed_fee = _sum([r.fixed_fee.total if r.fixed_fee else None for r in results])
    rooms = _sum([r.per_occupied_room.total if r.per_occupied_room else None for r in results])
    labor = _sum([r.per_labor_hour.total if r.per_labor_hour else None for r in results])
    share = _sum([r.revenue_share.total if r.revenue_share else None for r in results])
    accounts = [r.billable_accounts for r in results if r.billable_accounts is not None]
    additional = _sum([a.additional_payroll.total if a.additional_payroll else None for a in accounts])
    pteb = _sum([a.pteb.total if a.pteb else None for a in accounts])
    support = _sum([a.support_services.total if a.support_services else None for a in accounts])
    expenses = _sum([a.expense_accounts.total if a.expense_accounts else None for a in accounts])
    billable = _sum([a.total for a in accounts])
    if options.legacy_site_total_without_plh:
        internal = fixed_fee + rooms + share + labor + billable
    else:
        internal = _sum([r.internal_revenue_value for r in results])
    return MonthForecast(
        period=period,
        sites=results,
        fixed_fee=fixed_fee,
        per_occupied_room=rooms,
        per_labor_hour=labor,
        revenue_share=share,
        additional_payroll=additional,
        pteb=pteb,
        support_services=support,
        expense_accounts=expenses,
        billable_accounts=billable,
        internal_revenue=internal,
        external_revenue=_sum([r.external_revenue_value for r in results]),
    )


def forecast_year(
    sites: Sequence[SiteForecastInput], year: int, options: ForecastOptions = ForecastOptions()
) -> PnlForecast:
    """The forecast P&L of ``year``: :func:`forecast_month` for months 1..12 (C# ``GetPnlInternalRevenueDataAsync``)."""
    return PnlForecast(
        year=year, months=tuple(forecast_month(sites, ServicePeriod(year, m), options) for m in range(1, 13))
    )
