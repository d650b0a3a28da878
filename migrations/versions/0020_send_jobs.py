"""Send jobs: the queue that sends Ready To Send statements (issue 12 §2; domain.md §3.5, §3.8).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

* `send_job`: one row per statement version and channel (EMAIL, GREAT_PLAINS), UNIQUE, so a repeated
  `sendStatements` finds the job it made instead of sending twice. QUEUED jobs are due at
  `next_attempt_at`; a worker takes one with `towne_claim_send_job` (`FOR UPDATE SKIP LOCKED`), holding a
  lease (`lease_token`, `lease_expires_at`) it renews while it works, never a permanent in-flight flag: a
  worker that dies leaves a lease that expires, and the next claim records its attempt LOST and tries again.
  SUCCEEDED and FAILED are final (FAILED after the last attempt or a refusal no retry can change; a new
  `sendStatements` queues it again). UNCERTAIN: an e-mail whose message the SMTP server may have accepted
  (`handed_over_at` was set before DATA) when its worker was lost; it is never re-sent by itself, a billing
  manager says whether it arrived (`resolveSendJob`).
* `send_attempt`: one row per try: the worker, when, the outcome (NULL while it runs) and the reason.
* Row scopes: both are children of `statement_version` as `statement_event` is: a caller sees the jobs of
  the statements they see; billing roles queue and resolve them. The worker's bookkeeping (claim, renew,
  hand-over mark, finish) goes through SECURITY DEFINER functions that act only for the holder of the
  lease token; the delivery itself runs as the user who asked for it.
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("QUEUED", "SUCCEEDED", "FAILED", "UNCERTAIN")
OUTCOMES = ("SUCCEEDED", "RETRY", "FAILED", "LOST", "UNCERTAIN")
FUNCTIONS = (
    "towne_claim_send_job(text, integer)",
    "towne_renew_send_lease(uuid, uuid, integer)",
    "towne_mark_send_handed_over(uuid, uuid)",
    "towne_finish_send_job(uuid, uuid, text, text, integer)",
)


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _each(script: str) -> None:
    """Run a script statement by statement; a `;` ending a line outside a `$$` body ends a statement."""
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
        "send_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("statement_version_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="QUEUED", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True, comment="the worker holding the lease"),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "handed_over_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="e-mail: the message was being handed to the SMTP server (DATA) in the current attempt",
        ),
        sa.Column("requested_by", sa.Text(), nullable=False, comment="subject of the billing manager"),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True, comment="what the channel answered on success"),
        sa.Column("resolved_by", sa.Text(), nullable=True, comment="who settled an UNCERTAIN job"),
        sa.CheckConstraint(
            f"channel IN ({_in(('EMAIL', 'GREAT_PLAINS'))})", name="ck_send_job_channel_known"
        ),
        sa.CheckConstraint(f"state IN ({_in(STATES)})", name="ck_send_job_state_known"),
        sa.CheckConstraint("max_attempts BETWEEN 1 AND 1000", name="ck_send_job_max_attempts_range"),
        sa.CheckConstraint("attempts BETWEEN 0 AND max_attempts", name="ck_send_job_attempts_range"),
        sa.CheckConstraint(
            "(lease_token IS NULL) = (lease_expires_at IS NULL) AND (lease_token IS NULL) = (lease_owner IS NULL)",
            name="ck_send_job_lease_whole",
        ),
        # a finished or uncertain job holds no lease; a final one says when it ended
        sa.CheckConstraint("state = 'QUEUED' OR lease_token IS NULL", name="ck_send_job_lease_only_queued"),
        sa.CheckConstraint(
            "(state IN ('SUCCEEDED', 'FAILED')) = (finished_at IS NOT NULL)", name="ck_send_job_finished_when"
        ),
        sa.CheckConstraint(
            "handed_over_at IS NULL OR channel = 'EMAIL'", name="ck_send_job_handed_over_email"
        ),
        sa.ForeignKeyConstraint(
            ["statement_version_id"],
            ["statement_version.id"],
            name="fk_send_job_statement_version_id_statement_version",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_send_job"),
        sa.UniqueConstraint(
            "statement_version_id", "channel", name="uq_send_job_statement_version_id_channel"
        ),
        comment="Send jobs of statement versions, one per channel (issue 12 §2, domain.md §3.5)",
    )
    op.create_index(
        "ix_send_job_due", "send_job", ["next_attempt_at"], postgresql_where=sa.text("state = 'QUEUED'")
    )
    op.create_table(
        "send_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("send_job_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True, comment="NULL while the attempt runs"),
        sa.Column("detail", sa.Text(), nullable=True, comment="the reason or the channel's answer"),
        sa.CheckConstraint(f"outcome IN ({_in(OUTCOMES)})", name="ck_send_attempt_outcome_known"),
        sa.CheckConstraint("(outcome IS NULL) = (finished_at IS NULL)", name="ck_send_attempt_finished_when"),
        sa.ForeignKeyConstraint(
            ["send_job_id"], ["send_job.id"], name="fk_send_attempt_send_job_id_send_job", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_send_attempt"),
        sa.UniqueConstraint("send_job_id", "attempt", name="uq_send_attempt_send_job_id_attempt"),
        comment="Each try of a send job (issue 12 §2)",
    )

    _each("""
    CREATE FUNCTION towne_claim_send_job(p_worker text, p_lease_s integer)
        RETURNS TABLE (
            job_id uuid, lease_token uuid, attempt integer, statement_version_id uuid, channel text,
            requested_by text, max_attempts integer
        )
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    #variable_conflict use_column
    DECLARE
        v_job send_job;
        v_token uuid;
    BEGIN
        LOOP
            SELECT * INTO v_job FROM send_job j
            WHERE j.state = 'QUEUED' AND j.next_attempt_at <= now()
              AND (j.lease_expires_at IS NULL OR j.lease_expires_at < now())
            ORDER BY j.next_attempt_at, j.id
            LIMIT 1 FOR UPDATE SKIP LOCKED;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            IF v_job.lease_token IS NOT NULL THEN
                -- its worker died or hung past its lease: that attempt is lost
                UPDATE send_attempt a SET finished_at = now(),
                    outcome = CASE WHEN v_job.handed_over_at IS NULL THEN 'LOST' ELSE 'UNCERTAIN' END,
                    detail = 'the worker ' || v_job.lease_owner || ' stopped before finishing (lease expired)'
                WHERE a.send_job_id = v_job.id AND a.outcome IS NULL;
                IF v_job.handed_over_at IS NOT NULL THEN
                    -- the SMTP server may have the message: never send it again without a person
                    UPDATE send_job SET state = 'UNCERTAIN', lease_token = NULL, lease_owner = NULL,
                        lease_expires_at = NULL,
                        last_error = 'the worker was lost while the SMTP server was receiving the message: '
                            || 'check the mailbox, then resolveSendJob'
                    WHERE id = v_job.id;
                    CONTINUE;
                END IF;
                IF v_job.attempts >= v_job.max_attempts THEN
                    UPDATE send_job SET state = 'FAILED', finished_at = now(), lease_token = NULL,
                        lease_owner = NULL, lease_expires_at = NULL,
                        last_error = 'every attempt was used; the last one was lost with its worker'
                    WHERE id = v_job.id;
                    CONTINUE;
                END IF;
            END IF;
            v_token := gen_random_uuid();
            UPDATE send_job SET attempts = attempts + 1, lease_token = v_token, lease_owner = p_worker,
                lease_expires_at = now() + make_interval(secs => p_lease_s)
            WHERE id = v_job.id;
            INSERT INTO send_attempt (send_job_id, attempt, worker) VALUES (v_job.id, v_job.attempts + 1, p_worker);
            job_id := v_job.id;
            lease_token := v_token;
            attempt := v_job.attempts + 1;
            statement_version_id := v_job.statement_version_id;
            channel := v_job.channel;
            requested_by := v_job.requested_by;
            max_attempts := v_job.max_attempts;
            RETURN NEXT;
            RETURN;
        END LOOP;
    END $$;

    CREATE FUNCTION towne_renew_send_lease(p_job uuid, p_token uuid, p_lease_s integer) RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        UPDATE send_job SET lease_expires_at = now() + make_interval(secs => p_lease_s)
        WHERE id = p_job AND lease_token = p_token AND state = 'QUEUED';
        RETURN FOUND;
    END $$;

    CREATE FUNCTION towne_mark_send_handed_over(p_job uuid, p_token uuid) RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        UPDATE send_job SET handed_over_at = now()
        WHERE id = p_job AND lease_token = p_token AND state = 'QUEUED' AND channel = 'EMAIL';
        RETURN FOUND;
    END $$;

    -- p_outcome: SUCCEEDED, RETRY (due again in p_retry_s seconds unless the attempts are used: FAILED),
    -- FAILED (final), UNCERTAIN (an e-mail whose DATA went unanswered: a person settles it). Only the lease holder finishes; returns the job's state after it, NULL when the lease
    -- was no longer this worker's (another took the job over).
    CREATE FUNCTION towne_finish_send_job(
        p_job uuid, p_token uuid, p_outcome text, p_detail text, p_retry_s integer
    ) RETURNS text
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        v_job send_job;
        v_state text;
        v_outcome text := p_outcome;
    BEGIN
        SELECT * INTO v_job FROM send_job WHERE id = p_job AND lease_token = p_token AND state = 'QUEUED'
        FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        IF p_outcome = 'RETRY' AND v_job.attempts >= v_job.max_attempts THEN
            v_outcome := 'FAILED';
        END IF;
        IF v_outcome NOT IN ('SUCCEEDED', 'RETRY', 'FAILED', 'UNCERTAIN')
           OR (v_outcome = 'UNCERTAIN' AND v_job.channel <> 'EMAIL') THEN
            RAISE EXCEPTION 'unknown send outcome % for a % job', p_outcome, v_job.channel
                USING ERRCODE = '22023';
        END IF;
        v_state := CASE v_outcome WHEN 'RETRY' THEN 'QUEUED' ELSE v_outcome END;
        UPDATE send_job SET state = v_state, lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL,
            handed_over_at = CASE WHEN v_state = 'UNCERTAIN' THEN handed_over_at END,
            finished_at = CASE WHEN v_state IN ('SUCCEEDED', 'FAILED') THEN now() END,
            next_attempt_at = CASE WHEN v_state = 'QUEUED'
                THEN now() + make_interval(secs => p_retry_s) ELSE next_attempt_at END,
            last_error = CASE WHEN v_state = 'SUCCEEDED' THEN last_error ELSE p_detail END,
            result = CASE WHEN v_state = 'SUCCEEDED' THEN p_detail ELSE result END
        WHERE id = p_job;
        UPDATE send_attempt SET outcome = v_outcome, finished_at = now(), detail = p_detail
        WHERE send_job_id = p_job AND attempt = v_job.attempts AND outcome IS NULL;
        RETURN v_state;
    END $$;
    """)

    role = app_role()
    billing = "(SELECT towne_has_role('billingAdmin', 'billingManager'))"
    job_visible = "statement_version_id IN (SELECT id FROM statement_version)"
    attempt_visible = "send_job_id IN (SELECT id FROM send_job)"
    for sql in (
        "ALTER TABLE send_job ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY read_scoped ON send_job FOR SELECT TO {role} USING ({job_visible})",
        f"CREATE POLICY queue_billing ON send_job FOR INSERT TO {role} WITH CHECK ({billing} AND {job_visible})",
        f"CREATE POLICY settle_billing ON send_job FOR UPDATE TO {role}"
        f" USING ({billing} AND {job_visible}) WITH CHECK ({billing} AND {job_visible})",
        f"GRANT SELECT, INSERT, UPDATE ON send_job TO {role}",
        "ALTER TABLE send_attempt ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY read_scoped ON send_attempt FOR SELECT TO {role} USING ({attempt_visible})",
        f"GRANT SELECT ON send_attempt TO {role}",
    ):
        op.execute(sql)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("send_attempt")
    op.drop_index("ix_send_job_due", table_name="send_job")
    op.drop_table("send_job")
