"""Insurance & claims of the management agreement (domain.md §2.10b; flow ``InsuranceAndClaimsChildFlow``).

Not a block of its own: it receives the billable-account lines of an invoice group and returns them
adjusted, so billable accounts reach the invoice through it (also for contracts without a management
agreement, where it changes nothing).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from ..codes import BuildingBlock, ClaimsType, InsuranceType
from ..config import ContractConfig, ManagementAgreement
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import HUNDRED, ZERO, round2
from ..period import ServicePeriod
from .base import BlockResult
from .common import (
    CLAIMS_ACCOUNTS,
    CODE_MANAGEMENT,
    INSURANCE_ACCOUNTS,
    ledger_sum,
    service_year_accumulation_start,
)

__all__ = ["insurance_and_claims"]


def _reduce(line: InvoiceLine, amount: Decimal, what: str) -> InvoiceLine:
    return dataclasses.replace(
        line,
        amount=line.amount - amount,
        explanation=f"{line.explanation} Reduced by {what} {amount} (moved to its own line, §2.10b) ⇒ "
        f"{line.amount - amount}.",
    )


def _line(
    title: str, amount: Decimal, explanation: str, *, is_insurance: bool = False, is_claims: bool = False
) -> InvoiceLine:
    return InvoiceLine(
        building_block=BuildingBlock.MANAGEMENT_AGREEMENT,
        title=title,
        code=CODE_MANAGEMENT,
        amount=amount,
        explanation=explanation,
        is_profit_deduction=True,
        is_insurance=is_insurance,
        is_claims=is_claims,
    )


def _claims_line(
    agreement: ManagementAgreement,
    config: ContractConfig,
    codes: frozenset[str],
    month_claims: Decimal,
    period: ServicePeriod,
    facts: PeriodFacts,
) -> InvoiceLine:
    title = agreement.claims_line_title or "Claims"
    codes_text = ", ".join(sorted(codes)) or "none enabled"
    month_text = f"C = Σ ledger balance of the enabled claims accounts ({codes_text}) in {period.yyyymm} = {month_claims}"
    if agreement.claims_type is ClaimsType.PER_CLAIM or agreement.claims_type is None:
        return _line(
            title,
            month_claims,
            f"§2.10b claims (PerClaim, uncapped): amount = C; {month_text}.",
            is_claims=True,
        )
    anniversary = agreement.claims_type is ClaimsType.ANNUAL_ANNIVERSARY
    start, rule = service_year_accumulation_start(anniversary, config.site_start_date, period)
    since = f"{start.year:04d}{start.month:02d}"
    until = period.shift(-1).yyyymm
    earlier, _ = ledger_sum(facts, codes, since=since, until=until)
    cap = ZERO if agreement.claims_cap_amount is None else agreement.claims_cap_amount
    amount = month_claims if earlier + month_claims <= cap else max(ZERO, cap - earlier)
    return _line(
        title,
        amount,
        (
            f"§2.10b claims ({agreement.claims_type.name}, cap {cap}): amount = C if A + C ≤ cap else "
            f"max(0, cap − A) = {amount}; {month_text}; A = Σ of the same accounts in periods {since}.."
            f"{until} = {earlier}; accumulation year from the service period, not the run date (§7 #10): {rule}."
        ),
        is_claims=True,
    )


def insurance_and_claims(
    config: ContractConfig, group_number: int, period: ServicePeriod, facts: PeriodFacts, result: BlockResult
) -> BlockResult:
    """``result`` (billable-account lines of the group) after insurance & claims (§2.10b).

    Applies only when the management agreement's group is ``group_number`` and insurance or claims is
    enabled; otherwise ``result`` comes back unchanged. Insurance BasedOnBillableAccounts: I = Σ BALANCE of
    the enabled expense accounts among 7080/7082/7085 in the month, the expense line is reduced by I and an
    insurance line round2(I × (100 + additional %)/100) added. Insurance FixedFee: a line of the fixed amount.
    Claims: C = Σ BALANCE of the enabled accounts among 7099–7102 in the month, the expense line is reduced
    by C and a claims line added: C (PerClaim), or capped per accumulation year (annual types; year from the
    service period, §7 #10). Account-based insurance and claims need the expense line in this group; without
    it they are skipped (the management agreement's diagnosis says so). New lines carry code 4791 and
    ``is_profit_deduction``. The returned subtotal is rounded to cents, as the flow's.
    """
    agreement = config.management_agreement
    if (
        agreement is None
        or agreement.invoice_group != group_number
        or not (agreement.insurance_enabled or agreement.claims_enabled)
    ):
        return result
    lines = list(result.lines)
    subtotal = result.subtotal
    expense_at = next((i for i, line in enumerate(lines) if line.is_billable_expense_accounts), None)
    account = config.billable_account
    enabled = account.enabled_expense_codes if account is not None else frozenset[str]()

    if agreement.insurance_enabled and agreement.insurance_type is InsuranceType.FIXED_FEE:
        amount = (
            ZERO if agreement.insurance_fixed_fee_amount is None else agreement.insurance_fixed_fee_amount
        )
        lines.append(
            _line(
                agreement.insurance_line_title or "Insurance",
                amount,
                f"§2.10b insurance (FixedFee): amount = the agreement's fixed insurance amount {amount}.",
                is_insurance=True,
            )
        )
        subtotal += amount
    elif (
        agreement.insurance_enabled
        and agreement.insurance_type is InsuranceType.BASED_ON_BILLABLE_ACCOUNTS
        and expense_at is not None
    ):
        codes = enabled & frozenset(INSURANCE_ACCOUNTS)
        insured, _ = ledger_sum(facts, codes, since=period.yyyymm, until=period.yyyymm)
        markup = (
            ZERO
            if agreement.insurance_additional_percentage is None
            else agreement.insurance_additional_percentage
        )
        amount = round2(insured * (HUNDRED + markup) / HUNDRED)
        lines[expense_at] = _reduce(lines[expense_at], insured, "insurance I")
        lines.append(
            _line(
                agreement.insurance_line_title or "Insurance",
                amount,
                (
                    f"§2.10b insurance (BasedOnBillableAccounts): amount = round2(I × (100 + {markup})/100) = "
                    f"{amount}; I = Σ ledger balance of the enabled insurance accounts "
                    f"({', '.join(sorted(codes)) or 'none enabled'}) in {period.yyyymm} = {insured}, taken off "
                    "the expense line."
                ),
                is_insurance=True,
            )
        )
        subtotal += amount - insured

    if agreement.claims_enabled and expense_at is not None:
        codes = enabled & frozenset(CLAIMS_ACCOUNTS)
        month_claims, _ = ledger_sum(facts, codes, since=period.yyyymm, until=period.yyyymm)
        lines[expense_at] = _reduce(lines[expense_at], month_claims, "claims C")
        claims = _claims_line(agreement, config, codes, month_claims, period, facts)
        lines.append(claims)
        subtotal += claims.amount - month_claims
    return BlockResult(tuple(lines), round2(subtotal), result.warnings)
