"""Per-labor-hour forecast (domain.md §2.2 "Forecast", example T-4, §7 #24)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing.codes import BuildingBlock
from billing.forecast import (
    HOURS_FROM_BUDGET,
    HOURS_FROM_PAYROLL,
    BudgetEntry,
    BudgetRow,
    ForecastContract,
    ForecastFacts,
    LaborHourJobRow,
    PayrollDetail,
    forecast_per_labor_hour,
)
from billing.period import ServicePeriod

D = Decimal
PLH = frozenset({BuildingBlock.PER_LABOR_HOUR})
JULY_2025 = ServicePeriod(2025, 7)
J03 = LaborHourJobRow("J03", D("15.00"), datetime.date(2020, 1, 1))
BUDGET_8 = ForecastFacts(budget=(BudgetEntry(BudgetRow.PER_LABOR_HOUR, JULY_2025, D(8)),))


def test_t4_no_payroll_falls_back_to_the_budget_site_total_and_flags_it() -> None:
    result = forecast_per_labor_hour(ForecastContract("0170", PLH, labor_jobs=(J03,)), BUDGET_8, JULY_2025)
    assert result is not None
    assert result.total == D("120.00")
    assert result.budget_fallback_job_codes == ("J03",) and result.uses_budget_fallback
    assert result.jobs[0].hours_source == HOURS_FROM_BUDGET
    assert len(result.warnings) == 1 and "J03" in result.warnings[0] and "§7 #24" in result.warnings[0]


def test_t4_no_jobs_gives_zero() -> None:
    result = forecast_per_labor_hour(ForecastContract("0170", PLH), BUDGET_8, JULY_2025)
    assert result is not None and result.total == D("0.00") and result.jobs == ()


def test_payroll_regular_hours_of_the_month_are_summed_per_job_code() -> None:
    facts = ForecastFacts(
        payroll=(
            PayrollDetail(JULY_2025, "J03", D("10.5")),
            PayrollDetail(JULY_2025, "J03", D("4.5")),
            PayrollDetail(JULY_2025, "J03", None),  # not entered: skipped
            PayrollDetail(JULY_2025, "GSA", D(99)),  # another job
            PayrollDetail(ServicePeriod(2025, 6), "J03", D(1000)),  # another month
        ),
        budget=BUDGET_8.budget,
    )
    result = forecast_per_labor_hour(ForecastContract("0170", PLH, labor_jobs=(J03,)), facts, JULY_2025)
    assert result is not None
    assert result.total == D("225.00")  # 15 h × 15.00
    assert result.jobs[0].hours == D(15) and result.jobs[0].hours_source == HOURS_FROM_PAYROLL
    assert result.warnings == () and not result.uses_budget_fallback


def test_escalator_compounds_like_the_fixed_fee() -> None:
    job = LaborHourJobRow("J03", D(10), datetime.date(2024, 1, 1))
    contract = ForecastContract("0170", PLH, increment_month=7, increment_amount=D(10), labor_jobs=(job,))
    facts = ForecastFacts(payroll=(PayrollDetail(JULY_2025, "J03", D(100)),))
    result = forecast_per_labor_hour(contract, facts, JULY_2025)
    assert result is not None
    assert result.base_amount == D(1000)
    assert result.total == D("1210.00")  # 1000 × 1.1 (7/2024) × 1.1 (7/2025)
    assert [e.description[-8:] for e in result.escalators] == ["(7/2024)", "(7/2025)"]


def test_inactive_job_and_missing_block() -> None:
    ended = LaborHourJobRow("J03", D(15), datetime.date(2020, 1, 1), datetime.date(2025, 6, 30))
    result = forecast_per_labor_hour(ForecastContract("0170", PLH, labor_jobs=(ended,)), BUDGET_8, JULY_2025)
    assert result is not None and result.total == 0
    assert (
        forecast_per_labor_hour(ForecastContract("0170", frozenset(), labor_jobs=(J03,)), BUDGET_8, JULY_2025)
        is None
    )
