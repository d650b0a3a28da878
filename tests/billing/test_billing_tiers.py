"""The invoice engine's tier loop (domain.md §2.4): examples T-2 (flow reading), F-5, F-6."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.tiers import Tier, cap_tiers

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
