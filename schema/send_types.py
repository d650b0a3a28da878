"""GraphQL types of sending (issue 12 §2): the channels, the send jobs and their attempts.

Apart from the mutations (`schema.sending`) so `Statement` (`schema.statements`) can show its jobs without
an import cycle. Reasons and answers may name billing contacts' addresses, which are personal (§4.4): they
are shown to billing roles only, null for everyone else.
"""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from resolvers.context import BILLING_DETAIL
from resolvers.records import SendAttemptRecord as SendAttemptRow
from resolvers.records import SendJobRecord as SendJobRow
from schema.common import Ctx, register_enum
from server.delivery import Channel

register_enum(
    Channel,
    name="SendChannel",
    description="How a Ready To Send statement leaves Towne Graph (domain.md §3.5 send actions).",
    values={
        "EMAIL": "E-mail to the site's billing contacts with the invoice PDFs attached (SendEmail).",
        "GREAT_PLAINS": "The GL journal's receivables/payables batches posted to Great Plains (SendToGP, §3.8).",
    },
)


class SendJobState(enum.Enum):
    QUEUED = "QUEUED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNCERTAIN = "UNCERTAIN"


register_enum(
    SendJobState,
    name="SendJobState",
    description="Where a send job is.",
    values={
        "QUEUED": "Waiting for its next attempt (`nextAttemptAt`) or being delivered now.",
        "SUCCEEDED": "Delivered.",
        "FAILED": "Given up: `lastError` says why; fix it and call sendStatements again.",
        "UNCERTAIN": "An e-mail whose worker was lost while the SMTP server was receiving it: it may have been "
        "delivered. Never re-sent by itself: check, then resolveSendJob.",
    },
)


class SendAttemptOutcome(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    RETRY = "RETRY"
    FAILED = "FAILED"
    LOST = "LOST"
    UNCERTAIN = "UNCERTAIN"


register_enum(
    SendAttemptOutcome,
    name="SendAttemptOutcome",
    description="How one attempt of a send job ended.",
    values={
        "SUCCEEDED": "Delivered.",
        "RETRY": "Failed; tried again after a back-off.",
        "FAILED": "Failed for good (or the last attempt).",
        "LOST": "Its worker stopped (died, or lost its lease) before finishing; the job was tried again.",
        "UNCERTAIN": "Lost while the SMTP server was receiving the message.",
    },
)


def _personal(info: Ctx, value: str | None) -> str | None:
    return value if info.context.caller.has_any(BILLING_DETAIL) else None


@strawberry.type(description="One try of a send job.")
class SendAttempt:
    attempt: int = strawberry.field(description="From 1.")
    channel: Channel = strawberry.field(description="The job's channel.")
    worker: str = strawberry.field(description="The worker process (host:pid:id) that made it.")
    started_at: dt.datetime = strawberry.field(description="When it started.")
    finished_at: dt.datetime | None = strawberry.field(description="When it ended; null while it runs.")
    outcome: SendAttemptOutcome | None = strawberry.field(description="Null while it runs.")
    _detail: strawberry.Private[str | None]

    @strawberry.field(
        description="The reason or the channel's answer; billing roles only (may name addresses)."
    )
    def detail(self, info: Ctx) -> str | None:
        return _personal(info, self._detail)

    @classmethod
    def from_row(cls, row: SendAttemptRow, channel: str) -> SendAttempt:
        return cls(
            attempt=row.attempt,
            channel=Channel(channel),
            worker=row.worker,
            started_at=row.started_at,
            finished_at=row.finished_at,
            outcome=SendAttemptOutcome(row.outcome) if row.outcome else None,
            _detail=row.detail,
        )


@strawberry.type(description="Sending one statement version through one channel (issue 12 §2).")
class SendJob:
    id: strawberry.ID = strawberry.field(description="The job (for resolveSendJob).")
    channel: Channel = strawberry.field(description="EMAIL or GREAT_PLAINS.")
    state: SendJobState = strawberry.field(description="Where it is.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    max_attempts: int = strawberry.field(description="Attempts it may make before it is FAILED.")
    next_attempt_at: dt.datetime = strawberry.field(description="When a QUEUED job is due.")
    requested_by: str = strawberry.field(description="Who asked for it (subject); it is delivered as them.")
    requested_at: dt.datetime = strawberry.field(description="When.")
    finished_at: dt.datetime | None = strawberry.field(description="When it SUCCEEDED or FAILED.")
    resolved_by: str | None = strawberry.field(description="Who settled it after it was UNCERTAIN.")
    _row: strawberry.Private[SendJobRow]

    @strawberry.field(description="Why the last attempt failed; billing roles only (may name addresses).")
    def last_error(self, info: Ctx) -> str | None:
        return _personal(info, self._row.last_error)

    @strawberry.field(description="What the channel answered on success; billing roles only.")
    def result(self, info: Ctx) -> str | None:
        return _personal(info, self._row.result)

    @strawberry.field(description="Its attempts, oldest first.")
    async def history(self, info: Ctx) -> list[SendAttempt]:
        rows = await info.context.loaders.attempts_of_send_job.load(self._row.id)
        return [SendAttempt.from_row(row, self._row.channel) for row in rows]

    @classmethod
    def from_row(cls, row: SendJobRow) -> SendJob:
        return cls(
            id=strawberry.ID(str(row.id)),
            channel=Channel(row.channel),
            state=SendJobState(row.state),
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            next_attempt_at=row.next_attempt_at,
            requested_by=row.requested_by,
            requested_at=row.requested_at,
            finished_at=row.finished_at,
            resolved_by=row.resolved_by,
            _row=row,
        )
