"""Statement rules around the invoices: versions, forecast deviation, status and its moves (domain.md §3.3–§3.6).

Pure functions of values; persistence is the caller's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .codes import BillingType
from .money import ZERO

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ForecastComparison",
    "StatementStatus",
    "TransitionError",
    "VersionPlan",
    "compare_with_forecast",
    "confirm_review_target",
    "initial_status",
    "invoiced_revenue",
    "plan_version",
    "posted_revenue",
    "transition",
]

HUNDRED = Decimal(100)


class StatementStatus(enum.Enum):
    """`bs_billingstatementstatuschoices` (§3.5) by name; the value is the legacy option-set code."""

    GENERATING = 126840000
    AR_REVIEW = 126840004
    APPROVAL_TEAM = 126840005
    READY_TO_SEND = 126840006
    SENT = 126840003
    FAILED = 126840007


ALLOWED_TRANSITIONS: dict[StatementStatus, frozenset[StatementStatus]] = {
    StatementStatus.GENERATING: frozenset(
        {
            StatementStatus.AR_REVIEW,
            StatementStatus.APPROVAL_TEAM,
            StatementStatus.READY_TO_SEND,
            StatementStatus.FAILED,
        }
    ),
    StatementStatus.AR_REVIEW: frozenset({StatementStatus.APPROVAL_TEAM, StatementStatus.READY_TO_SEND}),
    StatementStatus.APPROVAL_TEAM: frozenset({StatementStatus.READY_TO_SEND}),
    StatementStatus.READY_TO_SEND: frozenset({StatementStatus.SENT}),
    StatementStatus.SENT: frozenset(),  # final: a correction is a new version (§3.3)
    StatementStatus.FAILED: frozenset(),
}


class TransitionError(ValueError):
    """A status move §3.5 does not allow; `str()` names both statuses."""

    def __init__(self, current: StatementStatus, target: StatementStatus) -> None:
        allowed = (
            ", ".join(s.name for s in sorted(ALLOWED_TRANSITIONS[current], key=lambda s: s.name)) or "none"
        )
        super().__init__(f"a {current.name} statement cannot move to {target.name} (allowed: {allowed})")
        self.current = current
        self.target = target


def transition(current: StatementStatus, target: StatementStatus) -> StatementStatus:
    """`target` if §3.5 allows the move from `current`, else `TransitionError`."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise TransitionError(current, target)
    return target


@dataclass(frozen=True, slots=True)
class VersionPlan:
    """What generating a statement for a site and period does to the existing ones (§3.3)."""

    version: int
    replaces: int | None  # the unsent version replaced (its number reused), if any
    carry_adhoc_from: int | None  # the version whose ad-hoc lines are carried over (the last scanned)


def plan_version(existing: Iterable[tuple[int, StatementStatus]]) -> VersionPlan:
    """Scan existing (version, status) in ascending version order (§3.3): after a Sent statement the new version
    is its version + 1; an unsent statement is replaced and its number reused; the default is 1."""
    version, replaces, carry = 1, None, None
    for number, status in sorted(existing):
        carry = number
        if status is StatementStatus.SENT:
            version, replaces = number + 1, None
        else:
            version, replaces = number, number
    return VersionPlan(version, replaces, carry)


def _is_revenue_code(code: str) -> bool:
    return code.isdigit() and 4000 <= int(code) <= 4999


def invoiced_revenue(lines: Iterable[tuple[str, Decimal]]) -> Decimal:
    """Σ amounts of (code, amount) lines whose code is an integer 4000–4999 (§3.6 `Invoiced`)."""
    return sum((amount for code, amount in lines if _is_revenue_code(code)), ZERO)


def posted_revenue(balances: Iterable[tuple[str, str, Decimal]]) -> Decimal:
    """`−Σ BALANCE` of (main account, entity, balance) rows with account 4000–4999 and entity ≠ '06' (§3.6)."""
    return -sum(
        (balance for account, entity, balance in balances if _is_revenue_code(account) and entity != "06"),
        ZERO,
    )


@dataclass(frozen=True, slots=True)
class ForecastComparison:
    """The forecast data stored on a statement (§3.6); amounts USD, percentage in percent."""

    forecasted_revenue: Decimal
    posted_revenue: Decimal
    invoiced_revenue: Decimal
    total_actual_revenue: Decimal
    deviation_amount: Decimal
    deviation_percentage: Decimal
    exceeded: bool

    def as_json(self) -> dict[str, str | bool]:
        return {
            "forecastedRevenue": str(self.forecasted_revenue),
            "postedRevenue": str(self.posted_revenue),
            "invoicedRevenue": str(self.invoiced_revenue),
            "totalActualRevenue": str(self.total_actual_revenue),
            "forecastDeviationAmount": str(self.deviation_amount),
            "forecastDeviationPercentage": str(self.deviation_percentage),
            "deviationExceeded": self.exceeded,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ForecastComparison:
        """The comparison stored by `as_json` (missing keys read as 0 / not exceeded: a statement stored
        before its forecast was compared)."""

        def amount(key: str) -> Decimal:
            return Decimal(str(data.get(key, "0")))

        return cls(
            forecasted_revenue=amount("forecastedRevenue"),
            posted_revenue=amount("postedRevenue"),
            invoiced_revenue=amount("invoicedRevenue"),
            total_actual_revenue=amount("totalActualRevenue"),
            deviation_amount=amount("forecastDeviationAmount"),
            deviation_percentage=amount("forecastDeviationPercentage"),
            exceeded=bool(data.get("deviationExceeded", False)),
        )


def compare_with_forecast(
    *,
    forecast: Decimal | None,
    posted: Decimal,
    invoiced: Decimal,
    threshold_amount: Decimal | None,
    threshold_percentage: Decimal | None,
) -> ForecastComparison:
    """§3.6: `Actual = Posted + Invoiced`; `dev$ = |F − A|`; `dev% = |(F − A)/F| × 100` (0 when F = 0).
    Exceeded ⇔ `dev% > percentage` **and** `dev$ > amount` (both strict; a missing threshold counts as 0)."""
    forecasted = forecast or ZERO
    actual = posted + invoiced
    amount = abs(forecasted - actual)
    percentage = abs((forecasted - actual) / forecasted) * HUNDRED if forecasted else ZERO
    exceeded = percentage > (threshold_percentage or ZERO) and amount > (threshold_amount or ZERO)
    return ForecastComparison(forecasted, posted, invoiced, actual, amount, percentage, exceeded)


def initial_status(
    billing_type: BillingType, *, has_ready_for_invoice_comment: bool, exceeded: bool
) -> StatementStatus:
    """§3.5: AR Review when the site has a ready-for-invoice comment and bills in arrears; else Approval Team
    when the forecast deviation is exceeded; else Ready To Send."""
    if has_ready_for_invoice_comment and billing_type is BillingType.ARREARS:
        return StatementStatus.AR_REVIEW
    return StatementStatus.APPROVAL_TEAM if exceeded else StatementStatus.READY_TO_SEND


def confirm_review_target(status: StatementStatus, *, exceeded: bool) -> StatementStatus:
    """The UI's "confirm" (§3.5): AR Review → Approval Team when the deviation is exceeded, else Ready To
    Send; Approval Team → Ready To Send. Other statuses raise `TransitionError`."""
    if status is StatementStatus.AR_REVIEW:
        return StatementStatus.APPROVAL_TEAM if exceeded else StatementStatus.READY_TO_SEND
    return transition(status, StatementStatus.READY_TO_SEND)
