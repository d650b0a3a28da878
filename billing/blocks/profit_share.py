"""Profit share of a management-agreement invoice, with the MA validation threshold (domain.md §2.10d-e;
flow ``ProfitShareChildFlow``).

Runs last, once per invoice, on the union of the invoice's lines: called by the engine, not a block.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..codes import AccumulationType, BuildingBlock
from ..config import ContractConfig, ManagementAgreement
from ..facts import PeriodFacts
from ..lines import InvoiceLine, ProfitShareItem, ProfitShareSummary
from ..money import ZERO, format_amount
from ..period import ServicePeriod
from ..tiers import cap_tiers
from .common import (
    CODE_MANAGEMENT,
    PER_MAN_HOUR,
    fee_revenue,
    flag,
    month_revenue,
    row_count,
    service_year_accumulation_start,
)
from .revenue_share import tier_text, validation_over_threshold

__all__ = ["profit_share_applies", "settle_profit_share", "validation_over"]


def profit_share_applies(config: ContractConfig, group_number: int) -> bool:
    """Whether ``group_number``'s invoice is the management agreement's (gate 1 and 2 of §2.10)."""
    agreement = config.management_agreement
    return (
        BuildingBlock.MANAGEMENT_AGREEMENT in config.building_blocks
        and agreement is not None
        and agreement.invoice_group == group_number
    )


def validation_over(
    agreement: ManagementAgreement, revenue: Decimal, period: ServicePeriod, facts: PeriodFacts
) -> tuple[Decimal, str]:
    """``over`` of §2.10d (USD ≥ 0) with its formula; 0 when the MA validation threshold is disabled.

    Vm = Σ BILLABLE_NET_VALIDATION of the month's rows with DEPOSIT_FLAG 'V' and category ≠ 'Per Man Hour';
    the threshold types as in §2.5 (VehicleCount ignores the threshold, §7 #19); a null threshold amount is
    read as 0 (the flow fails on it) and the text says so.
    """
    if not agreement.validation_threshold_enabled or agreement.validation_threshold_type is None:
        return ZERO, "MA validation threshold disabled ⇒ over = 0"
    rows = [row for row in month_revenue(facts, period) if flag(row) == "V" and row.category != PER_MAN_HOUR]
    validations = sum((row.billable_net_validation for row in rows), ZERO)
    unset = agreement.validation_threshold_amount is None
    threshold = (
        ZERO if agreement.validation_threshold_amount is None else agreement.validation_threshold_amount
    )
    over, text = validation_over_threshold(
        agreement.validation_threshold_type, validations, revenue, threshold
    )
    null_note = " (threshold amount unset: read as 0, §2.10d)" if unset else ""
    return over, (
        f"Vm = Σ billable net validation of {row_count(rows)} validation rows in {period.key} = {validations}; "
        f"{text}{null_note}"
    )


def _deductions(lines: list[InvoiceLine]) -> tuple[Decimal, list[str]]:
    total = ZERO
    parts: list[str] = []
    for line in lines:
        if line.is_profit_deduction:
            # Ad-hoc client-paid lines are entered negative; the flow flips them back (§2.10e).
            amount = -line.amount if line.is_adhoc else line.amount
        elif line.is_adhoc and line.is_non_billable_expense:
            amount = -line.amount
        elif line.is_non_gl_billable_expense:
            amount = line.amount
        else:
            continue
        total += amount
        parts.append(f"{line.title} ${format_amount(amount)}")
    return total, parts


def _prior_profit(
    config: ContractConfig,
    accumulation: AccumulationType,
    period: ServicePeriod,
    facts: PeriodFacts,
    invoice_date: datetime.date,
) -> tuple[Decimal, datetime.date | None, str]:
    if not accumulation.is_annual:
        return ZERO, None, "MONTHLY ⇒ Prior = 0"
    anniversary = accumulation is AccumulationType.ANNUAL_ANNIVERSARY
    start, rule = service_year_accumulation_start(anniversary, config.site_start_date, period)
    counted = [
        share
        for share in facts.prior_profit_shares
        if (
            start <= share.service_period_start < period.start
            if share.service_period_start is not None
            # Legacy window: invoice date after acc_start, and only earlier invoices than this one.
            else start < share.invoice_date < invoice_date
        )
    ]
    prior = sum((share.monthly_profit for share in counted), ZERO)
    return (
        prior,
        start,
        (
            f"{accumulation.name}: Prior = Σ monthlyProfit of {len(counted)} earlier profit-share lines of the "
            f"accumulation year = {prior}; year from the service period, not the run date (§7 #10): {rule}"
        ),
    )


def settle_profit_share(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    lines: list[InvoiceLine],
    invoice_date: datetime.date,
) -> tuple[list[InvoiceLine], ProfitShareSummary]:
    """The management agreement's invoice lines after profit share, and the pass's figures (§2.10e).

    Precondition: :func:`profit_share_applies`. ``lines`` are the invoice's lines in order, at cents.
    Deductions = Σ ``is_profit_deduction`` amounts (ad-hoc ones sign-flipped) + Σ −amount of ad-hoc
    non-billable expenses + Σ non-GL lines; P_month = Rev + over − deductions (over: validations above the
    MA threshold, ADDED to profit as the flow does, §7 #23); Prior = 0 (monthly) or Σ monthlyProfit of the
    earlier invoices of the accumulation year (:class:`billing.facts.PriorProfitShare`; by service month
    when known, else by invoice date in ``(acc_start, invoice_date)``; year from the service period,
    §7 #10); AmountDue = Σ due of :func:`billing.tiers.cap_tiers` (P_month, Prior, tiers). When profit share
    is enabled, ad-hoc client-paid lines are removed and "Towne Park Profit Share" (4791, ``is_profit_share``,
    ``monthly_profit`` = P_month) = AmountDue is appended; otherwise the lines come back unchanged.
    """
    agreement = config.management_agreement
    assert agreement is not None
    revenue, count = fee_revenue(facts, period)
    over, over_text = validation_over(agreement, revenue, period, facts)
    deductions, parts = _deductions(lines)
    monthly_profit = revenue + over - deductions
    if not agreement.profit_share_enabled:
        summary = ProfitShareSummary(
            False, revenue, over, deductions, monthly_profit, ZERO, None, ZERO, (), ()
        )
        return lines, summary

    accumulation = agreement.profit_share_accumulation_type or AccumulationType.MONTHLY
    prior, start, prior_text = _prior_profit(config, accumulation, period, facts, invoice_date)
    shares = cap_tiers(monthly_profit, prior, agreement.profit_share_tier_data)
    items = tuple(
        ProfitShareItem(
            tier_index=share.tier_index,
            profit_amount=share.revenue_amount,
            share_percentage=share.share_percentage,
            amount_due=share.amount_due,
            tier_limit=share.tier_limit,
            validation_portion=over / monthly_profit * share.amount_due if monthly_profit != 0 else ZERO,
        )
        for share in shares
    )
    amount_due = sum((item.amount_due for item in items), ZERO)
    removed = tuple(line for line in lines if line.is_adhoc and line.is_profit_deduction)
    kept = [line for line in lines if not (line.is_adhoc and line.is_profit_deduction)]

    tiers = "; ".join(
        f"Tier {item.tier_index + 1} (cap {'∞' if item.tier_limit == 0 else '$' + format_amount(item.tier_limit)}): "
        f"${format_amount(item.profit_amount)} × {item.share_percentage}% = ${format_amount(item.amount_due)}"
        for item in items
    )
    breakdown = (
        f"Revenue ${format_amount(revenue)} + Validations over threshold ${format_amount(over)} − Deductions "
        f"${format_amount(deductions)} ({', '.join(parts) or 'none'}) = Monthly Profit "
        f"${format_amount(monthly_profit)}; Prior Profit ${format_amount(prior)}; {tiers or 'no tier'}; "
        f"Profit Share ${format_amount(amount_due)}"
    )
    over_note = (
        " — validations over the threshold are ADDED to profit, as the flow does, though its breakdown lists "
        "them beside the deductions (§7 #23)"
        if agreement.validation_threshold_enabled
        else ""
    )
    removed_text = (
        f" Ad-hoc client-paid lines removed from the invoice: {', '.join(line.title for line in removed)}."
        if removed
        else ""
    )
    line = InvoiceLine(
        building_block=BuildingBlock.MANAGEMENT_AGREEMENT,
        title="Towne Park Profit Share",
        code=CODE_MANAGEMENT,
        amount=amount_due,
        description=breakdown,
        explanation=(
            f"§2.10e profit share: amount = AmountDue = Σ due = {amount_due} of tiers "
            f"{tier_text(agreement.profit_share_tier_data)} (cap semantics, §7 #1) applied to T = P_month + Prior "
            f"= {monthly_profit} + {prior} = {monthly_profit + prior} (tier by tier in the description). "
            f"P_month = Rev + over − deductions = {revenue} + {over} − {deductions} = {monthly_profit}; Rev = Σ net "
            f"external revenue of {count} rows in {period.key} (flag ≠ 'V', category ≠ 'Per Man Hour'); "
            f"{over_text}{over_note}; deductions = Σ profit-deduction lines (ad-hoc ones sign-flipped) + ad-hoc "
            f"non-billable + non-GL lines. {prior_text}. The invoice amount is round2(Σ other lines + "
            f"{amount_due}) (§2.10e).{removed_text}"
        ),
        is_profit_share=True,
        monthly_profit=monthly_profit,
        profit_share_calculation_details=breakdown,
        profit_share_items=items,
    )
    summary = ProfitShareSummary(
        True, revenue, over, deductions, monthly_profit, prior, start, amount_due, items, removed
    )
    return [*kept, line], summary
