"""Sending statements (issue 12 §2; domain.md §3.5 send actions SendEmail / SendToGP / SendAll, §3.8).

`send_statements` queues one send job per statement version and channel (`db.repositories.sending.queue`);
`towne worker` (`server.worker`) delivers them. A statement becomes Sent in the transaction that records its
last channel's success (`complete_if_sent`), so Sent means every requested channel delivered.

Idempotent per version and channel: asking again for a queued or delivered channel answers the job there
is; a FAILED one is queued again with fresh tries; an UNCERTAIN e-mail (its worker was lost while the SMTP
server was receiving it) is never sent again by itself: a billing manager says whether it arrived
(`resolve_send_job`): delivered → SUCCEEDED; not delivered → queued again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from billing.statements import StatementStatus, transition
from db.models import SendJob, StatementVersion
from db.repositories import sending as repo
from db.repositories import statements as statement_repo
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    NoRecipients,
    NotFound,
    StatementSending,
    TowneError,
    TransitionNotAllowed,
    Unauthenticated,
)
from resolvers.statements import locked_target
from server.delivery import Channel

MAX_STATEMENTS = 1000


@dataclass(frozen=True, slots=True)
class Queued:
    """The jobs of one statement after `sendStatements` (new, re-queued or as they were)."""

    statement_id: uuid.UUID
    jobs: list[SendJob]


def _actor(ctx: Context) -> str:
    if ctx.caller.subject is None:
        raise Unauthenticated("sign in to send statements")
    return ctx.caller.subject


def channels_of(channels: Sequence[Channel]) -> list[str]:
    """The distinct channels in their canonical order; none is `BAD_USER_INPUT`."""
    chosen = [c.value for c in Channel if c in set(channels)]
    if not chosen:
        raise BadUserInput("name at least one channel: EMAIL, GREAT_PLAINS", argument="channels")
    return chosen


async def _queue_one(ctx: Context, statement_id: uuid.UUID, channels: list[str], actor: str) -> Queued:
    async with ctx.db.transaction() as session:
        # locked, current and in an open period (PERIOD_CLOSED otherwise), as every statement write
        statement, version = await locked_target(session, statement_id)
        if version.status != StatementStatus.READY_TO_SEND.name:
            raise TransitionNotAllowed(
                f"only a READY_TO_SEND statement is sent (§3.5); statement {statement.id} version "
                f"{version.version} is {version.status}"
            )
        existing = {
            j.channel: j for j in (await repo.jobs_of_versions(session, version_ids=[version.id]))[version.id]
        }
        uncertain = [c for c in channels if c in existing and existing[c].state == "UNCERTAIN"]
        if uncertain:
            raise StatementSending(
                f"the {', '.join(uncertain)} send of statement {statement.id} is UNCERTAIN: settle it with "
                "resolveSendJob (was it received?) before sending again",
                statement_id=statement.id,
                channels=uncertain,
            )
        email_job = existing.get(Channel.EMAIL.value)
        if Channel.EMAIL.value in channels and (email_job is None or email_job.state == "FAILED"):
            site = await statement_repo.site_of_statement(session, statement_id=statement.id)
            if not site.billing_contact_emails:
                raise NoRecipients(
                    f"site {site.site_number} has no billing contact e-mail: set billingContactEmails with "
                    "updateCustomerSite, then send again",
                    site_number=site.site_number,
                )
        jobs = await repo.queue(
            session,
            version_id=version.id,
            channels=channels,
            requested_by=actor,
            max_attempts=ctx.settings.send_max_attempts,
        )
    return Queued(statement.id, jobs)


async def send_statements(
    ctx: Context, *, statement_ids: Sequence[uuid.UUID], channels: Sequence[Channel]
) -> list[tuple[uuid.UUID, Queued | TowneError]]:
    """Queue the sends of each statement (a statement id, or a version id that must still be current), each
    its own unit of work and its own outcome, in request order (duplicates once). Refusals per statement:
    `NotFound`, `StatementReplaced`, `TransitionNotAllowed` (not Ready To Send), `PeriodClosed`,
    `NoRecipients` (e-mail without a billing contact), `StatementSending` (an UNCERTAIN e-mail)."""
    actor = _actor(ctx)
    chosen = channels_of(channels)
    unique = list(dict.fromkeys(statement_ids))
    if not unique:
        raise BadUserInput("name at least one statement", argument="statementIds")
    if len(unique) > MAX_STATEMENTS:
        raise BadUserInput(
            f"at most {MAX_STATEMENTS} statements per request, got {len(unique)}", argument="statementIds"
        )
    out: list[tuple[uuid.UUID, Queued | TowneError]] = []
    for statement_id in unique:
        try:
            out.append((statement_id, await _queue_one(ctx, statement_id, chosen, actor)))
        except TowneError as error:
            out.append((statement_id, error))
    return out


async def complete_if_sent(session: AsyncSession, *, version: StatementVersion, actor: str | None) -> bool:
    """Move a (locked) Ready To Send version to Sent when every one of its send jobs SUCCEEDED, recording
    the channels in the event; True when it moved. Call it in the transaction that finished the last job."""
    channels = await repo.all_succeeded(session, version_id=version.id)
    if channels is None or version.status != StatementStatus.READY_TO_SEND.name:
        return False
    transition(StatementStatus.READY_TO_SEND, StatementStatus.SENT)
    await statement_repo.add_event(
        session,
        version=version,
        to_status=StatementStatus.SENT.name,
        note="sent: " + ", ".join(channels),
        actor=actor,
    )
    return True


async def resolve_send_job(ctx: Context, *, job_id: uuid.UUID, delivered: bool) -> uuid.UUID:
    """Settle an UNCERTAIN send job (billing manager): `delivered` → SUCCEEDED (and the statement Sent when
    it was the last channel); not delivered → queued again with one more try. Returns the statement id.
    Raises `NotFound`, `TransitionNotAllowed` (the job is not UNCERTAIN), `StatementReplaced`,
    `PeriodClosed`."""
    actor = _actor(ctx)
    async with ctx.db.read() as session:
        found = (await session.get(SendJob, job_id)) if job_id else None
        version_id = found.statement_version_id if found is not None else None
    if version_id is None:
        raise NotFound(f"no send job with id {job_id}", argument="jobId")
    async with ctx.db.transaction() as session:
        statement, version = await locked_target(session, version_id)
        job = await repo.lock_job(session, job_id=job_id)
        assert job is not None
        if job.state != "UNCERTAIN":
            raise TransitionNotAllowed(f"send job {job_id} is {job.state}; only an UNCERTAIN job is resolved")
        job.resolved_by = actor
        if delivered:
            job.state = "SUCCEEDED"
            job.finished_at = dt.datetime.now(dt.UTC)
            job.result = f"received, as {actor} confirmed"
        else:
            job.state = "QUEUED"
            job.handed_over_at = None
            job.next_attempt_at = dt.datetime.now(dt.UTC)
            job.max_attempts = max(job.max_attempts, job.attempts + 1)
            job.last_error = f"not received, as {actor} confirmed: sending again"
        await session.flush()
        if delivered:
            await complete_if_sent(session, version=version, actor=actor)
    return statement.id
