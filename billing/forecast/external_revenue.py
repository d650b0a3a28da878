"""External-revenue forecast, C# ``ExternalRevenueCalculator`` (domain.md §2.12, example T-7, §7 #12)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..money import ZERO
from ..period import ServicePeriod
from ._text import money
from .inputs import ForecastFacts, RateCategory
from .statistics import select_statistics

__all__ = [
    "EXTERNAL_REVENUE_CATEGORIES",
    "ExternalRevenueForecast",
    "RevenueComponent",
    "forecast_external_revenue",
]

EXTERNAL_REVENUE_CATEGORIES: tuple[RateCategory, ...] = (
    RateCategory.VALET_DAILY,
    RateCategory.VALET_MONTHLY,
    RateCategory.VALET_OVERNIGHT,
    RateCategory.VALET_AGGREGATOR,
    RateCategory.SELF_DAILY,
    RateCategory.SELF_MONTHLY,
    RateCategory.SELF_OVERNIGHT,
    RateCategory.SELF_AGGREGATOR,
)
"""The 8 categories in the C# breakdown order."""


@dataclass(frozen=True, slots=True)
class RevenueComponent:
    """One category: ``statistic`` = Σ counts of the month, ``rate`` USD/unit (``None`` if no rate detail),
    ``value = statistic × (rate or 0)`` USD."""

    category: RateCategory
    statistic: Decimal
    rate: Decimal | None
    value: Decimal


@dataclass(frozen=True, slots=True)
class ExternalRevenueForecast:
    """Forecast external revenue of one site and month: the 8 ``components`` and ``total`` = Σ values (USD,
    unrounded). ``statistics_basis`` tells which statistic rows were read (§7 #12)."""

    components: tuple[RevenueComponent, ...]
    total: Decimal
    statistics_basis: str
    explanation: tuple[str, ...]


def forecast_external_revenue(
    facts: ForecastFacts, period: ServicePeriod, *, legacy_sum_all_statistic_types: bool = False
) -> ExternalRevenueForecast | None:
    """Forecast external revenue of ``period`` (§2.12).

    Statistic rows of the month per §7 #12 (Forecast, else Actual; ``legacy_sum_all_statistic_types`` sums
    all types like C#). ``None`` when there is no row to read — the P&L then falls back to the budget.
    Per category: ``stat = Σ count`` (missing counts 0), ``rate`` = the first parking-rate record of the
    forecast year → its first detail with ``Month == m`` and the category (``None`` if missing; C# loads the
    year's rates and takes the first record); ``value = stat × (rate or 0)``. ``total = Σ value``.
    T-7: VD 10 @5, VM 2 @100, SD 20 @2, SM 5 @50, other rates missing → 540.00.
    """
    selection = select_statistics(
        facts.statistics, period, legacy_sum_all_types=legacy_sum_all_statistic_types
    )
    if not selection.details:
        return None
    record = next((rate for rate in facts.parking_rates if rate.year == period.year), None)
    lines = [
        f"§2.12 external-revenue forecast (C# ExternalRevenueCalculator) for {period}: "
        f"{len(selection.details)} statistic row(s), basis {selection.basis}",
        "value = Σ count × rate (rate missing ⇒ 0) per category; total = Σ values",
    ]
    components: list[RevenueComponent] = []
    for category in EXTERNAL_REVENUE_CATEGORIES:
        statistic = sum((count for d in selection.details if (count := d.count(category)) is not None), ZERO)
        rate = None
        if record is not None:
            rate = next(
                (d.rate for d in record.details if d.month == period.month and d.category is category), None
            )
        value = statistic * (rate if rate is not None else ZERO)
        components.append(RevenueComponent(category=category, statistic=statistic, rate=rate, value=value))
        shown = money(rate) if rate is not None else "missing"
        lines.append(f"{category.name}: {money(statistic)} × {shown} = {money(value)}")
    total = sum((component.value for component in components), ZERO)
    lines.append(f"total = {money(total)} (unrounded)")
    return ExternalRevenueForecast(
        components=tuple(components), total=total, statistics_basis=selection.basis, explanation=tuple(lines)
    )
