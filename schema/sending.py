"""Sending mutations (issue 12 §2; domain.md §3.5 SendEmail / SendToGP / SendAll, §3.9 billing manager).

`sendStatements` queues; `towne worker` delivers (`server.worker`); `Statement.sendJobs` and
`Statement.sendAttempts` show how it goes; `resolveSendJob` settles an UNCERTAIN e-mail.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from resolvers import sending as service
from resolvers import validation
from resolvers.errors import BadUserInput, TowneError
from schema.access import statement_writer
from schema.common import Ctx
from schema.problems import (
    NoRecipientsProblem,
    NotFoundProblem,
    PeriodClosedProblem,
    StatementReplacedProblem,
    StatementSendingProblem,
    TransitionNotAllowedProblem,
    problem,
)
from schema.send_types import SendJob
from schema.statements import Statement, StatementPayload
from server.delivery import Channel


@strawberry.type(description="A statement whose sends are queued (or were already, or already delivered).")
class SendQueuedPayload:
    statement: Statement = strawberry.field(description="The statement, at its current version.")
    jobs: list[SendJob] = strawberry.field(description="Its send jobs of the requested channels.")


SendResult = Annotated[
    SendQueuedPayload
    | NotFoundProblem
    | TransitionNotAllowedProblem
    | StatementReplacedProblem
    | PeriodClosedProblem
    | NoRecipientsProblem
    | StatementSendingProblem,
    strawberry.union("SendStatementResult", description="The queued sends of a statement, or why none."),
]
ResolveResult = Annotated[
    StatementPayload
    | NotFoundProblem
    | TransitionNotAllowedProblem
    | StatementReplacedProblem
    | PeriodClosedProblem,
    strawberry.union(
        "ResolveSendJobResult", description="The statement after the job was settled, or why not."
    ),
]


@strawberry.type(description="The outcome for one statement of sendStatements.")
class SendStatementItem:
    statement_id: strawberry.ID = strawberry.field(description="As given.")
    result: SendResult = strawberry.field(description="Its queued sends, or why none.")


@strawberry.type(description="What sendStatements did, statement by statement.")
class SendStatementsPayload:
    items: list[SendStatementItem] = strawberry.field(description="One per distinct statement id, in order.")
    queued: int = strawberry.field(description="Items with queued (or already delivered) sends.")
    failed: int = strawberry.field(description="Items with a problem.")


async def _item(info: Ctx, statement_id: str, done: service.Queued | TowneError) -> SendStatementItem:
    if isinstance(done, TowneError):
        return SendStatementItem(statement_id=strawberry.ID(statement_id), result=problem(done, SendResult))
    view = await info.context.loaders.statement_by_id.load(done.statement_id)
    assert view is not None
    return SendStatementItem(
        statement_id=strawberry.ID(statement_id),
        result=SendQueuedPayload(
            statement=Statement.from_view(view), jobs=[SendJob.from_row(job) for job in done.jobs]
        ),
    )


@strawberry.type(description="Sending statements.")
class SendMutations:
    @strawberry.mutation(
        extensions=statement_writer("sendStatements"),
        description="Send Ready To Send statements (billing manager, §3.5): one send job per statement version "
        "and channel, delivered by `towne worker`; a statement becomes Sent when all its requested channels "
        "succeeded. Idempotent per version and channel: asking again answers the job there is (a FAILED one "
        "is queued again). Each statement its own unit of work and item.",
    )
    async def send_statements(
        self,
        info: Ctx,
        statement_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Statement or version ids, at most {service.MAX_STATEMENTS}."),
        ],
        channels: Annotated[
            list[Channel], strawberry.argument(description="EMAIL and/or GREAT_PLAINS (both: SendAll).")
        ],
    ) -> SendStatementsPayload | None:
        if len(statement_ids) > service.MAX_STATEMENTS:
            raise BadUserInput(
                f"at most {service.MAX_STATEMENTS} statements per request, got {len(statement_ids)}",
                argument="statementIds",
            )
        ids = [validation.identifier(i, argument="statementIds") for i in statement_ids]
        outcomes = await service.send_statements(info.context, statement_ids=ids, channels=channels)
        info.context.loaders.forget_statements()
        items = list(await asyncio.gather(*(_item(info, str(i), o) for i, o in outcomes)))
        failed = sum(1 for _, o in outcomes if isinstance(o, TowneError))
        return SendStatementsPayload(items=items, queued=len(items) - failed, failed=failed)

    @strawberry.mutation(
        extensions=statement_writer("resolveSendJob"),
        description="Settle an UNCERTAIN e-mail send (its worker was lost while the SMTP server was receiving "
        "it): `delivered: true` if the customer has it (the job SUCCEEDED, the statement Sent when it was the "
        "last channel), false to send it again.",
    )
    async def resolve_send_job(
        self,
        info: Ctx,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The UNCERTAIN send job.")],
        delivered: Annotated[bool, strawberry.argument(description="Did the customer receive it?")],
    ) -> ResolveResult | None:
        try:
            statement_id = await service.resolve_send_job(
                info.context, job_id=validation.identifier(job_id, argument="jobId"), delivered=delivered
            )
        except TowneError as error:
            return problem(error, ResolveResult)  # type: ignore[no-any-return]
        info.context.loaders.forget_statements()
        view = await info.context.loaders.statement_by_id.load(statement_id)
        assert view is not None
        return StatementPayload(statement=Statement.from_view(view))
