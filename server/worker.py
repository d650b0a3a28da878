"""`towne worker`: delivers the send jobs of `sendStatements` (issue 12 §2; domain.md §3.5, §3.8).

One loop per process; any number of processes may run (`FOR UPDATE SKIP LOCKED`: no two take one job). A
job is claimed under a lease (`TOWNE_SEND_LEASE_S`) that a heartbeat renews while the delivery runs; a
worker that dies stops renewing, and once the lease has expired the next claim records the attempt LOST and
tries again — except an e-mail whose message was being handed to the SMTP server (`server.mailer`), which
becomes UNCERTAIN: never sent twice, settled by a person (`resolveSendJob`).

Each delivery runs as the billing manager who asked for it (their row scope; the event of the move to Sent
and the Great Plains request log name them) inside a transaction that holds the accounting period's lock
shared (`resolvers.periods.require_open`): a `closePeriod` waits for the sends in flight, and no send starts
in a closed period. The move to Sent commits in that same transaction with the job's success, when every
requested channel has succeeded.

A failure is retried with exponential back-off (`TOWNE_SEND_BACKOFF_S` · 2^(n−1), at most
`TOWNE_SEND_BACKOFF_MAX_S`) up to `TOWNE_SEND_MAX_ATTEMPTS`; a final failure (or an UNCERTAIN e-mail) is
e-mailed to `TOWNE_SEND_FAILURE_NOTICE_TO` (the failure notice of §3.8) and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from db.database import Database, RequestDatabase
from db.repositories import periods as period_repo
from db.repositories import sending as repo
from db.repositories import statements as statement_repo
from db.repositories.sending import Claim, ClaimedJob
from resolvers.context import bind_caller
from resolvers.errors import PeriodClosed
from resolvers.periods import require_open
from resolvers.sending import complete_if_sent
from server import mailer
from server.delivery import Channel, DeliveryFailed
from server.settings import Settings

log = logging.getLogger("towne.worker")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended: the job's state after it (None: the lease was lost) and why."""

    job_id: uuid.UUID
    channel: str
    state: str | None
    detail: str


def backoff(settings: Settings, attempt: int) -> dt.timedelta:
    """The wait before try `attempt + 1` after try `attempt` failed (attempt ≥ 1)."""
    seconds = settings.send_backoff_s * 2 ** max(0, attempt - 1)
    return dt.timedelta(seconds=min(seconds, settings.send_backoff_max_s))


class Worker:
    """Claims and delivers send jobs from `database` (connected as the application role)."""

    def __init__(self, database: Database, settings: Settings, *, name: str | None = None) -> None:
        self.db = database
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Work until `stop` is set: a job after another while any is due, else wait `TOWNE_SEND_POLL_S`."""
        stop = stop or asyncio.Event()
        log.info("send worker %s started", self.name)
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:
                # the database went away or a bug: keep the loop, the lease brings the job back
                log.exception("send worker %s: a job failed unexpectedly", self.name)
                worked = None
            if worked is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.send_poll_s)
        log.info("send worker %s stopped", self.name)

    async def run_once(self) -> Outcome | None:
        """Claim one due job and deliver it; None when nothing was due."""
        door = self.db.request()
        try:
            async with door.transaction() as session:
                job = await repo.claim(session, worker=self.name, lease_s=self.settings.send_lease_s)
        finally:
            await door.close()
        if job is None:
            return None
        log.info(
            "send worker %s: job %s %s attempt %d",
            self.name,
            job.claim.job_id,
            job.channel,
            job.claim.attempt,
        )
        heartbeat = asyncio.create_task(self._heartbeat(job.claim))
        try:
            outcome = await self._attempt(job)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        log.info(
            "send worker %s: job %s %s → %s: %s",
            self.name,
            outcome.job_id,
            outcome.channel,
            outcome.state,
            outcome.detail,
        )
        if outcome.state in ("FAILED", "UNCERTAIN"):
            await self._notify(job, outcome)
        return outcome

    async def _heartbeat(self, claim: Claim) -> None:
        every = max(0.5, self.settings.send_lease_s / 3)
        while True:
            await asyncio.sleep(every)
            door = self.db.request()
            try:
                async with door.transaction() as session:
                    if not await repo.renew(session, claim=claim, lease_s=self.settings.send_lease_s):
                        return
            except Exception:
                log.warning("send worker %s: could not renew the lease of job %s", self.name, claim.job_id)
            finally:
                await door.close()

    async def _finish(self, door: RequestDatabase, job: ClaimedJob, outcome: str, detail: str) -> Outcome:
        async with door.transaction() as session:
            state = await repo.finish(
                session,
                claim=job.claim,
                outcome=outcome,
                detail=detail[:2000],
                retry_in=backoff(self.settings, job.claim.attempt),
            )
        return Outcome(job.claim.job_id, job.channel, state, detail)

    async def _attempt(self, job: ClaimedJob) -> Outcome:
        door = self.db.request()
        delivered: str | None = None
        try:
            caller = await bind_caller(door, job.requested_by)
            if caller is None:
                return await self._finish(
                    door,
                    job,
                    "FAILED",
                    f"{job.requested_by}, who asked for this send, is no longer an active user: send it again",
                )
            try:
                async with door.transaction() as guard:
                    version = (await statement_repo.versions_by_id(guard, version_ids=[job.version_id])).get(
                        job.version_id
                    )
                    if version is None:
                        raise DeliveryFailed(
                            f"{job.requested_by} can no longer see this statement: nothing was sent",
                            retryable=False,
                        )
                    if version.superseded or version.status != "READY_TO_SEND":
                        now = "replaced" if version.superseded else version.status
                        raise DeliveryFailed(
                            f"the statement version is {now}, no longer Ready To Send: nothing was sent",
                            retryable=False,
                        )
                    start = await period_repo.service_period_of_version(guard, version_id=version.id)
                    # the period's lock, shared, until this transaction ends: a close waits for this send
                    await require_open(guard, service_period_start=start)
                    delivered = await self._deliver(door, job)
                    state = await repo.finish(
                        guard,
                        claim=job.claim,
                        outcome="SUCCEEDED",
                        detail=delivered[:2000],
                        retry_in=dt.timedelta(),
                    )
                    if state == "SUCCEEDED":
                        locked = await statement_repo.lock_version(guard, version_id=version.id)
                        assert locked is not None
                        await complete_if_sent(guard, version=locked, actor=job.requested_by)
                return Outcome(job.claim.job_id, job.channel, state, delivered)
            except mailer.Uncertain as failure:
                return await self._finish(door, job, "UNCERTAIN", failure.reason)
            except DeliveryFailed as failure:
                return await self._finish(
                    door, job, "RETRY" if failure.retryable else "FAILED", failure.reason
                )
            except PeriodClosed as closed:
                return await self._finish(door, job, "FAILED", f"nothing was sent: {closed.message}")
            except Exception as error:
                if delivered is None:
                    log.exception("send worker %s: job %s failed", self.name, job.claim.job_id)
                    return await self._finish(
                        door, job, "RETRY", f"an internal error stopped the attempt ({type(error).__name__})"
                    )
                # delivered, but recording it failed: record it again on its own (never deliver it twice)
                log.exception(
                    "send worker %s: job %s delivered, recording failed", self.name, job.claim.job_id
                )
                return await self._record_delivered(door, job, delivered)
        finally:
            await door.close()

    async def _record_delivered(self, door: RequestDatabase, job: ClaimedJob, detail: str) -> Outcome:
        async with door.transaction() as session:
            state = await repo.finish(
                session, claim=job.claim, outcome="SUCCEEDED", detail=detail[:2000], retry_in=dt.timedelta()
            )
            if state == "SUCCEEDED":
                locked = await statement_repo.lock_version(session, version_id=job.version_id)
                if locked is not None:
                    await complete_if_sent(session, version=locked, actor=job.requested_by)
        return Outcome(job.claim.job_id, job.channel, state, detail)

    async def _deliver(self, door: RequestDatabase, job: ClaimedJob) -> str:
        if job.channel == Channel.GREAT_PLAINS:
            from server.great_plains import post_version

            return await post_version(
                door,
                self.settings,
                version_id=job.version_id,
                job_key=str(job.claim.job_id),
                actor=job.requested_by,
            )
        return await self._email(door, job)

    async def _email(self, door: RequestDatabase, job: ClaimedJob) -> str:
        from resolvers.documents import version_documents

        async with door.read() as session:
            site, statement, invoices, _ = await statement_repo.gl_inputs(session, version_id=job.version_id)
            documents = await version_documents(session, version_id=job.version_id)
        recipients = list(site.billing_contact_emails)
        if not recipients:
            raise DeliveryFailed(
                f"site {site.site_number} has no billing contact e-mail: set billingContactEmails with "
                "updateCustomerSite, then send again",
                retryable=False,
            )
        message = mailer.invoice_message(
            self.settings,
            job_id=job.claim.job_id,
            recipients=recipients,
            bill_to=site.invoice_recipient or site.name,
            site_number=site.site_number,
            site_name=site.name,
            service_period=f"{statement.service_period_start:%Y-%m}",
            invoices=[(invoice.invoice_number, invoice.amount) for invoice in invoices],
            attachments=[(document.filename, document.content) for document in documents],
        )
        return await mailer.deliver(
            self.settings, message, recipients=recipients, before_data=self._marker(door, job.claim)
        )

    def _marker(self, door: RequestDatabase, claim: Claim) -> Callable[[], Awaitable[bool]]:
        async def mark() -> bool:
            async with door.transaction() as session:
                return await repo.mark_handed_over(session, claim=claim)

        return mark

    async def _notify(self, job: ClaimedJob, outcome: Outcome) -> None:
        """The failure notice (§3.8): to `TOWNE_SEND_FAILURE_NOTICE_TO`, best effort (the log has it too)."""
        log.warning(
            "send job %s (%s, version %s, asked by %s) is %s: %s",
            job.claim.job_id,
            job.channel,
            job.version_id,
            job.requested_by,
            outcome.state,
            outcome.detail,
        )
        recipients = self.settings.send_failure_notice_to
        if not recipients:
            return
        what = "could not be sent" if outcome.state == "FAILED" else "may or may not have been delivered"
        body = "\n".join(
            [
                f"The {job.channel} send of statement version {job.version_id} {what}.",
                "",
                f"Job: {job.claim.job_id}",
                f"Asked for by: {job.requested_by}",
                f"Attempts: {job.claim.attempt} of {job.max_attempts}",
                f"Reason: {outcome.detail}",
                "",
                "FAILED: fix the cause and call sendStatements again."
                if outcome.state == "FAILED"
                else "UNCERTAIN: check whether the customer received it, then call resolveSendJob.",
            ]
        )
        message = mailer.notice_message(
            self.settings,
            recipients=recipients,
            subject=f"Towne Graph: a {job.channel} send {what} (job {job.claim.job_id})",
            body=body,
        )
        try:
            await mailer.deliver(self.settings, message, recipients=recipients)
        except DeliveryFailed as failure:
            log.error("the failure notice of send job %s was not sent: %s", job.claim.job_id, failure.reason)


async def run_worker(url: str, settings: Settings) -> int:
    """`towne worker`: the loop until SIGINT/SIGTERM, connected as the application role."""
    import signal

    from server.settings import app_database_url

    database = Database.from_url(
        app_database_url(settings, url),
        pool_size=4,
        max_overflow=2,
        lock_timeout_ms=settings.lock_timeout_ms or None,
        statement_timeout_ms=settings.statement_timeout_ms or None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await Worker(database, settings).run(stop)
    finally:
        await database.dispose()
    return 0
