"""Invoice numbers (domain.md §3.4), site numbers (§0.1) and cents rounding (§0.1)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import BillingType, ServicePeriod, invoice_number, normalize_site_number, round2

ARREARS, ADVANCED = BillingType.ARREARS, BillingType.ADVANCED


def test_example_of_domain_md() -> None:
    assert invoice_number("0349", ServicePeriod(2025, 4), ARREARS, 1, 1) == "0349-202504-01-01"


def test_advanced_uses_the_generation_month() -> None:
    assert invoice_number("0349", ServicePeriod(2025, 6), ADVANCED, 1, 1) == "0349-202505-01-01"
    assert invoice_number("0349", ServicePeriod(2026, 1), ADVANCED, 1, 1) == "0349-202512-01-01"


@pytest.mark.parametrize(
    ("group", "version", "suffix"),
    [(1, 1, "01-01"), (2, 3, "02-03"), (10, 12, "10-12"), (1, 99, "01-99"), (3, 100, "03-100")],
)
def test_group_and_version_are_zero_padded(group: int, version: int, suffix: str) -> None:
    assert invoice_number("0429", ServicePeriod(2025, 4), ARREARS, group, version) == f"0429-202504-{suffix}"


def test_site_number_is_zero_padded() -> None:
    assert invoice_number("349", ServicePeriod(2025, 4), ARREARS, 1, 1) == "0349-202504-01-01"
    assert normalize_site_number(" 170 ") == "0170"
    assert normalize_site_number("8725") == "8725"


@pytest.mark.parametrize("site", ["", "  ", "03a9", "-349", "\uff13\uff14\uff19"])
def test_bad_site_numbers(site: str) -> None:
    with pytest.raises(ValueError, match="site number must be digits"):
        normalize_site_number(site)


@pytest.mark.parametrize(("group", "version"), [(0, 1), (1, 0), (-1, 1), (1, -2)])
def test_group_and_version_start_at_one(group: int, version: int) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        invoice_number("0349", ServicePeriod(2025, 4), ARREARS, group, version)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.345", "2.35"),
        ("-2.345", "-2.35"),
        ("2.344999", "2.34"),
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("4013.0599", "4013.06"),
        ("7309.1581", "7309.16"),
        ("2500", "2500.00"),
        ("1E+3", "1000.00"),
    ],
)
def test_round2_is_half_away_from_zero_to_cents(value: str, expected: str) -> None:
    assert str(round2(Decimal(value))) == expected


def test_round2_refuses_float_and_non_finite() -> None:
    with pytest.raises(TypeError, match="float"):
        round2(2.345)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        round2(Decimal("NaN"))
