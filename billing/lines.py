"""What the engine produces: invoice lines, invoices and the statement preview (domain.md §1.6, §3.4)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .codes import BillingType, BuildingBlock
from .period import ServicePeriod

__all__ = ["BillingPreview", "Invoice", "InvoiceLine"]


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice (§1.6 line item).

    ``building_block`` produced it; ``title``, ``description`` and ``code`` (GL main account, e.g. ``"4700"``)
    are printed; ``amount`` is USD, at cents once the engine has finished with it (§0.1). ``explanation`` is
    for a human checking the figure: the inputs used and the formula, with the ``domain.md`` section.
    The §1.6 metadata flags join as defaulted fields when the blocks that set them are implemented.
    """

    building_block: BuildingBlock
    title: str
    code: str
    amount: Decimal
    description: str = ""
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    """The invoice of one invoice group in a statement (§1.6, §3.4).

    ``lines`` are in the §2.11 order, all non-zero; ``amount`` (USD) is Σ line amounts (the non-MA rule of
    §2.11). ``title``/``description`` come from the invoice group (``None`` for the implicit group),
    ``payment_terms``/``purchase_order`` from the contract.
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


@dataclass(frozen=True, slots=True)
class BillingPreview:
    """A statement computed on demand, not persisted (§3, §8 ``previewInvoice``).

    ``site_number`` is normalised to 4 digits; ``rate_selection_date`` is the day whose active rate rows were
    billed (§2.15). ``invoices`` has one entry per group with ≥1 line, by group number (an empty tuple is what
    the legacy flow marks Failed, §2.0 #6); ``total`` is Σ invoice amounts (USD). ``not_computed`` lists the
    enabled blocks this engine cannot compute yet, in §2.11 order: the preview is then incomplete, never
    silently zero for them. ``warnings`` are human-readable notes about the configuration.
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
