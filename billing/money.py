"""Money arithmetic of the billing engine (domain.md §0.1).

Every amount is a :class:`decimal.Decimal`; a ``float`` never touches an amount. Intermediates keep full
precision and are rounded to cents only where the legacy flows round, with one named rule: :func:`round2`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["CENT", "HUNDRED", "ZERO", "format_amount", "format_number", "require_money", "round2"]

CENT = Decimal("0.01")
# Sums start here so that an empty sum reads "0.00", like a stored currency column.
ZERO = Decimal("0.00")
# Percentages are stored as whole numbers (30 = 30 %) and divided by this at use (§0.1).
HUNDRED = Decimal(100)


def round2(value: Decimal) -> Decimal:
    """Round ``value`` to cents, half away from zero (``ROUND_HALF_UP``), as the flows do (§0.1).

    ``round2(Decimal("2.345")) == Decimal("2.35")``, ``round2(Decimal("-2.345")) == Decimal("-2.35")``; the
    result always has exactly two decimal places.

    Raises ``TypeError`` if ``value`` is not a ``Decimal`` (a float would already carry a binary error) and
    ``ValueError`` if it is NaN or infinite.
    """
    return require_money(value, "amount").quantize(CENT, rounding=ROUND_HALF_UP)


def require_money(value: object, what: str) -> Decimal:
    """Return ``value`` unchanged if it is a finite ``Decimal``.

    ``what`` names the value in the error. Raises ``TypeError`` for any other type (notably ``float``, and
    ``int``/``bool`` so that callers convert deliberately) and ``ValueError`` for NaN/infinity, which the PROD
    JSON snapshots contain as ``NaN`` tokens (§6.3).
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a decimal.Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite amount, got {value}")
    return value


def format_amount(value: Decimal) -> str:
    """``value`` at cents with thousands separators, as the flows print a base: ``"20,000.00"``, ``"-1,234.57"``.

    The caller adds the ``$`` ("Total Base for Fee Calculation: $" + this, §2.4). Rounds with :func:`round2`.
    """
    return f"{round2(value):,.2f}"


def format_number(value: Decimal) -> str:
    """``value`` without trailing zeros or exponent: ``108.00`` → ``"108"``, ``160.330`` → ``"160.33"`` (§5 F-3)."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text
