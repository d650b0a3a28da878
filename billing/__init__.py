"""Pure billing engine of Towne Graph: contract configuration + period facts → invoices (domain.md §2, §3).

Standard library only (a test enforces it); money is ``decimal.Decimal``. Entry point: :func:`preview`.
"""

from __future__ import annotations

from .blocks import BLOCKS, LINE_ORDER, BlockResult, BlockSpec, Calculator, Diagnosis
from .codes import BillingType, BuildingBlock, RateSelection
from .config import ContractConfig, FixedFeeService, InvoiceGroup
from .engine import preview, rate_selection_date, statement_groups
from .facts import PeriodFacts
from .lines import BillingPreview, Invoice, InvoiceLine
from .money import round2
from .numbering import invoice_number, normalize_site_number
from .period import PeriodError, ServicePeriod

__all__ = [
    "BLOCKS",
    "LINE_ORDER",
    "BillingPreview",
    "BillingType",
    "BlockResult",
    "BlockSpec",
    "BuildingBlock",
    "Calculator",
    "ContractConfig",
    "Diagnosis",
    "FixedFeeService",
    "Invoice",
    "InvoiceGroup",
    "InvoiceLine",
    "PeriodError",
    "PeriodFacts",
    "RateSelection",
    "ServicePeriod",
    "invoice_number",
    "normalize_site_number",
    "preview",
    "rate_selection_date",
    "round2",
    "statement_groups",
]
