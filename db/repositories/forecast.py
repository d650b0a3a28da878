"""Forecast reads: the facts of the P&L forecast, the stored forecast and what was invoiced (domain.md §1.7,
§2.12, §2.13, §3.6).

Every function reads many sites and a range of service periods in a fixed number of statements (one per
table), whatever the number of sites or months; rows come back in a stable order, so the engine sees them in
the order its "first match" lookups expect. Row-level security (migration 0016) decides which sites' rows a
caller gets. The contract side of a forecast input (`ForecastContract`, by edition) is mapped from the
configuration rows by `resolvers.forecast`, next to the invoice engine's mapping (`resolvers.contract_config`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import ServicePeriod
from billing import forecast as fc
from billing.statements import invoiced_revenue
from db.models import (
    BillingStatement,
    ForecastInternalRevenue,
    Invoice,
    InvoiceLine,
    StatementVersion,
)
from db.models import forecast as models

__all__ = ["invoiced_revenues", "load_forecast_facts", "stored_forecasts"]


async def _period_rows(
    session: AsyncSession, model: Any, ids: Sequence[uuid.UUID], low: str, high: str, *then: str
) -> Sequence[Any]:
    """Every row of a per-period fact table (`site_id`, `period` YYYYMM, …) of the sites for the periods
    `low`..`high`, by site, period, then the columns `then`: one statement."""
    table = model.__table__
    return (
        await session.execute(
            select(*table.columns)
            .where(table.c.site_id.in_(ids), table.c.period.between(low, high))
            .order_by(table.c.site_id, table.c.period, *(table.c[name] for name in then))
        )
    ).all()


def _period(yyyymm: str) -> ServicePeriod:
    return ServicePeriod(int(yyyymm[:4]), int(yyyymm[4:]))


async def load_forecast_facts(
    session: AsyncSession,
    *,
    site_ids: Sequence[uuid.UUID],
    first: ServicePeriod,
    last: ServicePeriod,
    monthly_statistics: bool = False,
) -> dict[uuid.UUID, fc.ForecastFacts]:
    """`ForecastFacts` of every site in `site_ids` for the service periods `first`..`last` (inclusive): six
    statements. Sites without a row get empty facts (the engine then falls back to budgets, or to 0).

    Shapes (`billing.forecast.inputs`): statistic days of the periods' dates ordered by date and type;
    parking rates of the periods' years, one `ParkingRate` per year with its details by month and category;
    payroll regular hours, budget values, billable-expense budgets and other-expense forecasts of the periods.
    Periods are `YYYYMM` in the tables (text compares in calendar order). Rows are read as plain tuples, not
    ORM objects: a year of daily statistics of every site is some 85,000 rows. `monthly_statistics` reduces
    the statistic days in SQL to one row per site, month and type (the month's sums, dated the 1st): the
    figures of the forecast are the same (its explanation then counts one row a month), for ~3 % of the rows.
    """
    ids = list(site_ids)
    low, high = first.yyyymm, last.yyyymm
    statistics: dict[uuid.UUID, list[fc.SiteStatisticDetail]] = defaultdict(list)
    table = models.SiteStatisticDay
    if monthly_statistics:
        # one row per site, month and type with the month's sums, dated the 1st: the calculators only ever
        # sum a month's counts of the chosen type (§2.3, §2.12, §7 #12), and SUM of NULLs is NULL as the
        # engine's "not entered" (counts 0)
        month = func.date_trunc("month", table.date).cast(Date)
        statement = (
            select(
                table.site_id,
                month.label("date"),
                table.statistic_type,
                *(func.sum(getattr(table, name)).label(name) for name in models.STATISTIC_COUNTS),
            )
            .where(table.site_id.in_(ids), table.date.between(first.start, last.end))
            .group_by(table.site_id, month, table.statistic_type)
            .order_by(table.site_id, month, table.statistic_type)
        )
    else:
        statement = (
            select(*table.__table__.columns)
            .where(table.site_id.in_(ids), table.date.between(first.start, last.end))
            .order_by(table.site_id, table.date, table.statistic_type)
        )
    statistic_rows = await session.execute(statement)
    for day in statistic_rows.all():
        statistics[day.site_id].append(
            fc.SiteStatisticDetail(
                date=day.date,
                type=fc.StatisticType[day.statistic_type],
                occupied_rooms=day.occupied_rooms,
                valet_daily=day.valet_daily,
                valet_monthly=day.valet_monthly,
                valet_overnight=day.valet_overnight,
                valet_aggregator=day.valet_aggregator,
                self_daily=day.self_daily,
                self_monthly=day.self_monthly,
                self_overnight=day.self_overnight,
                self_aggregator=day.self_aggregator,
            )
        )

    rates: dict[uuid.UUID, dict[int, list[fc.ParkingRateDetail]]] = defaultdict(dict)
    rate_rows = await session.execute(
        select(*models.ParkingRate.__table__.columns)
        .where(
            models.ParkingRate.site_id.in_(ids),
            models.ParkingRate.year.between(first.year, last.year),
        )
        .order_by(
            models.ParkingRate.site_id,
            models.ParkingRate.year,
            models.ParkingRate.month,
            models.ParkingRate.category,
        )
    )
    for rate in rate_rows.all():
        rates[rate.site_id].setdefault(rate.year, []).append(
            fc.ParkingRateDetail(month=rate.month, category=fc.RateCategory[rate.category], rate=rate.rate)
        )

    payroll: dict[uuid.UUID, list[fc.PayrollDetail]] = defaultdict(list)
    for hours in await _period_rows(session, models.ForecastPayrollHours, ids, low, high, "job_code"):
        payroll[hours.site_id].append(
            fc.PayrollDetail(
                period=_period(hours.period), job_code=hours.job_code, regular_hours=hours.regular_hours
            )
        )

    budget: dict[uuid.UUID, list[fc.BudgetEntry]] = defaultdict(list)
    for entry in await _period_rows(session, models.BudgetValue, ids, low, high, "budget_row"):
        budget[entry.site_id].append(
            fc.BudgetEntry(
                row=fc.BudgetRow[entry.budget_row], period=_period(entry.period), value=entry.value
            )
        )

    expenses: dict[uuid.UUID, list[fc.BillableExpenseBudget]] = defaultdict(list)
    for record in await _period_rows(session, models.BillableExpenseBudget, ids, low, high):
        expenses[record.site_id].append(
            fc.BillableExpenseBudget(
                period=_period(record.period),
                payroll_expense_budget=record.payroll_expense_budget,
                billable_expense_budget=record.billable_expense_budget,
                other_expense_budget=record.other_expense_budget,
            )
        )

    others: dict[uuid.UUID, list[fc.OtherExpenseForecast]] = defaultdict(list)
    for other in await _period_rows(session, models.OtherExpenseForecast, ids, low, high):
        others[other.site_id].append(
            fc.OtherExpenseForecast(
                period=_period(other.period),
                **{name: getattr(other, name) for name in models.OTHER_EXPENSE_ACCOUNTS},
            )
        )

    return {
        site_id: fc.ForecastFacts(
            statistics=tuple(statistics.get(site_id, ())),
            parking_rates=tuple(
                fc.ParkingRate(year=year, details=tuple(details))
                for year, details in sorted(rates.get(site_id, {}).items())
            ),
            payroll=tuple(payroll.get(site_id, ())),
            budget=tuple(budget.get(site_id, ())),
            billable_expenses=tuple(expenses.get(site_id, ())),
            other_expenses=tuple(others.get(site_id, ())),
        )
        for site_id in ids
    }


async def stored_forecasts(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID], first: ServicePeriod, last: ServicePeriod
) -> dict[tuple[uuid.UUID, ServicePeriod], Decimal]:
    """The stored P&L forecast internal revenue (`forecast_internal_revenue`, `−Σ FD_BALANCE`, §3.6) per
    (site, period), USD; a site-month without a row is absent. One statement."""
    low, high = first.yyyymm, last.yyyymm
    rows = await session.execute(
        select(
            ForecastInternalRevenue.site_id, ForecastInternalRevenue.period, ForecastInternalRevenue.amount
        ).where(
            ForecastInternalRevenue.site_id.in_(list(site_ids)),
            ForecastInternalRevenue.period.between(low, high),
        )
    )
    return {(site_id, _period(period)): amount for site_id, period, amount in rows.all()}


async def invoiced_revenues(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID], first: ServicePeriod, last: ServicePeriod
) -> dict[tuple[uuid.UUID, ServicePeriod], Decimal]:
    """Invoiced revenue per (site, period) (§3.6 `Invoiced`): Σ amounts of the lines coded 4000–4999 of the
    latest Sent version of the site's statement of that period, USD. A site-month whose statement has no
    Sent version (or no statement) is absent; a Sent version without revenue lines is 0. One statement."""
    latest_sent = (
        select(StatementVersion.id)
        .where(StatementVersion.statement_id == BillingStatement.id, StatementVersion.status == "SENT")
        .order_by(StatementVersion.version.desc())
        .limit(1)
        .correlate(BillingStatement)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            BillingStatement.site_id,
            BillingStatement.service_period_start,
            InvoiceLine.code,
            InvoiceLine.amount,
        )
        .select_from(BillingStatement)
        .outerjoin(Invoice, Invoice.statement_version_id == latest_sent)
        .outerjoin(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(
            and_(
                BillingStatement.site_id.in_(list(site_ids)),
                BillingStatement.service_period_start.between(first.start, last.start),
                latest_sent.is_not(None),
            )
        )
        .order_by(BillingStatement.site_id, BillingStatement.service_period_start, InvoiceLine.id)
    )
    lines: dict[tuple[uuid.UUID, ServicePeriod], list[tuple[str, Decimal]]] = {}
    for site_id, start, code, amount in rows.all():
        found = lines.setdefault((site_id, ServicePeriod.of(start)), [])
        if code is not None:
            found.append((code, amount))
    return {key: invoiced_revenue(items) for key, items in lines.items()}
