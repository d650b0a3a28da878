"""Forecast input values refuse floats and bad shapes; the tier JSON parser (domain.md §0.1, §1.5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.codes import BuildingBlock
from billing.forecast import (
    BillableAccountRow,
    FixedFeeRow,
    ForecastContract,
    ForecastTier,
    SiteStatisticDetail,
    StatisticType,
    parse_tiers,
)

D = Decimal


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="fee"):
        FixedFeeRow(1000.0, datetime.date(2025, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="valet_daily"):
        SiteStatisticDetail(datetime.date(2025, 1, 1), StatisticType.FORECAST, valet_daily=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        ForecastContract("0170", frozenset(), increment_amount=D("NaN"))


def test_datetimes_and_bad_months_are_refused() -> None:
    with pytest.raises(TypeError, match=r"datetime\.date"):
        FixedFeeRow(D(1), datetime.datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="month"):
        ForecastContract("0170", frozenset(), increment_month=13)
    with pytest.raises(ValueError, match="month"):
        BillableAccountRow(pteb_escalator_month=0)


def test_escalator_needs_month_and_a_non_zero_amount() -> None:
    assert ForecastContract("0170", frozenset(), increment_month=7, increment_amount=D(3)).escalator == (
        7,
        D(3),
    )
    assert ForecastContract("0170", frozenset(), increment_month=7, increment_amount=D(0)).escalator is None
    assert ForecastContract("0170", frozenset(), increment_amount=D(3)).escalator is None
    assert ForecastContract("0170", frozenset({BuildingBlock.FIXED_FEE})).enables(BuildingBlock.FIXED_FEE)


def test_parse_tiers_keeps_stored_order_exact_decimals_and_dates() -> None:
    tiers = parse_tiers(
        '[{"amount": 750000, "sharePercentage": 32.5, "EscalatorValue": 2},'
        ' {"Amount": 0, "SharePercentage": 25, "EffectiveFrom": "2025-01-01T00:00:00Z", "EffectiveTo": null}]'
    )
    assert tiers == (
        ForecastTier(D("32.5"), D(750000)),
        ForecastTier(D(25), D(0), effective_from=datetime.date(2025, 1, 1)),
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"Amount": 0}',
        '[{"Amount": 0}]',
        '[{"Amount": NaN, "SharePercentage": 1}]',
        '[{"Amount": "0", "SharePercentage": 1}]',
        "[1]",
    ],
)
def test_parse_tiers_rejects_bad_documents(text: str) -> None:
    with pytest.raises(ValueError):
        parse_tiers(text)
