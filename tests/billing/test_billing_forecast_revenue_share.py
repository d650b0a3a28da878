"""Forecast revenue share, tiers as lower bounds (domain.md §2.4 "Forecast", §7 #1): T-1, T-2, T-3, F-5."""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.codes import BuildingBlock
from billing.forecast import (
    ForecastContract,
    ForecastTier,
    RevenueShareStructure,
    forecast_revenue_share,
    lower_bound_bands,
    lower_bound_shares,
    parse_tiers,
)
from billing.period import ServicePeriod
from billing.tiers import Tier, cap_tiers

D = Decimal
MAY_2025 = ServicePeriod(2025, 5)


def contract(*structures: RevenueShareStructure) -> ForecastContract:
    return ForecastContract("0170", frozenset({BuildingBlock.REVENUE_SHARE}), revenue_share=structures)


def share(tiers_json: str, revenue: Decimal, *, legacy: bool = False) -> Decimal:
    result = forecast_revenue_share(
        contract(RevenueShareStructure(parse_tiers(tiers_json))),
        MAY_2025,
        revenue,
        legacy_unsorted_next_tier=legacy,
    )
    assert result is not None
    return result.total


def test_t1_single_tier_half_of_external_revenue() -> None:
    assert share('[{"Amount": 0, "SharePercentage": 50}]', D("2000.00")) == D("1000.00")
    assert share('[{"Amount": 0, "SharePercentage": 50}]', D(0)) == D("0.00")


T2_JSON = '[{"SharePercentage": 30, "Amount": 0}, {"SharePercentage": 50, "Amount": 1000}]'


def test_t2_two_tiers_as_lower_bounds_and_the_cap_reading_of_the_same_json() -> None:
    tiers = parse_tiers(T2_JSON)
    result = forecast_revenue_share(contract(RevenueShareStructure(tiers)), MAY_2025, D("1500.00"))
    assert result is not None
    assert result.total == D("550.00")
    assert len(result.tiers) == 2
    assert [(t.band.start, t.band.end, t.revenue_in_tier, t.share_amount) for t in result.tiers] == [
        (D(0), D(1000), D(1000), D("300.00")),
        (D(1000), None, D(500), D("250.00")),
    ]
    # The invoice engine reads the same JSON as caps (0 = unlimited): 1500×30 % + 1000×50 % = 950.00.
    flow = cap_tiers(D("1500.00"), D(0), [Tier(t.share_percentage, t.amount) for t in tiers])
    assert sum((s.amount_due for s in flow), D(0)) == D("950.00")


def test_t3_large_revenue_is_exact() -> None:
    result = forecast_revenue_share(
        contract(RevenueShareStructure((ForecastTier(D(30), D(0)),))), MAY_2025, D("133509635.10")
    )
    assert result is not None
    assert result.total == D("40052890.53")
    assert [t.share_amount for t in result.tiers] == [D("40052890.53")]


F5_STORED = '[{"Amount": 45000, "SharePercentage": 0}, {"Amount": 0, "SharePercentage": 25}]'
F5_ASCENDING = '[{"Amount": 0, "SharePercentage": 25}, {"Amount": 45000, "SharePercentage": 0}]'


def test_f5_index_bug_fixed_by_default() -> None:
    assert share(F5_STORED, D("60000.00")) == D("11250.00")


def test_f5_legacy_flag_reproduces_the_csharp_zero() -> None:
    assert share(F5_STORED, D("60000.00"), legacy=True) == D("0.00")
    bands = lower_bound_bands(parse_tiers(F5_STORED), legacy_unsorted_next_tier=True)
    assert [(b.start, b.end) for b in bands] == [(D(0), D(0)), (D(45000), None)]


def test_f5_ascending_stored_order_agrees_in_both_readings() -> None:
    assert share(F5_ASCENDING, D("60000.00")) == D("11250.00")
    assert share(F5_ASCENDING, D("60000.00"), legacy=True) == D("11250.00")


def test_tiers_filtered_by_effective_dates_and_first_effective_structure_wins() -> None:
    expired = RevenueShareStructure(
        (ForecastTier(D(90), D(0), effective_to=datetime.date(2024, 12, 31)),), name="old"
    )
    current = RevenueShareStructure(
        (
            ForecastTier(D(10), D(0), effective_from=datetime.date(2025, 1, 1)),
            ForecastTier(D(20), D(0), effective_from=datetime.date(2025, 6, 1)),  # not yet valid in May
        ),
        name="current",
    )
    result = forecast_revenue_share(contract(expired, current), MAY_2025, D(1000))
    assert result is not None and result.structure is current
    assert result.total == D("100.00")
    assert len(result.tiers) == 1


def test_no_structure_valid_gives_zero_and_no_block_gives_none() -> None:
    expired = RevenueShareStructure((ForecastTier(D(90), D(0), effective_to=datetime.date(2024, 12, 31)),))
    result = forecast_revenue_share(contract(expired), MAY_2025, D(1000))
    assert result is not None and result.total == 0 and result.tiers == () and result.structure is None
    no_block = ForecastContract("0170", frozenset(), revenue_share=(expired,))
    assert forecast_revenue_share(no_block, MAY_2025, D(1000)) is None


def test_explanation_shows_bands_and_formula() -> None:
    result = forecast_revenue_share(
        contract(RevenueShareStructure(parse_tiers(T2_JSON))), MAY_2025, D("1500.00")
    )
    assert result is not None
    text = "\n".join(result.explanation)
    assert "[0.00, 1,000.00) at 30%" in text and "[1,000.00, ∞) at 50%" in text and "total = 550.00" in text


money = st.decimals(min_value=-1_000_000, max_value=100_000_000, places=2)
percentages = st.decimals(min_value=0, max_value=100, places=2)
tier_lists = st.lists(
    st.builds(ForecastTier, percentages, st.decimals(min_value=0, max_value=10_000_000, places=2)),
    min_size=1,
    max_size=5,
)


@given(revenue=money, tiers=tier_lists, legacy=st.booleans())
def test_shares_are_never_negative(revenue: Decimal, tiers: list[ForecastTier], legacy: bool) -> None:
    for item in lower_bound_shares(revenue, tiers, legacy_unsorted_next_tier=legacy):
        assert item.revenue_in_tier >= 0 and item.share_amount >= 0


@given(revenue=st.decimals(min_value=0, max_value=100_000_000, places=2), pct=percentages)
def test_a_single_tier_from_zero_is_a_flat_percentage(revenue: Decimal, pct: Decimal) -> None:
    [item] = lower_bound_shares(revenue, [ForecastTier(pct, D(0))])
    assert item.share_amount == revenue * pct / 100


distinct_bound_tiers = st.lists(
    st.builds(ForecastTier, percentages, st.decimals(min_value=0, max_value=10_000_000, places=2)),
    min_size=1,
    max_size=5,
    unique_by=lambda tier: tier.amount,  # equal bounds make a zero-width band whose owner depends on order
)


@given(revenue=money, tiers=distinct_bound_tiers, data=st.data())
def test_fixed_reading_ignores_stored_order_and_covers_revenue_above_the_lowest_bound(
    revenue: Decimal, tiers: list[ForecastTier], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(tiers))
    first = lower_bound_shares(revenue, tiers)
    again = lower_bound_shares(revenue, shuffled)
    assert sum((s.share_amount for s in first), D(0)) == sum((s.share_amount for s in again), D(0))
    lowest = min(t.amount for t in tiers)
    assert sum((s.revenue_in_tier for s in first), D(0)) == max(D(0), revenue - lowest)
