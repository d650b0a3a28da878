"""What an invoice PDF reads (issue 12 §1; domain.md §3.4, §3.7): invoices with their statement, site and
contract, and the facts behind the supporting reports.

Every function reads through the caller's session: row-level security (docs/security.md) decides which
invoices, sites and facts exist for the caller; nothing is filtered here by role. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BillingStatement,
    Contract,
    CustomerSite,
    Invoice,
    RevenueDaily,
    StatementVersion,
    TimesheetMinutes,
)


@dataclass(frozen=True, slots=True)
class InvoiceHeader:
    """An invoice with what its header prints: the statement's service period, the site, the contract's
    supporting-report selection (labels as stored, e.g. "Mix Of Sales"; empty without a contract row the
    caller sees)."""

    invoice: Invoice
    service_period_start: dt.date
    service_period_end: dt.date
    site: CustomerSite
    supporting_reports: tuple[str, ...]


async def _headers(session: AsyncSession, where: ColumnElement[bool]) -> list[InvoiceHeader]:
    rows = await session.execute(
        select(
            Invoice,
            BillingStatement.service_period_start,
            BillingStatement.service_period_end,
            CustomerSite,
            Contract.supporting_reports,
        )
        .join(StatementVersion, StatementVersion.id == Invoice.statement_version_id)
        .join(BillingStatement, BillingStatement.id == StatementVersion.statement_id)
        .join(CustomerSite, CustomerSite.id == BillingStatement.site_id)
        .outerjoin(Contract, Contract.id == BillingStatement.contract_id)
        .where(where)
        .order_by(Invoice.group_number)
    )
    return [
        InvoiceHeader(
            invoice=invoice,
            service_period_start=start,
            service_period_end=end,
            site=site,
            supporting_reports=tuple(reports or ()),
        )
        for invoice, start, end, site, reports in rows.all()
    ]


async def invoice_header(session: AsyncSession, *, invoice_id: uuid.UUID) -> InvoiceHeader | None:
    """The invoice with this id and its header data; None when it does not exist for the caller."""
    found = await _headers(session, Invoice.id == invoice_id)
    return found[0] if found else None


async def version_headers(session: AsyncSession, *, version_id: uuid.UUID) -> list[InvoiceHeader]:
    """Every invoice of one statement version the caller sees, by invoice group number."""
    return await _headers(session, Invoice.statement_version_id == version_id)


async def shows_billing_detail(session: AsyncSession) -> bool:
    """The user bound to the session's transaction holds a role that sees billing contacts (billingAdmin,
    billingManager: `resolvers.context.BILLING_DETAIL`); false when no user is bound."""
    found = await session.execute(text("SELECT towne_has_role('billingAdmin', 'billingManager')"))
    return bool(found.scalar_one())


@dataclass(frozen=True, slots=True)
class SalesRow:
    """Revenue of one (revenue code, category) in the period, USD, Σ over days (`revenue_daily`)."""

    revenue_code: str
    category: str
    external_revenue: Decimal
    net_external_revenue: Decimal


async def mix_of_sales(
    session: AsyncSession, *, site_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[SalesRow]:
    """Sales (flags Y and N, validations excluded) of the site from `start` to `end` inclusive, by revenue
    code and category."""
    r = RevenueDaily
    rows = await session.execute(
        select(r.revenue_code, r.category, func.sum(r.external_revenue), func.sum(r.net_external_revenue))
        .where(r.site_id == site_id, r.date.between(start, end), r.deposit_flag != "V")
        .group_by(r.revenue_code, r.category)
        .order_by(r.revenue_code, r.category)
    )
    return [SalesRow(code, category, ext, net) for code, category, ext, net in rows.all()]


@dataclass(frozen=True, slots=True)
class ValidationRow:
    """Validations (flag V) of one revenue code in the period: `billable_net_validation`, USD, Σ over days."""

    revenue_code: str
    category: str
    billable_net_validation: Decimal


async def validations(
    session: AsyncSession, *, site_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[ValidationRow]:
    """Validation rows (flag V) of the site from `start` to `end` inclusive, by revenue code and category."""
    r = RevenueDaily
    rows = await session.execute(
        select(r.revenue_code, r.category, func.sum(r.billable_net_validation))
        .where(r.site_id == site_id, r.date.between(start, end), r.deposit_flag == "V")
        .group_by(r.revenue_code, r.category)
        .order_by(r.revenue_code, r.category)
    )
    return [ValidationRow(code, category, amount) for code, category, amount in rows.all()]


@dataclass(frozen=True, slots=True)
class HoursRow:
    """Minutes worked by one job code in the period, Σ over days: `regular` (regular and its next-day twin)
    and `other` (every overtime and holiday category with its twin), whole minutes."""

    job_code: str
    regular: int
    other: int


async def hours_by_job(
    session: AsyncSession, *, site_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[HoursRow]:
    """Timesheet minutes of the site from `start` to `end` inclusive, by job code (§2.2's categories)."""
    t = TimesheetMinutes
    other = (
        t.overtime + t.overtime_next_day + t.holiday + t.holiday_next_day + t.double_overtime
        + t.double_overtime_next_day + t.holiday_overtime + t.holiday_overtime_next_day
        + t.holiday_double_overtime + t.holiday_double_overtime_next_day
    )  # fmt: skip
    rows = await session.execute(
        select(t.job_code, func.sum(t.regular + t.regular_next_day), func.sum(other))
        .where(t.site_id == site_id, t.date.between(start, end))
        .group_by(t.job_code)
        .order_by(t.job_code)
    )
    return [HoursRow(job, int(regular), int(rest)) for job, regular, rest in rows.all()]


__all__ = [
    "HoursRow",
    "InvoiceHeader",
    "SalesRow",
    "ValidationRow",
    "hours_by_job",
    "invoice_header",
    "mix_of_sales",
    "shows_billing_detail",
    "validations",
    "version_headers",
]
