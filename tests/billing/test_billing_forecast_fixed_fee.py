"""Fixed-fee forecast with the compounding contract escalator (domain.md §2.1 "Forecast", example C-1)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing.codes import BuildingBlock
from billing.forecast import FixedFeeRow, ForecastContract, forecast_fixed_fee
from billing.period import ServicePeriod

D = Decimal
FF = frozenset({BuildingBlock.FIXED_FEE})
C1 = ForecastContract(
    "0338",
    FF,
    increment_month=7,
    increment_amount=D(3),
    fixed_fees=(FixedFeeRow(D("1000.00"), datetime.date(2023, 1, 1), name="Valet"),),
)


def test_c1_june_2025_two_historical_escalators() -> None:
    result = forecast_fixed_fee(C1, ServicePeriod(2025, 6))
    assert result is not None
    assert result.total == D("1060.90")
    assert result.base_amount == D("1000.00")
    assert [e.description for e in result.escalators] == [
        "Automatic Contract Escalator of 3% (7/2023)",
        "Automatic Contract Escalator of 3% (7/2024)",
    ]
    assert [e.amount for e in result.escalators] == [D("30.00"), D("30.90")]


def test_c1_july_2025_adds_the_current_year_escalator_unrounded() -> None:
    result = forecast_fixed_fee(C1, ServicePeriod(2025, 7))
    assert result is not None
    assert result.total == D("1092.727")
    assert str(result.total.normalize()) == "1092.727"  # not rounded to cents
    descriptions = [e.description for e in result.escalators]
    assert [d[d.index("(") :] for d in descriptions] == ["(7/2023)", "(7/2024)", "(7/2025)"]
    assert descriptions[-1] == "Annual Fixed Fee Escalator (7/2025)"
    assert result.value_at_year_start == D("1060.90")
    text = "\n".join(result.explanation)
    assert "(7/2023)" in text and "(7/2025)" in text and "1,092.727" in text


def test_first_year_before_and_after_the_increment_month() -> None:
    contract = ForecastContract(
        "0338",
        FF,
        increment_month=7,
        increment_amount=D(3),
        fixed_fees=(FixedFeeRow(D(1000), datetime.date(2025, 1, 1)),),
    )
    june, july = (
        forecast_fixed_fee(contract, ServicePeriod(2025, 6)),
        forecast_fixed_fee(contract, ServicePeriod(2025, 7)),
    )
    assert june is not None and june.total == D(1000) and june.escalators == ()
    assert july is not None and july.total == D("1030.00")


def test_row_that_started_after_the_increment_date_skips_that_year() -> None:
    # Started 2023-08-01: not active on 2023-07-01, so only 7/2024 compounds before 2025.
    contract = ForecastContract(
        "0338",
        FF,
        increment_month=7,
        increment_amount=D(3),
        fixed_fees=(FixedFeeRow(D(1000), datetime.date(2023, 8, 1)),),
    )
    result = forecast_fixed_fee(contract, ServicePeriod(2025, 6))
    assert result is not None
    assert result.total == D("1030.00")
    assert [e.applies_on for e in result.escalators] == [datetime.date(2024, 7, 1)]


def test_only_rows_active_on_the_first_of_the_month_count() -> None:
    rows = (
        FixedFeeRow(D(100), datetime.date(2024, 1, 1), datetime.date(2025, 4, 30)),  # ended
        FixedFeeRow(D(200), datetime.date(2025, 5, 1)),  # active from the 1st
        FixedFeeRow(D(400), datetime.date(2025, 5, 2)),  # starts after the 1st
    )
    result = forecast_fixed_fee(ForecastContract("0338", FF, fixed_fees=rows), ServicePeriod(2025, 5))
    assert result is not None and result.total == D(200) and result.base_amount == D(200)


def test_zero_increment_means_no_escalator() -> None:
    contract = ForecastContract(
        "0338", FF, increment_month=7, increment_amount=D(0), fixed_fees=C1.fixed_fees
    )
    result = forecast_fixed_fee(contract, ServicePeriod(2025, 8))
    assert result is not None and result.total == D("1000.00") and result.escalators == ()


def test_two_rows_sum_and_the_annual_step_applies_to_the_sum() -> None:
    rows = (FixedFeeRow(D(1000), datetime.date(2024, 1, 1)), FixedFeeRow(D(500), datetime.date(2024, 1, 1)))
    contract = ForecastContract("0338", FF, increment_month=3, increment_amount=D(10), fixed_fees=rows)
    result = forecast_fixed_fee(contract, ServicePeriod(2025, 3))
    assert result is not None
    assert result.value_at_year_start == D("1650.0")  # (1000 + 500) × 1.1
    assert result.total == D("1815.00")  # × 1.1 again for 3/2025
    assert len(result.escalators) == 3


def test_no_fixed_fee_block_gives_none() -> None:
    assert (
        forecast_fixed_fee(
            ForecastContract("0338", frozenset(), fixed_fees=C1.fixed_fees), ServicePeriod(2025, 6)
        )
        is None
    )


def test_row_starting_on_the_increment_date_escalates_that_year() -> None:
    row = FixedFeeRow(D(1000), datetime.date(2024, 7, 1))
    contract = ForecastContract("0338", FF, increment_month=7, increment_amount=D(3), fixed_fees=(row,))
    result = forecast_fixed_fee(contract, ServicePeriod(2025, 6))
    assert result is not None and result.total == D("1030.00")
