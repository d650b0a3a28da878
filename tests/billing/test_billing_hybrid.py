"""Hybrid contracts (domain.md §2.11): group routing (0429), the full line order, and invoice invariants."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import (
    AccountToggle,
    AccumulationType,
    AdhocLine,
    AdhocLineType,
    BellService,
    BillableAccount,
    BillingType,
    BuildingBlock,
    ClaimsType,
    ContractConfig,
    DepositedRevenue,
    FixedFeeService,
    InsuranceType,
    InvoiceGroup,
    LaborHourJob,
    LedgerBalance,
    ManagementAgreement,
    MidMonthAdvance,
    NonGlExpense,
    NonGlExpenseType,
    OccupiedRoomsDay,
    PeriodFacts,
    PerOccupiedRoom,
    PtebBillingType,
    RevenueRow,
    ServicePeriod,
    SupportServicesBillingType,
    ThresholdStructure,
    Tier,
    TimesheetRow,
    ValidationThresholdType,
    preview,
    round2,
)

D = Decimal
day = datetime.date
B = BuildingBlock
APRIL = ServicePeriod(2025, 4)


def rev(
    flag: str, net: str, gross: str | None = None, *, code: str = "VD1", validation: str = "0", **kw: str
) -> RevenueRow:
    return RevenueRow(
        day(2025, 4, 12),
        code,
        kw.get("category", "Parking"),
        kw.get("collection"),
        flag,
        D(gross or net),
        D(net),
        D(validation),
        D(kw["tax"]) if "tax" in kw else None,
    )


# Contract 0429 as in Processed_Files/0429_*.json (§2.11): "Rev Share" on group 1, "PLH" on group 2.
CONTRACT_0429 = ContractConfig(
    "0429",
    BillingType.ARREARS,
    frozenset(
        {B.INVOICE_GROUPING, B.PER_LABOR_HOUR, B.REVENUE_SHARE, B.MID_MONTH_ADVANCE, B.DEPOSITED_REVENUE}
    ),
    invoice_groups=(InvoiceGroup(1, "Rev Share"), InvoiceGroup(2, "PLH")),
    labor_hour_jobs=(
        LaborHourJob("Bell", "BELL", D("24.84"), D("24.84"), name="Bell", invoice_group=2),
        LaborHourJob("Room Steward", "ROOMSTEW", D("26.00"), D("32.50"), name="Concierge", invoice_group=2),
    ),
    threshold_structures=(
        ThresholdStructure(
            ("ADJ", "OR1", "OR2", "SD1", "SM1", "VD1", "VM1"),
            (Tier(D(24), D(0)),),
            validation_threshold_type=ValidationThresholdType.REVENUE_PERCENTAGE,
            validation_threshold_amount=D(3),
            invoice_group=1,
        ),
    ),
    mid_month_advance=MidMonthAdvance(D("30000.00"), invoice_group=1),
    deposited_revenue=DepositedRevenue(False, True, 1),
)
FACTS_0429 = PeriodFacts(
    revenue=(
        rev("Y", "100000.00", "110000.00"),
        rev("N", "50000.00", "55000.00", code="SM1"),
        rev("V", "0", validation="5000.00"),
    ),
    timesheets=(
        TimesheetRow(day(2025, 4, 1), "BELL", regular=3000),
        TimesheetRow(day(2025, 4, 20), "BELL", regular=3000, holiday=480),
        TimesheetRow(day(2025, 4, 21), "ROOMSTEW", regular=600, overtime=90),
    ),
)


def test_hybrid_0429_routes_blocks_to_two_invoices() -> None:
    result = preview(CONTRACT_0429, APRIL, FACTS_0429)

    one, two = result.invoices
    assert (one.invoice_number, one.title) == ("0429-202504-01-01", "Rev Share")
    assert [(line.title, line.amount) for line in one.lines] == [
        ("Less: Towne Park Deposited Revenue", D("-110000.00")),  # gross: TP not responsible for tax
        ("Mid-Month Advance", D("-30000.00")),
        ("Towne Park Fees for Services", D("36000.00")),  # 150,000 × 24 %
        ("Towne Park Fees for Validated Parking", D("120.00")),  # (5,000 − 3 % × 150,000) × 24 %
    ]
    assert one.amount == D("-103880.00")
    assert (two.invoice_number, two.title) == ("0429-202504-02-01", "PLH")
    assert [(line.title, line.description, line.amount) for line in two.lines] == [
        ("Bell", "Total Hours Worked: 108", D("2682.72")),
        ("Room Steward", "Regular Hours Worked: 10", D("260.00")),
        ("Room Steward", "Overtime Hours Worked: 1.5", D("48.75")),
    ]
    assert two.amount == D("2991.47")
    assert result.total == D("-100888.53")
    assert result.not_computed == ()
    assert not any("routes to invoice group" in warning for warning in result.warnings)


# --- every block on one invoice: the §2.11 order ----------------------------------------------------------

EVERYTHING = ContractConfig(
    "0242",
    BillingType.ARREARS,
    frozenset(set(BuildingBlock) - {B.INVOICE_GROUPING}),
    fixed_fee_services=(FixedFeeService("Valet", "4700", D("100.00")),),
    per_occupied_room=PerOccupiedRoom(D("1.00"), "4791"),
    bell_service=BellService(1),
    deposited_revenue=DepositedRevenue(True, True, 1),
    billable_account=BillableAccount(
        payroll_accounts_data=(AccountToggle("6000"),),
        payroll_accounts_invoice_group=1,
        payroll_expense_accounts_data=(AccountToggle("7000"), AccountToggle("7080"), AccountToggle("7100")),
        payroll_expense_accounts_invoice_group=1,
        payroll_taxes_enabled=True,
        payroll_taxes_billing_type=PtebBillingType.ACTUAL,
        payroll_support_enabled=True,
        payroll_support_billing_type=SupportServicesBillingType.FIXED,
        payroll_support_amount=D(50),
    ),
    management_agreement=ManagementAgreement(
        invoice_group=1,
        fixed_fee_amount=D(500),
        insurance_enabled=True,
        insurance_type=InsuranceType.BASED_ON_BILLABLE_ACCOUNTS,
        claims_enabled=True,
        claims_type=ClaimsType.PER_CLAIM,
        profit_share_enabled=True,
        profit_share_accumulation_type=AccumulationType.MONTHLY,
        profit_share_tier_data=(Tier(D(10), D(0)),),
        non_gl_billable_expenses_enabled=True,
        non_gl_billable_expenses=(
            NonGlExpense(NonGlExpenseType.FIXED_AMOUNT, D(25), expense_title="Non-GL"),
        ),
    ),
    mid_month_advance=MidMonthAdvance(D(10), invoice_group=1),
    labor_hour_jobs=(LaborHourJob("Bell", "BELL", D("20.00"), D("30.00")),),
    threshold_structures=(
        ThresholdStructure(
            ("VD1",),
            (Tier(D(10), D(0)),),
            validation_threshold_type=ValidationThresholdType.VEHICLE_COUNT,
            invoice_group=1,
        ),
    ),
)
EVERYTHING_FACTS = PeriodFacts(
    revenue=(
        rev("Y", "10000.00"),
        rev("N", "5000.00", tax="0.10"),
        rev("V", "0", validation="100.00"),
        rev("Y", "300.00", code="OR1", category="Other Revenue", collection="Bell Service Fee"),
    ),
    occupied_rooms=(OccupiedRoomsDay(day(2025, 4, 2), D(100)),),
    timesheets=(TimesheetRow(day(2025, 4, 2), "BELL", regular=60, overtime=60),),
    ledger=tuple(
        LedgerBalance("202504", account, "02", D(amount))
        for account, amount in (("7000", 1000), ("7080", 100), ("7100", 50), ("6000", 4000), ("6200", 400))
    ),
)
ORDER_ADHOC = (AdhocLine(1, "Signage", "4790", D(5), AdhocLineType.MISCELLANEOUS_ITEM),)


def test_line_order_follows_2_11_with_profit_share_last() -> None:
    [invoice] = preview(EVERYTHING, APRIL, EVERYTHING_FACTS, adhoc_lines=ORDER_ADHOC).invoices
    assert [line.title for line in invoice.lines] == [
        "Valet",  # fixed fee
        "Occupied Rooms",  # POR
        "Bell Service Fee",  # bell
        "Client Collected Parking Tax due to Towne Park",  # deposited revenue
        "Less: Towne Park Deposited Revenue",
        "Total Other Expenses",  # billable accounts …
        "Site Salaries & Wages",
        "PTEB",
        "Support Services",
        "Insurance",  # … + insurance/claims
        "Claims",
        "Management Fee",  # management fee
        "Non-GL",  # non-GL
        "Mid-Month Advance",  # mid-month advance
        "Bell",  # PLH
        "Bell",
        "Signage",  # carried-over ad-hoc lines
        "Towne Park Fees for Services",  # revenue share
        "Towne Park Fees for Validated Parking",  # validations
        "Towne Park Profit Share",  # profit share
    ]
    assert all(line.amount != 0 for line in invoice.lines)


def test_zero_lines_are_dropped_but_count_nothing() -> None:
    facts = dataclasses.replace(EVERYTHING_FACTS, occupied_rooms=(), timesheets=())
    [invoice] = preview(EVERYTHING, APRIL, facts).invoices
    titles = [line.title for line in invoice.lines]
    assert "Occupied Rooms" not in titles and "Bell" not in titles
    assert all(line.amount != 0 for line in invoice.lines)


def test_every_block_enabled_without_configuration_bills_nothing_and_says_why() -> None:
    result = preview(ContractConfig("0170", BillingType.ARREARS, frozenset(BuildingBlock)), APRIL)
    assert result.invoices == () and result.not_computed == ()
    assert len(result.warnings) >= 9


# --- property: invoice amount = Σ lines, with the MA rounding rule ------------------------------------------

MONEY = st.decimals(min_value=-20_000, max_value=200_000, places=3).map(
    lambda x: x.normalize() if x else D(0)
)


@st.composite
def statements(draw: st.DrawFn) -> tuple[ContractConfig, PeriodFacts, tuple[AdhocLine, ...]]:
    groups = (1, 2)
    blocks = draw(
        st.sets(st.sampled_from(sorted(set(BuildingBlock) - {B.INVOICE_GROUPING}, key=lambda b: b.value)))
    )
    g = st.sampled_from(groups)
    assert EVERYTHING.management_agreement is not None
    agreement = dataclasses.replace(
        EVERYTHING.management_agreement,
        invoice_group=draw(g),
        profit_share_tier_data=(
            Tier(D(draw(st.integers(0, 40))), D(draw(st.integers(0, 50_000)))),
            Tier(D(draw(st.integers(0, 40))), D(0)),
        ),
        profit_share_enabled=draw(st.booleans()),
        validation_threshold_enabled=draw(st.booleans()),
        validation_threshold_type=draw(st.sampled_from(ValidationThresholdType)),
        validation_threshold_amount=D(draw(st.integers(0, 5))),
        revenue_percentage_amount=D(draw(st.integers(0, 10))),
        claims_type=draw(st.sampled_from(ClaimsType)),
        claims_cap_amount=D(draw(st.integers(0, 1000))),
        insurance_additional_percentage=draw(st.decimals(0, 20, places=1)),
    )
    config = dataclasses.replace(
        EVERYTHING,
        building_blocks=frozenset({*blocks, B.INVOICE_GROUPING}),
        invoice_groups=(InvoiceGroup(1), InvoiceGroup(2)),
        management_agreement=agreement,
        mid_month_advance=MidMonthAdvance(draw(MONEY), invoice_group=draw(g)),
        deposited_revenue=DepositedRevenue(draw(st.booleans()), draw(st.booleans()), draw(g)),
        per_occupied_room=PerOccupiedRoom(draw(st.decimals(0, 10, places=3)), "4791", draw(g)),
    )
    amounts = draw(st.lists(MONEY, min_size=4, max_size=4))
    facts = dataclasses.replace(
        EVERYTHING_FACTS,
        revenue=(
            rev("Y", str(amounts[0]), str(amounts[0] * D("1.1"))),
            rev("N", str(amounts[1]), tax=str(draw(st.decimals(0, D("0.15"), places=4)))),
            rev("V", "0", validation=str(abs(amounts[2]))),
        ),
        ledger=tuple(
            LedgerBalance("202504", account, "02", draw(MONEY))
            for account in ("7000", "7080", "7100", "6000", "6200", "6399")
        ),
        occupied_rooms=(OccupiedRoomsDay(day(2025, 4, 2), D(draw(st.integers(0, 5000)))),),
        timesheets=(
            TimesheetRow(
                day(2025, 4, 2),
                "BELL",
                regular=draw(st.integers(0, 9999)),
                overtime=draw(st.integers(0, 999)),
            ),
        ),
    )
    adhoc = tuple(
        AdhocLine(draw(g), f"adhoc {i}", "4790", draw(MONEY), draw(st.sampled_from(AdhocLineType)))
        for i in range(draw(st.integers(0, 3)))
    )
    return config, facts, adhoc


@settings(max_examples=150, deadline=None)
@given(statements())
def test_invoice_amount_is_the_sum_of_its_lines_with_the_ma_rule(
    statement: tuple[ContractConfig, PeriodFacts, tuple[AdhocLine, ...]],
) -> None:
    config, facts, adhoc = statement
    result = preview(config, APRIL, facts, adhoc_lines=adhoc)
    for invoice in result.invoices:
        assert invoice.lines and all(line.amount != 0 for line in invoice.lines)
        assert all(line.amount == round2(line.amount) for line in invoice.lines)
        lines_sum = sum((line.amount for line in invoice.lines), D(0))
        share = invoice.profit_share
        if share is None or not share.enabled:
            assert invoice.amount == lines_sum
        else:
            others = sum((line.amount for line in invoice.lines if not line.is_profit_share), D(0))
            assert invoice.amount == round2(others + share.amount_due)
            assert abs(invoice.amount - lines_sum) <= D("0.01")
            assert not any(line.is_adhoc and line.is_client_paid_expense for line in invoice.lines)
        assert invoice.amount == round2(invoice.amount)
    assert result.total == sum((invoice.amount for invoice in result.invoices), D(0))
    assert result.not_computed == ()
    assert all(item.revenue_amount >= 0 and item.amount_due >= 0 for item in result.revenue_share_items)
