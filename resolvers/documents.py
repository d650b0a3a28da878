"""Invoice documents (issue 12 §1): the PDF of a stored invoice, read through the caller's session.

`invoice_document` renders one invoice, `version_documents` every invoice of one statement version (what the
sending worker attaches). Both read as the session's bound user: an invoice outside the caller's row scope
does not exist here (None / left out), exactly as in GraphQL (docs/security.md). The figures come from the
stored rows (the invoice, its lines in their stored order, §2.11; the statement's service period; the site;
the contract's supporting-report selection, §3.7) and are laid out by `server.invoice_pdf.render`.

Bill-to (§1.2, §4.4): the site's invoice recipient and billing contact e-mails are personal and printed only
for roles that see billing contacts (`BILLING_DETAIL`: billingAdmin, billingManager); other callers get the
site name and address. `billing_detail=None` asks the database which roles the session's user holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories import documents as repo
from db.repositories.statements import lines_of
from resolvers.contract_changes import SUPPORTING_REPORTS
from server.invoice_pdf import Appendix, DocumentLine, InvoiceFigures, render


@dataclass(frozen=True)
class InvoiceDocument:
    """One invoice as a PDF: `filename` is `f"{invoice_number}.pdf"`, `content` the PDF bytes
    (deterministic: the same stored invoice gives the same bytes)."""

    invoice_id: uuid.UUID
    invoice_number: str
    filename: str
    content: bytes


_HOUR = Decimal("0.01")


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(_HOUR, rounding=ROUND_HALF_UP)


async def _mix_of_sales(session: AsyncSession, header: repo.InvoiceHeader) -> Appendix | None:
    rows = await repo.mix_of_sales(
        session, site_id=header.site.id, start=header.service_period_start, end=header.service_period_end
    )
    if not rows:
        return None
    return Appendix(
        title="Mix Of Sales",
        columns=("Revenue code", "Category", "External revenue", "Net external revenue"),
        rows=(
            *((r.revenue_code, r.category, r.external_revenue, r.net_external_revenue) for r in rows),
            (
                "Total",
                "",
                sum((r.external_revenue for r in rows), Decimal(0)),
                sum((r.net_external_revenue for r in rows), Decimal(0)),
            ),
        ),
        note="Revenue of the service period by revenue code and category, validations excluded; USD.",
    )


async def _validations(session: AsyncSession, header: repo.InvoiceHeader) -> Appendix | None:
    rows = await repo.validations(
        session, site_id=header.site.id, start=header.service_period_start, end=header.service_period_end
    )
    if not rows:
        return None
    return Appendix(
        title="Validation Report",
        columns=("Revenue code", "Category", "Billable net validation"),
        rows=(
            *((r.revenue_code, r.category, r.billable_net_validation) for r in rows),
            ("Total", "", sum((r.billable_net_validation for r in rows), Decimal(0))),
        ),
        note="Validated parking of the service period by revenue code (§2.5); USD.",
    )


async def _hours_backup(session: AsyncSession, header: repo.InvoiceHeader) -> Appendix | None:
    rows = await repo.hours_by_job(
        session, site_id=header.site.id, start=header.service_period_start, end=header.service_period_end
    )
    if not rows:
        return None
    return Appendix(
        title="Hours Backup Report",
        columns=("Job code", "Regular hours", "Overtime and holiday hours", "Total hours"),
        rows=tuple(
            (r.job_code, _hours(r.regular), _hours(r.other), _hours(r.regular + r.other)) for r in rows
        ),
        note="Timesheet hours of the service period by job code (Σ minutes / 60, two decimals; §2.2).",
    )


# the supporting reports (§3.7) this service has data for, by their stored label; the others (Tax, Labor
# Distribution, Other Expenses, Parking Department) have no source here and are left out
APPENDICES: dict[str, Callable[[AsyncSession, repo.InvoiceHeader], Awaitable[Appendix | None]]] = {
    SUPPORTING_REPORTS["MIX_OF_SALES"]: _mix_of_sales,
    SUPPORTING_REPORTS["HOURS_BACKUP_REPORT"]: _hours_backup,
    SUPPORTING_REPORTS["VALIDATION_REPORT"]: _validations,
}


def bill_to(header: repo.InvoiceHeader, *, billing_detail: bool) -> tuple[str, ...]:
    """The bill-to block, one string per printed line: for billing roles the invoice recipient and the
    billing contact e-mails first (when set), then the site name and address."""
    site = header.site
    lines: list[str] = []
    if billing_detail:
        if site.invoice_recipient:
            lines += [part.strip() for part in site.invoice_recipient.splitlines() if part.strip()]
        lines += list(site.billing_contact_emails)
    return (*lines, site.name, site.address)


async def figures_of(
    session: AsyncSession, header: repo.InvoiceHeader, *, billing_detail: bool
) -> InvoiceFigures:
    """What the PDF of the invoice of `header` shows (see `server.invoice_pdf.InvoiceFigures`)."""
    invoice = header.invoice
    lines = (await lines_of(session, invoice_ids=[invoice.id])).get(invoice.id, [])
    selected = set(header.supporting_reports)
    appendices = []
    for label in SUPPORTING_REPORTS.values():  # a fixed order, whatever the stored one
        build = APPENDICES.get(label)
        if label in selected and build is not None:
            appendix = await build(session, header)
            if appendix is not None:
                appendices.append(appendix)
    return InvoiceFigures(
        invoice_number=invoice.invoice_number,
        invoice_date=invoice.invoice_date,
        service_period_start=header.service_period_start,
        service_period_end=header.service_period_end,
        site_number=invoice.site_number,
        site_name=header.site.name,
        group_number=invoice.group_number,
        group_title=invoice.title,
        group_description=invoice.description,
        bill_to=bill_to(header, billing_detail=billing_detail),
        purchase_order=invoice.purchase_order,
        payment_terms=invoice.payment_terms,
        lines=tuple(DocumentLine(ln.title, ln.description, ln.code, ln.amount) for ln in lines),
        total=invoice.amount,
        appendices=tuple(appendices),
    )


async def _document(
    session: AsyncSession, header: repo.InvoiceHeader, *, billing_detail: bool
) -> InvoiceDocument:
    figures = await figures_of(session, header, billing_detail=billing_detail)
    number = header.invoice.invoice_number
    return InvoiceDocument(
        invoice_id=header.invoice.id, invoice_number=number, filename=f"{number}.pdf", content=render(figures)
    )


async def invoice_document(
    session: AsyncSession, *, invoice_id: uuid.UUID, billing_detail: bool | None = None
) -> InvoiceDocument | None:
    """The PDF of one stored invoice, or None when no such invoice exists in the caller's row scope (the
    session's bound user). `billing_detail`: print the invoice recipient (None: when the bound user holds
    billingAdmin or billingManager)."""
    header = await repo.invoice_header(session, invoice_id=invoice_id)
    if header is None:
        return None
    if billing_detail is None:
        billing_detail = await repo.shows_billing_detail(session)
    return await _document(session, header, billing_detail=billing_detail)


async def version_documents(
    session: AsyncSession, *, version_id: uuid.UUID, billing_detail: bool | None = None
) -> list[InvoiceDocument]:
    """The PDFs of every invoice of one statement version, by invoice group number; empty when the version
    has none in the caller's scope. Meant for a session bound to a billing caller (the sending worker acts
    for the billing manager who asked); `billing_detail` as in `invoice_document`."""
    headers = await repo.version_headers(session, version_id=version_id)
    if headers and billing_detail is None:
        billing_detail = await repo.shows_billing_detail(session)
    return [await _document(session, h, billing_detail=bool(billing_detail)) for h in headers]


__all__ = ["APPENDICES", "InvoiceDocument", "bill_to", "figures_of", "invoice_document", "version_documents"]
