"""SYNTHETIC forecast facts for the demo year (domain.md §1.7, §2.12, §2.13): `towne demo-forecast`.

Towne Park's budgets, statistics, parking rates and forecast payroll are not public. `generate_forecast_inputs`
writes deterministic (per site, year and month) synthetic rows, every one with `synthetic = true`, and only
what the sites' building blocks read, so that the forecast of `forecast(siteNumber, year)` lands in the range of
what the synthetic operating facts (`importer.facts`) invoice:

* Revenue Share or Per Occupied Room: a FORECAST statistic day for every day of the year — vehicles near the
  generated revenue (spaces × occupancy × 55 % valet / 25 % self, monthly passes on the 1st, a few overnight),
  occupied rooms for hotels like the generated `occupied_rooms_daily` — and the parking rates of the year
  (the generated ticket price per day, 120.00 a pass, 1.5 × ticket overnight).
* Per Labor Hour: forecast payroll regular hours per month and job code near the generated timesheets.
* Billable Accounts: billable-expense budgets (payroll-expense budget near the generated payroll), a budget PTEB
  row, and other-expense forecasts for July–December (earlier months read the other-expense budget).
* Every site with a contract: budget InternalRevenue and ExternalRevenue rows (the fallbacks of §2.13, §2.12).

Idempotent: the synthetic rows of the year and sites are replaced; real rows (`synthetic = false`) are never
touched, and a generated row whose key a real row holds is dropped (`ON CONFLICT DO NOTHING`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Contract
from db.models import forecast as models
from importer.facts import CENT, SiteProfile, _money, _rng, copy_records, site_profiles

__all__ = ["ForecastInputsSummary", "generate_forecast_inputs", "generate_site_year", "write_rows"]

DEMO_YEAR = 2025
PASS_PRICE = Decimal("120.00")
RATE_SCALE = Decimal("0.0001")
MODELS: dict[str, Any] = {
    model.__tablename__: model
    for model in (
        models.SiteStatisticDay,
        models.ParkingRate,
        models.ForecastPayrollHours,
        models.BudgetValue,
        models.BillableExpenseBudget,
        models.OtherExpenseForecast,
    )
}
# what the generator writes: table → (columns in tuple order: the table's, primary key)
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    table: (
        tuple(c.name for c in model.__table__.columns),
        tuple(c.name for c in model.__table__.primary_key),
    )
    for table, model in MODELS.items()
}


@dataclass
class SiteYear:
    """Generated rows of one site and year per table, tuples in `COLUMNS` order."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in COLUMNS})


def _ticket(profile: SiteProfile) -> int:
    # the generated revenue's price per car and day (`importer.facts.generate_month`)
    return 12 + (int(profile.site_number) % 7) * 3


def _monthly_payroll(profile: SiteProfile, days: int, factor: float) -> float:
    """USD of a month's payroll near the generated timesheets × 20 USD/hour (the ledger's 17–23)."""
    minutes = sum(max(240, int(profile.spaces * 12 / (i + 1))) for i in range(len(profile.job_codes)))
    return minutes * days / 60 * 20 * factor


def generate_site_year(profile: SiteProfile, year: int) -> SiteYear:
    """The SYNTHETIC forecast facts of one site (with a contract) and year (see the module docstring);
    deterministic: the same profile and year always give the same rows."""
    out = SiteYear()
    rows = out.rows
    site_id, blocks = profile.site_id, profile.blocks
    ticket = _ticket(profile)
    statistics = "REVENUE_SHARE" in blocks or "PER_OCCUPIED_ROOM" in blocks
    for month in range(1, 13):
        rng = _rng("forecast-inputs", profile.site_number, year, month)
        days = calendar.monthrange(year, month)[1]
        period = f"{year:04d}{month:02d}"
        gross = profile.spaces * 0.62 * ticket * days
        if statistics:
            for day in range(1, days + 1):
                date = dt.date(year, month, day)
                occupancy = rng.uniform(0.45, 0.8) * (1.15 if date.weekday() >= 5 else 1.0)
                cars = profile.spaces * occupancy
                rooms = (
                    Decimal(round(profile.rooms * rng.uniform(0.6, 0.92))).quantize(CENT)
                    if profile.rooms
                    else None
                )
                passes = day == 1
                # (occupied_rooms, valet/self overnight, daily, monthly, aggregator), STATISTIC_COUNTS order
                rows["site_statistic_day"].append(
                    (
                        site_id,
                        date,
                        "FORECAST",
                        rooms,
                        _money(cars * rng.uniform(0.02, 0.05)),
                        None,
                        _money(cars * 0.55 * rng.uniform(0.9, 1.1)),
                        _money(cars * 0.25 * rng.uniform(0.9, 1.1)),
                        _money(profile.spaces * 0.05) if passes else None,
                        _money(profile.spaces * 0.05) if passes else None,
                        None,
                        None,
                        True,
                    )
                )
            for category, rate in (
                ("VALET_DAILY", Decimal(ticket)),
                ("SELF_DAILY", Decimal(ticket)),
                ("VALET_MONTHLY", PASS_PRICE),
                ("SELF_MONTHLY", PASS_PRICE),
                ("VALET_OVERNIGHT", Decimal(ticket) * Decimal("1.5")),
            ):
                rows["parking_rate"].append((site_id, year, month, category, rate.quantize(RATE_SCALE), True))
        if "PER_LABOR_HOUR" in blocks:
            for index, job_code in enumerate(profile.job_codes):
                staff_minutes = max(240, int(profile.spaces * 12 / (index + 1)))
                hours = staff_minutes * days / 60 * rng.uniform(0.85, 1.05)
                rows["forecast_payroll_hours"].append((site_id, period, job_code, _money(hours), True))
        payroll = _monthly_payroll(profile, days, rng.uniform(0.9, 1.1))
        if "BILLABLE_ACCOUNTS" in blocks:
            rows["billable_expense_budget"].append(
                (site_id, period, _money(payroll), _money(payroll * 0.06), _money(payroll * 0.03), True)
            )
            rows["budget_value"].append((site_id, period, "PTEB", _money(payroll * 0.27), True))
            if month >= 7:
                weights = [rng.uniform(0.0, 0.01) for _ in models.OTHER_EXPENSE_ACCOUNTS]
                rows["other_expense_forecast"].append(
                    (site_id, period, *(_money(payroll * w) if w > 0.002 else None for w in weights), True)
                )
        external = gross * rng.uniform(0.85, 1.05)
        rows["budget_value"].append((site_id, period, "EXTERNAL_REVENUE", _money(external), True))
        rows["budget_value"].append(
            (site_id, period, "INTERNAL_REVENUE", _money(max(external * 0.12, payroll * 1.3)), True)
        )
    return out


@dataclass
class ForecastInputsSummary:
    year: int
    sites: int
    rows: dict[str, int] = field(default_factory=dict)


async def write_rows(session: AsyncSession, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """Bulk-write generated rows with `COPY`; a key a (real) row already holds is skipped. Returns rows written
    (`importer.facts.copy_records`)."""
    columns, key = COLUMNS[table]
    return await copy_records(session, table, columns, key, rows)


async def generate_forecast_inputs(
    session: AsyncSession, year: int = DEMO_YEAR, *, site_numbers: Sequence[str] | None = None
) -> ForecastInputsSummary:
    """Replace the SYNTHETIC forecast facts of `year` for all sites with a contract (or the given site
    numbers): delete the year's synthetic rows of those sites, generate (`generate_site_year`) and `COPY`."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"--year must be between 2000 and 2099, got {year}")
    contracted = set((await session.execute(select(Contract.site_id))).scalars())
    profiles = [p for p in await site_profiles(session, site_numbers) if p.site_id in contracted]
    ids: list[uuid.UUID] = [p.site_id for p in profiles]
    low, high = f"{year:04d}01", f"{year:04d}12"
    for table, model in MODELS.items():
        if table == "site_statistic_day":
            in_year = model.date.between(dt.date(year, 1, 1), dt.date(year, 12, 31))
        elif table == "parking_rate":
            in_year = model.year == year
        else:
            in_year = model.period.between(low, high)
        await session.execute(delete(model).where(model.site_id.in_(ids), model.synthetic.is_(True), in_year))
    generated = [generate_site_year(p, year) for p in profiles]
    summary = ForecastInputsSummary(year=year, sites=len(profiles))
    for table in COLUMNS:
        summary.rows[table] = await write_rows(session, table, (r for g in generated for r in g.rows[table]))
    return summary
