"""Send jobs and attempts (issue 12 §2; migration 0020): queueing in the caller's row scope, and the
worker's lease bookkeeping through the migration's SECURITY DEFINER functions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SendAttempt, SendJob

# queued, running or waiting for a person: the version must not change meanwhile
IN_PROGRESS = ("QUEUED", "UNCERTAIN")


async def jobs_of_versions(
    session: AsyncSession, *, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[SendJob]]:
    """The send jobs of each version (visible ones), by channel."""
    rows = (
        await session.scalars(
            select(SendJob)
            .where(SendJob.statement_version_id.in_(list(version_ids)))
            .order_by(SendJob.statement_version_id, SendJob.channel)
        )
    ).all()
    out: dict[uuid.UUID, list[SendJob]] = {v: [] for v in version_ids}
    for row in rows:
        out[row.statement_version_id].append(row)
    return out


async def attempts_of_jobs(
    session: AsyncSession, *, job_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[SendAttempt]]:
    """The attempts of each job, oldest first."""
    rows = (
        await session.scalars(
            select(SendAttempt)
            .where(SendAttempt.send_job_id.in_(list(job_ids)))
            .order_by(SendAttempt.send_job_id, SendAttempt.attempt)
        )
    ).all()
    out: dict[uuid.UUID, list[SendAttempt]] = {j: [] for j in job_ids}
    for row in rows:
        out[row.send_job_id].append(row)
    return out


async def in_progress(session: AsyncSession, *, version_id: uuid.UUID) -> list[str]:
    """The channels of the version's jobs that are queued, running or UNCERTAIN."""
    return list(
        (
            await session.scalars(
                select(SendJob.channel)
                .where(SendJob.statement_version_id == version_id, SendJob.state.in_(IN_PROGRESS))
                .order_by(SendJob.channel)
            )
        ).all()
    )


async def queue(
    session: AsyncSession,
    *,
    version_id: uuid.UUID,
    channels: Sequence[str],
    requested_by: str,
    max_attempts: int,
) -> list[SendJob]:
    """One job per channel for a (locked) version: a new one QUEUED; a FAILED one queued again with
    `max_attempts` more tries (attempt numbers go on); a QUEUED, SUCCEEDED or UNCERTAIN one as it is.
    Returns the jobs of `channels`, locked."""
    await session.execute(
        insert(SendJob)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "statement_version_id": version_id,
                    "channel": channel,
                    "max_attempts": max_attempts,
                    "requested_by": requested_by,
                }
                for channel in channels
            ]
        )
        .on_conflict_do_nothing(constraint="uq_send_job_statement_version_id_channel")
    )
    await session.execute(
        update(SendJob)
        .where(
            SendJob.statement_version_id == version_id,
            SendJob.channel.in_(list(channels)),
            SendJob.state == "FAILED",
        )
        .values(
            state="QUEUED",
            finished_at=None,
            next_attempt_at=func.now(),
            max_attempts=SendJob.attempts + max_attempts,
            requested_by=requested_by,
            requested_at=func.now(),
        )
        .execution_options(synchronize_session=False)
    )
    return list(
        (
            await session.scalars(
                select(SendJob)
                .where(SendJob.statement_version_id == version_id, SendJob.channel.in_(list(channels)))
                .order_by(SendJob.channel)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def lock_job(session: AsyncSession, *, job_id: uuid.UUID) -> SendJob | None:
    """A visible job, locked and read afresh."""
    return (
        await session.scalars(
            select(SendJob)
            .where(SendJob.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def all_succeeded(session: AsyncSession, *, version_id: uuid.UUID) -> list[str] | None:
    """The channels of the version's jobs when there is at least one and every one SUCCEEDED, else None."""
    rows = (
        await session.execute(
            select(SendJob.channel, SendJob.state)
            .where(SendJob.statement_version_id == version_id)
            .order_by(SendJob.channel)
        )
    ).all()
    if not rows or any(state != "SUCCEEDED" for _, state in rows):
        return None
    return [channel for channel, _ in rows]


# ------------------------------------------------------------------------- the worker's lease bookkeeping


@dataclass(frozen=True, slots=True)
class Claim:
    """A job a worker holds: `lease_token` proves it in every later call; `attempt` counts from 1."""

    job_id: uuid.UUID
    lease_token: uuid.UUID
    attempt: int


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """What the worker needs of a claimed job (read with the owner's function, before any caller is bound)."""

    claim: Claim
    version_id: uuid.UUID
    channel: str
    requested_by: str
    max_attempts: int


async def claim(session: AsyncSession, *, worker: str, lease_s: int) -> ClaimedJob | None:
    """The next due job, leased to `worker` for `lease_s` seconds (`towne_claim_send_job`: SKIP LOCKED, so
    workers never wait for one another; expired leases are recorded LOST first). None: nothing is due."""
    row = (
        await session.execute(
            text("SELECT * FROM towne_claim_send_job(:worker, :lease_s)"),
            {"worker": worker, "lease_s": lease_s},
        )
    ).first()
    if row is None:
        return None
    return ClaimedJob(
        claim=Claim(row.job_id, row.lease_token, row.attempt),
        version_id=row.statement_version_id,
        channel=row.channel,
        requested_by=row.requested_by,
        max_attempts=row.max_attempts,
    )


async def renew(session: AsyncSession, *, claim: Claim, lease_s: int) -> bool:
    """Extend the lease; False when the job is no longer this worker's."""
    return bool(
        await session.scalar(
            text("SELECT towne_renew_send_lease(:job, :token, :lease_s)"),
            {"job": claim.job_id, "token": claim.lease_token, "lease_s": lease_s},
        )
    )


async def mark_handed_over(session: AsyncSession, *, claim: Claim) -> bool:
    """Record that the message is being handed to the SMTP server (before DATA); False: lease lost."""
    return bool(
        await session.scalar(
            text("SELECT towne_mark_send_handed_over(:job, :token)"),
            {"job": claim.job_id, "token": claim.lease_token},
        )
    )


async def finish(
    session: AsyncSession, *, claim: Claim, outcome: str, detail: str, retry_in: dt.timedelta
) -> str | None:
    """End the attempt: SUCCEEDED, RETRY (due again after `retry_in`, FAILED when the attempts are used) or
    FAILED. Returns the job's state after it; None when the lease was lost (another worker owns the job)."""
    state = await session.scalar(
        text("SELECT towne_finish_send_job(:job, :token, :outcome, :detail, :retry_s)"),
        {
            "job": claim.job_id,
            "token": claim.lease_token,
            "outcome": outcome,
            "detail": detail,
            "retry_s": max(0, int(retry_in.total_seconds())),
        },
    )
    return None if state is None else str(state)
