"""Billable Accounts (domain.md §2.9) through the engine: expense and payroll accounts, PTEB, support."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from billing import (
    AccountToggle,
    BillableAccount,
    BillingType,
    BuildingBlock,
    ContractConfig,
    InvoiceGroup,
    LedgerBalance,
    PayrollType,
    PeriodFacts,
    PtebBillingType,
    ServicePeriod,
    SupportServicesBillingType,
    preview,
)

D = Decimal
APRIL = ServicePeriod(2025, 4)
BA = frozenset({BuildingBlock.BILLABLE_ACCOUNTS})

PAYROLL = (
    AccountToggle("6000", "Salaries - G & A"),
    AccountToggle("6002", "Salaries - Contract Site"),
    AccountToggle("6010", "Sick Pay", False),
)
EXPENSES = (
    AccountToggle("7000", "Advertising"),
    AccountToggle("7005", "Bad Debt Expense", False),
    AccountToggle("7080", "Insurance - General Liability"),
)
ACCOUNT = BillableAccount(
    payroll_accounts_data=PAYROLL,
    payroll_accounts_invoice_group=1,
    payroll_accounts_line_title="Site Salaries & Wages",
    payroll_expense_accounts_data=EXPENSES,
    payroll_expense_accounts_invoice_group=1,
    payroll_expense_accounts_line_title="Total Other Expenses",
    additional_payroll_amount=D("5000.00"),
)


def ledger(account: str, balance: str, *, period: str = "202504", entity: str = "02") -> LedgerBalance:
    return LedgerBalance(period, account, entity, D(balance))


FACTS = PeriodFacts(
    ledger=(
        ledger("7000", "1000.00"),
        ledger("7000", "500.00", entity="06"),  # entity 06 is never billed (§2.9)
        ledger("7005", "300.00"),  # disabled account
        ledger("7080", "250.00"),
        ledger("7000", "777.00", period="202503"),  # another month
        ledger("6000", "20000.00"),
        ledger("6002", "15000.00"),
        ledger("6010", "999.00"),  # disabled
        ledger("6200", "8000.00"),
        ledger("6399", "3000.00"),
        ledger("6500", "1000.00"),
    )
)


def contract(account: BillableAccount = ACCOUNT, **kw: object) -> ContractConfig:
    config = ContractConfig("0200", BillingType.ARREARS, BA, billable_account=account)
    return dataclasses.replace(config, **kw)  # type: ignore[arg-type]


def amounts(config: ContractConfig, facts: PeriodFacts = FACTS) -> list[tuple[str, Decimal]]:
    return [(line.title, line.amount) for line in preview(config, APRIL, facts).lines()]


def test_expense_and_payroll_accounts() -> None:
    result = preview(contract(), APRIL, FACTS)
    expense, payroll = result.lines()
    assert (expense.title, expense.code, expense.amount) == ("Total Other Expenses", "4791", D("1250.00"))
    assert expense.is_billable_expense_accounts and expense.is_profit_deduction
    assert (
        "excluded (disabled) accounts: 7005" in expense.explanation and "entity ≠ '06'" in expense.explanation
    )
    assert (payroll.title, payroll.amount) == ("Site Salaries & Wages", D("40000.00"))
    assert payroll.is_billable_payroll_accounts and payroll.is_profit_deduction
    assert (
        "= 35000.00 (6000 20000.00, 6002 15000.00) + additional payroll 5000.00 = 40000.00"
        in payroll.explanation
    )
    assert result.invoices[0].amount == D("41250.00")
    assert result.warnings == ()


def test_additional_payroll_is_added_only_when_positive() -> None:
    negative = dataclasses.replace(ACCOUNT, additional_payroll_amount=D("-2500.00"))
    [_, payroll] = preview(contract(negative), APRIL, FACTS).lines()
    assert payroll.amount == D("35000.00")
    assert "not added: only an amount > 0 is" in payroll.explanation


@pytest.mark.parametrize(
    ("billing_type", "percentage", "expected"),
    [(PtebBillingType.ACTUAL, None, D("12000.00")), (PtebBillingType.PERCENTAGE, D("29.5"), D("11800.00"))],
)
def test_pteb_actual_or_percentage_of_payroll(
    billing_type: PtebBillingType, percentage: Decimal | None, expected: Decimal
) -> None:
    account = dataclasses.replace(
        ACCOUNT,
        payroll_taxes_enabled=True,
        payroll_taxes_billing_type=billing_type,
        payroll_taxes_percentage=percentage,
        payroll_taxes_line_title="PTEB",
    )
    lines = preview(contract(account), APRIL, FACTS).lines()
    pteb = lines[2]
    assert (pteb.title, pteb.amount, pteb.is_pteb, pteb.is_profit_deduction) == ("PTEB", expected, True, True)
    assert "no escalator at billing time" in pteb.explanation


@pytest.mark.parametrize(
    ("billing_type", "payroll_type", "expected"),
    [
        (SupportServicesBillingType.FIXED, None, D("2500.00")),
        (SupportServicesBillingType.PERCENTAGE, PayrollType.BILLABLE, D("1000.00")),  # 40,000 × 2.5 %
        (SupportServicesBillingType.PERCENTAGE, PayrollType.TOTAL, D("1295.00")),  # (40,000 + 11,800) × 2.5 %
    ],
)
def test_support_services(
    billing_type: SupportServicesBillingType, payroll_type: PayrollType | None, expected: Decimal
) -> None:
    amount = D("2500.00") if billing_type is SupportServicesBillingType.FIXED else D("2.5")
    account = dataclasses.replace(
        ACCOUNT,
        payroll_taxes_enabled=True,
        payroll_taxes_billing_type=PtebBillingType.PERCENTAGE,
        payroll_taxes_percentage=D("29.5"),
        payroll_support_enabled=True,
        payroll_support_billing_type=billing_type,
        payroll_support_payroll_type=payroll_type,
        payroll_support_amount=amount,
        payroll_support_line_title="Business Support Services",
    )
    support = preview(contract(account), APRIL, FACTS).lines()[-1]
    assert (support.title, support.amount, support.is_support_services) == (
        "Business Support Services",
        expected,
        True,
    )


def test_support_on_total_payroll_without_pteb_uses_payroll_only() -> None:
    account = dataclasses.replace(
        ACCOUNT,
        payroll_support_enabled=True,
        payroll_support_billing_type=SupportServicesBillingType.PERCENTAGE,
        payroll_support_payroll_type=PayrollType.TOTAL,
        payroll_support_amount=D(3),
    )
    assert amounts(contract(account))[-1] == ("Support Services", D("1200.00"))


def test_expense_and_payroll_groups_route_separately() -> None:
    account = dataclasses.replace(ACCOUNT, payroll_expense_accounts_invoice_group=2)
    config = contract(
        account,
        building_blocks=BA | {BuildingBlock.INVOICE_GROUPING},
        invoice_groups=(InvoiceGroup(1, "Payroll"), InvoiceGroup(2, "Expenses")),
    )
    one, two = preview(config, APRIL, FACTS).invoices
    assert [line.title for line in one.lines] == ["Site Salaries & Wages"]
    assert (two.invoice_number, [line.title for line in two.lines]) == (
        "0200-202504-02-01",
        ["Total Other Expenses"],
    )


def test_unset_groups_and_types_are_diagnosed() -> None:
    account = dataclasses.replace(
        ACCOUNT,
        payroll_expense_accounts_invoice_group=None,
        payroll_taxes_enabled=True,
        payroll_support_enabled=True,
    )
    result = preview(contract(account), APRIL, FACTS)
    assert [line.title for line in result.lines()] == ["Site Salaries & Wages"]
    assert result.warnings == (
        "Billing Account expense accounts have no invoice group (no default, §2.0 gate 2): not billed",
        "Billing Account: PTEB is enabled without a billing type: not billed",
        "Billing Account: support services are enabled without a billing type: not billed",
        "Billing Account: support services amount is unset: read as 0",
    )
    assert preview(ContractConfig("0200", BillingType.ARREARS, BA), APRIL).warnings[0] == (
        "Billing Account is enabled but the contract has no billable-account row: not billed"
    )


def test_account_validation() -> None:
    with pytest.raises(ValueError, match="account code"):
        AccountToggle(" ")
    with pytest.raises(TypeError, match="AccountToggle"):
        BillableAccount(payroll_accounts_data=("6000",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PtebBillingType"):
        BillableAccount(payroll_taxes_billing_type="ACTUAL")  # type: ignore[arg-type]
