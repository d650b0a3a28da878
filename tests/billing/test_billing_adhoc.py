"""Carried-over ad-hoc lines (domain.md §3.3, §3.4): sign rules, flags, routing, place in the line order."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing import (
    AdhocLine,
    AdhocLineType,
    BillingType,
    BuildingBlock,
    ContractConfig,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    PeriodFacts,
    RevenueRow,
    ServicePeriod,
    ThresholdStructure,
    Tier,
    TimesheetRow,
    preview,
)

D = Decimal
APRIL = ServicePeriod(2025, 4)
T = AdhocLineType


def test_client_paid_and_non_billable_are_forced_negative_and_flagged() -> None:
    config = ContractConfig("0349", BillingType.ARREARS, frozenset())
    adhoc = (
        AdhocLine(1, "Repairs", "7110", D("500.00"), T.CLIENT_PAID_EXPENSE, "paid by the owner", "guid-1"),
        AdhocLine(1, "Supplies", "7113", D("-300.00"), T.NON_BILLABLE_EXPENSE),
        AdhocLine(1, "Reimbursement", "4790", D("-120.00"), T.REIMBURSABLE_EXPENSE),
        AdhocLine(1, "Signage", "4790", D("80.00"), T.MISCELLANEOUS_ITEM),
        AdhocLine(1, "Nothing", "4790", D("0.00"), T.MISCELLANEOUS_ITEM),
    )
    result = preview(config, APRIL, adhoc_lines=adhoc)
    [invoice] = result.invoices
    assert [(line.title, line.amount) for line in invoice.lines] == [
        ("Repairs", D("-500.00")),
        ("Supplies", D("-300.00")),
        ("Reimbursement", D("-120.00")),
        ("Signage", D("80.00")),
    ]
    repairs, supplies, reimbursement, _ = invoice.lines
    assert repairs.is_adhoc and repairs.is_profit_deduction and repairs.is_client_paid_expense
    assert (repairs.adhoc_type, repairs.line_item_id, repairs.description) == (
        T.CLIENT_PAID_EXPENSE,
        "guid-1",
        "paid by the owner",
    )
    assert repairs.building_block is None
    assert "Forced negative (§3.4)" in repairs.explanation
    assert supplies.is_adhoc and supplies.is_non_billable_expense and not supplies.is_profit_deduction
    assert reimbursement.is_adhoc and not (
        reimbursement.is_profit_deduction or reimbursement.is_non_billable_expense
    )
    assert invoice.amount == D("-840.00") == result.total


def test_adhoc_lines_follow_per_labor_hour_and_precede_revenue_share() -> None:
    config = ContractConfig(
        "0429",
        BillingType.ARREARS,
        frozenset({BuildingBlock.FIXED_FEE, BuildingBlock.PER_LABOR_HOUR, BuildingBlock.REVENUE_SHARE}),
        fixed_fee_services=(FixedFeeService("Valet", "4700", D("100.00")),),
        labor_hour_jobs=(LaborHourJob("Bell", "BELL", D("20.00"), D("20.00")),),
        threshold_structures=(ThresholdStructure(("VD1",), (Tier(D(10), D(0)),), invoice_group=1),),
    )
    facts = PeriodFacts(
        timesheets=(TimesheetRow(datetime.date(2025, 4, 2), "BELL", regular=60),),
        revenue=(RevenueRow(datetime.date(2025, 4, 2), "VD1", "Parking", None, "Y", D(1000), D(1000), D(0)),),
    )
    adhoc = (AdhocLine(1, "Signage", "4790", D("80.00"), T.MISCELLANEOUS_ITEM),)
    lines = preview(config, APRIL, facts, adhoc_lines=adhoc).lines()
    assert [line.title for line in lines] == ["Valet", "Bell", "Signage", "Towne Park Fees for Services"]


def test_adhoc_lines_route_to_their_group_and_can_make_an_invoice_alone() -> None:
    config = ContractConfig(
        "0429",
        BillingType.ARREARS,
        frozenset({BuildingBlock.INVOICE_GROUPING, BuildingBlock.FIXED_FEE}),
        invoice_groups=(InvoiceGroup(1), InvoiceGroup(2)),
        fixed_fee_services=(FixedFeeService("Valet", "4700", D("100.00")),),
    )
    adhoc = (
        AdhocLine(2, "Signage", "4790", D("80.00"), T.MISCELLANEOUS_ITEM),
        AdhocLine(5, "Lost", "4790", D("10.00"), T.MISCELLANEOUS_ITEM),
    )
    result = preview(config, APRIL, adhoc_lines=adhoc)
    assert [(i.invoice_number, [x.title for x in i.lines]) for i in result.invoices] == [
        ("0429-202504-01-01", ["Valet"]),
        ("0429-202504-02-01", ["Signage"]),
    ]
    assert result.total == D("180.00")
    assert result.warnings == (
        "ad-hoc line 'Lost' (10.00) routes to invoice group 5, which the statement does not have: not billed",
    )


def test_adhoc_line_validation() -> None:
    with pytest.raises(ValueError, match="invoice group"):
        AdhocLine(0, "x", "4790", D(1), T.MISCELLANEOUS_ITEM)
    with pytest.raises(TypeError, match="AdhocLineType"):
        AdhocLine(1, "x", "4790", D(1), "MiscellaneousItem")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        AdhocLine(1, "x", "4790", 1.0, T.MISCELLANEOUS_ITEM)  # type: ignore[arg-type]
    config = ContractConfig("0349", BillingType.ARREARS, frozenset())
    with pytest.raises(TypeError, match="AdhocLine"):
        preview(config, APRIL, adhoc_lines=({"title": "x"},))  # type: ignore[arg-type]
    assert T.CLIENT_PAID_EXPENSE.label == "ClientPaidExpense" and T.NON_BILLABLE_EXPENSE.value == 126840014
