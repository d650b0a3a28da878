"""Per Labor Hour building block, code 126840001 (domain.md §2.2; flow ``PerLaborHourGenerationChildFlow``)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..codes import BuildingBlock
from ..config import ContractConfig, LaborHourJob
from ..facts import PeriodFacts, TimesheetRow
from ..lines import InvoiceLine
from ..money import ZERO, format_number, round2
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, BlockOptions, BlockResult, BlockSpec
from .common import row_count, timesheet_rows

__all__ = ["PER_LABOR_HOUR", "calculate", "diagnose", "row_hours"]

_LABEL = BuildingBlock.PER_LABOR_HOUR.label
SIXTY = Decimal(60)


def row_hours(row: TimesheetRow) -> tuple[Decimal, Decimal]:
    """(regular, overtime) hours of one timesheet row, each rounded to cents **per row** (§2.2).

    Regular = round2((REGULAR + next day) / 60). Overtime = round2(Σ of OVERTIME, HOLIDAY, HOLIDAY_OVERTIME,
    DOUBLE_OVERTIME and HOLIDAY_DOUBLE_OVERTIME minutes, each with its next-day twin, / 60): holiday and
    double time are billed at the overtime rate (§7 #4).
    """
    regular = row.regular + row.regular_next_day
    overtime = (
        row.overtime
        + row.overtime_next_day
        + row.holiday
        + row.holiday_next_day
        + row.holiday_overtime
        + row.holiday_overtime_next_day
        + row.double_overtime
        + row.double_overtime_next_day
        + row.holiday_double_overtime
        + row.holiday_double_overtime_next_day
    )
    return round2(Decimal(regular) / SIXTY), round2(Decimal(overtime) / SIXTY)


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """Per-labor-hour lines of invoice group ``group_number`` (§2.2).

    For each job row routed to the group (``coalesce(row.invoice_group, 1)``) and active on
    ``selection_date`` (§2.0 #4, §2.15), in configuration order: hours from the timesheet rows of its job
    code dated in the service month, rounded per row (:func:`row_hours`); ``RH``/``OH`` their sums;
    ``reg_cost = round2(rate × RH)``, ``ot_cost = round2(coalesce(ot_rate, 0) × OH)``. When
    ``rate == ot_rate`` one line ``reg_cost + ot_cost`` described "Total Hours Worked: RH+OH"; otherwise a
    regular line and, when ``OH > 0``, an overtime line with the same title and code. Amounts are USD.
    """
    lines: list[InvoiceLine] = []
    for job in config.labor_hour_jobs:
        if job.group_number == group_number and job.is_active_on(selection_date):
            lines.extend(_job_lines(job, timesheet_rows(facts, period, job.job_code), period, selection_date))
    return BlockResult.of(tuple(lines))


def _job_lines(
    job: LaborHourJob, rows: tuple[TimesheetRow, ...], period: ServicePeriod, selection_date: datetime.date
) -> list[InvoiceLine]:
    per_row = [row_hours(row) for row in rows]
    regular_hours = sum((hours[0] for hours in per_row), ZERO)
    overtime_hours = sum((hours[1] for hours in per_row), ZERO)
    overtime_rate = ZERO if job.overtime_rate is None else job.overtime_rate
    regular_cost = round2(job.rate * regular_hours)
    overtime_cost = round2(overtime_rate * overtime_hours)
    code = job.code or ""

    start = job.start_date.isoformat() if job.start_date else "always"
    end = job.end_date.isoformat() if job.end_date else "open"
    ot_rate_text = "unset ⇒ 0" if job.overtime_rate is None else str(job.overtime_rate)
    inputs = (
        f"Job {job.display_name!r} (timesheet WORK_ROLE {job.job_code}), rate {job.rate}, overtime rate "
        f"{ot_rate_text}, row active {start}..{end}, selected on {selection_date.isoformat()} (§2.15); "
        f"{row_count(rows)} timesheet rows dated {period.start.isoformat()}..{period.end.isoformat()}, hours rounded "
        f"to cents per row (§2.2): RH = Σ round2(regular min / 60) = {regular_hours}, "
        f"OH = Σ round2((overtime + holiday + double-time min) / 60) = {overtime_hours} "
        f"(holiday and double time at the overtime rate, §7 #4)."
    )
    regular_formula = f"round2({job.rate} × {regular_hours}) = {regular_cost}"
    overtime_formula = f"round2({overtime_rate} × {overtime_hours}) = {overtime_cost}"

    def line(amount: Decimal, description: str, formula: str) -> InvoiceLine:
        return InvoiceLine(
            building_block=BuildingBlock.PER_LABOR_HOUR,
            title=job.display_name,
            code=code,
            amount=amount,
            description=description,
            explanation=f"§2.2 Per Labor Hour: {formula}. {inputs}",
        )

    if job.overtime_rate is not None and job.rate == job.overtime_rate:
        total_hours = format_number(regular_hours + overtime_hours)
        return [
            line(
                regular_cost + overtime_cost,
                f"Total Hours Worked: {total_hours}",
                f"rate == overtime rate ⇒ one line = {regular_formula} + {overtime_formula} "
                f"= {regular_cost + overtime_cost}",
            )
        ]
    lines = [
        line(
            regular_cost,
            f"Regular Hours Worked: {format_number(regular_hours)}",
            f"regular line = {regular_formula}",
        )
    ]
    if overtime_hours > 0:
        lines.append(
            line(
                overtime_cost,
                f"Overtime Hours Worked: {format_number(overtime_hours)}",
                f"overtime line = {overtime_formula}",
            )
        )
    return lines


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """Why configured jobs are not billed (no rows, none active, missing group) and jobs without a GL code."""
    jobs = config.labor_hour_jobs
    if not jobs:
        return (f"{_LABEL} is enabled but the contract has no labor-hour job rows",)
    active = [job for job in jobs if job.is_active_on(selection_date)]
    if not active:
        return (
            f"{_LABEL} is enabled but none of its {len(jobs)} job rows is active on "
            f"{selection_date.isoformat()} (rate-selection date)",
        )
    warnings = [
        f"{_LABEL} job {job.display_name!r} ({job.job_code}) routes to invoice group {job.group_number}, "
        "which the statement does not have: not billed"
        for job in active
        if job.group_number not in group_numbers
    ]
    warnings.extend(
        f"{_LABEL} job {job.display_name!r} ({job.job_code}) has no GL code: its lines print an empty code "
        "(the GP export books it to 4790, §3.8)"
        for job in active
        if not job.code
    )
    return tuple(warnings)


PER_LABOR_HOUR = BlockSpec(calculate=calculate, diagnose=diagnose)
