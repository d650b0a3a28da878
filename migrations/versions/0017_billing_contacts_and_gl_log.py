"""Billing contacts on sites and the Great Plains request log (issue 12 §2; domain.md §1.2, §3.8).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

* `customer_site.invoice_recipient` (who the invoice is addressed to, legacy `bs_invoicerecipient`) and
  `customer_site.billing_contact_emails` (the addresses invoices are e-mailed to, legacy
  `bs_billingcontactemail`; none in the PROD export). Personal (§1.2, §4.4): the API shows them to billing
  roles only; the reporting and GIS roles have column privileges that predate them, so they never read them.
  The database refuses a blank recipient, an empty or duplicated address and anything that is not
  `local@domain` (the API checks them properly first, with email-validator).
* `gl_request_log` (legacy `bs_glrequestlogs`): one row per batch request to Great Plains — the statement
  version, the send job's key, the batch id and kind (RECEIVABLES map RMIMPV2 / PAYABLES map PMIMPV2), the
  adapter (outbox, http), the request body, SUCCESS or FAILURE with the response. Append-only for the
  application: a child of `statement_version` under row-level security as `statement_event` is (readable
  when the version is; inserted by billing roles; never updated or deleted by it).
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# one address: no whitespace, commas or semicolons (those separate addresses in the legacy text field)
ADDRESS = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def upgrade() -> None:
    role = app_role()
    op.execute(f"""
    CREATE FUNCTION towne_valid_addresses(addresses text[]) RETURNS boolean
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN NOT EXISTS (SELECT 1 FROM unnest(addresses) a WHERE a IS NULL OR a !~ '{ADDRESS}')
           AND cardinality(addresses) = (SELECT count(DISTINCT lower(a)) FROM unnest(addresses) a)
    """)
    op.add_column(
        "customer_site",
        sa.Column("invoice_recipient", sa.Text(), nullable=True, comment="who invoices are addressed to"),
    )
    op.add_column(
        "customer_site",
        sa.Column(
            "billing_contact_emails",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
            comment="addresses invoices are e-mailed to (personal: billing roles only)",
        ),
    )
    op.create_check_constraint(
        "invoice_recipient_not_blank", "customer_site", "length(btrim(invoice_recipient)) > 0"
    )
    op.create_check_constraint(
        "billing_contact_emails_valid", "customer_site", "towne_valid_addresses(billing_contact_emails)"
    )

    op.create_table(
        "gl_request_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("statement_version_id", sa.Uuid(), nullable=False),
        sa.Column("job_key", sa.Text(), nullable=False, comment="the send job the request belongs to"),
        sa.Column("batch_id", sa.Text(), nullable=False, comment="{yyyyMM}POWERBILL{invoice date}"),
        sa.Column("batch", sa.Text(), nullable=False, comment="RECEIVABLES or PAYABLES"),
        sa.Column("adapter", sa.Text(), nullable=False, comment="outbox or http"),
        sa.Column("target", sa.Text(), nullable=False, comment="outbox file name or endpoint host"),
        sa.Column("request_body", sa.Text(), nullable=False, comment="the batch as sent (CSV)"),
        sa.Column("status", sa.Text(), nullable=False, comment="SUCCESS or FAILURE"),
        sa.Column("response", sa.Text(), nullable=False, comment="what the adapter answered"),
        sa.Column("actor", sa.Text(), nullable=True, comment="subject of the caller the worker acted for"),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("batch IN ('RECEIVABLES', 'PAYABLES')", name="ck_gl_request_log_batch_known"),
        sa.CheckConstraint("adapter IN ('outbox', 'http')", name="ck_gl_request_log_adapter_known"),
        sa.CheckConstraint("status IN ('SUCCESS', 'FAILURE')", name="ck_gl_request_log_status_known"),
        sa.ForeignKeyConstraint(
            ["statement_version_id"],
            ["statement_version.id"],
            name="fk_gl_request_log_statement_version_id_statement_version",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gl_request_log"),
        comment="Great Plains batch requests and their outcome (bs_glrequestlogs, domain.md §3.8)",
    )
    op.create_index("ix_gl_request_log_statement_version_id", "gl_request_log", ["statement_version_id"])
    writes_billing = "(SELECT towne_has_role('billingAdmin', 'billingManager'))"
    visible = "statement_version_id IN (SELECT id FROM statement_version)"
    for sql in (
        "ALTER TABLE gl_request_log ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY read_scoped ON gl_request_log FOR SELECT TO {role} USING ({visible})",
        f"CREATE POLICY append_billing ON gl_request_log FOR INSERT TO {role}"
        f" WITH CHECK ({writes_billing} AND {visible})",
        f"GRANT SELECT, INSERT ON gl_request_log TO {role}",
        f"GRANT EXECUTE ON FUNCTION towne_valid_addresses(text[]) TO {role}",
    ):
        op.execute(sql)


def downgrade() -> None:
    op.drop_table("gl_request_log")
    op.drop_constraint(op.f("ck_customer_site_billing_contact_emails_valid"), "customer_site", type_="check")
    op.drop_constraint(op.f("ck_customer_site_invoice_recipient_not_blank"), "customer_site", type_="check")
    op.drop_column("customer_site", "billing_contact_emails")
    op.drop_column("customer_site", "invoice_recipient")
    op.execute("DROP FUNCTION towne_valid_addresses(text[])")
