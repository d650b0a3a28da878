"""Field-path validation of contract input (issue 10 §2): each rule refused with its path and rule name, every
problem of one input collected; valid input becomes the canonical changes the engine accepts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import billing
from billing import config as cfg
from billing.codes import (
    AccumulationType,
    ClaimsType,
    InsuranceType,
    ManagementAgreementType,
    MidMonthLineTitle,
    NonGlExpenseType,
    PayrollType,
    PtebBillingType,
    SupportServicesBillingType,
    ValidationThresholdType,
)
from billing.escalation import EscalationKind
from resolvers.contract_changes import check_composed, configuration_changes, engine_config, header_changes
from resolvers.contract_config import from_settings
from resolvers.errors import InvalidContractInput
from schema import contract_inputs as gi
from schema.contracts import BillingType, BuildingBlock
from schema.scalars import Rate


def _problems(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidContractInput) as caught:
        call()
    return [(p.path, p.rule) for p in caught.value.problems]


def _full(**changes: Any) -> dict[str, Any]:
    header = {"billing_type": "ARREARS", "building_blocks": [], "increment_percentage": "0",
              "consumer_price_index": False, "deposits": False, "hours_backup_report": False,
              "supporting_reports": []}  # fmt: skip
    header |= changes.pop("header", {})
    base = {"header": header, "invoice_groups": [], "fixed_fee_services": [], "labor_hour_jobs": [],
            "revenue_share_thresholds": [], "components": {}}  # fmt: skip
    return base | changes


def test_every_problem_of_one_input_is_reported_with_its_path() -> None:
    configuration = gi.ContractConfigurationInput(
        revenue_share=gi.RevenueShareInput(
            thresholds=[
                gi.ThresholdStructureInput(
                    revenue_codes=["VD1", "VD1", "bad code"],
                    tiers=[gi.TierInput(percentage=Rate(Decimal(24)), amount=Decimal(0)),
                           gi.TierInput(percentage=Rate(Decimal(130)), amount=Decimal("10.001"))],
                )
            ]
        ),
        fixed_fee=gi.FixedFeeInput(
            services=[gi.FixedFeeServiceInput(display_name=" ", code="47", fee=Decimal("1.005"),
                                              start_date=dt.date(2025, 5, 1), end_date=dt.date(2025, 4, 1),
                                              invoice_group=0)]
        ),
    )  # fmt: skip
    found = _problems(lambda: configuration_changes(configuration))
    assert sorted(found) == sorted(
        [
            ("configuration.fixedFee.services[0].displayName", "required"),
            ("configuration.fixedFee.services[0].endDate", "dates_ordered"),
            ("configuration.fixedFee.services[0].code", "gl_code"),
            ("configuration.fixedFee.services[0].fee", "cents"),
            ("configuration.fixedFee.services[0].invoiceGroup", "range"),
            ("configuration.revenueShare.thresholds[0].revenueCodes[1]", "revenue_code_allocated_once"),
            ("configuration.revenueShare.thresholds[0].revenueCodes[2]", "revenue_code"),
            ("configuration.revenueShare.thresholds[0].tiers[0].amount", "unlimited_tier_last"),
            ("configuration.revenueShare.thresholds[0].tiers[1].percentage", "range"),
            ("configuration.revenueShare.thresholds[0].tiers[1].amount", "cents"),
        ]
    )


def test_header_unset_is_unchanged_null_clears_and_required_columns_cannot_be_cleared() -> None:
    changes = header_changes(gi.ContractHeaderInput(purchase_order=None, payment_terms=" Net 30 ",
                                                    billing_type=BillingType.ADVANCED,
                                                    supporting_reports=[gi.SupportingReport.MIX_OF_SALES]))  # fmt: skip
    assert changes == {"billing_type": "ADVANCED", "payment_terms": "Net 30", "purchase_order": None,
                       "supporting_reports": ["Mix Of Sales"]}  # fmt: skip
    refused = _problems(lambda: header_changes(gi.ContractHeaderInput(deposits=None, increment_month=13)))
    assert sorted(refused) == [("header.deposits", "required"), ("header.incrementMonth", "range")]
    assert _problems(lambda: header_changes(gi.ContractHeaderInput())) == [("header", "required")]


def test_the_legacy_form_rules_on_the_whole_configuration() -> None:
    shared = {"position": 1, "revenue_codes": ["VD1"], "accumulation_type": "MONTHLY",
              "tiers": [{"share_percentage": "24", "amount": "0"}], "validation_threshold_type": None,
              "validation_threshold_amount": None, "invoice_group": None}  # fmt: skip
    full = _full(
        header={"building_blocks": ["REVENUE_SHARE", "PER_LABOR_HOUR", "INVOICE_GROUPING"]},
        revenue_share_thresholds=[shared, shared | {"position": 2, "invoice_group": 3}],
        labor_hour_jobs=[{"display_name": "Mgr", "job_code": "MGR", "rate": "30", "is_salaried": True,
                          "invoice_group": 2}],
        invoice_groups=[{"group_number": 1, "title": " "}],
    )  # fmt: skip
    found = _problems(
        lambda: check_composed(full, changed={"revenue_share_thresholds", "labor_hour_jobs"}, site_number="0001",
                               site_start_date=None, argument="configuration")
    )  # fmt: skip
    assert sorted(found) == sorted(
        [
            ("configuration.invoiceGrouping.groups[0].title", "group_title_required"),
            ("configuration.perLaborHour.jobs[0].invoiceGroup", "unknown_invoice_group"),
            ("configuration.perLaborHour.jobs", "non_salaried_job_required"),
            ("configuration.revenueShare.thresholds[1].revenueCodes[0]", "revenue_code_allocated_once"),
            ("configuration.revenueShare.thresholds[0].invoiceGroup", "invoice_group_required"),
        ]
    )


def test_valid_management_agreement_settings_are_what_the_engine_reads() -> None:
    configuration = gi.ContractConfigurationInput(
        building_blocks=[BuildingBlock.MANAGEMENT_AGREEMENT],
        management_agreement=gi.ManagementAgreementInput(
            fee_type=ManagementAgreementType.FIXED_FEE,
            invoice_group=1,
            fixed_fee_amount=Decimal("1500.00"),
            claims=gi.ClaimsInput(type=ClaimsType.ANNUAL_CALENDAR, cap_amount=Decimal("5000.00")),
            profit_share=gi.ProfitShareInput(
                tiers=[gi.TierInput(percentage=Rate(Decimal(20)), amount=Decimal(0))]
            ),
            management_fee_escalator=gi.EscalatorInput(month=7, value=Rate(Decimal(3))),
        ),
    )
    changes = configuration_changes(configuration)
    component = changes["components"]["MANAGEMENT_AGREEMENT"]
    agreement = from_settings(cfg.ManagementAgreement, component["settings"], where="test")
    assert (agreement.fixed_fee_amount, agreement.claims_cap_amount, agreement.invoice_group) == (
        Decimal("1500.00"), Decimal("5000.00"), 1,
    )  # fmt: skip
    assert component["settings"]["management_fee_escalator_month"] == 7
    check_composed(
        _full(header=changes["header"], components=changes["components"]),
        changed=set(changes), site_number="0001", site_start_date=None, argument="configuration",
    )  # fmt: skip


# ---- every real configuration can be entered through the input (the 16 PROD snapshots)


def _d(value: Any) -> Rate | None:
    return None if value is None else Rate(Decimal(str(value)))


def _escalator(settings: dict[str, Any], prefix: str) -> gi.EscalatorInput | None:
    if not settings.get(f"{prefix}_enabled"):
        return None
    kind = settings.get(f"{prefix}_type")
    return gi.EscalatorInput(
        month=settings[f"{prefix}_month"],
        type=EscalationKind[kind] if kind else EscalationKind.PERCENTAGE,
        value=_d(settings.get(f"{prefix}_value")),
    )


def _tiers(tiers: list[dict[str, Any]]) -> list[gi.TierInput]:
    return [
        gi.TierInput(percentage=Rate(Decimal(t["share_percentage"])), amount=Decimal(t["amount"]))
        for t in tiers
    ]


def _enum(kind: Any, value: Any) -> Any:
    return None if value is None else kind[value]


def _input_of(contract: Any, configuration: Any) -> gi.ContractConfigurationInput:
    """What a billing admin would type to enter this stored configuration."""
    components = {c.building_block: c.settings for c in configuration.components if c.valid_to is None}
    out = gi.ContractConfigurationInput(
        building_blocks=[billing.BuildingBlock[b] for b in contract.building_blocks],
        invoice_grouping=gi.InvoiceGroupingInput(
            groups=[gi.InvoiceGroupInput(group_number=g.group_number, title=g.title, description=g.description,
                                         site_number_override=g.site_number_override, customer_name=g.customer_name,
                                         vendor_id=g.vendor_id) for g in configuration.invoice_groups]
        ),
        fixed_fee=gi.FixedFeeInput(
            services=[gi.FixedFeeServiceInput(display_name=s.display_name, code=s.code, fee=s.fee, name=s.name,
                                              start_date=s.start_date, end_date=s.end_date,
                                              invoice_group=s.invoice_group) for s in configuration.fixed_fee_services]
        ),
        per_labor_hour=gi.PerLaborHourInput(
            jobs=[gi.LaborHourJobInput(display_name=j.display_name, job_code=j.job_code, rate=j.rate,
                                       overtime_rate=j.overtime_rate, code=j.code, name=j.name,
                                       is_salaried=j.is_salaried, start_date=j.start_date, end_date=j.end_date,
                                       invoice_group=j.invoice_group) for j in configuration.labor_hour_jobs]
        ),
        per_occupied_room=gi.PerOccupiedRoomInput(room_rate=Rate(contract.occupied_room_rate or Decimal(0)),
                                                  code=contract.occupied_room_code,
                                                  invoice_group=contract.occupied_room_invoice_group),
        revenue_share=gi.RevenueShareInput(
            thresholds=[gi.ThresholdStructureInput(
                revenue_codes=list(t.revenue_codes), tiers=_tiers(t.tiers),
                accumulation_type=AccumulationType[t.accumulation_type],
                validation_threshold_type=_enum(ValidationThresholdType, t.validation_threshold_type),
                validation_threshold_amount=t.validation_threshold_amount, invoice_group=t.invoice_group,
            ) for t in configuration.revenue_share_thresholds]
        ),
    )  # fmt: skip
    if (s := components.get("BELL_SERVICE")) is not None:
        out.bell_service = gi.BellServiceInput(invoice_group=s.get("invoice_group"))
    if (s := components.get("MID_MONTH_ADVANCE")) is not None:
        out.mid_month_advance = gi.MidMonthAdvanceInput(amount=Decimal(s["amount"]),
                                                        line_title=MidMonthLineTitle[s["line_title"]],
                                                        invoice_group=s.get("invoice_group"))  # fmt: skip
    if (s := components.get("DEPOSITED_REVENUE")) is not None:
        out.deposited_revenue = gi.DepositedRevenueInput(
            towne_park_responsible_for_parking_tax=bool(s["towne_park_responsible_for_parking_tax"]),
            deposited_revenue_enabled=bool(s["deposited_revenue_enabled"]), invoice_group=s.get("invoice_group"))  # fmt: skip
    if (s := components.get("BILLABLE_ACCOUNTS")) is not None:

        def accounts(items: list[dict[str, Any]]) -> list[gi.AccountInput]:
            return [
                gi.AccountInput(code=a["code"], title=a["title"], is_enabled=a["is_enabled"]) for a in items
            ]

        out.billable_accounts = gi.BillableAccountsInput(
            payroll_accounts=accounts(s["payroll_accounts_data"]),
            payroll_accounts_invoice_group=s.get("payroll_accounts_invoice_group"),
            payroll_accounts_line_title=s.get("payroll_accounts_line_title"),
            expense_accounts=accounts(s["payroll_expense_accounts_data"]),
            expense_accounts_invoice_group=s.get("payroll_expense_accounts_invoice_group"),
            expense_accounts_line_title=s.get("payroll_expense_accounts_line_title"),
            payroll_taxes_enabled=bool(s.get("payroll_taxes_enabled")),
            payroll_taxes_billing_type=_enum(PtebBillingType, s.get("payroll_taxes_billing_type")),
            payroll_taxes_line_title=s.get("payroll_taxes_line_title"),
            payroll_taxes_percentage=_d(s.get("payroll_taxes_percentage")),
            payroll_taxes_escalator=_escalator(s, "payroll_taxes_escalator"),
            payroll_support_enabled=bool(s.get("payroll_support_enabled")),
            payroll_support_amount=_d(s.get("payroll_support_amount")),
            payroll_support_billing_type=_enum(
                SupportServicesBillingType, s.get("payroll_support_billing_type")
            ),
            payroll_support_line_title=s.get("payroll_support_line_title"),
            payroll_support_payroll_type=_enum(PayrollType, s.get("payroll_support_payroll_type")),
            additional_payroll_amount=_d(s.get("additional_payroll_amount")),
        )
    if (s := components.get("MANAGEMENT_AGREEMENT")) is not None:
        out.management_agreement = gi.ManagementAgreementInput(
            fee_type=ManagementAgreementType[s["management_agreement_type"]],
            invoice_group=s.get("invoice_group"),
            fixed_fee_amount=_d(s.get("fixed_fee_amount")),
            jobs=[gi.ManagementFeeJobInput(code=j["code"], description=j.get("description"),
                                           standard_rate=Rate(Decimal(j["standard_rate"])),
                                           overtime_rate=Rate(Decimal(j["overtime_rate"])),
                                           standard_rate_escalator_value=_d(j.get("standard_rate_escalator_value")),
                                           overtime_rate_escalator_value=_d(j.get("overtime_rate_escalator_value")))
                  for j in s.get("per_labor_hour_job_code_data") or ()],
            revenue_percentage=_d(s.get("revenue_percentage_amount")),
            management_fee_escalator=_escalator(s, "management_fee_escalator"),
            insurance=gi.InsuranceInput(type=InsuranceType[s["insurance_type"]],
                                        additional_percentage=_d(s.get("insurance_additional_percentage")),
                                        fixed_fee_amount=_d(s.get("insurance_fixed_fee_amount")),
                                        line_title=s.get("insurance_line_title"))
            if s.get("insurance_enabled") else None,
            claims=gi.ClaimsInput(type=ClaimsType[s["claims_type"]], cap_amount=_d(s.get("claims_cap_amount")),
                                  line_title=s.get("claims_line_title"))
            if s.get("claims_enabled") else None,
            profit_share=gi.ProfitShareInput(tiers=_tiers(s.get("profit_share_tier_data") or []),
                                             accumulation_type=_enum(AccumulationType,
                                                                     s.get("profit_share_accumulation_type")),
                                             escalator=_escalator(s, "profit_share_escalator"))
            if s.get("profit_share_enabled") else None,
            validation_threshold=gi.ValidationThresholdInput(
                type=ValidationThresholdType[s["validation_threshold_type"]],
                amount=_d(s.get("validation_threshold_amount")))
            if s.get("validation_threshold_enabled") else None,
            non_gl_expenses=[gi.NonGlExpenseInput(
                expense_type=NonGlExpenseType[e["expense_type"]], expense_amount=Rate(Decimal(e["expense_amount"])),
                payroll_type=_enum(PayrollType, e.get("payroll_type")), expense_title=e.get("expense_title"),
                final_period_billed=dt.date.fromisoformat(e["final_period_billed"][:10])
                if e.get("final_period_billed") else None,
                sequence_number=e.get("sequence_number"))
                for e in s.get("non_gl_billable_expenses") or ()]
            if s.get("non_gl_billable_expenses_enabled") else None,
            non_gl_expense_code=s.get("non_gl_billable_expense_code"),
        )  # fmt: skip
    return out


async def test_every_snapshot_configuration_can_be_entered_through_the_input(db: Any) -> None:
    from sqlalchemy import select

    from db.models import Contract, CustomerSite
    from db.repositories.amendments import header_json
    from db.repositories.contracts import configurations
    from resolvers.amendments import compose
    from resolvers.contract_config import contract_config

    async with db.read() as session:
        rows = (
            await session.execute(
                select(CustomerSite, Contract)
                .join(Contract, Contract.site_id == CustomerSite.id)
                .where(Contract.configuration_source == "snapshot")
            )
        ).all()
        stored = await configurations(session, contract_ids=[c.id for _, c in rows])
    assert len(rows) == 16
    for site, contract in rows:
        configuration = stored[contract.id]
        changes = configuration_changes(_input_of(contract, configuration))
        empty = {"header": header_json(contract), "invoice_groups": [], "fixed_fee_services": [],
                 "labor_hour_jobs": [], "revenue_share_thresholds": [], "components": {}}  # fmt: skip
        full = compose(empty, changes)
        # the real configurations pass the form rules too (the legacy UI enforced them)
        check_composed(
            full, changed=set(changes), site_number=site.site_number, site_start_date=site.start_date,
            argument="configuration",
        )  # fmt: skip
        entered = engine_config(full, site_number=site.site_number, site_start_date=site.start_date)
        assert _enabled_parts(entered) == _enabled_parts(contract_config(site, contract, configuration)), (
            site.site_number
        )


_DISABLED = {  # a switched-off part of the agreement bills nothing; its stale values are not entered again
    "insurance_enabled": ("insurance_type", "insurance_additional_percentage", "insurance_fixed_fee_amount"),
    "claims_enabled": ("claims_type", "claims_cap_amount"),
    "profit_share_enabled": ("profit_share_accumulation_type",),
    "validation_threshold_enabled": ("validation_threshold_type", "validation_threshold_amount"),
}


def _enabled_parts(config: Any) -> Any:
    agreement = config.management_agreement
    if agreement is None:
        return config
    cleared = {f: None for flag, fields in _DISABLED.items() if not getattr(agreement, flag) for f in fields}
    return dataclasses.replace(config, management_agreement=dataclasses.replace(agreement, **cleared))
