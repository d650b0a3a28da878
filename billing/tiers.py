"""Tier loop of the invoice engine: tiers as ascending cumulative caps, 0 = unlimited (domain.md §2.4, §7 #1).

Shared by revenue share (§2.4) and profit share (§2.10e). The forecast calculators read the same JSON with
another meaning (lower bounds, §2.4 "Forecast"); that reading lives in the forecast module and the two are
never mixed (example T-2 pins both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .money import ZERO

__all__ = ["Tier", "TierShare", "cap_tiers"]

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Tier:
    """``share_percentage`` is a whole-number percent (30 = 30 %, §0.1); ``amount`` the tier's cumulative
    cap in USD, ``0`` meaning unlimited (the unlimited tier is stored last)."""

    share_percentage: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TierShare:
    """One processed tier (a §2.4 "distribution item"). ``revenue_amount`` = max(tier revenue, 0);
    ``amount_due`` = tier revenue × p/100 when positive, else 0 (unrounded); ``tier_limit`` = the cap."""

    tier_index: int
    revenue_amount: Decimal
    share_percentage: Decimal
    amount_due: Decimal
    tier_limit: Decimal


def cap_tiers(month_amount: Decimal, prior: Decimal, tiers: Sequence[Tier]) -> tuple[TierShare, ...]:
    """The flow's tier loop, exactly (§2.4 step 3), in stored order.

    ``T = month_amount + prior``; ``prev = 0``; for each tier: ``prev = max(prev, prior)``; a tier whose cap
    is exceeded by ``prev`` (cap ≠ 0) is skipped (already consumed by earlier months); otherwise
    ``tier_rev = T − prev`` when the cap is 0 or not reached, else ``cap − prev``; ``due = tier_rev × p/100``
    when ``tier_rev > 0``; then ``prev = cap``. Skipped tiers yield no share. Amounts are not rounded.
    """
    total = month_amount + prior
    previous = ZERO
    shares: list[TierShare] = []
    for index, tier in enumerate(tiers):
        cap = tier.amount
        previous = max(previous, prior)
        if cap != 0 and previous > cap:
            continue
        tier_revenue = total - previous if cap == 0 or total <= cap else cap - previous
        due = tier_revenue * tier.share_percentage / HUNDRED if tier_revenue > 0 else ZERO
        shares.append(
            TierShare(
                tier_index=index,
                revenue_amount=max(tier_revenue, ZERO),
                share_percentage=tier.share_percentage,
                amount_due=due,
                tier_limit=cap,
            )
        )
        previous = cap
    return tuple(shares)
