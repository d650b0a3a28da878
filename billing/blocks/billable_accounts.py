"""Billable Accounts building block, code 126840008 (domain.md §2.9; flow ``BillableAccountsChildFlow``).

Its lines then pass through the management agreement's insurance & claims step (§2.10b,
:mod:`billing.blocks.insurance_claims`), as in the legacy statement flow.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..codes import BuildingBlock, PayrollType, PtebBillingType, SupportServicesBillingType
from ..config import BillableAccount, ContractConfig
from ..facts import LedgerBalance, PeriodFacts
from ..lines import InvoiceLine
from ..money import HUNDRED, ZERO
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, BlockOptions, BlockResult, BlockSpec
from .common import CODE_MANAGEMENT, PTEB_ACCOUNTS, gate_2_warning, ledger_sum
from .insurance_claims import insurance_and_claims

__all__ = ["BILLABLE_ACCOUNTS", "calculate", "diagnose", "payroll_base"]

_LABEL = BuildingBlock.BILLABLE_ACCOUNTS.label
_EXCLUDED_ENTITY = "06"


def _accounts_text(rows: tuple[LedgerBalance, ...]) -> str:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.main_account] = totals.get(row.main_account, ZERO) + row.balance
    return ", ".join(f"{code} {amount}" for code, amount in sorted(totals.items())) or "no ledger rows"


def payroll_base(account: BillableAccount, facts: PeriodFacts, period: ServicePeriod) -> tuple[Decimal, str]:
    """Σ BALANCE of the enabled payroll accounts in ``PERIOD = yyyyMM(P_start)`` (USD, without additional
    payroll), with the accounts summed, as text (§2.9, §2.10c)."""
    amount, rows = ledger_sum(facts, account.enabled_payroll_codes, since=period.yyyymm, until=period.yyyymm)
    return amount, _accounts_text(rows)


def actual_pteb(facts: PeriodFacts, period: ServicePeriod) -> tuple[Decimal, str]:
    """Σ BALANCE of the PTEB accounts 6200/6399/6500 in the month (USD), with the accounts as text."""
    amount, rows = ledger_sum(facts, PTEB_ACCOUNTS, since=period.yyyymm, until=period.yyyymm)
    return amount, _accounts_text(rows)


def _line(
    title: str,
    amount: Decimal,
    explanation: str,
    *,
    is_billable_expense_accounts: bool = False,
    is_billable_payroll_accounts: bool = False,
    is_pteb: bool = False,
    is_support_services: bool = False,
) -> InvoiceLine:
    return InvoiceLine(
        building_block=BuildingBlock.BILLABLE_ACCOUNTS,
        title=title,
        code=CODE_MANAGEMENT,
        amount=amount,
        explanation=explanation,
        is_profit_deduction=True,
        is_billable_expense_accounts=is_billable_expense_accounts,
        is_billable_payroll_accounts=is_billable_payroll_accounts,
        is_pteb=is_pteb,
        is_support_services=is_support_services,
    )


def _expense_line(account: BillableAccount, facts: PeriodFacts, period: ServicePeriod) -> InvoiceLine:
    amount, rows = ledger_sum(
        facts,
        account.enabled_expense_codes,
        since=period.yyyymm,
        until=period.yyyymm,
        exclude_entity=_EXCLUDED_ENTITY,
    )
    excluded = sorted(a.code for a in account.payroll_expense_accounts_data if not a.is_enabled)
    return _line(
        account.payroll_expense_accounts_line_title or "Total Other Expenses",
        amount,
        (
            f"§2.9 expense accounts: amount = Σ ledger balance of the enabled expense accounts in period "
            f"{period.yyyymm}, entity ≠ '06' = {amount} ({_accounts_text(rows)}); excluded (disabled) "
            f"accounts: {', '.join(excluded) or 'none'}."
        ),
        is_billable_expense_accounts=True,
    )


def _payroll_lines(account: BillableAccount, facts: PeriodFacts, period: ServicePeriod) -> list[InvoiceLine]:
    accounts_amount, accounts_text = payroll_base(account, facts, period)
    additional = ZERO if account.additional_payroll_amount is None else account.additional_payroll_amount
    payroll = accounts_amount + additional if additional > 0 else accounts_amount
    additional_text = (
        f" + additional payroll {additional}"
        if additional > 0
        else f" (additional payroll {additional} not added: only an amount > 0 is, §2.9)"
        if additional != 0
        else ""
    )
    lines = [
        _line(
            account.payroll_accounts_line_title or "Site Salaries & Wages",
            payroll,
            (
                f"§2.9 payroll accounts: amount = Σ ledger balance of the enabled payroll accounts in period "
                f"{period.yyyymm} = {accounts_amount} ({accounts_text}){additional_text} = {payroll}."
            ),
            is_billable_payroll_accounts=True,
        )
    ]
    pteb = ZERO
    if account.payroll_taxes_enabled and account.payroll_taxes_billing_type is not None:
        if account.payroll_taxes_billing_type is PtebBillingType.ACTUAL:
            pteb, pteb_text = actual_pteb(facts, period)
            formula = f"Σ ledger balance of accounts 6200/6399/6500 in {period.yyyymm} = {pteb} ({pteb_text})"
        else:
            percent = ZERO if account.payroll_taxes_percentage is None else account.payroll_taxes_percentage
            pteb = payroll * percent / HUNDRED
            formula = f"payroll × {percent} % = {payroll} × {percent}/100 = {pteb}"
        lines.append(
            _line(
                account.payroll_taxes_line_title or "PTEB",
                pteb,
                f"§2.9 PTEB ({account.payroll_taxes_billing_type.name}): amount = {formula}; no escalator at "
                "billing time (escalation rewrites the stored percentage, §2.14).",
                is_pteb=True,
            )
        )
    if account.payroll_support_enabled and account.payroll_support_billing_type is not None:
        amount_setting = ZERO if account.payroll_support_amount is None else account.payroll_support_amount
        if account.payroll_support_billing_type is SupportServicesBillingType.FIXED:
            support = amount_setting
            formula = f"fixed amount {support}"
        elif account.payroll_support_payroll_type is PayrollType.TOTAL:
            support = (payroll + pteb) * amount_setting / HUNDRED
            formula = f"(payroll + PTEB) × {amount_setting} % = ({payroll} + {pteb}) × {amount_setting}/100 = {support}"
        else:
            support = payroll * amount_setting / HUNDRED
            formula = f"billable payroll × {amount_setting} % = {payroll} × {amount_setting}/100 = {support}"
        lines.append(
            _line(
                account.payroll_support_line_title or "Support Services",
                support,
                f"§2.9 support services: amount = {formula}.",
                is_support_services=True,
            )
        )
    return lines


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """Billable-account lines (code 4791, all ``is_profit_deduction``) of group ``group_number`` (§2.9).

    Ledger = ``ACCOUNT_SUMMARY`` rows of ``PERIOD = yyyyMM(P_start)``. Expense line (when the expense group is
    ``group_number``): Σ BALANCE of the enabled expense accounts, entity ≠ '06'. Payroll line (when the
    payroll group is ``group_number``): Σ BALANCE of the enabled payroll accounts + additional payroll when
    > 0; then PTEB (actual accounts 6200/6399/6500, or payroll × %) and support services (fixed, or % of
    payroll or of payroll + PTEB). No rounding. The lines then go through insurance & claims when the
    management agreement is enabled (§2.10b), which may reduce the expense line and add lines.
    """
    account = config.billable_account
    lines: list[InvoiceLine] = []
    if account is not None and account.payroll_expense_accounts_invoice_group == group_number:
        lines.append(_expense_line(account, facts, period))
    if account is not None and account.payroll_accounts_invoice_group == group_number:
        lines.extend(_payroll_lines(account, facts, period))
    result = BlockResult.of(tuple(lines))
    if BuildingBlock.MANAGEMENT_AGREEMENT in config.building_blocks:
        return insurance_and_claims(config, group_number, period, facts, result)
    return result


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """No row, groups unset or missing, PTEB/support switched on without a billing type."""
    account = config.billable_account
    if account is None:
        return (f"{_LABEL} is enabled but the contract has no billable-account row: not billed",)
    warnings: list[str] = []
    for part, group in (
        ("expense accounts", account.payroll_expense_accounts_invoice_group),
        ("payroll accounts", account.payroll_accounts_invoice_group),
    ):
        gate = gate_2_warning(f"{_LABEL} {part}", group, group_numbers, plural=True)
        if gate:
            warnings.append(gate)
    if account.payroll_taxes_enabled and account.payroll_taxes_billing_type is None:
        warnings.append(f"{_LABEL}: PTEB is enabled without a billing type: not billed")
    if (
        account.payroll_taxes_enabled
        and account.payroll_taxes_billing_type is PtebBillingType.PERCENTAGE
        and account.payroll_taxes_percentage is None
    ):
        warnings.append(f"{_LABEL}: PTEB percentage is unset: read as 0")
    if account.payroll_support_enabled and account.payroll_support_billing_type is None:
        warnings.append(f"{_LABEL}: support services are enabled without a billing type: not billed")
    if account.payroll_support_enabled and account.payroll_support_amount is None:
        warnings.append(f"{_LABEL}: support services amount is unset: read as 0")
    return tuple(warnings)


BILLABLE_ACCOUNTS = BlockSpec(calculate=calculate, diagnose=diagnose)
