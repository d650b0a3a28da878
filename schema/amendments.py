"""Contract amendments, the contract term and lifecycle in the GraphQL contract (issue 10 §2–§4; domain.md §1.3,
§1.5, §3.9).

Every change of a contract is proposed as an `Amendment` (`updateContract`, `setContractConfiguration`,
`activateContract`, `renewContract`, `terminateContract`, `archiveContract`) and takes effect when another
billing admin approves it (`approveAmendment`, `approveAmendments` in bulk); `rejectAmendment` and
`withdrawAmendment` end it unapplied. Expected failures are `Problem` members.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry

import billing
from resolvers import amendments as service
from resolvers import validation
from resolvers.contract_changes import configuration_changes, header_changes
from resolvers.errors import BadUserInput, TowneError
from resolvers.sites import decode_cursor, encode_cursor, site_by_number
from schema.access import CONTRACT_ADMINS, Requires
from schema.amendment_types import Amendment, AmendmentPayload, AmendmentStatus
from schema.common import Ctx, PageInfo
from schema.contract_inputs import ContractConfigurationInput, ContractHeaderInput
from schema.contracts import Contract, ContractStatus
from schema.problems import (
    AmendmentProblem,
    ContractInputProblem,
    ContractStateProblem,
    NoContractProblem,
    NotFoundProblem,
    TransitionNotAllowedProblem,
    problem,
)

AmendmentResult = Annotated[
    AmendmentPayload
    | NotFoundProblem
    | NoContractProblem
    | AmendmentProblem
    | ContractStateProblem
    | TransitionNotAllowedProblem
    | ContractInputProblem,
    strawberry.union("AmendmentResult", description="The amendment, or why nothing was recorded or decided."),
]


@strawberry.type(description="One amendment of a bulk approval.")
class AmendmentOutcome:
    id: strawberry.ID = strawberry.field(description="The amendment id as given.")
    result: AmendmentResult = strawberry.field(description="The approved amendment, or why it was not.")


@strawberry.type(description="An amendment in a list.")
class AmendmentEdge:
    cursor: str = strawberry.field(description="Opaque position: pass it as `after` to continue.")
    node: Amendment = strawberry.field(description="The amendment.")


@strawberry.type(description="A page of amendments, oldest proposal first (Relay connection).")
class AmendmentConnection:
    edges: list[AmendmentEdge] = strawberry.field(description="The amendments of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is.")
    total_count: int = strawberry.field(description="Amendments matching the status (all pages).")


@strawberry.input(description="A contract's term (issue 10 §4).")
class ContractTermInput:
    start: dt.date | None = strawberry.field(
        default=None, description="First day of the term; null: unknown."
    )
    end: dt.date | None = strawberry.field(default=None, description="Last day of the term; null: evergreen.")
    auto_renew_months: int | None = strawberry.field(
        default=None, description="Renews itself by this many months (1–120) when it ends; null: it expires."
    )
    notice_days: int | None = strawberry.field(
        default=None, description="Days before the end by which a renewal decision is due (0–3650)."
    )


@strawberry.type(description="A contract whose term needs a decision soon.")
class ContractDue:
    site_number: str = strawberry.field(description="Its site (4 digits).")
    term_end: dt.date = strawberry.field(description="Last day of the term.")
    notice_deadline: dt.date = strawberry.field(description="`termEnd − noticeDays`: decide by then.")
    auto_renew_months: int | None = strawberry.field(
        description="Renews itself by this many months; null: expires."
    )
    synthetic: bool = strawberry.field(
        description="The term is synthetic demo data, not from the PROD export."
    )
    contract: Contract = strawberry.field(description="The contract.")


def _term_changes(term: ContractTermInput, *, argument: str = "term") -> dict[str, Any]:
    if term.start is not None and term.end is not None and term.end < term.start:
        raise BadUserInput(
            f"{argument}.end {term.end} is before {argument}.start {term.start}", argument=f"{argument}.end"
        )
    if term.auto_renew_months is not None and not 1 <= term.auto_renew_months <= 120:
        raise BadUserInput("autoRenewMonths must be 1–120", argument=f"{argument}.autoRenewMonths")
    if term.notice_days is not None and not 0 <= term.notice_days <= 3650:
        raise BadUserInput("noticeDays must be 0–3650", argument=f"{argument}.noticeDays")
    return {
        "term_start": term.start.isoformat() if term.start else None,
        "term_end": term.end.isoformat() if term.end else None,
        "auto_renew_months": term.auto_renew_months,
        "notice_days": term.notice_days,
    }


def _summary(kind: str, changes: dict[str, Any]) -> str:
    if kind == "header":
        return "header: " + ", ".join(sorted(changes.get("header") or {}))
    if kind == "configuration":
        parts = []
        for key, value in changes.items():
            if key == "header":
                parts += sorted(value)
            elif key == "components":
                parts += [
                    f"{block} {'removed' if v is None else 'set'}" for block, v in sorted(value.items())
                ]
            else:
                parts.append(f"{key} ({len(value)} rows)")
        return "configuration: " + ", ".join(parts)
    if kind == "terminate":
        return f"terminate on {changes['terminated_on']}"
    if kind in ("activate", "term"):
        end = changes.get("term_end") or "evergreen"
        renew = (
            f", renews by {changes['auto_renew_months']} months" if changes.get("auto_renew_months") else ""
        )
        return f"{'activate' if kind == 'activate' else 'term'}: {changes.get('term_start') or '…'} to {end}{renew}"
    return kind


async def _payload(info: Ctx, amendment_id: uuid.UUID) -> AmendmentPayload:
    found = await service.amendments_by_id(info.context, [amendment_id])
    row, number = found[amendment_id]
    return AmendmentPayload(amendment=Amendment.from_row(row, number))


async def _propose(
    info: Ctx,
    site_number: str,
    kind: str,
    changes: dict[str, Any],
    *,
    period: str | None = None,
    reason: str | None = None,
    argument: str = "configuration",
) -> AmendmentResult:
    try:
        first = (
            validation.service_period(period, argument="firstServicePeriod") if period is not None else None
        )
        amendment_id = await service.propose(
            info.context,
            site_number=site_number,
            kind=kind,
            changes=changes,
            summary=_summary(kind, changes),
            first_service_period=first,
            reason=reason,
            argument=argument,
        )
    except TowneError as error:
        return problem(error, AmendmentResult)  # type: ignore[no-any-return]
    return await _payload(info, amendment_id)


async def _decide(info: Ctx, id: strawberry.ID, decision: str, note: str | None) -> AmendmentResult:
    try:
        amendment_id = validation.identifier(str(id), argument="id")
        await service.decide(info.context, amendment_id=amendment_id, decision=decision, note=note)
    except TowneError as error:
        return problem(error, AmendmentResult)  # type: ignore[no-any-return]
    return await _payload(info, amendment_id)


_SITE = strawberry.argument(description="The contract's site number (1–4 digits).")
_PERIOD = strawberry.argument(
    description="`YYYY-MM`: the first service period the change applies to (its statement, whatever the "
    "billing type); earlier periods keep their configuration."
)
_REASON = strawberry.argument(description="Why (shown to the approver), at most 2000 characters.")
_NOTE = strawberry.argument(description="The decision's note, at most 2000 characters.")
_ID = strawberry.argument(description="The amendment id.")


def _admin(action: str) -> list[Any]:
    return [Requires(CONTRACT_ADMINS, action)]


@strawberry.type(description="Contract management: amendments and the lifecycle.")
class ContractMutations:
    @strawberry.mutation(
        extensions=_admin("updateContract"),
        description="Propose a change of the contract header (§1.3): billing type, increment, CPI flag, "
        "deviation thresholds, payment terms, PO, notes, deposits, supporting reports. It applies from "
        "`firstServicePeriod` once another billing admin approves it.",
    )
    async def update_contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        first_service_period: Annotated[str, _PERIOD],
        header: Annotated[ContractHeaderInput, strawberry.argument(description="The fields to change.")],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        try:
            changes = {"header": header_changes(header, argument="header")}
        except TowneError as error:
            return problem(error, AmendmentResult)  # type: ignore[no-any-return]
        return await _propose(
            info,
            site_number,
            "header",
            changes,
            period=first_service_period,
            reason=reason,
            argument="header",
        )

    @strawberry.mutation(
        extensions=_admin("setContractConfiguration"),
        description="Propose the building blocks and their configuration (§1.5): each block given replaces that "
        "block's whole configuration, blocks not given stay. Validated with field paths; it applies from "
        "`firstServicePeriod` once another billing admin approves it.",
    )
    async def set_contract_configuration(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        first_service_period: Annotated[str, _PERIOD],
        configuration: Annotated[
            ContractConfigurationInput, strawberry.argument(description="The blocks to set.")
        ],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        try:
            changes = configuration_changes(configuration, argument="configuration")
        except TowneError as error:
            return problem(error, AmendmentResult)  # type: ignore[no-any-return]
        return await _propose(
            info, site_number, "configuration", changes, period=first_service_period, reason=reason
        )

    @strawberry.mutation(
        extensions=_admin("activateContract"),
        description="Propose to activate a draft contract with its term (draft → active).",
    )
    async def activate_contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        term: Annotated[ContractTermInput, strawberry.argument(description="The term.")],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        try:
            changes = {"status": "active"} | _term_changes(term)
        except TowneError as error:
            return problem(error, AmendmentResult)  # type: ignore[no-any-return]
        return await _propose(info, site_number, "activate", changes, reason=reason, argument="term")

    @strawberry.mutation(
        extensions=_admin("renewContract"),
        description="Propose a new term for an active or expired contract (a renewal; an expired one becomes "
        "active again).",
    )
    async def renew_contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        term: Annotated[ContractTermInput, strawberry.argument(description="The new term.")],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        try:
            changes = {"status": "active"} | _term_changes(term)
        except TowneError as error:
            return problem(error, AmendmentResult)  # type: ignore[no-any-return]
        return await _propose(info, site_number, "term", changes, reason=reason, argument="term")

    @strawberry.mutation(
        extensions=_admin("terminateContract"),
        description="Propose to terminate the contract on `effectiveDate` (its last day): no statement for "
        "service periods that start after it; the period containing it bills whole (no pro-ration, §0.1).",
    )
    async def terminate_contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        effective_date: Annotated[dt.date, strawberry.argument(description="Last day of the contract.")],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        changes = {"status": "terminated", "terminated_on": effective_date.isoformat()}
        return await _propose(
            info, site_number, "terminate", changes, reason=reason, argument="effectiveDate"
        )

    @strawberry.mutation(
        extensions=_admin("archiveContract"),
        description="Propose to archive an expired or terminated contract: read-only afterwards.",
    )
    async def archive_contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        reason: Annotated[str | None, _REASON] = None,
    ) -> AmendmentResult | None:
        return await _propose(info, site_number, "archive", {"status": "archived"}, reason=reason)

    @strawberry.mutation(
        extensions=_admin("approveAmendment"),
        description="Approve a proposed amendment (not your own): it applies from its first service period "
        "(lifecycle moves at once).",
    )
    async def approve_amendment(
        self, info: Ctx, id: Annotated[strawberry.ID, _ID], note: Annotated[str | None, _NOTE] = None
    ) -> AmendmentResult | None:
        return await _decide(info, id, "approve", note)

    @strawberry.mutation(
        extensions=_admin("approveAmendments"),
        description="Approve many amendments (onboarding), each on its own: one outcome per id, in order.",
    )
    async def approve_amendments(
        self,
        info: Ctx,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Amendment ids, at most 1000.")],
        note: Annotated[str | None, _NOTE] = None,
    ) -> list[AmendmentOutcome]:
        parsed = [validation.identifier(str(i), argument=f"ids[{n}]") for n, i in enumerate(ids)]
        decisions = await service.approve_many(info.context, amendment_ids=parsed, note=note)
        found = await service.amendments_by_id(info.context, [d.amendment_id for d in decisions])
        out: list[AmendmentOutcome] = []
        for decision in decisions:
            result: Any
            if decision.error is not None:
                result = problem(decision.error, AmendmentResult)
            else:
                row, number = found[decision.amendment_id]
                result = AmendmentPayload(amendment=Amendment.from_row(row, number))
            out.append(AmendmentOutcome(id=strawberry.ID(str(decision.amendment_id)), result=result))
        return out

    @strawberry.mutation(
        extensions=_admin("rejectAmendment"),
        description="Reject a proposed amendment (not your own): it is kept, never applied.",
    )
    async def reject_amendment(
        self, info: Ctx, id: Annotated[strawberry.ID, _ID], note: Annotated[str | None, _NOTE] = None
    ) -> AmendmentResult | None:
        return await _decide(info, id, "reject", note)

    @strawberry.mutation(
        extensions=_admin("withdrawAmendment"),
        description="Withdraw your own proposed amendment: it is kept, never applied.",
    )
    async def withdraw_amendment(
        self, info: Ctx, id: Annotated[strawberry.ID, _ID], note: Annotated[str | None, _NOTE] = None
    ) -> AmendmentResult | None:
        return await _decide(info, id, "withdraw", note)


@strawberry.type(description="Contracts: in force on a date, amendments, terms due.")
class ContractRoot:
    @strawberry.field(
        description="The site's contract as in force on `asOf` (the edition of the service period containing "
        "that day, issue 10 §3); without `asOf`, as amended (every approved amendment). Null: no such "
        "site in your scope, or no contract."
    )
    async def contract(
        self,
        info: Ctx,
        site_number: Annotated[str, _SITE],
        as_of: Annotated[dt.date | None, strawberry.argument(description="A day; null: as amended.")] = None,
    ) -> Contract | None:
        site = await site_by_number(info.context, site_number)
        if site is None:
            return None
        period = billing.ServicePeriod.of(as_of) if as_of is not None else None
        found = await service.contract_in_force(info.context, site, period)
        if found is None:
            return None
        return Contract.from_row(found[0], period.start if period is not None else None)

    @strawberry.field(
        extensions=_admin("amendments"),
        description="Amendments across contracts, oldest proposal first: the approval queue by default.",
    )
    async def amendments(
        self,
        info: Ctx,
        status: Annotated[
            AmendmentStatus | None, strawberry.argument(description="Which; null: every status.")
        ] = AmendmentStatus.PROPOSED,
        first: Annotated[int, strawberry.argument(description="Page size, 0–1000.")] = 100,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> AmendmentConnection:
        validation.page_size(first, maximum=1000)
        offset = decode_cursor(after) + 1 if after else 0
        rows, total = await service.amendment_page(
            info.context, status=status.name.lower() if status else None, offset=offset, limit=first + 1
        )
        edges = [
            AmendmentEdge(cursor=encode_cursor(offset + i), node=Amendment.from_row(row, number))
            for i, (row, number) in enumerate(rows[:first])
        ]
        return AmendmentConnection(
            edges=edges,
            page_info=PageInfo.of([e.cursor for e in edges], offset=offset, has_next=len(rows) > first),
            total_count=total,
        )

    @strawberry.field(
        description="Active contracts whose renewal decision is due within `withinDays` of today: the notice "
        "deadline (`termEnd − noticeDays`) falls in the window, renewing or not; soonest first."
    )
    async def contracts_due_for_renewal(
        self, info: Ctx, within_days: Annotated[int, strawberry.argument(description="Days ahead, 0–3650.")]
    ) -> list[ContractDue]:
        return await _due(info, within_days, expiring=False)

    @strawberry.field(
        description="Active contracts whose term ends within `withinDays` of today and does not renew itself."
    )
    async def contracts_expiring(
        self, info: Ctx, within_days: Annotated[int, strawberry.argument(description="Days ahead, 0–3650.")]
    ) -> list[ContractDue]:
        return await _due(info, within_days, expiring=True)


async def _due(info: Ctx, within_days: int, *, expiring: bool) -> list[ContractDue]:
    rows = await service.contracts_due(info.context, within_days=within_days, expiring=expiring)
    out = []
    for contract, number in rows:
        assert contract.term_end is not None
        out.append(
            ContractDue(
                site_number=number,
                term_end=contract.term_end,
                notice_deadline=contract.term_end - dt.timedelta(days=contract.notice_days or 0),
                auto_renew_months=contract.auto_renew_months,
                synthetic=contract.term_synthetic,
                contract=Contract.from_row(contract),
            )
        )
    return out


__all__ = ["AmendmentResult", "ContractMutations", "ContractRoot", "ContractStatus"]
