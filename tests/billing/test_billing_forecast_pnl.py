"""The forecast P&L pipeline, C# ``PnlService`` (domain.md §2.12, §2.13, T-4..T-9, §7 #1, #12, #13, #14)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing.codes import BuildingBlock
from billing.forecast import (
    INTERNAL_CALCULATOR_ORDER,
    BillableAccountRow,
    BillableExpenseBudget,
    BudgetEntry,
    BudgetRow,
    FixedFeeRow,
    ForecastContract,
    ForecastFacts,
    ForecastOptions,
    LaborHourJobRow,
    ParkingRate,
    ParkingRateDetail,
    PtebBillingType,
    RateCategory,
    RevenueShareStructure,
    SiteForecastInput,
    SiteStatisticDetail,
    StatisticType,
    SupportBillingType,
    SupportPayrollType,
    forecast_month,
    forecast_site_month,
    forecast_year,
    parse_tiers,
)
from billing.period import ServicePeriod

D = Decimal
B = BuildingBlock
MAY_2025, JULY_2025 = ServicePeriod(2025, 5), ServicePeriod(2025, 7)
LEGACY_13 = ForecastOptions(legacy_site_total_without_plh=True)
NO_FACTS = ForecastFacts()


def site(
    number: str, blocks: set[BuildingBlock], facts: ForecastFacts = NO_FACTS, **terms: object
) -> SiteForecastInput:
    return SiteForecastInput(ForecastContract(number, frozenset(blocks), **terms), facts)  # type: ignore[arg-type]


def budget(row: BudgetRow, period: ServicePeriod, value: str) -> BudgetEntry:
    return BudgetEntry(row, period, D(value))


# --- T-4 and decision #13 ---------------------------------------------------------------------------------

T4 = site(
    "0170",
    {B.PER_LABOR_HOUR},
    ForecastFacts(budget=(budget(BudgetRow.PER_LABOR_HOUR, JULY_2025, "8"),)),
    labor_jobs=(LaborHourJobRow("J03", D("15.00"), datetime.date(2020, 1, 1)),),
)


def test_t4_site_total_includes_plh_and_the_defect_is_flagged() -> None:
    result = forecast_site_month(T4, JULY_2025)
    assert result.per_labor_hour is not None and result.per_labor_hour.total == D("120.00")
    assert result.internal_revenue_value == D("120.00") and result.internal_is_forecast
    assert any("§7 #24" in warning for warning in result.warnings)


def test_decision_13_legacy_site_total_omits_plh_but_the_month_total_keeps_it() -> None:
    fee_site = site("0200", {B.FIXED_FEE}, fixed_fees=(FixedFeeRow(D(1000), datetime.date(2020, 1, 1)),))
    fixed = forecast_month([T4, fee_site], JULY_2025)
    legacy = forecast_month([T4, fee_site], JULY_2025, LEGACY_13)
    assert [s.internal_revenue_value for s in fixed.sites] == [D("120.00"), D(1000)]
    assert [s.internal_revenue_value for s in legacy.sites] == [D(0), D(1000)]
    assert fixed.internal_revenue == legacy.internal_revenue == D("1120.00")
    assert fixed.per_labor_hour == D("120.00")


def test_legacy_month_total_is_the_central_aggregation_without_budget_fallback_sites() -> None:
    ma_only = site(
        "0300",
        {B.MANAGEMENT_AGREEMENT},
        ForecastFacts(budget=(budget(BudgetRow.INTERNAL_REVENUE, JULY_2025, "700"),)),
    )
    fixed = forecast_month([T4, ma_only], JULY_2025)
    legacy = forecast_month([T4, ma_only], JULY_2025, LEGACY_13)
    assert fixed.internal_revenue == D("820.00")
    assert legacy.internal_revenue == D("120.00")


# --- billable accounts through the pipeline (T-5 e, T-6, T-8, T-9) ---------------------------------------


def test_t9_billable_accounts_add_to_fixed_fee_and_rooms() -> None:
    facts = ForecastFacts(budget=(budget(BudgetRow.OCCUPIED_ROOMS, MAY_2025, "1000"),))
    result = forecast_site_month(
        site(
            "0170",
            {B.FIXED_FEE, B.PER_OCCUPIED_ROOM, B.BILLABLE_ACCOUNTS},
            facts,
            fixed_fees=(FixedFeeRow(D("1000.00"), datetime.date(2025, 1, 1)),),
            occupied_room_rate=D(2),
            billable_accounts=(BillableAccountRow(additional_payroll_amount=D("3000.00")),),
        ),
        MAY_2025,
    )
    assert result.billable_accounts is not None and result.billable_accounts.total == D("3000.00")
    assert result.internal_revenue_value == D("6000.00")


def test_t6_fixed_support_becomes_billable_accounts_and_internal_total() -> None:
    row = BillableAccountRow(
        support_enabled=True, support_billing_type=SupportBillingType.FIXED, support_amount=D(2500)
    )
    result = forecast_site_month(site("0170", {B.BILLABLE_ACCOUNTS}, billable_accounts=(row,)), MAY_2025)
    assert result.billable_accounts is not None and result.billable_accounts.total == D("2500.00")
    assert result.internal_revenue_value == D("2500.00")


def test_t6_fixed_support_added_to_an_existing_billable_accounts_total() -> None:
    row = BillableAccountRow(
        additional_payroll_amount=D(5000),
        support_enabled=True,
        support_billing_type=SupportBillingType.FIXED,
        support_amount=D(1000),
    )
    result = forecast_site_month(site("0170", {B.BILLABLE_ACCOUNTS}, billable_accounts=(row,)), MAY_2025)
    assert result.billable_accounts is not None and result.billable_accounts.total == D("6000.00")


def test_t8_expense_accounts_added_to_an_existing_billable_accounts_total() -> None:
    facts = ForecastFacts(
        billable_expenses=(
            BillableExpenseBudget(MAY_2025, billable_expense_budget=D(1000), other_expense_budget=D(600)),
        )
    )
    result = forecast_site_month(
        site(
            "0170",
            {B.BILLABLE_ACCOUNTS},
            facts,
            billable_accounts=(BillableAccountRow(additional_payroll_amount=D(500)),),
        ),
        MAY_2025,
    )
    assert result.billable_accounts is not None and result.billable_accounts.total == D("2100.00")


def pteb_site(number: str, value: str) -> SiteForecastInput:
    return site(
        number,
        {B.BILLABLE_ACCOUNTS},
        ForecastFacts(budget=(budget(BudgetRow.PTEB, MAY_2025, value),)),
        billable_accounts=(BillableAccountRow(pteb_enabled=True, pteb_billing_type=PtebBillingType.ACTUAL),),
    )


def test_t5e_month_aggregation_of_pteb() -> None:
    month = forecast_month(
        [pteb_site("0001", "500"), pteb_site("0002", "750"), pteb_site("0003", "250")], MAY_2025
    )
    assert month.pteb == D("1500.00")
    assert month.billable_accounts == D("1500.00")


def support_site(number: str, amount: str) -> SiteForecastInput:
    row = BillableAccountRow(
        support_enabled=True, support_billing_type=SupportBillingType.FIXED, support_amount=D(amount)
    )
    return site(number, {B.BILLABLE_ACCOUNTS}, billable_accounts=(row,))


def test_t6_month_aggregation_of_support_services() -> None:
    month = forecast_month(
        [support_site("0001", "1500"), support_site("0002", "2000"), support_site("0003", "750")], MAY_2025
    )
    assert month.support_services == D("4250.00")
    assert month.internal_revenue == D("4250.00")


def test_support_total_reads_the_pteb_just_computed_in_registration_order() -> None:
    row = BillableAccountRow(
        pteb_enabled=True,
        pteb_billing_type=PtebBillingType.PERCENTAGE,
        pteb_percentage=D(15),
        support_enabled=True,
        support_billing_type=SupportBillingType.PERCENTAGE,
        support_payroll_type=SupportPayrollType.TOTAL,
        support_amount=D(15),
    )
    facts = ForecastFacts(
        billable_expenses=(BillableExpenseBudget(MAY_2025, payroll_expense_budget=D(80000)),)
    )
    result = forecast_site_month(
        site("0170", {B.BILLABLE_ACCOUNTS}, facts, billable_accounts=(row,)), MAY_2025
    )
    accounts = result.billable_accounts
    assert accounts is not None and accounts.pteb is not None and accounts.support_services is not None
    assert accounts.pteb.total == D("12000.00")
    assert accounts.support_services.total == D("13800.00")  # (80,000 + 12,000) × 15 %
    assert [name for name, _ in result.steps] == list(INTERNAL_CALCULATOR_ORDER)
    assert INTERNAL_CALCULATOR_ORDER == (
        "FixedFee",
        "PerOccupiedRoom",
        "PerLaborHour",
        "RevenueShare",
        "AdditionalPayroll",
        "BillablePteb",
        "SupportServices",
        "ExpenseAccount",
    )
    assert dict(result.steps)["FixedFee"] is None and dict(result.steps)["SupportServices"] == D("13800.00")


# --- external revenue, revenue share and budget fallbacks ------------------------------------------------

STATS = ForecastFacts(
    statistics=(SiteStatisticDetail(datetime.date(2025, 5, 3), StatisticType.FORECAST, valet_daily=D(100)),),
    parking_rates=(ParkingRate(2025, (ParkingRateDetail(5, RateCategory.VALET_DAILY, D("600.00")),)),),
)
F5 = (
    RevenueShareStructure(
        parse_tiers('[{"Amount": 45000, "SharePercentage": 0}, {"Amount": 0, "SharePercentage": 25}]')
    ),
)


def test_revenue_share_reads_the_calculated_external_revenue_with_the_tier_decision() -> None:
    rs_site = site("0242", {B.REVENUE_SHARE}, STATS, revenue_share=F5)
    fixed = forecast_site_month(rs_site, MAY_2025)
    assert fixed.external_revenue_value == D("60000.00") and fixed.external_is_forecast
    assert fixed.internal_revenue_value == D("11250.00")
    legacy = forecast_site_month(rs_site, MAY_2025, ForecastOptions(legacy_unsorted_next_tier=True))
    assert legacy.internal_revenue_value == D("0.00")


def test_external_budget_fallback_is_not_fed_to_revenue_share() -> None:
    facts = ForecastFacts(budget=(budget(BudgetRow.EXTERNAL_REVENUE, MAY_2025, "60000"),))
    result = forecast_site_month(site("0242", {B.REVENUE_SHARE}, facts, revenue_share=F5), MAY_2025)
    assert result.external_revenue is None and not result.external_is_forecast
    assert result.external_revenue_value == D(60000)
    assert result.revenue_share is not None and result.revenue_share.forecasted_external_revenue == 0
    assert result.internal_revenue_value == 0 and result.internal_is_forecast


def test_statistic_type_switch_reaches_external_revenue() -> None:
    stats = (
        SiteStatisticDetail(datetime.date(2025, 5, 3), StatisticType.FORECAST, valet_daily=D(1)),
        SiteStatisticDetail(datetime.date(2025, 5, 3), StatisticType.BUDGET, valet_daily=D(2)),
    )
    s = site("0242", set(), ForecastFacts(statistics=stats, parking_rates=STATS.parking_rates))
    assert forecast_site_month(s, MAY_2025).external_revenue_value == D(600)
    legacy = forecast_site_month(s, MAY_2025, ForecastOptions(legacy_sum_all_statistic_types=True))
    assert legacy.external_revenue_value == D(1800)


def test_management_agreement_only_falls_back_to_the_budget() -> None:
    facts = ForecastFacts(
        budget=(
            budget(BudgetRow.INTERNAL_REVENUE, MAY_2025, "4321.00"),
            budget(BudgetRow.INTERNAL_REVENUE, JULY_2025, "1"),
        )
    )
    result = forecast_site_month(site("0300", {B.MANAGEMENT_AGREEMENT}, facts), MAY_2025)
    assert result.internal_revenue_value == D("4321.00") and not result.internal_is_forecast
    assert all(value is None for _, value in result.steps)
    assert any("§7 #14" in warning for warning in result.warnings)
    empty = forecast_site_month(site("0301", set()), MAY_2025)
    assert empty.internal_revenue_value == 0 and not empty.internal_is_forecast


def test_month_sums_sites_including_budget_values() -> None:
    ma_only = site(
        "0300",
        {B.MANAGEMENT_AGREEMENT},
        ForecastFacts(budget=(budget(BudgetRow.INTERNAL_REVENUE, MAY_2025, "4321.00"),)),
    )
    rs_site = site("0242", {B.REVENUE_SHARE}, STATS, revenue_share=F5)
    month = forecast_month([rs_site, ma_only], MAY_2025)
    assert month.internal_revenue == D("15571.00")
    assert month.revenue_share == D("11250.00")
    assert month.external_revenue == D("60000.00")
    assert [s.site_number for s in month.sites] == ["0242", "0300"]


def test_year_runs_twelve_months_with_the_c1_escalation() -> None:
    c1 = site(
        "0338",
        {B.FIXED_FEE},
        increment_month=7,
        increment_amount=D(3),
        fixed_fees=(FixedFeeRow(D("1000.00"), datetime.date(2023, 1, 1)),),
    )
    year = forecast_year([c1], 2025)
    assert [m.period for m in year.months] == [ServicePeriod(2025, m) for m in range(1, 13)]
    assert year.months[5].internal_revenue == D("1060.90")
    assert year.months[6].internal_revenue == D("1092.727")
    explanation = "\n".join(year.months[6].sites[0].explanation)
    assert "FixedFee: 1,092.727" in explanation
