"""The contract every building-block calculator fulfils (domain.md §2.0)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..codes import AccumulationStart
from ..config import ContractConfig
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import ZERO
from ..period import ServicePeriod

__all__ = ["DEFAULT_OPTIONS", "EMPTY", "BlockOptions", "BlockResult", "BlockSpec", "Calculator", "Diagnosis"]


@dataclass(frozen=True, slots=True)
class BlockOptions:
    """Switches of one engine run that some blocks read.

    ``accumulation_start``: revenue-share annual accumulation start, intended or legacy (§2.4, §7 #9).
    """

    accumulation_start: AccumulationStart = AccumulationStart.INTENDED


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What one child flow returns for one invoice group: ``(line_items, subtotal)`` (§2.0).

    ``lines`` are in the block's own order and may include zero amounts (the engine drops those, §2.0 #5).
    ``subtotal`` (USD) is the block's contribution as the legacy flow reports it: Σ line amounts, except
    where a block adjusts another's lines and rounds (insurance/claims, §2.10b). ``warnings`` are notes about
    the facts met while computing (e.g. a guarded division), for the preview's warnings.
    """

    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, lines: tuple[InvoiceLine, ...], warnings: tuple[str, ...] = ()) -> BlockResult:
        """Result whose subtotal is Σ ``lines`` amounts."""
        return cls(lines, sum((line.amount for line in lines), ZERO), warnings)


EMPTY = BlockResult((), ZERO)
DEFAULT_OPTIONS = BlockOptions()

Calculator = Callable[
    [ContractConfig, int, ServicePeriod, PeriodFacts, datetime.date, BlockOptions], BlockResult
]
"""``(config, group_number, period, facts, selection_date, options) -> BlockResult``.

Called only when the block is enabled (the engine applies gate 1); the calculator applies gate 2 itself,
because the rule that maps its configuration to a group differs per block (§2.0). ``selection_date`` is the
day whose active rate rows are billed (§2.15); ``options`` the run's switches.
"""

Diagnosis = Callable[[ContractConfig, frozenset[int], datetime.date], tuple[str, ...]]
"""``(config, group_numbers, selection_date) -> warnings`` about an enabled block's configuration.

``group_numbers`` are the invoice groups of the statement; a warning explains why something configured is
not billed (no rows, nothing active on ``selection_date``, routed to a group the statement lacks) or is
billed by a documented fallback.
"""


@dataclass(frozen=True, slots=True)
class BlockSpec:
    """A building block as the engine runs it: its calculator and its configuration check."""

    calculate: Calculator
    diagnose: Diagnosis
