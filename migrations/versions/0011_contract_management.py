"""Contract management: amendments with approval, configuration editions by service period, the contract term
and lifecycle (issue 10 §2–§4; domain.md §1.3, §1.5, §2.14, §2.15, §3.9).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

* `contract_amendment`: a proposed change of a contract (header, configuration, term, lifecycle move), with its
  canonical changes as JSON, the first service period it applies to, its status (proposed → approved | rejected
  | withdrawn) and who proposed and decided when. Four eyes are a CHECK: an approval by the proposer is refused
  by the database unless the amendment was written by a job (escalations record themselves as approved).
* Editions: every configuration row (invoice groups, fixed-fee services, labor-hour jobs, threshold structures,
  single-row blocks) carries the service periods of the edition it belongs to (`from_period`, `to_period`,
  first days of months, NULL = unbounded) and the amendment that wrote it. Approving an amendment from period P
  closes the replaced rows at P − 1 month and adds the new rows from P, so a statement of an earlier period
  still reads what was in force then. The dated rows inside an edition keep the legacy rate-selection rule
  (§2.15, escalation rows). Old header values live in `contract_header_history` (one row per closed header
  edition, the full header as JSON); the `contract` row holds the open edition.
* `contract.edition` counts approved amendments: an amendment remembers the edition it was proposed on, so an
  approval after a conflicting change is refused instead of silently undoing it.
* The term: `status` (draft → active → expired | terminated → archived), `term_start`, `term_end` (NULL:
  evergreen), `auto_renew_months`, `notice_days`, `terminated_on`; `term_synthetic` marks demo terms
  (the PROD export has none: imported contracts are active and evergreen). `notes` and `accounts_payable`
  (§1.3 free text).
* The application role may write contracts, their configuration, amendments and header history as a
  billingAdmin (§3.9), on contracts it can see.
"""

import os
from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EDITION_TABLES = (
    "invoice_group",
    "fixed_fee_service",
    "labor_hour_job",
    "revenue_share_threshold",
    "contract_component",
)
AMENDMENT_KINDS = (
    "header",
    "configuration",
    "term",
    "activate",
    "terminate",
    "archive",
    "expire",
    "escalation",
)
AMENDMENT_STATUSES = ("proposed", "approved", "rejected", "withdrawn")
CONTRACT_STATUSES = ("draft", "active", "expired", "terminated", "archived")


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _each(sql: str) -> None:
    """Run `;`-separated statements one by one (asyncpg prepares each statement alone)."""
    for statement in sql.split(";\n"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    role = app_role()
    _each(f"""
    ALTER TABLE contract
        ADD COLUMN notes text,
        ADD COLUMN accounts_payable text,
        ADD COLUMN status text NOT NULL DEFAULT 'active',
        ADD COLUMN term_start date,
        ADD COLUMN term_end date,
        ADD COLUMN auto_renew_months smallint,
        ADD COLUMN notice_days smallint,
        ADD COLUMN terminated_on date,
        ADD COLUMN term_synthetic boolean NOT NULL DEFAULT false,
        ADD COLUMN edition integer NOT NULL DEFAULT 0,
        ADD COLUMN header_from_period date,
        ADD CONSTRAINT ck_contract_status_known CHECK (status IN ({_list(CONTRACT_STATUSES)})),
        ADD CONSTRAINT ck_contract_term_ordered CHECK (term_end >= term_start),
        ADD CONSTRAINT ck_contract_auto_renew_positive CHECK (auto_renew_months BETWEEN 1 AND 120),
        ADD CONSTRAINT ck_contract_notice_days_range CHECK (notice_days BETWEEN 0 AND 3650),
        ADD CONSTRAINT ck_contract_terminated_has_date
            CHECK (status NOT IN ('terminated') OR terminated_on IS NOT NULL),
        ADD CONSTRAINT ck_contract_header_from_first_day CHECK (extract(day FROM header_from_period) = 1);

    CREATE TABLE contract_amendment (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        contract_id uuid NOT NULL,
        number integer NOT NULL,
        kind text NOT NULL,
        first_service_period date,
        changes jsonb NOT NULL,
        summary text NOT NULL,
        reason text,
        status text NOT NULL DEFAULT 'proposed',
        source text NOT NULL DEFAULT 'api',
        base_edition integer NOT NULL,
        approved_edition integer,
        proposed_by text NOT NULL,
        proposed_at timestamptz NOT NULL DEFAULT now(),
        decided_by text,
        decided_at timestamptz,
        decision_note text,
        CONSTRAINT pk_contract_amendment PRIMARY KEY (id),
        CONSTRAINT fk_contract_amendment_contract_id_contract FOREIGN KEY (contract_id)
            REFERENCES contract (id) ON DELETE CASCADE,
        CONSTRAINT uq_contract_amendment_contract_id UNIQUE (contract_id, number),
        CONSTRAINT ck_contract_amendment_kind_known CHECK (kind IN ({_list(AMENDMENT_KINDS)})),
        CONSTRAINT ck_contract_amendment_status_known CHECK (status IN ({_list(AMENDMENT_STATUSES)})),
        CONSTRAINT ck_contract_amendment_source_known CHECK (source IN ('api', 'job')),
        CONSTRAINT ck_contract_amendment_changes_object CHECK (jsonb_typeof(changes) = 'object'),
        CONSTRAINT ck_contract_amendment_period_first_day CHECK (extract(day FROM first_service_period) = 1),
        CONSTRAINT ck_contract_amendment_period_named
            CHECK (kind NOT IN ('header', 'configuration') OR first_service_period IS NOT NULL),
        CONSTRAINT ck_contract_amendment_decided
            CHECK ((status = 'proposed') = (decided_by IS NULL AND decided_at IS NULL)),
        -- four eyes (§3.9, issue 10 §3): nobody approves their own amendment; jobs record their own
        CONSTRAINT ck_contract_amendment_four_eyes
            CHECK (status <> 'approved' OR source = 'job' OR decided_by <> proposed_by),
        CONSTRAINT ck_contract_amendment_approved_edition
            CHECK ((status = 'approved') = (approved_edition IS NOT NULL)),
        CONSTRAINT ck_contract_amendment_withdrawn_by_proposer
            CHECK (status <> 'withdrawn' OR decided_by = proposed_by)
    );
    CREATE INDEX ix_contract_amendment_contract_id ON contract_amendment (contract_id);
    CREATE INDEX ix_contract_amendment_proposed ON contract_amendment (proposed_at)
        WHERE status = 'proposed';

    CREATE TABLE contract_header_history (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        contract_id uuid NOT NULL,
        from_period date,
        to_period date NOT NULL,
        header jsonb NOT NULL,
        amendment_id uuid,
        CONSTRAINT pk_contract_header_history PRIMARY KEY (id),
        CONSTRAINT fk_contract_header_history_contract_id_contract FOREIGN KEY (contract_id)
            REFERENCES contract (id) ON DELETE CASCADE,
        CONSTRAINT fk_contract_header_history_amendment_id_contract_amendment FOREIGN KEY (amendment_id)
            REFERENCES contract_amendment (id),
        CONSTRAINT ck_contract_header_history_periods_ordered CHECK (to_period >= from_period),
        CONSTRAINT ck_contract_header_history_header_object CHECK (jsonb_typeof(header) = 'object'),
        CONSTRAINT no_overlapping_header_editions EXCLUDE USING gist
            (contract_id WITH =, daterange(from_period, to_period, '[]') WITH &&)
    );
    CREATE INDEX ix_contract_header_history_contract_id ON contract_header_history (contract_id);
    """)
    for table in EDITION_TABLES:
        op.execute(f"""
        ALTER TABLE {table}
            ADD COLUMN from_period date,
            ADD COLUMN to_period date,
            ADD COLUMN amendment_id uuid,
            ADD CONSTRAINT fk_{table}_amendment_id_contract_amendment FOREIGN KEY (amendment_id)
                REFERENCES contract_amendment (id),
            ADD CONSTRAINT ck_{table}_periods_ordered CHECK (to_period >= from_period),
            ADD CONSTRAINT ck_{table}_periods_first_day
                CHECK (extract(day FROM from_period) = 1 AND extract(day FROM to_period) = 1)
        """)
    # keys unique per edition, not per contract: an amendment's rows coexist with the rows they replaced
    _each("""
    ALTER TABLE invoice_group DROP CONSTRAINT uq_invoice_group_contract_number;
    ALTER TABLE invoice_group ADD CONSTRAINT no_overlapping_invoice_groups EXCLUDE USING gist
        (contract_id WITH =, group_number WITH =, daterange(from_period, to_period, '[]') WITH &&);
    ALTER TABLE revenue_share_threshold DROP CONSTRAINT uq_revenue_share_threshold_position;
    ALTER TABLE revenue_share_threshold ADD CONSTRAINT no_overlapping_threshold_positions EXCLUDE USING gist
        (contract_id WITH =, position WITH =, daterange(from_period, to_period, '[]') WITH &&);
    ALTER TABLE contract_component DROP CONSTRAINT no_overlapping_component_versions;
    ALTER TABLE contract_component ADD CONSTRAINT no_overlapping_component_versions EXCLUDE USING gist
        (contract_id WITH =, building_block WITH =, daterange(valid_from, valid_to, '[]') WITH &&,
         daterange(from_period, to_period, '[]') WITH &&);
    """)

    # ---- row-level security and privileges of the application role
    admin = "(SELECT towne_has_role('billingAdmin'))"
    visible = "contract_id IN (SELECT id FROM contract)"
    statements = [
        "ALTER TABLE contract_amendment ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE contract_header_history ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY read_scoped ON contract_amendment FOR SELECT TO {role} USING ({visible})",
        f"CREATE POLICY read_scoped ON contract_header_history FOR SELECT TO {role} USING ({visible})",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON contract_amendment, contract_header_history TO {role}",
        f"GRANT UPDATE ON contract TO {role}",
        f"CREATE POLICY admin_amend_contract ON contract FOR UPDATE TO {role}"
        f" USING ({admin}) WITH CHECK ({admin})",
    ]
    for table in ("contract_amendment", "contract_header_history", *EDITION_TABLES):
        statements.append(
            f"CREATE POLICY admin_amend ON {table} FOR ALL TO {role}"
            f" USING ({admin} AND {visible}) WITH CHECK ({admin} AND {visible})"
        )
    statements.append(f"GRANT INSERT, UPDATE, DELETE ON {', '.join(EDITION_TABLES)} TO {role}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    role = app_role()
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {', '.join(EDITION_TABLES)} FROM {role}")
    op.execute(f"REVOKE UPDATE ON contract FROM {role}")
    op.execute("DROP POLICY IF EXISTS admin_amend_contract ON contract")
    for table in EDITION_TABLES:
        op.execute(f"DROP POLICY IF EXISTS admin_amend ON {table}")
    _each("""
    DELETE FROM invoice_group WHERE to_period IS NOT NULL OR amendment_id IS NOT NULL;
    DELETE FROM fixed_fee_service WHERE to_period IS NOT NULL OR amendment_id IS NOT NULL;
    DELETE FROM labor_hour_job WHERE to_period IS NOT NULL OR amendment_id IS NOT NULL;
    DELETE FROM revenue_share_threshold WHERE to_period IS NOT NULL OR amendment_id IS NOT NULL;
    DELETE FROM contract_component WHERE to_period IS NOT NULL OR amendment_id IS NOT NULL;
    ALTER TABLE contract_component DROP CONSTRAINT no_overlapping_component_versions;
    ALTER TABLE contract_component ADD CONSTRAINT no_overlapping_component_versions EXCLUDE USING gist
        (contract_id WITH =, building_block WITH =, daterange(valid_from, valid_to, '[]') WITH &&);
    ALTER TABLE revenue_share_threshold DROP CONSTRAINT no_overlapping_threshold_positions;
    ALTER TABLE revenue_share_threshold ADD CONSTRAINT uq_revenue_share_threshold_position
        UNIQUE (contract_id, position);
    ALTER TABLE invoice_group DROP CONSTRAINT no_overlapping_invoice_groups;
    ALTER TABLE invoice_group ADD CONSTRAINT uq_invoice_group_contract_number UNIQUE (contract_id, group_number);
    """)
    for table in EDITION_TABLES:
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN amendment_id, DROP COLUMN to_period, DROP COLUMN from_period"
        )
    op.execute("DROP TABLE contract_header_history")
    op.execute("DROP TABLE contract_amendment")
    op.execute("""
    ALTER TABLE contract
        DROP COLUMN header_from_period, DROP COLUMN edition, DROP COLUMN term_synthetic,
        DROP COLUMN terminated_on, DROP COLUMN notice_days, DROP COLUMN auto_renew_months,
        DROP COLUMN term_end, DROP COLUMN term_start, DROP COLUMN status,
        DROP COLUMN accounts_payable, DROP COLUMN notes
    """)
