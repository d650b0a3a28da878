"""Closed accounting periods (issue 12 §3; domain.md §3.2, §3.8, §3.9).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-04

* The accounting period of a statement is the month of its service period start, P_start (the month of the
  GL batch id `{yyyyMM(P_start)}POWERBILL…`, domain.md §3.8). `accounting_period` holds one row per period that
  was ever closed (`period` YYYYMM): `state` closed or open (reopened), who closed it and when, the SHA-256 of
  the period's GL journal CSV at the close, the pending reopen request, and who reopened it. A period without a
  row is open. `accounting_period_event` is its history: closed / reopen_requested / reopened, by whom, when,
  why. Four eyes in the database: the reopening admin is not the requester (CHECKs on both tables).
* Row-level security: every signed-in caller reads both tables (periods reveal no site data); only a
  billingAdmin writes them.
* The last line of defence: BEFORE INSERT/UPDATE/DELETE row triggers on billing_statement, statement_version,
  invoice, invoice_line and statement_event refuse any write of a statement whose service period is closed
  with SQLSTATE `TP001` (the API answers it as PERIOD_CLOSED). They apply to every role, the owner included
  (psql, QGIS, the importer); a migration that must rewrite a closed period disables them explicitly
  (`ALTER TABLE … DISABLE TRIGGER`, which only the owner can).
* No race between a close and a write: every write of a period's statements takes the transaction-scoped
  advisory lock (29808 "tp", YYYYMM) shared, in the triggers' `towne_closed_period` (and the API's
  `resolvers.periods.require_open`, which calls it where the write starts); closing takes it exclusive, so a
  close waits for the writes in flight to commit and a write that starts after the close sees it.
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERIOD_LOCK_SPACE = 29808  # 0x7470 "tp"; db.repositories.periods.PERIOD_LOCK_SPACE
PERIOD_CLOSED_SQLSTATE = "TP001"  # resolvers.errors.PERIOD_CLOSED_SQLSTATE
GUARDED = ("billing_statement", "statement_version", "invoice", "invoice_line", "statement_event")
PERIOD_CHECK = "period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'"


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _each(script: str) -> None:
    """Run a script statement by statement; a `;` that ends a line outside a `$$` body ends a statement."""
    statement: list[str] = []
    for line in script.splitlines():
        statement.append(line)
        if line.rstrip().endswith(";") and "\n".join(statement).count("$$") % 2 == 0:
            op.execute("\n".join(statement).strip().rstrip(";"))
            statement = []
    if "\n".join(statement).strip():
        op.execute("\n".join(statement))


def upgrade() -> None:
    op.create_table(
        "accounting_period",
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=False),
        sa.Column("journal_sha256", sa.Text(), nullable=True),
        sa.Column("reopen_requested_by", sa.Text(), nullable=True),
        sa.Column("reopen_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.Column("reopened_by", sa.Text(), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(PERIOD_CHECK, name="ck_accounting_period_period_format"),
        sa.CheckConstraint("state IN ('closed', 'open')", name="ck_accounting_period_state_known"),
        sa.CheckConstraint(
            "journal_sha256 ~ '^[0-9a-f]{64}$'", name="ck_accounting_period_journal_sha256_hex"
        ),
        sa.CheckConstraint(
            "state <> 'closed' OR (journal_sha256 IS NOT NULL AND reopened_by IS NULL AND reopened_at IS NULL)",
            name="ck_accounting_period_closed_complete",
        ),
        sa.CheckConstraint(
            "state <> 'open' OR (reopened_by IS NOT NULL AND reopened_at IS NOT NULL"
            " AND reopen_requested_by IS NOT NULL AND journal_sha256 IS NULL)",
            name="ck_accounting_period_reopened_complete",
        ),
        sa.CheckConstraint(
            "(reopen_requested_by IS NULL) = (reopen_requested_at IS NULL)",
            name="ck_accounting_period_request_complete",
        ),
        # four eyes (§3.9, as contract amendments): nobody reopens on their own request
        sa.CheckConstraint(
            "reopened_by IS NULL OR reopened_by <> reopen_requested_by",
            name="ck_accounting_period_four_eyes",
        ),
        sa.PrimaryKeyConstraint("period", name="pk_accounting_period"),
    )
    op.create_table(
        "accounting_period_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("journal_sha256", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('closed', 'reopen_requested', 'reopened')", name="ck_accounting_period_event_kind_known"
        ),
        sa.CheckConstraint(
            "(kind = 'closed') = (journal_sha256 IS NOT NULL)", name="ck_accounting_period_event_closed_hash"
        ),
        sa.CheckConstraint(
            "kind <> 'reopened' OR (requested_by IS NOT NULL AND requested_by <> actor)",
            name="ck_accounting_period_event_four_eyes",
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            ["accounting_period.period"],
            name="fk_accounting_period_event_period_accounting_period",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accounting_period_event"),
    )
    op.create_index("ix_accounting_period_event_period", "accounting_period_event", ["period"])

    _each(f"""
    CREATE FUNCTION towne_closed_period(p_start date)
        RETURNS TABLE (period text, closed_by text, closed_at timestamptz)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        IF p_start IS NULL THEN
            RETURN;
        END IF;
        -- shared with every writer of the period, exclusive for a close (resolvers.periods)
        PERFORM pg_advisory_xact_lock_shared({PERIOD_LOCK_SPACE}, to_char(p_start, 'YYYYMM')::int);
        RETURN QUERY
            SELECT a.period::text, a.closed_by, a.closed_at FROM accounting_period a
            WHERE a.period = to_char(p_start, 'YYYYMM') AND a.state = 'closed';
    END $$;

    CREATE FUNCTION towne_refuse_closed_period() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        v_row jsonb;
        v_start date;
        v_closed record;
    BEGIN
        FOREACH v_row IN ARRAY ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END
        ] LOOP
            CONTINUE WHEN v_row IS NULL;
            v_start := CASE TG_TABLE_NAME
                WHEN 'billing_statement' THEN (v_row->>'service_period_start')::date
                WHEN 'statement_version' THEN (
                    SELECT s.service_period_start FROM billing_statement s
                    WHERE s.id = (v_row->>'statement_id')::uuid)
                WHEN 'invoice_line' THEN (
                    SELECT s.service_period_start FROM invoice i
                    JOIN statement_version v ON v.id = i.statement_version_id
                    JOIN billing_statement s ON s.id = v.statement_id
                    WHERE i.id = (v_row->>'invoice_id')::uuid)
                ELSE (  -- invoice, statement_event
                    SELECT s.service_period_start FROM statement_version v
                    JOIN billing_statement s ON s.id = v.statement_id
                    WHERE v.id = (v_row->>'statement_version_id')::uuid)
            END;
            SELECT * INTO v_closed FROM towne_closed_period(v_start);
            IF FOUND THEN
                RAISE EXCEPTION 'service period % is closed (closed by % on %); a billing admin can request reopening',
                    to_char(v_start, 'YYYY-MM'), v_closed.closed_by,
                    to_char(v_closed.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                    USING ERRCODE = '{PERIOD_CLOSED_SQLSTATE}',
                        DETAIL = json_build_object(
                            'period', v_closed.period, 'closedBy', v_closed.closed_by,
                            'closedAt', v_closed.closed_at)::text,
                        HINT = 'requestPeriodReopen, then another billing admin approvePeriodReopen';
            END IF;
        END LOOP;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END $$;
    """)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER refuse_closed_period BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION towne_refuse_closed_period()"
        )

    role = app_role()
    signed_in = "(SELECT towne_user_id()) IS NOT NULL"
    admin = "(SELECT towne_has_role('billingAdmin'))"
    for table in ("accounting_period", "accounting_period_event"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY read_signed_in ON {table} FOR SELECT TO {role} USING ({signed_in})")
        op.execute(f"CREATE POLICY admin ON {table} FOR ALL TO {role} USING ({admin}) WITH CHECK ({admin})")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {role}")
    op.execute("REVOKE ALL ON FUNCTION towne_closed_period(date) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION towne_closed_period(date) TO {role}")


def downgrade() -> None:
    role = app_role()
    for table in GUARDED:
        op.execute(f"DROP TRIGGER IF EXISTS refuse_closed_period ON {table}")
    op.execute("DROP FUNCTION IF EXISTS towne_refuse_closed_period()")
    op.execute(f"REVOKE ALL ON FUNCTION towne_closed_period(date) FROM {role}")
    op.execute("DROP FUNCTION IF EXISTS towne_closed_period(date)")
    for table in ("accounting_period_event", "accounting_period"):
        op.execute(f"REVOKE ALL ON {table} FROM {role}")
        op.drop_table(table)
