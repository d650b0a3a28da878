"""Closed accounting periods in the GraphQL contract (issue 12 §3; `resolvers.periods`).

The accounting period of a statement is the month of its service period start, P_start (domain.md §3.8:
the GL batch id `{yyyyMM(P_start)}POWERBILL…`). Every signed-in caller reads periods (they reveal no site
data); billing admins close them, and reopen them with a second admin (§3.9, as contract amendments).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry.extensions.field_extension import FieldExtension

from resolvers import periods as service
from resolvers.errors import TowneError
from schema.access import Requires
from schema.common import Ctx
from schema.problems import PeriodProblem, problem

PERIOD_ADMINS = frozenset({"billingAdmin"})


@strawberry.enum(description="Whether statements of an accounting period may be written.")
class PeriodState(enum.Enum):
    OPEN = strawberry.enum_value("OPEN", description="Never closed, or reopened: statements may be written.")
    CLOSED = strawberry.enum_value(
        "CLOSED", description="Closed: no statement of it is generated, edited or sent (PERIOD_CLOSED)."
    )


@strawberry.enum(description="What happened to an accounting period.")
class PeriodEventKind(enum.Enum):
    CLOSED = strawberry.enum_value("CLOSED", description="A billing admin closed it.")
    REOPEN_REQUESTED = strawberry.enum_value(
        "REOPEN_REQUESTED", description="A billing admin asked to reopen it."
    )
    REOPENED = strawberry.enum_value("REOPENED", description="Another billing admin approved the request.")


@strawberry.type(description="One event of an accounting period's history.")
class PeriodEvent:
    kind: PeriodEventKind = strawberry.field(description="What happened.")
    actor: str = strawberry.field(description="Who (subject).")
    at: dt.datetime = strawberry.field(description="When.")
    reason: str | None = strawberry.field(description="Why, as given.")
    requested_by: str | None = strawberry.field(description="REOPENED: whose request it approved.")
    journal_sha256: str | None = strawberry.field(
        description="CLOSED: SHA-256 (hex) of the period's GL journal CSV at that close."
    )


@strawberry.type(
    description="A pending request to reopen a closed period; another billing admin approves it."
)
class ReopenRequest:
    requested_by: str = strawberry.field(description="Who asked (subject).")
    requested_at: dt.datetime = strawberry.field(description="When.")
    reason: str | None = strawberry.field(description="Why, as given.")


@strawberry.type(
    description="An accounting period: the month of the service period start P_start of its statements "
    "(domain.md §3.8). Closed, nothing of its statements is written; its GL journal "
    "(`/exports/gl-journal.csv?servicePeriod=YYYY-MM`) is then the same bytes whenever exported, and "
    "`journalSha256` lets anyone check it."
)
class AccountingPeriod:
    period: str = strawberry.field(description="YYYYMM.")
    service_period: str = strawberry.field(description="The same month as YYYY-MM (the statements' key).")
    state: PeriodState = strawberry.field(description="Open or closed.")
    closed_by: str | None = strawberry.field(description="Who closed it last (subject); null: never closed.")
    closed_at: dt.datetime | None = strawberry.field(description="When it was closed last.")
    journal_sha256: str | None = strawberry.field(
        description="While closed: SHA-256 (hex) of the bytes of `/exports/gl-journal.csv?servicePeriod=…` at "
        "the close, as exported to a caller who sees every site (a billing admin); null when open."
    )
    reopen_request: ReopenRequest | None = strawberry.field(description="The pending reopen request.")
    reopened_by: str | None = strawberry.field(description="Who reopened it last (subject), when open.")
    reopened_at: dt.datetime | None = strawberry.field(description="When it was reopened last.")
    history: list[PeriodEvent] = strawberry.field(description="Closes and reopenings, oldest first.")

    @classmethod
    def from_view(cls, view: service.PeriodView) -> AccountingPeriod:
        row = view.row
        request = None
        if row is not None and row.state == "closed" and row.reopen_requested_by is not None:
            assert row.reopen_requested_at is not None
            request = ReopenRequest(
                requested_by=row.reopen_requested_by,
                requested_at=row.reopen_requested_at,
                reason=row.reopen_reason,
            )
        return cls(
            period=view.period.yyyymm,
            service_period=view.period.key,
            state=PeriodState.CLOSED if view.closed else PeriodState.OPEN,
            closed_by=row.closed_by if row else None,
            closed_at=row.closed_at if row else None,
            journal_sha256=row.journal_sha256 if row else None,
            reopen_request=request,
            reopened_by=row.reopened_by if row and row.state == "open" else None,
            reopened_at=row.reopened_at if row and row.state == "open" else None,
            history=[
                PeriodEvent(
                    kind=PeriodEventKind[e.kind.upper()],
                    actor=e.actor,
                    at=e.at,
                    reason=e.reason,
                    requested_by=e.requested_by,
                    journal_sha256=e.journal_sha256,
                )
                for e in view.events
            ],
        )


@strawberry.type(description="The period a mutation closed or reopened, re-read after it.")
class PeriodPayload:
    accounting_period: AccountingPeriod = strawberry.field(description="The accounting period.")


PeriodResult = Annotated[
    PeriodPayload | PeriodProblem,
    strawberry.union("PeriodResult", description="The period after the change, or why it did not change."),
]

_PERIOD = strawberry.argument(description="The accounting period, YYYYMM (YYYY-MM is accepted too).")
_REASON = strawberry.argument(description="Why (kept in the history), at most 2000 characters.")


async def _one(info: Ctx, period: str) -> AccountingPeriod:
    month = service.parse_period(period)
    (view,) = await service.periods(info.context, first=month, last=month)
    return AccountingPeriod.from_view(view)


@strawberry.type
class PeriodRoot:
    @strawberry.field(
        description="Accounting periods `from`..`to` (inclusive, at most 240 months), oldest first: every "
        "month, open ones included."
    )
    async def accounting_periods(
        self,
        info: Ctx,
        from_: Annotated[str, strawberry.argument(name="from", description="First month, YYYYMM.")],
        to: Annotated[str, strawberry.argument(description="Last month, YYYYMM.")],
    ) -> list[AccountingPeriod]:
        first = service.parse_period(from_, argument="from")
        last = service.parse_period(to, argument="to")
        return [
            AccountingPeriod.from_view(v) for v in await service.periods(info.context, first=first, last=last)
        ]

    @strawberry.field(description="One accounting period (open when it was never closed).")
    async def accounting_period(self, info: Ctx, period: Annotated[str, _PERIOD]) -> AccountingPeriod:
        return await _one(info, period)


def _admin(action: str) -> list[FieldExtension]:
    return [Requires(PERIOD_ADMINS, action)]


@strawberry.type(description="Closing and reopening accounting periods (issue 12 §3).")
class PeriodMutations:
    @strawberry.mutation(
        extensions=_admin("closePeriod"),
        description="Close an accounting period that has ended: no statement of it is generated, regenerated, "
        "edited, confirmed or sent afterwards (PERIOD_CLOSED). Waits for writes in flight, and records the "
        "SHA-256 of the period's GL journal CSV (`journalSha256`).",
    )
    async def close_period(
        self, info: Ctx, period: Annotated[str, _PERIOD], reason: Annotated[str | None, _REASON] = None
    ) -> PeriodResult | None:
        month = service.parse_period(period)
        try:
            await service.close_period(info.context, period=month, reason=reason)
        except TowneError as error:
            return problem(error, PeriodResult)  # type: ignore[no-any-return]
        return PeriodPayload(accounting_period=await _one(info, month.yyyymm))

    @strawberry.mutation(
        extensions=_admin("requestPeriodReopen"),
        description="Ask to reopen a closed accounting period; another billing admin approves it "
        "(`approvePeriodReopen`). The period stays closed until then.",
    )
    async def request_period_reopen(
        self, info: Ctx, period: Annotated[str, _PERIOD], reason: Annotated[str | None, _REASON] = None
    ) -> PeriodResult | None:
        month = service.parse_period(period)
        try:
            await service.request_reopen(info.context, period=month, reason=reason)
        except TowneError as error:
            return problem(error, PeriodResult)  # type: ignore[no-any-return]
        return PeriodPayload(accounting_period=await _one(info, month.yyyymm))

    @strawberry.mutation(
        extensions=_admin("approvePeriodReopen"),
        description="Reopen a closed accounting period on another billing admin's request (not your own: "
        "OWN_REOPEN_REQUEST): its statements may be written again.",
    )
    async def approve_period_reopen(self, info: Ctx, period: Annotated[str, _PERIOD]) -> PeriodResult | None:
        month = service.parse_period(period)
        try:
            await service.approve_reopen(info.context, period=month)
        except TowneError as error:
            return problem(error, PeriodResult)  # type: ignore[no-any-return]
        return PeriodPayload(accounting_period=await _one(info, month.yyyymm))
