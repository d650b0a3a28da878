"""Billable-accounts forecast calculators (domain.md §2.9 "Forecast", examples T-5, T-6, T-8, T-9).

Four C# calculators, each gated on the Billable Accounts building block (``BillingAccount``): additional
payroll, billable PTEB, support services and expense accounts. The P&L runs them in that order, so the
support fee of payroll type "Total" reads the PTEB just computed (§2.13). Nothing is rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..codes import BuildingBlock
from ..money import ZERO
from ..period import ServicePeriod
from ._text import money, percent
from .inputs import (
    BillableAccountRow,
    BudgetRow,
    EscalatorType,
    ForecastContract,
    ForecastFacts,
    PtebBillingType,
    SupportBillingType,
    SupportPayrollType,
)

__all__ = [
    "AdditionalPayrollForecast",
    "ExpenseAccountsForecast",
    "PtebEscalation",
    "PtebForecast",
    "SupportServicesForecast",
    "forecast_additional_payroll",
    "forecast_billable_pteb",
    "forecast_expense_accounts",
    "forecast_support_services",
]

_HUNDRED = Decimal(100)


def _first_row(contract: ForecastContract) -> BillableAccountRow | None:
    return contract.billable_accounts[0] if contract.billable_accounts else None


def _payroll_budget(facts: ForecastFacts, period: ServicePeriod) -> Decimal:
    record = facts.billable_expense(period)
    return record.payroll_expense_budget if record is not None else ZERO


# --- additional payroll ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdditionalPayrollForecast:
    """``total`` = Σ ``additional_payroll_amount`` of the active rows (USD, may be negative, unrounded);
    ``included``/``excluded`` are the amounts of active/inactive rows in stored order."""

    included: tuple[Decimal, ...]
    excluded: tuple[Decimal, ...]
    total: Decimal
    explanation: tuple[str, ...]


def forecast_additional_payroll(contract: ForecastContract) -> AdditionalPayrollForecast | None:
    """C# ``AdditionalPayrollAmountCalculator`` (§2.9): Σ additional payroll of non-inactive rows.

    ``None`` without the Billable Accounts block. Negative amounts count; the value does not depend on the
    month. T-9: active 5,000.00 → 5,000.00; inactive → 0.00; −2,500.00 → −2,500.00; 1,234.567 kept.
    """
    if not contract.enables(BuildingBlock.BILLABLE_ACCOUNTS):
        return None
    included = tuple(row.additional_payroll_amount for row in contract.billable_accounts if row.active)
    excluded = tuple(row.additional_payroll_amount for row in contract.billable_accounts if not row.active)
    total = sum(included, ZERO)
    lines = (
        "§2.9 additional payroll (C# AdditionalPayrollAmountCalculator): Σ amounts of active billable-account rows",
        f"active: {', '.join(money(a) for a in included) or 'none'}; "
        f"inactive (excluded): {', '.join(money(a) for a in excluded) or 'none'}",
        f"total = {money(total)} (unrounded)",
    )
    return AdditionalPayrollForecast(included=included, excluded=excluded, total=total, explanation=lines)


# --- PTEB ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PtebEscalation:
    """The PTEB escalator applied from ``month``: ``after = before × (1 + value/100)`` (Percentage) or
    ``before + value`` (FixedAmount, additive per §7 #11)."""

    type: EscalatorType
    value: Decimal
    month: int
    before: Decimal
    after: Decimal


@dataclass(frozen=True, slots=True)
class PtebForecast:
    """Billable PTEB of one site and month (USD, unrounded).

    ``calculation_type`` as configured (``None`` if unset ⇒ total 0); for Percentage ``base_amount`` is the
    payroll-expense budget and ``applied_percentage`` the configured % (before any escalator); ``escalation``
    the applied escalator, if any.
    """

    calculation_type: PtebBillingType | None
    base_amount: Decimal | None
    applied_percentage: Decimal | None
    escalation: PtebEscalation | None
    total: Decimal
    explanation: tuple[str, ...]


def forecast_billable_pteb(
    contract: ForecastContract,
    facts: ForecastFacts,
    period: ServicePeriod,
    *,
    legacy_ignore_fixed_amount_escalator: bool = False,
) -> PtebForecast | None:
    """C# ``BillablePtebCalculator`` (§2.9 "Forecast"); ``None`` without the Billable Accounts block, without a
    billable-account row, or when the first row has PTEB disabled (T-5 d).

    * Percentage: ``payroll × pct/100`` with payroll = ``payroll_expense_budget`` of (site, month) (0 if no
      record); 0 unless payroll > 0 and the % is set. Then, if the escalator is enabled with a month and a
      non-zero value and ``m ≥ month``: Percentage ⇒ ``× (1 + v/100)``; FixedAmount ⇒ ``+ v`` (§7 #11: the
      C# test of the name "Amount" never matches the stored "FixedAmount"; ``legacy_ignore_fixed_amount_escalator``
      reproduces that no-op).
    * Actual: the site's budget ``Pteb`` value of the month (0 if absent); escalators ignored.
    T-5: 15 % of 1,000.00 → 150.00; 10 % of 2,000.00 with +5 % from month 3, month 5 → 210.00; Actual 1,250.75.
    """
    if not contract.enables(BuildingBlock.BILLABLE_ACCOUNTS):
        return None
    config = _first_row(contract)
    if config is None or not config.pteb_enabled:
        return None
    kind = config.pteb_billing_type
    lines = [
        f"§2.9 billable PTEB (C# BillablePtebCalculator) for {period}: type {kind.name if kind else 'unset'}"
    ]
    if kind is PtebBillingType.ACTUAL:
        value = facts.budget_value(BudgetRow.PTEB, period)
        total = value if value is not None else ZERO
        lines.append(
            f"total = budget 'Pteb' of the month = {money(total)}"
            + (" (absent ⇒ 0)" if value is None else "")
        )
        return PtebForecast(kind, None, None, None, total, tuple(lines))
    if kind is not PtebBillingType.PERCENTAGE:
        lines.append("no billing type: total 0")
        return PtebForecast(None, None, None, None, ZERO, tuple(lines))

    payroll = _payroll_budget(facts, period)
    pct = config.pteb_percentage
    if payroll <= 0 or pct is None:
        lines.append(
            f"payroll-expense budget {money(payroll)}, % {'unset' if pct is None else percent(pct)}: total 0"
        )
        return PtebForecast(kind, payroll, pct, None, ZERO, tuple(lines))
    amount = payroll * (pct / _HUNDRED)
    lines.append(f"{money(payroll)} (payroll-expense budget) × {percent(pct)} = {money(amount)}")
    escalation = _pteb_escalation(config, amount, period, legacy_ignore_fixed_amount_escalator)
    if escalation is not None:
        amount = escalation.after
        how = (
            f"× (1 + {percent(escalation.value)})"
            if escalation.type is EscalatorType.PERCENTAGE
            else f"+ {money(escalation.value)}"
        )
        lines.append(
            f"escalator {escalation.type.name} from month {escalation.month} ({escalation.month}/{period.year}): "
            f"{money(escalation.before)} {how} = {money(escalation.after)}"
        )
    lines.append(f"total = {money(amount)} (unrounded)")
    return PtebForecast(kind, payroll, pct, escalation, amount, tuple(lines))


def _pteb_escalation(
    config: BillableAccountRow, amount: Decimal, period: ServicePeriod, legacy_ignore_fixed_amount: bool
) -> PtebEscalation | None:
    month, value, kind = config.pteb_escalator_month, config.pteb_escalator_value, config.pteb_escalator_type
    if (
        not config.pteb_escalator_enabled
        or month is None
        or value is None
        or value == 0
        or period.month < month
    ):
        return None
    if kind is EscalatorType.PERCENTAGE:
        after = amount * (1 + value / _HUNDRED)
    elif kind is EscalatorType.FIXED_AMOUNT and not legacy_ignore_fixed_amount:
        after = amount + value
    else:
        return None
    return PtebEscalation(type=kind, value=value, month=month, before=amount, after=after)


# --- support services ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupportServicesForecast:
    """Support-services fee of one site and month (USD, unrounded). For Percentage, ``payroll_base`` is the
    payroll-expense budget, plus ``pteb`` when the payroll type is Total."""

    billing_type: SupportBillingType | None
    payroll_type: SupportPayrollType | None
    payroll_base: Decimal | None
    pteb: Decimal | None
    total: Decimal
    explanation: tuple[str, ...]


def forecast_support_services(
    contract: ForecastContract, facts: ForecastFacts, period: ServicePeriod, pteb: PtebForecast | None
) -> SupportServicesForecast | None:
    """C# ``SupportServicesCalculator`` (§2.9 "Forecast"); ``None`` without the Billable Accounts block, a
    billable-account row, or support enabled on the first row.

    Fixed ⇒ ``support_amount`` (0 if unset). Percentage ⇒ ``base × amount/100`` where base = payroll-expense
    budget (Billable, also when the payroll type is unset) or payroll-expense budget + ``pteb.total`` (Total;
    ``pteb`` is the PTEB the pipeline just computed, 0 if ``None``); 0 unless base > 0 and amount is set.
    T-6: Fixed 2,500 → 2,500.00; 10 % of Billable 50,000 → 5,000.00; 15 % of Total 80,000 (no PTEB) → 12,000.00.
    """
    if not contract.enables(BuildingBlock.BILLABLE_ACCOUNTS):
        return None
    config = _first_row(contract)
    if config is None or not config.support_enabled:
        return None
    kind, payroll_type, amount = (
        config.support_billing_type,
        config.support_payroll_type,
        config.support_amount,
    )
    lines = [
        f"§2.9 support services (C# SupportServicesCalculator) for {period}: type {kind.name if kind else 'unset'}"
    ]
    if kind is SupportBillingType.FIXED:
        total = amount if amount is not None else ZERO
        lines.append(f"total = fixed amount {money(total)}")
        return SupportServicesForecast(kind, payroll_type, None, None, total, tuple(lines))
    if kind is not SupportBillingType.PERCENTAGE:
        lines.append("no billing type: total 0")
        return SupportServicesForecast(None, payroll_type, None, None, ZERO, tuple(lines))

    payroll = _payroll_budget(facts, period)
    pteb_total: Decimal | None = None
    base = payroll
    if payroll_type is SupportPayrollType.TOTAL:
        pteb_total = pteb.total if pteb is not None else ZERO
        base = payroll + pteb_total
        lines.append(
            f"base (Total) = payroll-expense budget {money(payroll)} + PTEB {money(pteb_total)} = {money(base)}"
        )
    else:
        lines.append(f"base (Billable) = payroll-expense budget {money(payroll)}")
    if base <= 0 or amount is None:
        lines.append("base ≤ 0 or % unset: total 0")
        return SupportServicesForecast(kind, payroll_type, base, pteb_total, ZERO, tuple(lines))
    total = base * (amount / _HUNDRED)
    lines.append(f"total = {money(base)} × {percent(amount)} = {money(total)} (unrounded)")
    return SupportServicesForecast(kind, payroll_type, base, pteb_total, total, tuple(lines))


# --- expense accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpenseAccountsForecast:
    """``total = billable_expense_budget + forecast_accounts_total`` (USD, unrounded), where the second term is
    Σ of the 12 forecastable accounts when the month has a forecast row (``accounts`` lists them), else the
    ``other_expense_budget`` (``used_other_expense_budget`` True)."""

    billable_expense_budget: Decimal
    accounts: tuple[tuple[str, Decimal | None], ...]
    used_other_expense_budget: bool
    forecast_accounts_total: Decimal
    total: Decimal
    explanation: tuple[str, ...]


def forecast_expense_accounts(
    contract: ForecastContract, facts: ForecastFacts, period: ServicePeriod
) -> ExpenseAccountsForecast | None:
    """C# ``ExpenseAccountCalculator`` (§2.9 "Forecast"); ``None`` without the Billable Accounts block.

    ``billable_expense_budget`` of (site, month) (0 if no record) + Σ the 12 forecastable accounts of the
    month's ``bs_otherexpensedetail`` row (missing accounts 0), or, without such a row, the month's
    ``other_expense_budget``. T-8: 1,000 + 600 → 1,600.00; with Employee Relations 150 → 1,150.00.
    """
    if not contract.enables(BuildingBlock.BILLABLE_ACCOUNTS):
        return None
    record = facts.billable_expense(period)
    billable = record.billable_expense_budget if record is not None else ZERO
    lines = [
        f"§2.9 expense accounts (C# ExpenseAccountCalculator) for {period}: billable-expense budget {money(billable)}"
        + (" (no record ⇒ 0)" if record is None else "")
    ]
    forecast_row = facts.other_expense(period)
    if forecast_row is not None:
        accounts = forecast_row.accounts()
        forecasted = sum((value for _, value in accounts if value is not None), ZERO)
        entered = ", ".join(f"{column} {money(value)}" for column, value in accounts if value is not None)
        lines.append(
            f"12 forecastable accounts of {period}: {entered or 'none entered'} → {money(forecasted)}"
        )
        used_budget = False
    else:
        accounts = ()
        forecasted = record.other_expense_budget if record is not None else ZERO
        lines.append(f"no other-expense forecast row for {period}: other-expense budget {money(forecasted)}")
        used_budget = True
    total = billable + forecasted
    lines.append(f"total = {money(billable)} + {money(forecasted)} = {money(total)} (unrounded)")
    return ExpenseAccountsForecast(billable, accounts, used_budget, forecasted, total, tuple(lines))
