"""Forecast reading of revenue-share tiers: ``Amount`` = **lower bound** (domain.md §2.4 "Forecast", §7 #1).

The invoice engine reads the same JSON as ascending cumulative caps with 0 = unlimited
(:func:`billing.tiers.cap_tiers`); the two readings are never mixed (example T-2 pins both: 550.00 here,
950.00 there). Here, as in the C# ``RevenueShareCalculator``: tiers valid on the month are sorted ascending by
``Amount`` (stable), tier *i* covers ``[Amount_i, Amount_{i+1})`` and the last one ``[Amount_n, ∞)``;
``share_i = max(0, min(R, end_i) − start_i) × p_i/100``.

Decision §7 #1: the C# code reads "the next tier" from the **unsorted, unfiltered** stored list (``Tiers[idx +
1]``), which misplaces tier ends whenever the stored order is not ascending. That bug is **fixed** by default;
``legacy_unsorted_next_tier=True`` reproduces it (F-5: stored ``[{45000, 0 %}, {0, 25 %}]`` on 60,000.00 →
11,250.00 fixed, 0.00 legacy).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..money import ZERO
from .inputs import ForecastTier

__all__ = ["ForecastTierShare", "TierBand", "lower_bound_bands", "lower_bound_shares"]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class TierBand:
    """Revenue band ``[start, end)`` in USD (``end`` None = unbounded) charged at ``share_percentage`` (whole %)."""

    start: Decimal
    end: Decimal | None
    share_percentage: Decimal


@dataclass(frozen=True, slots=True)
class ForecastTierShare:
    """A band applied to a revenue: ``revenue_in_tier = max(0, min(R, end) − start)``,
    ``share_amount = revenue_in_tier × share_percentage/100`` (USD, unrounded)."""

    band: TierBand
    revenue_in_tier: Decimal
    share_amount: Decimal


def lower_bound_bands(
    tiers: Sequence[ForecastTier],
    *,
    on: datetime.date | None = None,
    legacy_unsorted_next_tier: bool = False,
) -> tuple[TierBand, ...]:
    """The bands of ``tiers`` (stored order) valid on ``on`` (all tiers if ``None``), sorted by ``Amount``.

    ``end`` of band *i* is the ``Amount`` of the next band in sorted order (fixed, §7 #1), or — with
    ``legacy_unsorted_next_tier`` — of ``tiers[i + 1]`` in the stored, unfiltered list, when ``i <
    len(tiers) − 1`` (exactly the C# indexing); the last band is unbounded.
    """
    valid = [tier for tier in tiers if on is None or tier.is_effective_on(on)]
    ordered = sorted(valid, key=lambda tier: tier.amount)
    ends_from: Sequence[ForecastTier] = tiers if legacy_unsorted_next_tier else ordered
    return tuple(
        TierBand(
            start=tier.amount,
            end=ends_from[index + 1].amount if index < len(ends_from) - 1 else None,
            share_percentage=tier.share_percentage,
        )
        for index, tier in enumerate(ordered)
    )


def lower_bound_shares(
    revenue: Decimal,
    tiers: Sequence[ForecastTier],
    *,
    on: datetime.date | None = None,
    legacy_unsorted_next_tier: bool = False,
) -> tuple[ForecastTierShare, ...]:
    """Apply ``revenue`` (USD) to :func:`lower_bound_bands` of ``tiers``: one share per band, in band order.

    T-2: ``[{0, 30 %}, {1000, 50 %}]`` on 1,500.00 → 1000 × 30 % + 500 × 50 % = 550.00 (2 shares).
    Shares are never negative (a negative revenue yields 0 in every band).
    """
    shares: list[ForecastTierShare] = []
    for band in lower_bound_bands(tiers, on=on, legacy_unsorted_next_tier=legacy_unsorted_next_tier):
        top = revenue if band.end is None else min(revenue, band.end)
        in_tier = max(ZERO, top - band.start)
        shares.append(
            ForecastTierShare(
                band=band, revenue_in_tier=in_tier, share_amount=in_tier * (band.share_percentage / _HUNDRED)
            )
        )
    return tuple(shares)
