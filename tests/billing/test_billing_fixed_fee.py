"""Fixed Fee (domain.md §2.1) through the engine: golden F-1, rate-row selection (§2.15), groups (§2.0)."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from billing import (
    BillingType,
    BuildingBlock,
    ContractConfig,
    FixedFeeService,
    InvoiceGroup,
    RateSelection,
    ServicePeriod,
    preview,
)

D = datetime.date
ARREARS, ADVANCED = BillingType.ARREARS, BillingType.ADVANCED
FIXED_FEE = frozenset({BuildingBlock.FIXED_FEE})

# Contract 0349 as in Processed_Files/0349_*.json (domain.md §5 F-1).
CONTRACT_0349 = ContractConfig(
    site_number="0349",
    billing_type=ARREARS,
    building_blocks=FIXED_FEE,
    fixed_fee_services=(
        FixedFeeService("Management Fee", "4700", Decimal("2500.00"), "Valet Services", D(2025, 1, 22)),
        FixedFeeService(
            "Fixed Billable Expenses", "4700", Decimal("30800.00"), "Valet Services", D(2025, 1, 22)
        ),
    ),
    payment_terms="Due by 15th of the Month",
)
TASK_DAY = D(2025, 5, 20)  # a statement task created in May 2025 without a period


def fees(*rows: FixedFeeService, billing_type: BillingType = ARREARS) -> ContractConfig:
    return ContractConfig("0338", billing_type, FIXED_FEE, fixed_fee_services=rows)


def billed(config: ContractConfig, period: ServicePeriod) -> list[tuple[str, Decimal]]:
    result = preview(config, period)
    return [(line.title, line.amount) for invoice in result.invoices for line in invoice.lines]


def test_golden_f1_arrears() -> None:
    period = ServicePeriod.default_for(ARREARS, TASK_DAY)
    result = preview(CONTRACT_0349, period)

    assert period == ServicePeriod(2025, 4)
    assert (result.site_number, result.version, result.billing_type) == ("0349", 1, ARREARS)
    assert result.rate_selection_date == D(2025, 5, 1)
    [invoice] = result.invoices
    assert invoice.invoice_number == "0349-202504-01-01"
    assert invoice.invoice_date == D(2025, 4, 30)
    assert invoice.group_number == 1
    assert (invoice.title, invoice.description) == (None, None)
    assert (invoice.payment_terms, invoice.purchase_order) == ("Due by 15th of the Month", None)
    assert [(line.title, line.code, str(line.amount)) for line in invoice.lines] == [
        ("Management Fee", "4700", "2500.00"),
        ("Fixed Billable Expenses", "4700", "30800.00"),
    ]
    assert all(line.building_block is BuildingBlock.FIXED_FEE for line in invoice.lines)
    assert str(invoice.amount) == "33300.00"
    assert str(result.total) == "33300.00"
    assert result.not_computed == ()
    assert result.warnings == ()


def test_golden_f1_advanced_variant() -> None:
    config = dataclasses.replace(CONTRACT_0349, billing_type=ADVANCED)
    period = ServicePeriod.default_for(ADVANCED, TASK_DAY)
    result = preview(config, period)

    assert period == ServicePeriod(2025, 6)
    [invoice] = result.invoices
    assert invoice.invoice_number == "0349-202505-01-01"
    assert invoice.invoice_date == D(2025, 5, 1)
    assert result.rate_selection_date == D(2025, 5, 1)
    assert str(invoice.amount) == "33300.00"


def test_explanation_names_the_inputs() -> None:
    line = preview(CONTRACT_0349, ServicePeriod(2025, 4)).invoices[0].lines[0]
    for fragment in ("§2.1", "fee = 2500.00", "2025-01-22..open", "code 4700", "2025-05-01", "unset ⇒ 1"):
        assert fragment in line.explanation


def test_version_is_in_the_number() -> None:
    result = preview(CONTRACT_0349, ServicePeriod(2025, 4), version=3)
    assert result.version == 3
    assert result.invoices[0].invoice_number == "0349-202504-01-03"
    with pytest.raises(ValueError, match="version"):
        preview(CONTRACT_0349, ServicePeriod(2025, 4), version=0)


def test_site_number_is_normalised() -> None:
    result = preview(dataclasses.replace(CONTRACT_0349, site_number="349"), ServicePeriod(2025, 4))
    assert result.site_number == "0349"
    assert result.invoices[0].invoice_number == "0349-202504-01-01"


# --- rate-row selection (§2.0 #4, §2.14, §2.15) ---------------------------------------------------------


def test_row_ending_before_the_natural_generation_date_is_not_billed() -> None:
    # Ends on P_end: active throughout April, but not on 2025-05-01 when an on-time run happens.
    config = fees(FixedFeeService("Valet", "4700", Decimal("100.00"), end_date=D(2025, 4, 30)))
    result = preview(config, ServicePeriod(2025, 4))
    assert result.invoices == ()
    assert "none of its 1 service rows is active on 2025-05-01" in " ".join(result.warnings)
    assert any("no invoice" in warning for warning in result.warnings)


def test_row_ending_on_the_natural_generation_date_is_billed() -> None:
    config = fees(FixedFeeService("Valet", "4700", Decimal("100.00"), end_date=D(2025, 5, 1)))
    assert billed(config, ServicePeriod(2025, 4)) == [("Valet", Decimal("100.00"))]


def test_row_starting_mid_month_bills_the_full_fee_without_proration() -> None:
    config = fees(FixedFeeService("Valet", "4700", Decimal("3100.00"), start_date=D(2025, 4, 15)))
    assert billed(config, ServicePeriod(2025, 4)) == [("Valet", Decimal("3100.00"))]
    assert billed(config, ServicePeriod(2025, 3)) == []


# Escalation as stored by IncrementRatesandFees (§2.14, C-2): increment month 7, old row closed at the end of
# the month the job ran in, the escalated copy starting on the 1st of the next month.
ARREARS_ESCALATION = (
    FixedFeeService("Account Manager Fee", "4700", Decimal("7096.27"), None, D(2025, 1, 27), D(2025, 7, 31)),
    FixedFeeService("Account Manager Fee", "4700", Decimal("7309.16"), None, D(2025, 8, 1)),
)
ADVANCED_ESCALATION = (
    FixedFeeService("Account Manager Fee", "4700", Decimal("7096.27"), None, D(2025, 1, 27), D(2025, 5, 31)),
    FixedFeeService("Account Manager Fee", "4700", Decimal("7309.16"), None, D(2025, 6, 1)),
)


def test_arrears_increment_month_is_billed_at_the_escalated_fee() -> None:
    config = fees(*ARREARS_ESCALATION)
    assert billed(config, ServicePeriod(2025, 6)) == [("Account Manager Fee", Decimal("7096.27"))]
    assert billed(config, ServicePeriod(2025, 7)) == [("Account Manager Fee", Decimal("7309.16"))]
    assert billed(config, ServicePeriod(2025, 8)) == [("Account Manager Fee", Decimal("7309.16"))]


def test_advanced_increment_month_is_billed_at_the_escalated_fee() -> None:
    config = fees(*ADVANCED_ESCALATION, billing_type=ADVANCED)
    assert billed(config, ServicePeriod(2025, 6)) == [("Account Manager Fee", Decimal("7096.27"))]
    assert billed(config, ServicePeriod(2025, 7)) == [("Account Manager Fee", Decimal("7309.16"))]


def test_legacy_now_bills_the_rows_active_at_now() -> None:
    config = fees(*ARREARS_ESCALATION)
    april = ServicePeriod(2025, 4)
    legacy = preview(config, april, rate_selection=RateSelection.LEGACY_NOW, now=D(2025, 9, 15))
    natural = preview(config, april, now=D(2025, 9, 15))  # `now` plays no part in the natural rule

    assert legacy.rate_selection_date == D(2025, 9, 15)
    assert [line.amount for line in legacy.invoices[0].lines] == [Decimal("7309.16")]
    assert natural.rate_selection_date == D(2025, 5, 1)
    assert [line.amount for line in natural.invoices[0].lines] == [Decimal("7096.27")]
    # The invoice itself still belongs to April whatever the selection date.
    assert legacy.invoices[0].invoice_number == "0338-202504-01-01"
    assert legacy.invoices[0].invoice_date == D(2025, 4, 30)


def test_legacy_now_needs_a_date() -> None:
    with pytest.raises(ValueError, match="LEGACY_NOW needs `now`"):
        preview(CONTRACT_0349, ServicePeriod(2025, 4), rate_selection=RateSelection.LEGACY_NOW)
    with pytest.raises(TypeError, match="datetime"):
        preview(
            CONTRACT_0349,
            ServicePeriod(2025, 4),
            rate_selection=RateSelection.LEGACY_NOW,
            now=datetime.datetime(2025, 5, 1, 12, tzinfo=datetime.UTC),
        )


# --- invoice groups (§1.5, §2.0 gate 2, §3.4) ------------------------------------------------------------


GROUPED = ContractConfig(
    site_number="0429",
    billing_type=ARREARS,
    building_blocks=frozenset({BuildingBlock.FIXED_FEE, BuildingBlock.INVOICE_GROUPING}),
    invoice_groups=(
        InvoiceGroup(2, "PLH", "labor", site_number="0999"),
        InvoiceGroup(1, "Rev Share"),
    ),
    fixed_fee_services=(
        FixedFeeService("Shuttle", "4705", Decimal("1000.00")),  # no group ⇒ 1
        FixedFeeService("Valet", "4700", Decimal("250.50"), invoice_group=2),
        FixedFeeService("Account Manager Fee", "4715", Decimal("99.50"), invoice_group=2),
        FixedFeeService("Bell", "4700", Decimal("10.00"), invoice_group=1),
    ),
    payment_terms="Due in 45 Days",
    purchase_order="PO-7",
)


def test_each_group_gets_its_own_invoice() -> None:
    result = preview(GROUPED, ServicePeriod(2025, 4), version=2)

    one, two = result.invoices
    assert (one.group_number, one.invoice_number, one.title, one.description) == (
        1,
        "0429-202504-01-02",
        "Rev Share",
        None,
    )
    assert [line.title for line in one.lines] == ["Shuttle", "Bell"]
    assert one.amount == Decimal("1010.00")
    # Group 2 overrides the site number of its invoice number (§3.4).
    assert (two.group_number, two.invoice_number, two.title, two.description) == (
        2,
        "0999-202504-02-02",
        "PLH",
        "labor",
    )
    assert [line.title for line in two.lines] == ["Valet", "Account Manager Fee"]
    assert two.amount == Decimal("350.00")
    assert {(invoice.payment_terms, invoice.purchase_order) for invoice in result.invoices} == {
        ("Due in 45 Days", "PO-7")
    }
    assert result.total == Decimal("1360.00")
    assert result.site_number == "0429"
    assert result.warnings == ()


def test_group_without_lines_gets_no_invoice() -> None:
    config = dataclasses.replace(GROUPED, fixed_fee_services=GROUPED.fixed_fee_services[1:3])
    [invoice] = preview(config, ServicePeriod(2025, 4)).invoices
    assert invoice.group_number == 2


def test_row_routed_to_a_missing_group_is_not_billed_and_warned() -> None:
    rows = (*GROUPED.fixed_fee_services, FixedFeeService("Orphan", "4700", Decimal("5.00"), invoice_group=3))
    result = preview(dataclasses.replace(GROUPED, fixed_fee_services=rows), ServicePeriod(2025, 4))
    assert "Orphan" not in [line.title for invoice in result.invoices for line in invoice.lines]
    assert result.warnings == (
        "Fixed Fee row 'Orphan' (code 4700) routes to invoice group 3, which the statement does not have: "
        "not billed",
    )


def test_without_invoice_grouping_only_the_implicit_group_is_billed() -> None:
    config = dataclasses.replace(GROUPED, building_blocks=FIXED_FEE)
    result = preview(config, ServicePeriod(2025, 4))

    [invoice] = result.invoices
    assert (invoice.group_number, invoice.invoice_number, invoice.title) == (1, "0429-202504-01-01", None)
    assert [line.title for line in invoice.lines] == ["Shuttle", "Bell"]
    assert result.warnings[0].startswith(
        "Invoice Grouping is not enabled: the contract's invoice groups (1, 2) are ignored"
    )
    assert sum("routes to invoice group 2" in warning for warning in result.warnings) == 2


def test_invoice_grouping_without_groups_uses_the_implicit_group() -> None:
    config = dataclasses.replace(CONTRACT_0349, building_blocks=FIXED_FEE | {BuildingBlock.INVOICE_GROUPING})
    result = preview(config, ServicePeriod(2025, 4))
    assert [invoice.invoice_number for invoice in result.invoices] == ["0349-202504-01-01"]
    assert result.warnings == (
        "Invoice Grouping is enabled but the contract has no invoice groups: "
        "everything is billed on the implicit group 1",
    )


# --- gate 1, zero lines, cents ---------------------------------------------------------------------------


def test_rows_of_a_disabled_block_are_not_billed() -> None:
    config = dataclasses.replace(CONTRACT_0349, building_blocks=frozenset())
    result = preview(config, ServicePeriod(2025, 4))
    assert result.invoices == ()
    assert result.total == Decimal("0.00")
    assert result.not_computed == ()


def test_enabled_without_rows_is_warned() -> None:
    result = preview(fees(), ServicePeriod(2025, 4))
    assert result.invoices == ()
    assert result.warnings[0] == "Fixed Fee is enabled but the contract has no fixed-fee service rows"


def test_zero_lines_are_dropped() -> None:
    config = fees(
        FixedFeeService("Nothing", "4700", Decimal("0.00")),
        FixedFeeService("Credit", "4700", Decimal("-150.00")),
        FixedFeeService("Valet", "4700", Decimal("400.00")),
    )
    [invoice] = preview(config, ServicePeriod(2025, 4)).invoices
    assert [(line.title, line.amount) for line in invoice.lines] == [
        ("Credit", Decimal("-150.00")),
        ("Valet", Decimal("400.00")),
    ]
    assert invoice.amount == Decimal("250.00")


def test_all_zero_lines_make_no_invoice() -> None:
    result = preview(fees(FixedFeeService("Nothing", "4700", Decimal("0"))), ServicePeriod(2025, 4))
    assert result.invoices == ()
    assert result.warnings == (
        "no invoice: no invoice group has a non-zero line from the computed blocks "
        "(the legacy flow would mark the statement task Failed, §2.0 #6)",
    )


def test_a_fee_finer_than_cents_is_stored_at_cents() -> None:
    # An unrounded escalated fee (§2.14, C-2: 7,096.27 × 1.03) bills 7,309.16 (§0.1, §7 #5).
    config = fees(
        FixedFeeService("Account Manager Fee", "4700", Decimal("7309.1581")),
        FixedFeeService("Rounding dust", "4700", Decimal("0.004")),
    )
    [invoice] = preview(config, ServicePeriod(2025, 4)).invoices
    [line] = invoice.lines
    assert str(line.amount) == "7309.16"
    assert "fee = 7309.1581" in line.explanation
    assert "round2(7309.1581) = 7309.16" in line.explanation
    assert str(invoice.amount) == "7309.16"


def test_float_fees_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        FixedFeeService("Valet", "4700", 2500.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        FixedFeeService("Valet", "4700", Decimal("NaN"))


def test_datetime_row_dates_are_refused() -> None:
    with pytest.raises(TypeError, match="start date"):
        FixedFeeService(
            "Valet", "4700", Decimal(1), start_date=datetime.datetime(2025, 1, 22, tzinfo=datetime.UTC)
        )


def test_is_active_on_bounds_are_inclusive() -> None:
    row = FixedFeeService("Valet", "4700", Decimal(1), start_date=D(2025, 1, 22), end_date=D(2025, 7, 31))
    days = (D(2025, 1, 21), D(2025, 1, 22), D(2025, 7, 31), D(2025, 8, 1))
    assert [row.is_active_on(day) for day in days] == [False, True, True, False]
    assert FixedFeeService("Valet", "4700", Decimal(1)).is_active_on(D(1900, 1, 1))
