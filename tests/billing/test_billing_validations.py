"""Revenue-share validations (domain.md §2.5): F-7, the three threshold types, §7 #2, #19, #22."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing import (
    BillingType,
    BuildingBlock,
    ContractConfig,
    PeriodFacts,
    RevenueRow,
    ServicePeriod,
    ThresholdStructure,
    Tier,
    ValidationItem,
    ValidationThresholdType,
    preview,
)

D = Decimal
APRIL = ServicePeriod(2025, 4)
V = ValidationThresholdType


def row(amount: str, *, code: str = "VD1", flag: str = "Y", validation: str = "0") -> RevenueRow:
    return RevenueRow(
        datetime.date(2025, 4, 9), code, "Parking", None, flag, D(amount), D(amount), D(validation)
    )


def contract(
    kind: ValidationThresholdType | None, threshold: str | None, *more: ThresholdStructure
) -> ContractConfig:
    first = ThresholdStructure(
        revenue_codes=("VD1", "SD1"),
        tiers=(Tier(D(0), D(45000)), Tier(D(25), D(0))),
        validation_threshold_type=kind,
        validation_threshold_amount=None if threshold is None else D(threshold),
        invoice_group=1,
    )
    return ContractConfig(
        "0429",
        BillingType.ARREARS,
        frozenset({BuildingBlock.REVENUE_SHARE}),
        threshold_structures=(first, *more),
    )


F7_REVENUE = (
    row("60000.00"),
    row("0", flag="V", validation="1600.00"),
    row("0", flag="V", code="ZZ", validation="1000.00"),
)


def test_golden_f7_validation_amount_allocated_over_structure_1_tiers() -> None:
    result = preview(contract(V.VALIDATION_AMOUNT, "2000"), APRIL, PeriodFacts(revenue=F7_REVENUE))

    [invoice] = result.invoices
    share, validations = invoice.lines
    assert share.amount == D("3750.00")
    # §7 #2: the validations are a separate positive line after revenue share, not a reduction of it.
    assert (validations.title, validations.code, validations.description) == (
        "Towne Park Fees for Validated Parking",
        "4790",
        "",
    )
    assert str(validations.amount) == "37.50"
    assert validations.validation_items == (
        ValidationItem(0, D(45000), D(0), D("0.75"), D("600.00"), D(0)),
        ValidationItem(1, D("15000.00"), D(25), D("0.25"), D("600.00"), D("37.5")),
    )
    assert result.validation_items == validations.validation_items
    assert invoice.amount == D("3787.50")
    for fragment in (
        "§2.5",
        "§7 #2",
        "W = Σ structure-1 tier revenue = 60000.00",
        "over = max(validations 2600.00",
    ):
        assert fragment in validations.explanation


def test_at_or_below_the_validation_amount_no_line() -> None:
    result = preview(contract(V.VALIDATION_AMOUNT, "2600"), APRIL, PeriodFacts(revenue=F7_REVENUE))
    assert [line.title for line in result.lines()] == ["Towne Park Fees for Services"]


def test_revenue_percentage_threshold() -> None:
    # limit = 60,000 × 3 % = 1,800; over = 2,600 − 1,800 = 800; fee = 25 % × 0.25 × 800 = 50.
    result = preview(contract(V.REVENUE_PERCENTAGE, "3"), APRIL, PeriodFacts(revenue=F7_REVENUE))
    assert result.lines()[1].amount == D("50.00")
    assert "limit = revenue 60000.00 × 3/100 = 1800.00" in result.lines()[1].explanation


def test_decision_7_19_vehicle_count_ignores_the_threshold_and_says_so() -> None:
    result = preview(contract(V.VEHICLE_COUNT, "999999"), APRIL, PeriodFacts(revenue=F7_REVENUE))
    line = result.lines()[1]
    assert line.amount == D("162.50")  # 25 % × 0.25 × 2,600: all validation revenue
    assert "threshold is IGNORED" in line.explanation and "§7 #19" in line.explanation


def test_decision_7_22_no_structure_1_revenue_means_no_validation_fee() -> None:
    revenue = (row("0", flag="V", validation="500.00"), row("1000.00", code="OTHER"))
    second = ThresholdStructure(("OTHER",), (Tier(D(10), D(0)),), invoice_group=1)
    result = preview(contract(V.VEHICLE_COUNT, None, second), APRIL, PeriodFacts(revenue=revenue))
    assert [(line.title, line.amount) for line in result.lines()] == [
        ("Towne Park Fees for Services", D("100.00"))
    ]
    assert any("W = 0" in w and "§7 #22" in w for w in result.warnings)
    assert result.validation_items == ()


def test_total_revenue_for_the_percentage_limit_spans_all_structures() -> None:
    # Structure 2 adds 40,000 of revenue: limit = 100,000 × 2 % = 2,000 → over 600, weights still structure 1.
    second = ThresholdStructure(("OTHER",), (Tier(D(10), D(0)),), invoice_group=1)
    revenue = (*F7_REVENUE, row("40000.00", code="OTHER"))
    result = preview(contract(V.REVENUE_PERCENTAGE, "2", second), APRIL, PeriodFacts(revenue=revenue))
    assert result.lines()[1].amount == D("37.50")


def test_no_validation_type_no_line_and_unset_amount_is_warned() -> None:
    assert len(preview(contract(None, "2000"), APRIL, PeriodFacts(revenue=F7_REVENUE)).lines()) == 1
    result = preview(contract(V.VALIDATION_AMOUNT, None), APRIL, PeriodFacts(revenue=F7_REVENUE))
    assert result.lines()[1].amount == D("162.50")  # threshold read as 0
    assert "Revenue Share validation threshold amount is unset: read as 0" in result.warnings


def test_decision_7_2_validations_are_a_separate_positive_line_not_a_reduction() -> None:
    # The docs read "revenue share − validation threshold"; the flow bills validations as their own line.
    with_validations = preview(contract(V.VALIDATION_AMOUNT, "2000"), APRIL, PeriodFacts(revenue=F7_REVENUE))
    without = preview(contract(None, None), APRIL, PeriodFacts(revenue=F7_REVENUE))
    assert with_validations.lines()[0] == without.lines()[0]  # the revenue-share line is untouched
    assert with_validations.lines()[1].amount > 0
    assert with_validations.total - without.total == D("37.50")
