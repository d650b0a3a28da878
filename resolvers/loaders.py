"""Per-request DataLoaders: every nested list resolves in one batched statement per loader (no N+1).

Each batch opens its own `db.read()` session (design.md §4–§5). Loaders are created per request by
`Loaders(db)`; never share them across requests (they cache).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from billing import FactNeeds, PeriodFacts, ServicePeriod
from db.database import Door
from db.models import (
    Contract,
    ContractAmendment,
    CustomerSite,
    Invoice,
    InvoiceLine,
    SendAttempt,
    SendJob,
    StatementEvent,
    StatementVersion,
    TerritoryLayer,
)
from db.repositories import amendments as amendment_repo
from db.repositories import contracts as contract_repo
from db.repositories import periods as period_repo
from db.repositories import sending as sending_repo
from db.repositories import sites as site_repo
from db.repositories import statements as statement_repo
from db.repositories import territories as territory_repo
from db.repositories.contracts import ContractConfiguration
from db.repositories.facts import load_reduced_facts
from db.repositories.sites import AssignmentView
from db.repositories.statements import StatementView
from db.repositories.territories import TerritoryView

K = TypeVar("K")
V = TypeVar("V")


def _ordered(keys: Sequence[K], found: dict[K, V]) -> list[V | None]:
    return [found.get(key) for key in keys]


class Loaders:
    def __init__(self, db: Door) -> None:
        self.db = db
        self.site_by_id = DataLoader(self._sites_by_id)
        self.contract_by_site = DataLoader(self._contracts_by_site)
        self.contract_by_id = DataLoader(self._contracts_by_id)
        self.configuration = DataLoader(self._configurations)
        self.amendments = DataLoader(self._amendments)
        self.open_assignments = DataLoader(self._open_assignments)
        self.assignment_as_of = DataLoader(self._assignment_as_of)
        self.assignment_history = DataLoader(self._assignment_history)
        self.layer_by_id = DataLoader(self._layers_by_id)
        self.layer_by_code = DataLoader(self._layers_by_code)
        self.territory_by_id = DataLoader(self._territories_by_id)
        self.territory_as_of = DataLoader(self._territories_as_of)
        self.territories_of_layer = DataLoader(self._territories_of_layers)
        self.site_count = DataLoader(self._site_counts)
        self.geometry = DataLoader(self._geometries)
        self.facts = DataLoader(self._facts)
        self.statement_by_id = DataLoader(self._statements_by_id)
        self.version_by_id = DataLoader(self._versions_by_id)
        self.versions_of_statement = DataLoader(self._versions_of)
        self.invoices_of_version = DataLoader(self._invoices_of)
        self.invoice_by_id = DataLoader(self._invoices_by_id)
        self.lines_of_invoice = DataLoader(self._lines_of)
        self.events_of_version = DataLoader(self._events_of)
        self.territory_history = DataLoader(self._territory_history)
        self.period_closed = DataLoader(self._periods_closed)
        self.send_jobs_of_version = DataLoader(self._send_jobs_of)
        self.attempts_of_send_job = DataLoader(self._attempts_of)

    def forget_territories(self) -> None:
        """Drop cached layers, territories, geometries, counts, versions and assignments after a territory
        edit in this request."""
        for loader in (
            self.layer_by_id,
            self.layer_by_code,
            self.territory_by_id,
            self.territory_as_of,
            self.territories_of_layer,
            self.site_count,
            self.geometry,
            self.territory_history,
            self.open_assignments,
            self.assignment_as_of,
            self.assignment_history,
        ):
            loader.clear_all()

    async def _territory_history(self, keys: list[int]) -> list[list[territory_repo.VersionRow]]:
        async with self.db.read() as session:
            found = await territory_repo.history(session, territory_ids=keys)
        return [found.get(key, []) for key in keys]

    def forget_statements(self) -> None:
        """Drop cached statements, invoices, lines and events after a write in this request."""
        for loader in (
            self.statement_by_id,
            self.version_by_id,
            self.versions_of_statement,
            self.invoices_of_version,
            self.invoice_by_id,
            self.lines_of_invoice,
            self.events_of_version,
            self.period_closed,
            self.send_jobs_of_version,
            self.attempts_of_send_job,
        ):
            loader.clear_all()

    async def _facts(self, keys: list[tuple[uuid.UUID, FactNeeds, ServicePeriod]]) -> list[PeriodFacts]:
        # one load per service period and site needs in the batch (usually one per period): at most six statements
        # for all its sites; a site asked twice with other needs (what-if blocks) gets a load of its own
        loads: list[dict[uuid.UUID, FactNeeds]] = []
        periods: list[ServicePeriod] = []
        for site_id, needs, period in keys:
            load = next(
                (
                    m
                    for m, p in zip(loads, periods, strict=True)
                    if p == period and m.get(site_id, needs) == needs
                ),
                None,
            )
            if load is None:
                loads.append(load := {})
                periods.append(period)
            load[site_id] = needs
        found: dict[tuple[uuid.UUID, FactNeeds, ServicePeriod], PeriodFacts] = {}
        async with self.db.read() as session:
            for load, period in zip(loads, periods, strict=True):
                loaded = await load_reduced_facts(session, needs=load, period=period)
                found.update({(site_id, load[site_id], period): facts for site_id, facts in loaded.items()})
        return [found[key] for key in keys]

    async def _periods_closed(self, keys: list[dt.date]) -> list[bool]:
        """Whether each service period start is in a closed accounting period (issue 12 §3)."""
        async with self.db.read() as session:
            closed = await period_repo.closed_among(session, starts=keys)
        return [key in closed for key in keys]

    async def _statements_by_id(self, keys: list[uuid.UUID]) -> list[StatementView | None]:
        async with self.db.read() as session:
            return _ordered(keys, await statement_repo.statements_by_id(session, statement_ids=keys))

    async def _versions_by_id(self, keys: list[uuid.UUID]) -> list[StatementVersion | None]:
        async with self.db.read() as session:
            return _ordered(keys, await statement_repo.versions_by_id(session, version_ids=keys))

    async def _versions_of(self, keys: list[uuid.UUID]) -> list[list[StatementVersion]]:
        async with self.db.read() as session:
            found = await statement_repo.versions_of(session, statement_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _invoices_of(self, keys: list[uuid.UUID]) -> list[list[Invoice]]:
        async with self.db.read() as session:
            found = await statement_repo.invoices_of(session, version_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _invoices_by_id(self, keys: list[uuid.UUID]) -> list[Invoice | None]:
        async with self.db.read() as session:
            return _ordered(keys, await statement_repo.invoices_by_id(session, invoice_ids=keys))

    async def _lines_of(self, keys: list[uuid.UUID]) -> list[list[InvoiceLine]]:
        async with self.db.read() as session:
            found = await statement_repo.lines_of(session, invoice_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _events_of(self, keys: list[uuid.UUID]) -> list[list[StatementEvent]]:
        async with self.db.read() as session:
            found = await statement_repo.events_of(session, version_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _send_jobs_of(self, keys: list[uuid.UUID]) -> list[list[SendJob]]:
        async with self.db.read() as session:
            found = await sending_repo.jobs_of_versions(session, version_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _attempts_of(self, keys: list[uuid.UUID]) -> list[list[SendAttempt]]:
        async with self.db.read() as session:
            found = await sending_repo.attempts_of_jobs(session, job_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _sites_by_id(self, keys: list[uuid.UUID]) -> list[CustomerSite | None]:
        async with self.db.read() as session:
            return _ordered(keys, await site_repo.sites_by_id(session, site_ids=keys))

    async def _contracts_by_site(self, keys: list[uuid.UUID]) -> list[Contract | None]:
        async with self.db.read() as session:
            return _ordered(keys, await contract_repo.contracts_by_site(session, site_ids=keys))

    async def _contracts_by_id(self, keys: list[uuid.UUID]) -> list[Contract | None]:
        async with self.db.read() as session:
            return _ordered(keys, await contract_repo.contracts_by_id(session, contract_ids=keys))

    async def _configurations(self, keys: list[uuid.UUID]) -> list[ContractConfiguration]:
        async with self.db.read() as session:
            found = await contract_repo.configurations(session, contract_ids=keys)
        return [found.get(key) or ContractConfiguration() for key in keys]

    async def _amendments(self, keys: list[uuid.UUID]) -> list[list[ContractAmendment]]:
        async with self.db.read() as session:
            found = await amendment_repo.amendments_of(session, contract_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _open_assignments(self, keys: list[uuid.UUID]) -> list[list[AssignmentView]]:
        async with self.db.read() as session:
            rows = await site_repo.assignments_for_sites(session, site_ids=keys)
        grouped: dict[uuid.UUID, list[AssignmentView]] = defaultdict(list)
        for row in rows:
            grouped[row.site_id].append(row)
        return [grouped.get(key, []) for key in keys]

    async def _assignment_as_of(
        self, keys: list[tuple[uuid.UUID, str, dt.datetime | None]]
    ) -> list[AssignmentView | None]:
        # Batched by (layer, as-of): one statement per distinct pair in the batch, usually one.
        out: dict[tuple[uuid.UUID, str, dt.datetime | None], AssignmentView] = {}
        pairs: dict[tuple[str, dt.datetime | None], list[uuid.UUID]] = defaultdict(list)
        for site_id, layer_code, as_of in keys:
            pairs[(layer_code, as_of)].append(site_id)
        async with self.db.read() as session:
            for (layer_code, as_of), site_ids in pairs.items():
                rows = await site_repo.assignments_for_sites(
                    session, site_ids=site_ids, layer_code=layer_code, as_of=as_of
                )
                for row in rows:
                    out[(row.site_id, layer_code, as_of)] = row
        return [out.get(key) for key in keys]

    async def _assignment_history(self, keys: list[tuple[uuid.UUID, str]]) -> list[list[AssignmentView]]:
        by_layer: dict[str, list[uuid.UUID]] = defaultdict(list)
        for site_id, layer_code in keys:
            by_layer[layer_code].append(site_id)
        grouped: dict[tuple[uuid.UUID, str], list[AssignmentView]] = defaultdict(list)
        async with self.db.read() as session:
            for layer_code, site_ids in by_layer.items():
                for row in await site_repo.assignments_for_sites(
                    session, site_ids=site_ids, layer_code=layer_code, history=True
                ):
                    grouped[(row.site_id, layer_code)].append(row)
        return [grouped.get(key, []) for key in keys]

    async def _layers_by_id(self, keys: list[int]) -> list[TerritoryLayer | None]:
        async with self.db.read() as session:
            return _ordered(keys, await territory_repo.layers_by_id(session, layer_ids=keys))

    async def _layers_by_code(self, keys: list[str]) -> list[TerritoryLayer | None]:
        async with self.db.read() as session:
            return _ordered(keys, await territory_repo.layers_by_code(session, codes=keys))

    async def _territories_by_id(self, keys: list[int]) -> list[TerritoryView | None]:
        async with self.db.read() as session:
            return _ordered(keys, await territory_repo.territories_by_id(session, territory_ids=keys))

    async def _territories_as_of(self, keys: list[tuple[int, dt.datetime]]) -> list[TerritoryView | None]:
        # the version in force at each as-of: one statement per distinct instant in the batch
        by_as_of: dict[dt.datetime, list[int]] = defaultdict(list)
        for territory_id, as_of in keys:
            by_as_of[as_of].append(territory_id)
        out: dict[tuple[int, dt.datetime], TerritoryView] = {}
        async with self.db.read() as session:
            for as_of, ids in by_as_of.items():
                found = await territory_repo.territories_by_id_as_of(session, territory_ids=ids, as_of=as_of)
                out.update({(territory_id, as_of): view for territory_id, view in found.items()})
        return [out.get(key) for key in keys]

    async def _territories_of_layers(self, keys: list[int]) -> list[list[TerritoryView]]:
        async with self.db.read() as session:
            found = await territory_repo.territories_of_layers(session, layer_ids=keys)
        return [found.get(key, []) for key in keys]

    async def _site_counts(self, keys: list[int]) -> list[int]:
        async with self.db.read() as session:
            found = await territory_repo.site_counts(session, territory_ids=keys)
        return [found.get(key, 0) for key in keys]

    async def _geometries(self, keys: list[tuple[int, float | None, dt.datetime | None]]) -> list[str | None]:
        # key: (territory, simplify tolerance, as-of or None for the current geometry)
        groups: dict[tuple[float | None, dt.datetime | None], list[int]] = defaultdict(list)
        for territory_id, tolerance, as_of in keys:
            groups[(tolerance, as_of)].append(territory_id)
        out: dict[tuple[int, float | None, dt.datetime | None], str] = {}
        async with self.db.read() as session:
            for (tolerance, as_of), ids in groups.items():
                found = await territory_repo.geometries_geojson(
                    session, territory_ids=ids, tolerance_deg=tolerance, as_of=as_of
                )
                out.update({(territory_id, tolerance, as_of): text for territory_id, text in found.items()})
        return [out.get(key) for key in keys]
