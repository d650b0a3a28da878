"""Contract and building-block configuration queries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Contract,
    ContractComponent,
    ContractHeaderHistory,
    CustomerSite,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
)


@dataclass
class ContractConfiguration:
    """Every configuration row of one contract."""

    invoice_groups: list[InvoiceGroup] = field(default_factory=list)
    fixed_fee_services: list[FixedFeeService] = field(default_factory=list)
    labor_hour_jobs: list[LaborHourJob] = field(default_factory=list)
    revenue_share_thresholds: list[RevenueShareThreshold] = field(default_factory=list)
    components: list[ContractComponent] = field(default_factory=list)
    # closed header editions (migration 0011), oldest first; the contract row holds the open one
    header_history: list[ContractHeaderHistory] = field(default_factory=list)


async def sites_with_contracts(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID]
) -> list[tuple[CustomerSite, Contract]]:
    """The given sites that have a contract, with it (sites without one are left out)."""
    rows = await session.execute(
        select(CustomerSite, Contract)
        .join(Contract, Contract.site_id == CustomerSite.id)
        .where(CustomerSite.id.in_(site_ids))
    )
    return [(site, contract) for site, contract in rows.all()]


async def contracts_by_site(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contract]:
    rows = await session.execute(select(Contract).where(Contract.site_id.in_(site_ids)))
    return {contract.site_id: contract for contract in rows.scalars()}


async def contracts_by_id(
    session: AsyncSession, *, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contract]:
    rows = await session.execute(select(Contract).where(Contract.id.in_(contract_ids)))
    return {contract.id: contract for contract in rows.scalars()}


async def configurations(
    session: AsyncSession, *, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ContractConfiguration]:
    """Configuration rows of every edition of many contracts: six statements whatever the number of contracts."""
    out: dict[uuid.UUID, ContractConfiguration] = defaultdict(ContractConfiguration)
    for contract_id in contract_ids:
        out[contract_id] = ContractConfiguration()
    tables: tuple[tuple[Any, str, tuple[Any, ...]], ...] = (
        (InvoiceGroup, "invoice_groups", (InvoiceGroup.group_number,)),
        (FixedFeeService, "fixed_fee_services", (FixedFeeService.start_date, FixedFeeService.display_name)),
        (LaborHourJob, "labor_hour_jobs", (LaborHourJob.start_date, LaborHourJob.job_code)),
        (RevenueShareThreshold, "revenue_share_thresholds", (RevenueShareThreshold.position,)),
        (ContractComponent, "components", (ContractComponent.building_block, ContractComponent.valid_from)),
        (ContractHeaderHistory, "header_history", (ContractHeaderHistory.to_period,)),
    )
    for model, attribute, order in tables:
        rows = await session.execute(
            # id last: rows equal on the order keys come in one stable order (the compiled reads agree)
            select(model)
            .where(model.contract_id.in_(contract_ids))
            .order_by(model.contract_id, *order, model.id)
        )
        for row in rows.scalars():
            getattr(out[row.contract_id], attribute).append(row)
    return dict(out)
