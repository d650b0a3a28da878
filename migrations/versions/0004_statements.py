"""Statements, invoices, invoice lines, status history and the generation queue (domain.md §1.6, §3).

At most one unsent statement per site and period, and at most one generation in flight per contract,
are partial unique indexes; line metadata flags are columns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_statement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("service_period_start", sa.Date(), nullable=False),
        sa.Column("service_period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("billing_type", sa.Text(), nullable=False),
        sa.Column("rate_selection_date", sa.Date(), nullable=False),
        sa.Column("purchase_order", sa.Text(), nullable=True),
        sa.Column(
            "forecast_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "date_trunc('month', service_period_start) = service_period_start",
            name=op.f("ck_billing_statement_period_month"),
        ),
        sa.CheckConstraint(
            "status IN ('GENERATING', 'AR_REVIEW', 'APPROVAL_TEAM', 'READY_TO_SEND', 'SENT', 'FAILED')",
            name=op.f("ck_billing_statement_status_known"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_billing_statement_version_positive")),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_billing_statement_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_billing_statement_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_statement")),
        sa.UniqueConstraint(
            "site_id", "service_period_start", "version", name="uq_billing_statement_version"
        ),
    )
    op.create_index(
        "uq_billing_statement_unsent",
        "billing_statement",
        ["site_id", "service_period_start"],
        unique=True,
        postgresql_where=sa.text("status <> 'SENT'"),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("group_number", sa.Integer(), nullable=False),
        sa.Column("invoice_number", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("payment_terms", sa.Text(), nullable=True),
        sa.Column("purchase_order", sa.Text(), nullable=True),
        sa.Column("vendor_id", sa.Text(), nullable=True),
        sa.Column("site_number", sa.Text(), nullable=False),
        sa.Column("monthly_profit", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["billing_statement.id"],
            name=op.f("fk_invoice_statement_id_billing_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_invoice_invoice_number")),
        sa.UniqueConstraint("statement_id", "group_number", name="uq_invoice_statement_group"),
    )
    op.create_table(
        "statement_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["billing_statement.id"],
            name=op.f("fk_statement_event_statement_id_billing_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_event")),
    )
    op.create_index(
        op.f("ix_statement_event_statement_id"), "statement_event", ["statement_id"], unique=False
    )
    op.create_table(
        "statement_generation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("service_period_start", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), server_default="MANUAL", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("statement_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source IN ('MANUAL', 'BULK')", name=op.f("ck_statement_generation_source_known")),
        sa.CheckConstraint(
            "status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED')",
            name=op.f("ck_statement_generation_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_statement_generation_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_statement_generation_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["billing_statement.id"],
            name=op.f("fk_statement_generation_statement_id_billing_statement"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_generation")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_statement_generation_idempotency_key")),
    )
    op.create_index(
        "uq_statement_generation_in_flight",
        "statement_generation",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'IN_PROGRESS')"),
    )
    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("building_block", sa.Text(), nullable=True),
        sa.Column("adhoc_type", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("explanation", sa.Text(), server_default="", nullable=False),
        sa.Column("is_adhoc", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_profit_deduction", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_non_billable_expense", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_client_paid_expense", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_management_fee", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "is_billable_payroll_accounts", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("is_pteb", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_support_services", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "is_billable_expense_accounts", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("is_insurance", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_claims", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_profit_share", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_deposited_revenue", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_paid_parking_tax", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("monthly_profit", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("taxes_paid", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.CheckConstraint(
            "adhoc_type IN ('CLIENT_PAID_EXPENSE', 'REIMBURSABLE_EXPENSE', 'MISCELLANEOUS_ITEM', 'NON_BILLABLE_EXPENSE')",
            name=op.f("ck_invoice_line_adhoc_type_known"),
        ),
        sa.CheckConstraint(
            "is_adhoc = (adhoc_type IS NOT NULL)", name=op.f("ck_invoice_line_adhoc_has_type")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_line_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_line_position"),
    )
    op.create_index(op.f("ix_invoice_line_invoice_id"), "invoice_line", ["invoice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_line_invoice_id"), table_name="invoice_line")
    op.drop_table("invoice_line")
    op.drop_index(
        "uq_statement_generation_in_flight",
        table_name="statement_generation",
        postgresql_where=sa.text("status IN ('PENDING', 'IN_PROGRESS')"),
    )
    op.drop_table("statement_generation")
    op.drop_index(op.f("ix_statement_event_statement_id"), table_name="statement_event")
    op.drop_table("statement_event")
    op.drop_table("invoice")
    op.drop_index(
        "uq_billing_statement_unsent",
        table_name="billing_statement",
        postgresql_where=sa.text("status <> 'SENT'"),
    )
    op.drop_table("billing_statement")
