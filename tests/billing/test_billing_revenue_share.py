"""Revenue Share (domain.md §2.4) through the engine: F-5, F-6, accumulation starts (§7 #9), §7 #20, tiers."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import (
    AccumulationStart,
    AccumulationType,
    BillingType,
    BuildingBlock,
    ContractConfig,
    InvoiceLine,
    PeriodFacts,
    RevenueRow,
    RevenueShareItem,
    ServicePeriod,
    ThresholdStructure,
    Tier,
    earliest_fact_date,
    last_anniversary,
    preview,
)

D = Decimal
day = datetime.date
RS = frozenset({BuildingBlock.REVENUE_SHARE})
CODES = ("ADJ", "OR1", "OR2", "SD1", "SM1", "VD1", "VM1", "VO1")
MONTHLY, CALENDAR, ANNIVERSARY = (
    AccumulationType.MONTHLY,
    AccumulationType.ANNUAL_CALENDAR,
    AccumulationType.ANNUAL_ANNIVERSARY,
)


def rev(
    d: datetime.date,
    amount: str | Decimal,
    code: str = "VD1",
    *,
    flag: str = "Y",
    category: str = "Parking",
    validation: str = "0",
) -> RevenueRow:
    return RevenueRow(d, code, category, None, flag, D(amount), D(amount), D(validation))


def structure(
    *tiers: tuple[str | int, str | int], accumulation: AccumulationType = MONTHLY, **kw: object
) -> ThresholdStructure:
    return ThresholdStructure(
        revenue_codes=kw.pop("codes", CODES),  # type: ignore[arg-type]
        tiers=tuple(Tier(D(p), D(a)) for p, a in tiers),
        accumulation_type=accumulation,
        invoice_group=kw.pop("invoice_group", 1),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def contract(
    *structures: ThresholdStructure, start: datetime.date | None = None, blocks: frozenset[BuildingBlock] = RS
) -> ContractConfig:
    return ContractConfig(
        "0293", BillingType.ARREARS, blocks, threshold_structures=structures, site_start_date=start
    )


def share_line(
    config: ContractConfig, period: ServicePeriod, rows: tuple[RevenueRow, ...], **kw: object
) -> InvoiceLine:
    result = preview(config, period, PeriodFacts(revenue=rows), **kw)  # type: ignore[arg-type]
    [line] = [line for line in result.lines() if line.title == "Towne Park Fees for Services"]
    return line


# --- F-5: two tiers, cap semantics (§7 #1) ----------------------------------------------------------------

F5_TIERS = ((0, 45000), (25, 0))  # profit tiers of contract 0242 applied as revenue tiers


def test_golden_f5_decision_7_1_two_tier_cap_semantics_through_the_engine() -> None:
    rows = (
        rev(day(2025, 4, 1), "25000.00", "VD1"),
        rev(day(2025, 4, 15), "30000.00", "SM1"),
        rev(day(2025, 4, 30), "5000.00", "OR1", flag="N"),
    )
    result = preview(contract(structure(*F5_TIERS)), ServicePeriod(2025, 4), PeriodFacts(revenue=rows))

    [invoice] = result.invoices
    [line] = invoice.lines
    assert (line.title, line.code, str(line.amount)) == ("Towne Park Fees for Services", "4790", "3750.00")
    assert line.description == "Total Base for Fee Calculation: $60,000.00"
    assert line.revenue_share_items == (
        RevenueShareItem(1, 0, D("45000"), D(0), D(0), D(45000)),
        RevenueShareItem(1, 1, D("15000.00"), D(25), D("3750.0000"), D(0)),
    )
    assert [item.owner_percentage for item in line.revenue_share_items] == [D(100), D(75)]
    assert [item.amount_due_to_owner for item in line.revenue_share_items] == [D(45000), D("11250.0000")]
    assert invoice.amount == D("3750.00") and result.not_computed == () and result.warnings == ()
    for fragment in (
        "§2.4",
        "§7 #1",
        "cap 45000 @ 0 %",
        "cap ∞ @ 25 %",
        "Rm = Σ net external revenue of 3 rows",
    ):
        assert fragment in line.explanation


def test_revenue_filters_flag_category_codes_and_month() -> None:
    rows = (
        rev(day(2025, 4, 2), "1000.00"),
        rev(day(2025, 4, 2), "900.00", flag="V"),  # validations are not shared revenue
        rev(day(2025, 4, 2), "800.00", category="Per Man Hour"),
        rev(day(2025, 4, 2), "700.00", "XYZ"),  # code of no structure
        rev(day(2025, 3, 31), "600.00"),
        rev(day(2025, 5, 1), "500.00"),
    )
    line = share_line(contract(structure((10, 0))), ServicePeriod(2025, 4), rows)
    assert line.amount == D("100.00")
    assert line.description == "Total Base for Fee Calculation: $1,000.00"


def test_bell_service_removes_or1_or2_from_the_month_only() -> None:
    rows = (
        rev(day(2025, 4, 2), "1000.00", "VD1"),
        rev(day(2025, 4, 3), "500.00", "OR1"),
        rev(day(2025, 4, 3), "250.00", "OR2"),
    )
    without_bell = share_line(contract(structure((10, 0))), ServicePeriod(2025, 4), rows)
    with_bell = share_line(
        contract(structure((10, 0)), blocks=RS | {BuildingBlock.BELL_SERVICE}), ServicePeriod(2025, 4), rows
    )
    assert (without_bell.amount, with_bell.amount) == (D("175.00"), D("100.00"))
    assert "OR1/OR2 excluded because Bell Service is enabled" in with_bell.explanation


# --- F-6: annual accumulation with earlier rows of the year -----------------------------------------------

F6 = structure((10, 50000), (20, 0), accumulation=CALENDAR)
F6_ROWS = (
    rev(day(2024, 12, 15), "99999.00"),  # previous accumulation year: never counted (intended rule)
    rev(day(2025, 1, 10), "25000.00"),
    rev(day(2025, 2, 10), "15000.00"),
    rev(day(2025, 3, 10), "20000.00"),
    rev(day(2025, 4, 10), "5000.00"),
)


def test_golden_f6_annual_calendar_month_1_and_month_2() -> None:
    march = share_line(contract(F6, start=day(2019, 6, 15)), ServicePeriod(2025, 3), F6_ROWS)
    assert march.amount == D("3000.00")
    assert march.description == "Total Base for Fee Calculation: $20,000.00"
    assert [(i.tier_index, i.revenue_amount, i.amount_due) for i in march.revenue_share_items] == [
        (0, D("10000.00"), D("1000.0000")),
        (1, D("10000.00"), D("2000.0000")),
    ]
    assert "Prior = Σ net revenue of 2 rows dated 2025-01-01..2025-03-01" in march.explanation

    april = share_line(contract(F6, start=day(2019, 6, 15)), ServicePeriod(2025, 4), F6_ROWS)
    assert april.amount == D("1000.00")
    assert [item.tier_index for item in april.revenue_share_items] == [1]  # tier 1 consumed by Prior 60,000
    assert "1 tier(s) skipped" in april.explanation


def test_decision_7_9_calendar_intended_and_legacy_readings() -> None:
    # Site started 2024-07-01: legacy calendar accumulation starts Jan 1 of 2024 (the start-date year),
    # the intended one Jan 1 of the service year 2025.
    config = contract(F6, start=day(2024, 7, 1))
    rows = (rev(day(2024, 8, 1), "40000.00"), rev(day(2025, 3, 10), "20000.00"))
    intended = share_line(config, ServicePeriod(2025, 3), rows)
    legacy = share_line(config, ServicePeriod(2025, 3), rows, accumulation_start=AccumulationStart.LEGACY)
    assert intended.amount == D("2000.00")  # 20,000 within tier 1 at 10 %
    assert legacy.amount == D("3000.00")  # Prior 40,000 from 2024: 10,000 @ 10 % + 10,000 @ 20 %
    assert "§7 #9 intended rule: Jan 1 of the service year = 2025-01-01" in intended.explanation
    assert "§7 #9 LEGACY rule: Jan 1 of the site start-date year = 2024-01-01" in legacy.explanation


def test_decision_7_9_anniversary_intended_and_legacy_readings() -> None:
    anniversary = structure((10, 50000), (20, 0), accumulation=ANNIVERSARY)
    config = contract(anniversary, start=day(2019, 6, 15))
    rows = (
        rev(day(2024, 6, 14), "30000.00"),  # before the last anniversary: legacy only
        rev(day(2024, 6, 15), "40000.00"),  # on the last anniversary: both readings
        rev(day(2025, 4, 5), "20000.00"),
    )
    intended = share_line(config, ServicePeriod(2025, 4), rows)
    legacy = share_line(config, ServicePeriod(2025, 4), rows, accumulation_start=AccumulationStart.LEGACY)
    assert intended.amount == D("3000.00")  # Prior 40,000 → 10,000 @ 10 % + 10,000 @ 20 %
    assert legacy.amount == D("4000.00")  # Prior 70,000 → all 20,000 @ 20 %
    assert (
        "last anniversary of the site start date 2019-06-15 on or before 2025-04-01 = 2024-06-15"
        in intended.explanation
    )
    assert "§7 #9 LEGACY rule: the site start date itself = 2019-06-15" in legacy.explanation


def test_anniversary_without_site_start_date_falls_back_to_the_calendar_year_with_a_warning() -> None:
    config = contract(structure((10, 0), accumulation=ANNIVERSARY))
    rows = (rev(day(2025, 1, 5), "100.00"), rev(day(2024, 12, 5), "100.00"), rev(day(2025, 4, 5), "100.00"))
    result = preview(config, ServicePeriod(2025, 4), PeriodFacts(revenue=rows))
    [line] = result.lines()
    assert "FALLBACK 2025-01-01" in line.explanation
    assert any(
        "no site start date: accumulating from Jan 1 of the service year" in w for w in result.warnings
    )


def test_last_anniversary() -> None:
    assert last_anniversary(day(2019, 6, 15), day(2025, 4, 1)) == day(2024, 6, 15)
    assert last_anniversary(day(2019, 4, 1), day(2025, 4, 1)) == day(2025, 4, 1)
    assert last_anniversary(day(2020, 2, 29), day(2025, 3, 1)) == day(2025, 2, 28)
    assert last_anniversary(day(2026, 1, 1), day(2025, 4, 1)) == day(2026, 1, 1)


def test_earliest_fact_date_covers_the_accumulation_windows() -> None:
    config = contract(F6, structure((5, 0), codes=("XYZ",)), start=day(2019, 6, 15))
    assert earliest_fact_date(config, ServicePeriod(2025, 4)) == day(2025, 1, 1)
    assert earliest_fact_date(config, ServicePeriod(2025, 4), AccumulationStart.LEGACY) == day(2019, 1, 1)
    assert earliest_fact_date(contract(structure((5, 0))), ServicePeriod(2025, 4)) == day(2025, 4, 1)


# --- three tiers through the engine ------------------------------------------------------------------------

THREE = (("5", "100000"), ("7.5", "250000"), ("10", "0"))  # cumulative caps 100,000 / 250,000 / unlimited
THREE_ROWS = (
    rev(day(2025, 1, 10), "100000.00"),
    rev(day(2025, 2, 10), "80000.06"),
    rev(day(2025, 3, 10), "70000.00", "VD1"),
    rev(day(2025, 3, 20), "50000.10", "SM1"),
)


def test_section_2_4_three_tier_invoice_annual_and_monthly() -> None:
    """March 2025, Rm = 70,000.00 + 50,000.10 = 120,000.10.

    AnnualCalendar (site started 2019-06-15, intended start 2025-01-01): Prior = 100,000.00 + 80,000.06 =
    180,000.06, T = 300,000.16. Tier 1 (cap 100,000): prev 180,000.06 > cap ⇒ skipped. Tier 2 (cap 250,000):
    prev 180,000.06, T > cap ⇒ 250,000 − 180,000.06 = 69,999.94 × 7.5 % = 5,249.9955. Tier 3: 300,000.16 −
    250,000 = 50,000.16 × 10 % = 5,000.016. Σ due = 10,250.0115 (unrounded, §2.4), stored at cents once ⇒
    line and invoice 10,250.01. Rounding each tier's due first would give 5,250.00 + 5,000.02 = 10,250.02.

    Monthly: Prior 0, T = 120,000.10. Tier 1: 100,000 × 5 % = 5,000; tier 2: T ≤ 250,000 ⇒ 120,000.10 −
    100,000 = 20,000.10 × 7.5 % = 1,500.0075; tier 3: 120,000.10 − 250,000 < 0 ⇒ 0. Σ = 6,500.0075,
    stored at cents half away from zero (§0.1) ⇒ 6,500.01."""
    annual = preview(
        contract(structure(*THREE, accumulation=CALENDAR), start=day(2019, 6, 15)),
        ServicePeriod(2025, 3),
        PeriodFacts(revenue=THREE_ROWS),
    )
    [invoice] = annual.invoices
    [line] = invoice.lines
    assert (invoice.invoice_number, invoice.invoice_date) == ("0293-202503-01-01", day(2025, 3, 31))
    assert (line.title, line.code, str(line.amount), str(invoice.amount)) == (
        "Towne Park Fees for Services", "4790", "10250.01", "10250.01",
    )  # fmt: skip
    assert line.description == "Total Base for Fee Calculation: $120,000.10"
    assert line.revenue_share_items == (
        RevenueShareItem(1, 1, D("69999.94"), D("7.5"), D("5249.9955"), D(250000)),
        RevenueShareItem(1, 2, D("50000.16"), D(10), D("5000.016"), D(0)),
    )
    assert "1 tier(s) skipped" in line.explanation
    assert "Σ due over all structures and tiers = 10250.0115 (unrounded)" in line.explanation

    monthly = preview(contract(structure(*THREE)), ServicePeriod(2025, 3), PeriodFacts(revenue=THREE_ROWS))
    [line] = monthly.lines()
    assert str(line.amount) == "6500.01" and str(monthly.invoices[0].amount) == "6500.01"
    assert line.revenue_share_items == (
        RevenueShareItem(1, 0, D("100000"), D(5), D("5000"), D(100000)),
        RevenueShareItem(1, 1, D("20000.10"), D("7.5"), D("1500.0075"), D(250000)),
        RevenueShareItem(1, 2, D(0), D(10), D(0), D(0)),
    )


# --- several structures ----------------------------------------------------------------------------------


def test_decision_7_20_prior_is_reset_for_each_structure() -> None:
    # An annual structure followed by a monthly one: the legacy flow carried Prior 60,000 into structure 2.
    annual = structure((10, 50000), (20, 0), accumulation=CALENDAR, codes=("VD1",))
    monthly = structure((10, 50000), (20, 0), codes=("SD1",))
    rows = (rev(day(2025, 1, 5), "60000.00", "VD1"), rev(day(2025, 2, 5), "1000.00", "SD1"))
    line = share_line(contract(annual, monthly), ServicePeriod(2025, 2), rows)
    second = [item for item in line.revenue_share_items if item.threshold_structure == 2]
    assert [(item.tier_index, item.revenue_amount, item.amount_due) for item in second] == [
        (0, D("1000.00"), D("100.0000")),
        (1, D(0), D(0)),  # processed, nothing above the cap (the flow writes this item too)
    ]
    assert line.amount == D("100.00")  # with the carried-over Prior it would bill 1,000 × 20 % = 200
    assert "Prior = 0 (reset for every structure, §7 #20)" in line.explanation


def test_all_structures_feed_one_line_on_the_first_structures_group() -> None:
    first = structure((10, 0), codes=("VD1",), invoice_group=1)
    second = structure((20, 0), codes=("SD1",), invoice_group=2)
    rows = (rev(day(2025, 4, 5), "1000.00", "VD1"), rev(day(2025, 4, 5), "500.00", "SD1"))
    result = preview(contract(first, second), ServicePeriod(2025, 4), PeriodFacts(revenue=rows))
    [line] = result.lines()
    assert line.amount == D("200.00")
    assert line.description == "Total Base for Fee Calculation: $1,500.00"
    assert {item.threshold_structure for item in line.revenue_share_items} == {1, 2}
    assert any("structure 2 names invoice group 2" in warning for warning in result.warnings)


def test_first_structure_without_group_is_never_billed() -> None:
    config = contract(structure((10, 0), invoice_group=None))
    result = preview(config, ServicePeriod(2025, 4), PeriodFacts(revenue=(rev(day(2025, 4, 5), "1000"),)))
    assert result.invoices == ()
    assert any("no invoice group (no default" in warning for warning in result.warnings)


def test_diagnosis_of_tier_order_and_repeated_codes() -> None:
    t2 = structure((30, 0), (50, 1000), codes=("VD1",))  # §5 T-2 stored order: double counts
    again = structure((10, 0), codes=("VD1", "SD1"))
    result = preview(
        contract(t2, again), ServicePeriod(2025, 4), PeriodFacts(revenue=(rev(day(2025, 4, 5), "1500"),))
    )
    assert any("are not ascending caps" in warning for warning in result.warnings)
    assert any("revenue codes VD1 are allocated to more than one structure" in w for w in result.warnings)
    # The flow reading of T-2 (§5): 1500 × 30 % + 1000 × 50 % on structure 1, then 10 % again on structure 2.
    assert result.lines()[0].amount == D("1100.00")
    some = PeriodFacts(revenue=(rev(day(2025, 4, 5), "50000"),))
    assert preview(contract(structure(*F5_TIERS)), ServicePeriod(2025, 4), some).warnings == ()


def test_structure_validation() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        structure((10, -1))
    with pytest.raises(TypeError, match="tuple"):
        ThresholdStructure(["VD1"], (Tier(D(1), D(0)),))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AccumulationType"):
        ThresholdStructure(("VD1",), (), "ANNUAL_CALENDAR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        ThresholdStructure(("VD1",), (Tier(0.5, D(0)),))  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=0, max_value=500_000, places=2)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    caps = sorted(draw(st.sets(st.integers(1, 2_000_000), max_size=3)))
    shares = draw(st.lists(st.integers(0, 60), min_size=len(caps) + 1, max_size=len(caps) + 1))
    return tuple((str(p), str(c)) for p, c in zip(shares, [*caps, 0], strict=True))


@settings(max_examples=60, deadline=None)
@given(
    tiers=tier_lists(),
    month=st.lists(AMOUNTS, min_size=0, max_size=5),
    earlier=st.lists(AMOUNTS, min_size=0, max_size=5),
    accumulation=st.sampled_from(list(AccumulationType)),
)
def test_distribution_is_never_negative_and_sums_to_the_month_base(
    tiers: tuple[tuple[str, str], ...],
    month: list[Decimal],
    earlier: list[Decimal],
    accumulation: AccumulationType,
) -> None:
    rows = tuple(rev(day(2025, 4, 1 + i), amount) for i, amount in enumerate(month)) + tuple(
        rev(day(2025, 1 + i % 3, 10), amount) for i, amount in enumerate(earlier)
    )
    config = contract(structure(*tiers, accumulation=accumulation), start=day(2018, 2, 1))
    result = preview(config, ServicePeriod(2025, 4), PeriodFacts(revenue=rows))
    items = result.revenue_share_items  # kept even when the line rounds to 0.00 and is dropped
    assert items and all(item.revenue_amount >= 0 and item.amount_due >= 0 for item in items)
    assert sum((item.revenue_amount for item in items), D(0)) == sum(month, D(0))
    if result.invoices:
        assert result.lines()[0].revenue_share_items == items


# Whole dollars and whole percents keep every non-zero amount due at >= 1 cent, so no monthly line is
# dropped as 0.00 while still owing a fraction of a cent.
DOLLARS = st.integers(0, 500_000).map(Decimal)


@settings(max_examples=60, deadline=None)
@given(tiers=tier_lists(), months=st.lists(DOLLARS, min_size=1, max_size=6))
def test_annual_accumulation_split_over_months_equals_the_single_month_figure(
    tiers: tuple[tuple[str, str], ...], months: list[Decimal]
) -> None:
    # The same revenue billed month by month with calendar accumulation owes exactly what one month with
    # all of it owes (unrounded amounts due, i.e. the distribution items).
    annual = contract(structure(*tiers, accumulation=CALENDAR))
    rows = tuple(rev(day(2025, m + 1, 10), amount) for m, amount in enumerate(months))
    split = D(0)
    for m in range(len(months)):
        result = preview(annual, ServicePeriod(2025, m + 1), PeriodFacts(revenue=rows))
        split += sum((i.amount_due for line in result.lines() for i in line.revenue_share_items), D(0))
    single_rows = (rev(day(2025, 12, 10), sum(months, D(0))),)
    single = preview(contract(structure(*tiers)), ServicePeriod(2025, 12), PeriodFacts(revenue=single_rows))
    whole = sum((i.amount_due for line in single.lines() for i in line.revenue_share_items), D(0))
    assert split == whole


def test_structure_dataclass_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        F6.invoice_group = 2  # type: ignore[misc]


def test_decision_7_1_stored_order_caps_not_lower_bounds() -> None:
    # §5 T-2: the forecast's lower-bound reading of [{0, 30 %}, {1000, 50 %}] gives 550; the invoice engine
    # reads caps in stored order and bills 1,500 × 30 % + 1,000 × 50 % = 950.
    rows = (rev(day(2025, 4, 5), "1500.00"),)
    assert share_line(contract(structure((30, 0), (50, 1000))), ServicePeriod(2025, 4), rows).amount == D(
        "950.00"
    )
