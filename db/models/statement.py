"""Billing statements, invoices, invoice lines and the generation queue (domain.md §1.6, §3).

A statement is one site's bill for one service month and version; it has one invoice per invoice group
with at least one line. Line metadata flags (§1.6) are columns, not opaque JSON, because profit share and
the GL export act on them. Money is `numeric(14,2)` USD.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Timestamped

STATEMENT_STATUSES = ("GENERATING", "AR_REVIEW", "APPROVAL_TEAM", "READY_TO_SEND", "SENT", "FAILED")
GENERATION_STATUSES = ("PENDING", "IN_PROGRESS", "COMPLETED", "FAILED")
ADHOC_TYPES = ("CLIENT_PAID_EXPENSE", "REIMBURSABLE_EXPENSE", "MISCELLANEOUS_ITEM", "NON_BILLABLE_EXPENSE")
LINE_FLAGS = (
    "is_adhoc", "is_profit_deduction", "is_non_billable_expense", "is_client_paid_expense", "is_management_fee",
    "is_billable_payroll_accounts", "is_pteb", "is_support_services", "is_billable_expense_accounts",
    "is_insurance", "is_claims", "is_profit_share", "is_deposited_revenue", "is_paid_parking_tax",
)  # fmt: skip


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class StatementGeneration(Base):
    """A request to generate a statement (`bs_statementgenerationprocess`, §3.1).

    At most one PENDING/IN_PROGRESS request per contract (partial unique index); a retried request with the
    same `idempotency_key` returns the first one's statement instead of generating again.
    """

    __tablename__ = "statement_generation"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(GENERATION_STATUSES)})", name="status_known"),
        CheckConstraint("source IN ('MANUAL', 'BULK')", name="source_known"),
        Index(
            "uq_statement_generation_in_flight",
            "contract_id",
            unique=True,
            postgresql_where=text("status IN ('PENDING', 'IN_PROGRESS')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False
    )
    service_period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="MANUAL")
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    statement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billing_statement.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BillingStatement(Timestamped, Base):
    """`bs_billingstatement` (§1.6): natural key (site, service period start, version)."""

    __tablename__ = "billing_statement"
    __table_args__ = (
        UniqueConstraint("site_id", "service_period_start", "version", name="uq_billing_statement_version"),
        CheckConstraint(f"status IN ({_in(STATEMENT_STATUSES)})", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "date_trunc('month', service_period_start) = service_period_start", name="period_month"
        ),
        # §3.3: at most one unsent statement per site and period
        Index(
            "uq_billing_statement_unsent",
            "site_id",
            "service_period_start",
            unique=True,
            postgresql_where=text("status <> 'SENT'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False
    )
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False
    )
    service_period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    service_period_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    billing_type: Mapped[str] = mapped_column(Text, nullable=False)
    rate_selection_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    purchase_order: Mapped[str | None] = mapped_column(Text)
    forecast_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'"))
    warnings: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StatementEvent(Base):
    """Status history of a statement (who moved it where, when)."""

    __tablename__ = "statement_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_statement.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Invoice(Base):
    """`bs_invoice` (§1.6, §3.4): one per (statement, invoice group) with ≥1 line."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("statement_id", "group_number", name="uq_invoice_statement_group"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_statement.id", ondelete="CASCADE"), nullable=False
    )
    group_number: Mapped[int] = mapped_column(Integer, nullable=False)
    invoice_number: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    invoice_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    purchase_order: Mapped[str | None] = mapped_column(Text)
    vendor_id: Mapped[str | None] = mapped_column(Text)
    site_number: Mapped[str] = mapped_column(Text, nullable=False)  # after the group's override (§1.5)
    # P_month of a management-agreement invoice (§2.10e), kept even when the profit-share line is 0 and
    # dropped, because next month's annual accumulation reads it
    monthly_profit: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))


class InvoiceLine(Base):
    """A line of an invoice with the §1.6 metadata flags as columns; `id` is the `lineItemId`."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position", name="uq_invoice_line_position"),
        CheckConstraint(f"adhoc_type IN ({_in(ADHOC_TYPES)})", name="adhoc_type_known"),
        CheckConstraint("is_adhoc = (adhoc_type IS NOT NULL)", name="adhoc_has_type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    building_block: Mapped[str | None] = mapped_column(Text)  # NULL for ad-hoc lines
    adhoc_type: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    code: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    is_adhoc: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_profit_deduction: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_non_billable_expense: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_client_paid_expense: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_management_fee: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_billable_payroll_accounts: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false()
    )
    is_pteb: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_support_services: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_billable_expense_accounts: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false()
    )
    is_insurance: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_claims: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_profit_share: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_deposited_revenue: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    is_paid_parking_tax: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    monthly_profit: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    taxes_paid: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # structured inputs behind the figure (e.g. revenue-share distribution items), for supporting reports
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'"))
