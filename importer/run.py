"""`towne import`: the real Towne Park data into the database, idempotently.

Order: sites → contracts (+ configuration) → territory layers → point-in-polygon assignment. Every
table is upserted on its natural key and a row is only rewritten when a value differs, so a second run
changes nothing (no version bump, no new assignment history).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Contract,
    ContractComponent,
    CustomerSite,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
    Territory,
    TerritoryLayer,
)
from db.repositories.assignments import AssignmentResult, assign_layer
from importer.contracts import read_contracts
from importer.issues import ImportIssue
from importer.sites import read_sites
from importer.territories import LAYERS, read_layer
from spatial.geocode import ZipGazetteer


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class ImportSummary:
    tables: dict[str, TableCounts] = field(default_factory=dict)
    geocode_methods: dict[str, int] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)
    assignments: dict[str, AssignmentResult] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c.inserted or c.updated for c in self.tables.values()) or any(
            a.opened or a.closed for a in self.assignments.values()
        )


async def upsert(
    session: AsyncSession,
    model: Any,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    chunk: int = 400,
) -> TableCounts:
    """Insert rows, or update them on `key` only where a value differs; count what happened."""
    counts = TableCounts()
    if not rows:
        return counts
    table = model.__table__
    columns = [c for c in rows[0] if c not in key and c != "id"]
    for start in range(0, len(rows), chunk):
        batch = rows[start : start + chunk]
        base = insert(table).values(list(batch))
        statement = base.on_conflict_do_update(
            index_elements=list(key),
            set_={c: base.excluded[c] for c in columns},
            where=tuple_(*(table.c[c] for c in columns)).is_distinct_from(
                tuple_(*(base.excluded[c] for c in columns))
            )
            if columns
            else None,
        ).returning(text("(xmax = 0) AS inserted"))
        result = (await session.execute(statement)).scalars().all()
        inserted = sum(1 for r in result if r)
        counts.inserted += inserted
        counts.updated += len(result) - inserted
        counts.unchanged += len(batch) - len(result)
    return counts


def _merge(into: dict[str, TableCounts], name: str, counts: TableCounts) -> None:
    current = into.setdefault(name, TableCounts())
    current.inserted += counts.inserted
    current.updated += counts.updated
    current.unchanged += counts.unchanged


async def import_all(
    session: AsyncSession, data_dir: Path, *, console: Console | None = None
) -> ImportSummary:
    """Import sites, contracts, territory layers from `data_dir` (the repository's `data/`) and assign.

    Runs in the caller's transaction; raises nothing for bad rows (they are in `summary.issues`).
    """
    console = console or Console(stderr=True)
    summary = ImportSummary()
    # The site and territory triggers would assign as rows arrive (several times over); defer them for this
    # transaction and assign once at the end, so the summary reports what was opened and closed.
    # Territories this import creates are in force since the beginning of the record ('-infinity'), not since
    # the day the database was loaded (the territory triggers read towne.history_from_beginning).
    await session.execute(text("SELECT set_config('towne.defer_assignment', 'on', true)"))
    await session.execute(text("SELECT set_config('towne.history_from_beginning', 'on', true)"))
    # the audit trail's operation of what this transaction writes (migration 0013)
    await session.execute(text("SELECT set_config('towne.operation', 'towne import', true)"))
    try:
        await _import(session, data_dir, console, summary)
    finally:
        await session.execute(text("SELECT set_config('towne.history_from_beginning', 'off', true)"))
        await session.execute(text("SELECT set_config('towne.defer_assignment', 'off', true)"))
        await session.execute(text("SELECT set_config('towne.operation', '', true)"))
    return summary


async def _import(session: AsyncSession, data_dir: Path, console: Console, summary: ImportSummary) -> None:
    towne = data_dir / "towne-park"
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Geocoding sites (offline ZIP gazetteer)", total=None)
        site_rows, issues, methods = read_sites(towne / "sites.csv", ZipGazetteer())
        summary.issues += issues
        summary.geocode_methods = methods
        progress.update(task, description="Writing sites")
        summary.tables["customer_site"] = await upsert(session, CustomerSite, site_rows, key=["site_number"])
        site_ids = dict((await session.execute(select(CustomerSite.site_number, CustomerSite.id))).all())

        progress.update(task, description="Reading contracts and configurations")
        contracts, issues = read_contracts(towne / "contracts.csv", towne / "contracts", site_ids)
        summary.issues += issues
        summary.tables["contract"] = await upsert(
            session, Contract, [c.contract for c in contracts], key=["site_id"]
        )
        children: Iterable[tuple[str, Any, str]] = (
            ("invoice_group", InvoiceGroup, "invoice_groups"),
            ("fixed_fee_service", FixedFeeService, "fixed_fee_services"),
            ("labor_hour_job", LaborHourJob, "labor_hour_jobs"),
            ("revenue_share_threshold", RevenueShareThreshold, "revenue_share_thresholds"),
            ("contract_component", ContractComponent, "components"),
        )
        for name, model, attribute in children:
            rows = [row for c in contracts for row in getattr(c, attribute)]
            summary.tables[name] = await upsert(session, model, rows, key=["id"])

        layer_task = progress.add_task("Territory layers", total=len(LAYERS))
        for layer in LAYERS:
            progress.update(task, description=f"Validating and writing layer {layer.code}")
            counts = await upsert(
                session,
                TerritoryLayer,
                [
                    {
                        "code": layer.code,
                        "name": layer.name,
                        "kind": layer.kind,
                        "description": layer.description,
                    }
                ],
                key=["code"],
            )
            _merge(summary.tables, "territory_layer", counts)
            layer_id = (
                await session.execute(select(TerritoryLayer.id).where(TerritoryLayer.code == layer.code))
            ).scalar_one()
            rows, issues = read_layer(towne / "territories", layer)
            summary.issues += issues
            for row in rows:
                row["layer_id"] = layer_id
            _merge(
                summary.tables, "territory", await upsert(session, Territory, rows, key=["layer_id", "code"])
            )
            progress.advance(layer_task)

        progress.update(task, description="Assigning sites to territories (point in polygon)")
        # the territory versions first (else written at commit, migration 0009): a site's first assignment
        # never starts before its territory's first version; deferred, the flush reassigns nothing itself
        await session.execute(text("SELECT count(*) FROM towne_flush_territory_changes()"))
        for layer in LAYERS:
            summary.assignments[layer.code] = await assign_layer(session, layer_code=layer.code)


def print_summary(summary: ImportSummary, console: Console) -> None:
    table = Table(title="Import summary", show_lines=False)
    table.add_column("table")
    table.add_column("new", justify="right")
    table.add_column("updated", justify="right")
    table.add_column("unchanged", justify="right")
    for name, counts in summary.tables.items():
        table.add_row(name, str(counts.inserted), str(counts.updated), str(counts.unchanged))
    console.print(table)
    console.print(
        "Geocoding: " + ", ".join(f"{method} {n}" for method, n in sorted(summary.geocode_methods.items()))
    )
    for code, result in summary.assignments.items():
        console.print(f"Layer {code}: {result}")
    if summary.issues:
        skipped = [i for i in summary.issues if i.skipped]
        console.print(f"{len(skipped)} rows skipped, {len(summary.issues) - len(skipped)} warnings:")
        for issue in summary.issues:
            console.print(f"  {issue}", markup=False)
    else:
        console.print("No rows skipped.")
