"""Engine mechanics independent of one block: line order (§2.11), not-computed blocks, invariants (§2.0)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import billing.engine
from billing import (
    BLOCKS,
    LINE_ORDER,
    BellService,
    BillingType,
    BuildingBlock,
    ContractConfig,
    FixedFeeService,
    InvoiceGroup,
    ManagementAgreement,
    PeriodFacts,
    RateSelection,
    ServicePeriod,
    preview,
)

B = BuildingBlock


def test_line_order_follows_domain_md_2_11() -> None:
    assert LINE_ORDER == (
        B.FIXED_FEE,
        B.PER_OCCUPIED_ROOM,
        B.BELL_SERVICE,
        B.DEPOSITED_REVENUE,
        B.BILLABLE_ACCOUNTS,
        B.MANAGEMENT_AGREEMENT,
        B.MID_MONTH_ADVANCE,
        B.PER_LABOR_HOUR,
        B.REVENUE_SHARE,
    )
    assert set(LINE_ORDER) == set(BuildingBlock) - {B.INVOICE_GROUPING}


def test_every_block_is_implemented() -> None:
    assert set(BLOCKS) == set(LINE_ORDER)


def test_enabled_blocks_not_implemented_are_listed_in_line_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # The mechanism stays for a block that a future engine version drops or adds unimplemented.
    partial = {block: spec for block, spec in BLOCKS.items() if block is B.FIXED_FEE}
    monkeypatch.setattr(billing.engine, "BLOCKS", partial)
    config = ContractConfig(
        site_number="0429",
        billing_type=BillingType.ARREARS,
        building_blocks=frozenset(
            {B.REVENUE_SHARE, B.PER_LABOR_HOUR, B.INVOICE_GROUPING, B.FIXED_FEE, B.MANAGEMENT_AGREEMENT}
        ),
        invoice_groups=(InvoiceGroup(1, "Rev Share"),),
        fixed_fee_services=(FixedFeeService("Valet", "4700", Decimal("10.00")),),
        management_agreement=ManagementAgreement(invoice_group=1, fixed_fee_amount=Decimal(5)),
    )
    result = preview(config, ServicePeriod(2025, 4), PeriodFacts())
    assert result.not_computed == (B.MANAGEMENT_AGREEMENT, B.PER_LABOR_HOUR, B.REVENUE_SHARE)
    # The implemented part is still billed, and no profit-share pass runs for an uncomputed agreement.
    assert result.total == Decimal("10.00")
    assert result.profit_share is None


def test_every_block_enabled_is_computed() -> None:
    config = ContractConfig("0170", BillingType.ARREARS, frozenset(BuildingBlock))
    result = preview(config, ServicePeriod(2025, 4))
    assert result.not_computed == ()
    assert result.invoices == ()


def test_decision_7_21_at_most_one_row_of_bell_advance_deposits_accounts_and_agreement() -> None:
    # The flows read only the first row of these; the configuration holds at most one, and a tuple is refused.
    fields = {
        "bell_service",
        "mid_month_advance",
        "deposited_revenue",
        "billable_account",
        "management_agreement",
    }
    config = ContractConfig("0429", BillingType.ARREARS, frozenset())
    assert {name: getattr(config, name) for name in fields} == dict.fromkeys(fields)
    with pytest.raises(TypeError, match="BellService configuration expected"):
        ContractConfig("0429", BillingType.ARREARS, frozenset(), bell_service=(BellService(1),))  # type: ignore[arg-type]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"duplicates \[2\]"):
        ContractConfig(
            "0429",
            BillingType.ARREARS,
            frozenset(),
            invoice_groups=(InvoiceGroup(2), InvoiceGroup(1), InvoiceGroup(2)),
        )
    with pytest.raises(ValueError, match="site number"):
        ContractConfig("A-12", BillingType.ARREARS, frozenset())
    with pytest.raises(ValueError, match="increment month"):
        ContractConfig("0429", BillingType.ARREARS, frozenset(), increment_month=13)
    with pytest.raises(ValueError, match="invoice group number"):
        InvoiceGroup(0)
    with pytest.raises(ValueError, match="invoice group of fixed fee"):
        FixedFeeService("Valet", "4700", Decimal(1), invoice_group=0)


# --- property: invoices are consistent with their lines and with the configured rows ---------------------

DAYS = st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31))
FEES = st.decimals(min_value=-5000, max_value=50000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def rows(draw: st.DrawFn) -> FixedFeeService:
    start, end = draw(st.none() | DAYS), draw(st.none() | DAYS)
    return FixedFeeService(
        display_name=draw(st.sampled_from(["Valet", "Shuttle", "Management Fee"])),
        code=draw(st.sampled_from(["4700", "4705", "4715"])),
        fee=draw(st.sampled_from([Decimal(0), Decimal("0.00")]) | FEES),
        start_date=start,
        end_date=end,
        invoice_group=draw(st.none() | st.integers(1, 3)),
    )


@st.composite
def configs(draw: st.DrawFn) -> ContractConfig:
    numbers = draw(st.sets(st.integers(1, 3), max_size=3))
    blocks = {B.FIXED_FEE} | draw(st.sets(st.sampled_from([B.INVOICE_GROUPING, B.REVENUE_SHARE])))
    return ContractConfig(
        site_number=draw(st.sampled_from(["170", "0349", "8725"])),
        billing_type=draw(st.sampled_from(BillingType)),
        building_blocks=frozenset(blocks),
        invoice_groups=tuple(InvoiceGroup(number, f"group {number}") for number in sorted(numbers)),
        fixed_fee_services=tuple(draw(st.lists(rows(), max_size=8))),
    )


@given(
    configs(),
    st.builds(ServicePeriod, st.integers(2024, 2026), st.integers(1, 12)),
    st.integers(1, 4),
    st.none() | DAYS,
)
def test_invoices_match_their_lines_and_the_active_rows(
    config: ContractConfig, period: ServicePeriod, version: int, now: datetime.date | None
) -> None:
    selection = RateSelection.NATURAL_GENERATION_DATE if now is None else RateSelection.LEGACY_NOW
    result = preview(config, period, version=version, rate_selection=selection, now=now)

    grouping = B.INVOICE_GROUPING in config.building_blocks and config.invoice_groups
    groups = sorted(group.number for group in config.invoice_groups) if grouping else [1]
    day = now or period.natural_generation_date(config.billing_type)
    expected = {
        number: [
            (row.display_name, row.fee)
            for row in config.fixed_fee_services
            if (row.invoice_group or 1) == number and row.is_active_on(day) and row.fee != 0
        ]
        for number in groups
    }
    assert result.rate_selection_date == day
    actual = {
        invoice.group_number: [(x.title, x.amount) for x in invoice.lines] for invoice in result.invoices
    }
    assert actual == {number: lines for number, lines in expected.items() if lines}
    for invoice in result.invoices:
        assert invoice.lines
        assert all(line.amount != 0 for line in invoice.lines)
        assert invoice.amount == sum(line.amount for line in invoice.lines)
        assert invoice.amount.as_tuple().exponent == -2
        assert invoice.invoice_date == period.invoice_date(config.billing_type)
        assert invoice.invoice_number.endswith(f"-{invoice.group_number:02d}-{version:02d}")
    assert [invoice.group_number for invoice in result.invoices] == sorted(
        {invoice.group_number for invoice in result.invoices}
    )
    assert result.total == sum(invoice.amount for invoice in result.invoices)
    assert result.not_computed == ()
