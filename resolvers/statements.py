"""Statement lifecycle (domain.md §3): generation, versions, ad-hoc lines, review, sending, GL export.

Every function takes the request `Context` and runs its own units of work, one transaction each; all SQL
is in `db.repositories.statements`. Expected failures raise `resolvers.errors` classes with a stable code.

What holds under concurrency and faults:
* Generation takes the contract's lease (a transaction-scoped advisory lock) and then locks the statement
  row and its open versions `FOR UPDATE` before it reads the ad-hoc lines it carries over; an ad-hoc edit
  locks its version row. So an ad-hoc line acknowledged to a client is in the version that is current
  afterwards, or the edit is refused with `STATEMENT_REPLACED` naming the current version.
* A replaced unsent version is kept (`superseded`), so every id the API returned keeps resolving.
* Idempotency keys are stored with the request they came with (`fingerprint`, canonical JSON): the same
  key with other arguments is `IDEMPOTENCY_KEY_REUSED`; a replay answers the current version of what the
  key produced.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

import billing
from billing.blocks.adhoc import adhoc_invoice_line
from billing.gl import GlEntry, GlInvoice, gl_entries, to_csv
from billing.money import round2
from billing.statements import (
    ForecastComparison,
    StatementStatus,
    TransitionError,
    compare_with_forecast,
    confirm_review_target,
    initial_status,
    invoiced_revenue,
    plan_version,
    posted_revenue,
    transition,
)
from db.models import BillingStatement, Contract, CustomerSite, Invoice, StatementVersion
from db.repositories import periods as period_repo
from db.repositories import sites as site_repo
from db.repositories import statements as repo
from db.repositories.statements import InvoiceRecord
from resolvers import validation
from resolvers.billing import compute_previews, load_billables, period_or_default
from resolvers.billing_gates import check_billable
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    GenerationInFlight,
    IdempotencyKeyReused,
    Internal,
    InvalidAdhocLine,
    InvalidConfiguration,
    NoContract,
    NoInvoiceProduced,
    NotFound,
    StatementAlreadySent,
    StatementReplaced,
    TowneError,
    TransitionNotAllowed,
    Unauthenticated,
)
from resolvers.periods import require_open
from resolvers.send_gate import require_not_sending
from resolvers.sites import decode_cursor
from resolvers.territories import require_territory

log = logging.getLogger("towne.statements")

# One bulk request is one synchronous HTTP call, a unit of work per site: a territory has at most a few
# hundred sites, the whole portfolio 649.
MAX_BULK_SITES = 1000


@dataclass(frozen=True, slots=True)
class Generated:
    statement_id: uuid.UUID
    version_id: uuid.UUID
    site_number: str
    reused: bool  # True: an earlier request with the same idempotency key had produced it


def fingerprint(operation: str, **arguments: object) -> str:
    """The canonical form of a request, stored with its idempotency key: JSON with sorted keys."""
    return json.dumps({"operation": operation, **arguments}, sort_keys=True, separators=(",", ":"))


def _describe(stored: str) -> str:
    try:
        data = json.loads(stored)
    except ValueError:
        return "another request"
    operation = data.pop("operation", "?")
    return f"{operation}(" + ", ".join(f"{k}: {v}" for k, v in sorted(data.items())) + ")"


def _key_reused(key: str, first: str) -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        f"idempotency key {key!r} was first sent with {_describe(first)}; a key names one request, "
        "send this one with a new key",
        argument="idempotencyKey",
    )


# ---------------------------------------------------------------------------------------------- generation


async def _billable(ctx: Context, site_number: str) -> tuple[CustomerSite, Contract]:
    async with ctx.db.read() as session:
        found = await repo.site_and_contract(session, site_number=site_number)
    if found is None:
        raise NotFound(f"no site with site number {site_number}", argument="siteNumber")
    site, contract = found
    if contract is None:
        raise NoContract(f"site {site_number} has no contract to bill")
    return site, contract


def _actor(ctx: Context) -> str:
    """Who acts: the caller's subject (mutations need a signed-in caller, schema.access)."""
    if ctx.caller.subject is None:
        raise Unauthenticated("sign in to change statements")
    return ctx.caller.subject


async def _replay(
    session: AsyncSession, *, key: str, requested_by: str, request: str, site_number: str
) -> Generated | None:
    """What an earlier request of this caller with `key` produced (None: no earlier request, or it
    failed: retry)."""
    earlier = await repo.generation_by_key(session, key=key, requested_by=requested_by)
    if earlier is None:
        return None
    if earlier.fingerprint is not None and earlier.fingerprint != request:
        raise _key_reused(key, earlier.fingerprint)
    if earlier.status != "COMPLETED" or earlier.statement_id is None:
        return None
    current = await repo.current_version_id(session, statement_id=earlier.statement_id)
    return Generated(earlier.statement_id, current, site_number, reused=True)


async def generate_statement(
    ctx: Context,
    *,
    site_number: str,
    service_period: billing.ServicePeriod | None,
    idempotency_key: str | None = None,
    source: str = "MANUAL",
    batch_id: uuid.UUID | None = None,
    request: str | None = None,
    require_sent: bool = False,
) -> Generated:
    """Generate (or, after a Sent version, version) the statement of a site for a period (§3.1–§3.6).

    `site_number` is 4 digits (validated by the caller); the default period follows the billing type
    (§3.2). One transaction: lease, plan (§3.3), carried ad-hoc lines, computation, forecast comparison,
    status, rows. `request` is the fingerprint stored with the key (default: this operation's arguments).
    With `require_sent` (regeneration, §3.5) the current version must be Sent, checked under the locks.
    Raises `NotFound`, `NoContract`, `SiteClosed` (a period after the close date, `billing_gates`),
    `PeriodClosed` (the accounting period, the month of P_start, is closed: `resolvers.periods`),
    `GenerationInFlight`, `IdempotencyKeyReused`, `TransitionNotAllowed`, `NoInvoiceProduced`,
    `InvalidConfiguration` (nothing to bill: no version is kept and the request is stored FAILED, so the
    key may be retried).
    """
    request = request or fingerprint(
        "generateStatement",
        siteNumber=site_number,
        servicePeriod=service_period.key if service_period else None,
    )
    site, contract = await _billable(ctx, site_number)
    period = period_or_default(service_period, billing.BillingType[contract.billing_type], ctx)
    check_billable(site, contract, period)  # before anything is written: a refusal records no request

    async def record(
        session: AsyncSession, *, ids: tuple[uuid.UUID, uuid.UUID] | None, error: str | None
    ) -> None:
        await repo.record_generation(
            session,
            contract_id=contract.id,
            site_id=site.id,
            service_period_start=period.start,
            source=source,
            key=idempotency_key,
            requested_by=_actor(ctx),
            fingerprint=request,
            batch_id=batch_id,
            statement_id=ids[0] if ids else None,
            version_id=ids[1] if ids else None,
            error=error,
        )

    try:
        async with ctx.db.transaction() as session:
            if idempotency_key is not None:
                replay = await _replay(
                    session,
                    key=idempotency_key,
                    requested_by=_actor(ctx),
                    request=request,
                    site_number=site.site_number,
                )
                if replay is not None:
                    return replay
            if not await repo.try_lock_contract(session, contract_id=contract.id):
                raise GenerationInFlight(
                    f"a statement of site {site.site_number} is being generated; retry when it has finished"
                )
            # before the first write, holding the period's lock shared until commit (resolvers.periods)
            await require_open(session, service_period_start=period.start)
            statement_id, version_id = await _write_version(
                ctx, session, site, contract, period, require_sent=require_sent
            )
            await record(session, ids=(statement_id, version_id), error=None)
    except repo.KeyTaken:
        # a concurrent request with the same key completed first: answer as its replay would
        assert idempotency_key is not None
        async with ctx.db.read() as session:
            replay = await _replay(
                session,
                key=idempotency_key,
                requested_by=_actor(ctx),
                request=request,
                site_number=site.site_number,
            )
        if replay is None:  # pragma: no cover - the key is bound to a completed request by then
            raise
        return replay
    except (NoInvoiceProduced, InvalidConfiguration) as problem:
        try:
            async with ctx.db.transaction() as session:
                await record(session, ids=None, error=f"{problem.code}: {problem}")
        except repo.KeyTaken:
            pass  # a concurrent request with the key completed meanwhile; this one still failed
        raise
    return Generated(statement_id, version_id, site.site_number, reused=False)


async def _write_version(
    ctx: Context,
    session: AsyncSession,
    site: CustomerSite,
    contract: Contract,
    period: billing.ServicePeriod,
    *,
    require_sent: bool,
) -> tuple[uuid.UUID, uuid.UUID]:
    statement = await repo.lock_statement(session, site_id=site.id, contract_id=contract.id, period=period)
    versions = await repo.lock_open_versions(session, statement_id=statement.id)
    if require_sent and (not versions or versions[-1].status != StatementStatus.SENT.name):
        current = (
            f"version {versions[-1].version} is {versions[-1].status}" if versions else "it has no version"
        )
        raise TransitionNotAllowed(
            f"only a SENT statement can be regenerated; {current} (generate it again instead)"
        )
    if versions and versions[-1].status != StatementStatus.SENT.name:
        # the unsent version would be replaced: not while it is being sent
        await require_not_sending(session, statement_id=statement.id, version_id=versions[-1].id)
    plan = plan_version((v.version, StatementStatus[v.status]) for v in versions)
    by_number = {v.version: v for v in versions}
    adhoc: list[billing.AdhocLine] = []
    if plan.carry_adhoc_from is not None:
        adhoc = [
            billing.AdhocLine(
                invoice_group=group,
                title=line.title,
                code=line.code,
                amount=line.amount,
                adhoc_type=billing.AdhocLineType[str(line.adhoc_type)],
                description=line.description,
                # the id the line was acknowledged with, through every carry-over (`lineItemId`, §3.4)
                line_item_id=str(line.details.get("carried_from_line_id") or line.id),
            )
            for line, group in await repo.adhoc_lines_of(
                session, version_id=by_number[plan.carry_adhoc_from].id
            )
        ]
    revision = 1
    if plan.replaces is not None:
        revision = await repo.supersede(session, version=by_number[plan.replaces])
    billables = await load_billables(session, site_ids=[site.id])
    # again inside the unit of work: the site may have been closed since it was read
    check_billable(billables[site.id].site, billables[site.id].contract, period)
    previews = await compute_previews(
        session, billables, period, versions={site.id: plan.version}, adhoc={site.id: adhoc}
    )
    result = previews[site.id]
    if not result.invoices:
        reason = "; ".join(result.warnings) or "no building block produced a line"
        raise NoInvoiceProduced(f"site {site.site_number}, {period.key}: nothing to invoice ({reason})")
    config = billables[site.id].config_for(period)
    inputs = await repo.forecast_inputs(session, site_id=site.id, yyyymm=period.yyyymm)
    comparison = compare_with_forecast(
        forecast=inputs.forecast,
        posted=posted_revenue(inputs.balances),
        invoiced=invoiced_revenue((line.code, line.amount) for inv in result.invoices for line in inv.lines),
        # the thresholds of the period's edition (an amendment may have changed them since, issue 10 §3)
        threshold_amount=billables[site.id].header_for(period).deviation_amount,
        threshold_percentage=billables[site.id].header_for(period).deviation_percentage,
    )
    status = initial_status(
        config.billing_type,
        has_ready_for_invoice_comment=inputs.has_ready_for_invoice_comment,
        exceeded=comparison.exceeded,
    )
    groups = {g.number: g for g in config.invoice_groups}
    version_id = await repo.add_version(
        session,
        statement_id=statement.id,
        version=plan.version,
        revision=revision,
        status=status.name,
        billing_type=contract.billing_type,
        rate_selection_date=result.rate_selection_date,
        purchase_order=contract.purchase_order,
        forecast_data=comparison.as_json(),
        warnings=result.warnings,
        created_by=ctx.caller.subject,
        events=[
            (None, StatementStatus.GENERATING.name, "generated" if revision == 1 else f"revision {revision}"),
            (StatementStatus.GENERATING.name, status.name, _why(status)),
        ],
        invoices=[
            InvoiceRecord(
                invoice=invoice,
                vendor_id=(
                    group.vendor_id
                    if (group := groups.get(invoice.group_number)) and group.vendor_id
                    else site.vendor_id
                ),
                site_number=(group.site_number if group and group.site_number else site.site_number),
                monthly_profit=round2(invoice.profit_share.monthly_profit)
                if invoice.profit_share is not None and invoice.profit_share.enabled
                else None,
            )
            for invoice in result.invoices
        ],
    )
    return statement.id, version_id


def _why(status: StatementStatus) -> str:
    return {
        StatementStatus.AR_REVIEW: "ready-for-invoice comment on an Arrears site (§3.5)",
        StatementStatus.APPROVAL_TEAM: "forecast deviation exceeded both thresholds (§3.6)",
        StatementStatus.READY_TO_SEND: "forecast deviation within limits (§3.6)",
    }.get(status, "")


@dataclass(frozen=True, slots=True)
class BulkRequest:
    """A validated bulk request: given site numbers (4 digits) and/or a territory (layer, code)."""

    site_numbers: tuple[str, ...]
    territory: tuple[str, str] | None
    service_period: billing.ServicePeriod | None
    idempotency_key: str | None


async def generate_statements(ctx: Context, request: BulkRequest) -> list[tuple[str, Generated | TowneError]]:
    """Bulk generation (§3.1): one outcome per site in the given order (then the territory's sites by number),
    each site its own unit of work; a problem with one site does not stop the others, and an unexpected
    failure of one is its `INTERNAL` item (the detail in the log).

    With an idempotency key the whole request is bound to it (`IDEMPOTENCY_KEY_REUSED` for other
    arguments) and each site uses `{key}:{site number}`, so retrying the batch never makes a second version
    for a site that got one.
    """
    period_key = request.service_period.key if request.service_period else None
    whole = fingerprint(
        "generateStatements",
        siteNumbers=list(request.site_numbers),
        territory=list(request.territory) if request.territory else None,
        servicePeriod=period_key,
    )
    async with ctx.db.transaction() as session:
        batch_id, first = await repo.bind_batch_key(
            session, key=request.idempotency_key, requested_by=_actor(ctx), fingerprint=whole
        )
    if first != whole:
        assert request.idempotency_key is not None
        raise _key_reused(request.idempotency_key, first)
    numbers = list(request.site_numbers)
    if request.territory is not None:
        async with ctx.db.read() as session:
            numbers += await site_repo.site_numbers_in_territory(
                session, layer_code=request.territory[0], territory_code=request.territory[1]
            )
    sites = list(dict.fromkeys(numbers))
    if len(sites) > MAX_BULK_SITES:
        raise BadUserInput(
            f"the request names {len(sites)} sites; at most {MAX_BULK_SITES} per request",
            argument="siteNumbers",
        )
    outcomes: list[tuple[str, Generated | TowneError]] = []
    for number in sites:
        key = f"{request.idempotency_key}:{number}" if request.idempotency_key else None
        outcome: Generated | TowneError
        try:
            outcome = await generate_statement(
                ctx,
                site_number=number,
                service_period=request.service_period,
                idempotency_key=key,
                source="BULK",
                batch_id=batch_id,
                request=fingerprint("generateStatements", batch=str(batch_id), siteNumber=number),
            )
        except TowneError as problem:
            outcome = problem
        except Exception:
            log.exception("bulk generation of site %s failed (request %s)", number, ctx.request_id)
            outcome = Internal(ctx.request_id)
        outcomes.append((number, outcome))
    return outcomes


# --------------------------------------------------------------------------------------------- transitions


def _no_such_statement(any_id: uuid.UUID) -> NotFound:
    return NotFound(f"no statement or statement version with id {any_id}", argument="statementId")


async def locked_target(
    session: AsyncSession, any_id: uuid.UUID
) -> tuple[BillingStatement, StatementVersion]:
    """The statement and the version an operation acts on, both locked: for a statement id its current
    version; for a version id that version, if it is still current (`STATEMENT_REPLACED` otherwise). A
    statement of a closed accounting period is `PERIOD_CLOSED` (`resolvers.periods.require_open`)."""
    resolved = await repo.resolve_any_id(session, any_id=any_id)
    if resolved is None:
        raise _no_such_statement(any_id)
    statement_id, version_id = resolved
    statement = await repo.lock_statement_by_id(session, statement_id=statement_id)
    assert statement is not None
    await require_open(session, service_period_start=statement.service_period_start)
    current_id = await repo.current_version_id(session, statement_id=statement.id)
    if version_id is not None and version_id != current_id:
        raise _replaced(statement.id, current_id)
    version = await repo.lock_version(session, version_id=current_id)
    assert version is not None
    return statement, version


def _replaced(statement_id: uuid.UUID, current_id: uuid.UUID) -> StatementReplaced:
    return StatementReplaced(
        f"this version of statement {statement_id} was replaced by a newer one ({current_id}); "
        "reload the statement and act on its current version",
        statement_id=statement_id,
        current_version_id=current_id,
    )


async def _move(
    ctx: Context, session: AsyncSession, version: StatementVersion, target: StatementStatus, note: str
) -> None:
    try:
        transition(StatementStatus[version.status], target)
    except TransitionError as exc:
        raise TransitionNotAllowed(str(exc)) from exc
    await repo.add_event(session, version=version, to_status=target.name, note=note, actor=ctx.caller.subject)


async def confirm_review(ctx: Context, *, statement_id: uuid.UUID) -> uuid.UUID:
    """AR Review → Approval Team (deviation exceeded) or Ready To Send; Approval Team → Ready To Send (§3.5).
    Returns the statement id. Raises `NotFound`, `StatementReplaced`, `TransitionNotAllowed`, `PeriodClosed`."""
    async with ctx.db.transaction() as session:
        statement, version = await locked_target(session, statement_id)
        exceeded = ForecastComparison.from_json(version.forecast_data).exceeded
        try:
            target = confirm_review_target(StatementStatus[version.status], exceeded=exceeded)
        except TransitionError as exc:
            raise TransitionNotAllowed(str(exc)) from exc
        await _move(ctx, session, version, target, "review confirmed")
    return statement.id


async def mark_sent(ctx: Context, *, statement_id: uuid.UUID) -> uuid.UUID:
    """Ready To Send → Sent (§3.5); Sent is final. Returns the statement id. Raises `NotFound`,
    `StatementReplaced`, `TransitionNotAllowed`, `PeriodClosed` (nothing is sent in a closed period)."""
    async with ctx.db.transaction() as session:
        statement, version = await locked_target(session, statement_id)
        await require_not_sending(session, statement_id=statement.id, version_id=version.id)
        await _move(ctx, session, version, StatementStatus.SENT, "marked sent by hand")
    return statement.id


async def regenerate(
    ctx: Context, *, statement_id: uuid.UUID, idempotency_key: str | None = None
) -> Generated:
    """A new version of a statement whose current version is Sent (§3.3); only Sent is regenerated (§3.5),
    checked under the generation's locks. A retry with the same key answers what the first call made."""
    async with ctx.db.read() as session:
        resolved = await repo.resolve_any_id(session, any_id=statement_id)
        if resolved is None:
            raise _no_such_statement(statement_id)
        view = (await repo.statements_by_id(session, statement_ids=[resolved[0]]))[resolved[0]]
        site = await repo.site_of_statement(session, statement_id=resolved[0])
    return await generate_statement(
        ctx,
        site_number=site.site_number,
        service_period=billing.ServicePeriod.of(view.statement.service_period_start),
        idempotency_key=idempotency_key,
        request=fingerprint("regenerateStatement", statementId=str(resolved[0])),
        require_sent=True,
    )


# ------------------------------------------------------------------------------------------------ ad hoc


@dataclass(frozen=True, slots=True)
class AdhocInput:
    """A validated ad-hoc line: title, description stripped; code 4 digits; amount at cents, non-zero."""

    adhoc_type: billing.AdhocLineType
    title: str
    code: str
    amount: Decimal
    description: str = ""


async def _editable(session: AsyncSession, invoice_id: uuid.UUID) -> tuple[Invoice, StatementVersion]:
    """The invoice and its version, both locked (version first, as every writer does) and read afresh, if
    the version may still be edited (§3.4) and its accounting period is open (`PERIOD_CLOSED`)."""
    found = (await repo.invoices_by_id(session, invoice_ids=[invoice_id])).get(invoice_id)
    if found is None:
        raise NotFound(f"no invoice with id {invoice_id}", argument="invoiceId")
    version = await repo.lock_version(session, version_id=found.statement_version_id)
    invoice = await repo.lock_invoice(session, invoice_id=invoice_id)
    assert version is not None and invoice is not None
    await require_open(
        session,
        service_period_start=await period_repo.service_period_of_version(session, version_id=version.id),
    )
    if version.superseded:
        current = await repo.current_version_id(session, statement_id=version.statement_id)
        raise _replaced(version.statement_id, current)
    if version.status == StatementStatus.SENT.name:
        raise StatementAlreadySent(
            f"invoice {invoice.invoice_number} belongs to a SENT statement; regenerate it to make changes"
        )
    await require_not_sending(session, statement_id=version.statement_id, version_id=version.id)
    return invoice, version


async def _after_edit(
    session: AsyncSession, invoice: Invoice, version: StatementVersion, delta: Decimal, code: str
) -> None:
    """§3.4: the invoice amount becomes Σ its lines; ad-hoc revenue codes (4000–4999) move the forecast data."""
    await repo.refresh_invoice_amount(session, invoice=invoice)
    if invoiced_revenue([(code, delta)]):
        stored = ForecastComparison.from_json(version.forecast_data)
        amount, percentage = await repo.deviation_thresholds(session, statement_id=version.statement_id)
        version.forecast_data = compare_with_forecast(
            forecast=stored.forecasted_revenue,
            posted=stored.posted_revenue,
            invoiced=stored.invoiced_revenue + delta,
            threshold_amount=amount,
            threshold_percentage=percentage,
        ).as_json()
        await session.flush()


async def add_adhoc_line(ctx: Context, *, invoice_id: uuid.UUID, line: AdhocInput) -> uuid.UUID:
    """Add an ad-hoc line to an unsent invoice (§3.4) with the engine's sign and flag rule
    (`billing.blocks.adhoc`). Returns the new line's id (`lineItemId`). Raises `NotFound`,
    `StatementReplaced`, `StatementAlreadySent`, `PeriodClosed`."""
    async with ctx.db.transaction() as session:
        invoice, version = await _editable(session, invoice_id)
        entered = adhoc_invoice_line(
            billing.AdhocLine(
                invoice_group=invoice.group_number,
                title=line.title,
                code=line.code,
                amount=line.amount,
                adhoc_type=line.adhoc_type,
                description=line.description,
            ),
            entered=True,
        )
        _check_total(invoice, entered.amount, argument="line.amount")
        line_id = await repo.add_line(session, invoice=invoice, line=entered, added_by=_actor(ctx))
        await _after_edit(session, invoice, version, entered.amount, entered.code)
    return line_id


async def remove_adhoc_line(ctx: Context, *, invoice_id: uuid.UUID, line_id: uuid.UUID) -> None:
    """Remove an ad-hoc line from an unsent invoice; generated lines cannot be removed (`InvalidAdhocLine`)."""
    async with ctx.db.transaction() as session:
        invoice, version = await _editable(session, invoice_id)
        line = await repo.line_of_invoice(session, invoice_id=invoice.id, line_id=line_id)
        if line is None:
            raise NotFound(f"invoice {invoice.invoice_number} has no line {line_id}", argument="lineId")
        if not line.is_adhoc:
            raise InvalidAdhocLine(
                f"line {line.title!r} was generated from the contract; only ad-hoc lines can be removed",
                argument="lineId",
            )
        _check_total(invoice, -line.amount, argument="lineId")
        await repo.delete_line(session, line=line)
        await _after_edit(session, invoice, version, -line.amount, line.code)


def _check_total(invoice: Invoice, delta: Decimal, *, argument: str) -> None:
    """The invoice's new total must fit what an invoice holds (numeric(14,2))."""
    total = invoice.amount + delta
    if not validation.within_amount_limit(total):
        raise InvalidAdhocLine(
            f"{argument}: invoice {invoice.invoice_number} would total {total}, more than an invoice holds "
            "(less than 1,000,000,000,000.00 in absolute value)",
            argument=argument,
        )


# ---------------------------------------------------------------------------------------------- GL export


async def gl_export_csv(ctx: Context, *, any_id: uuid.UUID) -> str:
    """The Great Plains journal (§3.8) of a SENT version as CSV: a version id exports that version; a
    statement id its current version. Raises `NotFound`, `StatementReplaced`, `TransitionNotAllowed`."""
    async with ctx.db.read() as session:
        resolved = await repo.resolve_any_id(session, any_id=any_id)
        if resolved is None:
            raise _no_such_statement(any_id)
        statement_id, version_id = resolved
        version_id = version_id or await repo.current_version_id(session, statement_id=statement_id)
        version = (await repo.versions_by_id(session, version_ids=[version_id]))[version_id]
        if version.superseded:
            current = await repo.current_version_id(session, statement_id=version.statement_id)
            raise _replaced(version.statement_id, current)
        if version.status != StatementStatus.SENT.name:
            raise TransitionNotAllowed(
                f"only a SENT version is exported to the GL; version {version.version} is {version.status}"
            )
        _, _, entries = await journal_entries(session, version=version)
    return to_csv(entries)


async def journal_entries(
    session: AsyncSession, *, version: StatementVersion
) -> tuple[CustomerSite, BillingStatement, list[GlEntry]]:
    """The site, statement and GL journal entries (§3.8) of a version, whatever its status: what the CSV
    export of a Sent version and the Great Plains posting of a Ready To Send one (`server.great_plains`)
    both write."""
    site, statement, invoices, lines = await repo.gl_inputs(session, version_id=version.id)
    advanced = version.billing_type == billing.BillingType.ADVANCED.name
    gl_invoices = [
        GlInvoice(
            invoice.invoice_number,
            invoice.invoice_date,
            invoice.amount,
            [(line.code, line.amount, line.title) for line in lines if line.invoice_id == invoice.id],
            vendor_id=invoice.vendor_id,
            advanced=advanced,
        )
        for invoice in invoices
    ]
    period = billing.ServicePeriod.of(statement.service_period_start)
    entries = gl_entries(
        gl_invoices, gl_string=site.gl_string, site_number=site.site_number, service_period=period.yyyymm
    )
    return site, statement, entries


def forecast_of(version: StatementVersion) -> ForecastComparison | None:
    """The stored forecast comparison of a version (§3.6), None when none was stored."""
    return ForecastComparison.from_json(version.forecast_data) if version.forecast_data else None


def adhoc_input(
    *, adhoc_type: billing.AdhocLineType, title: str, code: str, amount: Decimal, description: str
) -> AdhocInput:
    """Check an ad-hoc line as entered (§3.4); a bad field is `INVALID_ADHOC_LINE` naming it (`line.code`)."""
    try:
        return AdhocInput(
            adhoc_type=adhoc_type,
            title=validation.text(title, argument="line.title", max_length=validation.TITLE_MAX),
            code=validation.gl_code(code, argument="line.code"),
            amount=validation.amount(amount, argument="line.amount"),
            description=validation.text(
                description,
                argument="line.description",
                max_length=validation.DESCRIPTION_MAX,
                required=False,
            ),
        )
    except BadUserInput as error:
        raise InvalidAdhocLine(error.message, argument=error.argument) from error


async def bulk_request(
    ctx: Context,
    *,
    site_numbers: Sequence[str] | None,
    territory_layer: str | None,
    territory_code: str | None,
    service_period: str | None,
    idempotency_key: str | None,
) -> BulkRequest:
    """Validate every argument of a bulk generation before any work (`BAD_USER_INPUT` naming it)."""
    numbers = tuple(
        dict.fromkeys(
            validation.site_number(n, argument=f"siteNumbers[{i}]") for i, n in enumerate(site_numbers or ())
        )
    )
    if (territory_layer is None) != (territory_code is None):
        raise BadUserInput("give both territoryLayer and territoryCode, or neither", argument="territoryCode")
    territory = None
    if territory_layer is not None and territory_code is not None:
        await require_territory(
            ctx, territory_layer, territory_code, layer_argument="territoryLayer", argument="territoryCode"
        )
        territory = (territory_layer, territory_code)
    if not numbers and territory is None:
        raise BadUserInput("give siteNumbers or a territory", argument="siteNumbers")
    if len(numbers) > MAX_BULK_SITES:
        raise BadUserInput(
            f"siteNumbers lists {len(numbers)} sites; at most {MAX_BULK_SITES} per request",
            argument="siteNumbers",
        )
    return BulkRequest(
        site_numbers=numbers,
        territory=territory,
        service_period=validation.optional_period(service_period),
        idempotency_key=key_or_none(idempotency_key),
    )


def key_or_none(value: str | None, *, argument: str = "idempotencyKey") -> str | None:
    """An idempotency key: 1–200 characters of the client's choosing."""
    if value is None:
        return None
    return validation.text(value, argument=argument, max_length=200)


async def statement_page(
    ctx: Context, *, query: repo.StatementQuery, first: int, after: str | None
) -> tuple[list[repo.StatementView], int, bool]:
    """One page of statements (with current versions): the views, the page's offset, whether more follow."""
    validation.page_size(first, maximum=500)
    offset = decode_cursor(after) + 1 if after else 0
    async with ctx.db.read() as session:
        rows = await repo.find_statements(
            session, query=query, today=ctx.today, offset=offset, limit=first + 1
        )
    return rows[:first], offset, len(rows) > first


async def count_statements(ctx: Context, query: repo.StatementQuery) -> int:
    async with ctx.db.read() as session:
        return await repo.count_statements(session, query=query, today=ctx.today)


async def statement_query(
    ctx: Context,
    *,
    site_number: str | None,
    service_period: str | None,
    statuses: Sequence[str],
    territory_layer: str | None,
    territory_code: str | None,
    current_only: bool,
) -> repo.StatementQuery:
    """A validated statement filter (`filter.*` arguments)."""
    if (territory_layer is None) != (territory_code is None):
        raise BadUserInput(
            "give both filter.territoryLayer and filter.territoryCode", argument="filter.territoryCode"
        )
    if territory_layer is not None and territory_code is not None:
        await require_territory(
            ctx,
            territory_layer,
            territory_code,
            layer_argument="filter.territoryLayer",
            argument="filter.territoryCode",
        )
    period = validation.optional_period(service_period, argument="filter.servicePeriod")
    return repo.StatementQuery(
        site_number=validation.site_number(site_number, argument="filter.siteNumber")
        if site_number is not None
        else None,
        service_period_start=period.start if period else None,
        statuses=tuple(statuses),
        territory=(territory_layer, territory_code) if territory_layer and territory_code else None,
        current_only=current_only,
    )


async def statement(ctx: Context, any_id: uuid.UUID) -> repo.StatementView | None:
    """A statement by its stable id or by the id of any of its versions (replaced ones included)."""
    view = await ctx.loaders.statement_by_id.load(any_id)
    if view is not None:
        return view
    version = await ctx.loaders.version_by_id.load(any_id)
    return await ctx.loaders.statement_by_id.load(version.statement_id) if version else None
