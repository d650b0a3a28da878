"""Building-block calculators and the order their lines take on an invoice (domain.md §2.11)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..codes import BuildingBlock
from .base import BlockResult, BlockSpec, Calculator, Diagnosis
from .fixed_fee import FIXED_FEE

__all__ = ["BLOCKS", "LINE_ORDER", "BlockResult", "BlockSpec", "Calculator", "Diagnosis"]

LINE_ORDER: tuple[BuildingBlock, ...] = (
    BuildingBlock.FIXED_FEE,
    BuildingBlock.PER_OCCUPIED_ROOM,
    BuildingBlock.BELL_SERVICE,
    BuildingBlock.DEPOSITED_REVENUE,
    BuildingBlock.BILLABLE_ACCOUNTS,  # with insurance/claims (§2.10b)
    BuildingBlock.MANAGEMENT_AGREEMENT,  # management fee and non-GL; profit share will run after all lines
    BuildingBlock.MID_MONTH_ADVANCE,
    BuildingBlock.PER_LABOR_HOUR,
    # carried-over ad-hoc lines sit here; they come from stored statements, not from a calculator (§3.3)
    BuildingBlock.REVENUE_SHARE,  # revenue share, then validations
)
"""Enabled blocks run, and their lines appear, in this order (§2.11).

``INVOICE_GROUPING`` is absent: it computes nothing, it only lets the contract's invoice groups be used.
"""

BLOCKS: Mapping[BuildingBlock, BlockSpec] = MappingProxyType({BuildingBlock.FIXED_FEE: FIXED_FEE})
"""The blocks this engine implements; an enabled block missing here is reported as not computed."""
