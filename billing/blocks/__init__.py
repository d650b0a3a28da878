"""Building-block calculators and the order their lines take on an invoice (domain.md §2.11)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..codes import BuildingBlock
from .base import BlockOptions, BlockResult, BlockSpec, Calculator, Diagnosis
from .bell_service import BELL_SERVICE
from .billable_accounts import BILLABLE_ACCOUNTS
from .deposited_revenue import DEPOSITED_REVENUE
from .fixed_fee import FIXED_FEE
from .management_agreement import MANAGEMENT_AGREEMENT
from .mid_month_advance import MID_MONTH_ADVANCE
from .per_labor_hour import PER_LABOR_HOUR
from .per_occupied_room import PER_OCCUPIED_ROOM
from .revenue_share import REVENUE_SHARE

__all__ = [
    "ADHOC_AFTER",
    "BLOCKS",
    "LINE_ORDER",
    "BlockOptions",
    "BlockResult",
    "BlockSpec",
    "Calculator",
    "Diagnosis",
]

LINE_ORDER: tuple[BuildingBlock, ...] = (
    BuildingBlock.FIXED_FEE,
    BuildingBlock.PER_OCCUPIED_ROOM,
    BuildingBlock.BELL_SERVICE,
    BuildingBlock.DEPOSITED_REVENUE,
    BuildingBlock.BILLABLE_ACCOUNTS,  # with insurance/claims (§2.10b)
    BuildingBlock.MANAGEMENT_AGREEMENT,  # management fee and non-GL; profit share runs after all lines
    BuildingBlock.MID_MONTH_ADVANCE,
    BuildingBlock.PER_LABOR_HOUR,
    # carried-over ad-hoc lines sit here (ADHOC_AFTER); they come from stored statements (§3.3)
    BuildingBlock.REVENUE_SHARE,  # revenue share, then validations
)
"""Enabled blocks run, and their lines appear, in this order (§2.11); profit share is appended last.

``INVOICE_GROUPING`` is absent: it computes nothing, it only lets the contract's invoice groups be used.
"""

ADHOC_AFTER = BuildingBlock.PER_LABOR_HOUR
"""Carried-over ad-hoc lines follow this block's slot, whether or not it is enabled (§2.11)."""

BLOCKS: Mapping[BuildingBlock, BlockSpec] = MappingProxyType(
    {
        BuildingBlock.FIXED_FEE: FIXED_FEE,
        BuildingBlock.PER_OCCUPIED_ROOM: PER_OCCUPIED_ROOM,
        BuildingBlock.BELL_SERVICE: BELL_SERVICE,
        BuildingBlock.DEPOSITED_REVENUE: DEPOSITED_REVENUE,
        BuildingBlock.BILLABLE_ACCOUNTS: BILLABLE_ACCOUNTS,
        BuildingBlock.MANAGEMENT_AGREEMENT: MANAGEMENT_AGREEMENT,
        BuildingBlock.MID_MONTH_ADVANCE: MID_MONTH_ADVANCE,
        BuildingBlock.PER_LABOR_HOUR: PER_LABOR_HOUR,
        BuildingBlock.REVENUE_SHARE: REVENUE_SHARE,
    }
)
"""The blocks this engine implements; an enabled block missing here is reported as not computed."""
