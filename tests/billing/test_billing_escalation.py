"""Stored escalation jobs: contract increment and MA / profit-share / PTEB escalator (domain.md §2.14, C-2, §7)."""

from __future__ import annotations

import calendar
import datetime
import inspect
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.codes import BillingType
from billing.escalation import (
    DatedRate,
    EscalatingTier,
    EscalationKind,
    MaJobRate,
    apply_increment,
    escalate_fixed_fee,
    escalate_ma_job,
    escalate_profit_share_tiers,
    escalate_pteb_percentage,
    escalate_revenue_percentage,
    escalate_value,
    escalator_due,
    escalator_fire_date,
    increment_due,
    increment_job_date,
    last_business_day,
    last_friday_before_month,
)
from billing.money import round2

D = datetime.date
ARREARS, ADVANCED = BillingType.ARREARS, BillingType.ADVANCED
PERCENTAGE, FIXED_AMOUNT = EscalationKind.PERCENTAGE, EscalationKind.FIXED_AMOUNT
THREE = Decimal(3)

# C-2 (a): contract 0338, fixed fee 7,096.27 and PLH job GSA 25.03 / OT 37.55, increment 3 % in July.
FEE = DatedRate("Account Manager Fee", {"fee": Decimal("7096.27")}, D(2025, 1, 27))
GSA = DatedRate("GSA", {"rate": Decimal("25.03"), "overtime_rate": Decimal("37.55")}, D(2024, 8, 1))


def selection_date(billing_type: BillingType, year: int, month: int) -> datetime.date:
    """§2.15 natural generation date of the statement for ``year``-``month``: Arrears ``P_end + 1 day``,
    Advanced ``P_start − 1 month`` (the invoice date)."""
    if billing_type is ARREARS:
        return D(year, month, calendar.monthrange(year, month)[1]) + datetime.timedelta(days=1)
    return D(year - 1, 12, 1) if month == 1 else D(year, month - 1, 1)


def active(rows: tuple[DatedRate, ...], key: str, d: datetime.date) -> list[DatedRate]:
    return [row for row in rows if row.key == key and row.is_active_on(d)]


# --- calendar rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2025, 7, D(2025, 7, 31)),  # Thursday (C-2 a)
        (2025, 5, D(2025, 5, 30)),  # 31st is a Saturday → Friday (C-2 a, Advanced)
        (2025, 8, D(2025, 8, 29)),  # 31st is a Sunday → Friday
        (2026, 2, D(2026, 2, 27)),  # 28th is a Saturday
        (2024, 2, D(2024, 2, 29)),  # leap day, a Thursday
        (2025, 11, D(2025, 11, 28)),  # 30th is a Sunday
        (2025, 12, D(2025, 12, 31)),  # Wednesday
    ],
)
def test_last_business_day(year: int, month: int, expected: datetime.date) -> None:
    assert last_business_day(year, month) == expected


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2025, 3, D(2025, 2, 28)),  # C-2 (b)
        (2026, 1, D(2025, 12, 26)),  # January → December of the prior year
        (2025, 1, D(2024, 12, 27)),
        (2025, 8, D(2025, 7, 25)),  # July ends on a Thursday: not the month's last day
        (2025, 6, D(2025, 5, 30)),
    ],
)
def test_last_friday_before_month(year: int, month: int, expected: datetime.date) -> None:
    assert last_friday_before_month(year, month) == expected


@pytest.mark.parametrize("month", [0, 13, -1])
def test_months_outside_1_to_12_are_refused(month: int) -> None:
    with pytest.raises(ValueError, match=r"month must be an int 1\.\.12"):
        last_business_day(2025, month)
    with pytest.raises(ValueError, match=r"month must be an int 1\.\.12"):
        escalator_fire_date(month, 2025)
    with pytest.raises(ValueError, match=r"month must be an int 1\.\.12"):
        increment_due(ARREARS, month, THREE, D(2025, 7, 31))


@given(st.integers(1900, 2200), st.integers(1, 12))
def test_last_business_day_is_the_months_last_weekday(year: int, month: int) -> None:
    day = last_business_day(year, month)
    assert (day.year, day.month) == (year, month)
    assert day.weekday() < 5
    later = [D(year, month, n) for n in range(day.day + 1, calendar.monthrange(year, month)[1] + 1)]
    assert all(d.weekday() >= 5 for d in later)


@given(st.integers(1900, 2200), st.integers(1, 12))
def test_last_friday_before_month_is_the_previous_months_last_friday(year: int, month: int) -> None:
    day = last_friday_before_month(year, month)
    first = D(year, month, 1)
    assert day.weekday() == calendar.FRIDAY
    assert day < first <= day + datetime.timedelta(days=7)


# --- increment job: when -----------------------------------------------------------------------------------


def test_c2_arrears_job_runs_on_the_last_business_day_of_the_increment_month() -> None:
    assert increment_job_date(ARREARS, 7, 2025) == D(2025, 7, 31)
    assert increment_due(ARREARS, 7, THREE, D(2025, 7, 31))
    assert not increment_due(ARREARS, 7, THREE, D(2025, 7, 30))  # not the last business day
    assert not increment_due(ARREARS, 7, THREE, D(2025, 5, 30))  # that is the Advanced day
    assert not increment_due(ARREARS, 8, THREE, D(2025, 7, 31))


def test_c2_advanced_job_runs_two_months_early_on_friday_when_the_month_ends_saturday() -> None:
    assert increment_job_date(ADVANCED, 7, 2025) == D(2025, 5, 30)
    assert increment_due(ADVANCED, 7, THREE, D(2025, 5, 30))
    assert not increment_due(ADVANCED, 7, THREE, D(2025, 5, 31))  # Saturday, the calendar month-end
    assert not increment_due(ADVANCED, 7, THREE, D(2025, 7, 31))


def test_month_ending_on_sunday_runs_on_friday() -> None:
    assert increment_due(ARREARS, 8, THREE, D(2025, 8, 29))
    assert not increment_due(ARREARS, 8, THREE, D(2025, 8, 31))
    assert not increment_due(ARREARS, 8, THREE, D(2025, 8, 30))


@pytest.mark.parametrize("percentage", [Decimal(0), Decimal("-1"), None])
def test_no_positive_increment_means_not_due(percentage: Decimal | None) -> None:
    assert not increment_due(ARREARS, 7, percentage, D(2025, 7, 31))


def test_no_increment_month_means_not_due() -> None:
    assert not increment_due(ARREARS, None, THREE, D(2025, 7, 31))


def test_advanced_january_and_february_increments_wrap_into_november_and_december() -> None:
    # §7 #8: current month + 2 wraps modulo 12.
    november, december = last_business_day(2025, 11), last_business_day(2025, 12)
    assert (november, december) == (D(2025, 11, 28), D(2025, 12, 31))
    assert increment_due(ADVANCED, 1, THREE, november)
    assert increment_due(ADVANCED, 2, THREE, december)
    assert not increment_due(ADVANCED, 2, THREE, november)
    assert not increment_due(ADVANCED, 1, THREE, december)
    assert increment_job_date(ADVANCED, 1, 2026) == november
    assert increment_job_date(ADVANCED, 2, 2026) == december


def test_legacy_no_wrap_never_escalates_advanced_january_and_february() -> None:
    for today in (last_business_day(2025, 11), last_business_day(2025, 12)):
        assert not any(increment_due(ADVANCED, m, THREE, today, legacy_no_wrap=True) for m in range(1, 13))
    # ... but agrees with the wrapped rule everywhere else.
    assert increment_due(ADVANCED, 7, THREE, D(2025, 5, 30), legacy_no_wrap=True)
    assert increment_due(ADVANCED, 12, THREE, D(2025, 10, 31), legacy_no_wrap=True)


@given(
    st.sampled_from(BillingType),
    st.integers(1, 12),
    st.dates(min_value=D(1950, 1, 1), max_value=D(2200, 12, 31)),
)
def test_increment_is_due_exactly_on_the_job_date(
    billing_type: BillingType, month: int, today: datetime.date
) -> None:
    job_dates = {increment_job_date(billing_type, month, year) for year in (today.year, today.year + 1)}
    assert increment_due(billing_type, month, THREE, today) == (today in job_dates)


def test_a_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        increment_due(ARREARS, 7, THREE, datetime.datetime(2025, 7, 31, 12))  # noqa: DTZ001
    with pytest.raises(TypeError, match="not a datetime"):
        escalator_due(3, datetime.datetime(2025, 2, 28, 12))  # noqa: DTZ001


# --- increment job: effect ---------------------------------------------------------------------------------


def test_c2_arrears_increment_closes_and_escalates_the_rows() -> None:
    result = apply_increment([FEE, GSA], THREE, D(2025, 7, 31))
    assert result.closed_rows == (
        DatedRate("Account Manager Fee", {"fee": Decimal("7096.27")}, D(2025, 1, 27), D(2025, 7, 31)),
        DatedRate(
            "GSA",
            {"rate": Decimal("25.03"), "overtime_rate": Decimal("37.55")},
            D(2024, 8, 1),
            D(2025, 7, 31),
        ),
    )
    assert result.new_rows == (
        DatedRate("Account Manager Fee", {"fee": Decimal("7309.16")}, D(2025, 8, 1)),
        DatedRate("GSA", {"rate": Decimal("25.78"), "overtime_rate": Decimal("38.68")}, D(2025, 8, 1)),
    )
    fee, gsa = result.increments
    # The flow's own, unrounded figures (§7 #5) are kept next to the persisted ones.
    assert {k: str(v) for k, v in fee.unrounded.items()} == {"fee": "7309.1581"}
    assert {k: str(v) for k, v in gsa.unrounded.items()} == {"rate": "25.7809", "overtime_rate": "38.6765"}
    assert [str(v) for v in fee.new.values.values()] == ["7309.16"]
    assert fee.rounded and gsa.rounded
    assert result.rows == (fee.closed, fee.new, gsa.closed, gsa.new)
    assert result.untouched == ()


def test_c2_explanation_shows_the_unrounded_and_the_persisted_value() -> None:
    explanation = apply_increment([FEE], THREE, D(2025, 7, 31)).explanation
    assert len(explanation) == 1
    assert "7096.27 × (1 + 3/100) = 7309.1581 → 7309.16" in explanation[0]
    assert "closed on 2025-07-31" in explanation[0]
    assert "from 2025-08-01" in explanation[0]
    assert "§7 #5" in explanation[0]


def test_an_exact_increment_is_not_flagged_as_rounded() -> None:
    result = apply_increment([DatedRate("Valet", {"fee": Decimal("100.00")})], THREE, D(2025, 7, 31))
    (increment,) = result.increments
    assert increment.new.values == {"fee": Decimal("103.00")}
    assert not increment.rounded
    assert "§7 #5" not in result.explanation[0]


def test_c2_advanced_increment_starts_the_new_rows_on_june_1() -> None:
    result = apply_increment([FEE, GSA], THREE, D(2025, 5, 30))
    assert [row.end for row in result.closed_rows] == [D(2025, 5, 31), D(2025, 5, 31)]
    assert [row.start for row in result.new_rows] == [D(2025, 6, 1), D(2025, 6, 1)]
    assert all(row.open_ended for row in result.new_rows)


def test_arrears_increment_month_is_billed_at_the_new_rate() -> None:
    rows = apply_increment([FEE], THREE, D(2025, 7, 31)).rows
    july = selection_date(ARREARS, 2025, 7)
    assert july == D(2025, 8, 1)
    assert [row.values["fee"] for row in active(rows, FEE.key, july)] == [Decimal("7309.16")]
    june = selection_date(ARREARS, 2025, 6)
    assert [row.values["fee"] for row in active(rows, FEE.key, june)] == [Decimal("7096.27")]


def test_advanced_increment_month_is_billed_at_the_new_rate() -> None:
    rows = apply_increment([FEE], THREE, increment_job_date(ADVANCED, 7, 2025)).rows
    july = selection_date(ADVANCED, 2025, 7)  # the July statement's invoice date
    assert july == D(2025, 6, 1)
    assert [row.values["fee"] for row in active(rows, FEE.key, july)] == [Decimal("7309.16")]
    june = selection_date(ADVANCED, 2025, 6)
    assert [row.values["fee"] for row in active(rows, FEE.key, june)] == [Decimal("7096.27")]


@given(st.sampled_from(BillingType), st.integers(1, 12), st.integers(1950, 2200))
def test_the_increment_month_and_no_earlier_month_is_billed_at_the_new_rate(
    billing_type: BillingType, month: int, year: int
) -> None:
    fee = DatedRate(FEE.key, FEE.values, D(1900, 1, 1))
    rows = apply_increment([fee], THREE, increment_job_date(billing_type, month, year)).rows
    previous = (year - 1, 12) if month == 1 else (year, month - 1)
    assert [r.values["fee"] for r in active(rows, FEE.key, selection_date(billing_type, year, month))] == [
        Decimal("7309.16")
    ]
    assert [r.values["fee"] for r in active(rows, FEE.key, selection_date(billing_type, *previous))] == [
        Decimal("7096.27")
    ]


def test_running_the_job_twice_on_the_same_day_escalates_once() -> None:
    first = apply_increment([FEE, GSA], THREE, D(2025, 7, 31))
    second = apply_increment(first.rows, THREE, D(2025, 7, 31))
    assert second.rows == first.rows
    assert second.increments == ()
    assert second.untouched == first.rows
    assert "already escalated" in second.explanation[1]


def test_next_years_run_escalates_the_escalated_row_again() -> None:
    first = apply_increment([FEE], THREE, D(2025, 7, 31))
    second = apply_increment(first.rows, THREE, D(2026, 7, 31))
    assert [(r.start, r.end, r.values["fee"]) for r in second.rows] == [
        (D(2025, 1, 27), D(2025, 7, 31), Decimal("7096.27")),
        (D(2025, 8, 1), D(2026, 7, 31), Decimal("7309.16")),
        (D(2026, 8, 1), None, Decimal("7528.43")),  # 7,309.16 × 1.03 = 7,528.4348
    ]


def test_rows_that_are_not_open_ended_or_start_later_are_untouched() -> None:
    ended = DatedRate("Old valet", {"fee": Decimal("50.00")}, D(2024, 1, 1), D(2025, 3, 31))
    ends_later = DatedRate("Seasonal", {"fee": Decimal("60.00")}, D(2025, 1, 1), D(2025, 12, 31))
    starts_later = DatedRate("New service", {"fee": Decimal("70.00")}, D(2025, 9, 1))
    unbounded = DatedRate("Always", {"fee": Decimal("10.00")})
    result = apply_increment([ended, ends_later, starts_later, unbounded], THREE, D(2025, 7, 31))
    assert result.untouched == (ended, ends_later, starts_later)
    assert result.closed_rows == (DatedRate("Always", {"fee": Decimal("10.00")}, None, D(2025, 7, 31)),)
    assert result.new_rows == (DatedRate("Always", {"fee": Decimal("10.30")}, D(2025, 8, 1)),)
    assert result.rows == (ended, ends_later, starts_later, *result.closed_rows, *result.new_rows)
    assert "not open-ended" in result.explanation[0]
    assert "starts 2025-09-01" in result.explanation[2]


def test_a_null_overtime_rate_stays_absent() -> None:
    job = DatedRate("BELL", {"rate": Decimal("24.84")}, D(2025, 1, 1))
    (new,) = apply_increment([job], THREE, D(2025, 7, 31)).new_rows
    assert dict(new.values) == {"rate": Decimal("25.59")}  # 25.5852


@given(
    st.decimals(min_value=0, max_value=100_000, places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=50, places=2),
)
def test_new_value_is_the_unrounded_product_at_cents(fee: Decimal, percentage: Decimal) -> None:
    (increment,) = apply_increment([DatedRate("x", {"fee": fee})], percentage, D(2025, 7, 31)).increments
    exact = fee * (1 + percentage / 100)
    assert increment.unrounded["fee"] == exact
    assert increment.new.values["fee"] == round2(exact)
    assert abs(increment.new.values["fee"] - exact) <= Decimal("0.005")
    assert increment.closed.end is not None
    assert increment.new.start == increment.closed.end + datetime.timedelta(days=1)


@pytest.mark.parametrize("percentage", [Decimal(0), Decimal("-2")])
def test_apply_increment_refuses_a_percentage_the_job_would_not_select(percentage: Decimal) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        apply_increment([FEE], percentage, D(2025, 7, 31))


def test_apply_increment_refuses_floats_and_datetimes() -> None:
    with pytest.raises(TypeError, match=r"decimal\.Decimal"):
        apply_increment([FEE], 3.0, D(2025, 7, 31))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a datetime"):
        apply_increment([FEE], THREE, datetime.datetime(2025, 7, 31))  # noqa: DTZ001


def test_dated_rate_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="ends 2025-01-01 before it starts 2025-02-01"):
        DatedRate("x", {}, D(2025, 2, 1), D(2025, 1, 1))
    with pytest.raises(TypeError, match=r"fee of row 'x' must be a decimal\.Decimal"):
        DatedRate("x", {"fee": 1.5})  # type: ignore[dict-item]
    source = {"fee": Decimal(1)}
    row = DatedRate("x", source)
    source["fee"] = Decimal(2)  # the row keeps its own copy
    assert row.values == {"fee": Decimal(1)}


# --- escalator ---------------------------------------------------------------------------------------------


def test_c2_escalator_for_march_fires_on_the_last_friday_of_february() -> None:
    assert escalator_fire_date(3, 2025) == D(2025, 2, 28)
    assert escalator_due(3, D(2025, 2, 28))
    assert not escalator_due(3, D(2025, 2, 21))
    assert not escalator_due(3, D(2025, 3, 3))
    assert not escalator_due(4, D(2025, 2, 28))
    assert not escalator_due(None, D(2025, 2, 28))


def test_escalator_date_does_not_depend_on_the_billing_type() -> None:
    # §7 #7: one day for Advanced and Arrears (the docs' "first business day for Advanced" is not the code).
    assert "billing_type" not in inspect.signature(escalator_due).parameters
    assert "billing_type" not in inspect.signature(escalator_fire_date).parameters


def test_january_escalator_fires_in_december_of_the_prior_year() -> None:
    assert escalator_fire_date(1, 2026) == D(2025, 12, 26)
    assert escalator_due(1, D(2025, 12, 26))
    assert not escalator_due(1, D(2025, 12, 27))
    assert not escalator_due(1, D(2026, 1, 30))


def test_legacy_month_day_reproduces_the_flows_january_quirk() -> None:
    # The flow computes December of the *current* year − 1 and compares MM-dd: 2024-12-27 → fires 2025-12-27.
    assert escalator_due(1, D(2025, 12, 27), legacy_month_day=True)
    assert not escalator_due(1, D(2025, 12, 26), legacy_month_day=True)
    # Other months agree with the default rule.
    assert escalator_due(3, D(2025, 2, 28), legacy_month_day=True)


@given(st.integers(1, 12), st.dates(min_value=D(1950, 1, 1), max_value=D(2200, 12, 31)))
def test_escalator_is_due_exactly_on_a_fire_date(month: int, today: datetime.date) -> None:
    fire_dates = {escalator_fire_date(month, year) for year in (today.year, today.year + 1)}
    assert escalator_due(month, today) == (today in fire_dates)


def test_c2_management_fee() -> None:
    fee = Decimal(1000)
    assert str(escalate_fixed_fee(fee, PERCENTAGE, Decimal(5))) == "1050.00"
    assert str(escalate_fixed_fee(fee, FIXED_AMOUNT, Decimal(100))) == "1100.00"


def test_c2_pteb_percentage_fixed_amount_is_additive() -> None:
    assert str(escalate_pteb_percentage(Decimal(25), PERCENTAGE, Decimal(5))) == "26.25"
    assert str(escalate_pteb_percentage(Decimal(25), FIXED_AMOUNT, Decimal(2))) == "27.00"  # §7 #11


def test_revenue_percentage() -> None:
    assert escalate_revenue_percentage(Decimal(4), PERCENTAGE, Decimal(10)) == Decimal("4.40")
    assert escalate_revenue_percentage(Decimal(4), FIXED_AMOUNT, Decimal("0.5")) == Decimal("4.50")


def test_c2_profit_share_tier() -> None:
    tiers = [
        EscalatingTier(Decimal(8), Decimal(50_000), Decimal(25)),
        EscalatingTier(Decimal(12), Decimal(0), None),
    ]
    assert escalate_profit_share_tiers(tiers, PERCENTAGE) == (
        EscalatingTier(Decimal("10.00"), Decimal(50_000), Decimal(25)),
        EscalatingTier(Decimal(12), Decimal(0), None),
    )
    (tier,) = escalate_profit_share_tiers(tiers[:1], FIXED_AMOUNT)
    assert tier.share_percentage == Decimal("33.00")


def test_ma_job_rates_use_their_own_escalator_values() -> None:
    job = MaJobRate("GSA", Decimal("25.03"), Decimal("37.55"), Decimal(3), Decimal(2))
    assert escalate_ma_job(job, PERCENTAGE) == MaJobRate(
        "GSA", Decimal("25.78"), Decimal("38.30"), Decimal(3), Decimal(2)
    )  # 25.7809, 38.301
    assert escalate_ma_job(job, FIXED_AMOUNT) == MaJobRate(
        "GSA", Decimal("28.03"), Decimal("39.55"), Decimal(3), Decimal(2)
    )
    no_overtime_escalator = MaJobRate("GSA", Decimal("25.03"), Decimal("37.55"), Decimal(3))
    assert escalate_ma_job(no_overtime_escalator, PERCENTAGE).overtime_rate == Decimal("37.55")


def test_escalate_value_rounds_half_up_to_cents() -> None:
    assert escalate_value(Decimal("10.10"), PERCENTAGE, Decimal(5)) == Decimal("10.61")  # 10.605
    assert escalate_value(Decimal("-10.10"), PERCENTAGE, Decimal(5)) == Decimal("-10.61")
    with pytest.raises(TypeError):
        escalate_value(Decimal(1), PERCENTAGE, 5.0)  # type: ignore[arg-type]


def test_only_fixed_percentage_and_fixed_amount_escalation_exist() -> None:
    # §7 #6: CPI / ECI / greater-of are not implemented.
    assert {kind.name: kind.value for kind in EscalationKind} == {
        "PERCENTAGE": 126840000,
        "FIXED_AMOUNT": 126840001,
    }
    assert "CPI" in (EscalationKind.__doc__ or "")
