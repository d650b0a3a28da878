"""Operating facts of one site and service period, the engine's second input (domain.md §1.7, §2.0 #3)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PeriodFacts"]


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """Facts of the calendar month of ``P_start`` for one site (revenue, timesheets, ledger balances…).

    Fixed Fee needs none, so it is empty for now; the blocks that read facts add them as fields with
    defaults (e.g. ``timesheets: tuple[TimesheetRow, ...] = ()``), so ``PeriodFacts()`` keeps meaning
    "no facts known" and existing callers keep working.
    """
