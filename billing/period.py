"""Service periods and the dates derived from them (domain.md §0.1, §2.15, §3.2, §3.4)."""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from .codes import BillingType

__all__ = ["PeriodError", "ServicePeriod"]

# ASCII digits only: `\d` would also accept e.g. Arabic-Indic digits, which int() happily converts.
_KEY = re.compile(r"([0-9]{4})-([0-9]{2})")
_PARSE_MIN_YEAR = 1900


class PeriodError(ValueError):
    """A service period that is malformed or out of range; the message names the bad value."""


@dataclass(frozen=True, slots=True, order=True)
class ServicePeriod:
    """One calendar month ``[start, end]`` that a statement bills (§0.1). Ordered chronologically.

    ``year`` must be one a ``datetime.date`` can hold (1..9999) and ``month`` 1..12, else ``PeriodError``.
    There is no pro-ration: the period is only ever used as a whole month.
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        for name, value in (("year", self.year), ("month", self.month)):
            if type(value) is not int:
                raise PeriodError(f"servicePeriod {name} must be an int, got {value!r}")
        if not datetime.MINYEAR <= self.year <= datetime.MAXYEAR:
            raise PeriodError(f"servicePeriod year must be 1..9999, got {self.year}")
        if not 1 <= self.month <= 12:
            raise PeriodError(f"servicePeriod month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> ServicePeriod:
        """Parse exactly ``"YYYY-MM"`` (the API's period key), year 1900..9999.

        ``"YYYYMM"``, blanks, days and missing zero padding are rejected with ``PeriodError``, e.g.
        ``servicePeriod must be YYYY-MM, got '2025-13'``.
        """
        match = _KEY.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise PeriodError(f"servicePeriod must be YYYY-MM, got {text!r}")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"servicePeriod must be YYYY-MM, got {text!r}")
        if year < _PARSE_MIN_YEAR:
            raise PeriodError(f"servicePeriod year must be 1900..9999, got {text!r}")
        return cls(year, month)

    @classmethod
    def of(cls, d: datetime.date) -> ServicePeriod:
        """The period containing date ``d``."""
        return cls(d.year, d.month)

    @classmethod
    def default_for(cls, billing_type: BillingType, today: datetime.date) -> ServicePeriod:
        """Period of a statement task created on ``today`` without a period (§3.2).

        Arrears: the previous month; Advanced: the next month. A task in May 2025 bills 2025-04 (Arrears) or
        2025-06 (Advanced).
        """
        return cls.of(today).shift(-1 if billing_type is BillingType.ARREARS else 1)

    @property
    def start(self) -> datetime.date:
        """First day of the month (``P_start``)."""
        return datetime.date(self.year, self.month, 1)

    @property
    def end(self) -> datetime.date:
        """Last day of the month (``P_end``)."""
        return datetime.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def key(self) -> str:
        """``"YYYY-MM"``, the inverse of :meth:`parse`."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def yyyymm(self) -> str:
        """``"YYYYMM"``, the legacy period key of ledgers and invoice numbers (§0.1)."""
        return f"{self.year:04d}{self.month:02d}"

    def shift(self, months: int) -> ServicePeriod:
        """The period ``months`` months later (earlier if negative); ``PeriodError`` outside year 1..9999."""
        index = self.year * 12 + (self.month - 1) + months
        return ServicePeriod(index // 12, index % 12 + 1)

    def through(self, last: ServicePeriod) -> list[ServicePeriod]:
        """This period and every one after it up to ``last`` (inclusive), in order; empty if ``last`` is earlier."""
        return [self.shift(n) for n in range((last.year - self.year) * 12 + last.month - self.month + 1)]

    def generation_period(self, billing_type: BillingType) -> ServicePeriod:
        """Month an on-time legacy run generates this statement in; its ``yyyyMM`` is in the number (§3.4).

        Arrears: the period itself (its ``yyyyMM`` is that of ``P_start``); Advanced: the month before.
        """
        return self if billing_type is BillingType.ARREARS else self.shift(-1)

    def invoice_date(self, billing_type: BillingType) -> datetime.date:
        """Invoice date (§3.2): Arrears ``P_end``; Advanced ``P_start − 1 month`` (1st of generation month).

        The GP export relies on "invoice date is the 1st" to recognise Advanced invoices (§3.2).
        """
        if billing_type is BillingType.ARREARS:
            return self.end
        return self.shift(-1).start

    def natural_generation_date(self, billing_type: BillingType) -> datetime.date:
        """Date whose active rate rows an on-time legacy run bills (§2.15).

        Arrears: ``P_end + 1 day`` (so the increment month is billed at the escalated rate, as in legacy runs,
        §2.14); Advanced: the invoice date ``P_start − 1 month``.
        """
        if billing_type is BillingType.ARREARS:
            # P_end + 1 day, via shift() so that 9999-12 fails with PeriodError rather than OverflowError.
            return self.shift(1).start
        return self.shift(-1).start

    def __str__(self) -> str:
        return self.key
