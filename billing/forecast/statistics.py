"""Which site-statistic rows of a month the forecast reads (domain.md §2.3, §2.12, §7 #12).

The C# external-revenue and per-occupied-room calculators take every ``SiteStatisticDetail`` of the month and
sum Budget, Forecast and Actual rows together. Decision §7 #12: read the **Forecast** rows of the month, or the
**Actual** rows when the month has no Forecast row; Budget rows are never read. The legacy all-types sum stays
available behind ``legacy_sum_all_types`` for parity with the C# figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..period import ServicePeriod
from .inputs import SiteStatisticDetail, StatisticType

__all__ = ["StatisticSelection", "select_statistics"]


@dataclass(frozen=True, slots=True)
class StatisticSelection:
    """The rows read for one month and why: ``basis`` is ``"Forecast"``, ``"Actual"`` (no Forecast row in the
    month), ``"all types (legacy sum, §7 #12)"`` or ``"none"`` (nothing usable: ``details`` is empty)."""

    details: tuple[SiteStatisticDetail, ...]
    basis: str


def select_statistics(
    details: Sequence[SiteStatisticDetail], period: ServicePeriod, *, legacy_sum_all_types: bool = False
) -> StatisticSelection:
    """The statistic rows of ``period`` (dates in that calendar month) per §7 #12, in input order.

    Default: the month's Forecast rows, else its Actual rows, else none. ``legacy_sum_all_types=True``: every
    row of the month whatever its type (C# behaviour).
    """
    month = [d for d in details if d.date.year == period.year and d.date.month == period.month]
    if legacy_sum_all_types:
        return StatisticSelection(tuple(month), "all types (legacy sum, §7 #12)" if month else "none")
    for wanted in (StatisticType.FORECAST, StatisticType.ACTUAL):
        chosen = tuple(d for d in month if d.type is wanted)
        if chosen:
            return StatisticSelection(chosen, wanted.name.capitalize())
    return StatisticSelection((), "none")
