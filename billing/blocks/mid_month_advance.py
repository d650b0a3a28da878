"""Mid-Month Advance building block, code 126840006 (domain.md §2.7; flow ``MidMonthAdvanceChildFlow``)."""

from __future__ import annotations

import datetime

from ..codes import BuildingBlock
from ..config import ContractConfig
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .common import CODE_TP_FEES, gate_2_warning

__all__ = ["MID_MONTH_ADVANCE", "calculate", "diagnose"]

_LABEL = BuildingBlock.MID_MONTH_ADVANCE.label


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """The "Mid-Month Advance" credit (code 4790) of invoice group ``group_number`` (§2.7).

    Gate: the advance row's group (no default). Amount = −advance amount (USD): the month-end invoice credits
    what was billed in advance (§7 #3: the code subtracts, unlike the docs). Description = the line-title
    label, "Mid Month Billing" or "Pre Bill".
    """
    advance = config.mid_month_advance
    if advance is None or advance.invoice_group != group_number:
        return EMPTY
    line = InvoiceLine(
        building_block=BuildingBlock.MID_MONTH_ADVANCE,
        title="Mid-Month Advance",
        code=CODE_TP_FEES,
        amount=-advance.amount,
        description=advance.line_title.label,
        explanation=(
            f"§2.7 Mid-Month Advance: amount = −advance = −{advance.amount}, a credit for the advance billed "
            f"earlier ({advance.line_title.label}); subtracted as the flow does (§7 #3), not added as the docs say."
        ),
    )
    return BlockResult.of((line,))


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """No advance row, or its group unset or missing from the statement."""
    advance = config.mid_month_advance
    if advance is None:
        return (f"{_LABEL} is enabled but the contract has no mid-month advance row: not billed",)
    warning = gate_2_warning(_LABEL, advance.invoice_group, group_numbers, unset_subject=f"{_LABEL} row")
    return (warning,) if warning else ()


MID_MONTH_ADVANCE = BlockSpec(calculate=calculate, diagnose=diagnose)
