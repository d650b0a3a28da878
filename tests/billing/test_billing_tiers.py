"""The invoice engine's tier loop (domain.md §2.4): examples T-2 (flow reading), F-5, F-6, the skip boundary
(Prior exactly at a cap) and a three-tier golden case."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.tiers import Tier, TierShare, cap_tiers

D = Decimal


def _due(shares: tuple) -> Decimal:  # type: ignore[type-arg]
    return sum((s.amount_due for s in shares), D(0))


def test_t2_flow_reading_double_counts_when_the_unlimited_tier_is_first() -> None:
    # JSON [{Amount 0, 30%}, {Amount 1000, 50%}] read with cap semantics: 1500×30% + 1000×50% = 950
    shares = cap_tiers(D("1500.00"), D(0), [Tier(D(30), D(0)), Tier(D(50), D(1000))])
    assert _due(shares) == D("950.00")


def test_f5_two_tier_cap_semantics() -> None:
    shares = cap_tiers(D("60000.00"), D(0), [Tier(D(0), D(45000)), Tier(D(25), D(0))])
    assert _due(shares) == D("3750.00")
    assert [(s.revenue_amount, s.share_percentage) for s in shares] == [(D(45000), D(0)), (D(15000), D(25))]


def test_f6_annual_accumulation_month_1_and_2() -> None:
    tiers = [Tier(D(10), D(50000)), Tier(D(20), D(0))]
    month1 = cap_tiers(D(20000), D(40000), tiers)
    assert _due(month1) == D("3000.00")
    assert [s.revenue_amount for s in month1] == [D(10000), D(10000)]
    month2 = cap_tiers(D(5000), D(60000), tiers)
    assert _due(month2) == D("1000.00")
    assert [s.tier_index for s in month2] == [1]  # tier 1 already consumed


def test_single_unlimited_tier_is_a_flat_percentage() -> None:
    assert _due(cap_tiers(D("133509635.10"), D(0), [Tier(D(30), D(0))])) == D("40052890.530")


def test_negative_month_yields_nothing_due() -> None:
    shares = cap_tiers(D(-500), D(0), [Tier(D(40), D(0))])
    assert _due(shares) == 0 and shares[0].revenue_amount == 0


# --- §2.4 step 3 at the skip boundary: "if prev > cap and cap ≠ 0 → skip" (strictly greater) -----------------
# F-6 tiers [{cap 50,000, 10 %}, {cap 0 = unlimited, 20 %}], month 5,000, Prior around the cap.
F6_TIERS = [Tier(D(10), D(50000)), Tier(D(20), D(0))]


def test_section_2_4_prior_exactly_at_the_cap_processes_the_tier_with_nothing_left() -> None:
    """Prior 50,000 = cap: T = 55,000. Tier 1: prev = max(0, 50,000) = 50,000, not > 50,000, so it is
    processed: T > cap ⇒ tier_rev = 50,000 − 50,000 = 0 ⇒ due 0, a distribution item of 0 (the flow writes
    it). Tier 2: prev = max(50,000, 50,000) = 50,000, unlimited ⇒ 55,000 − 50,000 = 5,000 × 20 % = 1,000."""
    shares = cap_tiers(D("5000.00"), D("50000.00"), F6_TIERS)
    assert shares == (
        TierShare(tier_index=0, revenue_amount=D(0), share_percentage=D(10), amount_due=D(0), tier_limit=D(50000)),
        TierShare(tier_index=1, revenue_amount=D("5000.00"), share_percentage=D(20), amount_due=D("1000.00"),
                  tier_limit=D(0)),
    )  # fmt: skip
    assert _due(shares) == D("1000.00")


def test_section_2_4_prior_a_cent_below_the_cap_leaves_a_cent_in_the_tier() -> None:
    """Prior 49,999.99: T = 54,999.99. Tier 1: prev 49,999.99 ≤ cap, T > cap ⇒ 50,000 − 49,999.99 = 0.01
    × 10 % = 0.001. Tier 2: prev = max(50,000, 49,999.99) = 50,000 ⇒ 54,999.99 − 50,000 = 4,999.99 × 20 %
    = 999.998. Σ due = 999.999 (unrounded)."""
    shares = cap_tiers(D("5000.00"), D("49999.99"), F6_TIERS)
    assert shares == (
        TierShare(tier_index=0, revenue_amount=D("0.01"), share_percentage=D(10), amount_due=D("0.001"),
                  tier_limit=D(50000)),
        TierShare(tier_index=1, revenue_amount=D("4999.99"), share_percentage=D(20), amount_due=D("999.998"),
                  tier_limit=D(0)),
    )  # fmt: skip
    assert _due(shares) == D("999.999")


def test_section_2_4_prior_a_cent_above_the_cap_skips_the_tier() -> None:
    """Prior 50,000.01: T = 55,000.01. Tier 1: prev 50,000.01 > 50,000 ⇒ skipped, no item, prev stays
    50,000.01. Tier 2: prev = max(50,000.01, Prior) = 50,000.01 ⇒ 55,000.01 − 50,000.01 = 5,000 × 20 % =
    1,000."""
    shares = cap_tiers(D("5000.00"), D("50000.01"), F6_TIERS)
    assert shares == (
        TierShare(tier_index=1, revenue_amount=D("5000.00"), share_percentage=D(20), amount_due=D("1000.00"),
                  tier_limit=D(0)),
    )  # fmt: skip


# --- three tiers, cumulative caps ---------------------------------------------------------------------------
# [{cap 100,000, 5 %}, {cap 250,000, 7.5 %}, {cap 0 = unlimited, 10 %}]: tier 2 covers 100,000..250,000.
THREE_TIERS = [Tier(D(5), D(100000)), Tier(D("7.5"), D(250000)), Tier(D(10), D(0))]


def test_section_2_4_three_tiers_monthly() -> None:
    """Monthly (Prior 0), month 300,000 = T. Tier 1: T > 100,000 ⇒ 100,000 − 0 = 100,000 × 5 % = 5,000;
    prev = 100,000. Tier 2: T > 250,000 ⇒ 250,000 − 100,000 = 150,000 × 7.5 % = 11,250; prev = 250,000.
    Tier 3 (unlimited): 300,000 − 250,000 = 50,000 × 10 % = 5,000. Σ due = 21,250.

    Month 180,000 stops in tier 2: 100,000 × 5 % = 5,000; T ≤ 250,000 ⇒ 180,000 − 100,000 = 80,000 × 7.5 %
    = 6,000; tier 3: 180,000 − 250,000 = −70,000 ⇒ revenue 0, due 0 (the item is still written). Σ = 11,000."""
    shares = cap_tiers(D("300000.00"), D(0), THREE_TIERS)
    assert shares == (
        TierShare(0, D(100000), D(5), D(5000), D(100000)),
        TierShare(1, D(150000), D("7.5"), D(11250), D(250000)),
        TierShare(2, D(50000), D(10), D(5000), D(0)),
    )
    assert _due(shares) == D("21250.00")

    shares = cap_tiers(D("180000.00"), D(0), THREE_TIERS)
    assert shares == (
        TierShare(0, D(100000), D(5), D(5000), D(100000)),
        TierShare(1, D(80000), D("7.5"), D(6000), D(250000)),
        TierShare(2, D(0), D(10), D(0), D(0)),
    )
    assert _due(shares) == D("11000.00")


def test_section_2_4_three_tiers_annual_accumulation() -> None:
    """Annual: the months 180,000, 120,000, 40,000 of one accumulation year.

    Month 2: Prior 180,000, month 120,000 ⇒ T = 300,000. Tier 1: prev = 180,000 > 100,000 ⇒ skipped.
    Tier 2: prev = max(180,000, 180,000) = 180,000, T > 250,000 ⇒ 250,000 − 180,000 = 70,000 × 7.5 % = 5,250;
    prev = 250,000. Tier 3: 300,000 − 250,000 = 50,000 × 10 % = 5,000. Σ = 10,250.
    Month 3: Prior 300,000, month 40,000 ⇒ tiers 1 and 2 skipped (300,000 > both caps); tier 3: prev =
    300,000 ⇒ 340,000 − 300,000 = 40,000 × 10 % = 4,000.
    The year, 11,000 (month 1, as in the monthly test) + 10,250 + 4,000 = 25,250, equals 340,000 in one
    month: 5,000 + 11,250 + 90,000 × 10 % = 25,250."""
    month2 = cap_tiers(D("120000.00"), D("180000.00"), THREE_TIERS)
    assert month2 == (
        TierShare(1, D(70000), D("7.5"), D(5250), D(250000)),
        TierShare(2, D(50000), D(10), D(5000), D(0)),
    )
    assert _due(month2) == D("10250.00")

    month3 = cap_tiers(D("40000.00"), D("300000.00"), THREE_TIERS)
    assert month3 == (TierShare(2, D(40000), D(10), D(4000), D(0)),)
    assert _due(month3) == D("4000.00")

    assert (
        _due(cap_tiers(D("340000.00"), D(0), THREE_TIERS)) == D("25250.00") == D(11000) + D(10250) + D(4000)
    )


@pytest.mark.parametrize(
    ("prior", "indexes"),
    [(D("99999.99"), [0, 1, 2]), (D(100000), [0, 1, 2]), (D("100000.01"), [1, 2]), (D(250000), [1, 2]),
     (D("250000.01"), [2])],
)  # fmt: skip
def test_section_2_4_three_tiers_skip_only_caps_strictly_below_prior(
    prior: Decimal, indexes: list[int]
) -> None:
    shares = cap_tiers(D("1000.00"), prior, THREE_TIERS)
    assert [s.tier_index for s in shares] == indexes
    assert sum((s.revenue_amount for s in shares), D(0)) == D("1000.00")


amounts = st.decimals(min_value=0, max_value=10_000_000, places=2)


@given(
    month=amounts,
    caps=st.lists(
        st.decimals(min_value=1, max_value=5_000_000, places=2), min_size=0, max_size=4, unique=True
    ),
    shares=st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=5, max_size=5),
)
def test_monthly_tiers_never_negative_and_sum_to_the_base(
    month: Decimal, caps: list[Decimal], shares: list[Decimal]
) -> None:
    tiers = [Tier(p, c) for p, c in zip(shares, sorted(caps), strict=False)] + [Tier(shares[-1], D(0))]
    result = cap_tiers(month, D(0), tiers)
    assert all(s.revenue_amount >= 0 and s.amount_due >= 0 for s in result)
    assert sum((s.revenue_amount for s in result), D(0)) == month


@given(first=amounts, second=amounts, cap=st.decimals(min_value=1, max_value=5_000_000, places=2))
def test_annual_accumulation_split_equals_the_single_month(
    first: Decimal, second: Decimal, cap: Decimal
) -> None:
    tiers = [Tier(D(10), cap), Tier(D(25), D(0))]
    whole = _due(cap_tiers(first + second, D(0), tiers))
    split = _due(cap_tiers(first, D(0), tiers)) + _due(cap_tiers(second, first, tiers))
    assert split == whole
