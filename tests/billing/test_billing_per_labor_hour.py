"""Per Labor Hour (domain.md §2.2) through the engine: golden F-2 and F-3, per-row rounding, job selection."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from billing import (
    BillingType,
    BuildingBlock,
    ContractConfig,
    InvoiceGroup,
    LaborHourJob,
    PeriodFacts,
    ServicePeriod,
    TimesheetRow,
    preview,
    round2,
)
from billing.blocks.per_labor_hour import row_hours

D = Decimal
day = datetime.date
APRIL = ServicePeriod(2025, 4)
PLH = frozenset({BuildingBlock.PER_LABOR_HOUR})

# Contract 0338, job GSA 25.03 / 37.55 (Processed_Files/0338_*.json, §5 F-2).
GSA = LaborHourJob("GSA", "GSA", D("25.03"), D("37.55"), name="Valet Services", invoice_group=1)
F2_ROWS = (
    TimesheetRow(day(2025, 4, 3), "GSA", regular=4800, regular_next_day=15, overtime=95),
    TimesheetRow(day(2025, 4, 17), "GSA", regular=4805, overtime=155),
)


def contract_0338(*jobs: LaborHourJob) -> ContractConfig:
    return ContractConfig("0338", BillingType.ARREARS, PLH, labor_hour_jobs=jobs or (GSA,))


def test_golden_f2_overtime_and_per_row_rounding() -> None:
    result = preview(contract_0338(), APRIL, PeriodFacts(timesheets=F2_ROWS))

    [invoice] = result.invoices
    assert invoice.invoice_number == "0338-202504-01-01"
    assert [(line.title, line.description, str(line.amount)) for line in invoice.lines] == [
        ("GSA", "Regular Hours Worked: 160.33", "4013.06"),
        ("GSA", "Overtime Hours Worked: 4.16", "156.21"),
    ]
    assert str(invoice.amount) == "4169.27"
    assert result.not_computed == ()
    regular = invoice.lines[0].explanation
    for fragment in ("§2.2", "round2(25.03 × 160.33) = 4013.06", "RH = Σ round2(regular min / 60) = 160.33"):
        assert fragment in regular
    assert "OH = Σ round2((overtime + holiday + double-time min) / 60) = 4.16" in regular
    assert "selected on 2025-05-01" in regular


def test_f2_per_row_rounding_differs_from_pricing_the_total_minutes() -> None:
    # Pricing the month's total minutes (25.03 × 9,620/60) would bill 4,013.14 (§5 F-2): the engine must not.
    total_minutes = sum(row.regular + row.regular_next_day for row in F2_ROWS)
    assert round2(D("25.03") * total_minutes / 60) == D("4013.14")
    assert [row_hours(row) for row in F2_ROWS] == [(D("80.25"), D("1.58")), (D("80.08"), D("2.58"))]
    [regular, _] = preview(contract_0338(), APRIL, PeriodFacts(timesheets=F2_ROWS)).invoices[0].lines
    assert regular.amount == D("4013.06")


def test_hours_are_rounded_per_row_not_on_the_month_total() -> None:
    # Two rows of 4,805 min: per row 80.08 + 80.08 = 160.16 h; the month total would round to 160.17 h.
    rows = tuple(TimesheetRow(day(2025, 4, d), "GSA", regular=4805) for d in (1, 2))
    assert round2(D(9610) / 60) == D("160.17")
    [line] = preview(contract_0338(), APRIL, PeriodFacts(timesheets=rows)).invoices[0].lines
    assert line.description == "Regular Hours Worked: 160.16"
    assert line.amount == round2(D("25.03") * D("160.16")) == D("4008.80")


# Contract 0429 (§5 F-3, §2.11): group 1 "Rev Share", group 2 "PLH" with BELL 24.84/24.84.
BELL = LaborHourJob("Bell", "BELL", D("24.84"), D("24.84"), name="Bell", invoice_group=2)
ROOM_STEWARD = LaborHourJob(
    "Room Steward", "ROOMSTEW", D("26.00"), D("32.50"), name="Concierge", invoice_group=2
)
CONTRACT_0429_PLH = ContractConfig(
    "0429",
    BillingType.ARREARS,
    PLH | {BuildingBlock.INVOICE_GROUPING},
    invoice_groups=(InvoiceGroup(1, "Rev Share"), InvoiceGroup(2, "PLH")),
    labor_hour_jobs=(BELL, ROOM_STEWARD),
)


def test_golden_f3_equal_rates_make_one_total_hours_line_on_group_2() -> None:
    facts = PeriodFacts(
        timesheets=(
            TimesheetRow(day(2025, 4, 1), "BELL", regular=3000),
            TimesheetRow(day(2025, 4, 20), "BELL", regular=3000, holiday=480),
        )
    )
    result = preview(CONTRACT_0429_PLH, APRIL, facts)

    [invoice] = result.invoices  # group 1 has no line: no invoice
    assert (invoice.group_number, invoice.invoice_number, invoice.title) == (2, "0429-202504-02-01", "PLH")
    [line] = invoice.lines
    assert (line.title, line.description, str(line.amount)) == ("Bell", "Total Hours Worked: 108", "2682.72")
    assert "round2(24.84 × 100.00) = 2484.00 + round2(24.84 × 8.00) = 198.72" in line.explanation
    assert invoice.amount == D("2682.72")


def test_decision_7_4_holiday_and_double_time_are_billed_at_the_overtime_rate() -> None:
    row = TimesheetRow(
        day(2025, 4, 2),
        "GSA",
        regular=60,
        holiday=30,
        holiday_next_day=30,
        double_overtime=60,
        double_overtime_next_day=0,
        holiday_overtime=60,
        holiday_double_overtime=30,
        holiday_double_overtime_next_day=30,
        overtime_next_day=60,
    )
    assert row_hours(row) == (D("1.00"), D("5.00"))
    lines = preview(contract_0338(), APRIL, PeriodFacts(timesheets=(row,))).invoices[0].lines
    assert [line.amount for line in lines] == [D("25.03"), round2(D("37.55") * 5)]


def test_rows_of_other_months_and_jobs_are_ignored() -> None:
    facts = PeriodFacts(
        timesheets=(
            TimesheetRow(day(2025, 3, 31), "GSA", regular=600),
            TimesheetRow(day(2025, 4, 1), "GSA", regular=60),
            TimesheetRow(day(2025, 4, 30), "GSA", regular=60),
            TimesheetRow(day(2025, 5, 1), "GSA", regular=600),
            TimesheetRow(day(2025, 4, 15), "GSC", regular=600),
        )
    )
    [line] = preview(contract_0338(), APRIL, facts).invoices[0].lines
    assert (line.description, line.amount) == ("Regular Hours Worked: 2", D("50.06"))


def test_no_overtime_hours_no_overtime_line_and_unset_overtime_rate_bills_zero() -> None:
    job = dataclasses.replace(GSA, overtime_rate=None)
    facts = PeriodFacts(timesheets=(TimesheetRow(day(2025, 4, 2), "GSA", regular=120, overtime=60),))
    lines = preview(contract_0338(job), APRIL, facts).invoices[0].lines
    assert [(line.description, line.amount) for line in lines] == [("Regular Hours Worked: 2", D("50.06"))]
    only_regular = PeriodFacts(timesheets=(TimesheetRow(day(2025, 4, 2), "GSA", regular=120),))
    assert len(preview(contract_0338(), APRIL, only_regular).invoices[0].lines) == 1


def test_decision_7_15_jobs_are_selected_on_the_rate_selection_date() -> None:
    # Escalation rows as IncrementRatesandFees stores them (§2.14): the Arrears increment month July is
    # billed at the new rate because the natural generation date is 2025-08-01.
    old = dataclasses.replace(GSA, end_date=day(2025, 7, 31))
    new = dataclasses.replace(GSA, rate=D("25.7809"), overtime_rate=D("38.6765"), start_date=day(2025, 8, 1))
    config = contract_0338(old, new)
    rows = (
        TimesheetRow(day(2025, 6, 2), "GSA", regular=600),
        TimesheetRow(day(2025, 7, 2), "GSA", regular=600),
    )
    june = preview(config, ServicePeriod(2025, 6), PeriodFacts(timesheets=rows)).invoices[0].lines
    july = preview(config, ServicePeriod(2025, 7), PeriodFacts(timesheets=rows)).invoices[0].lines
    assert [line.amount for line in june] == [D("250.30")]
    assert [line.amount for line in july] == [D("257.81")]


def test_group_gate_defaults_to_group_1() -> None:
    job = dataclasses.replace(GSA, invoice_group=None)
    facts = PeriodFacts(timesheets=F2_ROWS)
    assert [inv.group_number for inv in preview(contract_0338(job), APRIL, facts).invoices] == [1]
    grouped = dataclasses.replace(
        CONTRACT_0429_PLH, labor_hour_jobs=(dataclasses.replace(BELL, invoice_group=None),)
    )
    rows = PeriodFacts(timesheets=(TimesheetRow(day(2025, 4, 1), "BELL", regular=60),))
    assert [inv.invoice_number for inv in preview(grouped, APRIL, rows).invoices] == ["0429-202504-01-01"]


def test_diagnosis() -> None:
    empty = ContractConfig("0338", BillingType.ARREARS, PLH)
    assert (
        preview(empty, APRIL).warnings[0]
        == "Per Labor Hour is enabled but the contract has no labor-hour job rows"
    )
    ended = contract_0338(dataclasses.replace(GSA, end_date=day(2025, 1, 1), code="4710"))
    assert "none of its 1 job rows is active on 2025-05-01" in preview(ended, APRIL).warnings[0]
    orphan = contract_0338(dataclasses.replace(GSA, invoice_group=3, code="4710"))
    assert "routes to invoice group 3" in preview(orphan, APRIL).warnings[0]
    assert any("has no GL code" in warning for warning in preview(contract_0338(), APRIL).warnings)


def test_job_validation() -> None:
    with pytest.raises(TypeError, match="float"):
        LaborHourJob("GSA", "GSA", 25.03)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invoice group of labor-hour job"):
        LaborHourJob("GSA", "GSA", D(1), invoice_group=0)
    with pytest.raises(TypeError, match="tuple"):
        ContractConfig("0338", BillingType.ARREARS, PLH, labor_hour_jobs=[GSA])  # type: ignore[arg-type]
