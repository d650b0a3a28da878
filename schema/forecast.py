"""The P&L forecast in the GraphQL contract: `forecast(siteNumber, year)` (domain.md §2.12, §2.13, §3.6).

Computed on demand with the forecast semantics (`billing.forecast`, kept apart from the invoice engine's);
amounts are unrounded in the engine and rounded half-up to cents only when serialised (`Money`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from billing import forecast as fc
from billing.money import ZERO
from billing.statements import compare_with_forecast
from resolvers import forecast as forecast_resolvers
from schema.common import Ctx
from schema.contracts import BuildingBlock
from schema.scalars import Rate

if TYPE_CHECKING:
    from schema.sites import Site


@strawberry.type(description="A building block's forecast internal revenue of a month (USD).")
class ForecastBlockAmount:
    building_block: BuildingBlock = strawberry.field(
        description="FIXED_FEE, PER_OCCUPIED_ROOM, PER_LABOR_HOUR, REVENUE_SHARE or BILLABLE_ACCOUNTS."
    )
    amount: Decimal = strawberry.field(description='The calculator\'s total (§2.1–§2.4, §2.9 "Forecast").')


@strawberry.type(
    description='The four billable-account forecasts of a month (§2.9 "Forecast"); a part is null when its '
    "calculator produced no data (PTEB or support services disabled)."
)
class ForecastBillableAccounts:
    additional_payroll: Decimal | None = strawberry.field(
        description="Σ additional payroll of the active rows."
    )
    pteb: Decimal | None = strawberry.field(description="Billable payroll taxes and employee benefits.")
    support_services: Decimal | None = strawberry.field(description="Support services fee.")
    expense_accounts: Decimal | None = strawberry.field(
        description="Billable-expense budget + the 12 forecastable accounts (or their budget)."
    )
    total: Decimal = strawberry.field(description="Σ of the parts present.")


@strawberry.type(description="One step of the forecast P&L pipeline (§2.13), in run order.")
class PnlLine:
    line: str = strawberry.field(
        description="The calculator: FixedFee, PerOccupiedRoom, PerLaborHour, RevenueShare, AdditionalPayroll, "
        "BillablePteb, SupportServices, ExpenseAccount."
    )
    amount: Decimal | None = strawberry.field(
        description="Its total; null: no data (block not on the contract)."
    )


@strawberry.type(
    description="A site's forecast of one service month (§2.13) and how it compares with the invoice."
)
class ForecastMonth:
    service_period: str = strawberry.field(description="YYYY-MM.")
    internal_revenue: Decimal = strawberry.field(
        description="Forecast internal revenue (the engine's site value, PLH included, §7 #13), or the budget "
        "`InternalRevenue` when no building block produced data (`internalIsForecast` false)."
    )
    internal_is_forecast: bool = strawberry.field(
        description="True: computed by the calculators; false: the budget fallback."
    )
    by_building_block: list[ForecastBlockAmount] = strawberry.field(
        description="The blocks whose calculator produced data, in pipeline order."
    )
    billable_accounts: ForecastBillableAccounts | None = strawberry.field(
        description="The billable-account parts; null without the Billable Accounts block."
    )
    external_revenue: Decimal = strawberry.field(
        description="Forecast external revenue (Σ statistic counts × parking rates, §2.12), or the budget "
        "`ExternalRevenue` when the month has no statistics (`externalIsForecast` false)."
    )
    external_is_forecast: bool = strawberry.field(
        description="True: calculated from statistics; false: the budget."
    )
    pnl_lines: list[PnlLine] = strawberry.field(description="The calculators' steps in run order (§2.13).")
    warnings: list[str] = strawberry.field(
        description="Flagged defects and scope notes (PLH budget-hours fallback §7 #24; Management Agreement "
        "not forecast §7 #14)."
    )
    explanation: list[str] = strawberry.field(description="How the figures were computed, line by line.")
    stored_forecast: Decimal | None = strawberry.field(
        description="The stored P&L forecast of the month (`forecast_internal_revenue`, §3.6 Forecast), which "
        "statements compare with; null without one."
    )
    invoiced_revenue: Decimal | None = strawberry.field(
        description="Lines coded 4000–4999 of the latest Sent version of the month's statement (§3.6 "
        "Invoiced); null when none is Sent."
    )
    deviation_amount: Decimal | None = strawberry.field(
        description="|internalRevenue − invoicedRevenue| (§3.6 formulas); null without invoicedRevenue."
    )
    deviation_percentage: Rate | None = strawberry.field(
        description="|internalRevenue − invoicedRevenue| / internalRevenue × 100, 0 when internalRevenue is "
        "0; null without invoicedRevenue."
    )


@strawberry.type(description="Totals of a forecast year (USD).")
class ForecastTotals:
    internal_revenue: Decimal = strawberry.field(description="Σ months' internal revenue.")
    external_revenue: Decimal = strawberry.field(description="Σ months' external revenue.")
    stored_forecast: Decimal | None = strawberry.field(
        description="Σ stored P&L forecast of the months that have one; null if none has."
    )
    invoiced_revenue: Decimal | None = strawberry.field(
        description="Σ invoiced revenue of the months with a Sent statement; null if none has."
    )
    deviation_amount: Decimal | None = strawberry.field(
        description="|Σ internal revenue − Σ invoiced| over the months with a Sent statement; null if none."
    )
    deviation_percentage: Rate | None = strawberry.field(
        description="That deviation / Σ internal revenue of those months × 100 (0 when it is 0); null if none."
    )


@strawberry.type(
    description="A site's P&L forecast of a calendar year, computed now with the forecast semantics (domain.md "
    "§2.12, §2.13; `billing.forecast`, not the invoice engine): 12 months by building block, the P&L lines, "
    "and the deviation against what was invoiced. Inputs: the contract configuration in force for each "
    "month and the forecast facts (SYNTHETIC in the demo). Amounts are rounded half-up to cents for display "
    "only."
)
class SiteForecast:
    year: int = strawberry.field(description="The calendar year.")
    months: list[ForecastMonth] = strawberry.field(description="January to December.")
    totals: ForecastTotals = strawberry.field(description="Year totals.")
    _result: strawberry.Private[forecast_resolvers.SiteForecastResult]

    @strawberry.field(description="The site.")
    def site(self) -> Annotated[Site, strawberry.lazy("schema.sites")]:
        from schema.sites import Site

        return Site.from_row(self._result.site)

    @classmethod
    def from_result(cls, result: forecast_resolvers.SiteForecastResult) -> SiteForecast:
        months = [_month(m) for m in result.months]
        compared = [m for m in result.months if m.invoiced is not None]
        stored = [m.stored_forecast for m in result.months if m.stored_forecast is not None]
        comparison = None
        if compared:
            comparison = compare_with_forecast(
                forecast=sum((m.result.internal_revenue_value for m in compared), ZERO),
                posted=ZERO,
                invoiced=sum((m.invoiced for m in compared if m.invoiced is not None), ZERO),
                threshold_amount=None,
                threshold_percentage=None,
            )
        totals = ForecastTotals(
            internal_revenue=sum((m.result.internal_revenue_value for m in result.months), ZERO),
            external_revenue=sum((m.result.external_revenue_value for m in result.months), ZERO),
            stored_forecast=sum(stored, ZERO) if stored else None,
            invoiced_revenue=comparison.invoiced_revenue if comparison else None,
            deviation_amount=comparison.deviation_amount if comparison else None,
            deviation_percentage=Rate(comparison.deviation_percentage) if comparison else None,
        )
        return cls(year=result.year, months=months, totals=totals, _result=result)


def _blocks(result: fc.SiteMonthForecast) -> list[ForecastBlockAmount]:
    return [
        ForecastBlockAmount(building_block=block, amount=amount)
        for block, amount in forecast_resolvers.ForecastFigures.of(result).by_block()
    ]


def _accounts(result: fc.SiteMonthForecast) -> ForecastBillableAccounts | None:
    accounts = result.billable_accounts
    if accounts is None:
        return None
    parts = (accounts.additional_payroll, accounts.pteb, accounts.support_services, accounts.expense_accounts)
    additional, pteb, support, expenses = (None if p is None else p.total for p in parts)
    return ForecastBillableAccounts(
        additional_payroll=additional,
        pteb=pteb,
        support_services=support,
        expense_accounts=expenses,
        total=accounts.total,
    )


def _month(month: forecast_resolvers.ForecastMonthResult) -> ForecastMonth:
    result, comparison = month.result, month.comparison
    return ForecastMonth(
        service_period=month.period.key,
        internal_revenue=result.internal_revenue_value,
        internal_is_forecast=result.internal_is_forecast,
        by_building_block=_blocks(result),
        billable_accounts=_accounts(result),
        external_revenue=result.external_revenue_value,
        external_is_forecast=result.external_is_forecast,
        pnl_lines=[PnlLine(line=name, amount=amount) for name, amount in result.steps],
        warnings=list(result.warnings),
        explanation=list(result.explanation),
        stored_forecast=month.stored_forecast,
        invoiced_revenue=month.invoiced,
        deviation_amount=comparison.deviation_amount if comparison else None,
        deviation_percentage=Rate(comparison.deviation_percentage) if comparison else None,
    )


@strawberry.type
class ForecastRoot:
    @strawberry.field(
        description="The site's P&L forecast of a calendar year (domain.md §2.13); null when the caller cannot "
        "see the site or its contract (as `Site.contract`), or the site has no contract. A malformed site "
        "number or a year outside 2000–2099 is BAD_USER_INPUT naming the argument."
    )
    async def forecast(
        self,
        info: Ctx,
        site_number: Annotated[str, strawberry.argument(description="1–4 digits, e.g. 0349.")],
        year: Annotated[int, strawberry.argument(description="Calendar year, 2000–2099.")],
    ) -> SiteForecast | None:
        result = await forecast_resolvers.site_forecast(info.context, site_number, year)
        return SiteForecast.from_result(result) if result else None


__all__ = ["ForecastRoot", "SiteForecast"]
