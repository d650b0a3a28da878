"""Revenue-share forecast, C# ``RevenueShareCalculator`` (domain.md §2.4 "Forecast", T-1, T-2, T-3, F-5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money, percent
from .inputs import ForecastContract, RevenueShareStructure
from .tiers import ForecastTierShare, lower_bound_shares

__all__ = ["RevenueShareForecast", "forecast_revenue_share"]


@dataclass(frozen=True, slots=True)
class RevenueShareForecast:
    """``total = Σ tiers share_amount`` (USD, unrounded) on ``forecasted_external_revenue``; ``structure`` is
    the threshold structure used (``None`` if none had a tier valid in the month, then no tiers, total 0)."""

    forecasted_external_revenue: Decimal
    structure: RevenueShareStructure | None
    tiers: tuple[ForecastTierShare, ...]
    total: Decimal
    explanation: tuple[str, ...]


def forecast_revenue_share(
    contract: ForecastContract,
    period: ServicePeriod,
    external_revenue: Decimal,
    *,
    legacy_unsorted_next_tier: bool = False,
) -> RevenueShareForecast | None:
    """Forecast revenue share of ``period`` (§2.4 "Forecast"); ``None`` without the Revenue Share block.

    ``external_revenue`` is the site's *calculated* forecast external revenue of the month (§2.12; the P&L
    passes 0 when there is none — never the budget value, as in C#). The structure used is the first one (stored
    order) with a tier valid on the first of the month (``EffectiveFrom``/``EffectiveTo``); its valid tiers are
    read as lower bounds (:mod:`billing.forecast.tiers`, §7 #1: the C# next-tier index bug is fixed unless
    ``legacy_unsorted_next_tier``). No escalator (the C# one is a placeholder).
    T-1: ``[{0, 50 %}]`` on 2,000.00 → 1,000.00. T-3: 133,509,635.10 × 30 % → 40,052,890.53.
    """
    if not contract.enables(BuildingBlock.REVENUE_SHARE):
        return None
    first = period.start
    structure = next(
        (s for s in contract.revenue_share if any(tier.is_effective_on(first) for tier in s.tiers)), None
    )
    lines = [
        f"§2.4 revenue-share forecast (C# RevenueShareCalculator) for {period}: forecast external revenue "
        f"R = {money(external_revenue)}; tier Amount = lower bound, sorted ascending"
        + (" (legacy: next tier read from the stored order, §7 #1)" if legacy_unsorted_next_tier else "")
    ]
    if structure is None:
        lines.append(f"no threshold structure has a tier valid on {first.isoformat()}: total 0")
        return RevenueShareForecast(external_revenue, None, (), ZERO, tuple(lines))
    shares = lower_bound_shares(
        external_revenue, structure.tiers, on=first, legacy_unsorted_next_tier=legacy_unsorted_next_tier
    )
    for share in shares:
        band = share.band
        end = money(band.end) if band.end is not None else "∞"
        lines.append(
            f"[{money(band.start)}, {end}) at {percent(band.share_percentage)}: "
            f"max(0, min(R, {end}) − {money(band.start)}) = {money(share.revenue_in_tier)} → {money(share.share_amount)}"
        )
    total = sum((share.share_amount for share in shares), ZERO)
    lines.append(f"total = {money(total)} (unrounded)")
    return RevenueShareForecast(external_revenue, structure, shares, total, tuple(lines))
