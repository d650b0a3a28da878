"""Billing statements, invoices, invoice lines and generation requests (domain.md §1.6, §3).

A statement is one site's bill for one service month, with one stable id; its versions (§3.3) are rows
beneath it, each with one invoice per invoice group with at least one line. Line metadata flags (§1.6) are columns, not opaque JSON, because profit share and
the GL export act on them. Money is `numeric(14,2)` USD.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
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
# Written by the generating transaction itself: in flight is its advisory lock, never a stored status.
GENERATION_STATUSES = ("COMPLETED", "FAILED")
ADHOC_TYPES = ("CLIENT_PAID_EXPENSE", "REIMBURSABLE_EXPENSE", "MISCELLANEOUS_ITEM", "NON_BILLABLE_EXPENSE")
LINE_FLAGS = (
    "is_adhoc", "is_profit_deduction", "is_non_billable_expense", "is_client_paid_expense", "is_management_fee",
    "is_billable_payroll_accounts", "is_pteb", "is_support_services", "is_billable_expense_accounts",
    "is_insurance", "is_claims", "is_profit_share", "is_deposited_revenue", "is_paid_parking_tax",
)  # fmt: skip


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class GenerationBatch(Base):
    """One bulk generation request (§3.1, `POST customers/statements`): its idempotency key is bound to a
    fingerprint of the whole request (site list or territory, service period), so the same key with other
    arguments is refused instead of answering for another request."""

    __tablename__ = "generation_batch"
    # a key names one request of one caller: two callers may choose the same key
    __table_args__ = (
        UniqueConstraint("requested_by", "idempotency_key", name="uq_generation_batch_requested_by_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text, nullable=False)  # app_user.subject of the caller
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class StatementGeneration(Base):
    """A request to generate a statement (`bs_statementgenerationprocess`, §3.1), written by the unit of
    work that generates, so a request that dies with its connection leaves nothing behind.

    In-flight work is not a flag here: the generating transaction holds a transaction-scoped advisory lock
    on the contract (`db.repositories.statements.try_lock_contract`), which PostgreSQL releases when the
    transaction ends for any reason. `fingerprint` binds `idempotency_key` to the request it was sent with
    (operation, site, period as given); a replay returns the current version of `statement_id`.
    """

    __tablename__ = "statement_generation"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(GENERATION_STATUSES)})", name="status_known"),
        CheckConstraint("source IN ('MANUAL', 'BULK')", name="source_known"),
        # a completed request names what it made; its statement is never deleted on its own (a superseded
        # version is kept), so the request goes with it only when the site or contract goes
        CheckConstraint("status <> 'COMPLETED' OR statement_id IS NOT NULL", name="completed_has_statement"),
        UniqueConstraint("requested_by", "idempotency_key", name="uq_statement_generation_requested_by_key"),
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
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text, nullable=False)  # app_user.subject of the caller
    fingerprint: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generation_batch.id", ondelete="SET NULL"), index=True
    )
    statement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billing_statement.id", ondelete="CASCADE")
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("statement_version.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BillingStatement(Timestamped, Base):
    """`bs_billingstatement` (§1.6): a site's bill for one service month, one stable id per (site, service
    period start). Its versions (§3.3) are `statement_version` rows; the current one is the highest version
    number not superseded."""

    __tablename__ = "billing_statement"
    __table_args__ = (
        UniqueConstraint("site_id", "service_period_start", name="uq_billing_statement_site_period"),
        CheckConstraint(
            "date_trunc('month', service_period_start) = service_period_start", name="period_month"
        ),
        CheckConstraint("service_period_end >= service_period_start", name="period_ordered"),
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


class StatementVersion(Timestamped, Base):
    """One version of a statement (§3.3): `version` is the legacy VV of the invoice numbers, bumped only
    after a Sent version; replacing an unsent version reuses its number with the next `revision`, and the
    replaced row is kept, `superseded`, never deleted. Version numbers (and invoice numbers) are unique among
    rows not superseded; at most one unsent version per statement is not superseded."""

    __tablename__ = "statement_version"
    __table_args__ = (
        UniqueConstraint("statement_id", "version", "revision", name="uq_statement_version_revision"),
        # the target of the invoices' (statement_version_id, superseded) key, so superseding cascades
        UniqueConstraint("id", "superseded", name="uq_statement_version_id_superseded"),
        CheckConstraint(f"status IN ({_in(STATEMENT_STATUSES)})", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("superseded = (superseded_at IS NOT NULL)", name="superseded_when"),
        CheckConstraint("NOT (superseded AND status = 'SENT')", name="sent_is_never_superseded"),
        CheckConstraint("(status = 'SENT') = (sent_at IS NOT NULL)", name="sent_when"),
        Index(
            "uq_statement_version_current",
            "statement_id",
            "version",
            unique=True,
            postgresql_where=text("NOT superseded"),
        ),
        Index(
            "uq_statement_version_unsent",
            "statement_id",
            unique=True,
            postgresql_where=text("status <> 'SENT' AND NOT superseded"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_statement.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    status: Mapped[str] = mapped_column(Text, nullable=False)
    billing_type: Mapped[str] = mapped_column(Text, nullable=False)
    rate_selection_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    purchase_order: Mapped[str | None] = mapped_column(Text)
    forecast_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'"))
    warnings: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # who generated it: the caller's subject once identity exists (NULL: anonymous or before identity)
    created_by: Mapped[str | None] = mapped_column(Text)


class StatementEvent(Base):
    """Status history of a statement version (who moved it where, when)."""

    __tablename__ = "statement_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("statement_version.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class GlRequestLog(Base):
    """One batch request to Great Plains and its outcome (`bs_glrequestlogs`, §3.8; migration 0017).
    Append-only for the application role."""

    __tablename__ = "gl_request_log"
    __table_args__ = (
        CheckConstraint("batch IN ('RECEIVABLES', 'PAYABLES')", name="batch_known"),
        CheckConstraint("adapter IN ('outbox', 'http')", name="adapter_known"),
        CheckConstraint("status IN ('SUCCESS', 'FAILURE')", name="status_known"),
        {"comment": "Great Plains batch requests and their outcome (bs_glrequestlogs, domain.md §3.8)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    statement_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("statement_version.id", ondelete="CASCADE"), nullable=False, index=True
    )
    job_key: Mapped[str] = mapped_column(Text, nullable=False, comment="the send job the request belongs to")
    batch_id: Mapped[str] = mapped_column(Text, nullable=False, comment="{yyyyMM}POWERBILL{invoice date}")
    batch: Mapped[str] = mapped_column(Text, nullable=False, comment="RECEIVABLES or PAYABLES")
    adapter: Mapped[str] = mapped_column(Text, nullable=False, comment="outbox or http")
    target: Mapped[str] = mapped_column(Text, nullable=False, comment="outbox file name or endpoint host")
    request_body: Mapped[str] = mapped_column(Text, nullable=False, comment="the batch as sent (CSV)")
    status: Mapped[str] = mapped_column(Text, nullable=False, comment="SUCCESS or FAILURE")
    response: Mapped[str] = mapped_column(Text, nullable=False, comment="what the adapter answered")
    actor: Mapped[str | None] = mapped_column(Text, comment="subject of the caller the worker acted for")
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Invoice(Base):
    """`bs_invoice` (§1.6, §3.4): one per (statement version, invoice group) with ≥1 line.

    `superseded` follows its version's through a composite foreign key with ON UPDATE CASCADE, so invoice
    numbers are unique among invoices of versions not superseded, enforced by the database.
    """

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("statement_version_id", "group_number", name="uq_invoice_version_group"),
        ForeignKeyConstraint(
            ["statement_version_id", "superseded"],
            ["statement_version.id", "statement_version.superseded"],
            name="fk_invoice_version_superseded",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        Index(
            "uq_invoice_number_current",
            "invoice_number",
            unique=True,
            postgresql_where=text("NOT superseded"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    statement_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    group_number: Mapped[int] = mapped_column(Integer, nullable=False)
    invoice_number: Mapped[str] = mapped_column(Text, nullable=False)
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
    added_by: Mapped[str | None] = mapped_column(Text)  # subject of whoever added an ad-hoc line
