"""Typed, validated building-block configuration from the legacy contract DTO (domain.md §1.5, §6.3).

The snapshots `data/towne-park/contracts/NNNN.json` carry the API contract DTO of 16 real contracts.
Every block is parsed with `extra="forbid"`: an unknown key is an error naming the key, never silently
dropped. Money and percentages become `Decimal` (floats in the JSON are read through their repr, so
`24.84` is exactly `Decimal("24.84")`). Enumerations are stored by their UPPER_SNAKE names.
"""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator
from pydantic.alias_generators import to_camel


def _to_decimal(value: object) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Dec = Annotated[Decimal, BeforeValidator(_to_decimal), PlainSerializer(str, return_type=str)]


class _Dto(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _snake(value: object) -> object:
    """The DTO's PascalCase enum label → UPPER_SNAKE (`AnnualCalendar` → `ANNUAL_CALENDAR`)."""
    if isinstance(value, str):
        return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(value)).upper()
    return value


Accumulation = Annotated[Literal["MONTHLY", "ANNUAL_CALENDAR", "ANNUAL_ANNIVERSARY"], BeforeValidator(_snake)]
ValidationType = Annotated[
    Literal["VEHICLE_COUNT", "REVENUE_PERCENTAGE", "VALIDATION_AMOUNT"], BeforeValidator(_snake)
]
MidMonthTitle = Annotated[Literal["MID_MONTH_BILLING", "PRE_BILL"], BeforeValidator(_snake)]
PtebType = Annotated[Literal["ACTUAL", "PERCENTAGE"], BeforeValidator(_snake)]
SupportType = Annotated[Literal["FIXED", "PERCENTAGE"], BeforeValidator(_snake)]
PayrollType = Annotated[Literal["BILLABLE", "TOTAL"], BeforeValidator(_snake)]
FeeType = Annotated[Literal["FIXED_FEE", "PER_LABOR_HOUR", "REVENUE_PERCENTAGE"], BeforeValidator(_snake)]
InsuranceType = Annotated[Literal["BASED_ON_BILLABLE_ACCOUNTS", "FIXED_FEE"], BeforeValidator(_snake)]
ClaimsType = Annotated[Literal["PER_CLAIM", "ANNUAL_CALENDAR", "ANNUAL_ANNIVERSARY"], BeforeValidator(_snake)]
EscalatorType = Annotated[Literal["PERCENTAGE", "FIXED_AMOUNT"], BeforeValidator(_snake)]
NonGlType = Annotated[Literal["FIXED_AMOUNT", "PAYROLL", "REVENUE"], BeforeValidator(_snake)]
Month = Literal[
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


class AccountToggle(_Dto):
    code: str
    title: str
    is_enabled: bool


def _parse_accounts(value: object) -> object:
    # The DTO ships the account lists as JSON text inside JSON.
    if isinstance(value, str):
        return json.loads(value) if value.strip() else []
    return value if value is not None else []


Accounts = Annotated[list[AccountToggle], BeforeValidator(_parse_accounts)]


class InvoiceGroupDto(_Dto):
    id: str
    group_number: int = Field(ge=1, le=99)
    title: str | None = None
    description: str | None = None
    vendor_id: str | None = None
    site_number: str | None = None
    customer_name: str | None = None

    @field_validator("site_number")
    @classmethod
    def _pad(cls, value: str | None) -> str | None:
        return value.zfill(4) if value else value


class FixedFeeServiceDto(_Dto):
    id: str
    name: str | None = None
    display_name: str
    code: str
    fee: Dec
    start_date: str | None = None
    end_date: str | None = None
    invoice_group: int | None = None


class LaborHourJobDto(_Dto):
    id: str
    name: str | None = None
    display_name: str
    job_code: str
    rate: Dec
    overtime_rate: Dec | None = None
    start_date: str | None = None
    end_date: str | None = None
    invoice_group: int | None = None
    code: str | None = None
    is_salaried: bool = False


class TierDto(_Dto):
    share_percentage: Dec
    amount: Dec = Field(ge=0)
    escalator_value: Dec | None = None  # profit-share tier escalator (§2.14); absent in the 16 snapshots


class ThresholdStructureDto(_Dto):
    id: str
    revenue_codes: list[str]
    accumulation_type: Accumulation
    tiers: list[TierDto]
    validation_threshold_type: ValidationType | None = None
    validation_threshold_amount: Dec | None = None
    invoice_group: int | None = None


class BellServiceDto(_Dto):
    id: str
    invoice_group: int | None = None


class MidMonthAdvanceDto(_Dto):
    id: str
    amount: Dec
    line_title: MidMonthTitle
    invoice_group: int | None = None


class DepositedRevenueDto(_Dto):
    id: str
    towne_park_responsible_for_parking_tax: bool
    deposited_revenue_enabled: bool
    invoice_group: int | None = None


class BillableAccountDto(_Dto):
    id: str
    payroll_accounts_data: Accounts
    payroll_accounts_invoice_group: int | None = None
    payroll_accounts_line_title: str | None = None
    payroll_expense_accounts_data: Accounts
    payroll_expense_accounts_invoice_group: int | None = None
    payroll_expense_accounts_line_title: str | None = None
    payroll_taxes_enabled: bool = False
    payroll_taxes_billing_type: PtebType | None = None
    payroll_taxes_line_title: str | None = None
    payroll_taxes_percentage: Dec | None = None
    payroll_support_enabled: bool = False
    payroll_support_amount: Dec | None = None
    payroll_support_billing_type: SupportType | None = None
    payroll_support_line_title: str | None = None
    payroll_support_payroll_type: PayrollType | None = None
    additional_payroll_amount: Dec | None = None
    # PTEB % escalator (§1.5, §2.14); absent in the 16 snapshots, read by `towne escalate`
    payroll_taxes_escalator_enabled: bool = False
    payroll_taxes_escalator_month: int | None = Field(default=None, ge=1, le=12)
    payroll_taxes_escalator_type: EscalatorType | None = None
    payroll_taxes_escalator_value: Dec | None = None


class ManagementAgreementJobDto(_Dto):
    code: str
    description: str | None = None
    standard_rate: Dec
    overtime_rate: Dec
    standard_rate_escalator_value: Dec | None = None
    overtime_rate_escalator_value: Dec | None = None


class NonGlExpenseDto(_Dto):
    id: str | None = None
    expense_type: NonGlType
    payroll_type: PayrollType | None = None
    expense_amount: Dec
    expense_title: str | None = None
    final_period_billed: str | None = None
    sequence_number: int | None = None


class ManagementAgreementDto(_Dto):
    id: str
    invoice_group: int | None = None
    management_agreement_type: FeeType
    fixed_fee_amount: Dec | None = None
    labor_hour_job_code: str | None = None
    per_labor_hour_job_code_data: list[ManagementAgreementJobDto] = []
    labor_hour_rate: Dec | None = None
    labor_hour_overtime_rate: Dec | None = None
    revenue_percentage_amount: Dec | None = None
    insurance_enabled: bool = False
    insurance_type: InsuranceType | None = None
    insurance_additional_percentage: Dec | None = None
    insurance_fixed_fee_amount: Dec | None = None
    insurance_line_title: str | None = None
    claims_enabled: bool = False
    claims_type: ClaimsType | None = None
    claims_cap_amount: Dec | None = None
    claims_line_title: str | None = None
    profit_share_enabled: bool = False
    profit_share_accumulation_type: Accumulation | None = None
    profit_share_tier_data: list[TierDto] = []
    validation_threshold_enabled: bool = False
    validation_threshold_type: ValidationType | None = None
    validation_threshold_amount: Dec | None = None
    non_gl_billable_expenses_enabled: bool | None = None
    non_gl_billable_expenses: list[NonGlExpenseDto] = []
    # management-fee and profit-share escalators (§1.5, §2.14); absent in the 16 snapshots
    management_fee_escalator_enabled: bool = False
    management_fee_escalator_month: int | None = Field(default=None, ge=1, le=12)
    management_fee_escalator_type: EscalatorType | None = None
    management_fee_escalator_value: Dec | None = None
    profit_share_escalator_enabled: bool = False
    profit_share_escalator_month: int | None = Field(default=None, ge=1, le=12)
    profit_share_escalator_type: EscalatorType | None = None


class _Block(_Dto):
    enabled: bool


class InvoiceGroupingBlock(_Block):
    invoice_groups: list[InvoiceGroupDto] = []


class FixedFeeBlock(_Block):
    service_rates: list[FixedFeeServiceDto] = []


class PerLaborHourBlock(_Block):
    hours_backup_report: bool = False
    job_rates: list[LaborHourJobDto] = []


class PerOccupiedRoomBlock(_Block):
    room_rate: Dec = Decimal(0)
    invoice_group: int | None = None


class RevenueShareBlock(_Block):
    threshold_structures: list[ThresholdStructureDto] = []


class BellServiceBlock(_Block):
    bell_services: list[BellServiceDto] = []


class MidMonthAdvanceBlock(_Block):
    mid_month_advances: list[MidMonthAdvanceDto] = []


class DepositedRevenueBlock(_Block):
    deposit_data: list[DepositedRevenueDto] = []


class BillableAccountsBlock(_Block):
    billable_accounts_data: list[BillableAccountDto] = []


class ManagementAgreementBlock(_Block):
    management_fees: list[ManagementAgreementDto] = Field(default=[], alias="ManagementFees")


MONTHS: tuple[str, ...] = typing.get_args(Month)


class ContractDto(_Dto):
    """The `contract` object of a snapshot (domain.md §6.3)."""

    id: str
    purchase_order: str | None = None
    payment_terms: str | None = None
    billing_type: Literal["Arrears", "Advanced"]
    increment_month: Month | None = None
    increment_amount: Dec = Decimal(0)
    consumer_price_index: bool = False
    deviation_amount: Dec | None = None
    deviation_percentage: Dec | None = None
    deposits: bool = False
    contract_type: str | None = None
    supporting_reports: list[str] = []
    invoice_grouping: InvoiceGroupingBlock
    fixed_fee: FixedFeeBlock
    per_labor_hour: PerLaborHourBlock
    per_occupied_room: PerOccupiedRoomBlock
    revenue_share: RevenueShareBlock
    bell_service_fee: BellServiceBlock
    mid_month_advance: MidMonthAdvanceBlock
    deposited_revenue: DepositedRevenueBlock
    billable_accounts: BillableAccountsBlock
    management_agreement: ManagementAgreementBlock

    def enabled_blocks(self) -> set[str]:
        """Building-block codes (UPPER_SNAKE) whose `enabled` flag is set in the snapshot."""
        pairs = {
            "INVOICE_GROUPING": self.invoice_grouping,
            "FIXED_FEE": self.fixed_fee,
            "PER_LABOR_HOUR": self.per_labor_hour,
            "PER_OCCUPIED_ROOM": self.per_occupied_room,
            "REVENUE_SHARE": self.revenue_share,
            "BELL_SERVICE": self.bell_service_fee,
            "MID_MONTH_ADVANCE": self.mid_month_advance,
            "DEPOSITED_REVENUE": self.deposited_revenue,
            "BILLABLE_ACCOUNTS": self.billable_accounts,
            "MANAGEMENT_AGREEMENT": self.management_agreement,
        }
        return {code for code, block in pairs.items() if block.enabled}


class SnapshotDto(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    siteNumber: str
    customerName: str
    location: dict[str, Any]
    contract: ContractDto


def parse_snapshot(text: str) -> SnapshotDto:
    """Parse a snapshot file's text. `NaN` tokens (invalid JSON in the export, §6.3) become null.

    Raises `pydantic.ValidationError` (names the offending path) or `json.JSONDecodeError`.
    """
    return SnapshotDto.model_validate(json.loads(text.replace("NaN", "null")))


def settings_json(model: BaseModel) -> dict[str, Any]:
    """Snake_case JSON of a component's settings, decimals as strings, without the legacy row id."""
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=False, exclude={"id"})
    return data
