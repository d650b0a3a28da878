"""Per-labor-hour forecast, C# ``PerLaborHourCalculator`` (domain.md §2.2 "Forecast", example T-4, §7 #24)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money, percent
from .escalation import EscalatedValue, Escalator, compound_to_year_start, current_year_escalator
from .inputs import BudgetRow, ForecastContract, ForecastFacts, LaborHourJobRow

__all__ = [
    "HOURS_FROM_BUDGET",
    "HOURS_FROM_PAYROLL",
    "LaborJobForecast",
    "PerLaborHourForecast",
    "forecast_per_labor_hour",
]

HOURS_FROM_PAYROLL = "payroll regular hours"
HOURS_FROM_BUDGET = "budget PerLaborHour site total (defect, §7 #24)"


@dataclass(frozen=True, slots=True)
class LaborJobForecast:
    """One job active on the first of the month: ``hours`` from ``hours_source`` (:data:`HOURS_FROM_PAYROLL`
    or :data:`HOURS_FROM_BUDGET`), ``base = hours × rate`` (USD), compounded to the start of the year."""

    job: LaborHourJobRow
    hours: Decimal
    hours_source: str
    base: Decimal
    escalated: EscalatedValue


@dataclass(frozen=True, slots=True)
class PerLaborHourForecast:
    """PLH forecast of one site and month (USD, unrounded).

    ``base_amount`` = Σ job bases; ``value_at_year_start`` = Σ after historical escalators; ``total`` adds the
    current-year escalator. ``budget_fallback_job_codes`` lists the jobs whose hours came from the budget
    fallback — a known defect kept for parity (the value is the site's budget ``PerLaborHour`` total, not hours
    of the job, §2.2, §7 #24); ``warnings`` says so in words. Overtime/holiday hours are never forecast.
    """

    jobs: tuple[LaborJobForecast, ...]
    base_amount: Decimal
    value_at_year_start: Decimal
    escalators: tuple[Escalator, ...]
    total: Decimal
    budget_fallback_job_codes: tuple[str, ...]
    warnings: tuple[str, ...]
    explanation: tuple[str, ...]

    @property
    def uses_budget_fallback(self) -> bool:
        """Whether any job's hours came from the (defective) budget fallback."""
        return bool(self.budget_fallback_job_codes)


def forecast_per_labor_hour(
    contract: ForecastContract, facts: ForecastFacts, period: ServicePeriod
) -> PerLaborHourForecast | None:
    """Forecast PLH revenue of ``period`` (§2.2 "Forecast"); ``None`` without the PLH block.

    Hours per job code = Σ ``regular_hours`` of the forecast payroll details of ``period`` (``None`` hours are
    skipped) — regular hours only, no overtime (§7 #24: separate from the invoice semantics). A job active on
    the first of the month with no payroll entry for its code falls back to the site's budget
    ``PerLaborHour`` value of the month (0 if absent), which is a site total rather than hours of the job: the
    C# defect is kept and flagged (``budget_fallback_job_codes``, ``warnings``). ``base = hours × rate``; the
    contract escalator compounds exactly as for the fixed fee (historical years, then the current year when
    ``m ≥ M`` and the year-start sum > 0). T-4: no payroll, J03 rate 15.00, budget 8 → 120.00.
    """
    if not contract.enables(BuildingBlock.PER_LABOR_HOUR):
        return None
    first = period.start
    terms = contract.escalator
    hours_by_code: dict[str, Decimal] = {}
    for detail in facts.payroll:
        if detail.period == period and detail.job_code and detail.regular_hours is not None:
            hours_by_code[detail.job_code] = hours_by_code.get(detail.job_code, ZERO) + detail.regular_hours
    budget = facts.budget_value(BudgetRow.PER_LABOR_HOUR, period)
    budget_hours = budget if budget is not None else ZERO

    lines = [
        f"§2.2 PLH forecast (C# PerLaborHourCalculator) for {period}: jobs active on {first.isoformat()}; "
        "hours = payroll regular hours only (no overtime/holiday, §7 #24)"
    ]
    jobs: list[LaborJobForecast] = []
    fallback: list[str] = []
    for job in contract.labor_jobs:
        if not job.is_active_on(first):
            continue
        if job.job_code in hours_by_code:
            hours, source = hours_by_code[job.job_code], HOURS_FROM_PAYROLL
        else:
            hours, source = budget_hours, HOURS_FROM_BUDGET
            fallback.append(job.job_code)
        base = hours * job.rate
        if terms is None:
            escalated = EscalatedValue(original=base, steps=(), value=base)
        else:
            month, pct = terms
            escalated = compound_to_year_start(
                base,
                job.start_date,
                job.end_date,
                month,
                pct,
                period.year,
                f"Automatic Contract Escalator of {percent(pct)}",
            )
        jobs.append(
            LaborJobForecast(job=job, hours=hours, hours_source=source, base=base, escalated=escalated)
        )
        lines.append(
            f"job {job.job_code}: {money(hours)} h ({source}) × rate {money(job.rate)} = {money(base)}"
        )
        lines.extend(f"  {step.explanation}" for step in escalated.steps)

    base_amount = sum((item.base for item in jobs), ZERO)
    year_start = sum((item.escalated.value for item in jobs), ZERO)
    escalators = [step for item in jobs for step in item.escalated.steps]
    total = year_start
    if terms is not None:
        month, pct = terms
        annual = current_year_escalator(
            year_start, period.year, period.month, month, pct, "Annual Per Labor Hour Escalator"
        )
        if annual is not None:
            escalators.append(annual)
            total += annual.amount
            lines.append(f"current-year escalator (month {period.month} ≥ {month}): {annual.explanation}")
    lines.append(
        f"total = {money(year_start)} (year-start value) + current-year escalator = {money(total)} (unrounded)"
    )
    warnings = tuple(
        f"job {code}: no payroll hours for {period}; used the site's budget 'PerLaborHour' value "
        f"{money(budget_hours)} as hours — a site total, not this job's hours (C# defect kept, §2.2, §7 #24)"
        for code in fallback
    )
    return PerLaborHourForecast(
        jobs=tuple(jobs),
        base_amount=base_amount,
        value_at_year_start=year_start,
        escalators=tuple(escalators),
        total=total,
        budget_fallback_job_codes=tuple(fallback),
        warnings=warnings,
        explanation=tuple(lines + list(warnings)),
    )
