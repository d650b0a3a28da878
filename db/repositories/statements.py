"""Statements, versions, invoices, lines, events and generation requests: every read and write (domain.md §3).

A statement has one stable id per (site, service period start); its versions are `statement_version` rows
and the current one is the highest version number not superseded (`is_current`). Functions never commit;
the service (`resolvers.statements`) runs each unit of work in one transaction. Locks: writers that replace
or edit a version take `SELECT … FOR UPDATE` on what they read (`lock_statement`, `lock_open_versions`,
`lock_version`); in-flight generation is a transaction-scoped advisory lock on the contract
(`try_lock_contract`), released by PostgreSQL whatever ends the transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

import billing
from db.models import (
    BillingStatement,
    Contract,
    CustomerSite,
    ForecastInternalRevenue,
    GenerationBatch,
    Invoice,
    InvoiceLine,
    LedgerBalance,
    ReadyForInvoiceComment,
    SiteTerritoryAssignment,
    StatementEvent,
    StatementGeneration,
    StatementVersion,
    Territory,
    TerritoryLayer,
)
from db.models.statement import LINE_FLAGS

# First key of the two-int advisory lock space used for generation leases (the second is the contract).
GENERATION_LOCK_SPACE = 0x7467  # "tg"


class KeyTaken(Exception):
    """An idempotency key is already bound to a completed request."""


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement with its current version."""

    statement: BillingStatement
    current: StatementVersion


@dataclass(frozen=True, slots=True)
class StatementQuery:
    site_number: str | None = None
    service_period_start: dt.date | None = None
    statuses: tuple[str, ...] = ()  # of the current version
    territory: tuple[str, str] | None = None
    current_only: bool = False  # §3.5 "current statements": not Sent, or created this calendar month


def is_current(version: Any) -> ColumnElement[bool]:
    """`version` (a `StatementVersion` alias) is its statement's current version."""
    newer = aliased(StatementVersion)
    return and_(
        version.superseded.is_(False),
        ~exists().where(
            newer.statement_id == version.statement_id,
            newer.superseded.is_(False),
            newer.version > version.version,
        ),
    )


def statement_conditions(q: StatementQuery, today: dt.date, current: Any) -> list[ColumnElement[bool]]:
    s = BillingStatement
    conditions: list[ColumnElement[bool]] = []
    if q.site_number is not None:
        conditions.append(
            s.site_id
            == select(CustomerSite.id).where(CustomerSite.site_number == q.site_number).scalar_subquery()
        )
    if q.service_period_start is not None:
        conditions.append(s.service_period_start == q.service_period_start)
    if q.statuses:
        conditions.append(current.status.in_(q.statuses))
    if q.territory is not None:
        layer, code = q.territory
        conditions.append(
            exists()
            .where(SiteTerritoryAssignment.site_id == s.site_id, SiteTerritoryAssignment.valid_to.is_(None))
            .where(Territory.id == SiteTerritoryAssignment.territory_id, Territory.code == code)
            .where(TerritoryLayer.id == Territory.layer_id, TerritoryLayer.code == layer)
        )
    if q.current_only:
        month_start = dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC)
        conditions.append((current.status != "SENT") | (current.created_at >= month_start))
    return conditions


async def find_statements(
    session: AsyncSession, *, query: StatementQuery, today: dt.date, offset: int, limit: int
) -> list[StatementView]:
    """Statements with their current versions, newest service period first, then site number."""
    current = aliased(StatementVersion)
    statement = (
        select(BillingStatement, current)
        .join(current, and_(current.statement_id == BillingStatement.id, is_current(current)))
        .join(CustomerSite, CustomerSite.id == BillingStatement.site_id)
        .where(and_(True, *statement_conditions(query, today, current)))
        .order_by(BillingStatement.service_period_start.desc(), CustomerSite.site_number)
        .offset(offset)
        .limit(limit)
    )
    return [StatementView(s, v) for s, v in (await session.execute(statement)).all()]


async def count_statements(session: AsyncSession, *, query: StatementQuery, today: dt.date) -> int:
    current = aliased(StatementVersion)
    statement = (
        select(func.count())
        .select_from(BillingStatement)
        .join(current, and_(current.statement_id == BillingStatement.id, is_current(current)))
        .where(and_(True, *statement_conditions(query, today, current)))
    )
    return int((await session.execute(statement)).scalar_one())


async def statements_by_id(
    session: AsyncSession, *, statement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StatementView]:
    """Statements by stable id, each with its current version; unknown ids are absent."""
    current = aliased(StatementVersion)
    rows = await session.execute(
        select(BillingStatement, current)
        .join(current, and_(current.statement_id == BillingStatement.id, is_current(current)))
        .where(BillingStatement.id.in_(statement_ids))
    )
    return {s.id: StatementView(s, v) for s, v in rows.all()}


async def versions_by_id(
    session: AsyncSession, *, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StatementVersion]:
    rows = await session.execute(select(StatementVersion).where(StatementVersion.id.in_(version_ids)))
    return {row.id: row for row in rows.scalars()}


async def _children(
    session: AsyncSession, model: Any, parent: Any, parent_ids: Sequence[uuid.UUID], *order: Any
) -> dict[uuid.UUID, list[Any]]:
    """Rows of `model` whose `parent` column is in `parent_ids`, grouped by parent, in `order`: one statement."""
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    rows = await session.execute(select(model).where(parent.in_(parent_ids)).order_by(*order))
    for row in rows.scalars():
        out[getattr(row, parent.key)].append(row)
    return out


async def versions_of(
    session: AsyncSession, *, statement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StatementVersion]]:
    """Every version of each statement, superseded revisions included, by (version, revision)."""
    v = StatementVersion
    return await _children(session, v, v.statement_id, statement_ids, v.version, v.revision)


async def invoices_of(
    session: AsyncSession, *, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Invoice]]:
    return await _children(session, Invoice, Invoice.statement_version_id, version_ids, Invoice.group_number)


async def invoices_by_id(
    session: AsyncSession, *, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Invoice]:
    rows = await session.execute(select(Invoice).where(Invoice.id.in_(invoice_ids)))
    return {row.id: row for row in rows.scalars()}


async def lines_of(
    session: AsyncSession, *, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[InvoiceLine]]:
    return await _children(session, InvoiceLine, InvoiceLine.invoice_id, invoice_ids, InvoiceLine.position)


async def events_of(
    session: AsyncSession, *, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StatementEvent]]:
    e = StatementEvent
    return await _children(session, e, e.statement_version_id, version_ids, e.id)


# --------------------------------------------------------------------------------------------- generation


async def site_and_contract(
    session: AsyncSession, *, site_number: str
) -> tuple[CustomerSite, Contract | None] | None:
    """The site with this 4-digit number and its contract (None when it has none); None for no site."""
    row = (
        await session.execute(
            select(CustomerSite, Contract)
            .outerjoin(Contract, Contract.site_id == CustomerSite.id)
            .where(CustomerSite.site_number == site_number)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def site_of_statement(session: AsyncSession, *, statement_id: uuid.UUID) -> CustomerSite:
    return (
        await session.execute(
            select(CustomerSite)
            .join(BillingStatement, BillingStatement.site_id == CustomerSite.id)
            .where(BillingStatement.id == statement_id)
        )
    ).scalar_one()


async def try_lock_contract(session: AsyncSession, *, contract_id: uuid.UUID) -> bool:
    """Take the generation lease of a contract for this transaction; False when another holds it.

    A transaction-scoped advisory lock: PostgreSQL releases it at commit, rollback, or when the connection
    dies, so a generation cut by a fault never blocks the next one (§3.1 "one task per contract").
    """
    return bool(
        (
            await session.execute(
                select(
                    func.pg_try_advisory_xact_lock(
                        literal(GENERATION_LOCK_SPACE), func.hashtext(literal(str(contract_id)))
                    )
                )
            )
        ).scalar_one()
    )


async def generation_by_key(
    session: AsyncSession, *, key: str, requested_by: str
) -> StatementGeneration | None:
    """The request `requested_by` sent with `key` (keys are the caller's own: another's is not found)."""
    return (
        await session.execute(
            select(StatementGeneration).where(
                StatementGeneration.requested_by == requested_by, StatementGeneration.idempotency_key == key
            )
        )
    ).scalar_one_or_none()


async def record_generation(
    session: AsyncSession,
    *,
    contract_id: uuid.UUID,
    site_id: uuid.UUID,
    service_period_start: dt.date,
    source: str,
    key: str | None,
    requested_by: str,
    fingerprint: str,
    batch_id: uuid.UUID | None,
    statement_id: uuid.UUID | None,
    version_id: uuid.UUID | None,
    error: str | None,
) -> None:
    """Store the outcome of a generation request (COMPLETED with its version, or FAILED with the reason).

    A FAILED request may be retried under its key: the retry's outcome replaces the row of that key. Raises
    `KeyTaken` when the key already belongs to a completed request (a concurrent one that committed first):
    the caller's transaction must not commit.
    """
    values = {
        "contract_id": contract_id,
        "site_id": site_id,
        "service_period_start": service_period_start,
        "status": "FAILED" if error else "COMPLETED",
        "source": source,
        "idempotency_key": key,
        "requested_by": requested_by,
        "fingerprint": fingerprint,
        "batch_id": batch_id,
        "statement_id": statement_id,
        "version_id": version_id,
        "error": error,
        "finished_at": func.now(),
    }
    statement = insert(StatementGeneration).values(id=uuid.uuid4(), **values)
    if key is not None:
        statement = statement.on_conflict_do_update(
            index_elements=[StatementGeneration.requested_by, StatementGeneration.idempotency_key],
            set_={
                name: statement.excluded[name]
                for name in values
                if name not in ("idempotency_key", "requested_by")
            }
            | {"requested_at": func.now()},
            where=StatementGeneration.status == "FAILED",
        )
    if (await session.execute(statement.returning(StatementGeneration.id))).first() is None:
        raise KeyTaken(key)


async def bind_batch_key(
    session: AsyncSession, *, key: str | None, requested_by: str, fingerprint: str
) -> tuple[uuid.UUID, str]:
    """The batch of a bulk request: a new row, or for a known key the first row and the fingerprint it was
    first sent with (the caller compares)."""
    inserted = (
        await session.execute(
            insert(GenerationBatch)
            .values(id=uuid.uuid4(), idempotency_key=key, requested_by=requested_by, fingerprint=fingerprint)
            .on_conflict_do_nothing(
                index_elements=[GenerationBatch.requested_by, GenerationBatch.idempotency_key]
            )
            .returning(GenerationBatch.id)
        )
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted, fingerprint
    row = (
        await session.execute(
            select(GenerationBatch.id, GenerationBatch.fingerprint).where(
                GenerationBatch.requested_by == requested_by, GenerationBatch.idempotency_key == key
            )
        )
    ).one()
    return row[0], row[1]


async def lock_statement(
    session: AsyncSession, *, site_id: uuid.UUID, contract_id: uuid.UUID, period: billing.ServicePeriod
) -> BillingStatement:
    """The statement of (site, period), created when missing, locked `FOR UPDATE` for this transaction."""
    await session.execute(
        insert(BillingStatement)
        .values(
            id=uuid.uuid4(),
            site_id=site_id,
            contract_id=contract_id,
            service_period_start=period.start,
            service_period_end=period.end,
        )
        .on_conflict_do_nothing(
            index_elements=[BillingStatement.site_id, BillingStatement.service_period_start]
        )
    )
    return (
        await session.execute(
            select(BillingStatement)
            .where(BillingStatement.site_id == site_id, BillingStatement.service_period_start == period.start)
            .with_for_update()
        )
    ).scalar_one()


async def lock_statement_by_id(session: AsyncSession, *, statement_id: uuid.UUID) -> BillingStatement | None:
    return (
        await session.execute(
            select(BillingStatement).where(BillingStatement.id == statement_id).with_for_update()
        )
    ).scalar_one_or_none()


async def lock_open_versions(session: AsyncSession, *, statement_id: uuid.UUID) -> list[StatementVersion]:
    """The versions not superseded, ascending, locked `FOR UPDATE` (what a replacement reads, §3.3)."""
    return list(
        (
            await session.execute(
                select(StatementVersion)
                .where(StatementVersion.statement_id == statement_id, StatementVersion.superseded.is_(False))
                .order_by(StatementVersion.version)
                .with_for_update()
            )
        ).scalars()
    )


async def lock_version(session: AsyncSession, *, version_id: uuid.UUID) -> StatementVersion | None:
    return (
        await session.execute(
            select(StatementVersion).where(StatementVersion.id == version_id).with_for_update()
        )
    ).scalar_one_or_none()


async def current_version_id(session: AsyncSession, *, statement_id: uuid.UUID) -> uuid.UUID:
    v = aliased(StatementVersion)
    return (
        await session.execute(select(v.id).where(v.statement_id == statement_id, is_current(v)))
    ).scalar_one()


async def adhoc_lines_of(session: AsyncSession, *, version_id: uuid.UUID) -> list[tuple[InvoiceLine, int]]:
    """The ad-hoc lines of a version with their invoice group, in invoice and line order."""
    rows = await session.execute(
        select(InvoiceLine, Invoice.group_number)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.statement_version_id == version_id, InvoiceLine.is_adhoc.is_(True))
        .order_by(Invoice.group_number, InvoiceLine.position)
    )
    return [(line, group) for line, group in rows.all()]


async def supersede(session: AsyncSession, *, version: StatementVersion) -> int:
    """Mark an unsent version replaced (its invoices follow through their foreign key); returns the
    revision number its replacement takes."""
    await session.execute(
        update(StatementVersion)
        .where(StatementVersion.id == version.id)
        .values(superseded=True, superseded_at=func.now(), updated_at=func.now())
    )
    # the open version of a number is its latest revision: earlier ones were superseded before it
    return version.revision + 1


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """An engine invoice with the parts the engine does not know (vendor, site number after override)."""

    invoice: billing.Invoice
    vendor_id: str | None
    site_number: str
    monthly_profit: Decimal | None


def line_row(invoice_id: uuid.UUID, position: int, line: billing.InvoiceLine) -> InvoiceLine:
    """The stored row of an engine line; a carried-over ad-hoc line remembers the line it copies."""
    details = billing.lines.line_details(line)
    if line.line_item_id:
        # the earlier (Sent or superseded) version keeps its line; the copy is a new row that remembers it
        details["carried_from_line_id"] = line.line_item_id
    return InvoiceLine(
        id=uuid.uuid4(),
        invoice_id=invoice_id,
        position=position,
        building_block=line.building_block.name if line.building_block else None,
        adhoc_type=line.adhoc_type.name if line.adhoc_type else None,
        title=line.title,
        description=line.description,
        code=line.code,
        amount=line.amount,
        explanation=line.explanation,
        monthly_profit=line.monthly_profit,
        taxes_paid=line.taxes_paid,
        details=details,
        **{flag: bool(getattr(line, flag)) for flag in LINE_FLAGS},
    )


async def add_version(
    session: AsyncSession,
    *,
    statement_id: uuid.UUID,
    version: int,
    revision: int,
    status: str,
    billing_type: str,
    rate_selection_date: dt.date,
    purchase_order: str | None,
    forecast_data: dict[str, Any],
    warnings: Sequence[str],
    created_by: str | None,
    events: Sequence[tuple[str | None, str, str]],
    invoices: Sequence[InvoiceRecord],
) -> uuid.UUID:
    """Insert a version with its events (from, to, note), invoices and lines; returns the version id."""
    row = StatementVersion(
        id=uuid.uuid4(),
        statement_id=statement_id,
        version=version,
        revision=revision,
        status=status,
        billing_type=billing_type,
        rate_selection_date=rate_selection_date,
        purchase_order=purchase_order,
        forecast_data=forecast_data,
        warnings=list(warnings),
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    session.add_all(
        StatementEvent(statement_version_id=row.id, from_status=f, to_status=t, note=n, actor=created_by)
        for f, t, n in events
    )
    invoice_rows = [
        Invoice(
            id=uuid.uuid4(),
            statement_version_id=row.id,
            group_number=r.invoice.group_number,
            invoice_number=r.invoice.invoice_number,
            invoice_date=r.invoice.invoice_date,
            amount=r.invoice.amount,
            title=r.invoice.title,
            description=r.invoice.description,
            payment_terms=r.invoice.payment_terms,
            purchase_order=r.invoice.purchase_order,
            vendor_id=r.vendor_id,
            site_number=r.site_number,
            monthly_profit=r.monthly_profit,
        )
        for r in invoices
    ]
    session.add_all(invoice_rows)
    await session.flush()
    session.add_all(
        line_row(invoice_row.id, position, line)
        for invoice_row, r in zip(invoice_rows, invoices, strict=True)
        for position, line in enumerate(r.invoice.lines, 1)
    )
    await session.flush()
    return row.id


async def add_event(
    session: AsyncSession,
    *,
    version: StatementVersion,
    to_status: str,
    note: str,
    actor: str | None,
) -> None:
    """Move a (locked) version to `to_status` and record the event; Sent stamps `sent_at`."""
    session.add(
        StatementEvent(
            statement_version_id=version.id,
            from_status=version.status,
            to_status=to_status,
            note=note,
            actor=actor,
        )
    )
    version.status = to_status
    if to_status == "SENT":
        version.sent_at = dt.datetime.now(dt.UTC)
    await session.flush()


@dataclass(frozen=True, slots=True)
class ForecastInputs:
    """What the forecast comparison and the initial status read for a site and service month (§3.5–§3.6)."""

    balances: list[tuple[str, str, Decimal]]  # (main account, entity, balance) of ACCOUNT_SUMMARY
    forecast: Decimal | None  # internal-revenue forecast, credit-signed as stored
    has_ready_for_invoice_comment: bool


async def forecast_inputs(session: AsyncSession, *, site_id: uuid.UUID, yyyymm: str) -> ForecastInputs:
    balances = (
        await session.execute(
            select(LedgerBalance.main_account, LedgerBalance.entity, LedgerBalance.balance).where(
                LedgerBalance.site_id == site_id, LedgerBalance.period == yyyymm
            )
        )
    ).all()
    forecast = (
        await session.execute(
            select(ForecastInternalRevenue.amount).where(
                ForecastInternalRevenue.site_id == site_id, ForecastInternalRevenue.period == yyyymm
            )
        )
    ).scalar_one_or_none()
    # the legacy engine reads the comment of `now − 1 month`: the service month of an on-time Arrears run
    comment = (
        await session.execute(
            select(
                exists().where(
                    ReadyForInvoiceComment.site_id == site_id, ReadyForInvoiceComment.period == yyyymm
                )
            )
        )
    ).scalar_one()
    return ForecastInputs([(a, e, b) for a, e, b in balances], forecast, bool(comment))


async def deviation_thresholds(
    session: AsyncSession, *, statement_id: uuid.UUID
) -> tuple[Decimal | None, Decimal | None]:
    """(deviation amount, deviation percentage) of the statement's contract (§3.6)."""
    row = (
        await session.execute(
            select(Contract.deviation_amount, Contract.deviation_percentage)
            .join(BillingStatement, BillingStatement.contract_id == Contract.id)
            .where(BillingStatement.id == statement_id)
        )
    ).one()
    return row[0], row[1]


# ------------------------------------------------------------------------------------------------ ad hoc


async def lock_invoice(session: AsyncSession, *, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice locked `FOR UPDATE` and read afresh (its amount as committed, not as first loaded).
    Lock its version first: writers lock versions, then their invoices."""
    return (
        await session.execute(
            select(Invoice)
            .where(Invoice.id == invoice_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def resolve_any_id(
    session: AsyncSession, *, any_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(statement id, version id) of the id of a statement (version None) or of a version; None if neither."""
    row = (
        await session.execute(
            select(BillingStatement.id, literal(None, type_=Uuid))
            .where(BillingStatement.id == any_id)
            .union_all(
                select(StatementVersion.statement_id, StatementVersion.id).where(
                    StatementVersion.id == any_id
                )
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def add_line(
    session: AsyncSession, *, invoice: Invoice, line: billing.InvoiceLine, added_by: str | None = None
) -> uuid.UUID:
    """Append an engine line to a stored invoice (after its last position); returns the line id.
    `added_by`: the subject of whoever entered it (ad-hoc lines)."""
    position = (
        await session.execute(
            select(func.coalesce(func.max(InvoiceLine.position), 0)).where(
                InvoiceLine.invoice_id == invoice.id
            )
        )
    ).scalar_one()
    row = line_row(invoice.id, int(position) + 1, line)
    row.added_by = added_by
    session.add(row)
    await session.flush()
    return row.id


async def line_of_invoice(
    session: AsyncSession, *, invoice_id: uuid.UUID, line_id: uuid.UUID
) -> InvoiceLine | None:
    return (
        await session.execute(
            select(InvoiceLine).where(InvoiceLine.id == line_id, InvoiceLine.invoice_id == invoice_id)
        )
    ).scalar_one_or_none()


async def delete_line(session: AsyncSession, *, line: InvoiceLine) -> None:
    await session.delete(line)
    await session.flush()


async def refresh_invoice_amount(session: AsyncSession, *, invoice: Invoice) -> None:
    """§3.4: after an ad-hoc edit the invoice amount is Σ all its lines."""
    invoice.amount = (
        await session.execute(
            select(func.coalesce(func.sum(InvoiceLine.amount), 0)).where(InvoiceLine.invoice_id == invoice.id)
        )
    ).scalar_one()
    await session.flush()


async def gl_inputs(
    session: AsyncSession, *, version_id: uuid.UUID
) -> tuple[CustomerSite, BillingStatement, list[Invoice], list[InvoiceLine]]:
    """Site, statement, invoices (by group) and lines (by position) of a version, for its GL journal."""
    statement, site = (
        await session.execute(
            select(BillingStatement, CustomerSite)
            .join(StatementVersion, StatementVersion.statement_id == BillingStatement.id)
            .join(CustomerSite, CustomerSite.id == BillingStatement.site_id)
            .where(StatementVersion.id == version_id)
        )
    ).one()
    invoices = (await invoices_of(session, version_ids=[version_id])).get(version_id, [])
    lines = await lines_of(session, invoice_ids=[i.id for i in invoices])
    return site, statement, invoices, [line for i in invoices for line in lines.get(i.id, [])]
