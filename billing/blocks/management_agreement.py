"""Management Agreement building block, code 126840009: management fee and non-GL billable expenses
(domain.md §2.10a, §2.10c; flows ``ManagementFeeChildFlow``, ``Non-GLBillableExpenseChildFlow``).

Insurance & claims ride on the billable-account lines (:mod:`.insurance_claims`); profit share runs once per
invoice after every line is known (:mod:`.profit_share`, called by the engine).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..codes import (
    AccumulationType,
    BuildingBlock,
    ClaimsType,
    InsuranceType,
    ManagementAgreementType,
    NonGlExpenseType,
    PayrollType,
    ValidationThresholdType,
)
from ..config import ContractConfig, ManagementAgreement, NonGlExpense
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import HUNDRED, ZERO, format_amount, format_number, round2
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .billable_accounts import actual_pteb, payroll_base
from .common import CODE_MANAGEMENT, fee_revenue, gate_2_warning, row_count, timesheet_rows
from .insurance_claims import insurance_and_claims

__all__ = ["MANAGEMENT_AGREEMENT", "calculate", "diagnose"]

_LABEL = BuildingBlock.MANAGEMENT_AGREEMENT.label
SIXTY = Decimal(60)


def _fee_line(amount: Decimal, explanation: str, description: str = "") -> InvoiceLine:
    return InvoiceLine(
        building_block=BuildingBlock.MANAGEMENT_AGREEMENT,
        title="Management Fee",
        code=CODE_MANAGEMENT,
        amount=amount,
        description=description,
        explanation=explanation,
        is_management_fee=True,
        is_profit_deduction=True,
    )


def _management_fee(
    agreement: ManagementAgreement, period: ServicePeriod, facts: PeriodFacts
) -> list[InvoiceLine]:
    kind = agreement.management_agreement_type
    if kind is ManagementAgreementType.FIXED_FEE:
        amount = ZERO if agreement.fixed_fee_amount is None else agreement.fixed_fee_amount
        return [
            _fee_line(
                amount, f"§2.10a management fee (FixedFee): amount = coalesce(fixed fee, 0) = {amount}."
            )
        ]
    if kind is ManagementAgreementType.REVENUE_PERCENTAGE:
        revenue, count = fee_revenue(facts, period)
        percent = ZERO if agreement.revenue_percentage_amount is None else agreement.revenue_percentage_amount
        amount = revenue * percent / HUNDRED
        return [
            _fee_line(
                amount,
                (
                    f"§2.10a management fee (RevenuePercentage): amount = Rev × {percent} % = {revenue} × "
                    f"{percent}/100 = {amount}; Rev = Σ net external revenue of {count} rows in {period.key} "
                    "(flag ≠ 'V', category ≠ 'Per Man Hour', all codes)."
                ),
                f"Total Base for Fee Calculation: ${format_amount(revenue)}",
            )
        ]
    lines = []
    for job in agreement.per_labor_hour_job_code_data:
        rows = timesheet_rows(facts, period, job.code)
        regular = sum(row.regular + row.regular_next_day for row in rows)
        overtime = sum(row.overtime + row.overtime_next_day for row in rows)
        regular_cost = round2(job.standard_rate * regular / SIXTY)
        overtime_cost = round2(job.overtime_rate * overtime / SIXTY)
        holiday = sum(
            row.holiday
            + row.holiday_next_day
            + row.holiday_overtime
            + row.holiday_overtime_next_day
            + row.double_overtime
            + row.double_overtime_next_day
            + row.holiday_double_overtime
            + row.holiday_double_overtime_next_day
            for row in rows
        )
        lines.append(
            _fee_line(
                regular_cost + overtime_cost,
                (
                    f"§2.10a management fee (PerLaborHour) for job {job.code}: amount = round2({job.standard_rate} "
                    f"× {regular} min / 60) + round2({job.overtime_rate} × {overtime} min / 60) = {regular_cost} + "
                    f"{overtime_cost} = {regular_cost + overtime_cost}; minutes of {row_count(rows)} timesheet rows in "
                    f"{period.key}, hours not rounded per row (unlike §2.2); {holiday} holiday/double-time "
                    "minutes are not billed here (§7 #4)."
                ),
                f"{job.description or job.code}: {format_number(Decimal(regular) / SIXTY)} regular hours, "
                f"{format_number(Decimal(overtime) / SIXTY)} overtime hours",
            )
        )
    return lines


def _non_gl_billable(expense: NonGlExpense, period: ServicePeriod) -> bool:
    final = expense.final_period_billed
    return final is None or period.yyyymm <= f"{final.year:04d}{final.month:02d}"


def _non_gl_lines(
    config: ContractConfig, agreement: ManagementAgreement, period: ServicePeriod, facts: PeriodFacts
) -> list[InvoiceLine]:
    if not agreement.non_gl_billable_expenses_enabled:
        return []
    ordered = sorted(
        agreement.non_gl_billable_expenses,
        key=lambda e: (e.sequence_number is None, e.sequence_number or 0),
    )
    lines = []
    for expense in ordered:
        if not _non_gl_billable(expense, period):
            continue
        percent = expense.expense_amount
        if expense.expense_type is NonGlExpenseType.FIXED_AMOUNT:
            amount, formula = percent, f"fixed amount {percent}"
        elif expense.expense_type is NonGlExpenseType.REVENUE:
            revenue, count = fee_revenue(facts, period)
            amount = revenue * percent / HUNDRED
            formula = (
                f"Rev × {percent} % = {revenue} × {percent}/100 = {amount}; Rev = Σ net external revenue of "
                f"{count} rows in {period.key} (flag ≠ 'V', category ≠ 'Per Man Hour')"
            )
        else:
            account = config.billable_account
            payroll, accounts = (
                payroll_base(account, facts, period)
                if account is not None
                else (ZERO, "no billable-account row")
            )
            if expense.payroll_type is PayrollType.TOTAL:
                pteb, pteb_accounts = actual_pteb(facts, period)
                amount = (payroll + pteb) * percent / HUNDRED
                formula = (
                    f"(Pay + actual PTEB) × {percent} % = ({payroll} + {pteb}) × {percent}/100 = {amount}; Pay = "
                    f"enabled payroll accounts in {period.yyyymm} without additional payroll ({accounts}); PTEB "
                    f"always actual here, accounts 6200/6399/6500 ({pteb_accounts})"
                )
            else:
                amount = payroll * percent / HUNDRED
                formula = (
                    f"Pay × {percent} % = {payroll} × {percent}/100 = {amount}; Pay = enabled payroll accounts "
                    f"in {period.yyyymm} without additional payroll ({accounts})"
                )
        final = expense.final_period_billed
        lines.append(
            InvoiceLine(
                building_block=BuildingBlock.MANAGEMENT_AGREEMENT,
                title=expense.expense_title or "Non-GL Billable Expense",
                code=agreement.non_gl_billable_expense_code or "",
                amount=amount,
                explanation=(
                    f"§2.10c non-GL billable expense ({expense.expense_type.name}"
                    f"{'/' + expense.payroll_type.name if expense.payroll_type and expense.expense_type is NonGlExpenseType.PAYROLL else ''}): "
                    f"amount = {formula}. Billed while {period.yyyymm} ≤ final period "
                    f"{final.strftime('%Y%m') if final else 'open'}; not a profit deduction flag, but profit "
                    "share deducts it (§2.10e)."
                ),
                is_non_gl_billable_expense=True,
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
    """Management-fee and non-GL lines of invoice group ``group_number`` (§2.10a, §2.10c).

    Gate: the agreement's group (no default). Management fee ("Management Fee", 4791, ``is_management_fee``,
    ``is_profit_deduction``): FixedFee = coalesce(amount, 0); PerLaborHour = per job
    round2(standard rate × regular min/60) + round2(overtime rate × overtime min/60), holiday minutes not
    billed; RevenuePercentage = Rev × %/100 (Rev as :func:`.common.fee_revenue`). Non-GL expenses (when
    enabled, in sequence order, while the month ≤ the final period billed): fixed USD, % of payroll
    (enabled payroll accounts without additional payroll, plus actual PTEB for Total) or % of Rev; flagged
    ``is_non_gl_billable_expense``. When Billable Accounts is not enabled, a FixedFee insurance line is
    emitted here first (the insurance & claims step has no billable-account lines to ride on).
    """
    agreement = config.management_agreement
    if agreement is None or agreement.invoice_group != group_number:
        return EMPTY
    lines: list[InvoiceLine] = []
    if BuildingBlock.BILLABLE_ACCOUNTS not in config.building_blocks:
        lines.extend(insurance_and_claims(config, group_number, period, facts, EMPTY).lines)
    lines.extend(_management_fee(agreement, period, facts))
    lines.extend(_non_gl_lines(config, agreement, period, facts))
    return BlockResult.of(tuple(lines))


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """Missing row or group, unset amounts read as 0, parts skipped for want of billable accounts, and the
    §7 #23 flag on validations feeding profit share."""
    agreement = config.management_agreement
    if agreement is None:
        return (f"{_LABEL} is enabled but the contract has no management-agreement row: not billed",)
    warnings: list[str] = []
    gate = gate_2_warning(
        _LABEL, agreement.invoice_group, group_numbers, unset_effect="nothing of it is billed"
    )
    if gate:
        warnings.append(gate)
    kind = agreement.management_agreement_type
    if kind is ManagementAgreementType.PER_LABOR_HOUR and not agreement.per_labor_hour_job_code_data:
        warnings.append(f"{_LABEL}: per-labor-hour management fee without job codes: no fee")
    if kind is ManagementAgreementType.REVENUE_PERCENTAGE and agreement.revenue_percentage_amount is None:
        warnings.append(f"{_LABEL}: revenue percentage is unset: read as 0")

    account = config.billable_account
    expense_here = (
        BuildingBlock.BILLABLE_ACCOUNTS in config.building_blocks
        and account is not None
        and account.payroll_expense_accounts_invoice_group == agreement.invoice_group
    )
    if agreement.insurance_enabled and agreement.insurance_type is None:
        warnings.append(f"{_LABEL}: insurance is enabled without a type: not billed")
    if (
        agreement.insurance_enabled
        and agreement.insurance_type is InsuranceType.BASED_ON_BILLABLE_ACCOUNTS
        and not expense_here
    ):
        warnings.append(
            f"{_LABEL}: insurance based on billable accounts needs the billable expense-accounts line on the "
            "agreement's invoice group: not billed"
        )
    if agreement.claims_enabled:
        if not expense_here:
            warnings.append(
                f"{_LABEL}: claims need the billable expense-accounts line on the agreement's invoice group: "
                "not billed"
            )
        if agreement.claims_type is None:
            warnings.append(f"{_LABEL}: claims are enabled without a type: billed per claim (uncapped)")
        elif agreement.claims_type is not ClaimsType.PER_CLAIM and agreement.claims_cap_amount is None:
            warnings.append(f"{_LABEL}: annual claims cap is unset: read as 0")
        if agreement.claims_type is ClaimsType.ANNUAL_ANNIVERSARY and config.site_start_date is None:
            warnings.append(
                f"{_LABEL}: claims accumulate from the site anniversary but the contract has no site start "
                "date: accumulating from Jan 1 of the service year instead"
            )
    if agreement.profit_share_enabled:
        if not agreement.profit_share_tier_data:
            warnings.append(f"{_LABEL}: profit share is enabled without tiers: nothing is due")
        if agreement.profit_share_accumulation_type is None:
            warnings.append(f"{_LABEL}: profit share accumulation type is unset: read as monthly")
        if (
            agreement.profit_share_accumulation_type is AccumulationType.ANNUAL_ANNIVERSARY
            and config.site_start_date is None
        ):
            warnings.append(
                f"{_LABEL}: profit share accumulates from the site anniversary but the contract has no site "
                "start date: accumulating from Jan 1 of the service year instead"
            )
    if agreement.validation_threshold_enabled:
        if agreement.validation_threshold_type is None:
            warnings.append(f"{_LABEL}: validation threshold is enabled without a type: nothing over it")
        elif (
            agreement.validation_threshold_type is not ValidationThresholdType.VEHICLE_COUNT
            and agreement.validation_threshold_amount is None
        ):
            warnings.append(
                f"{_LABEL}: validation threshold amount is unset: read as 0 (the source flow fails on it, "
                "§2.10d)"
            )
    if agreement.non_gl_billable_expenses_enabled:
        if not agreement.non_gl_billable_expenses:
            warnings.append(f"{_LABEL}: non-GL billable expenses are enabled but none is configured")
        if account is None and any(
            e.expense_type is NonGlExpenseType.PAYROLL for e in agreement.non_gl_billable_expenses
        ):
            warnings.append(
                f"{_LABEL}: payroll-based non-GL expenses need the billable-account payroll accounts: payroll read as 0"
            )
        if not agreement.non_gl_billable_expense_code:
            warnings.append(
                f"{_LABEL}: no GL code for non-GL billable expenses: their lines print an empty code"
            )
    return tuple(warnings)


MANAGEMENT_AGREEMENT = BlockSpec(calculate=calculate, diagnose=diagnose)
