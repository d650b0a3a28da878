"""Management Agreement (domain.md §2.10) through the engine: fee, insurance & claims (F-11), non-GL (C-3),
validation threshold and profit share (§7 #10, #23), and the MA invoice amount rule."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from billing import (
    AccountToggle,
    AccumulationType,
    AdhocLine,
    AdhocLineType,
    BillableAccount,
    BillingType,
    BuildingBlock,
    ClaimsType,
    ContractConfig,
    InsuranceType,
    LedgerBalance,
    ManagementAgreement,
    ManagementAgreementJob,
    ManagementAgreementType,
    NonGlExpense,
    NonGlExpenseType,
    PayrollType,
    PeriodFacts,
    PriorProfitShare,
    ProfitShareItem,
    PtebBillingType,
    RevenueRow,
    ServicePeriod,
    Tier,
    TimesheetRow,
    ValidationThresholdType,
    preview,
    round2,
)

D = Decimal
day = datetime.date
APRIL = ServicePeriod(2025, 4)
MA = BuildingBlock.MANAGEMENT_AGREEMENT
BA = BuildingBlock.BILLABLE_ACCOUNTS

EXPENSES = tuple(
    AccountToggle(code, is_enabled=code not in {"7085", "7101"})
    for code in ("7000", "7080", "7082", "7085", "7099", "7100", "7101", "7102")
)
ACCOUNT = BillableAccount(
    payroll_accounts_data=(AccountToggle("6000"),),
    payroll_accounts_invoice_group=1,
    payroll_expense_accounts_data=EXPENSES,
    payroll_expense_accounts_invoice_group=1,
    payroll_taxes_enabled=True,
    payroll_taxes_billing_type=PtebBillingType.PERCENTAGE,
    payroll_taxes_percentage=D("29.5"),
    payroll_taxes_line_title="PTEB",
)
FIXED_FEE_MA = ManagementAgreement(
    ManagementAgreementType.FIXED_FEE, invoice_group=1, fixed_fee_amount=D("1000.00")
)


SITE_START = day(2019, 6, 15)


def contract(
    agreement: ManagementAgreement = FIXED_FEE_MA,
    *,
    blocks: frozenset[BuildingBlock] = frozenset({MA, BA}),
    account: BillableAccount | None = ACCOUNT,
    start: datetime.date | None = SITE_START,
) -> ContractConfig:
    return ContractConfig(
        "0242",
        BillingType.ARREARS,
        blocks,
        billable_account=account,
        management_agreement=agreement,
        site_start_date=start,
    )


def ledger(account: str, balance: str | int, period: str = "202504") -> LedgerBalance:
    return LedgerBalance(period, account, "02", D(balance))


def revenue(amount: str, *, flag: str = "Y", validation: str = "0", category: str = "Parking") -> RevenueRow:
    return RevenueRow(day(2025, 4, 8), "VD1", category, None, flag, D(amount), D(amount), D(validation))


def titles(config: ContractConfig, facts: PeriodFacts, **kw: object) -> list[tuple[str, Decimal]]:
    return [(line.title, line.amount) for line in preview(config, APRIL, facts, **kw).lines()]  # type: ignore[arg-type]


# --- (a) management fee ----------------------------------------------------------------------------------


def test_fixed_management_fee() -> None:
    result = preview(contract(blocks=frozenset({MA})), APRIL)
    [line] = result.lines()
    assert (line.title, line.code, line.amount) == ("Management Fee", "4791", D("1000.00"))
    assert line.is_management_fee and line.is_profit_deduction
    unset = dataclasses.replace(FIXED_FEE_MA, fixed_fee_amount=None)
    assert preview(contract(unset, blocks=frozenset({MA})), APRIL).invoices == ()


def test_decision_7_4_per_labor_hour_fee_prices_minutes_and_ignores_holidays() -> None:
    agreement = ManagementAgreement(
        ManagementAgreementType.PER_LABOR_HOUR,
        invoice_group=1,
        per_labor_hour_job_code_data=(ManagementAgreementJob("GSA", D("20.00"), D("30.00"), "Valet"),),
    )
    rows = (
        TimesheetRow(day(2025, 4, 1), "GSA", regular=4805, overtime=95, holiday=480),
        TimesheetRow(day(2025, 4, 2), "GSA", regular=4805, holiday_overtime=60, double_overtime=60),
        TimesheetRow(day(2025, 4, 2), "GSC", regular=999),
    )
    [line] = preview(contract(agreement, blocks=frozenset({MA})), APRIL, PeriodFacts(timesheets=rows)).lines()
    # round2(20 × 9,610/60) + round2(30 × 95/60) = 3,203.33 + 47.50; per-row rounding (§2.2) would give 3,203.20.
    assert line.amount == D("3250.83")
    assert "600 holiday/double-time minutes are not billed here (§7 #4)" in line.explanation
    assert line.description.startswith("Valet: 160.1666")


def test_revenue_percentage_fee() -> None:
    agreement = ManagementAgreement(
        ManagementAgreementType.REVENUE_PERCENTAGE, invoice_group=1, revenue_percentage_amount=D(5)
    )
    facts = PeriodFacts(
        revenue=(
            revenue("100000.00"),
            revenue("900.00", flag="V"),
            revenue("800.00", category="Per Man Hour"),
        )
    )
    [line] = preview(contract(agreement, blocks=frozenset({MA})), APRIL, facts).lines()
    assert (line.amount, line.description) == (D("5000.00"), "Total Base for Fee Calculation: $100,000.00")


# --- (b) insurance & claims --------------------------------------------------------------------------------

LEDGER = (
    ledger("7000", "3000.00"),
    ledger("7080", "1000.00"),
    ledger("7082", "500.00"),
    ledger("7085", "300.00"),  # insurance account not enabled: neither in E nor in I
    ledger("6000", "30000.00"),
)


def test_insurance_based_on_billable_accounts_moves_i_to_a_marked_up_line() -> None:
    agreement = dataclasses.replace(
        FIXED_FEE_MA,
        insurance_enabled=True,
        insurance_type=InsuranceType.BASED_ON_BILLABLE_ACCOUNTS,
        insurance_additional_percentage=D("12.5"),
        insurance_line_title="Insurance",
    )
    lines = preview(contract(agreement), APRIL, PeriodFacts(ledger=LEDGER)).lines()
    assert [(line.title, line.amount) for line in lines] == [
        ("Total Other Expenses", D("3000.00")),  # 4,500 − I 1,500
        ("Site Salaries & Wages", D("30000.00")),
        ("PTEB", D("8850.00")),
        ("Insurance", D("1687.50")),  # round2(1,500 × 112.5/100)
        ("Management Fee", D("1000.00")),
    ]
    assert lines[3].is_insurance and lines[3].is_profit_deduction and lines[3].code == "4791"
    assert "Reduced by insurance I 1500.00" in lines[0].explanation


def test_fixed_insurance_also_without_billable_accounts() -> None:
    agreement = dataclasses.replace(
        FIXED_FEE_MA,
        insurance_enabled=True,
        insurance_type=InsuranceType.FIXED_FEE,
        insurance_fixed_fee_amount=D(750),
    )
    with_ba = titles(contract(agreement), PeriodFacts(ledger=LEDGER))
    assert ("Insurance", D("750.00")) in with_ba
    without_ba = titles(contract(agreement, blocks=frozenset({MA}), account=None), PeriodFacts())
    assert without_ba == [("Insurance", D("750.00")), ("Management Fee", D("1000.00"))]


def claims_contract(kind: ClaimsType, cap: str = "10000") -> ContractConfig:
    agreement = dataclasses.replace(
        FIXED_FEE_MA,
        claims_enabled=True,
        claims_type=kind,
        claims_cap_amount=D(cap),
        claims_line_title="Claims",
    )
    return contract(agreement)


def claims_facts(earlier: int, *, month: str = "3500", earlier_period: str = "202502") -> PeriodFacts:
    return PeriodFacts(
        ledger=(
            ledger("7000", "10000.00"),
            ledger("7100", month),
            ledger("7101", "400.00"),  # claims account not enabled
            ledger("7100", earlier, earlier_period),
        )
    )


def test_golden_f11_annual_claims_cap() -> None:
    result = preview(claims_contract(ClaimsType.ANNUAL_CALENDAR), APRIL, claims_facts(8000))
    by_title = {line.title: line for line in result.lines()}
    assert by_title["Claims"].amount == D("2000.00")
    assert by_title["Claims"].is_claims and by_title["Claims"].is_profit_deduction
    assert by_title["Total Other Expenses"].amount == D("10000.00")  # 13,500 − C 3,500
    assert "A = Σ of the same accounts in periods 202501..202503 = 8000" in by_title["Claims"].explanation


def test_golden_f11_per_claim_and_floored_cap() -> None:
    per_claim = titles(claims_contract(ClaimsType.PER_CLAIM), claims_facts(8000))
    assert ("Claims", D("3500.00")) in per_claim
    exhausted = titles(claims_contract(ClaimsType.ANNUAL_CALENDAR), claims_facts(11000))
    assert "Claims" not in [title for title, _ in exhausted]  # 0.00, dropped
    assert ("Total Other Expenses", D("10000.00")) in exhausted


def test_decision_7_10_claims_year_comes_from_the_service_period() -> None:
    # Earlier claims of 2024 do not count for a 2025 service month, whenever the statement is generated.
    prior_year = titles(
        claims_contract(ClaimsType.ANNUAL_CALENDAR), claims_facts(8000, earlier_period="202412")
    )
    assert ("Claims", D("3500.00")) in prior_year
    # Anniversary: site start 2019-06-15 ⇒ the year runs from 202406 for April 2025.
    anniversary = claims_contract(ClaimsType.ANNUAL_ANNIVERSARY)
    assert ("Claims", D("3500.00")) in titles(anniversary, claims_facts(8000, earlier_period="202405"))
    assert ("Claims", D("2000.00")) in titles(anniversary, claims_facts(8000, earlier_period="202406"))
    line = next(x for x in preview(anniversary, APRIL, claims_facts(8000)).lines() if x.is_claims)
    assert "(§7 #10)" in line.explanation and "= 2024-06-15" in line.explanation


def test_claims_need_the_expense_line_on_the_agreements_group() -> None:
    config = claims_contract(ClaimsType.PER_CLAIM)
    config = dataclasses.replace(config, building_blocks=frozenset({MA}))
    result = preview(config, APRIL, claims_facts(0))
    assert [line.title for line in result.lines()] == ["Management Fee"]
    assert any("claims need the billable expense-accounts line" in warning for warning in result.warnings)


# --- (c) non-GL billable expenses: C-3 ------------------------------------------------------------------------


def test_golden_c3_non_gl_billable_expenses() -> None:
    agreement = dataclasses.replace(
        FIXED_FEE_MA,
        fixed_fee_amount=None,
        non_gl_billable_expenses_enabled=True,
        non_gl_billable_expense_code="4798",
        non_gl_billable_expenses=(
            NonGlExpense(
                NonGlExpenseType.FIXED_AMOUNT,
                D(750),
                expense_title="Shuttle lease",
                final_period_billed=day(2025, 3, 31),
                sequence_number=3,
            ),
            NonGlExpense(
                NonGlExpenseType.PAYROLL, D(5), PayrollType.TOTAL, "Payroll admin", sequence_number=2
            ),
            NonGlExpense(NonGlExpenseType.REVENUE, D(2), expense_title="Revenue admin", sequence_number=1),
        ),
    )
    account = dataclasses.replace(ACCOUNT, additional_payroll_amount=D("9999.00"))  # not part of Pay here
    facts = PeriodFacts(
        revenue=(revenue("100000.00"),),
        ledger=(
            ledger("6000", "40000.00"),
            ledger("6200", "7000.00"),
            ledger("6399", "4000.00"),
            ledger("6500", "1000.00"),
        ),
    )
    config = contract(agreement, blocks=frozenset({MA}), account=account)
    lines = preview(config, APRIL, facts).lines()
    assert [(line.title, line.code, line.amount) for line in lines] == [
        ("Revenue admin", "4798", D("2000.00")),
        ("Payroll admin", "4798", D("2600.00")),  # 5 % of (40,000 + actual PTEB 12,000) although PTEB is a %
    ]
    assert all(line.is_non_gl_billable_expense and not line.is_profit_deduction for line in lines)
    march = preview(config, ServicePeriod(2025, 3), facts).lines()
    assert ("Shuttle lease", D("750.00")) in [(line.title, line.amount) for line in march]


def test_non_gl_payroll_billable_and_disabled_switch() -> None:
    agreement = dataclasses.replace(
        FIXED_FEE_MA,
        fixed_fee_amount=None,
        non_gl_billable_expenses_enabled=True,
        non_gl_billable_expenses=(
            NonGlExpense(NonGlExpenseType.PAYROLL, D(5), PayrollType.BILLABLE, "Payroll admin"),
        ),
    )
    facts = PeriodFacts(ledger=(ledger("6000", "40000.00"), ledger("6200", "7000.00")))
    assert titles(contract(agreement, blocks=frozenset({MA})), facts) == [("Payroll admin", D("2000.00"))]
    off = dataclasses.replace(agreement, non_gl_billable_expenses_enabled=False)
    assert preview(contract(off, blocks=frozenset({MA})), APRIL, facts).invoices == ()


# --- (d)+(e) profit share ------------------------------------------------------------------------------------

PROFIT_MA = dataclasses.replace(
    FIXED_FEE_MA,
    insurance_enabled=True,
    insurance_type=InsuranceType.BASED_ON_BILLABLE_ACCOUNTS,
    insurance_additional_percentage=D("12.5"),
    profit_share_enabled=True,
    profit_share_accumulation_type=AccumulationType.MONTHLY,
    profit_share_tier_data=(Tier(D(0), D(45000)), Tier(D(25), D(0))),
    validation_threshold_enabled=True,
    validation_threshold_type=ValidationThresholdType.REVENUE_PERCENTAGE,
    validation_threshold_amount=D(1),
    non_gl_billable_expenses_enabled=True,
    non_gl_billable_expenses=(NonGlExpense(NonGlExpenseType.REVENUE, D(1), expense_title="Revenue admin"),),
)
PROFIT_FACTS = PeriodFacts(
    revenue=(revenue("120000.00"), revenue("0", flag="V", validation="2000.00")),
    ledger=(ledger("7000", "3000.00"), ledger("7080", "1000.00"), ledger("6000", "30000.00")),
)
ADHOC = (
    AdhocLine(1, "Client-paid repairs", "7110", D("500.00"), AdhocLineType.CLIENT_PAID_EXPENSE),
    AdhocLine(1, "Owner supplies", "7113", D("-300.00"), AdhocLineType.NON_BILLABLE_EXPENSE),
    AdhocLine(1, "Signage", "4790", D("200.00"), AdhocLineType.MISCELLANEOUS_ITEM),
)


def test_profit_share_on_the_union_of_the_invoice_lines() -> None:
    result = preview(contract(PROFIT_MA), APRIL, PROFIT_FACTS, adhoc_lines=ADHOC)

    [invoice] = result.invoices
    assert [(line.title, line.amount) for line in invoice.lines] == [
        ("Total Other Expenses", D("3000.00")),
        ("Site Salaries & Wages", D("30000.00")),
        ("PTEB", D("8850.00")),
        ("Insurance", D("1125.00")),
        ("Management Fee", D("1000.00")),
        ("Revenue admin", D("1200.00")),
        # the client-paid ad-hoc line (−500) is removed once profit share is enabled
        ("Owner supplies", D("-300.00")),
        ("Signage", D("200.00")),
        ("Towne Park Profit Share", D("7456.25")),
    ]
    share = invoice.profit_share
    assert share is not None and result.profit_share == share
    # Deductions 3,000 + 30,000 + 8,850 + 1,125 + 1,000 + 1,200 (non-GL) + 500 (client-paid, flipped)
    # + 300 (non-billable, flipped) = 45,975; over = 2,000 − 1 % × 120,000 = 800 (added, §7 #23).
    assert (share.revenue, share.validation_over_threshold, share.deductions) == (
        D("120000.00"),
        D("800.00"),
        D("45975.00"),
    )
    assert share.monthly_profit == D("74825.00") and share.prior_profit == 0
    assert share.items == (
        ProfitShareItem(0, D(45000), D(0), D(0), D(45000), D(0)),
        ProfitShareItem(1, D("29825.00"), D(25), D("7456.2500"), D(0), D(800) / D(74825) * D("7456.2500")),
    )
    assert [line.title for line in share.removed_lines] == ["Client-paid repairs"]
    line = invoice.lines[-1]
    assert line.is_profit_share and line.monthly_profit == D("74825.00") and line.code == "4791"
    assert line.description == line.profit_share_calculation_details
    assert line.description.startswith(
        "Revenue $120,000.00 + Validations over threshold $800.00 − Deductions $45,975.00"
    )
    assert "Monthly Profit $74,825.00" in line.description and "Profit Share $7,456.25" in line.description
    assert "§7 #23" in line.explanation
    # Σ other lines 45,075.00 + AmountDue 7,456.25
    assert invoice.amount == D("52531.25") == sum(x.amount for x in invoice.lines)


def test_decision_7_23_validations_over_the_threshold_add_to_profit() -> None:
    without = dataclasses.replace(PROFIT_MA, validation_threshold_enabled=False)
    with_share = preview(contract(PROFIT_MA), APRIL, PROFIT_FACTS).invoices[0].profit_share
    without_share = preview(contract(without), APRIL, PROFIT_FACTS).invoices[0].profit_share
    assert with_share is not None and without_share is not None
    assert with_share.monthly_profit - without_share.monthly_profit == D("800.00")


def test_decision_7_23_null_threshold_amount_reads_as_zero_with_a_warning() -> None:
    agreement = dataclasses.replace(PROFIT_MA, validation_threshold_amount=None)
    result = preview(contract(agreement), APRIL, PROFIT_FACTS)
    assert result.profit_share is not None and result.profit_share.validation_over_threshold == D("2000.00")
    assert (
        "Management Agreement: validation threshold amount is unset: read as 0 (the source flow fails on it, §2.10d)"
        in result.warnings
    )
    assert "threshold amount unset: read as 0" in result.lines()[-1].explanation


def test_profit_share_disabled_keeps_client_paid_lines_and_sums_lines() -> None:
    agreement = dataclasses.replace(PROFIT_MA, profit_share_enabled=False)
    [invoice] = preview(contract(agreement), APRIL, PROFIT_FACTS, adhoc_lines=ADHOC).invoices
    assert "Client-paid repairs" in [line.title for line in invoice.lines]
    assert not any(line.is_profit_share for line in invoice.lines)
    assert invoice.amount == sum(line.amount for line in invoice.lines)
    assert invoice.profit_share is not None and not invoice.profit_share.enabled


def test_monthly_profit_is_kept_when_the_profit_share_line_is_zero() -> None:
    small = PeriodFacts(revenue=(revenue("40000.00"),), ledger=PROFIT_FACTS.ledger)
    result = preview(contract(PROFIT_MA), APRIL, small)
    assert not any(line.is_profit_share for line in result.lines())
    assert result.profit_share is not None and result.profit_share.amount_due == 0
    assert result.profit_share.monthly_profit == D("40000.00") - D("3000.00") - D("30000.00") - D(
        "8850.00"
    ) - D("1125.00") - D("1000.00") - D("400.00")


ANNUAL_MA = dataclasses.replace(PROFIT_MA, profit_share_accumulation_type=AccumulationType.ANNUAL_CALENDAR)


def test_decision_7_10_annual_profit_share_reads_prior_profit_of_the_service_year() -> None:
    prior = (
        PriorProfitShare(day(2024, 12, 31), D("99999.00"), day(2024, 12, 1)),  # previous service year
        PriorProfitShare(day(2025, 1, 31), D("30000.00"), day(2025, 1, 1)),
        PriorProfitShare(day(2025, 2, 28), D("20000.00"), day(2025, 2, 1)),
    )
    facts = dataclasses.replace(PROFIT_FACTS, prior_profit_shares=prior)
    result = preview(contract(ANNUAL_MA), APRIL, facts)
    share = result.profit_share
    assert share is not None
    assert (share.prior_profit, share.accumulation_start) == (D("50000.00"), day(2025, 1, 1))
    # P_month = 120,000 + 800 − 45,175 = 75,625; Prior 50,000 already used the 0 % tier: all at 25 %.
    assert share.monthly_profit == D("75625.00")
    assert share.amount_due == D("18906.2500")
    assert [item.tier_index for item in share.items] == [1]
    assert "(§7 #10)" in result.lines()[-1].explanation


def test_annual_profit_share_legacy_invoice_date_window() -> None:
    # Without the service month, the flow's window applies: invoice date after acc_start, before this one.
    prior = (
        PriorProfitShare(day(2025, 1, 1), D("1000.00")),  # not after 2025-01-01
        PriorProfitShare(day(2025, 1, 31), D("30000.00")),
        PriorProfitShare(day(2025, 3, 31), D("20000.00")),
        PriorProfitShare(day(2025, 4, 30), D("5000.00")),  # this statement's own date: an earlier version
    )
    facts = dataclasses.replace(PROFIT_FACTS, prior_profit_shares=prior)
    share = preview(contract(ANNUAL_MA), APRIL, facts).profit_share
    assert share is not None and share.prior_profit == D("50000.00")


def test_annual_profit_share_split_over_months_equals_one_month() -> None:
    # Two months billed with calendar accumulation owe what one month with both profits owes.
    tiers = (Tier(D(10), D(50000)), Tier(D(30), D(0)))
    agreement = ManagementAgreement(
        invoice_group=1,
        fixed_fee_amount=D("1000.00"),
        profit_share_enabled=True,
        profit_share_accumulation_type=AccumulationType.ANNUAL_CALENDAR,
        profit_share_tier_data=tiers,
    )
    config = contract(agreement, blocks=frozenset({MA}), account=None)
    jan = preview(
        config,
        ServicePeriod(2025, 1),
        PeriodFacts(
            revenue=(RevenueRow(day(2025, 1, 5), "VD1", "Parking", None, "Y", D(41000), D(41000), D(0)),)
        ),
    )
    assert jan.profit_share is not None
    feb_facts = PeriodFacts(
        revenue=(RevenueRow(day(2025, 2, 5), "VD1", "Parking", None, "Y", D(31000), D(31000), D(0)),),
        prior_profit_shares=(
            PriorProfitShare(day(2025, 1, 31), jan.profit_share.monthly_profit, day(2025, 1, 1)),
        ),
    )
    feb = preview(config, ServicePeriod(2025, 2), feb_facts)
    one = dataclasses.replace(agreement, profit_share_accumulation_type=AccumulationType.MONTHLY)
    whole = preview(
        contract(one, blocks=frozenset({MA}), account=None),
        ServicePeriod(2025, 2),
        PeriodFacts(
            revenue=(RevenueRow(day(2025, 2, 5), "VD1", "Parking", None, "Y", D(71000), D(71000), D(0)),)
        ),
    )
    assert feb.profit_share is not None and whole.profit_share is not None
    # The single month deducts the fee once; two months deduct it twice, so compare on equal profit.
    assert jan.profit_share.monthly_profit + feb.profit_share.monthly_profit == D(70000)
    whole_equal = preview(
        contract(
            dataclasses.replace(one, fixed_fee_amount=D("2000.00")), blocks=frozenset({MA}), account=None
        ),
        ServicePeriod(2025, 2),
        PeriodFacts(
            revenue=(RevenueRow(day(2025, 2, 5), "VD1", "Parking", None, "Y", D(72000), D(72000), D(0)),)
        ),
    )
    assert whole_equal.profit_share is not None
    assert jan.profit_share.amount_due + feb.profit_share.amount_due == whole_equal.profit_share.amount_due


def test_ma_invoice_amount_rounds_the_sum_with_the_unrounded_amount_due() -> None:
    # §2.10e: round2(Σ other lines + AmountDue). Other lines −1.00, AmountDue 0.005 ⇒ round2(−0.995) = −1.00,
    # whereas Σ lines with the profit-share line at cents (0.01) would be −0.99.
    agreement = ManagementAgreement(
        invoice_group=1,
        profit_share_enabled=True,
        profit_share_accumulation_type=AccumulationType.MONTHLY,
        profit_share_tier_data=(Tier(D(10), D(0)),),
    )
    facts = PeriodFacts(revenue=(revenue("0.05"),))
    adhoc = (AdhocLine(1, "Credit", "4790", D("-1.00"), AdhocLineType.MISCELLANEOUS_ITEM),)
    [invoice] = preview(
        contract(agreement, blocks=frozenset({MA}), account=None), APRIL, facts, adhoc_lines=adhoc
    ).invoices
    assert [line.amount for line in invoice.lines] == [D("-1.00"), D("0.01")]
    assert invoice.profit_share is not None and invoice.profit_share.amount_due == D("0.005")
    assert invoice.amount == D("-1.00") == round2(D("-1.00") + D("0.005"))


def test_nothing_of_the_agreement_without_its_group() -> None:
    agreement = dataclasses.replace(PROFIT_MA, invoice_group=None)
    result = preview(contract(agreement), APRIL, PROFIT_FACTS)
    assert not any(line.building_block is MA for line in result.lines())
    assert result.profit_share is None
    assert (
        "Management Agreement has no invoice group (no default, §2.0 gate 2): nothing of it is billed"
        in result.warnings
    )


def test_agreement_validation() -> None:
    with pytest.raises(TypeError, match="ManagementAgreementType"):
        ManagementAgreement("FIXED_FEE")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="profit share tiers"):
        ManagementAgreement(profit_share_tier_data=(Tier(D(5), D(-1)),))
    with pytest.raises(TypeError, match="bool"):
        ManagementAgreement(profit_share_enabled=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"datetime\.date"):
        NonGlExpense(
            NonGlExpenseType.FIXED_AMOUNT,
            D(1),
            final_period_billed=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC),
        )
