"""Bell Service Fee building block, code 126840005 (domain.md §2.6; flow ``BellServiceFeeChildFlow``)."""

from __future__ import annotations

import datetime

from ..codes import BuildingBlock
from ..config import ContractConfig
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import ZERO
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .common import (
    BELL_COLLECTION_TYPES,
    CODE_BELL,
    OTHER_REVENUE,
    gate_2_warning,
    month_revenue,
    row_count,
)

__all__ = ["BELL_SERVICE", "calculate", "diagnose"]

_LABEL = BuildingBlock.BELL_SERVICE.label


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """The "Bell Service Fee" line (code 4795) of invoice group ``group_number`` (§2.6).

    Gate: the bell-service row's group (no default). Amount = Σ NETEXTERNALREVENUE of the month's rows with
    category 'Other Revenue' and a collection type in the flow's literal list (misspelling "Portorage"
    included): a pass-through of collected bell revenue, USD, no rate. Enabling bell service also removes
    OR1/OR2 from the revenue-share base (§2.4).
    """
    bell = config.bell_service
    if bell is None or bell.invoice_group != group_number:
        return EMPTY
    rows = [
        row
        for row in month_revenue(facts, period)
        if row.category == OTHER_REVENUE and row.collection_type in BELL_COLLECTION_TYPES
    ]
    amount = sum((row.net_external_revenue for row in rows), ZERO)
    types = ", ".join(sorted({row.collection_type for row in rows if row.collection_type})) or "none"
    line = InvoiceLine(
        building_block=BuildingBlock.BELL_SERVICE,
        title="Bell Service Fee",
        code=CODE_BELL,
        amount=amount,
        explanation=(
            f"§2.6 Bell Service Fee: amount = Σ net external revenue = {amount} of {row_count(rows)} revenue rows in "
            f"{period.key} with category 'Other Revenue' and a bell collection type (found: {types}); "
            "pass-through, no rate or escalation."
        ),
    )
    return BlockResult.of((line,))


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """No bell-service row, or its group unset or missing from the statement."""
    bell = config.bell_service
    if bell is None:
        return (f"{_LABEL} is enabled but the contract has no bell-service row: not billed",)
    warning = gate_2_warning(_LABEL, bell.invoice_group, group_numbers, unset_subject=f"{_LABEL} row")
    return (warning,) if warning else ()


BELL_SERVICE = BlockSpec(calculate=calculate, diagnose=diagnose)
