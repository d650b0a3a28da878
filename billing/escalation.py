"""Stored escalations: the contract increment job and the MA / profit-share / PTEB escalator (domain.md §2.14).

The legacy system never escalates at billing time: daily jobs rewrite the stored configuration and the invoice
engine bills whatever rows are active on its selection date (§2.15). This module reproduces those jobs as
pure functions over plain values (dates are ``datetime.date``, money and percentages ``Decimal``,
percentages whole numbers: 3 = 3 %, §0.1):

* **Contract increment** (flow ``IncrementRatesandFees``, §2.1, §2.2, §2.14): :func:`increment_due` says whether
  the job acts for a contract today; :func:`apply_increment` closes every open-ended fixed-fee service /
  labor-hour job row at the end of the run month and opens an escalated copy on the 1st of the next month.
  :func:`increment_job_date` gives the day the job acts for a given increment month.
* **Escalator** (flow ``EscalatorChildFlow``, §2.9, §2.10, §2.14): :func:`escalator_due` /
  :func:`escalator_fire_date` say when; :func:`escalate_value` and the helpers below it compute the new stored
  values, each rounded to cents.

Decisions (§7): #5 escalated rates/fees are persisted at 2 dp (the flow multiplies without rounding; the
unrounded value is kept next to the stored one); #6 only fixed percentage / fixed amount escalation exists, CPI
and ECI are not implemented; #7 the escalator fires on the same day for Advanced and Arrears (code, not docs);
#8 the Advanced "increment month = current month + 2" rule wraps modulo 12 (legacy gap kept behind
``legacy_no_wrap``); #11 a FixedAmount PTEB escalator is additive.
"""

from __future__ import annotations

import calendar
import datetime
import enum
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from .codes import BillingType
from .money import require_money, round2

__all__ = [
    "DatedRate",
    "EscalatingTier",
    "EscalationKind",
    "IncrementResult",
    "MaJobRate",
    "RowIncrement",
    "apply_increment",
    "escalate_fixed_fee",
    "escalate_ma_job",
    "escalate_profit_share_tiers",
    "escalate_pteb_percentage",
    "escalate_revenue_percentage",
    "escalate_value",
    "escalator_due",
    "escalator_fire_date",
    "increment_due",
    "increment_job_date",
    "last_business_day",
    "last_friday_before_month",
]

HUNDRED = Decimal(100)


class EscalationKind(enum.Enum):
    """Escalator type of the MA fee, profit share and PTEB (§1.5); the value is the Dataverse code.

    ``PERCENTAGE`` raises a value by ``v`` percent, ``FIXED_AMOUNT`` adds ``v`` (in the value's own unit:
    USD for a fee, percentage points for a percentage). There is deliberately no CPI / ECI / "greater of" kind:
    the legacy system does not implement them (``bs_consumerpriceindex`` is stored but unused, ECI clauses live
    in free-text contract notes), so they stay a future feature (§2.14, §7 #6).
    """

    PERCENTAGE = 126840000
    FIXED_AMOUNT = 126840001


# --- calendar rules ---------------------------------------------------------------------------------------


def last_business_day(year: int, month: int) -> datetime.date:
    """Last day of ``month`` that is Monday–Friday: month-end, or the Friday before if it is a Sat/Sun (§2.14).

    There is no holiday calendar. ``last_business_day(2025, 5) == date(2025, 5, 30)`` (the 31st is a Saturday).
    Raises ``ValueError`` for a month outside 1..12 or a year outside 1..9999.
    """
    end = _month_end(year, month)
    return end - datetime.timedelta(days=max(0, end.weekday() - calendar.FRIDAY))


def last_friday_before_month(year: int, month: int) -> datetime.date:
    """Last Friday of the calendar month before ``year``-``month`` (December of ``year − 1`` for January).

    ``last_friday_before_month(2025, 3) == date(2025, 2, 28)``. Raises ``ValueError`` for a month outside 1..12
    or when the previous month falls outside years 1..9999.
    """
    _require_month(month)
    previous_year, previous_month = (year - 1, 12) if month == 1 else (year, month - 1)
    end = _month_end(previous_year, previous_month)
    return end - datetime.timedelta(days=(end.weekday() - calendar.FRIDAY) % 7)


def increment_job_date(billing_type: BillingType, increment_month: int, year: int) -> datetime.date:
    """Day on which the increment job acts for a contract whose increment month is ``year``-``increment_month``.

    Arrears: the last business day of the increment month itself. Advanced: the last business day two months
    earlier (with the modulo-12 wrap of §7 #8, so a January 2026 increment runs on the last business day of
    November 2025). The job's new rows start the 1st of the month after that day (:func:`apply_increment`).
    """
    _require_month(increment_month)
    if billing_type is BillingType.ARREARS:
        return last_business_day(year, increment_month)
    index = year * 12 + increment_month - 1 - 2
    return last_business_day(index // 12, index % 12 + 1)


def increment_due(
    billing_type: BillingType,
    increment_month: int | None,
    increment_percentage: Decimal | None,
    today: datetime.date,
    *,
    legacy_no_wrap: bool = False,
) -> bool:
    """Whether the contract increment job (``IncrementRatesandFees``) escalates this contract on ``today`` (§2.14).

    True only when ``today`` is the last business day of its month (:func:`last_business_day`), the increment
    percentage is > 0 (``None`` counts as 0) and the increment month matches: Arrears ``incrementmonth ==
    current month``; Advanced ``incrementmonth == current month + 2`` wrapped modulo 12, so November acts for
    January and December for February (§7 #8). ``legacy_no_wrap=True`` reproduces the legacy flow, which compares
    with the unwrapped ``current month + 2`` (13, 14) and therefore never escalates Advanced contracts whose
    increment month is January or February. ``increment_month`` ``None`` means no escalation (False).

    Raises ``TypeError`` for a ``datetime`` (its calendar day depends on a time zone) or a non-``Decimal``
    percentage, ``ValueError`` for an increment month outside 1..12.
    """
    _require_day(today, "today")
    if increment_month is None or increment_percentage is None:
        return False
    _require_month(increment_month)
    if require_money(increment_percentage, "increment percentage") <= 0:
        return False
    if today != last_business_day(today.year, today.month):
        return False
    if billing_type is BillingType.ARREARS:
        return increment_month == today.month
    target = today.month + 2 if legacy_no_wrap else (today.month + 1) % 12 + 1
    return increment_month == target


def escalator_fire_date(escalator_month: int, year: int) -> datetime.date:
    """Day ``EscalatorChildFlow`` escalates for an escalator month ``year``-``escalator_month`` (§2.14).

    The last Friday of the month before, for Advanced and Arrears alike (§7 #7: the docs' "first business day of
    the month for Advanced" is not what the code does). A January escalator fires in December of ``year − 1``:
    ``escalator_fire_date(1, 2026) == date(2025, 12, 26)``; ``escalator_fire_date(3, 2025) == date(2025, 2, 28)``.
    """
    return last_friday_before_month(year, escalator_month)


def escalator_due(
    escalator_month: int | None, today: datetime.date, *, legacy_month_day: bool = False
) -> bool:
    """Whether an enabled escalator with ``escalator_month`` fires on ``today`` (§2.14); ``None`` → False.

    Default: ``today == escalator_fire_date(m, y)`` for the escalation year ``y`` that ``today`` prepares (the
    next year when ``today`` is in December and ``m`` is January), i.e. the last Friday of the previous month.

    ``legacy_month_day=True`` reproduces the flow literally: it computes the fire date in the *current* year
    (December of the prior year for ``m = 1``) and compares only month and day, so a January escalator fires on
    the ``MM-dd`` of the last Friday of the previous December, which is not a Friday this year
    (December 2025: fires 2025-12-27, a Saturday, instead of Friday 2025-12-26). Other months agree.

    Raises ``TypeError`` for a ``datetime`` and ``ValueError`` for a month outside 1..12.
    """
    _require_day(today, "today")
    if escalator_month is None:
        return False
    _require_month(escalator_month)
    if legacy_month_day:
        fire = escalator_fire_date(escalator_month, today.year)
        return (fire.month, fire.day) == (today.month, today.day)
    year = today.year + 1 if escalator_month == 1 and today.month == 12 else today.year
    return today == escalator_fire_date(escalator_month, year)


# --- contract increment (IncrementRatesandFees) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatedRate:
    """A dated rate/fee row the increment job rewrites: a ``bs_fixedfeeservice`` or ``bs_laborhourjob`` (§1.5).

    ``key`` is the caller's identifier of the row (copied to the escalated row so the caller can copy the
    other columns: name, code, invoice group...). ``values`` are the escalated columns, e.g.
    ``{"fee": Decimal("7096.27")}`` or ``{"rate": ..., "overtime_rate": ...}`` in USD (per hour for rates); a
    null column is simply absent. ``start``/``end`` bound the active days, both inclusive, ``None`` = unbounded
    (``end is None`` is an open-ended row). ``values`` is stored as a read-only copy (the row is not hashable).

    Raises ``TypeError`` for a ``datetime`` bound or a non-``Decimal`` value, ``ValueError`` for a non-finite
    value or ``end < start``.
    """

    key: str
    values: Mapping[str, Decimal]
    start: datetime.date | None = None
    end: datetime.date | None = None

    def __post_init__(self) -> None:
        for name, value in self.values.items():
            require_money(value, f"{name} of row {self.key!r}")
        object.__setattr__(self, "values", types.MappingProxyType(dict(self.values)))
        if self.start is not None:
            _require_day(self.start, f"start of row {self.key!r}")
        if self.end is not None:
            _require_day(self.end, f"end of row {self.key!r}")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"row {self.key!r} ends {self.end} before it starts {self.start}")

    @property
    def open_ended(self) -> bool:
        """``end is None``: the only rows the increment job touches."""
        return self.end is None

    def is_active_on(self, d: datetime.date) -> bool:
        """``start ≤ d`` and (``end`` open or ``d ≤ end``), as the invoice engine selects rows (§2.0 #4, §2.15)."""
        return (self.start is None or self.start <= d) and (self.end is None or d <= self.end)


@dataclass(frozen=True, slots=True)
class RowIncrement:
    """One escalated row: ``closed`` (the input row ending on the run month's last day), ``new`` (the copy from
    the 1st of the next month, values at 2 dp, §7 #5) and ``unrounded`` (``value × (1 + pct/100)`` exactly, what
    the legacy flow writes, e.g. 7,309.1581 for 7,096.27 at 3 %)."""

    closed: DatedRate
    new: DatedRate
    unrounded: Mapping[str, Decimal]

    @property
    def rounded(self) -> bool:
        """Whether persisting at 2 dp changed a value (flagged in the explanation, §7 #5)."""
        return any(self.new.values[name] != value for name, value in self.unrounded.items())


@dataclass(frozen=True, slots=True)
class IncrementResult:
    """Outcome of :func:`apply_increment`.

    ``rows`` is the full resulting set in input order (an escalated row is followed by its copy);
    ``increments`` the escalated rows; ``untouched`` the rows left as they were; ``explanation`` one line per
    input row saying what happened and why.
    """

    rows: tuple[DatedRate, ...]
    increments: tuple[RowIncrement, ...]
    untouched: tuple[DatedRate, ...]
    explanation: tuple[str, ...]

    @property
    def closed_rows(self) -> tuple[DatedRate, ...]:
        """The rows that got ``end = last day of the run month``."""
        return tuple(increment.closed for increment in self.increments)

    @property
    def new_rows(self) -> tuple[DatedRate, ...]:
        """The escalated copies, open-ended from the 1st of the month after the run month."""
        return tuple(increment.new for increment in self.increments)


def apply_increment(
    rows: Iterable[DatedRate], percentage: Decimal, run_date: datetime.date
) -> IncrementResult:
    """The effect of ``IncrementRatesandFees`` on one contract's rows on ``run_date`` (§2.1, §2.2, §2.14, C-2).

    Every open-ended row that has started by the end of the run month is closed (``end`` = last day of
    ``run_date``'s month) and copied to a new open-ended row from the 1st of the next month with each value
    ``× (1 + percentage/100)``, persisted at 2 dp (``round2``, §7 #5; the exact product is kept in
    :attr:`RowIncrement.unrounded`). Rows with an end date are untouched, and so is an open-ended row starting
    after the run month, notably the copy made by an earlier run: applying the job twice on the same day (or to
    its own result) escalates once. Whether the job is due is :func:`increment_due`'s business; ``run_date``
    only fixes the month.

    Raises ``ValueError`` for a percentage ≤ 0 (the job selects only contracts with ``incrementamount > 0``),
    ``TypeError`` for a non-``Decimal`` percentage or a ``datetime`` run date.
    """
    _require_day(run_date, "run date")
    if require_money(percentage, "increment percentage") <= 0:
        raise ValueError(
            f"increment percentage must be > 0, got {percentage}: the job does not select the contract"
        )
    closes_on = _month_end(run_date.year, run_date.month)
    starts_on = closes_on + datetime.timedelta(days=1)
    factor = 1 + percentage / HUNDRED

    result_rows: list[DatedRate] = []
    increments: list[RowIncrement] = []
    untouched: list[DatedRate] = []
    explanation: list[str] = []
    for row in rows:
        if not row.open_ended:
            untouched.append(row)
            result_rows.append(row)
            explanation.append(f"{row.key}: untouched, not open-ended (ends {row.end})")
            continue
        if row.start is not None and row.start > closes_on:
            untouched.append(row)
            result_rows.append(row)
            explanation.append(
                f"{row.key}: untouched, starts {row.start} after {closes_on} (already escalated or future row)"
            )
            continue
        unrounded = {name: value * factor for name, value in row.values.items()}
        closed = replace(row, end=closes_on)
        new = DatedRate(row.key, {name: round2(value) for name, value in unrounded.items()}, starts_on)
        increment = RowIncrement(closed, new, types.MappingProxyType(unrounded))
        increments.append(increment)
        result_rows.extend((closed, new))
        changes = ", ".join(
            f"{name} {row.values[name]} × (1 + {percentage}/100) = {unrounded[name]} → {new.values[name]}"
            for name in row.values
        )
        note = " (rounded to 2 dp on persist; the legacy flow stores the unrounded value, §7 #5)"
        explanation.append(
            f"{row.key}: closed on {closes_on}; escalated copy from {starts_on}: {changes or 'no values'}"
            + (note if increment.rounded else "")
        )
    return IncrementResult(tuple(result_rows), tuple(increments), tuple(untouched), tuple(explanation))


# --- escalator (EscalatorChildFlow) ------------------------------------------------------------------------


def escalate_value(value: Decimal, kind: EscalationKind, escalator: Decimal) -> Decimal:
    """One escalator step, rounded to cents (§2.14): Percentage ``value + value × escalator/100``, FixedAmount
    ``value + escalator``. Units follow ``value`` (USD, USD/hour or whole-number percent).

    ``escalate_value(Decimal(1000), PERCENTAGE, Decimal(5)) == Decimal("1050.00")``. The flow's other spellings
    (``p × (1 + v/100)``) are the same number in exact decimal arithmetic. Raises ``TypeError`` for a
    non-``Decimal`` and ``ValueError`` for a non-finite input.
    """
    require_money(value, "escalated value")
    require_money(escalator, "escalator value")
    if kind is EscalationKind.PERCENTAGE:
        return round2(value + value * escalator / HUNDRED)
    return round2(value + escalator)


def escalate_fixed_fee(fee: Decimal, kind: EscalationKind, escalator: Decimal) -> Decimal:
    """MA FixedFee ``bs_fixedfeeamount`` in USD (§2.10a): ``f + f×v/100`` or ``f + v``, at cents (C-2 (b))."""
    return escalate_value(fee, kind, escalator)


def escalate_revenue_percentage(percentage: Decimal, kind: EscalationKind, escalator: Decimal) -> Decimal:
    """MA RevenuePercentage ``bs_revenuepercentageamount`` (whole-number %, §2.10a): ``p×(1+v/100)`` or
    ``p + v``, at 2 dp."""
    return escalate_value(percentage, kind, escalator)


def escalate_pteb_percentage(percentage: Decimal, kind: EscalationKind, escalator: Decimal) -> Decimal:
    """Billable-account PTEB percentage (whole-number %, §2.9): ``p + p×v/100`` or ``p + v`` at 2 dp.

    FixedAmount is additive (§7 #11; the C# forecast never applies it because it tests for "Amount").
    """
    return escalate_value(percentage, kind, escalator)


@dataclass(frozen=True, slots=True)
class MaJobRate:
    """One entry of the MA ``bs_perlaborhourjobcodedata`` JSON (§1.5, §2.10a): rates in USD/hour and the
    per-rate escalator values (percent or USD/hour depending on the MA escalator type; ``None`` = none)."""

    code: str
    standard_rate: Decimal
    overtime_rate: Decimal
    standard_rate_escalator: Decimal | None = None
    overtime_rate_escalator: Decimal | None = None


def escalate_ma_job(job: MaJobRate, kind: EscalationKind) -> MaJobRate:
    """MA PerLaborHour job data (§2.14): ``StandardRate`` and ``OvertimeRate`` each escalated with its own
    escalator value (``r + r×v_r/100`` or ``r + v_r``, at cents); a rate whose escalator is ``None`` is kept."""
    standard, overtime = job.standard_rate, job.overtime_rate
    if job.standard_rate_escalator is not None:
        standard = escalate_value(standard, kind, job.standard_rate_escalator)
    if job.overtime_rate_escalator is not None:
        overtime = escalate_value(overtime, kind, job.overtime_rate_escalator)
    return replace(job, standard_rate=standard, overtime_rate=overtime)


@dataclass(frozen=True, slots=True)
class EscalatingTier:
    """A profit-share tier as stored (``[{"SharePercentage", "Amount", "EscalatorValue"}]``, §1.5):
    whole-number share percent, cap in USD (0 = unlimited, §2.10e), escalator value (percent or points)."""

    share_percentage: Decimal
    amount: Decimal
    escalator_value: Decimal | None = None


def escalate_profit_share_tiers(
    tiers: Sequence[EscalatingTier], kind: EscalationKind
) -> tuple[EscalatingTier, ...]:
    """Profit-share tiers after the escalator (§2.14): each ``SharePercentage × (1 + EscalatorValue/100)``
    (Percentage) or ``SharePercentage + EscalatorValue`` (FixedAmount), at 2 dp; caps and order unchanged, a tier
    without an escalator value kept. C-2 (b): 8 % with 25 (Percentage) → 10.00."""
    return tuple(
        tier
        if tier.escalator_value is None
        else replace(tier, share_percentage=escalate_value(tier.share_percentage, kind, tier.escalator_value))
        for tier in tiers
    )


# --- helpers -----------------------------------------------------------------------------------------------


def _require_month(month: int) -> None:
    if type(month) is not int or not 1 <= month <= 12:
        raise ValueError(f"month must be an int 1..12, got {month!r}")


def _month_end(year: int, month: int) -> datetime.date:
    _require_month(month)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise ValueError(f"year must be {datetime.MINYEAR}..{datetime.MAXYEAR}, got {year!r}")
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _require_day(value: object, what: str) -> None:
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise TypeError(
            f"{what} must be a datetime.date (not a datetime), got {type(value).__name__} {value!r}"
        )
