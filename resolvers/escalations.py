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
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing import BillingType, RateSelection, ServicePeriod, rate_selection_date
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
from db.models import ContractComponent, FixedFeeService, LaborHourJob
from db.repositories import escalations as escalation_repo
from db.repositories.amendments import row_json
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
    """Apply the increments and escalators due on `on` to the stored configuration (in the caller's
    transaction); `site_numbers` (4 digits) restricts the run. Reads are set-based (four statements) and lock
    the active contracts' rows; each contract that changed gets an `escalation` amendment approved by the job
    (issue 10 §3), naming its new rows and the first service period they bill."""
    report = EscalationReport(on)
    numbers = [n.strip().zfill(4) for n in site_numbers] if site_numbers else None
    for inputs in await escalation_repo.escalation_inputs(session, site_numbers=numbers):
        contract = inputs.contract
        before = len(report.changes)
        written: list[Any] = []
        if increment_due(
            BillingType[contract.billing_type], contract.increment_month, contract.increment_percentage, on
        ):
            written += await _increment(session, inputs, on, report)
        written += await _escalate_components(session, inputs, on, report)
        if written:
            await _record(session, inputs, written, report.changes[before:])
    return report


def _first_period(billing_type: BillingType, starts: dt.date) -> dt.date:
    """The first service period whose rate-selection date (§2.15) falls on or after `starts`: the first
    statement that bills a dated row starting that day."""
    period = ServicePeriod.of(starts).shift(-2)
    while rate_selection_date(billing_type, period, RateSelection.NATURAL_GENERATION_DATE, None) < starts:
        period = period.shift(1)
    return period.start


async def _record(
    session: AsyncSession, inputs: escalation_repo.EscalationInputs, written: list[Any], notes: list[str]
) -> None:
    from resolvers.amendments import record_job_amendment

    rows: dict[str, list[dict[str, Any]]] = {}
    starts: list[dt.date] = []
    for row in written:
        if isinstance(row, ContractComponent):
            key = f"components.{row.building_block}"
            assert row.valid_from is not None
            starts.append(row.valid_from)
        else:
            key = "fixed_fee_services" if isinstance(row, FixedFeeService) else "labor_hour_jobs"
            if row.start_date is not None:
                starts.append(row.start_date)
        rows.setdefault(key, []).append(row_json(row))
    billing_type = BillingType[inputs.contract.billing_type]
    amendment = await record_job_amendment(
        session,
        contract=inputs.contract,
        kind="escalation",
        changes={"rows": rows},
        summary="; ".join(notes),
        first_service_period=_first_period(billing_type, min(starts)) if starts else None,
    )
    for row in written:
        row.amendment_id = amendment.id
    await session.flush()


async def _increment(
    session: AsyncSession, inputs: escalation_repo.EscalationInputs, on: dt.date, report: EscalationReport
) -> list[Any]:
    pct = inputs.contract.increment_percentage
    rows: list[DatedRate] = [
        DatedRate(f"fee:{r.id}", {"fee": r.fee}, r.start_date, r.end_date) for r in inputs.fees
    ] + [
        DatedRate(
            f"job:{r.id}",
            {"rate": r.rate} | ({"overtime_rate": r.overtime_rate} if r.overtime_rate is not None else {}),
            r.start_date,
            r.end_date,
        )
        for r in inputs.jobs
    ]
    result = apply_increment(rows, pct, on)
    by_key: dict[str, FixedFeeService | LaborHourJob] = {f"fee:{r.id}": r for r in inputs.fees} | {
        f"job:{r.id}": r for r in inputs.jobs
    }
    written: list[Any] = []
    for step in result.increments:
        old = by_key[step.closed.key]
        new = await escalation_repo.close_and_copy_rate(
            session, row=old, ends=step.closed.end, values=dict(step.new.values), starts=step.new.start
        )
        values = ", ".join(f"{k} {old_v} → {step.new.values[k]}" for k, old_v in step.closed.values.items())
        report.changes.append(
            f"{inputs.site_number}: increment {pct} % on {old.display_name!r}: {values}; old row ends "
            f"{step.closed.end}, new row from {step.new.start} (§2.14, stored at 2 dp §7 #5)"
        )
        written.append(new)
    return written


async def _escalate_components(
    session: AsyncSession, inputs: escalation_repo.EscalationInputs, on: dt.date, report: EscalationReport
) -> list[Any]:
    written: list[Any] = []
    for current in [v for v in inputs.components if in_force(v.valid_from, v.valid_to, on)]:
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
        written.append(
            await escalation_repo.close_and_copy_settings(
                session, component=current, settings=settings, starts=on
            )
        )
        report.changes.extend(f"{inputs.site_number}: {note} from {on} (§2.14)" for note in notes)
    return written


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
