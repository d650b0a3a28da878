"""Fixed Fee building block, code 126840000 (domain.md §2.1; flow ``FixedFeeGenerationChildFlow``)."""

from __future__ import annotations

import datetime

from ..codes import BuildingBlock
from ..config import ContractConfig, FixedFeeService
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, BlockOptions, BlockResult, BlockSpec

__all__ = ["FIXED_FEE", "calculate", "diagnose"]

_LABEL = BuildingBlock.FIXED_FEE.label


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """Fixed-fee lines of invoice group ``group_number`` (§2.1).

    One line per service row routed to the group (``coalesce(row.invoice_group, 1)``, §2.0 gate 2) and active
    on ``selection_date`` (§2.0 #4, §2.15), in configuration order: title = display name, code = row code,
    amount = fee in USD, unrounded and never pro-rated (§2.15). Subtotal = Σ fees. ``period``, ``facts`` and
    ``options`` play no part: the fee does not depend on the month's activity.
    """
    lines = tuple(
        _line(row, selection_date)
        for row in config.fixed_fee_services
        if row.group_number == group_number and row.is_active_on(selection_date)
    )
    return BlockResult.of(lines)


def _line(row: FixedFeeService, selection_date: datetime.date) -> InvoiceLine:
    start = row.start_date.isoformat() if row.start_date else "always"
    end = row.end_date.isoformat() if row.end_date else "open"
    service = f", service {row.name!r}" if row.name else ""
    group = f"{row.group_number}" if row.invoice_group is not None else "1 (unset ⇒ 1)"
    explanation = (
        f"§2.1 Fixed Fee: amount = fee = {row.fee} (no proration). "
        f"Row {row.display_name!r}{service}, code {row.code}, active {start}..{end}, invoice group {group}; "
        f"billed because it is active on {selection_date.isoformat()} (rate-selection date, §2.15)."
    )
    return InvoiceLine(
        building_block=BuildingBlock.FIXED_FEE,
        title=row.display_name,
        code=row.code,
        amount=row.fee,
        explanation=explanation,
    )


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """Why configured fixed fees are not billed: no rows, none active, or routed to a missing group."""
    rows = config.fixed_fee_services
    if not rows:
        return (f"{_LABEL} is enabled but the contract has no fixed-fee service rows",)
    active = [row for row in rows if row.is_active_on(selection_date)]
    if not active:
        return (
            f"{_LABEL} is enabled but none of its {len(rows)} service rows is active on "
            f"{selection_date.isoformat()} (rate-selection date)",
        )
    return tuple(
        f"{_LABEL} row {row.display_name!r} (code {row.code}) routes to invoice group {row.group_number}, "
        f"which the statement does not have: not billed"
        for row in active
        if row.group_number not in group_numbers
    )


FIXED_FEE = BlockSpec(calculate=calculate, diagnose=diagnose)
