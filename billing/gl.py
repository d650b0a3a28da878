"""Great Plains GL export of a sent statement (domain.md §3.8).

Positive invoices go to receivables (one credit per positive line, a debit per negative line, a balancing
A/R debit); zero or negative invoices go to payables (document amount = −amount, balancing A/P credit).
Line accounts are built from the site's GL string (`EE-RR-CCCC-`) + line code + site number; the balancing
accounts (A/R, A/P, deferred revenue) from the entity code of the site's company (:func:`balancing_entity`).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .money import ZERO, round2

__all__ = ["COMPANY_ENTITY", "GlEntry", "GlInvoice", "balancing_entity", "company_of", "gl_entries", "to_csv"]

DEFAULT_CODE = "4790"
# The entity code each company balances in (§3.8).
COMPANY_ENTITY = {"ENC": "07", "UPP": "22", "TOWNE": "02"}


def company_of(gl_string: str) -> str:
    """The company of a site GL string (§3.8): its first two characters `07` → ENC, `22` → UPP, anything
    else → TOWNE. `company_of("04-01-0559-") == "TOWNE"`."""
    return {"07": "ENC", "22": "UPP"}.get(gl_string[:2], "TOWNE")


def balancing_entity(gl_string: str) -> str:
    """`{EE}` of the balancing accounts A/R `{EE}-00-0000-1200-0000`, A/P `{EE}-00-0000-2000-0000` and deferred
    revenue `{EE}-00-0000-2450-0000` (§3.8): the entity code of the site's **company** (ENC → `07`,
    UPP → `22`, TOWNE → `02`), not the GL string's prefix. A TOWNE site whose GL string starts `03-` or `04-`
    balances in `02`: `balancing_entity("03-03-1001-") == "02"`."""
    return COMPANY_ENTITY[company_of(gl_string)]


@dataclass(frozen=True, slots=True)
class GlInvoice:
    """What the export needs of one invoice: number, date, amount (USD) and (code, amount, description) lines."""

    invoice_number: str
    invoice_date: datetime.date
    amount: Decimal
    lines: Sequence[tuple[str, Decimal, str]]
    vendor_id: str | None = None
    advanced: bool = False


@dataclass(frozen=True, slots=True)
class GlEntry:
    batch_id: str
    batch: str  # RECEIVABLES | PAYABLES
    interface: str  # TOWNE for receivables; the company for payables
    document_number: str
    document_date: datetime.date
    account: str
    debit: Decimal
    credit: Decimal
    description: str
    vendor_id: str | None = None
    deferred_account: str | None = None  # Advanced invoices carry {EE}-00-0000-2450-0000 (§3.8)


def gl_entries(
    invoices: Sequence[GlInvoice], *, gl_string: str, site_number: str, service_period: str
) -> list[GlEntry]:
    """Journal entries of a statement's invoices (§3.8). `service_period` is `YYYYMM`.

    Line account = `{gl_string}{code or 4790}-{site_number}`, e.g. `02-03-1009-4700-0349`. Receivables balance
    to `{EE}-00-0000-1200-0000`; every entry of an Advanced invoice carries the deferred-revenue account
    `{EE}-00-0000-2450-0000` (§3.8 names it without saying more, so it is carried, not posted); payables to
    `{EE}-00-0000-2000-0000`. `{EE}` = :func:`balancing_entity`. Batch id
    `{yyyyMM}POWERBILL{invoice date yyyyMMdd}`.
    """
    entity = balancing_entity(gl_string)
    company = company_of(gl_string)
    description = f"{service_period}{site_number}POWERBILL"
    entries: list[GlEntry] = []
    for invoice in invoices:
        batch_id = f"{service_period}POWERBILL{invoice.invoice_date:%Y%m%d}"
        document = invoice.invoice_number.replace("-", "")
        receivable = invoice.amount > 0
        deferred = f"{entity}-00-0000-2450-0000" if invoice.advanced else None
        for code, amount, line_description in invoice.lines:
            if amount == 0:
                continue
            account = f"{gl_string}{code or DEFAULT_CODE}-{site_number}"
            value = round2(abs(amount))
            # receivables: revenue is a credit; payables mirror it (the invoice is negative overall)
            credit_side = amount > 0
            entries.append(
                GlEntry(
                    batch_id,
                    "RECEIVABLES" if receivable else "PAYABLES",
                    "TOWNE" if receivable else company,
                    document,
                    invoice.invoice_date,
                    account,
                    ZERO if credit_side else value,
                    value if credit_side else ZERO,
                    line_description or description,
                    None if receivable else invoice.vendor_id,
                    deferred,
                )
            )
        total = round2(abs(invoice.amount))
        if receivable:
            entries.append(
                GlEntry(batch_id, "RECEIVABLES", "TOWNE", document, invoice.invoice_date,
                        f"{entity}-00-0000-1200-0000", total, ZERO, description, None, deferred)
            )  # fmt: skip
        else:
            entries.append(
                GlEntry(batch_id, "PAYABLES", company, document, invoice.invoice_date,
                        f"{entity}-00-0000-2000-0000", ZERO, total, description, invoice.vendor_id, deferred)
            )  # fmt: skip
    return entries


COLUMNS = (
    "batch_id", "batch", "interface", "document_number", "document_date", "account", "debit", "credit",
    "description", "vendor_id", "deferred_account",
)  # fmt: skip


def to_csv(entries: Sequence[GlEntry]) -> str:
    """The entries as CSV text with a header row; amounts with two decimals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow(
            [e.batch_id, e.batch, e.interface, e.document_number, e.document_date.isoformat(), e.account,
             f"{e.debit:.2f}", f"{e.credit:.2f}", e.description, e.vendor_id or "", e.deferred_account or ""]
        )  # fmt: skip
    return buffer.getvalue()
