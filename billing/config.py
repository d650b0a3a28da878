"""Contract configuration as the engine sees it (domain.md §1.3, §1.5).

Plain frozen values built by the caller (repository, importer, tests); the engine never reads storage.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .codes import BillingType, BuildingBlock
from .money import require_money
from .numbering import normalize_site_number

__all__ = ["ContractConfig", "FixedFeeService", "InvoiceGroup"]


def _require_date(value: datetime.date | None, what: str) -> None:
    # A datetime is a date subclass, but comparing one with a date raises TypeError deep inside the engine.
    if value is not None and (isinstance(value, datetime.datetime) or not isinstance(value, datetime.date)):
        raise TypeError(f"{what} must be a datetime.date, got {value!r}")


def _require_group_number(value: object, what: str) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{what} must be an int >= 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class InvoiceGroup:
    """Invoice group ``bs_invoicegroup`` (§1.5): one invoice per group and statement.

    ``number`` (>= 1, else ``ValueError``) is the per-contract key that components route to.
    ``title`` and ``description`` become the invoice header; ``site_number`` overrides the site in the
    invoice number (§3.4); ``customer_name`` and ``vendor_id`` override the site's for the PDF and GP export.
    """

    number: int
    title: str | None = None
    description: str | None = None
    site_number: str | None = None
    customer_name: str | None = None
    vendor_id: str | None = None

    def __post_init__(self) -> None:
        _require_group_number(self.number, "invoice group number")
        if self.site_number is not None:
            normalize_site_number(self.site_number)


@dataclass(frozen=True, slots=True)
class FixedFeeService:
    """Fixed-fee service row ``bs_fixedfeeservice`` (§1.5, §2.1).

    ``display_name`` is the line title, ``code`` the GL revenue account (e.g. ``"4700"``), ``fee`` the monthly
    amount in USD (finite ``Decimal``, else ``TypeError``/``ValueError``), ``name`` the service type.
    ``start_date``/``end_date`` bound the days the row is active, both inclusive; ``None`` means unbounded on
    that side; a ``datetime`` is refused (``TypeError``). Escalation closes a row and adds a new one (§2.14),
    so several rows of one service coexist.
    ``invoice_group`` ``None`` routes to group 1 (§2.0 gate 2).
    """

    display_name: str
    code: str
    fee: Decimal
    name: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        require_money(self.fee, f"fixed fee of {self.display_name!r}")
        _require_date(self.start_date, f"start date of fixed fee {self.display_name!r}")
        _require_date(self.end_date, f"end date of fixed fee {self.display_name!r}")
        if self.invoice_group is not None:
            _require_group_number(self.invoice_group, f"invoice group of fixed fee {self.display_name!r}")

    @property
    def group_number(self) -> int:
        """The invoice group the row bills on: ``invoice_group`` or 1 (§2.0 gate 2)."""
        return 1 if self.invoice_group is None else self.invoice_group

    def is_active_on(self, d: datetime.date) -> bool:
        """Whether the row is in force on ``d``: ``start ≤ d`` and (``end`` open or ``end ≥ d``) (§2.0 #4)."""
        started = self.start_date is None or self.start_date <= d
        return started and (self.end_date is None or d <= self.end_date)


@dataclass(frozen=True, slots=True)
class ContractConfig:
    """Billing configuration of one contract ``bs_contract`` and its component rows (§1.3, §1.5).

    ``site_number`` is the site's business key (digits; normalised to 4 digits where it is printed).
    ``building_blocks`` are the enabled blocks (§1.4, gate 1). ``invoice_groups`` must have distinct numbers
    (``ValueError``); they are used only when ``INVOICE_GROUPING`` is enabled, otherwise the engine bills the
    implicit group 1 (§1.5). ``payment_terms`` and ``purchase_order`` are copied onto each invoice (§3.4).
    ``increment_percentage`` is a whole-number percent (3 = 3 %) and ``increment_month`` 1..12 (§1.3, §2.14);
    billing does not apply them: escalation is stored as new dated rows.
    """

    site_number: str
    billing_type: BillingType
    building_blocks: frozenset[BuildingBlock]
    invoice_groups: tuple[InvoiceGroup, ...] = ()
    fixed_fee_services: tuple[FixedFeeService, ...] = ()
    payment_terms: str | None = None
    purchase_order: str | None = None
    increment_percentage: Decimal = Decimal(0)
    increment_month: int | None = None

    def __post_init__(self) -> None:
        normalize_site_number(self.site_number)
        numbers = [group.number for group in self.invoice_groups]
        duplicates = sorted({number for number in numbers if numbers.count(number) > 1})
        if duplicates:
            raise ValueError(f"invoice group numbers must be distinct, got duplicates {duplicates}")
        require_money(self.increment_percentage, "increment percentage")
        if self.increment_month is not None and (
            type(self.increment_month) is not int or not 1 <= self.increment_month <= 12
        ):
            raise ValueError(f"increment month must be 1..12, got {self.increment_month!r}")
