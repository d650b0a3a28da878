"""Deposited Revenue and parking tax, code 126840007 (domain.md §2.8; flow ``DepositedRevenueChildFlow``)."""

from __future__ import annotations

import datetime

from ..codes import BuildingBlock
from ..config import ContractConfig
from ..facts import PeriodFacts
from ..lines import InvoiceLine
from ..money import ZERO
from ..period import ServicePeriod
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .common import (
    CODE_TP_FEES,
    OTHER_REVENUE,
    PER_MAN_HOUR,
    flag,
    gate_2_warning,
    month_revenue,
    row_count,
)

__all__ = ["DEPOSITED_REVENUE", "calculate", "diagnose"]

_LABEL = BuildingBlock.DEPOSITED_REVENUE.label


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """Parking-tax and deposited-revenue lines (code 4790) of invoice group ``group_number`` (§2.8).

    Gate: the deposited-revenue row's group (no default). When Towne Park is responsible for the parking
    tax: ``base`` = Σ net revenue of the month's rows with DEPOSIT_FLAG ≠ 'Y' and category not 'Per Man Hour'
    or 'Other Revenue'; ``rate`` = TAXRATE (a fraction) of the month's first (earliest) DEPOSIT_FLAG 'N' row, else 0;
    line "Client Collected Parking Tax due to Towne Park" = base × rate. When deposited revenue is enabled:
    ``D`` = Σ of the month's DEPOSIT_FLAG 'Y' rows (net revenue when Towne Park is responsible for the tax,
    else gross external revenue); line "Less: Towne Park Deposited Revenue" = −D with ``taxes_paid`` =
    D × rate (0 when not responsible). Subtotal = −D + tax due, often negative. USD, unrounded.
    """
    settings = config.deposited_revenue
    if settings is None or settings.invoice_group != group_number:
        return EMPTY
    rows = list(month_revenue(facts, period))
    responsible = settings.towne_park_responsible_for_parking_tax
    lines: list[InvoiceLine] = []
    rate = ZERO
    rate_text = "not responsible for parking tax ⇒ rate 0"
    if responsible:
        taxable = [
            row for row in rows if flag(row) != "Y" and row.category not in (PER_MAN_HOUR, OTHER_REVENUE)
        ]
        base = sum((row.net_external_revenue for row in taxable), ZERO)
        # "First" client-collected row: the earliest-dated one (ties in facts order), so the pick does not
        # depend on how the caller happened to order the rows.
        first_n = min((row for row in rows if flag(row) == "N"), key=lambda row: row.date, default=None)
        if first_n is not None and first_n.tax_rate is not None:
            rate = first_n.tax_rate
            rate_text = (
                f"TAXRATE {rate} of the first client-collected ('N') row, dated {first_n.date.isoformat()}"
            )
        else:
            rate_text = "no client-collected ('N') row with a TAXRATE in the month ⇒ rate 0"
        lines.append(
            InvoiceLine(
                building_block=BuildingBlock.DEPOSITED_REVENUE,
                title="Client Collected Parking Tax due to Towne Park",
                code=CODE_TP_FEES,
                amount=base * rate,
                is_paid_parking_tax=True,
                explanation=(
                    f"§2.8 parking tax: amount = base × rate = {base} × {rate} = {base * rate}. base = Σ net "
                    f"external revenue of {row_count(taxable)} rows in {period.key} not deposited by Towne Park "
                    f"(flag ≠ 'Y'), categories other than 'Per Man Hour' and 'Other Revenue'; rate = {rate_text}."
                ),
            )
        )
    if settings.deposited_revenue_enabled:
        deposited = [row for row in rows if flag(row) == "Y"]
        measure = "net" if responsible else "gross"
        total = sum(
            (row.net_external_revenue if responsible else row.external_revenue for row in deposited), ZERO
        )
        taxes_paid = total * rate if responsible else ZERO
        lines.append(
            InvoiceLine(
                building_block=BuildingBlock.DEPOSITED_REVENUE,
                title="Less: Towne Park Deposited Revenue",
                code=CODE_TP_FEES,
                amount=-total,
                is_deposited_revenue=True,
                taxes_paid=taxes_paid,
                explanation=(
                    f"§2.8 deposited revenue: amount = −D = −{total}; D = Σ {measure} external revenue of "
                    f"{row_count(deposited)} rows in {period.key} deposited by Towne Park (flag 'Y') — net because "
                    f"Towne Park {'is' if responsible else 'is not'} responsible for the parking tax. "
                    f"taxesPaid = {'D × rate = ' + str(taxes_paid) if responsible else '0'} ({rate_text})."
                ),
            )
        )
    return BlockResult.of(tuple(lines))


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """No row, nothing switched on, or its group unset or missing from the statement."""
    settings = config.deposited_revenue
    if settings is None:
        return (f"{_LABEL} is enabled but the contract has no deposited-revenue row: not billed",)
    warnings: list[str] = []
    if not (settings.deposited_revenue_enabled or settings.towne_park_responsible_for_parking_tax):
        warnings.append(
            f"{_LABEL} row has neither deposited revenue nor parking-tax responsibility switched on: no line"
        )
    gate = gate_2_warning(_LABEL, settings.invoice_group, group_numbers, unset_subject=f"{_LABEL} row")
    return (*warnings, gate) if gate else tuple(warnings)


DEPOSITED_REVENUE = BlockSpec(calculate=calculate, diagnose=diagnose)
