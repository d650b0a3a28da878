"""Stored contract configuration → the engine's typed `billing.ContractConfig` (domain.md §1.3–§1.5).

Single-row blocks are stored as validated snake_case settings (`importer.contract_config`) whose keys are the
engine dataclasses' field names; `from_settings` converts by the dataclasses' type hints (decimal strings →
`Decimal`, enum names → enums, ISO dates → `date`, lists → tuples of nested dataclasses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import billing
import billing.config as cfg
from billing.tiers import Tier
from db.models import Contract, CustomerSite
from db.repositories.amendments import with_header
from db.repositories.contracts import ContractConfiguration
from resolvers.errors import InvalidConfiguration

T = TypeVar("T")

# Keys the engine does not read: legacy DTO fields the flows ignore (they use the per-job data), and the
# escalator settings, which `resolvers.escalations` applies as new dated versions (§2.14).
UNUSED_SETTINGS = frozenset(
    {
        "labor_hour_job_code", "labor_hour_rate", "labor_hour_overtime_rate", "id", "escalator_value",
        "management_fee_escalator_enabled", "management_fee_escalator_month", "management_fee_escalator_type",
        "management_fee_escalator_value", "profit_share_escalator_enabled", "profit_share_escalator_month",
        "profit_share_escalator_type", "payroll_taxes_escalator_enabled", "payroll_taxes_escalator_month",
        "payroll_taxes_escalator_type", "payroll_taxes_escalator_value",
    }
)  # fmt: skip


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], where)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_convert(v, item, where) for v in value or ())
    if hint is bool:
        # the legacy DTO leaves unset switches null; the flows test `== true`, so null is off
        return bool(value)
    if hint is Decimal:
        return Decimal(str(value))
    if hint is dt.date:
        return value if isinstance(value, dt.date) else dt.datetime.fromisoformat(str(value)).date()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value if isinstance(value, hint) else hint[str(value)]
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return from_settings(hint, value, where=where)
    return value


@functools.cache
def _fields_of(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """Type hints and field names of dataclass `cls`, resolved once per class (`get_type_hints` costs more
    than converting a block's settings; a portfolio preview converts some 3,000)."""
    hints = typing.get_type_hints(cls, vars(__import__(cls.__module__, fromlist=["_"])))
    return hints, frozenset(f.name for f in dataclasses.fields(cls))


def from_settings(cls: type[T], data: Mapping[str, Any], *, where: str) -> T:
    """Build dataclass `cls` from stored settings; unknown keys raise `InvalidConfiguration` (never dropped)."""
    hints, names = _fields_of(cls)  # type: ignore[arg-type]  # classes are hashable
    unknown = set(data) - names - UNUSED_SETTINGS
    if unknown:
        raise InvalidConfiguration(f"{where}: unknown setting(s) {sorted(unknown)} for {cls.__name__}")
    try:
        kwargs = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in data.items() if k in names}
        return cls(**kwargs)
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise InvalidConfiguration(f"{where}: {exc}") from exc


def in_force(valid_from: dt.date | None, valid_to: dt.date | None, on: dt.date | None) -> bool:
    """Whether a dated version covers `on` (None: the open-ended, current version)."""
    if on is None:
        return valid_to is None
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


def in_edition(row: Any, period_start: dt.date | None) -> bool:
    """Whether a configuration row belongs to the edition of the service period starting `period_start`
    (migration 0011); None: the open edition (the contract as amended, rows without `to_period`)."""
    if period_start is None:
        return row.to_period is None
    return (row.from_period is None or row.from_period <= period_start) and (
        row.to_period is None or period_start <= row.to_period
    )


def edition_of(configuration: ContractConfiguration, period_start: dt.date | None) -> ContractConfiguration:
    """The rows of one edition: the service period's (`period_start`, a month's first day), or the open one."""
    return ContractConfiguration(
        invoice_groups=[r for r in configuration.invoice_groups if in_edition(r, period_start)],
        fixed_fee_services=[r for r in configuration.fixed_fee_services if in_edition(r, period_start)],
        labor_hour_jobs=[r for r in configuration.labor_hour_jobs if in_edition(r, period_start)],
        revenue_share_thresholds=[
            r for r in configuration.revenue_share_thresholds if in_edition(r, period_start)
        ],
        components=[r for r in configuration.components if in_edition(r, period_start)],
        header_history=list(configuration.header_history),
    )


def header_for(
    contract: Contract, configuration: ContractConfiguration, period_start: dt.date | None
) -> Contract:
    """The contract with the header in force for the service period starting `period_start`: a closed
    edition's values from `contract_header_history`, else the row itself (the open edition; None too)."""
    if period_start is not None:
        for edition in configuration.header_history:
            if (edition.from_period is None or edition.from_period <= period_start) and (
                period_start <= edition.to_period
            ):
                return with_header(contract, edition.header)
    return contract


def contract_config(
    site: CustomerSite,
    contract: Contract,
    configuration: ContractConfiguration,
    *,
    on: dt.date | None = None,
    period_start: dt.date | None = None,
) -> billing.ContractConfig:
    """The engine's view of a stored contract and its configuration rows.

    `period_start` (a service period's first day) chooses the edition (issue 10 §3: the configuration that
    amendments approved for that period; None: the open edition) and its header. Inside it, `on` is the
    rate-selection date (§2.15): the single-row blocks' settings are the versions in force that day
    (escalators add versions, §2.14); None takes the current (open-ended) versions. Dated fixed-fee and
    labor-hour rows of the edition are all passed: the engine selects them itself.
    """
    contract = header_for(contract, configuration, period_start)
    configuration = edition_of(configuration, period_start)
    components = {
        c.building_block: c.settings
        for c in configuration.components
        if in_force(c.valid_from, c.valid_to, on)
    }
    where = f"contract of site {site.site_number}"

    def single(block: str, cls: type[T]) -> T | None:
        data = components.get(block)
        return from_settings(cls, data, where=f"{where}, {block}") if data is not None else None

    return billing.ContractConfig(
        site_number=site.site_number,
        billing_type=billing.BillingType[contract.billing_type],
        building_blocks=frozenset(billing.BuildingBlock[b] for b in contract.building_blocks),
        invoice_groups=tuple(
            billing.InvoiceGroup(
                number=g.group_number,
                title=g.title,
                description=g.description,
                site_number=g.site_number_override,
                customer_name=g.customer_name,
                vendor_id=g.vendor_id,
            )
            for g in configuration.invoice_groups
        ),
        fixed_fee_services=tuple(
            billing.FixedFeeService(
                display_name=s.display_name,
                code=s.code,
                fee=s.fee,
                name=s.name,
                start_date=s.start_date,
                end_date=s.end_date,
                invoice_group=s.invoice_group,
            )
            for s in configuration.fixed_fee_services
        ),
        payment_terms=contract.payment_terms,
        purchase_order=contract.purchase_order,
        increment_percentage=contract.increment_percentage,
        increment_month=contract.increment_month,
        site_start_date=site.start_date,
        labor_hour_jobs=tuple(
            cfg.LaborHourJob(
                display_name=j.display_name,
                job_code=j.job_code,
                rate=j.rate,
                overtime_rate=j.overtime_rate,
                code=j.code,
                name=j.name,
                start_date=j.start_date,
                end_date=j.end_date,
                invoice_group=j.invoice_group,
                is_salaried=j.is_salaried,
            )
            for j in configuration.labor_hour_jobs
        ),
        per_occupied_room=cfg.PerOccupiedRoom(
            room_rate=contract.occupied_room_rate or Decimal(0),
            code=contract.occupied_room_code,
            invoice_group=contract.occupied_room_invoice_group,
        ),
        threshold_structures=tuple(
            cfg.ThresholdStructure(
                revenue_codes=tuple(t.revenue_codes),
                tiers=tuple(Tier(Decimal(x["share_percentage"]), Decimal(x["amount"])) for x in t.tiers),
                accumulation_type=billing.codes.AccumulationType[t.accumulation_type],
                validation_threshold_type=billing.codes.ValidationThresholdType[t.validation_threshold_type]
                if t.validation_threshold_type
                else None,
                validation_threshold_amount=t.validation_threshold_amount,
                invoice_group=t.invoice_group,
            )
            for t in configuration.revenue_share_thresholds
        ),
        bell_service=single("BELL_SERVICE", cfg.BellService),
        mid_month_advance=single("MID_MONTH_ADVANCE", cfg.MidMonthAdvance),
        deposited_revenue=single("DEPOSITED_REVENUE", cfg.DepositedRevenue),
        billable_account=single("BILLABLE_ACCOUNTS", cfg.BillableAccount),
        management_agreement=single("MANAGEMENT_AGREEMENT", cfg.ManagementAgreement),
    )
