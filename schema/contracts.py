"""Contracts and their stored configuration in the GraphQL contract (domain.md §1.3–§1.5).

Configuration rows are shown as stored (`from_attributes`); the engine's typed view of them is
`resolvers.contract_config`, the one mapping from rows to the billing rules.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

import billing
from resolvers import validation
from resolvers.contract_config import edition_of, header_for
from resolvers.records import ContractConfiguration, ContractRecord
from schema.access import BILLING_DETAIL
from schema.audit import contract_audit_log
from schema.common import Ctx, from_attributes, register_enum
from schema.scalars import JSON, Rate

if TYPE_CHECKING:
    from schema.amendment_types import Amendment
    from schema.sites import Site

register_enum(
    billing.BuildingBlock,
    name="BuildingBlock",
    description="A building block (contract type) a contract enables, domain.md §1.4; a hybrid enables several.",
    values={
        "FIXED_FEE": "Fixed monthly fees per service (§2.1).",
        "PER_LABOR_HOUR": "Hours worked × job rate, overtime at its own rate (§2.2).",
        "PER_OCCUPIED_ROOM": "Occupied rooms × room rate (§2.3).",
        "INVOICE_GROUPING": "Lines split over several invoices (§2.11).",
        "REVENUE_SHARE": "A share of parking revenue in tiers, with validations (§2.4–§2.5).",
        "BELL_SERVICE": "Bell service fee (§2.6).",
        "MID_MONTH_ADVANCE": "Mid-month advance or pre-bill (§2.7).",
        "DEPOSITED_REVENUE": "Revenue deposited by Towne Park and parking tax (§2.8).",
        "BILLABLE_ACCOUNTS": "Payroll, benefits, support services and expense accounts billed (§2.9).",
        "MANAGEMENT_AGREEMENT": "Management fee, insurance, claims and profit share (§2.10).",
    },
)
register_enum(
    billing.BillingType,
    name="BillingType",
    description="When a contract bills its service month (domain.md §1.3, §3.2).",
    values={
        "ARREARS": "The month just ended, invoiced on its last day.",
        "ADVANCED": "The month ahead, invoiced on the 1st of the month before.",
    },
)
BuildingBlock = billing.BuildingBlock
BillingType = billing.BillingType


@strawberry.enum(description="A contract's lifecycle status (issue 10 §4).")
class ContractStatus(enum.Enum):
    DRAFT = strawberry.enum_value(
        "draft", description="Created with its site, not yet activated: bills nothing."
    )
    ACTIVE = strawberry.enum_value(
        "active", description="In force; imported contracts are active, evergreen."
    )
    EXPIRED = strawberry.enum_value("expired", description="Its term ended without renewal.")
    TERMINATED = strawberry.enum_value(
        "terminated", description="Ended on `terminatedOn`: no statement for later periods."
    )
    ARCHIVED = strawberry.enum_value("archived", description="Read-only: no amendment, no statement.")


@strawberry.type(description="A contract's term (issue 10 §4); the PROD export has none (evergreen).")
class ContractTerm:
    start: dt.date | None = strawberry.field(description="First day of the term; null: unknown.")
    end: dt.date | None = strawberry.field(description="Last day of the term; null: evergreen.")
    auto_renew_months: int | None = strawberry.field(
        description="Renews itself by this many months when it ends; null: it expires."
    )
    notice_days: int | None = strawberry.field(description="Days before the end a renewal decision is due.")
    terminated_on: dt.date | None = strawberry.field(
        description="Termination date (its last day); later service periods bill nothing."
    )
    synthetic: bool = strawberry.field(
        description="Synthetic demo term (`towne demo-terms`), labelled as such, not from the PROD export."
    )


@strawberry.type(
    description="An invoice group of a contract (§1.5, §2.11): lines of its blocks go on its invoice."
)
class InvoiceGroup:
    group_number: int = strawberry.field(description="GG of the invoice number (§3.4), from 1.")
    title: str = strawberry.field(description="Invoice title.")
    description: str | None = strawberry.field(description="Invoice description.")
    site_number_override: str | None = strawberry.field(
        description="Site number printed on the group's invoices instead of the site's (§1.5)."
    )
    customer_name: str | None = strawberry.field(
        description="Customer the group's invoices are addressed to; null unless the caller holds billingAdmin "
        "or billingManager (§4.4)."
    )
    vendor_id: str | None = strawberry.field(
        description="Great Plains vendor id for negative invoices (§3.8); null unless the caller holds "
        "billingAdmin or billingManager (§4.4)."
    )


@strawberry.type(description="Fixed-fee service row (§1.5, §2.1).")
class FixedFeeService:
    name: str | None = strawberry.field(description="Internal name of the service.")
    display_name: str = strawberry.field(description="Line title on the invoice.")
    code: str = strawberry.field(description="GL main account, e.g. 4700.")
    fee: Decimal = strawberry.field(description="Monthly fee, USD.")
    start_date: dt.date | None = strawberry.field(description="First day the row applies; null: always.")
    end_date: dt.date | None = strawberry.field(description="Last day the row applies; null: open-ended.")
    invoice_group: int | None = strawberry.field(
        description="Invoice group number; null: the implicit group."
    )


@strawberry.type(description="Per-labor-hour job rate row (§1.5, §2.2).")
class LaborHourJob:
    name: str | None = strawberry.field(description="Internal name of the job.")
    display_name: str = strawberry.field(description="Line title on the invoice.")
    job_code: str = strawberry.field(description="Timesheet job code (`WORK_ROLE`), e.g. GSA.")
    code: str | None = strawberry.field(description="GL main account of the line.")
    rate: Rate = strawberry.field(description="USD per regular hour.")
    overtime_rate: Rate | None = strawberry.field(
        description="USD per overtime hour; null: the regular rate."
    )
    is_salaried: bool = strawberry.field(description="Salaried job (billed by its own rule, §2.2).")
    start_date: dt.date | None = strawberry.field(description="First day the row applies; null: always.")
    end_date: dt.date | None = strawberry.field(description="Last day the row applies; null: open-ended.")
    invoice_group: int | None = strawberry.field(
        description="Invoice group number; null: the implicit group."
    )


@strawberry.type(description="Revenue-share tier: `amount` is the cumulative cap, 0 = unlimited (§2.4).")
class RevenueShareTier:
    share_percentage: Rate = strawberry.field(description="Share of the tier's revenue, percent.")
    amount: Decimal = strawberry.field(description="Cumulative revenue cap of the tier, USD; 0 = unlimited.")


@strawberry.type(description="Revenue-share threshold structure (§1.5, §2.4).")
class RevenueShareThreshold:
    position: int = strawberry.field(description="Order of the structure on the contract, from 1.")
    revenue_codes: list[str] = strawberry.field(description="Revenue codes whose revenue the tiers share.")
    accumulation_type: str = strawberry.field(
        description="MONTHLY, ANNUAL_CALENDAR or ANNUAL_ANNIVERSARY: the revenue the tiers apply to."
    )
    tiers: list[RevenueShareTier] = strawberry.field(description="Tiers in stored order.")
    validation_threshold_type: str | None = strawberry.field(
        description="VEHICLE_COUNT, REVENUE_PERCENTAGE or VALIDATION_AMOUNT (§2.5); null: no validations."
    )
    validation_threshold_amount: Rate | None = strawberry.field(
        description="The validation threshold: percent of revenue or USD, by the type."
    )
    invoice_group: int | None = strawberry.field(
        description="Invoice group number; null: the implicit group."
    )


@strawberry.type(
    description="Settings of a single-row building block (bell, mid-month advance, deposits, …): one entry per "
    "dated version (escalators add versions, §2.14)."
)
class BuildingBlockSettings:
    building_block: BuildingBlock = strawberry.field(description="The block.")
    invoice_group: int | None = strawberry.field(
        description="Invoice group number; null: the implicit group."
    )
    settings: JSON = strawberry.field(description="Validated settings, snake_case keys, decimals as strings.")
    valid_from: dt.date | None = strawberry.field(description="First day of this version; null: always.")
    valid_to: dt.date | None = strawberry.field(description="Last day of this version; null: open-ended.")


@strawberry.type(description="Per-occupied-room configuration on the contract (§2.3).")
class OccupiedRoom:
    rate: Rate | None = strawberry.field(description="USD per occupied room.")
    code: str | None = strawberry.field(description="GL main account of the line.")
    invoice_group: int | None = strawberry.field(
        description="Invoice group number; null: the implicit group."
    )


@strawberry.type(description="The contract of a site (`bs_contract`, §1.3): billing type, blocks and rates.")
class Contract:
    id: strawberry.ID = strawberry.field(description="Contract id.")
    contract_type: str | None = strawberry.field(description="EDW label, informational (§1.3).")
    billing_type: BillingType = strawberry.field(description="Arrears or Advanced (§3.2).")
    building_blocks: list[BuildingBlock] = strawberry.field(description="The enabled building blocks.")
    increment_percentage: Rate = strawberry.field(
        description="Yearly increment of fees and rates, percent (§2.14)."
    )
    increment_month: int | None = strawberry.field(description="Month (1–12) the increment applies.")
    consumer_price_index: bool = strawberry.field(
        description="Increment follows the CPI (not computed, §2.14)."
    )
    deviation_amount: Decimal | None = strawberry.field(
        description="Forecast deviation threshold, USD (§3.6)."
    )
    deviation_percentage: Rate | None = strawberry.field(
        description="Forecast deviation threshold, percent (§3.6)."
    )
    payment_terms: str | None = strawberry.field(description="Printed on invoices.")
    purchase_order: str | None = strawberry.field(description="Printed on invoices.")
    deposits: bool = strawberry.field(description="Towne Park deposits the site's revenue (§2.8).")
    hours_backup_report: bool = strawberry.field(description="An hours backup report goes with the invoice.")
    supporting_reports: list[str] = strawberry.field(description="Supporting reports selected (§3.7).")
    configuration_source: str = strawberry.field(
        description="`snapshot`: full configuration imported; `export`: only the contract table row; `api`: "
        "created with its site by `addCustomerSite` (no building blocks until configured)."
    )
    occupied_room: OccupiedRoom = strawberry.field(description="Per-occupied-room settings (§2.3).")
    notes: str | None = strawberry.field(description="Free text (§1.3), e.g. terms not automated.")
    accounts_payable: str | None = strawberry.field(description="Accounts-payable free text (§1.3).")
    status: ContractStatus = strawberry.field(description="Lifecycle status (issue 10 §4).")
    term: ContractTerm = strawberry.field(description="The term and its renewal.")
    service_period: str | None = strawberry.field(
        description="`YYYY-MM` whose edition this shows (`configuration(servicePeriod)`, `contract(asOf)`); "
        "null: the contract as amended (every approved amendment, also those from later periods)."
    )
    _row: strawberry.Private[ContractRecord]
    # first day of the service period whose edition this object shows; None: the open edition
    _period: strawberry.Private[dt.date | None] = None
    audit_log = contract_audit_log()

    @classmethod
    def from_row(cls, row: ContractRecord, period: dt.date | None = None) -> Contract:
        return cls(
            id=strawberry.ID(str(row.id)),
            contract_type=row.contract_type,
            billing_type=billing.BillingType[row.billing_type],
            building_blocks=[billing.BuildingBlock[b] for b in row.building_blocks],
            increment_percentage=Rate(row.increment_percentage),
            increment_month=row.increment_month,
            consumer_price_index=row.consumer_price_index,
            deviation_amount=row.deviation_amount,
            deviation_percentage=Rate(row.deviation_percentage)
            if row.deviation_percentage is not None
            else None,
            payment_terms=row.payment_terms,
            purchase_order=row.purchase_order,
            deposits=row.deposits,
            hours_backup_report=row.hours_backup_report,
            supporting_reports=list(row.supporting_reports),
            configuration_source=row.configuration_source,
            occupied_room=OccupiedRoom(
                rate=Rate(row.occupied_room_rate) if row.occupied_room_rate is not None else None,
                code=row.occupied_room_code,
                invoice_group=row.occupied_room_invoice_group,
            ),
            notes=row.notes,
            accounts_payable=row.accounts_payable,
            status=ContractStatus(row.status),
            term=ContractTerm(
                start=row.term_start,
                end=row.term_end,
                auto_renew_months=row.auto_renew_months,
                notice_days=row.notice_days,
                terminated_on=row.terminated_on,
                synthetic=row.term_synthetic,
            ),
            service_period=period.strftime("%Y-%m") if period is not None else None,
            _row=row,
            _period=period,
        )

    async def _configuration(self, info: Ctx) -> ContractConfiguration:
        # the open edition (the contract as amended), or the edition of the service period it is bound to
        stored = await info.context.loaders.configuration.load(self._row.id)
        return edition_of(stored, self._period)

    @strawberry.field(description="Invoice groups, by group number.")
    async def invoice_groups(self, info: Ctx) -> list[InvoiceGroup]:
        groups = (await self._configuration(info)).invoice_groups
        if info.context.caller.has_any(BILLING_DETAIL):
            return [from_attributes(InvoiceGroup, g) for g in groups]
        return [from_attributes(InvoiceGroup, g, customer_name=None, vendor_id=None) for g in groups]

    @strawberry.field(description="Fixed-fee service rows, every dated version.")
    async def fixed_fee_services(self, info: Ctx) -> list[FixedFeeService]:
        return [
            from_attributes(FixedFeeService, s) for s in (await self._configuration(info)).fixed_fee_services
        ]

    @strawberry.field(description="Per-labor-hour job rows, every dated version.")
    async def labor_hour_jobs(self, info: Ctx) -> list[LaborHourJob]:
        return [from_attributes(LaborHourJob, j) for j in (await self._configuration(info)).labor_hour_jobs]

    @strawberry.field(description="Revenue-share threshold structures, in stored order.")
    async def revenue_share_thresholds(self, info: Ctx) -> list[RevenueShareThreshold]:
        return [
            from_attributes(
                RevenueShareThreshold,
                t,
                revenue_codes=list(t.revenue_codes),
                tiers=[
                    RevenueShareTier(
                        share_percentage=Rate(Decimal(x["share_percentage"])), amount=Decimal(x["amount"])
                    )
                    for x in t.tiers
                ],
            )
            for t in (await self._configuration(info)).revenue_share_thresholds
        ]

    @strawberry.field(description="Single-row building blocks with their validated settings.")
    async def block_settings(self, info: Ctx) -> list[BuildingBlockSettings]:
        return [
            BuildingBlockSettings(
                building_block=billing.BuildingBlock[c.building_block],
                invoice_group=c.invoice_group,
                settings=JSON(c.settings),
                valid_from=c.valid_from,
                valid_to=c.valid_to,
            )
            for c in (await self._configuration(info)).components
        ]

    @strawberry.field(
        description="The contract as in force for a service period (issue 10 §3): the header and "
        "configuration that approved amendments give that period; a statement of it bills this."
    )
    async def configuration(
        self,
        info: Ctx,
        service_period: Annotated[str, strawberry.argument(description="`YYYY-MM`.")],
    ) -> Contract:
        period = validation.service_period(service_period)
        stored = await info.context.loaders.configuration.load(self._row.id)
        return Contract.from_row(header_for(self._row, stored, period.start), period.start)

    @strawberry.field(description="Amendments of the contract, newest first (issue 10 §3).")
    async def amendments(
        self, info: Ctx
    ) -> list[Annotated[Amendment, strawberry.lazy("schema.amendment_types")]]:
        from schema.amendment_types import Amendment

        site = await info.context.loaders.site_by_id.load(self._row.site_id)
        number = site.site_number if site is not None else ""
        detail = info.context.caller.has_any(BILLING_DETAIL)
        return [
            Amendment.from_row(a, number, billing_detail=detail)
            for a in await info.context.loaders.amendments.load(self._row.id)
        ]

    @strawberry.field(description="The site the contract bills.")
    async def site(self, info: Ctx) -> Annotated[Site, strawberry.lazy("schema.sites")]:
        from schema.sites import Site

        row = await info.context.loaders.site_by_id.load(self._row.site_id)
        assert row is not None
        return Site.from_row(row)
