"""Service periods, invoice dates and generation dates (domain.md §0.1, §2.15, §3.2)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import BillingType, PeriodError, ServicePeriod

ARREARS, ADVANCED = BillingType.ARREARS, BillingType.ADVANCED
# Years leave room for the ±100-year shifts below.
periods = st.builds(ServicePeriod, st.integers(1900, 8000), st.integers(1, 12))


def test_parse_and_keys() -> None:
    period = ServicePeriod.parse("2025-04")
    assert period == ServicePeriod(2025, 4)
    assert (period.key, period.yyyymm, str(period)) == ("2025-04", "202504", "2025-04")
    assert (period.start, period.end) == (datetime.date(2025, 4, 1), datetime.date(2025, 4, 30))


@pytest.mark.parametrize(
    ("period", "end"),
    [
        (ServicePeriod(2024, 2), datetime.date(2024, 2, 29)),
        (ServicePeriod(2025, 2), datetime.date(2025, 2, 28)),
        (ServicePeriod(1900, 2), datetime.date(1900, 2, 28)),
        (ServicePeriod(2025, 12), datetime.date(2025, 12, 31)),
    ],
)
def test_end_is_the_last_day(period: ServicePeriod, end: datetime.date) -> None:
    assert period.end == end


@pytest.mark.parametrize(
    "text",
    [
        *("2025-13", "2025-00", "202504", "2025-4", " 2025-04", "2025-04 ", "2025-04-01", "2025/04", ""),
        *(
            "abcd-ef",
            "\uff12\uff10\uff12\uff15-04",
            "\u0662\u0660\u0662\u0665-04",
        ),  # full-width, Arabic-Indic
    ],
)
def test_parse_rejects_anything_but_yyyy_mm(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        ServicePeriod.parse(text)
    assert str(caught.value) == f"servicePeriod must be YYYY-MM, got {text!r}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["1899-12", "0000-01", "0001-01"])
def test_parse_rejects_years_before_1900(text: str) -> None:
    with pytest.raises(PeriodError, match=f"servicePeriod year must be 1900..9999, got {text!r}"):
        ServicePeriod.parse(text)


def test_parse_accepts_the_bounds() -> None:
    assert ServicePeriod.parse("1900-01") == ServicePeriod(1900, 1)
    assert ServicePeriod.parse("9999-12") == ServicePeriod(9999, 12)


@pytest.mark.parametrize(("year", "month"), [(2025, 0), (2025, 13), (0, 1), (10000, 1)])
def test_constructor_validates(year: int, month: int) -> None:
    with pytest.raises(PeriodError):
        ServicePeriod(year, month)


def test_of_and_default_for_a_task_in_may_2025() -> None:
    today = datetime.date(2025, 5, 20)
    assert ServicePeriod.of(today) == ServicePeriod(2025, 5)
    assert ServicePeriod.default_for(ARREARS, today) == ServicePeriod(2025, 4)
    assert ServicePeriod.default_for(ADVANCED, today) == ServicePeriod(2025, 6)


def test_default_for_wraps_years() -> None:
    assert ServicePeriod.default_for(ARREARS, datetime.date(2025, 1, 1)) == ServicePeriod(2024, 12)
    assert ServicePeriod.default_for(ADVANCED, datetime.date(2025, 12, 31)) == ServicePeriod(2026, 1)


def test_shift() -> None:
    assert ServicePeriod(2025, 4).shift(0) == ServicePeriod(2025, 4)
    assert ServicePeriod(2025, 4).shift(-4) == ServicePeriod(2024, 12)
    assert ServicePeriod(2025, 4).shift(21) == ServicePeriod(2027, 1)
    with pytest.raises(PeriodError):
        ServicePeriod(9999, 12).shift(1)


def test_dates_of_an_arrears_period() -> None:
    period = ServicePeriod(2025, 4)
    assert period.invoice_date(ARREARS) == datetime.date(2025, 4, 30)
    assert period.generation_period(ARREARS) == ServicePeriod(2025, 4)
    assert period.natural_generation_date(ARREARS) == datetime.date(2025, 5, 1)


def test_dates_of_an_advanced_period() -> None:
    period = ServicePeriod(2025, 6)
    assert period.invoice_date(ADVANCED) == datetime.date(2025, 5, 1)
    assert period.generation_period(ADVANCED) == ServicePeriod(2025, 5)
    assert period.natural_generation_date(ADVANCED) == datetime.date(2025, 5, 1)


def test_dates_across_new_year() -> None:
    assert ServicePeriod(2025, 12).natural_generation_date(ARREARS) == datetime.date(2026, 1, 1)
    assert ServicePeriod(2026, 1).invoice_date(ADVANCED) == datetime.date(2025, 12, 1)
    assert ServicePeriod(2026, 1).generation_period(ADVANCED) == ServicePeriod(2025, 12)


def test_order_is_chronological() -> None:
    assert sorted([ServicePeriod(2025, 1), ServicePeriod(2024, 12), ServicePeriod(2024, 2)]) == [
        ServicePeriod(2024, 2),
        ServicePeriod(2024, 12),
        ServicePeriod(2025, 1),
    ]


@given(periods, st.integers(-1200, 1200))
def test_period_properties(period: ServicePeriod, months: int) -> None:
    assert ServicePeriod.parse(period.key) == period
    assert ServicePeriod.of(period.start) == ServicePeriod.of(period.end) == period
    assert period.natural_generation_date(ARREARS) == period.end + datetime.timedelta(days=1)
    assert period.natural_generation_date(ADVANCED) == period.invoice_date(ADVANCED)
    assert period.invoice_date(ADVANCED).day == 1
    assert ServicePeriod.of(period.invoice_date(ADVANCED)) == period.generation_period(ADVANCED)
    assert ServicePeriod.default_for(ADVANCED, period.invoice_date(ADVANCED)) == period
    assert ServicePeriod.default_for(ARREARS, period.natural_generation_date(ARREARS)) == period
    shifted = period.shift(months)
    assert shifted.shift(-months) == period
    assert (shifted > period) == (months > 0)
    assert (shifted.start > period.start) == (months > 0)
