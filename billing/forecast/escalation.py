"""The contract escalator as the C# forecast compounds it (domain.md §2.1 "Forecast", §2.2, §2.14, C-1).

Used by the fixed-fee and per-labor-hour forecasts. For a value that starts on ``start`` (and ends on ``end``
or never), with contract increment ``pct`` % in month ``M``:

* **historical**: for every year ``y`` from ``start.year`` to ``Y − 1`` in which the row was active on
  ``y-M-01``: ``v += v × pct/100`` (compounding), one :class:`Escalator` step "(M/y)" each;
* **current year**: when the forecast month ``m ≥ M`` and the value at the start of the year is > 0, one more
  ``× pct/100`` step "(M/Y)" — applied to the *sum* of the rows' year-start values (C#'s simplified check).

Nothing is rounded.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from ._text import money, percent

__all__ = ["EscalatedValue", "Escalator", "compound_to_year_start", "current_year_escalator"]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Escalator:
    """One applied escalator step: ``amount = base × percentage/100`` (USD, unrounded).

    ``description`` follows the C# ``EscalatorDto.Description``, dated like ``"(7/2023)"``; ``applies_on`` is
    the first day of the increment month it stands for.
    """

    description: str
    base: Decimal
    percentage: Decimal
    amount: Decimal
    applies_on: datetime.date

    @property
    def explanation(self) -> str:
        """``"1,000.00 × 3% = 30.0000 — Automatic Contract Escalator of 3% (7/2023)"``."""
        return f"{money(self.base)} × {percent(self.percentage)} = {money(self.amount)} — {self.description}"


@dataclass(frozen=True, slots=True)
class EscalatedValue:
    """``original`` compounded through ``steps`` to ``value`` (= original + Σ step amounts), USD."""

    original: Decimal
    steps: tuple[Escalator, ...]
    value: Decimal


def compound_to_year_start(
    original: Decimal,
    start: datetime.date,
    end: datetime.date | None,
    increment_month: int,
    increment_amount: Decimal,
    target_year: int,
    description: str,
) -> EscalatedValue:
    """Historical compounding up to the start of ``target_year`` (§2.1 "Forecast").

    ``increment_amount`` is a whole percent; ``description`` is a prefix such as ``"Automatic Contract
    Escalator of 3%"`` to which ``" (M/y)"`` is appended per step. A year is skipped when the row was not
    active on ``y-M-01`` (``start ≤ that day`` and (``end`` None or ``end ≥`` it)).
    """
    rate = increment_amount / _HUNDRED
    value = original
    steps: list[Escalator] = []
    for year in range(start.year, target_year):
        applies_on = datetime.date(year, increment_month, 1)
        if start <= applies_on and (end is None or end >= applies_on):
            amount = value * rate
            steps.append(
                Escalator(
                    description=f"{description} ({increment_month}/{year})",
                    base=value,
                    percentage=increment_amount,
                    amount=amount,
                    applies_on=applies_on,
                )
            )
            value += amount
    return EscalatedValue(original=original, steps=tuple(steps), value=value)


def current_year_escalator(
    value_at_year_start: Decimal,
    year: int,
    month: int,
    increment_month: int,
    increment_amount: Decimal,
    description: str,
) -> Escalator | None:
    """The target year's own step: present iff ``month ≥ increment_month`` and ``value_at_year_start > 0``.

    ``description`` gets ``" (M/Y)"`` appended, e.g. ``"Annual Fixed Fee Escalator (7/2025)"``.
    """
    if month < increment_month or value_at_year_start <= 0:
        return None
    return Escalator(
        description=f"{description} ({increment_month}/{year})",
        base=value_at_year_start,
        percentage=increment_amount,
        amount=value_at_year_start * (increment_amount / _HUNDRED),
        applies_on=datetime.date(year, increment_month, 1),
    )
