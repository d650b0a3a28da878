"""What the engine produces: invoice lines, invoices and the statement preview (domain.md §1.6, §3.4).

Also the one line-shaped *input*: :class:`AdhocLine`, an ad-hoc line carried over from an earlier version of
the statement (§3.3, §3.4).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .codes import AdhocLineType, BillingType, BuildingBlock
from .money import HUNDRED, require_money
from .period import ServicePeriod

__all__ = [
    "AdhocLine",
    "BillingPreview",
    "Invoice",
    "InvoiceLine",
    "ProfitShareItem",
    "ProfitShareSummary",
    "RevenueShareItem",
    "ValidationItem",
    "line_details",
]


@dataclass(frozen=True, slots=True)
class RevenueShareItem:
    """One processed tier of one threshold structure: a §2.4 "distribution item" (``bs_revenuesharebypercent``).

    ``threshold_structure`` is 1-based in stored order; ``tier_index`` 0-based in stored order (a tier skipped
    because earlier months consumed it yields no item). ``revenue_amount`` = max(tier revenue, 0) USD;
    ``share_percentage`` whole-number percent to charge; ``amount_due`` USD unrounded; ``tier_limit`` the
    tier's cap (0 = unlimited, printed "∞").
    """

    threshold_structure: int
    tier_index: int
    revenue_amount: Decimal
    share_percentage: Decimal
    amount_due: Decimal
    tier_limit: Decimal

    @property
    def owner_percentage(self) -> Decimal:
        """``100 − share_percentage`` (§1.6 side table)."""
        return HUNDRED - self.share_percentage

    @property
    def amount_due_to_owner(self) -> Decimal:
        """``revenue_amount − amount_due`` (§1.6 side table)."""
        return self.revenue_amount - self.amount_due


@dataclass(frozen=True, slots=True)
class ValidationItem:
    """Validation fee charged at one structure-1 tier (§2.5, ``bs_validationbypercent``).

    ``weight`` = tier revenue / W (W = Σ structure-1 tier revenue); ``amount_over_threshold`` = O;
    ``amount_due`` = p/100 × weight × O, USD unrounded.
    """

    tier_index: int
    revenue_amount: Decimal
    share_percentage: Decimal
    weight: Decimal
    amount_over_threshold: Decimal
    amount_due: Decimal


@dataclass(frozen=True, slots=True)
class ProfitShareItem:
    """One processed profit-share tier (§2.10e, ``bs_profitsharebypercentage``).

    ``profit_amount`` = max(tier profit, 0), ``amount_due`` USD unrounded, ``tier_limit`` the cap (0 = ∞);
    ``validation_portion`` = over / P_month × ``amount_due``: the part of the charge owed to validations
    above the threshold (0 when P_month is 0).
    """

    tier_index: int
    profit_amount: Decimal
    share_percentage: Decimal
    amount_due: Decimal
    tier_limit: Decimal
    validation_portion: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice (§1.6 line item).

    ``building_block`` produced it (``None`` for a carried-over ad-hoc line, which no block produces);
    ``title``, ``description`` and ``code`` (GL main account, e.g. ``"4700"``) are printed; ``amount`` is
    USD, at cents once the engine has finished with it (§0.1). ``explanation`` is for a human checking the
    figure: the inputs used and the formula, with the ``domain.md`` section.

    The §1.6 ``metaData`` flags are typed fields (the lead persists them as columns of ``invoice_line``):
    ``is_adhoc`` … ``is_paid_parking_tax``; ``is_non_gl_billable_expense`` marks the §2.10c lines that
    profit share deducts although they carry no ``is_profit_deduction``. ``monthly_profit`` (profit-share
    line) is P_month; ``taxes_paid`` (deposited-revenue line) is D × tax rate, 0 when Towne Park is not
    responsible for the tax; ``profit_share_calculation_details`` is the running breakdown. ``adhoc_type``
    and ``line_item_id`` come from the ad-hoc line. The ``*_items`` tuples are the side-table rows behind
    the revenue-share, validation and profit-share lines (§1.6), empty on every other line.
    """

    building_block: BuildingBlock | None
    title: str
    code: str
    amount: Decimal
    description: str = ""
    explanation: str = ""
    is_adhoc: bool = False
    is_profit_deduction: bool = False
    is_non_billable_expense: bool = False
    is_client_paid_expense: bool = False
    is_management_fee: bool = False
    is_billable_payroll_accounts: bool = False
    is_pteb: bool = False
    is_support_services: bool = False
    is_billable_expense_accounts: bool = False
    is_insurance: bool = False
    is_claims: bool = False
    is_profit_share: bool = False
    is_deposited_revenue: bool = False
    is_paid_parking_tax: bool = False
    is_non_gl_billable_expense: bool = False
    monthly_profit: Decimal | None = None
    taxes_paid: Decimal | None = None
    profit_share_calculation_details: str = ""
    adhoc_type: AdhocLineType | None = None
    line_item_id: str | None = None
    revenue_share_items: tuple[RevenueShareItem, ...] = ()
    validation_items: tuple[ValidationItem, ...] = ()
    profit_share_items: tuple[ProfitShareItem, ...] = ()


@dataclass(frozen=True, slots=True)
class AdhocLine:
    """An ad-hoc line carried over from the previous version of the statement (§3.3, §3.4).

    ``invoice_group`` routes it (the group of the invoice it was entered on, from ``metaData.invoiceGroup``;
    >= 1 else ``ValueError``); ``amount`` USD (finite ``Decimal``). ``CLIENT_PAID_EXPENSE`` and
    ``NON_BILLABLE_EXPENSE`` lines are billed negative whatever the sign given (§3.4). ``line_item_id`` is the
    line's GUID, kept so the lead can persist it unchanged.
    """

    invoice_group: int
    title: str
    code: str
    amount: Decimal
    adhoc_type: AdhocLineType
    description: str = ""
    line_item_id: str | None = None

    def __post_init__(self) -> None:
        if type(self.invoice_group) is not int or self.invoice_group < 1:
            raise ValueError(f"ad-hoc line invoice group must be an int >= 1, got {self.invoice_group!r}")
        require_money(self.amount, f"amount of ad-hoc line {self.title!r}")
        if not isinstance(self.adhoc_type, AdhocLineType):
            raise TypeError(f"ad-hoc line type must be an AdhocLineType, got {self.adhoc_type!r}")


@dataclass(frozen=True, slots=True)
class ProfitShareSummary:
    """The profit-share pass of a management-agreement invoice (§2.10d-e).

    ``enabled`` is the agreement's profit-share switch (when off, only the MA invoice rounding applies and
    every other field is 0/empty). ``revenue`` = Rev, ``validation_over_threshold`` = over (§2.10d),
    ``deductions`` = Σ deductions, ``monthly_profit`` = P_month = Rev + over − deductions (kept here even when
    the profit-share line is 0 and dropped, because annual accumulation reads it next month),
    ``prior_profit`` = Prior since ``accumulation_start`` (``None`` for monthly), ``amount_due`` = AmountDue
    unrounded (the invoice amount is round2(Σ other lines + amount_due)), ``removed_lines`` the ad-hoc
    client-paid lines taken off the invoice. USD throughout.
    """

    enabled: bool
    revenue: Decimal
    validation_over_threshold: Decimal
    deductions: Decimal
    monthly_profit: Decimal
    prior_profit: Decimal
    accumulation_start: datetime.date | None
    amount_due: Decimal
    items: tuple[ProfitShareItem, ...]
    removed_lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True, slots=True)
class Invoice:
    """The invoice of one invoice group in a statement (§1.6, §3.4).

    ``lines`` are in the §2.11 order, all non-zero. ``amount`` (USD) is Σ line amounts (the non-MA rule of
    §2.11) or, on the management agreement's invoice, round2(Σ lines other than profit share + AmountDue)
    (§2.10e), which can differ from Σ lines by a cent. ``title``/``description`` come from the invoice group
    (``None`` for the implicit group), ``payment_terms``/``purchase_order`` from the contract.
    ``profit_share`` is the profit-share pass on the management agreement's invoice, else ``None``.
    """

    group_number: int
    invoice_number: str
    invoice_date: datetime.date
    title: str | None
    description: str | None
    payment_terms: str | None
    purchase_order: str | None
    lines: tuple[InvoiceLine, ...]
    amount: Decimal
    profit_share: ProfitShareSummary | None = None


@dataclass(frozen=True, slots=True)
class BillingPreview:
    """A statement computed on demand, not persisted (§3, §8 ``previewInvoice``).

    ``site_number`` is normalised to 4 digits; ``rate_selection_date`` is the day whose active rate rows were
    billed (§2.15). ``invoices`` has one entry per group with ≥1 line, by group number (an empty tuple is what
    the legacy flow marks Failed, §2.0 #6); ``total`` is Σ invoice amounts (USD). ``not_computed`` lists the
    enabled blocks this engine cannot compute, in §2.11 order: the preview is then incomplete, never
    silently zero for them. ``warnings`` are human-readable notes about the configuration and the facts.

    The side-table rows of the statement (§1.6), kept even when their line is 0.00 and dropped:
    ``revenue_share_items`` (``bs_revenuesharebypercent``), ``validation_items`` (``bs_validationbypercent``
    of §2.5) and ``profit_share`` (the management agreement's pass, with ``bs_profitsharebypercentage``
    items and ``monthly_profit``), ``None`` when no invoice group is the agreement's.
    """

    site_number: str
    service_period: ServicePeriod
    billing_type: BillingType
    version: int
    rate_selection_date: datetime.date
    invoices: tuple[Invoice, ...]
    total: Decimal
    not_computed: tuple[BuildingBlock, ...]
    warnings: tuple[str, ...]
    revenue_share_items: tuple[RevenueShareItem, ...] = ()
    validation_items: tuple[ValidationItem, ...] = ()
    profit_share: ProfitShareSummary | None = None

    def lines(self) -> tuple[InvoiceLine, ...]:
        """Every line of every invoice, by group then line order."""
        return tuple(line for invoice in self.invoices for line in invoice.lines)


def line_details(line: InvoiceLine) -> dict[str, object]:
    """The structured inputs behind a line as JSON-ready values, decimals as strings: revenue-share
    distribution items, validation allocation, profit-share tiers and breakdown (the legacy supporting-report
    side tables, §1.6). Keys are the field names (`revenue_share_items`, …); empty parts are left out."""
    details: dict[str, object] = {}
    for name in ("revenue_share_items", "validation_items", "profit_share_items"):
        items = getattr(line, name)
        if items:
            details[name] = [
                {
                    slot: str(value) if isinstance(value, Decimal) else value
                    for slot in type(item).__slots__
                    for value in (getattr(item, slot),)
                }
                for item in items
            ]
    if line.profit_share_calculation_details:
        details["profit_share_calculation_details"] = line.profit_share_calculation_details
    return details
