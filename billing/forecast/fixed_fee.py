"""Fixed-fee forecast, C# ``FixedFeeCalculator`` (domain.md §2.1 "Forecast", example C-1)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money, percent
from .escalation import EscalatedValue, Escalator, compound_to_year_start, current_year_escalator
from .inputs import FixedFeeRow, ForecastContract

__all__ = ["FixedFeeForecast", "FixedFeeRowForecast", "forecast_fixed_fee"]


@dataclass(frozen=True, slots=True)
class FixedFeeRowForecast:
    """One service row active on the first of the month, compounded to the start of the year."""

    row: FixedFeeRow
    escalated: EscalatedValue


@dataclass(frozen=True, slots=True)
class FixedFeeForecast:
    """Fixed-fee forecast of one site and month (USD, unrounded).

    ``base_amount`` = Σ original fees of the active rows (C# ``BaseAmount``); ``value_at_year_start`` = Σ rows
    after historical escalators; ``escalators`` = every applied step in C# order (per row its historical steps,
    then the current-year step); ``total`` = ``value_at_year_start`` + current-year step.
    ``explanation`` lists inputs, steps and formula line by line.
    """

    base_amount: Decimal
    value_at_year_start: Decimal
    escalators: tuple[Escalator, ...]
    total: Decimal
    rows: tuple[FixedFeeRowForecast, ...]
    explanation: tuple[str, ...]


def forecast_fixed_fee(contract: ForecastContract, period: ServicePeriod) -> FixedFeeForecast | None:
    """Forecast fixed fee of ``period`` (§2.1 "Forecast"); ``None`` if the contract has no Fixed Fee block.

    Rows active on ``first = period.start`` (``start ≤ first``, ``end`` None or ``≥ first``) each start at their
    fee; with a contract escalator (increment month ``M`` set, increment % ≠ 0) each is compounded
    ``v += v × pct/100`` for every year from its start year to ``Y − 1`` in which it was active on ``y-M-01``.
    If ``m ≥ M`` and the year-start sum is > 0 one more ``sum × pct/100`` is added. No rounding.
    C-1: fee 1,000.00 from 2023-01-01, 3 % in July → June 2025 1,060.90; July 2025 1,092.727.

    Note (faithful to C#): the current-year step is applied to the whole sum, including a row that starts
    after this year's increment date (e.g. a stored escalation row from ``Y-(M+1)-01``).
    """
    if not contract.enables(BuildingBlock.FIXED_FEE):
        return None
    first = period.start
    terms = contract.escalator
    lines = [
        f"§2.1 fixed-fee forecast (C# FixedFeeCalculator) for {period}: rows active on {first.isoformat()}"
    ]
    if terms is None:
        lines.append("contract escalator: none (increment month or amount unset, or amount 0)")
    else:
        lines.append(f"contract escalator: {percent(terms[1])} every year in month {terms[0]}")

    rows: list[FixedFeeRowForecast] = []
    for row in contract.fixed_fees:
        if not row.is_active_on(first):
            continue
        if terms is None:
            escalated = EscalatedValue(original=row.fee, steps=(), value=row.fee)
        else:
            month, pct = terms
            escalated = compound_to_year_start(
                row.fee,
                row.start_date,
                row.end_date,
                month,
                pct,
                period.year,
                f"Automatic Contract Escalator of {percent(pct)}",
            )
        rows.append(FixedFeeRowForecast(row=row, escalated=escalated))
        end = row.end_date.isoformat() if row.end_date else "open"
        label = f" {row.name!r}" if row.name else ""
        lines.append(f"row{label}: fee {money(row.fee)}, active {row.start_date.isoformat()}..{end}")
        lines.extend(f"  {step.explanation}" for step in escalated.steps)
        lines.append(f"  value at start of {period.year}: {money(escalated.value)}")

    base_amount = sum((item.row.fee for item in rows), ZERO)
    year_start = sum((item.escalated.value for item in rows), ZERO)
    escalators = [step for item in rows for step in item.escalated.steps]
    total = year_start
    if terms is not None:
        month, pct = terms
        annual = current_year_escalator(
            year_start, period.year, period.month, month, pct, "Annual Fixed Fee Escalator"
        )
        if annual is None:
            lines.append(f"no current-year escalator (month {period.month} < {month} or year-start sum ≤ 0)")
        else:
            escalators.append(annual)
            total += annual.amount
            lines.append(f"current-year escalator (month {period.month} ≥ {month}): {annual.explanation}")
    lines.append(
        f"total = {money(year_start)} (Σ year-start values of {len(rows)} row(s); Σ original fees "
        f"{money(base_amount)}) + current-year escalator = {money(total)} (unrounded)"
    )
    return FixedFeeForecast(
        base_amount=base_amount,
        value_at_year_start=year_start,
        escalators=tuple(escalators),
        total=total,
        rows=tuple(rows),
        explanation=tuple(lines),
    )
