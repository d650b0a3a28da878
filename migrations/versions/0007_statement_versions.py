"""Stable statements with versions beneath them; generation leases and request fingerprints (domain.md §3.1–§3.4).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

* `billing_statement` rows were versions: the table becomes `statement_version` (ids kept, so every id the
  API returned still resolves) and a new `billing_statement` holds one stable id per (site, service period).
  A replaced unsent version is no longer deleted: it is kept `superseded` with its revision number.
* Invoice numbers are unique among invoices of versions not superseded; `invoice.superseded` follows its
  version's through a composite foreign key with ON UPDATE CASCADE.
* In-flight generation is an advisory lock held by the generating transaction, not a stored status: the
  partial unique index on PENDING/IN_PROGRESS goes, and rows left IN_PROGRESS by a dead generation become
  FAILED.
* Idempotency keys carry a fingerprint of their request; bulk requests get a `generation_batch` row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    # ---- versions: the old statement rows, ids kept
    "ALTER TABLE billing_statement RENAME TO statement_version",
    "ALTER TABLE statement_version RENAME CONSTRAINT pk_billing_statement TO pk_statement_version",
    "ALTER TABLE statement_version DROP CONSTRAINT uq_billing_statement_version",
    "ALTER TABLE statement_version DROP CONSTRAINT ck_billing_statement_period_month",
    "ALTER TABLE statement_version RENAME CONSTRAINT ck_billing_statement_status_known"
    " TO ck_statement_version_status_known",
    "ALTER TABLE statement_version RENAME CONSTRAINT ck_billing_statement_version_positive"
    " TO ck_statement_version_version_positive",
    "DROP INDEX uq_billing_statement_unsent",
    # ---- the stable statement, one per (site, service period)
    """
    CREATE TABLE billing_statement (
        id uuid NOT NULL,
        site_id uuid NOT NULL,
        contract_id uuid NOT NULL,
        service_period_start date NOT NULL,
        service_period_end date NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_billing_statement PRIMARY KEY (id),
        CONSTRAINT fk_billing_statement_site_id_customer_site FOREIGN KEY (site_id)
            REFERENCES customer_site (id) ON DELETE CASCADE,
        CONSTRAINT fk_billing_statement_contract_id_contract FOREIGN KEY (contract_id)
            REFERENCES contract (id) ON DELETE CASCADE,
        CONSTRAINT uq_billing_statement_site_period UNIQUE (site_id, service_period_start),
        CONSTRAINT ck_billing_statement_period_month
            CHECK (date_trunc('month', service_period_start) = service_period_start),
        CONSTRAINT ck_billing_statement_period_ordered CHECK (service_period_end >= service_period_start)
    )
    """,
    """
    INSERT INTO billing_statement (id, site_id, contract_id, service_period_start, service_period_end,
                                   created_at, updated_at)
    SELECT gen_random_uuid(), site_id, (array_agg(contract_id ORDER BY version DESC))[1],
           service_period_start, max(service_period_end), min(created_at), max(updated_at)
    FROM statement_version GROUP BY site_id, service_period_start
    """,
    "ALTER TABLE statement_version ADD COLUMN statement_id uuid",
    """
    UPDATE statement_version v SET statement_id = s.id FROM billing_statement s
    WHERE s.site_id = v.site_id AND s.service_period_start = v.service_period_start
    """,
    "ALTER TABLE statement_version ALTER COLUMN statement_id SET NOT NULL",
    "ALTER TABLE statement_version ADD CONSTRAINT fk_statement_version_statement_id_billing_statement"
    " FOREIGN KEY (statement_id) REFERENCES billing_statement (id) ON DELETE CASCADE",
    "ALTER TABLE statement_version DROP COLUMN site_id",
    "ALTER TABLE statement_version DROP COLUMN contract_id",
    "ALTER TABLE statement_version DROP COLUMN service_period_start",
    "ALTER TABLE statement_version DROP COLUMN service_period_end",
    "ALTER TABLE statement_version ADD COLUMN revision integer NOT NULL DEFAULT 1",
    "ALTER TABLE statement_version ADD COLUMN superseded boolean NOT NULL DEFAULT false",
    "ALTER TABLE statement_version ADD COLUMN superseded_at timestamptz",
    "ALTER TABLE statement_version ADD COLUMN created_by text",
    "ALTER TABLE statement_version ADD CONSTRAINT uq_statement_version_revision"
    " UNIQUE (statement_id, version, revision)",
    "ALTER TABLE statement_version ADD CONSTRAINT uq_statement_version_id_superseded UNIQUE (id, superseded)",
    "ALTER TABLE statement_version ADD CONSTRAINT ck_statement_version_revision_positive CHECK (revision >= 1)",
    "ALTER TABLE statement_version ADD CONSTRAINT ck_statement_version_superseded_when"
    " CHECK (superseded = (superseded_at IS NOT NULL))",
    "ALTER TABLE statement_version ADD CONSTRAINT ck_statement_version_sent_is_never_superseded"
    " CHECK (NOT (superseded AND status = 'SENT'))",
    "ALTER TABLE statement_version ADD CONSTRAINT ck_statement_version_sent_when"
    " CHECK ((status = 'SENT') = (sent_at IS NOT NULL))",
    "CREATE UNIQUE INDEX uq_statement_version_current ON statement_version (statement_id, version)"
    " WHERE NOT superseded",
    "CREATE UNIQUE INDEX uq_statement_version_unsent ON statement_version (statement_id)"
    " WHERE status <> 'SENT' AND NOT superseded",
    # ---- invoices belong to a version and follow its `superseded`
    "ALTER TABLE invoice DROP CONSTRAINT fk_invoice_statement_id_billing_statement",
    "ALTER TABLE invoice DROP CONSTRAINT uq_invoice_invoice_number",
    "ALTER TABLE invoice DROP CONSTRAINT uq_invoice_statement_group",
    "ALTER TABLE invoice RENAME COLUMN statement_id TO statement_version_id",
    "ALTER TABLE invoice ADD COLUMN superseded boolean NOT NULL DEFAULT false",
    "ALTER TABLE invoice ADD CONSTRAINT uq_invoice_version_group UNIQUE (statement_version_id, group_number)",
    "ALTER TABLE invoice ADD CONSTRAINT fk_invoice_version_superseded"
    " FOREIGN KEY (statement_version_id, superseded) REFERENCES statement_version (id, superseded)"
    " ON UPDATE CASCADE ON DELETE CASCADE",
    "CREATE UNIQUE INDEX uq_invoice_number_current ON invoice (invoice_number) WHERE NOT superseded",
    # ---- status history per version, with who moved it
    "ALTER TABLE statement_event DROP CONSTRAINT fk_statement_event_statement_id_billing_statement",
    "ALTER TABLE statement_event RENAME COLUMN statement_id TO statement_version_id",
    "ALTER INDEX ix_statement_event_statement_id RENAME TO ix_statement_event_statement_version_id",
    "ALTER TABLE statement_event ADD CONSTRAINT fk_statement_event_statement_version_id_statement_version"
    " FOREIGN KEY (statement_version_id) REFERENCES statement_version (id) ON DELETE CASCADE",
    "ALTER TABLE statement_event ADD COLUMN actor text",
    # ---- generation requests: leases instead of in-flight rows, fingerprints, batches
    """
    CREATE TABLE generation_batch (
        id uuid NOT NULL,
        idempotency_key text,
        fingerprint text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_generation_batch PRIMARY KEY (id),
        CONSTRAINT uq_generation_batch_idempotency_key UNIQUE (idempotency_key)
    )
    """,
    "DROP INDEX uq_statement_generation_in_flight",
    "UPDATE statement_generation SET status = 'FAILED', finished_at = coalesce(finished_at, now()),"
    " error = coalesce(error, 'abandoned: the generating connection ended (migration 0007)')"
    " WHERE status IN ('PENDING', 'IN_PROGRESS')",
    "ALTER TABLE statement_generation DROP CONSTRAINT fk_statement_generation_statement_id_billing_statement",
    "ALTER TABLE statement_generation RENAME COLUMN statement_id TO version_id",
    "ALTER TABLE statement_generation ADD CONSTRAINT fk_statement_generation_version_id_statement_version"
    " FOREIGN KEY (version_id) REFERENCES statement_version (id) ON DELETE SET NULL",
    "ALTER TABLE statement_generation ADD COLUMN statement_id uuid",
    "UPDATE statement_generation g SET statement_id = v.statement_id FROM statement_version v"
    " WHERE v.id = g.version_id",
    # the old code deleted a replaced statement, leaving its COMPLETED request without one: such a request
    # made the statement of its site and period, which it now names
    "UPDATE statement_generation g SET statement_id = s.id FROM billing_statement s"
    " WHERE g.statement_id IS NULL AND g.status = 'COMPLETED'"
    " AND s.site_id = g.site_id AND s.service_period_start = g.service_period_start",
    "UPDATE statement_generation SET status = 'FAILED', error = coalesce(error, 'its statement no longer exists')"
    " WHERE status = 'COMPLETED' AND statement_id IS NULL",
    "ALTER TABLE statement_generation ADD CONSTRAINT fk_statement_generation_statement_id_billing_statement"
    " FOREIGN KEY (statement_id) REFERENCES billing_statement (id) ON DELETE CASCADE",
    "ALTER TABLE statement_generation ADD COLUMN fingerprint text",
    "ALTER TABLE statement_generation ADD COLUMN batch_id uuid",
    "ALTER TABLE statement_generation ADD CONSTRAINT fk_statement_generation_batch_id_generation_batch"
    " FOREIGN KEY (batch_id) REFERENCES generation_batch (id) ON DELETE SET NULL",
    "CREATE INDEX ix_statement_generation_batch_id ON statement_generation (batch_id)",
    "ALTER TABLE statement_generation DROP CONSTRAINT ck_statement_generation_status_known",
    "ALTER TABLE statement_generation ADD CONSTRAINT ck_statement_generation_status_known"
    " CHECK (status IN ('COMPLETED', 'FAILED'))",
    "ALTER TABLE statement_generation ADD CONSTRAINT ck_statement_generation_completed_has_statement"
    " CHECK (status <> 'COMPLETED' OR statement_id IS NOT NULL)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    # Back to one row per version: superseded revisions were deleted rows in that model, so they go.
    for statement in [
        "ALTER TABLE statement_generation DROP CONSTRAINT ck_statement_generation_completed_has_statement",
        "DELETE FROM statement_version WHERE superseded",
        "ALTER TABLE statement_generation DROP CONSTRAINT ck_statement_generation_status_known",
        "ALTER TABLE statement_generation ADD CONSTRAINT ck_statement_generation_status_known"
        " CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED'))",
        "DROP INDEX ix_statement_generation_batch_id",
        "ALTER TABLE statement_generation DROP COLUMN batch_id",
        "ALTER TABLE statement_generation DROP COLUMN fingerprint",
        "ALTER TABLE statement_generation DROP COLUMN statement_id",
        "ALTER TABLE statement_generation DROP CONSTRAINT fk_statement_generation_version_id_statement_version",
        "ALTER TABLE statement_generation RENAME COLUMN version_id TO statement_id",
        "CREATE UNIQUE INDEX uq_statement_generation_in_flight ON statement_generation (contract_id)"
        " WHERE status IN ('PENDING', 'IN_PROGRESS')",
        "DROP TABLE generation_batch",
        "ALTER TABLE statement_event DROP COLUMN actor",
        "ALTER TABLE statement_event DROP CONSTRAINT fk_statement_event_statement_version_id_statement_version",
        "ALTER INDEX ix_statement_event_statement_version_id RENAME TO ix_statement_event_statement_id",
        "ALTER TABLE statement_event RENAME COLUMN statement_version_id TO statement_id",
        "DROP INDEX uq_invoice_number_current",
        "ALTER TABLE invoice DROP CONSTRAINT fk_invoice_version_superseded",
        "ALTER TABLE invoice DROP CONSTRAINT uq_invoice_version_group",
        "ALTER TABLE invoice DROP COLUMN superseded",
        "ALTER TABLE invoice RENAME COLUMN statement_version_id TO statement_id",
        "ALTER TABLE invoice ADD CONSTRAINT uq_invoice_statement_group UNIQUE (statement_id, group_number)",
        "ALTER TABLE invoice ADD CONSTRAINT uq_invoice_invoice_number UNIQUE (invoice_number)",
        "DROP INDEX uq_statement_version_unsent",
        "DROP INDEX uq_statement_version_current",
        "ALTER TABLE statement_version DROP CONSTRAINT ck_statement_version_sent_when",
        "ALTER TABLE statement_version DROP CONSTRAINT ck_statement_version_sent_is_never_superseded",
        "ALTER TABLE statement_version DROP CONSTRAINT ck_statement_version_superseded_when",
        "ALTER TABLE statement_version DROP CONSTRAINT ck_statement_version_revision_positive",
        "ALTER TABLE statement_version DROP CONSTRAINT uq_statement_version_id_superseded",
        "ALTER TABLE statement_version DROP CONSTRAINT uq_statement_version_revision",
        "ALTER TABLE statement_version DROP COLUMN created_by",
        "ALTER TABLE statement_version DROP COLUMN superseded_at",
        "ALTER TABLE statement_version DROP COLUMN superseded",
        "ALTER TABLE statement_version DROP COLUMN revision",
        "ALTER TABLE statement_version ADD COLUMN site_id uuid",
        "ALTER TABLE statement_version ADD COLUMN contract_id uuid",
        "ALTER TABLE statement_version ADD COLUMN service_period_start date",
        "ALTER TABLE statement_version ADD COLUMN service_period_end date",
        "UPDATE statement_version v SET site_id = s.site_id, contract_id = s.contract_id,"
        " service_period_start = s.service_period_start, service_period_end = s.service_period_end"
        " FROM billing_statement s WHERE s.id = v.statement_id",
        "ALTER TABLE statement_version DROP CONSTRAINT fk_statement_version_statement_id_billing_statement",
        "ALTER TABLE statement_version DROP COLUMN statement_id",
        "DROP TABLE billing_statement",
        "ALTER TABLE statement_version RENAME TO billing_statement",
        "ALTER TABLE billing_statement RENAME CONSTRAINT pk_statement_version TO pk_billing_statement",
        "ALTER TABLE billing_statement RENAME CONSTRAINT ck_statement_version_status_known"
        " TO ck_billing_statement_status_known",
        "ALTER TABLE billing_statement RENAME CONSTRAINT ck_statement_version_version_positive"
        " TO ck_billing_statement_version_positive",
        "ALTER TABLE billing_statement ALTER COLUMN site_id SET NOT NULL",
        "ALTER TABLE billing_statement ALTER COLUMN contract_id SET NOT NULL",
        "ALTER TABLE billing_statement ALTER COLUMN service_period_start SET NOT NULL",
        "ALTER TABLE billing_statement ALTER COLUMN service_period_end SET NOT NULL",
        "ALTER TABLE billing_statement ADD CONSTRAINT fk_billing_statement_site_id_customer_site"
        " FOREIGN KEY (site_id) REFERENCES customer_site (id) ON DELETE CASCADE",
        "ALTER TABLE billing_statement ADD CONSTRAINT fk_billing_statement_contract_id_contract"
        " FOREIGN KEY (contract_id) REFERENCES contract (id) ON DELETE CASCADE",
        "ALTER TABLE billing_statement ADD CONSTRAINT uq_billing_statement_version"
        " UNIQUE (site_id, service_period_start, version)",
        "ALTER TABLE billing_statement ADD CONSTRAINT ck_billing_statement_period_month"
        " CHECK (date_trunc('month', service_period_start) = service_period_start)",
        "CREATE UNIQUE INDEX uq_billing_statement_unsent ON billing_statement (site_id, service_period_start)"
        " WHERE status <> 'SENT'",
        "ALTER TABLE invoice ADD CONSTRAINT fk_invoice_statement_id_billing_statement"
        " FOREIGN KEY (statement_id) REFERENCES billing_statement (id) ON DELETE CASCADE",
        "ALTER TABLE statement_event ADD CONSTRAINT fk_statement_event_statement_id_billing_statement"
        " FOREIGN KEY (statement_id) REFERENCES billing_statement (id) ON DELETE CASCADE",
        "ALTER TABLE statement_generation ADD CONSTRAINT fk_statement_generation_statement_id_billing_statement"
        " FOREIGN KEY (statement_id) REFERENCES billing_statement (id) ON DELETE SET NULL",
    ]:
        op.execute(statement)
