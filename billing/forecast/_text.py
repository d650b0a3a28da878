"""Number formatting of the forecast breakdowns: exact values, never rounded for display."""

from __future__ import annotations

from decimal import Decimal

from ..period import ServicePeriod

__all__ = ["money", "month_label", "percent"]


def money(value: Decimal) -> str:
    """Exact value with thousands separators and at least 2 decimals, trailing zeros beyond them dropped:
    ``Decimal("1092.727000")`` → ``"1,092.727"``, ``Decimal("2000")`` → ``"2,000.00"``. Never rounded."""
    whole, _, fraction = f"{value:,f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def percent(value: Decimal) -> str:
    """Whole-number percent without trailing zeros: ``Decimal("3.00")`` → ``"3%"``, ``12.5`` → ``"12.5%"``."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def month_label(period: ServicePeriod) -> str:
    """``"7/2025"``: the C# escalator-description form of a month."""
    return f"{period.month}/{period.year}"
