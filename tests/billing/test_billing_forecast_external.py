"""External-revenue and occupied-room forecasts and the statistic-type decision (domain.md §2.3, §2.12, T-7, §7 #12)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing.codes import BuildingBlock
from billing.forecast import (
    BudgetEntry,
    BudgetRow,
    ForecastContract,
    ForecastFacts,
    ParkingRate,
    ParkingRateDetail,
    RateCategory,
    SiteStatisticDetail,
    StatisticType,
    forecast_external_revenue,
    forecast_per_occupied_room,
    select_statistics,
)
from billing.period import ServicePeriod

D = Decimal
MAY_2025 = ServicePeriod(2025, 5)
FORECAST = StatisticType.FORECAST
R = RateCategory
MAY_RATES = ParkingRate(
    2025,
    (
        ParkingRateDetail(5, R.VALET_DAILY, D(5)),
        ParkingRateDetail(5, R.VALET_MONTHLY, D(100)),
        ParkingRateDetail(5, R.SELF_DAILY, D(2)),
        ParkingRateDetail(5, R.SELF_MONTHLY, D(50)),
        ParkingRateDetail(4, R.VALET_OVERNIGHT, D(999)),  # April: not read in May
    ),
)


def day(d: int, month: int = 5, kind: StatisticType = FORECAST, **counts: Decimal) -> SiteStatisticDetail:
    return SiteStatisticDetail(datetime.date(2025, month, d), kind, **counts)


def test_t7_all_components_present() -> None:
    stats = day(
        12,
        valet_daily=D(10),
        valet_monthly=D(2),
        valet_overnight=D(3),
        valet_aggregator=D(4),
        self_daily=D(20),
        self_monthly=D(5),
        self_overnight=D(6),
        self_aggregator=D(7),
    )
    result = forecast_external_revenue(
        ForecastFacts(statistics=(stats,), parking_rates=(MAY_RATES,)), MAY_2025
    )
    assert result is not None
    assert [c.value for c in result.components] == [D(v) for v in (50, 200, 0, 0, 40, 250, 0, 0)]
    assert [c.category for c in result.components][:2] == [R.VALET_DAILY, R.VALET_MONTHLY]
    assert result.components[2].rate is None  # valet overnight has no May rate
    assert result.total == D("540.00")


def test_t7_multi_day_sums_the_counts() -> None:
    stats = (
        day(1, valet_daily=D(10), self_monthly=D(2)),
        day(2, valet_daily=D(15), self_monthly=D(3)),
        day(3, valet_daily=D(5), self_monthly=D(1)),
    )
    rates = ParkingRate(
        2025, (ParkingRateDetail(5, R.VALET_DAILY, D(5)), ParkingRateDetail(5, R.SELF_MONTHLY, D(50)))
    )
    result = forecast_external_revenue(ForecastFacts(statistics=stats, parking_rates=(rates,)), MAY_2025)
    assert result is not None
    assert result.components[0].statistic == D(30)
    assert result.total == D("450.00")


def test_t7_statistics_only_in_april_give_no_breakdown() -> None:
    facts = ForecastFacts(statistics=(day(30, month=4, valet_daily=D(10)),), parking_rates=(MAY_RATES,))
    assert forecast_external_revenue(facts, MAY_2025) is None


MIXED = (
    day(1, kind=StatisticType.BUDGET, valet_daily=D(100), occupied_rooms=D(1000)),
    day(1, kind=StatisticType.FORECAST, valet_daily=D(10), occupied_rooms=D(300)),
    day(1, kind=StatisticType.ACTUAL, valet_daily=D(7), occupied_rooms=D(200)),
)


def test_decision_12_forecast_rows_only_and_legacy_sum_of_all_types() -> None:
    facts = ForecastFacts(statistics=MIXED, parking_rates=(MAY_RATES,))
    fixed = forecast_external_revenue(facts, MAY_2025)
    legacy = forecast_external_revenue(facts, MAY_2025, legacy_sum_all_statistic_types=True)
    assert fixed is not None and legacy is not None
    assert fixed.total == D(50) and fixed.statistics_basis == "Forecast"  # 10 × 5
    assert legacy.total == D(585)  # (100 + 10 + 7) × 5


def test_decision_12_actual_rows_when_the_month_has_no_forecast_row() -> None:
    no_forecast = tuple(d for d in MIXED if d.type is not FORECAST)
    selection = select_statistics(no_forecast, MAY_2025)
    assert selection.basis == "Actual" and [d.type for d in selection.details] == [StatisticType.ACTUAL]
    only_budget = tuple(d for d in MIXED if d.type is StatisticType.BUDGET)
    assert select_statistics(only_budget, MAY_2025).details == ()
    assert forecast_external_revenue(ForecastFacts(statistics=only_budget), MAY_2025) is None
    assert (
        forecast_external_revenue(
            ForecastFacts(statistics=only_budget), MAY_2025, legacy_sum_all_statistic_types=True
        )
        is not None
    )


POR = ForecastContract("1078", frozenset({BuildingBlock.PER_OCCUPIED_ROOM}), occupied_room_rate=D("1.17"))


def test_occupied_rooms_from_forecast_statistics_and_legacy_sum() -> None:
    facts = ForecastFacts(statistics=MIXED)
    fixed = forecast_per_occupied_room(POR, facts, MAY_2025)
    legacy = forecast_per_occupied_room(POR, facts, MAY_2025, legacy_sum_all_statistic_types=True)
    assert fixed is not None and legacy is not None
    assert (fixed.forecasted_rooms, fixed.budget_rooms, fixed.total) == (D(300), None, D("351.00"))
    assert legacy.total == D("1755.00")  # 1,500 rooms × 1.17


def test_occupied_rooms_fall_back_to_budget_rooms() -> None:
    facts = ForecastFacts(budget=(BudgetEntry(BudgetRow.OCCUPIED_ROOMS, MAY_2025, D(9850)),))
    result = forecast_per_occupied_room(POR, facts, MAY_2025)
    assert result is not None
    assert (result.forecasted_rooms, result.budget_rooms, result.total) == (None, D(9850), D("11524.50"))
    assert (
        forecast_per_occupied_room(
            ForecastContract("1078", frozenset(), occupied_room_rate=D(1)), facts, MAY_2025
        )
        is None
    )
