"""Amendments and configuration editions (issue 10 §3, migration 0011): the SQL of proposing, deciding and
applying a contract amendment.

An approved amendment from service period P replaces, for every part it names (the header's columns, a
configuration table, a single-row block), the open edition's rows: rows in force before P are closed at
P − 1 month (`to_period`), open rows that start at P are deleted (an amendment from the same period replaces
the one before it whole; the replaced rows stay in that amendment's `changes` and in the audit trail), and the
new rows start at P. The caller holds the contract row's lock (`lock_contract`) for the whole unit of work.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Numeric, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Contract,
    ContractAmendment,
    ContractComponent,
    ContractHeaderHistory,
    CustomerSite,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
)

# the amendable columns of the contract row (domain.md §1.3), in the canonical changes' "header"
HEADER_COLUMNS = (
    "billing_type",
    "building_blocks",
    "increment_percentage",
    "increment_month",
    "consumer_price_index",
    "deviation_amount",
    "deviation_percentage",
    "payment_terms",
    "purchase_order",
    "notes",
    "accounts_payable",
    "deposits",
    "hours_backup_report",
    "supporting_reports",
    "occupied_room_rate",
    "occupied_room_code",
    "occupied_room_invoice_group",
)
# the term and lifecycle columns lifecycle amendments write
TERM_COLUMNS = ("status", "term_start", "term_end", "auto_renew_months", "notice_days", "terminated_on")
# canonical list keys → their tables
TABLES: dict[str, Any] = {
    "invoice_groups": InvoiceGroup,
    "fixed_fee_services": FixedFeeService,
    "labor_hour_jobs": LaborHourJob,
    "revenue_share_thresholds": RevenueShareThreshold,
}
_ROW_ORDER: dict[str, tuple[str, ...]] = {
    "invoice_groups": ("group_number",),
    "fixed_fee_services": ("start_date", "display_name"),
    "labor_hour_jobs": ("start_date", "job_code"),
    "revenue_share_thresholds": ("position",),
}
_NOT_COPIED = frozenset({"id", "contract_id", "from_period", "to_period", "amendment_id"})


def previous_month(first_day: dt.date) -> dt.date:
    """The first day of the month before `first_day`'s."""
    return (first_day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _value(model: Any, column: str, value: Any) -> Any:
    """A canonical JSON value as the column's Python value (decimal strings → Decimal, ISO → date)."""
    if value is None:
        return None
    kind = model.__table__.c[column].type
    if isinstance(kind, Numeric) and not isinstance(value, Decimal):
        return Decimal(str(value))
    if isinstance(kind, Date) and not isinstance(value, dt.date):
        return dt.date.fromisoformat(str(value))
    return value


def row_json(row: Any) -> dict[str, Any]:
    """A configuration row in canonical form (database column names; decimals as strings, dates ISO)."""
    return {c.key: _json(getattr(row, c.key)) for c in row.__table__.columns if c.key not in _NOT_COPIED}


def header_json(contract: Contract) -> dict[str, Any]:
    """The contract row's amendable header in canonical form."""
    return {column: _json(getattr(contract, column)) for column in HEADER_COLUMNS}


def with_header(contract: Contract, header: Mapping[str, Any]) -> Contract:
    """A transient copy of `contract` with `header`'s values (a closed edition's header)."""
    values = {c.key: getattr(contract, c.key) for c in Contract.__table__.columns}
    values.update({k: _value(Contract, k, v) for k, v in header.items() if k in HEADER_COLUMNS})
    return Contract(**values)


async def contract_of_site(
    session: AsyncSession, *, site_number: str, for_update: bool = False
) -> tuple[CustomerSite, Contract] | None:
    """The site with this number (4 digits) and its contract, the contract row locked when `for_update`."""
    statement = (
        select(CustomerSite, Contract)
        .join(Contract, Contract.site_id == CustomerSite.id)
        .where(CustomerSite.site_number == site_number)
    )
    if for_update:
        statement = statement.with_for_update(of=Contract)
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row is not None else None


async def lock_contract(session: AsyncSession, *, contract_id: uuid.UUID) -> tuple[CustomerSite, Contract]:
    """The contract row locked (`FOR UPDATE`), with its site; the lock orders every amendment write."""
    row = (
        await session.execute(
            select(CustomerSite, Contract)
            .join(Contract, Contract.site_id == CustomerSite.id)
            .where(Contract.id == contract_id)
            .with_for_update(of=Contract)
            .execution_options(populate_existing=True)
        )
    ).one()
    return row[0], row[1]


async def open_edition(session: AsyncSession, *, contract: Contract) -> dict[str, Any]:
    """The contract's open configuration (rows with no `to_period`) as the full canonical dict."""
    full: dict[str, Any] = {"header": header_json(contract)}
    for key, model in TABLES.items():
        rows = await session.execute(
            select(model)
            .where(model.contract_id == contract.id, model.to_period.is_(None))
            .order_by(*(getattr(model, c) for c in _ROW_ORDER[key]), model.id)
        )
        full[key] = [row_json(r) for r in rows.scalars()]
    components = await session.execute(
        select(ContractComponent)
        .where(ContractComponent.contract_id == contract.id, ContractComponent.to_period.is_(None))
        .order_by(ContractComponent.building_block, ContractComponent.valid_from.desc().nulls_last())
    )
    full["components"] = {}
    for component in components.scalars():
        # the version in force now (open-ended) stands for the block; escalated versions are dated inside it
        if component.valid_to is None or component.building_block not in full["components"]:
            full["components"][component.building_block] = {
                "invoice_group": component.invoice_group,
                "settings": dict(component.settings),
            }
    return full


async def add_amendment(
    session: AsyncSession,
    *,
    contract: Contract,
    kind: str,
    changes: Mapping[str, Any],
    summary: str,
    first_service_period: dt.date | None,
    proposed_by: str,
    reason: str | None = None,
    source: str = "api",
) -> ContractAmendment:
    """A new proposed amendment of the locked contract, numbered after the contract's last one."""
    number = await session.scalar(
        select(func.coalesce(func.max(ContractAmendment.number), 0) + 1).where(
            ContractAmendment.contract_id == contract.id
        )
    )
    amendment = ContractAmendment(
        id=uuid.uuid4(),
        contract_id=contract.id,
        number=int(number or 1),
        kind=kind,
        first_service_period=first_service_period,
        changes=dict(changes),
        summary=summary,
        reason=reason,
        source=source,
        base_edition=contract.edition,
        proposed_by=proposed_by,
    )
    session.add(amendment)
    await session.flush()
    return amendment


async def amendment_for_update(session: AsyncSession, *, amendment_id: uuid.UUID) -> ContractAmendment | None:
    """The amendment row, locked (taken after its contract's lock: lock order contract → amendment)."""
    return (
        await session.execute(
            select(ContractAmendment)
            .where(ContractAmendment.id == amendment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def contract_id_of_amendment(session: AsyncSession, *, amendment_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(ContractAmendment.contract_id).where(ContractAmendment.id == amendment_id)
    )


async def approved_since(
    session: AsyncSession, *, contract_id: uuid.UUID, edition: int
) -> list[ContractAmendment]:
    """Amendments of the contract approved after `edition` (what a pending amendment did not see)."""
    rows = await session.execute(
        select(ContractAmendment)
        .where(
            ContractAmendment.contract_id == contract_id,
            ContractAmendment.status == "approved",
            ContractAmendment.approved_edition > edition,
        )
        .order_by(ContractAmendment.approved_edition)
    )
    return list(rows.scalars())


async def approved_from_later_periods(
    session: AsyncSession, *, contract_id: uuid.UUID, period: dt.date
) -> list[ContractAmendment]:
    """Approved amendments of the contract whose first service period is after `period`."""
    rows = await session.execute(
        select(ContractAmendment).where(
            ContractAmendment.contract_id == contract_id,
            ContractAmendment.status == "approved",
            ContractAmendment.first_service_period > period,
        )
    )
    return list(rows.scalars())


async def _close_rows(
    session: AsyncSession, model: Any, *, contract_id: uuid.UUID, period: dt.date, extra: Sequence[Any] = ()
) -> None:
    """End the open rows before `period`; delete open rows that begin at it or later (replaced whole)."""
    open_rows = [model.contract_id == contract_id, model.to_period.is_(None), *extra]
    await session.execute(
        delete(model).where(*open_rows, model.from_period.is_not(None), model.from_period >= period)
    )
    await session.execute(
        update(model)
        .where(*open_rows, or_(model.from_period.is_(None), model.from_period < period))
        .values(to_period=previous_month(period))
    )


async def apply_configuration(
    session: AsyncSession,
    *,
    contract: Contract,
    changes: Mapping[str, Any],
    period: dt.date,
    amendment_id: uuid.UUID,
) -> None:
    """Write an approved configuration or header amendment's changes from `period` (first day of a month)."""
    for key, model in TABLES.items():
        if key not in changes:
            continue
        await _close_rows(session, model, contract_id=contract.id, period=period)
        for row in changes[key]:
            values = {c: _value(model, c, v) for c, v in row.items()}
            session.add(
                model(
                    id=uuid.uuid4(),
                    contract_id=contract.id,
                    from_period=period,
                    amendment_id=amendment_id,
                    **values,
                )
            )
    for block, component in (changes.get("components") or {}).items():
        await _close_rows(
            session,
            ContractComponent,
            contract_id=contract.id,
            period=period,
            extra=(ContractComponent.building_block == block,),
        )
        if component is not None:
            session.add(
                ContractComponent(
                    id=uuid.uuid4(),
                    contract_id=contract.id,
                    building_block=block,
                    invoice_group=component.get("invoice_group"),
                    settings=dict(component["settings"]),
                    from_period=period,
                    amendment_id=amendment_id,
                )
            )
    header = changes.get("header")
    if header:
        await _apply_header(
            session, contract=contract, header=header, period=period, amendment_id=amendment_id
        )
    await session.flush()


async def _apply_header(
    session: AsyncSession,
    *,
    contract: Contract,
    header: Mapping[str, Any],
    period: dt.date,
    amendment_id: uuid.UUID,
) -> None:
    current = contract.header_from_period
    if current is None or current < period:
        # the header in force until now becomes a closed edition
        session.add(
            ContractHeaderHistory(
                id=uuid.uuid4(),
                contract_id=contract.id,
                from_period=current,
                to_period=previous_month(period),
                header=header_json(contract),
                amendment_id=None,
            )
        )
    for column, value in header.items():
        setattr(contract, column, _value(Contract, column, value))
    contract.header_from_period = period


def mark_decided(amendment: ContractAmendment, *, status: str, actor: str, note: str | None = None) -> None:
    """Record the decision on the locked amendment, at the database's clock."""
    amendment.status = status
    amendment.decided_by = actor
    amendment.decided_at = func.now()
    amendment.decision_note = note


def set_term(contract: Contract, values: Mapping[str, Any]) -> None:
    """Write term and lifecycle columns of an approved lifecycle amendment on the locked contract."""
    for column, value in values.items():
        if column not in TERM_COLUMNS:
            raise ValueError(f"{column} is not a term column")
        setattr(contract, column, _value(Contract, column, value))


async def amendments_of(
    session: AsyncSession, *, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ContractAmendment]]:
    """Amendments of many contracts, newest first (one statement)."""
    out: dict[uuid.UUID, list[ContractAmendment]] = {i: [] for i in contract_ids}
    rows = await session.execute(
        select(ContractAmendment)
        .where(ContractAmendment.contract_id.in_(contract_ids))
        .order_by(ContractAmendment.contract_id, ContractAmendment.number.desc())
    )
    for amendment in rows.scalars():
        out[amendment.contract_id].append(amendment)
    return out


async def amendments_by_id(
    session: AsyncSession, *, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[ContractAmendment, str]]:
    """Amendments by id with their site number."""
    rows = await session.execute(
        select(ContractAmendment, CustomerSite.site_number)
        .join(Contract, Contract.id == ContractAmendment.contract_id)
        .join(CustomerSite, CustomerSite.id == Contract.site_id)
        .where(ContractAmendment.id.in_(ids))
    )
    return {a.id: (a, number) for a, number in rows.all()}


async def pending_amendments(
    session: AsyncSession, *, offset: int, limit: int, status: str | None = "proposed"
) -> tuple[list[tuple[ContractAmendment, str]], int]:
    """A page of amendments (oldest proposal first) with their site numbers, and the total count."""
    conditions = [] if status is None else [ContractAmendment.status == status]
    rows = await session.execute(
        select(ContractAmendment, CustomerSite.site_number)
        .join(Contract, Contract.id == ContractAmendment.contract_id)
        .join(CustomerSite, CustomerSite.id == Contract.site_id)
        .where(*conditions)
        .order_by(ContractAmendment.proposed_at, ContractAmendment.id)
        .offset(offset)
        .limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(ContractAmendment).where(*conditions))
    return [(a, n) for a, n in rows.all()], int(total or 0)


async def site_exists(session: AsyncSession, *, site_number: str) -> bool:
    return (
        await session.scalar(select(CustomerSite.id).where(CustomerSite.site_number == site_number))
        is not None
    )


async def contracts_ending(
    session: AsyncSession, *, horizon: dt.date, by_notice: bool, renewing: bool | None
) -> list[tuple[Contract, str]]:
    """Active contracts with a term end, whose notice deadline (`term_end − notice_days`, `by_notice`) or
    term end falls on or before `horizon`, with their site numbers, soonest first. `renewing` True: only
    auto-renewing ones, False: only those that expire, None: both."""
    when = Contract.term_end - func.coalesce(Contract.notice_days, 0) if by_notice else Contract.term_end
    conditions = [Contract.status == "active", Contract.term_end.is_not(None), when <= horizon]
    if renewing is True:
        conditions.append(Contract.auto_renew_months.is_not(None))
    elif renewing is False:
        conditions.append(Contract.auto_renew_months.is_(None))
    rows = await session.execute(
        select(Contract, CustomerSite.site_number)
        .join(CustomerSite, CustomerSite.id == Contract.site_id)
        .where(*conditions)
        .order_by(Contract.term_end, CustomerSite.site_number)
    )
    return [(c, n) for c, n in rows.all()]
