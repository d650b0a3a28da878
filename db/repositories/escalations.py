"""Reads and writes of the daily escalation job (domain.md §2.14): the stored rates it escalates and the dated
rows it writes. Reads are set-based: one statement per table for all the contracts of a run."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Contract, ContractComponent, CustomerSite, FixedFeeService, LaborHourJob

ESCALATED_BLOCKS = ("MANAGEMENT_AGREEMENT", "BILLABLE_ACCOUNTS")


@dataclass
class EscalationInputs:
    """A contract with the rows the job may escalate."""

    contract: Contract
    site_number: str
    fees: list[FixedFeeService] = field(default_factory=list)
    jobs: list[LaborHourJob] = field(default_factory=list)
    components: list[ContractComponent] = field(default_factory=list)


async def escalation_inputs(
    session: AsyncSession, *, site_numbers: Sequence[str] | None = None
) -> list[EscalationInputs]:
    """Every contract (or those of `site_numbers`, 4 digits) by site number, with its fixed-fee rows,
    labor-hour job rows and management-agreement / billable-account setting versions: four statements."""
    # active contracts only, locked: the job replaces rows an approval could replace meanwhile (issue 10 §3)
    statement = (
        select(Contract, CustomerSite.site_number)
        .join(CustomerSite, CustomerSite.id == Contract.site_id)
        .where(Contract.status == "active")
        .with_for_update(of=Contract)
    )
    if site_numbers:
        statement = statement.where(CustomerSite.site_number.in_(site_numbers))
    inputs = [
        EscalationInputs(contract, number)
        for contract, number in (await session.execute(statement.order_by(CustomerSite.site_number))).all()
    ]
    by_contract = {i.contract.id: i for i in inputs}
    ids = list(by_contract)
    for fee in (
        await session.execute(
            select(FixedFeeService).where(
                FixedFeeService.contract_id.in_(ids), FixedFeeService.to_period.is_(None)
            )
        )
    ).scalars():
        by_contract[fee.contract_id].fees.append(fee)
    for job in (
        await session.execute(
            select(LaborHourJob).where(LaborHourJob.contract_id.in_(ids), LaborHourJob.to_period.is_(None))
        )
    ).scalars():
        by_contract[job.contract_id].jobs.append(job)
    components = await session.execute(
        select(ContractComponent).where(
            ContractComponent.contract_id.in_(ids),
            ContractComponent.building_block.in_(ESCALATED_BLOCKS),
            # the open edition: amendments' closed editions are history (migration 0011)
            ContractComponent.to_period.is_(None),
        )
    )
    for component in components.scalars():
        by_contract[component.contract_id].components.append(component)
    return inputs


async def close_and_copy_rate(
    session: AsyncSession,
    *,
    row: FixedFeeService | LaborHourJob,
    ends: dt.date | None,
    values: dict[str, Any],
    starts: dt.date | None,
) -> FixedFeeService | LaborHourJob:
    """End a dated rate row on `ends` and add its copy with `values` from `starts`, open-ended; the copy."""
    row.end_date = ends
    copy = {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}
    copy.update(values, start_date=starts, end_date=None)
    new = type(row)(id=uuid.uuid4(), **copy)
    session.add(new)
    await session.flush()
    return new


async def close_and_copy_settings(
    session: AsyncSession, *, component: ContractComponent, settings: dict[str, Any], starts: dt.date
) -> ContractComponent:
    """End a settings version the day before `starts` and add the new version from `starts`; the new one."""
    new = ContractComponent(
        id=uuid.uuid4(),
        contract_id=component.contract_id,
        building_block=component.building_block,
        invoice_group=component.invoice_group,
        settings=settings,
        valid_from=starts,
        valid_to=component.valid_to,
        from_period=component.from_period,
        to_period=component.to_period,
    )
    session.add(new)
    await session.execute(
        update(ContractComponent)
        .where(ContractComponent.id == component.id)
        .values(valid_to=starts - dt.timedelta(days=1))
    )
    await session.flush()
    return new
