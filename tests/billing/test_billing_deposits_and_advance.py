"""Deposited revenue and parking tax (domain.md §2.8, golden F-9) and the mid-month advance (§2.7, §7 #3)."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from billing import (
    BillingType,
    BuildingBlock,
    ContractConfig,
    DepositedRevenue,
    MidMonthAdvance,
    MidMonthLineTitle,
    PeriodFacts,
    RevenueRow,
    ServicePeriod,
    preview,
)

D = Decimal
APRIL = ServicePeriod(2025, 4)


def row(
    flag: str,
    net: str,
    *,
    gross: str | None = None,
    category: str = "Parking",
    tax: str | None = None,
    d: int = 10,
) -> RevenueRow:
    return RevenueRow(
        datetime.date(2025, 4, d),
        "VD1",
        category,
        None,
        flag,
        D(gross or net),
        D(net),
        D(0),
        None if tax is None else D(tax),
    )


DEPOSITS = ContractConfig(
    "0170",
    BillingType.ARREARS,
    frozenset({BuildingBlock.DEPOSITED_REVENUE}),
    deposited_revenue=DepositedRevenue(True, True, 1),
)
F9_FACTS = PeriodFacts(
    revenue=(
        row("Y", "12000.00", gross="13200.00", d=2),
        row("N", "30000.00", tax="0.10", d=3),  # first client-collected row: its TAXRATE is used
        row("N", "20000.00", tax="0.07", d=4),
        row("Y", "8000.00", gross="8800.00", d=5),
        row("N", "4000.00", category="Per Man Hour", tax="0.07", d=6),  # not taxable base
        row("N", "1000.00", category="Other Revenue", d=7),  # not taxable base
        RevenueRow(datetime.date(2025, 5, 1), "VD1", "Parking", None, "Y", D(999), D(999), D(0)),
    )
)


def test_golden_f9_deposited_revenue_with_parking_tax_responsibility() -> None:
    result = preview(DEPOSITS, APRIL, F9_FACTS)

    [invoice] = result.invoices
    tax, deposited = invoice.lines
    assert (tax.title, tax.code, str(tax.amount)) == (
        "Client Collected Parking Tax due to Towne Park",
        "4790",
        "5000.00",
    )
    assert tax.is_paid_parking_tax and not tax.is_deposited_revenue
    assert (deposited.title, deposited.code, str(deposited.amount)) == (
        "Less: Towne Park Deposited Revenue",
        "4790",
        "-20000.00",
    )
    assert deposited.is_deposited_revenue and deposited.taxes_paid == D("2000.0000")
    assert str(invoice.amount) == "-15000.00"  # TP banked more than it bills: a negative invoice (§3.8)
    assert "TAXRATE 0.10 of the first client-collected ('N') row, dated 2025-04-03" in tax.explanation
    assert "Σ net external revenue of 2 rows" in deposited.explanation


def test_tax_rate_comes_from_the_earliest_client_collected_row_whatever_the_row_order() -> None:
    reordered = PeriodFacts(revenue=tuple(reversed(F9_FACTS.revenue)))
    tax, _ = preview(DEPOSITS, APRIL, reordered).lines()
    assert tax.amount == D("5000.00")


def test_not_responsible_for_tax_credits_gross_deposits_and_no_tax_line() -> None:
    config = dataclasses.replace(DEPOSITS, deposited_revenue=DepositedRevenue(False, True, 1))
    [line] = preview(config, APRIL, F9_FACTS).lines()
    assert line.amount == D("-22000.00")  # gross external revenue of the 'Y' rows
    assert line.taxes_paid == D(0)


def test_tax_only_and_no_client_collected_rate() -> None:
    config = dataclasses.replace(DEPOSITS, deposited_revenue=DepositedRevenue(True, False, 1))
    assert [line.title for line in preview(config, APRIL, F9_FACTS).lines()] == [
        "Client Collected Parking Tax due to Towne Park"
    ]
    no_rate = PeriodFacts(revenue=(row("N", "5000.00"), row("Y", "100.00")))
    result = preview(DEPOSITS, APRIL, no_rate)
    assert [line.title for line in result.lines()] == [
        "Less: Towne Park Deposited Revenue"
    ]  # tax 0.00 dropped
    assert result.lines()[0].taxes_paid == D(0)


def test_deposited_revenue_group_has_no_default() -> None:
    config = dataclasses.replace(DEPOSITS, deposited_revenue=DepositedRevenue(True, True, None))
    result = preview(config, APRIL, F9_FACTS)
    assert result.invoices == ()
    assert (
        "Deposited Revenue row has no invoice group (no default, §2.0 gate 2): not billed" in result.warnings
    )


ADVANCE = ContractConfig(
    "0198",
    BillingType.ARREARS,
    frozenset({BuildingBlock.MID_MONTH_ADVANCE}),
    mid_month_advance=MidMonthAdvance(D("11000.00"), MidMonthLineTitle.MID_MONTH_BILLING, 1),
)


@pytest.mark.parametrize(
    ("title", "label"),
    [(MidMonthLineTitle.MID_MONTH_BILLING, "Mid Month Billing"), (MidMonthLineTitle.PRE_BILL, "Pre Bill")],
)
def test_decision_7_3_mid_month_advance_is_credited(title: MidMonthLineTitle, label: str) -> None:
    config = dataclasses.replace(ADVANCE, mid_month_advance=MidMonthAdvance(D("11000.00"), title, 1))
    [invoice] = preview(config, APRIL).invoices
    [line] = invoice.lines
    assert (line.title, line.code, line.description, str(line.amount)) == (
        "Mid-Month Advance",
        "4790",
        label,
        "-11000.00",
    )
    assert "§7 #3" in line.explanation
    assert invoice.amount == D("-11000.00")


def test_mid_month_advance_routing_and_validation() -> None:
    config = dataclasses.replace(ADVANCE, mid_month_advance=MidMonthAdvance(D(5), invoice_group=None))
    assert preview(config, APRIL).invoices == ()
    with pytest.raises(TypeError, match="MidMonthLineTitle"):
        MidMonthAdvance(D(5), "MidMonthBilling")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        MidMonthAdvance(5.0)  # type: ignore[arg-type]
