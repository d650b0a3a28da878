"""Billable-accounts forecast calculators (domain.md §2.9 "Forecast"): T-5, T-6, T-8, T-9, §7 #11."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.codes import BuildingBlock
from billing.forecast import (
    BillableAccountRow,
    BillableExpenseBudget,
    BudgetEntry,
    BudgetRow,
    EscalatorType,
    ForecastContract,
    ForecastFacts,
    OtherExpenseForecast,
    PtebBillingType,
    PtebForecast,
    SupportBillingType,
    SupportPayrollType,
    forecast_additional_payroll,
    forecast_billable_pteb,
    forecast_expense_accounts,
    forecast_support_services,
)
from billing.period import ServicePeriod

D = Decimal
BA = frozenset({BuildingBlock.BILLABLE_ACCOUNTS})
MAY_2025 = ServicePeriod(2025, 5)


def ba(*rows: BillableAccountRow, blocks: frozenset[BuildingBlock] = BA) -> ForecastContract:
    return ForecastContract("0170", blocks, billable_accounts=rows)


def payroll(amount: str, period: ServicePeriod = MAY_2025) -> ForecastFacts:
    return ForecastFacts(billable_expenses=(BillableExpenseBudget(period, payroll_expense_budget=D(amount)),))


def pteb_total(row: BillableAccountRow, facts: ForecastFacts, **flags: bool) -> Decimal | None:
    result = forecast_billable_pteb(ba(row), facts, MAY_2025, **flags)
    return None if result is None else result.total


# --- T-5 PTEB ---------------------------------------------------------------------------------------------

PCT = PtebBillingType.PERCENTAGE


def test_t5a_percentage_of_the_payroll_expense_budget() -> None:
    result = forecast_billable_pteb(
        ba(BillableAccountRow(pteb_enabled=True, pteb_billing_type=PCT, pteb_percentage=D(15))),
        payroll("1000.00"),
        MAY_2025,
    )
    assert result is not None
    assert result.total == D("150.00")
    assert (result.base_amount, result.applied_percentage, result.escalation) == (D("1000.00"), D(15), None)


def test_t5b_percentage_escalator_from_month_3() -> None:
    row = BillableAccountRow(
        pteb_enabled=True,
        pteb_billing_type=PCT,
        pteb_percentage=D(10),
        pteb_escalator_enabled=True,
        pteb_escalator_month=3,
        pteb_escalator_type=EscalatorType.PERCENTAGE,
        pteb_escalator_value=D(5),
    )
    result = forecast_billable_pteb(ba(row), payroll("2000.00"), MAY_2025)
    assert result is not None and result.total == D("210.00")
    assert result.escalation is not None and result.escalation.before == D("200.00")
    # before the escalator month nothing is added
    february = ServicePeriod(2025, 2)
    before = forecast_billable_pteb(ba(row), payroll("2000.00", february), february)
    assert before is not None and before.total == D("200.00")


def test_decision_11_fixed_amount_escalator_is_additive_with_a_legacy_switch() -> None:
    row = BillableAccountRow(
        pteb_enabled=True,
        pteb_billing_type=PCT,
        pteb_percentage=D(10),
        pteb_escalator_enabled=True,
        pteb_escalator_month=3,
        pteb_escalator_type=EscalatorType.FIXED_AMOUNT,
        pteb_escalator_value=D("25.50"),
    )
    assert pteb_total(row, payroll("2000.00")) == D("225.50")
    assert pteb_total(row, payroll("2000.00"), legacy_ignore_fixed_amount_escalator=True) == D("200.00")


def test_t5c_actual_reads_the_budget_pteb_row_and_ignores_escalators() -> None:
    facts = ForecastFacts(budget=(BudgetEntry(BudgetRow.PTEB, MAY_2025, D("1250.75")),))
    assert pteb_total(
        BillableAccountRow(pteb_enabled=True, pteb_billing_type=PtebBillingType.ACTUAL), facts
    ) == D("1250.75")
    escalating = BillableAccountRow(
        pteb_enabled=True,
        pteb_billing_type=PtebBillingType.ACTUAL,
        pteb_escalator_enabled=True,
        pteb_escalator_month=1,
        pteb_escalator_type=EscalatorType.PERCENTAGE,
        pteb_escalator_value=D(5),
    )
    facts_1000 = ForecastFacts(budget=(BudgetEntry(BudgetRow.PTEB, MAY_2025, D("1000.00")),))
    assert pteb_total(escalating, facts_1000) == D("1000.00")


def test_t5d_no_billing_account_block_or_pteb_disabled_gives_none() -> None:
    enabled = BillableAccountRow(pteb_enabled=True, pteb_billing_type=PCT, pteb_percentage=D(15))
    assert forecast_billable_pteb(ba(enabled, blocks=frozenset()), payroll("1000"), MAY_2025) is None
    assert (
        forecast_billable_pteb(
            ba(BillableAccountRow(pteb_billing_type=PCT, pteb_percentage=D(15))), payroll("1000"), MAY_2025
        )
        is None
    )
    assert forecast_billable_pteb(ba(), payroll("1000"), MAY_2025) is None


def test_percentage_without_payroll_or_percentage_is_zero() -> None:
    assert (
        pteb_total(
            BillableAccountRow(pteb_enabled=True, pteb_billing_type=PCT, pteb_percentage=D(15)),
            ForecastFacts(),
        )
        == 0
    )
    assert pteb_total(BillableAccountRow(pteb_enabled=True, pteb_billing_type=PCT), payroll("1000")) == 0


# T-5 (e) month aggregation lives in test_billing_forecast_pnl.py.

# --- T-6 support services ---------------------------------------------------------------------------------


def support(
    row: BillableAccountRow, facts: ForecastFacts, pteb: PtebForecast | None = None
) -> Decimal | None:
    result = forecast_support_services(ba(row), facts, MAY_2025, pteb)
    return None if result is None else result.total


def test_t6_fixed() -> None:
    row = BillableAccountRow(
        support_enabled=True, support_billing_type=SupportBillingType.FIXED, support_amount=D(2500)
    )
    assert support(row, ForecastFacts()) == D("2500.00")


def test_t6_percentage_of_billable_payroll() -> None:
    row = BillableAccountRow(
        support_enabled=True,
        support_billing_type=SupportBillingType.PERCENTAGE,
        support_payroll_type=SupportPayrollType.BILLABLE,
        support_amount=D(10),
    )
    assert support(row, payroll("50000")) == D("5000.00")


def test_t6_percentage_of_total_payroll_without_pteb_and_with_it() -> None:
    row = BillableAccountRow(
        support_enabled=True,
        support_billing_type=SupportBillingType.PERCENTAGE,
        support_payroll_type=SupportPayrollType.TOTAL,
        support_amount=D(15),
    )
    assert support(row, payroll("80000")) == D("12000.00")
    pteb = PtebForecast(PtebBillingType.ACTUAL, None, None, None, D(20000), ())
    assert support(row, payroll("80000"), pteb) == D("15000.00")  # (80,000 + 20,000) × 15 %


def test_t6_zero_payroll_or_missing_percentage_gives_zero() -> None:
    pct = SupportBillingType.PERCENTAGE
    assert support(
        BillableAccountRow(support_enabled=True, support_billing_type=pct, support_amount=D(10)), payroll("0")
    ) == D("0.00")
    assert support(BillableAccountRow(support_enabled=True, support_billing_type=pct), payroll("50000")) == D(
        "0.00"
    )


def test_support_disabled_or_no_block_gives_none() -> None:
    row = BillableAccountRow(support_billing_type=SupportBillingType.FIXED, support_amount=D(2500))
    assert support(row, ForecastFacts()) is None
    enabled = BillableAccountRow(
        support_enabled=True, support_billing_type=SupportBillingType.FIXED, support_amount=D(1)
    )
    assert forecast_support_services(ba(enabled, blocks=frozenset()), ForecastFacts(), MAY_2025, None) is None


# --- T-8 expense accounts ---------------------------------------------------------------------------------


def test_t8_budget_without_forecast_row() -> None:
    facts = ForecastFacts(
        billable_expenses=(
            BillableExpenseBudget(MAY_2025, billable_expense_budget=D(1000), other_expense_budget=D(600)),
        )
    )
    result = forecast_expense_accounts(ba(), facts, MAY_2025)
    assert result is not None and result.total == D("1600.00") and result.used_other_expense_budget


def test_t8_forecast_row_replaces_the_other_expense_budget() -> None:
    facts = ForecastFacts(
        billable_expenses=(
            BillableExpenseBudget(MAY_2025, billable_expense_budget=D(1000), other_expense_budget=D(600)),
        ),
        other_expenses=(OtherExpenseForecast(MAY_2025, employee_relations=D(150)),),
    )
    result = forecast_expense_accounts(ba(), facts, MAY_2025)
    assert result is not None and result.total == D("1150.00") and not result.used_other_expense_budget
    assert len(result.accounts) == 12 and result.accounts[0] == ("bs_EmployeeRelations", D(150))


def test_all_twelve_accounts_are_summed() -> None:
    values = {
        name: D(index + 1)
        for index, name in enumerate(
            (
                "employee_relations",
                "fuel_vehicles",
                "loss_and_damage_claims",
                "office_supplies",
                "outside_services",
                "rents_parking",
                "repairs_and_maintenance",
                "repairs_and_maintenance_vehicle",
                "signage",
                "supplies_and_equipment",
                "tickets_and_printed_material",
                "uniforms",
            )
        )
    }
    facts = ForecastFacts(other_expenses=(OtherExpenseForecast(MAY_2025, **values),))
    result = forecast_expense_accounts(ba(), facts, MAY_2025)
    assert result is not None and result.total == D(78)  # 1 + … + 12, no billable-expense record ⇒ 0


# T-8 "added to existing BillableAccounts 500 → 2,100.00" lives in test_billing_forecast_pnl.py.

# --- T-9 additional payroll -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((BillableAccountRow(additional_payroll_amount=D("5000.00")),), D("5000.00")),
        ((BillableAccountRow(additional_payroll_amount=D("5000.00"), active=False),), D("0.00")),
        ((BillableAccountRow(additional_payroll_amount=D("-2500.00")),), D("-2500.00")),
        ((BillableAccountRow(additional_payroll_amount=D("1234.567")),), D("1234.567")),
        (
            (
                BillableAccountRow(additional_payroll_amount=D(100)),
                BillableAccountRow(additional_payroll_amount=D(900), active=False),
                BillableAccountRow(additional_payroll_amount=D(50)),
            ),
            D(150),
        ),
    ],
)
def test_t9_additional_payroll(rows: tuple[BillableAccountRow, ...], expected: Decimal) -> None:
    result = forecast_additional_payroll(ba(*rows))
    assert result is not None and result.total == expected


def test_t9_kept_unrounded() -> None:
    result = forecast_additional_payroll(ba(BillableAccountRow(additional_payroll_amount=D("1234.567"))))
    assert result is not None and str(result.total) == "1234.567"


def test_additional_payroll_without_block_gives_none() -> None:
    assert (
        forecast_additional_payroll(
            ba(BillableAccountRow(additional_payroll_amount=D(1)), blocks=frozenset())
        )
        is None
    )
