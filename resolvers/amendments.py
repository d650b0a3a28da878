"""Contract amendments with approval, effective by service period, and the contract lifecycle (issue 10 §3–§4;
domain.md §1.3, §1.5, §2.14, §2.15, §3.9).

Every human change of a contract is an amendment: proposed by one billing admin, approved (or rejected) by
another; the proposer may withdraw it. A header or configuration amendment names the **first service period**
it applies to: until it is approved it changes no figure; once approved, the statements of that period and
later read it and earlier periods keep their configuration (migration 0011: editions). Lifecycle moves (activate,
renew or change the term, terminate, archive) are amendments too, applied at approval. Jobs (the escalation job,
the daily term check) record what they change as amendments approved by themselves.

Each proposal and each decision is one transaction that locks the contract row first, then the amendment, so
two decisions of one amendment serialise (the second finds it decided) and an approval sees every amendment
approved before it. An approval is refused when an amendment approved since the proposal changed the same part
(`AMENDMENT_CONFLICT`: approving would silently undo it) or an approved amendment from a later service period
changes the same part (`AMENDMENT_OUT_OF_ORDER`). The database backs the four eyes with a CHECK.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import billing
from db.models import Contract, ContractAmendment, CustomerSite
from db.repositories import amendments as repo
from db.repositories.contracts import ContractConfiguration
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import (
    AmendmentConflict,
    AmendmentDecided,
    AmendmentOutOfOrder,
    BadUserInput,
    ContractArchived,
    ContractEnded,
    ContractNotActive,
    NoContract,
    NotFound,
    OwnAmendment,
    TowneError,
    TransitionNotAllowed,
)

PERIOD_KINDS = frozenset({"header", "configuration"})
# lifecycle moves (issue 10 §4): the statuses each kind may leave, and where it goes
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({"draft"}), "active"),
    "term": (frozenset({"active", "expired"}), "active"),
    "terminate": (frozenset({"active", "expired"}), "terminated"),
    "archive": (frozenset({"expired", "terminated"}), "archived"),
    "expire": (frozenset({"active"}), "expired"),
}
JOB_ACTOR = "towne escalate"


@dataclass(frozen=True, slots=True)
class Decision:
    """One amendment decided in a bulk approval: its id, and the failure when it was not approved."""

    amendment_id: uuid.UUID
    error: TowneError | None = None


def _actor(ctx: Context) -> str:
    assert ctx.caller.subject is not None  # CallerRequired refused anonymous operations
    return ctx.caller.subject


def parts_of(kind: str, changes: Mapping[str, Any]) -> set[str]:
    """The parts of a contract an amendment changes: `header.<column>`, a configuration table, a single-row
    block (`components.<BLOCK>`), or the term; two amendments conflict when their parts meet."""
    if kind in MOVES:
        return {"term"}
    parts: set[str] = set()
    for key, value in changes.items():
        if key == "header":
            parts |= {f"header.{column}" for column in value}
        elif key == "components":
            parts |= {f"components.{block}" for block in value}
        elif key == "rows":  # escalations: the tables their dated rows went to
            parts |= {str(table) for table in value}
        else:
            parts.add(key)
    return parts


def compose(full: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The open edition `full` (every key present) with `changes` applied: the configuration an approval
    would leave in force from its period."""
    out = {key: value for key, value in full.items()}
    out["header"] = dict(full["header"]) | dict(changes.get("header") or {})
    for key in repo.TABLES:
        if key in changes:
            out[key] = list(changes[key])
    components = dict(full.get("components") or {})
    for block, component in (changes.get("components") or {}).items():
        if component is None:
            components.pop(block, None)
        else:
            components[block] = component
    out["components"] = components
    return out


def check_move(contract: Contract, kind: str) -> None:
    """Refuse a lifecycle move the contract's status does not allow, and any change of an archived one."""
    if contract.status == "archived":
        raise ContractArchived("the contract is archived: it is read-only (issue 10 §4)")
    if kind in MOVES:
        sources, target = MOVES[kind]
        if contract.status not in sources:
            allowed = ", ".join(sorted(sources))
            raise TransitionNotAllowed(
                f"a {kind} amendment moves a contract from {allowed} to {target}; this one is {contract.status}"
            )


def check_billable(contract: Contract, period: billing.ServicePeriod) -> None:
    """Refuse billing the service period under the contract's lifecycle (issue 10 §4): a draft or archived
    contract bills nothing; no period that starts after the termination date or the end of a term that does
    not renew. The period containing that date still bills whole (no pro-ration, domain.md §0.1)."""
    if contract.status in ("draft", "archived"):
        raise ContractNotActive(
            f"the contract is {contract.status}: it bills nothing"
            + (" until it is activated (activateContract)" if contract.status == "draft" else "")
        )
    if contract.terminated_on is not None and period.start > contract.terminated_on:
        raise ContractEnded(
            f"the contract was terminated on {contract.terminated_on.isoformat()}: no statement for "
            f"{period.key}, which starts after it"
        )
    if (
        contract.term_end is not None
        and contract.auto_renew_months is None
        and contract.status == "expired"
        and period.start > contract.term_end
    ):
        raise ContractEnded(
            f"the contract's term ended on {contract.term_end.isoformat()}: no statement for {period.key}; "
            "renew it (renewContract) to bill later periods"
        )


async def _composed_check(
    session: AsyncSession,
    site: CustomerSite,
    contract: Contract,
    changes: Mapping[str, Any],
    *,
    argument: str,
) -> None:
    from resolvers.contract_changes import check_composed

    full = compose(await repo.open_edition(session, contract=contract), changes)
    check_composed(
        full,
        changed=set(changes),
        site_number=site.site_number,
        site_start_date=site.start_date,
        argument=argument,
    )


def _period_date(period: billing.ServicePeriod | None) -> dt.date | None:
    return None if period is None else period.start


async def propose(
    ctx: Context,
    *,
    site_number: str,
    kind: str,
    changes: Mapping[str, Any],
    summary: str,
    first_service_period: billing.ServicePeriod | None = None,
    reason: str | None = None,
    argument: str = "configuration",
) -> uuid.UUID:
    """Record a proposed amendment of the site's contract; its id. Nothing of the contract changes.

    Raises `NotFound` (no such site), `NoContract`, `ContractArchived`, `TransitionNotAllowed` (a lifecycle
    move the status does not allow), `InvalidContractInput` (the configuration it would leave in force breaks
    a rule, with the field path)."""
    number = validation.site_number(site_number)
    if kind in PERIOD_KINDS and first_service_period is None:
        raise BadUserInput("firstServicePeriod is required", argument="firstServicePeriod")
    if reason is not None:
        reason = validation.text(
            reason, argument="reason", max_length=validation.DESCRIPTION_MAX, required=False
        )
    async with ctx.db.transaction() as session:
        found = await repo.contract_of_site(session, site_number=number, for_update=True)
        if found is None:
            await _missing(session, number)
        assert found is not None
        site, contract = found
        check_move(contract, kind)
        if kind in PERIOD_KINDS:
            await _composed_check(session, site, contract, changes, argument=argument)
        amendment = await repo.add_amendment(
            session,
            contract=contract,
            kind=kind,
            changes=changes,
            summary=summary,
            first_service_period=_period_date(first_service_period),
            proposed_by=_actor(ctx),
            reason=reason or None,
        )
        return amendment.id


async def _missing(session: AsyncSession, number: str) -> None:
    if not await repo.site_exists(session, site_number=number):
        raise NotFound(f"no site {number}", argument="siteNumber")
    raise NoContract(f"site {number} has no contract", argument="siteNumber")


async def _check_approvable(session: AsyncSession, contract: Contract, amendment: ContractAmendment) -> None:
    mine = parts_of(amendment.kind, amendment.changes)
    for other in await repo.approved_since(session, contract_id=contract.id, edition=amendment.base_edition):
        met = mine & parts_of(other.kind, other.changes)
        if met:
            raise AmendmentConflict(
                f"amendment #{other.number} ({other.summary}), approved by {other.decided_by} since "
                f"#{amendment.number} was proposed, changed {', '.join(sorted(met))} too: approving "
                f"#{amendment.number} would undo it. Reject or withdraw #{amendment.number} and propose it "
                "again on the current configuration",
                other_amendment=other.number,
            )
    if amendment.first_service_period is not None:
        for other in await repo.approved_from_later_periods(
            session, contract_id=contract.id, period=amendment.first_service_period
        ):
            met = mine & parts_of(other.kind, other.changes)
            if met and other.first_service_period is not None:
                raise AmendmentOutOfOrder(
                    f"amendment #{other.number}, approved from {other.first_service_period:%Y-%m}, changes "
                    f"{', '.join(sorted(met))} too; #{amendment.number} from "
                    f"{amendment.first_service_period:%Y-%m} would have to be merged into it. Propose from "
                    f"{other.first_service_period:%Y-%m} or later",
                    other_amendment=other.number,
                )


async def _apply(
    session: AsyncSession, site: CustomerSite, contract: Contract, amendment: ContractAmendment
) -> None:
    if amendment.kind in PERIOD_KINDS:
        assert amendment.first_service_period is not None
        await _composed_check(session, site, contract, amendment.changes, argument="amendment")
        await repo.apply_configuration(
            session,
            contract=contract,
            changes=amendment.changes,
            period=amendment.first_service_period,
            amendment_id=amendment.id,
        )
    elif amendment.kind in MOVES:
        repo.set_term(contract, amendment.changes)


async def decide(
    ctx: Context, *, amendment_id: uuid.UUID, decision: str, note: str | None = None
) -> uuid.UUID:
    """Approve, reject or withdraw a proposed amendment (one transaction); returns its id.

    Approving applies it: a header or configuration amendment from its first service period, a lifecycle
    move at once. Raises `NotFound`, `AmendmentDecided`, `OwnAmendment` (approve/reject by the proposer),
    `TransitionNotAllowed` (withdraw by someone else; a move the status no longer allows), `ContractArchived`,
    `AmendmentConflict`, `AmendmentOutOfOrder`, `InvalidContractInput` (the configuration it would leave in
    force now breaks a rule)."""
    if note is not None:
        note = validation.text(note, argument="note", max_length=validation.DESCRIPTION_MAX, required=False)
    actor = _actor(ctx)
    async with ctx.db.transaction() as session:
        contract_id = await repo.contract_id_of_amendment(session, amendment_id=amendment_id)
        if contract_id is None:
            raise NotFound(f"no amendment {amendment_id}", argument="id")
        site, contract = await repo.lock_contract(session, contract_id=contract_id)
        amendment = await repo.amendment_for_update(session, amendment_id=amendment_id)
        assert amendment is not None
        if amendment.status != "proposed":
            raise AmendmentDecided(
                f"amendment #{amendment.number} of site {site.site_number} is already {amendment.status} "
                f"(by {amendment.decided_by})"
            )
        if decision == "withdraw":
            if actor != amendment.proposed_by:
                raise TransitionNotAllowed(
                    f"only its proposer ({amendment.proposed_by}) may withdraw amendment #{amendment.number}; "
                    "reject it instead"
                )
        elif actor == amendment.proposed_by:
            raise OwnAmendment(
                f"you proposed amendment #{amendment.number}: another billing admin must "
                f"{'approve' if decision == 'approve' else 'reject'} it (withdraw it to take it back)"
            )
        if decision == "approve":
            check_move(contract, amendment.kind)
            await _check_approvable(session, contract, amendment)
            await _apply(session, site, contract, amendment)
            contract.edition += 1
            amendment.approved_edition = contract.edition
        status = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}[decision]
        repo.mark_decided(amendment, status=status, actor=actor, note=note or None)
        await session.flush()
    return amendment_id


async def approve_many(
    ctx: Context, *, amendment_ids: Sequence[uuid.UUID], note: str | None
) -> list[Decision]:
    """Approve each amendment in its own unit of work (onboarding approves hundreds at once), in the order
    given; an amendment that cannot be approved keeps its status and its item says why."""
    if len(amendment_ids) > 1000:
        raise BadUserInput("at most 1000 amendments per call", argument="ids")
    out: list[Decision] = []
    for amendment_id in dict.fromkeys(amendment_ids):
        try:
            await decide(ctx, amendment_id=amendment_id, decision="approve", note=note)
        except TowneError as error:
            if error.code == "BAD_USER_INPUT":
                raise
            out.append(Decision(amendment_id, error))
        else:
            out.append(Decision(amendment_id))
    return out


async def record_job_amendment(
    session: AsyncSession,
    *,
    contract: Contract,
    kind: str,
    changes: Mapping[str, Any],
    summary: str,
    first_service_period: dt.date | None = None,
    actor: str = JOB_ACTOR,
) -> ContractAmendment:
    """An amendment a job made (escalation, expiry), recorded as approved by the job itself, in the job's
    transaction; the contract row must be locked by the caller."""
    amendment = await repo.add_amendment(
        session,
        contract=contract,
        kind=kind,
        changes=changes,
        summary=summary,
        first_service_period=first_service_period,
        proposed_by=actor,
        source="job",
    )
    contract.edition += 1
    amendment.approved_edition = contract.edition
    repo.mark_decided(amendment, status="approved", actor=actor)
    await session.flush()
    return amendment


# ---- reads


async def amendments_of(ctx: Context, contract_id: uuid.UUID) -> list[ContractAmendment]:
    return list(await ctx.loaders.amendments.load(contract_id))


async def amendments_by_id(
    ctx: Context, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[ContractAmendment, str]]:
    async with ctx.db.read() as session:
        return await repo.amendments_by_id(session, ids=ids)


async def amendment_page(
    ctx: Context, *, status: str | None, offset: int, limit: int
) -> tuple[list[tuple[ContractAmendment, str]], int]:
    async with ctx.db.read() as session:
        return await repo.pending_amendments(session, offset=offset, limit=limit, status=status)


def edition_period(value: str | None, *, argument: str) -> billing.ServicePeriod | None:
    """A service period argument `YYYY-MM` (checked as every period argument is)."""
    return validation.optional_period(value, argument=argument)


def period_of_day(day: dt.date) -> billing.ServicePeriod:
    return billing.ServicePeriod.of(day)


async def contract_in_force(
    ctx: Context, site: CustomerSite, period: billing.ServicePeriod | None
) -> tuple[Contract, ContractConfiguration] | None:
    """The site's contract with the header of the period's edition (None: the open edition) and all its
    configuration rows (the schema filters them by the edition)."""
    from resolvers.contract_config import header_for

    contract = await ctx.loaders.contract_by_site.load(site.id)
    if contract is None:
        return None
    configuration = await ctx.loaders.configuration.load(contract.id)
    return header_for(contract, configuration, _period_date(period)), configuration


async def contracts_due(
    ctx: Context, *, within_days: int, expiring: bool, argument: str = "withinDays"
) -> list[tuple[Contract, str]]:
    """Active contracts with a decision due within `within_days` of today, soonest first: due for renewal
    (`expiring` False) when the notice deadline `term_end − notice_days` falls in the window, renewing or
    not; expiring (`expiring` True) when a term that does not renew itself ends in the window."""
    if not 0 <= within_days <= 3650:
        raise BadUserInput(f"withinDays must be 0–3650, got {within_days}", argument=argument)
    horizon = ctx.today + dt.timedelta(days=within_days)
    async with ctx.db.read() as session:
        return await repo.contracts_ending(
            session, horizon=horizon, by_notice=not expiring, renewing=False if expiring else None
        )


__all__ = [
    "Decision",
    "approve_many",
    "check_billable",
    "check_move",
    "compose",
    "decide",
    "parts_of",
    "propose",
    "record_job_amendment",
]


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


async def run_term_job(session: AsyncSession, *, on: dt.date) -> list[str]:
    """The daily term check (issue 10 §4), run by `towne escalate` beside the escalations: an active
    contract whose term ended before `on` renews itself by its `auto_renew_months` (a `term` amendment) or
    expires (an `expire` amendment), each approved by the job; and the renewal notices due that day are
    reported. Running a day twice changes nothing the second time. Lines of the report, by site number."""
    report: list[str] = []
    for contract, number in await repo.contracts_ending(
        session, horizon=on - dt.timedelta(days=1), by_notice=False, renewing=None
    ):
        _site, locked = await repo.lock_contract(session, contract_id=contract.id)
        if locked.status != "active" or locked.term_end is None or locked.term_end >= on:
            continue
        if locked.auto_renew_months:
            end = locked.term_end
            while end < on:
                end = _add_months(end, locked.auto_renew_months)
            changes = {"status": "active", "term_end": end.isoformat()}
            summary = f"renewed itself by {locked.auto_renew_months} months to {end.isoformat()}"
            kind = "term"
        else:
            changes = {"status": "expired"}
            summary = f"expired: its term ended on {locked.term_end.isoformat()} without renewal"
            kind = "expire"
        repo.set_term(locked, changes)
        await record_job_amendment(session, contract=locked, kind=kind, changes=changes, summary=summary)
        report.append(f"{number}: {summary}")
    for contract, number in await repo.contracts_ending(
        session, horizon=on + dt.timedelta(days=3650), by_notice=True, renewing=None
    ):
        assert contract.term_end is not None
        deadline = contract.term_end - dt.timedelta(days=contract.notice_days or 0)
        if deadline == on:
            what = "renews itself" if contract.auto_renew_months else "expires"
            report.append(
                f"{number}: renewal notice due today: the term ends {contract.term_end.isoformat()} and "
                f"{what} unless renewed or terminated"
            )
    return report
