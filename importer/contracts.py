"""Parse `contracts.csv` and the 16 full configurations `contracts/NNNN.json` (domain.md §1.3–§1.5, §6.2–§6.3).

Building blocks come from the `contract_components` labels (the numeric codes of the export are mangled,
§6.2). A snapshot adds the configuration rows; its `enabled` flags are compared with the export's
building blocks and any difference is reported (the export wins).
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from billing import BuildingBlock
from importer.contract_config import MONTHS, ContractDto, parse_snapshot, settings_json
from importer.issues import ImportIssue


@dataclass
class ContractRows:
    """Rows to write for one contract: the `contract` row and its configuration tables."""

    contract: dict[str, Any]
    invoice_groups: list[dict[str, Any]] = field(default_factory=list)
    fixed_fee_services: list[dict[str, Any]] = field(default_factory=list)
    labor_hour_jobs: list[dict[str, Any]] = field(default_factory=list)
    revenue_share_thresholds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)


def _decimal(text: str, column: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{column} {text!r} is not a number") from exc


def _flag(text: str, column: str) -> bool:
    if text.strip() in ("", "0", "false", "False"):
        return False
    if text.strip() in ("1", "true", "True"):
        return True
    raise ValueError(f"{column} {text!r} is not 0/1")


def _labels(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _date(text: str | None) -> dt.date | None:
    return dt.datetime.fromisoformat(text).date() if text else None


def read_contracts(
    path: Path, snapshot_dir: Path, site_ids: dict[str, uuid.UUID]
) -> tuple[list[ContractRows], list[ImportIssue]]:
    """Contracts of known sites (`site_number` → site id) with their configuration, and the issues."""
    out: list[ContractRows] = []
    issues: list[ImportIssue] = []
    seen_sites: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            line = reader.line_num
            try:
                billing_type = record["billing_type"].strip()
                if billing_type not in ("Arrears", "Advanced"):
                    raise ValueError(
                        f"billing_type {billing_type!r} is not Arrears/Advanced (columns shifted?)"
                    )
                site_number = record["site_number"].strip().zfill(4)
                if site_number not in site_ids:
                    raise ValueError(f"site {site_number} is not in sites.csv (orphan contract)")
                if site_number in seen_sites:
                    raise ValueError(f"site {site_number} has a second contract")
                blocks = sorted(
                    BuildingBlock.from_label(x).name for x in _labels(record["contract_components"])
                )
                month = record["increment_month"].strip()
                contract: dict[str, Any] = {
                    "id": uuid.UUID(record["contract_id"]),
                    "site_id": site_ids[site_number],
                    "contract_type": record["contract_type"].strip() or None,
                    "billing_type": billing_type.upper(),
                    "building_blocks": blocks,
                    "increment_percentage": _decimal(record["increment_percentage"], "increment_percentage")
                    or Decimal(0),
                    "increment_month": int(month) if month else None,
                    "consumer_price_index": _flag(record["consumer_price_index"], "consumer_price_index"),
                    "deviation_amount": _decimal(record["deviation_amount"], "deviation_amount"),
                    "deviation_percentage": _decimal(record["deviation_percentage"], "deviation_percentage"),
                    "payment_terms": record["payment_terms"].strip() or None,
                    "purchase_order": None,
                    "deposits": _flag(record["deposits"], "deposits"),
                    "hours_backup_report": _flag(record["hours_backup_report"], "hours_backup_report"),
                    "supporting_reports": _labels(record["supporting_reports"]),
                    "occupied_room_rate": _decimal(record["occupied_room_rate"], "occupied_room_rate"),
                    "occupied_room_code": record["occupied_room_code"].strip() or None,
                    "occupied_room_invoice_group": int(record["occupied_room_invoice_group"])
                    if record["occupied_room_invoice_group"].strip()
                    else None,
                    "configuration_source": "export",
                }
            except (ValueError, KeyError) as exc:
                issues.append(ImportIssue(path.name, line, str(exc), True))
                continue
            seen_sites.add(site_number)
            rows = ContractRows(contract)
            snapshot = snapshot_dir / f"{site_number}.json"
            if snapshot.exists():
                try:
                    dto = parse_snapshot(snapshot.read_text(encoding="utf-8"))
                except (ValidationError, ValueError) as exc:
                    issues.append(ImportIssue(snapshot.name, None, f"invalid configuration: {exc}", False))
                else:
                    _apply_snapshot(rows, dto.contract, snapshot.name, issues)
            out.append(rows)
    return out, issues


def _apply_snapshot(rows: ContractRows, dto: ContractDto, name: str, issues: list[ImportIssue]) -> None:
    contract = rows.contract
    contract_id = contract["id"]
    contract["configuration_source"] = "snapshot"
    contract["purchase_order"] = dto.purchase_order
    if dto.increment_month is not None:
        contract["increment_month"] = MONTHS.index(dto.increment_month) + 1
    if dto.per_occupied_room.enabled or dto.per_occupied_room.room_rate:
        contract["occupied_room_rate"] = dto.per_occupied_room.room_rate
        contract["occupied_room_invoice_group"] = dto.per_occupied_room.invoice_group
    enabled = dto.enabled_blocks()
    if enabled != set(contract["building_blocks"]):
        issues.append(
            ImportIssue(
                name,
                None,
                f"snapshot enables {sorted(enabled)} but the export lists {contract['building_blocks']};"
                " the export's building blocks are kept",
                False,
            )
        )
    for group in dto.invoice_grouping.invoice_groups:
        rows.invoice_groups.append(
            {
                "id": uuid.UUID(group.id),
                "contract_id": contract_id,
                "group_number": group.group_number,
                "title": group.title or f"Group {group.group_number}",
                "description": group.description,
                "site_number_override": group.site_number,
                "customer_name": group.customer_name,
                "vendor_id": group.vendor_id,
            }
        )
    for service in dto.fixed_fee.service_rates:
        rows.fixed_fee_services.append(
            {
                "id": uuid.UUID(service.id),
                "contract_id": contract_id,
                "name": service.name,
                "display_name": service.display_name,
                "code": service.code,
                "fee": service.fee,
                "start_date": _date(service.start_date),
                "end_date": _date(service.end_date),
                "invoice_group": service.invoice_group,
            }
        )
    for job in dto.per_labor_hour.job_rates:
        rows.labor_hour_jobs.append(
            {
                "id": uuid.UUID(job.id),
                "contract_id": contract_id,
                "name": job.name,
                "display_name": job.display_name,
                "job_code": job.job_code,
                "code": job.code,
                "rate": job.rate,
                "overtime_rate": job.overtime_rate,
                "is_salaried": job.is_salaried,
                "start_date": _date(job.start_date),
                "end_date": _date(job.end_date),
                "invoice_group": job.invoice_group,
            }
        )
    for position, structure in enumerate(dto.revenue_share.threshold_structures, start=1):
        rows.revenue_share_thresholds.append(
            {
                "id": uuid.UUID(structure.id),
                "contract_id": contract_id,
                "position": position,
                "revenue_codes": structure.revenue_codes,
                "accumulation_type": structure.accumulation_type,
                "tiers": [settings_json(t) for t in structure.tiers],
                "validation_threshold_type": structure.validation_threshold_type,
                "validation_threshold_amount": structure.validation_threshold_amount,
                "invoice_group": structure.invoice_group,
            }
        )
    singles: list[tuple[str, list[Any]]] = [
        ("BELL_SERVICE", list(dto.bell_service_fee.bell_services)),
        ("MID_MONTH_ADVANCE", list(dto.mid_month_advance.mid_month_advances)),
        ("DEPOSITED_REVENUE", list(dto.deposited_revenue.deposit_data)),
        ("BILLABLE_ACCOUNTS", list(dto.billable_accounts.billable_accounts_data)),
        ("MANAGEMENT_AGREEMENT", list(dto.management_agreement.management_fees)),
    ]
    for block, configured in singles:
        if not configured:
            continue
        if len(configured) > 1:
            # §7 #21: the flows read only the first row; keep exactly that one and say so.
            issues.append(
                ImportIssue(
                    name, None, f"{block} has {len(configured)} rows; only the first is billed", False
                )
            )
        first = configured[0]
        rows.components.append(
            {
                "id": uuid.UUID(first.id),
                "contract_id": contract_id,
                "building_block": block,
                "invoice_group": getattr(first, "invoice_group", None),
                "settings": settings_json(first),
            }
        )
