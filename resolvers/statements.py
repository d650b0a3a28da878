"""Statement lifecycle (domain.md §3): generation, versions, ad-hoc lines, review, sending, GL export.

Every function takes the `Database` and runs its own units of work. Expected failures raise
`StatementProblem` subclasses with a stable `code`; the GraphQL layer returns them as payload-union members.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import billing
from billing.gl import GlInvoice, gl_entries, to_csv
from billing.statements import (
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
from db.database import Database
from db.models import (
    BillingStatement,
    Contract,
    CustomerSite,
    ForecastInternalRevenue,
    Invoice,
    InvoiceLine,
    LedgerBalance,
    ReadyForInvoiceComment,
    StatementEvent,
    StatementGeneration,
)
from db.models.statement import LINE_FLAGS
from resolvers.billing import compute_previews, load_billables


class StatementProblem(Exception):
    """An expected failure; `code` is stable, `str()` says what to do."""

    code = "STATEMENT_PROBLEM"


class NotFound(StatementProblem):
    code = "NOT_FOUND"


class NoContract(StatementProblem):
    code = "NO_CONTRACT"


class GenerationInFlight(StatementProblem):
    code = "GENERATION_IN_FLIGHT"


class NoInvoiceProduced(StatementProblem):
    code = "NO_INVOICE"


class StatementAlreadySent(StatementProblem):
    code = "STATEMENT_SENT"


class TransitionNotAllowed(StatementProblem):
    code = "TRANSITION_NOT_ALLOWED"


class InvalidAdhocLine(StatementProblem):
    code = "INVALID_ADHOC_LINE"


@dataclass(frozen=True, slots=True)
class Generated:
    statement_id: uuid.UUID
    site_number: str
    reused: bool  # True: an earlier request with the same idempotency key had produced it


# ---------------------------------------------------------------------------------------------- generation


async def _claim(
    db: Database,
    *,
    site: CustomerSite,
    contract: Contract,
    period: billing.ServicePeriod,
    key: str | None,
    source: str,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Register the request; returns (generation id, statement id of an earlier identical request)."""
    async with db.transaction() as session:
        if key is not None:
            earlier = (
                await session.execute(
                    select(StatementGeneration).where(StatementGeneration.idempotency_key == key)
                )
            ).scalar_one_or_none()
            if earlier is not None:
                if earlier.status == "COMPLETED" and earlier.statement_id is not None:
                    return None, earlier.statement_id
                if earlier.status in ("PENDING", "IN_PROGRESS"):
                    raise GenerationInFlight(
                        f"the request {key!r} for site {site.site_number} is still being generated"
                    )
                # a failed request may be retried under the same key: reuse its row
                earlier.status, earlier.error, earlier.finished_at = "IN_PROGRESS", None, None
                earlier.requested_at = dt.datetime.now(dt.UTC)
                try:
                    await session.flush()
                except IntegrityError as exc:
                    raise _in_flight(site) from exc
                return earlier.id, None
        generation = StatementGeneration(
            contract_id=contract.id,
            site_id=site.id,
            service_period_start=period.start,
            status="IN_PROGRESS",
            source=source,
            idempotency_key=key,
        )
        session.add(generation)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise _in_flight(site) from exc
        return generation.id, None


def _in_flight(site: CustomerSite) -> GenerationInFlight:
    return GenerationInFlight(
        f"a statement of site {site.site_number} is already being generated; retry when it has finished"
    )


async def _finish(
    db: Database, generation_id: uuid.UUID, *, statement_id: uuid.UUID | None, error: str | None
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(StatementGeneration)
            .where(StatementGeneration.id == generation_id)
            .values(
                status="FAILED" if error else "COMPLETED",
                statement_id=statement_id,
                error=error,
                finished_at=func.now(),
            )
        )


async def _site_and_contract(session: AsyncSession, site_number: str) -> tuple[CustomerSite, Contract]:
    number = site_number.strip().zfill(4)
    row = (
        await session.execute(
            select(CustomerSite, Contract)
            .outerjoin(Contract, Contract.site_id == CustomerSite.id)
            .where(CustomerSite.site_number == number)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no site with site number {site_number!r}")
    site, contract = row
    if contract is None:
        raise NoContract(f"site {number} has no contract to bill")
    return site, contract


async def generate_statement(
    db: Database,
    *,
    site_number: str,
    service_period: billing.ServicePeriod | None,
    today: dt.date,
    idempotency_key: str | None = None,
    source: str = "MANUAL",
) -> Generated:
    """Generate (or, after a Sent one, version) the statement of a site for a period (§3.1–§3.6).

    Default period per billing type (§3.2). Raises `NotFound`, `NoContract`, `GenerationInFlight`,
    `NoInvoiceProduced` (nothing to bill: no statement is kept, the request is marked FAILED).
    """
    async with db.read() as session:
        site, contract = await _site_and_contract(session, site_number)
    billing_type = billing.BillingType[contract.billing_type]
    period = service_period or billing.ServicePeriod.default_for(billing_type, today)
    generation_id, earlier = await _claim(
        db, site=site, contract=contract, period=period, key=idempotency_key, source=source
    )
    if earlier is not None:
        return Generated(earlier, site.site_number, reused=True)
    assert generation_id is not None
    try:
        async with db.transaction() as session:
            statement_id = await _write_statement(session, site, contract, period)
    except StatementProblem as problem:
        await _finish(db, generation_id, statement_id=None, error=f"{problem.code}: {problem}")
        raise
    except Exception as exc:
        await _finish(db, generation_id, statement_id=None, error=f"{type(exc).__name__}: {exc}")
        raise
    await _finish(db, generation_id, statement_id=statement_id, error=None)
    return Generated(statement_id, site.site_number, reused=False)


async def _write_statement(
    session: AsyncSession, site: CustomerSite, contract: Contract, period: billing.ServicePeriod
) -> uuid.UUID:
    existing = (
        await session.execute(
            select(BillingStatement.id, BillingStatement.version, BillingStatement.status)
            .where(BillingStatement.site_id == site.id, BillingStatement.service_period_start == period.start)
            .order_by(BillingStatement.version)
        )
    ).all()
    plan = plan_version((version, StatementStatus[status]) for _, version, status in existing)
    by_version = {version: statement_id for statement_id, version, _ in existing}
    adhoc: list[billing.AdhocLine] = []
    if plan.carry_adhoc_from is not None:
        adhoc = await _adhoc_lines_of(session, by_version[plan.carry_adhoc_from])
    if plan.replaces is not None:
        await session.execute(
            delete(BillingStatement).where(BillingStatement.id == by_version[plan.replaces])
        )
    billables = await load_billables(session, site_ids=[site.id])
    previews = await compute_previews(
        session, billables, period, versions={site.id: plan.version}, adhoc={site.id: adhoc}
    )
    result = previews[site.id]
    if not result.invoices:
        reason = "; ".join(result.warnings) or "no building block produced a line"
        raise NoInvoiceProduced(f"site {site.site_number}, {period.key}: nothing to invoice ({reason})")
    config = billables[site.id].config_for(period)
    comparison = await _comparison(session, site, contract, period, result)
    status = initial_status(
        config.billing_type,
        has_ready_for_invoice_comment=await _has_rfi_comment(session, site.id, period),
        exceeded=comparison.exceeded,
    )
    statement = BillingStatement(
        site_id=site.id,
        contract_id=contract.id,
        service_period_start=period.start,
        service_period_end=period.end,
        version=plan.version,
        status=status.name,
        billing_type=contract.billing_type,
        rate_selection_date=result.rate_selection_date,
        purchase_order=contract.purchase_order,
        forecast_data=comparison.as_json(),
        warnings=list(result.warnings),
    )
    session.add(statement)
    await session.flush()
    session.add_all(
        [
            StatementEvent(
                statement_id=statement.id, from_status=None, to_status="GENERATING", note="generated"
            ),
            StatementEvent(
                statement_id=statement.id, from_status="GENERATING", to_status=status.name, note=_why(status)
            ),
        ]
    )
    for invoice in result.invoices:
        group = next((g for g in config.invoice_groups if g.number == invoice.group_number), None)
        row = Invoice(
            statement_id=statement.id,
            group_number=invoice.group_number,
            invoice_number=invoice.invoice_number,
            invoice_date=invoice.invoice_date,
            amount=invoice.amount,
            title=invoice.title,
            description=invoice.description,
            payment_terms=invoice.payment_terms,
            purchase_order=invoice.purchase_order,
            vendor_id=(group.vendor_id if group and group.vendor_id else site.vendor_id),
            site_number=(group.site_number if group and group.site_number else site.site_number),
            monthly_profit=invoice.profit_share.monthly_profit.quantize(Decimal("0.01"))
            if invoice.profit_share is not None and invoice.profit_share.enabled
            else None,
        )
        session.add(row)
        await session.flush()
        session.add_all([_line_row(row.id, position, line) for position, line in enumerate(invoice.lines, 1)])
    await session.flush()
    return statement.id


def _why(status: StatementStatus) -> str:
    return {
        StatementStatus.AR_REVIEW: "ready-for-invoice comment on an Arrears site (§3.5)",
        StatementStatus.APPROVAL_TEAM: "forecast deviation exceeded both thresholds (§3.6)",
        StatementStatus.READY_TO_SEND: "forecast deviation within limits (§3.6)",
    }.get(status, "")


def line_details(line: billing.InvoiceLine) -> dict[str, object]:
    """The structured inputs behind a line, as JSON (decimals as strings): revenue-share distribution items,
    validation allocation, profit-share tiers and breakdown (the legacy supporting-report side tables, §1.6)."""
    details: dict[str, object] = {}
    for name in ("revenue_share_items", "validation_items", "profit_share_items"):
        items = getattr(line, name)
        if items:
            details[name] = [
                {k: str(v) if isinstance(v, Decimal) else v for k, v in _as_dict(item).items()}
                for item in items
            ]
    if line.profit_share_calculation_details:
        details["profit_share_calculation_details"] = line.profit_share_calculation_details
    return details


def _line_row(invoice_id: uuid.UUID, position: int, line: billing.InvoiceLine) -> InvoiceLine:
    details = line_details(line)
    adhoc_type = line.adhoc_type
    carried_from = line.line_item_id
    if carried_from:
        # the earlier (Sent) version keeps its line; the carried copy is a new row that remembers it
        details["carried_from_line_id"] = carried_from
    return InvoiceLine(
        id=uuid.uuid4(),
        invoice_id=invoice_id,
        position=position,
        building_block=line.building_block.name if line.building_block else None,
        adhoc_type=adhoc_type.name if adhoc_type else None,
        title=line.title,
        description=line.description,
        code=line.code,
        amount=line.amount,
        explanation=line.explanation,
        monthly_profit=getattr(line, "monthly_profit", None),
        taxes_paid=getattr(line, "taxes_paid", None),
        details=details,
        **{flag: bool(getattr(line, flag)) for flag in LINE_FLAGS},
    )


def _as_dict(item: object) -> dict[str, object]:
    return {name: getattr(item, name) for name in getattr(item, "__slots__", ())}


async def _adhoc_lines_of(session: AsyncSession, statement_id: uuid.UUID) -> list[billing.AdhocLine]:
    rows = await session.execute(
        select(InvoiceLine, Invoice.group_number)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.statement_id == statement_id, InvoiceLine.is_adhoc.is_(True))
        .order_by(Invoice.group_number, InvoiceLine.position)
    )
    return [
        billing.AdhocLine(
            invoice_group=group,
            title=line.title,
            code=line.code,
            amount=line.amount,
            adhoc_type=billing.AdhocLineType[line.adhoc_type or "MISCELLANEOUS_ITEM"],
            description=line.description,
            line_item_id=str(line.id),
        )
        for line, group in rows.all()
    ]


async def _comparison(
    session: AsyncSession,
    site: CustomerSite,
    contract: Contract,
    period: billing.ServicePeriod,
    result: billing.BillingPreview,
) -> billing.statements.ForecastComparison:
    balances = (
        await session.execute(
            select(LedgerBalance.main_account, LedgerBalance.entity, LedgerBalance.balance).where(
                LedgerBalance.site_id == site.id, LedgerBalance.period == period.yyyymm
            )
        )
    ).all()
    forecast = (
        await session.execute(
            select(ForecastInternalRevenue.amount).where(
                ForecastInternalRevenue.site_id == site.id, ForecastInternalRevenue.period == period.yyyymm
            )
        )
    ).scalar_one_or_none()
    lines = [(line.code, line.amount) for invoice in result.invoices for line in invoice.lines]
    return compare_with_forecast(
        forecast=forecast,
        posted=posted_revenue([(account, entity, balance) for account, entity, balance in balances]),
        invoiced=invoiced_revenue(lines),
        threshold_amount=contract.deviation_amount,
        threshold_percentage=contract.deviation_percentage,
    )


async def _has_rfi_comment(session: AsyncSession, site_id: uuid.UUID, period: billing.ServicePeriod) -> bool:
    # the legacy engine reads the comment of `now − 1 month`: the service month of an on-time Arrears run
    found = await session.execute(
        select(func.count()).where(
            ReadyForInvoiceComment.site_id == site_id, ReadyForInvoiceComment.period == period.yyyymm
        )
    )
    return bool(found.scalar_one())


async def generate_statements(
    db: Database,
    *,
    site_numbers: Sequence[str],
    service_period: billing.ServicePeriod | None,
    today: dt.date,
    idempotency_key: str | None = None,
) -> list[tuple[str, Generated | StatementProblem]]:
    """Bulk generation (§3.1): one outcome per site, in the given order; a problem with one site does not
    stop the others. With `idempotency_key`, each site's request uses `{key}:{site number}`, so retrying the
    whole batch never creates a second statement for a site that already got one."""
    outcomes: list[tuple[str, Generated | StatementProblem]] = []
    for number in dict.fromkeys(n.strip().zfill(4) for n in site_numbers):
        key = f"{idempotency_key}:{number}" if idempotency_key else None
        try:
            outcome: Generated | StatementProblem = await generate_statement(
                db,
                site_number=number,
                service_period=service_period,
                today=today,
                idempotency_key=key,
                source="BULK",
            )
        except StatementProblem as problem:
            outcome = problem
        outcomes.append((number, outcome))
    return outcomes


async def site_numbers_in_territory(db: Database, *, layer_code: str, territory_code: str) -> list[str]:
    from db.repositories.sites import SiteOrder, SiteQuery, find_sites

    async with db.read() as session:
        rows = await find_sites(
            session,
            query=SiteQuery(territory=(layer_code, territory_code)),
            order=SiteOrder.SITE_NUMBER,
            offset=0,
            limit=100_000,
        )
    return [site.site_number for site, _ in rows]


# --------------------------------------------------------------------------------------------- transitions


async def _statement(
    session: AsyncSession, statement_id: uuid.UUID, *, lock: bool = False
) -> BillingStatement:
    statement_query = select(BillingStatement).where(BillingStatement.id == statement_id)
    statement = (
        await session.execute(statement_query.with_for_update() if lock else statement_query)
    ).scalar_one_or_none()
    if statement is None:
        raise NotFound(f"no statement with id {statement_id}")
    return statement


async def _move(
    session: AsyncSession, statement: BillingStatement, target: StatementStatus, note: str
) -> None:
    current = StatementStatus[statement.status]
    try:
        transition(current, target)
    except TransitionError as exc:
        raise TransitionNotAllowed(str(exc)) from exc
    statement.status = target.name
    if target is StatementStatus.SENT:
        statement.sent_at = dt.datetime.now(dt.UTC)
    session.add(
        StatementEvent(statement_id=statement.id, from_status=current.name, to_status=target.name, note=note)
    )
    await session.flush()


async def confirm_review(db: Database, *, statement_id: uuid.UUID) -> uuid.UUID:
    """AR Review → Approval Team (deviation exceeded) or Ready To Send; Approval Team → Ready To Send (§3.5)."""
    async with db.transaction() as session:
        statement = await _statement(session, statement_id, lock=True)
        current = StatementStatus[statement.status]
        exceeded = bool(statement.forecast_data.get("deviationExceeded"))
        try:
            target = confirm_review_target(current, exceeded=exceeded)
        except TransitionError as exc:
            raise TransitionNotAllowed(str(exc)) from exc
        await _move(session, statement, target, "review confirmed")
    return statement_id


async def mark_sent(db: Database, *, statement_id: uuid.UUID) -> uuid.UUID:
    """Ready To Send → Sent (§3.5); Sent is final."""
    async with db.transaction() as session:
        statement = await _statement(session, statement_id, lock=True)
        await _move(session, statement, StatementStatus.SENT, "sent")
    return statement_id


async def regenerate(
    db: Database, *, statement_id: uuid.UUID, today: dt.date, idempotency_key: str | None = None
) -> Generated:
    """A new version of a Sent statement (§3.3); only Sent statements are regenerated (§3.5)."""
    async with db.read() as session:
        statement = await _statement(session, statement_id)
        site = (
            await session.execute(select(CustomerSite).where(CustomerSite.id == statement.site_id))
        ).scalar_one()
    if statement.status != StatementStatus.SENT.name:
        raise TransitionNotAllowed(
            f"only a SENT statement can be regenerated; this one is {statement.status} (generate it again instead)"
        )
    period = billing.ServicePeriod.of(statement.service_period_start)
    return await generate_statement(
        db, site_number=site.site_number, service_period=period, today=today, idempotency_key=idempotency_key
    )


# ------------------------------------------------------------------------------------------------ ad hoc


@dataclass(frozen=True, slots=True)
class AdhocInput:
    adhoc_type: billing.AdhocLineType
    title: str
    code: str
    amount: Decimal
    description: str = ""


NEGATIVE_TYPES = (billing.AdhocLineType.CLIENT_PAID_EXPENSE, billing.AdhocLineType.NON_BILLABLE_EXPENSE)


async def _editable_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> tuple[Invoice, BillingStatement]:
    invoice = (await session.execute(select(Invoice).where(Invoice.id == invoice_id))).scalar_one_or_none()
    if invoice is None:
        raise NotFound(f"no invoice with id {invoice_id}")
    statement = await _statement(session, invoice.statement_id, lock=True)
    if statement.status == StatementStatus.SENT.name:
        raise StatementAlreadySent(
            f"invoice {invoice.invoice_number} belongs to a SENT statement; regenerate it to make changes"
        )
    return invoice, statement


async def _recompute(
    session: AsyncSession, invoice: Invoice, statement: BillingStatement, delta: Decimal, code: str
) -> None:
    """§3.4: the invoice amount becomes Σ its lines; ad-hoc revenue codes (4000–4999) move the forecast data."""
    invoice.amount = (
        await session.execute(
            select(func.coalesce(func.sum(InvoiceLine.amount), 0)).where(InvoiceLine.invoice_id == invoice.id)
        )
    ).scalar_one()
    if invoiced_revenue([(code, delta)]):
        data = dict(statement.forecast_data)
        contract = (
            await session.execute(select(Contract).where(Contract.id == statement.contract_id))
        ).scalar_one()
        comparison = compare_with_forecast(
            forecast=Decimal(data.get("forecastedRevenue", "0")),
            posted=Decimal(data.get("postedRevenue", "0")),
            invoiced=Decimal(data.get("invoicedRevenue", "0")) + delta,
            threshold_amount=contract.deviation_amount,
            threshold_percentage=contract.deviation_percentage,
        )
        statement.forecast_data = comparison.as_json()
    await session.flush()


async def add_adhoc_line(db: Database, *, invoice_id: uuid.UUID, line: AdhocInput) -> uuid.UUID:
    """Add an ad-hoc line to an unsent invoice (§3.4); client-paid and non-billable expenses are forced
    negative and flagged. Returns the new line's id (`lineItemId`). Raises `NotFound`,
    `StatementAlreadySent`, `InvalidAdhocLine`."""
    title, code = line.title.strip(), line.code.strip()
    if not title:
        raise InvalidAdhocLine("title must not be empty")
    if not code.isdigit():
        raise InvalidAdhocLine(f"code must be a GL main account number, got {line.code!r}")
    if not line.amount.is_finite() or line.amount == 0:
        raise InvalidAdhocLine(f"amount must be a non-zero number of dollars, got {line.amount}")
    if line.amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidAdhocLine(f"amount must have at most two decimals (cents), got {line.amount}")
    amount = -abs(line.amount) if line.adhoc_type in NEGATIVE_TYPES else line.amount
    async with db.transaction() as session:
        invoice, statement = await _editable_invoice(session, invoice_id)
        position = (
            await session.execute(
                select(func.coalesce(func.max(InvoiceLine.position), 0)).where(
                    InvoiceLine.invoice_id == invoice.id
                )
            )
        ).scalar_one()
        row = InvoiceLine(
            invoice_id=invoice.id,
            position=position + 1,
            building_block=None,
            adhoc_type=line.adhoc_type.name,
            title=title,
            description=line.description,
            code=code,
            amount=amount,
            explanation=f"ad-hoc {line.adhoc_type.name.lower().replace('_', ' ')} entered by a billing manager (§3.4)",
            is_adhoc=True,
            is_profit_deduction=line.adhoc_type is billing.AdhocLineType.CLIENT_PAID_EXPENSE,
            is_client_paid_expense=line.adhoc_type is billing.AdhocLineType.CLIENT_PAID_EXPENSE,
            is_non_billable_expense=line.adhoc_type is billing.AdhocLineType.NON_BILLABLE_EXPENSE,
        )
        session.add(row)
        await session.flush()
        await _recompute(session, invoice, statement, amount, code)
        return row.id


async def remove_adhoc_line(db: Database, *, invoice_id: uuid.UUID, line_id: uuid.UUID) -> None:
    """Remove an ad-hoc line from an unsent invoice; generated lines cannot be removed (`InvalidAdhocLine`)."""
    async with db.transaction() as session:
        invoice, statement = await _editable_invoice(session, invoice_id)
        line = (
            await session.execute(
                select(InvoiceLine).where(InvoiceLine.id == line_id, InvoiceLine.invoice_id == invoice.id)
            )
        ).scalar_one_or_none()
        if line is None:
            raise NotFound(f"invoice {invoice.invoice_number} has no line {line_id}")
        if not line.is_adhoc:
            raise InvalidAdhocLine(
                f"line {line.title!r} was generated from the contract; only ad-hoc lines can be removed"
            )
        await session.delete(line)
        await session.flush()
        await _recompute(session, invoice, statement, -line.amount, line.code)


# ---------------------------------------------------------------------------------------------- GL export


async def gl_export_csv(db: Database, *, statement_id: uuid.UUID) -> str:
    """The Great Plains journal of a SENT statement as CSV (§3.8). Raises `NotFound`, `TransitionNotAllowed`."""
    async with db.read() as session:
        statement = await _statement(session, statement_id)
        if statement.status != StatementStatus.SENT.name:
            raise TransitionNotAllowed(
                f"only a SENT statement is exported to the GL; this one is {statement.status}"
            )
        site = (
            await session.execute(select(CustomerSite).where(CustomerSite.id == statement.site_id))
        ).scalar_one()
        invoices = (
            (
                await session.execute(
                    select(Invoice).where(Invoice.statement_id == statement.id).order_by(Invoice.group_number)
                )
            )
            .scalars()
            .all()
        )
        lines = (
            (
                await session.execute(
                    select(InvoiceLine)
                    .where(InvoiceLine.invoice_id.in_([i.id for i in invoices]))
                    .order_by(InvoiceLine.position)
                )
            )
            .scalars()
            .all()
        )
    advanced = statement.billing_type == billing.BillingType.ADVANCED.name
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
    return to_csv(
        gl_entries(
            gl_invoices, gl_string=site.gl_string, site_number=site.site_number, service_period=period.yyyymm
        )
    )
