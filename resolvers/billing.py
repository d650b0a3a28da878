"""Billing figures on demand: contract rows → `billing.ContractConfig` → `billing.preview` (nothing persisted).

`load_billables` + `compute_previews` are the set-based path shared by the site preview, the portfolio preview,
statement generation and `bench/billing.py`: a fixed number of SQL statements whatever the number of sites.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from billing import (
    BillingPreview,
    BillingType,
    BuildingBlock,
    ContractConfig,
    RateSelection,
    ServicePeriod,
    earliest_fact_date,
    fact_needs,
    preview,
    rate_selection_date,
)
from billing.lines import AdhocLine
from db.models import Contract, CustomerSite
from db.repositories import contracts as contract_repo
from db.repositories.contracts import ContractConfiguration
from db.repositories.facts import load_reduced_facts
from db.repositories.sites import SiteOrder, find_sites
from resolvers import validation
from resolvers.billing_gates import billable, check_billable
from resolvers.context import Context
from resolvers.contract_config import contract_config, header_for
from resolvers.sites import FilterInput, build_query

K = TypeVar("K")
V = TypeVar("V")

#: Longest stretch of engine work between two yields to the event loop, in seconds: other requests on the loop
#: keep their latency while a portfolio preview runs (issue 8). A request waiting on the database makes one
#: step (one round trip) per slice, so the slice is kept short; yielding costs some microseconds.
SLICE_SECONDS = 0.002


async def cooperatively(
    keys: Iterable[K], compute: Callable[[K], V], slice_seconds: float | None = None
) -> dict[K, V]:
    """`{key: compute(key)}`, yielding to the event loop (`asyncio.sleep(0)`) whenever a slice of
    `slice_seconds` (`SLICE_SECONDS` by default) has been spent computing since the last yield.

    The engine is CPU-bound and pure; computed in slices on the loop it needs no thread or process (no GIL
    contention, no pickling of configurations), and a request arriving meanwhile waits at most a slice per
    step. Slices are measured, not counted in sites, so a heavier site does not lengthen them."""
    limit = SLICE_SECONDS if slice_seconds is None else slice_seconds
    out: dict[K, V] = {}
    resumed = time.perf_counter()
    for key in keys:
        out[key] = compute(key)
        if time.perf_counter() - resumed >= limit:
            await asyncio.sleep(0)
            resumed = time.perf_counter()
    return out


def period_or_default(period: ServicePeriod | None, billing_type: BillingType, ctx: Context) -> ServicePeriod:
    """The given period, or the default period of the billing type (§3.2)."""
    return period or ServicePeriod.default_for(billing_type, ctx.today)


@dataclass(frozen=True, slots=True)
class Billable:
    """A site with its contract and every configuration row; `config_for(period)` is the engine's view."""

    site: CustomerSite
    contract: Contract
    configuration: ContractConfiguration

    def header_for(self, period: ServicePeriod) -> Contract:
        """The contract header in force for the period (its edition, issue 10 §3): billing type, thresholds …"""
        return header_for(self.contract, self.configuration, period.start)

    def config_for(self, period: ServicePeriod) -> ContractConfig:
        """The period's edition (amendments approved for it, issue 10 §3), with the settings in force on the
        period's rate-selection date (§2.15) inside it."""
        billing_type = BillingType[self.header_for(period).billing_type]
        on = rate_selection_date(billing_type, period, RateSelection.NATURAL_GENERATION_DATE, None)
        return contract_config(self.site, self.contract, self.configuration, on=on, period_start=period.start)


async def load_billables(
    session: AsyncSession, *, site_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Billable]:
    """Sites with contracts and every configuration row: six statements whatever the number of sites."""
    rows = await contract_repo.sites_with_contracts(session, site_ids=site_ids)
    configurations = await contract_repo.configurations(session, contract_ids=[c.id for _, c in rows])
    return {site.id: Billable(site, contract, configurations[contract.id]) for site, contract in rows}


def facts_start(config: ContractConfig, period: ServicePeriod) -> dt.date:
    """First day of facts the engine reads for `period`: the month itself, or the accumulation start of an
    annual revenue share, claims cap or profit share (§2.4, §2.10), exactly as the engine computes it."""
    return earliest_fact_date(config, period)


async def compute_previews(
    session: AsyncSession,
    billables: Mapping[uuid.UUID, Billable],
    period: ServicePeriod,
    *,
    versions: Mapping[uuid.UUID, int] | None = None,
    adhoc: Mapping[uuid.UUID, Sequence[AdhocLine]] | None = None,
) -> dict[uuid.UUID, BillingPreview]:
    """Invoices of every billable site for `period`; facts fetched set-based (at most six statements), already
    reduced in SQL to what the engine reads (`load_reduced_facts`, `billing.fact_needs`)."""
    if not billables:
        return {}
    configs = await cooperatively(billables, lambda site_id: billables[site_id].config_for(period))
    facts = await load_reduced_facts(
        session, needs={site_id: fact_needs(configs[site_id], period) for site_id in billables}, period=period
    )
    return await cooperatively(
        billables,
        lambda site_id: preview(
            configs[site_id],
            period,
            facts[site_id],
            version=(versions or {}).get(site_id, 1),
            adhoc_lines=tuple((adhoc or {}).get(site_id, ())),
        ),
    )


def restrict(config: ContractConfig, blocks: Sequence[BuildingBlock] | None) -> ContractConfig:
    """The configuration with only `blocks` enabled (what-if previews); None keeps every block."""
    if blocks is None:
        return config
    return replace(config, building_blocks=config.building_blocks & frozenset(blocks))


async def billing_preview(
    ctx: Context,
    site: CustomerSite,
    service_period: str | None,
    building_blocks: Sequence[BuildingBlock] | None = None,
) -> BillingPreview | None:
    """Invoices and totals of the site for the period, computed now; None when the site has no contract.
    A period `billing_gates.check_billable` refuses raises its error (`SITE_CLOSED` after the site's close
    date; `CONTRACT_NOT_ACTIVE`, `CONTRACT_ENDED` by the contract's lifecycle)."""
    period_given = validation.optional_period(service_period)
    contract = await ctx.loaders.contract_by_site.load(site.id)
    if contract is None:
        return None
    period = period_or_default(period_given, BillingType[contract.billing_type], ctx)
    check_billable(site, contract, period)
    configuration = await ctx.loaders.configuration.load(contract.id)
    config = restrict(Billable(site, contract, configuration).config_for(period), building_blocks)
    facts = await ctx.loaders.facts.load((site.id, fact_needs(config, period), period))
    return preview(config, period, facts)


async def portfolio_previews(
    ctx: Context, *, raw: FilterInput | None, period: ServicePeriod, limit: int
) -> tuple[list[CustomerSite], dict[uuid.UUID, BillingPreview]]:
    """Sites matching the filter (by site number) and their previews: sites, contracts, configuration and
    facts each in a fixed number of statements (the portfolio view and `bench/billing.py`).

    A site whose period `billing_gates` refuses (closed before the period starts; a draft, archived or ended
    contract) is left out of the result, site and preview: it has nothing to bill for the period (so fewer than `limit` sites may come
    back). Its periods up to the close date are listed as any other site's."""
    query = await build_query(ctx, raw)
    async with ctx.db.read() as session:
        rows = await find_sites(session, query=query, order=SiteOrder.SITE_NUMBER, offset=0, limit=limit)
        billables = await load_billables(session, site_ids=[s.id for s, _ in rows])
        refused = {i for i, b in billables.items() if not billable(b.site, b.contract, period)}
        sites = [site for site, _ in rows if site.id not in refused]
        billables = {i: b for i, b in billables.items() if i not in refused}
        previews = await compute_previews(session, billables, period)
    return sites, previews
