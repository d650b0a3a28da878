"""The daily escalation job on stored configuration (domain.md §2.14), over the pure rules of `billing.escalation`.

* Contract increments: on the job day of a contract (`increment_due`), every open-ended fixed-fee service and
  labor-hour job row is closed at the end of the month and an escalated copy starts on the 1st of the next.
* Management-agreement and PTEB escalators: on the fire date (`escalator_due`), the current version of the
  management-agreement (fee, per-labor-hour rates, revenue %, profit-share tiers) or billable-account (PTEB %)
  settings is closed the day before and an escalated version starts that day.

Every change is a new dated row, so statements pick what was in force on their rate-selection date (§2.15).
Running a day twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing import BillingType
from billing.escalation import (
    DatedRate,
    EscalatingTier,
    EscalationKind,
    MaJobRate,
    apply_increment,
    escalate_fixed_fee,
    escalate_ma_job,
    escalate_profit_share_tiers,
    escalate_pteb_percentage,
    escalate_revenue_percentage,
    escalator_due,
    increment_due,
)
from db.models import Contract, ContractComponent, CustomerSite, FixedFeeService, LaborHourJob
from resolvers.contract_config import in_force


@dataclass
class EscalationReport:
    """What one day's job did, in words a billing admin can check."""

    day: dt.date
    changes: list[str] = field(default_factory=list)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def run_escalations(
    session: AsyncSession, *, on: dt.date, site_numbers: Sequence[str] | None = None
) -> EscalationReport:
    """Apply the increments and escalators due on `on` to the stored configuration (in the caller's transaction)."""
    report = EscalationReport(on)
    statement = select(Contract, CustomerSite.site_number).join(
        CustomerSite, CustomerSite.id == Contract.site_id
    )
    if site_numbers:
        statement = statement.where(CustomerSite.site_number.in_([n.zfill(4) for n in site_numbers]))
    for contract, site_number in (await session.execute(statement.order_by(CustomerSite.site_number))).all():
        billing_type = BillingType[contract.billing_type]
        if increment_due(billing_type, contract.increment_month, contract.increment_percentage, on):
            await _increment(session, contract, site_number, on, report)
        await _escalate_components(session, contract, site_number, on, report)
    await session.flush()
    return report


async def _increment(
    session: AsyncSession, contract: Contract, site_number: str, on: dt.date, report: EscalationReport
) -> None:
    pct = contract.increment_percentage
    fees = list(
        (
            await session.execute(select(FixedFeeService).where(FixedFeeService.contract_id == contract.id))
        ).scalars()
    )
    jobs = list(
        (await session.execute(select(LaborHourJob).where(LaborHourJob.contract_id == contract.id))).scalars()
    )
    rows: list[DatedRate] = [
        DatedRate(f"fee:{r.id}", {"fee": r.fee}, r.start_date, r.end_date) for r in fees
    ] + [
        DatedRate(
            f"job:{r.id}",
            {"rate": r.rate} | ({"overtime_rate": r.overtime_rate} if r.overtime_rate is not None else {}),
            r.start_date,
            r.end_date,
        )
        for r in jobs
    ]
    result = apply_increment(rows, pct, on)
    by_key: dict[str, Any] = {f"fee:{r.id}": r for r in fees} | {f"job:{r.id}": r for r in jobs}
    for step in result.increments:
        old = by_key[step.closed.key]
        old.end_date = step.closed.end
        copy = {c.key: getattr(old, c.key) for c in old.__table__.columns if c.key not in ("id",)}
        copy.update(step.new.values, start_date=step.new.start, end_date=None)
        session.add(type(old)(id=uuid.uuid4(), **copy))
        label = getattr(old, "display_name", "")
        values = ", ".join(f"{k} {old_v} → {step.new.values[k]}" for k, old_v in step.closed.values.items())
        report.changes.append(
            f"{site_number}: increment {pct} % on {label!r}: {values}; old row ends {step.closed.end}, "
            f"new row from {step.new.start} (§2.14, stored at 2 dp §7 #5)"
        )


async def _escalate_components(
    session: AsyncSession, contract: Contract, site_number: str, on: dt.date, report: EscalationReport
) -> None:
    versions = list(
        (
            await session.execute(
                select(ContractComponent).where(
                    ContractComponent.contract_id == contract.id,
                    ContractComponent.building_block.in_(("MANAGEMENT_AGREEMENT", "BILLABLE_ACCOUNTS")),
                )
            )
        ).scalars()
    )
    for current in [v for v in versions if in_force(v.valid_from, v.valid_to, on)]:
        if current.valid_from == on:
            continue  # already escalated today
        settings = dict(current.settings)
        notes = (
            _escalate_agreement(settings, on)
            if current.building_block == "MANAGEMENT_AGREEMENT"
            else _escalate_pteb(settings, on)
        )
        if not notes:
            continue
        session.add(
            ContractComponent(
                id=uuid.uuid4(),
                contract_id=current.contract_id,
                building_block=current.building_block,
                invoice_group=current.invoice_group,
                settings=settings,
                valid_from=on,
                valid_to=current.valid_to,
            )
        )
        await session.execute(
            update(ContractComponent)
            .where(ContractComponent.id == current.id)
            .values(valid_to=on - dt.timedelta(days=1))
        )
        report.changes.extend(f"{site_number}: {note} from {on} (§2.14)" for note in notes)


def _kind(value: Any) -> EscalationKind:
    return EscalationKind[str(value)]


def _escalate_agreement(settings: dict[str, Any], on: dt.date) -> list[str]:
    notes: list[str] = []
    if settings.get("management_fee_escalator_enabled") and escalator_due(
        settings.get("management_fee_escalator_month"), on
    ):
        kind = _kind(settings.get("management_fee_escalator_type") or "PERCENTAGE")
        value = _money(settings.get("management_fee_escalator_value")) or Decimal(0)
        fee_type = settings.get("management_agreement_type")
        if fee_type == "FIXED_FEE" and settings.get("fixed_fee_amount") is not None:
            old = Decimal(str(settings["fixed_fee_amount"]))
            settings["fixed_fee_amount"] = str(escalate_fixed_fee(old, kind, value))
            notes.append(f"management fee {old} → {settings['fixed_fee_amount']}")
        elif fee_type == "REVENUE_PERCENTAGE" and settings.get("revenue_percentage_amount") is not None:
            old = Decimal(str(settings["revenue_percentage_amount"]))
            settings["revenue_percentage_amount"] = str(escalate_revenue_percentage(old, kind, value))
            notes.append(f"management fee revenue % {old} → {settings['revenue_percentage_amount']}")
        elif fee_type == "PER_LABOR_HOUR":
            jobs = []
            for job in settings.get("per_labor_hour_job_code_data") or []:
                new = escalate_ma_job(
                    MaJobRate(
                        job["code"],
                        Decimal(str(job["standard_rate"])),
                        Decimal(str(job["overtime_rate"])),
                        _money(job.get("standard_rate_escalator_value")),
                        _money(job.get("overtime_rate_escalator_value")),
                    ),
                    kind,
                )
                jobs.append(
                    job | {"standard_rate": str(new.standard_rate), "overtime_rate": str(new.overtime_rate)}
                )
                notes.append(f"job {job['code']} rates → {new.standard_rate} / {new.overtime_rate}")
            settings["per_labor_hour_job_code_data"] = jobs
    if settings.get("profit_share_escalator_enabled") and escalator_due(
        settings.get("profit_share_escalator_month"), on
    ):
        kind = _kind(settings.get("profit_share_escalator_type") or "PERCENTAGE")
        tiers = settings.get("profit_share_tier_data") or []
        escalated = escalate_profit_share_tiers(
            [
                EscalatingTier(
                    Decimal(str(t["share_percentage"])),
                    Decimal(str(t["amount"])),
                    _money(t.get("escalator_value")),
                )
                for t in tiers
            ],
            kind,
        )
        settings["profit_share_tier_data"] = [
            t | {"share_percentage": str(e.share_percentage)} for t, e in zip(tiers, escalated, strict=True)
        ]
        notes.append("profit-share tiers → " + ", ".join(f"{e.share_percentage} %" for e in escalated))
    return notes


def _escalate_pteb(settings: dict[str, Any], on: dt.date) -> list[str]:
    if not (
        settings.get("payroll_taxes_escalator_enabled")
        and settings.get("payroll_taxes_percentage") is not None
    ):
        return []
    if not escalator_due(settings.get("payroll_taxes_escalator_month"), on):
        return []
    kind = _kind(settings.get("payroll_taxes_escalator_type") or "PERCENTAGE")
    old = Decimal(str(settings["payroll_taxes_percentage"]))
    new = escalate_pteb_percentage(
        old, kind, _money(settings.get("payroll_taxes_escalator_value")) or Decimal(0)
    )
    settings["payroll_taxes_percentage"] = str(new)
    return [f"PTEB {old} % → {new} %"]
