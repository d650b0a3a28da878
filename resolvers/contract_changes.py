"""Typed contract input → the canonical changes of an amendment, validated with field paths (issue 10 §2;
domain.md §1.3, §1.5, §2.0, §7 #21).

`header_changes` and `configuration_changes` read the GraphQL inputs (schema/contract_inputs.py) by attribute
and return the canonical changes (database column names, decimals as strings, dates ISO; component settings
exactly as `resolvers.contract_config.from_settings` accepts them). Every field is checked; all problems of one
input are collected and raised together as `InvalidContractInput`, each with its path in GraphQL names from the
mutation argument (`configuration.revenueShare.thresholds[0].tiers[1].percentage`) and a stable rule name.

`check_composed` applies the rules that need the whole configuration a contract would have after the change
(the legacy forms' rules, §1.5, and the engine's gates, §2.0), and finally builds the engine's
`billing.ContractConfig` from it through the one mapping from rows to the engine (`contract_config`), so a
configuration the engine would refuse is refused here, with the block's path, never as a 500.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import billing
from billing.money import round2
from db.models import (
    Contract,
    ContractComponent,
    CustomerSite,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
)
from db.repositories.contracts import ContractConfiguration
from resolvers.errors import FieldProblem, InvalidConfiguration, InvalidContractInput

SINGLE_ROW_BLOCKS = frozenset(
    {"BELL_SERVICE", "MID_MONTH_ADVANCE", "DEPOSITED_REVENUE", "BILLABLE_ACCOUNTS", "MANAGEMENT_AGREEMENT"}
)
_GL = re.compile(r"[0-9]{4}")
_SITE = re.compile(r"[0-9]{4}")
_REVENUE_CODE = re.compile(r"[A-Z0-9]{1,8}")
_AMOUNT_LIMIT = Decimal("1000000000000")  # numeric(14,2)
_RATE_LIMIT = Decimal("100000000")  # numeric(12,4)
_PERCENT_LIMIT = Decimal("100000")  # numeric(9,4)
TEXT_MAX = 200
NOTE_MAX = 4000
SUPPORTING_REPORTS = {
    "MIX_OF_SALES": "Mix Of Sales",
    "HOURS_BACKUP_REPORT": "Hours Backup Report",
    "TAX_REPORT": "Tax Report",
    "LABOR_DISTRIBUTION_REPORT": "Labor Distribution Report",
    "OTHER_EXPENSES_REPORT": "Other Expenses Report",
    "PARKING_DEPARTMENT_REPORT": "Parking Department Report",
    "VALIDATION_REPORT": "Validation Report",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _unset(value: Any) -> bool:
    from strawberry import UNSET as strawberry_unset

    return value is strawberry_unset


class Checker:
    """Collects the problems of one input; each check returns the canonical value (None when refused)."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def add(self, path: str, rule: str, message: str) -> None:
        self.problems.append(FieldProblem(path=path, rule=rule, message=message))

    def raise_if_any(self, what: str) -> None:
        if self.problems:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise InvalidContractInput(f"{what}: {first.path}: {first.message}{more}", problems=self.problems)

    def money(self, value: Decimal | None, path: str, *, negative: bool = False) -> str | None:
        """USD in cents, within numeric(14,2); `negative` allows amounts below zero."""
        if value is None:
            return None
        if not value.is_finite() or abs(value) >= _AMOUNT_LIMIT:
            self.add(path, "range", f"must be a finite amount below 1,000,000,000,000.00, got {value}")
        elif value != round2(value):
            self.add(path, "cents", f"must have at most two decimals (cents), got {value}")
        elif value < 0 and not negative:
            self.add(path, "non_negative", f"must not be negative, got {value}")
        else:
            return str(round2(value))
        return None

    def rate(self, value: Decimal | None, path: str) -> str | None:
        """USD per unit (hour, room) with at most 4 decimals, ≥ 0, within numeric(12,4)."""
        return self._scaled(value, path, limit=_RATE_LIMIT, unit="a rate")

    def percent(
        self, value: Decimal | None, path: str, *, maximum: Decimal | None = Decimal(100)
    ) -> str | None:
        """A whole-number-style percentage (30 = 30 %, §0.1): 0 … `maximum`, at most 4 decimals."""
        checked = self._scaled(value, path, limit=_PERCENT_LIMIT, unit="a percentage")
        if checked is not None and maximum is not None and Decimal(checked) > maximum:
            self.add(path, "range", f"is a percentage: at most {maximum}, got {value}")
            return None
        return checked

    def _scaled(self, value: Decimal | None, path: str, *, limit: Decimal, unit: str) -> str | None:
        if value is None:
            return None
        if not value.is_finite() or abs(value) >= limit:
            self.add(path, "range", f"must be {unit} below {limit}, got {value}")
        elif value != value.quantize(Decimal("0.0001")):
            self.add(path, "precision", f"must have at most four decimals, got {value}")
        elif value < 0:
            self.add(path, "non_negative", f"must not be negative, got {value}")
        else:
            return str(value.normalize()) if value == value.to_integral() else str(value)
        return None

    def text(
        self, value: str | None, path: str, *, required: bool = False, limit: int = TEXT_MAX
    ) -> str | None:
        if value is None:
            if required:
                self.add(path, "required", "is required")
            return None
        stripped = value.strip()
        if not stripped:
            if required:
                self.add(path, "required", "must not be empty")
            return None
        if len(stripped) > limit:
            self.add(path, "length", f"is {len(stripped)} characters long; at most {limit} are accepted")
            return None
        return stripped

    def gl(self, value: str | None, path: str, *, required: bool = False) -> str | None:
        if value is None or not value.strip():
            if required:
                self.add(path, "required", "is required: a GL main account of 4 digits, e.g. 4700")
            return None
        if not _GL.fullmatch(value.strip()):
            self.add(path, "gl_code", f"must be a GL main account of 4 digits, e.g. 4700, got {value[:20]!r}")
            return None
        return value.strip()

    def group(self, value: int | None, path: str) -> int | None:
        if value is None:
            return None
        if not 1 <= value <= 99:
            self.add(path, "range", f"must be an invoice group number 1–99, got {value}")
            return None
        return value

    def month(self, value: int | None, path: str) -> int | None:
        if value is None:
            return None
        if not 1 <= value <= 12:
            self.add(path, "range", f"must be a month 1–12, got {value}")
            return None
        return value

    def dates(self, start: dt.date | None, end: dt.date | None, path: str) -> tuple[str | None, str | None]:
        if start is not None and end is not None and end < start:
            self.add(f"{path}.endDate", "dates_ordered", f"{end} is before startDate {start}")
        return (start.isoformat() if start else None, end.isoformat() if end else None)


def _name(value: Any) -> str | None:
    return None if value is None else (value.name if isinstance(value, enum.Enum) else str(value))


# ---- the header (§1.3)

# GraphQL attribute → (column, kind, nullable)
_HEADER: tuple[tuple[str, str, str, bool], ...] = (
    ("billing_type", "billing_type", "enum", False),
    ("increment_percentage", "increment_percentage", "percent", False),
    ("increment_month", "increment_month", "month", True),
    ("consumer_price_index", "consumer_price_index", "bool", False),
    ("deviation_amount", "deviation_amount", "money", True),
    ("deviation_percentage", "deviation_percentage", "percent_open", True),
    ("payment_terms", "payment_terms", "text", True),
    ("purchase_order", "purchase_order", "text", True),
    ("notes", "notes", "note", True),
    ("accounts_payable", "accounts_payable", "note", True),
    ("deposits", "deposits", "bool", False),
    ("hours_backup_report", "hours_backup_report", "bool", False),
    ("supporting_reports", "supporting_reports", "reports", False),
)


def header_changes(header: Any, *, argument: str = "header") -> dict[str, Any]:
    """The changed header columns of a `ContractHeaderInput` (an unset field is unchanged, an explicit null
    clears a nullable one); raises `InvalidContractInput` with every problem."""
    check = Checker()
    out: dict[str, Any] = {}
    for attribute, column, kind, nullable in _HEADER:
        value = getattr(header, attribute, None)
        if _unset(value):
            continue
        path = f"{argument}.{_camel(attribute)}"
        if value is None:
            if nullable:
                out[column] = None
            else:
                check.add(path, "required", "cannot be cleared; leave it out to keep it")
            continue
        out[column] = _header_value(check, kind, value, path)
    if not out and not check.problems:
        check.add(argument, "required", "names no field to change")
    check.raise_if_any("the contract header was not changed")
    return out


def _header_value(check: Checker, kind: str, value: Any, path: str) -> Any:
    if kind == "enum":
        return _name(value)
    if kind == "percent":
        return check.percent(value, path)
    if kind == "percent_open":
        return check.percent(value, path, maximum=None)
    if kind == "month":
        return check.month(value, path)
    if kind == "money":
        return check.money(value, path)
    if kind == "text":
        return check.text(value, path)
    if kind == "note":
        return check.text(value, path, limit=NOTE_MAX)
    if kind == "reports":
        return [SUPPORTING_REPORTS[_name(v) or ""] for v in dict.fromkeys(value)]
    return bool(value)


# ---- building blocks (§1.5)


def configuration_changes(configuration: Any, *, argument: str = "configuration") -> dict[str, Any]:
    """The canonical changes of a `ContractConfigurationInput`: each block given replaces that block's whole
    configuration; raises `InvalidContractInput` with every problem of the input."""
    check = Checker()
    out: dict[str, Any] = {}
    header: dict[str, Any] = {}
    components: dict[str, Any] = {}
    blocks = getattr(configuration, "building_blocks", None)
    if blocks is not None:
        header["building_blocks"] = [b.name for b in dict.fromkeys(blocks)]
    given = False

    def at(block: str) -> str:
        return f"{argument}.{block}"

    grouping = getattr(configuration, "invoice_grouping", None)
    if grouping is not None:
        given = True
        out["invoice_groups"] = [_invoice_group(check, g, f"{at('invoiceGrouping')}.groups[{i}]")
                                 for i, g in enumerate(grouping.groups)]  # fmt: skip
    fixed = getattr(configuration, "fixed_fee", None)
    if fixed is not None:
        given = True
        out["fixed_fee_services"] = [_fixed_fee(check, s, f"{at('fixedFee')}.services[{i}]")
                                     for i, s in enumerate(fixed.services)]  # fmt: skip
    plh = getattr(configuration, "per_labor_hour", None)
    if plh is not None:
        given = True
        out["labor_hour_jobs"] = [
            _job(check, j, f"{at('perLaborHour')}.jobs[{i}]") for i, j in enumerate(plh.jobs)
        ]
        if plh.hours_backup_report is not None:
            header["hours_backup_report"] = bool(plh.hours_backup_report)
    por = getattr(configuration, "per_occupied_room", None)
    if por is not None:
        given = True
        path = at("perOccupiedRoom")
        header["occupied_room_rate"] = check.rate(por.room_rate, f"{path}.roomRate")
        header["occupied_room_code"] = check.gl(por.code, f"{path}.code")
        header["occupied_room_invoice_group"] = check.group(por.invoice_group, f"{path}.invoiceGroup")
    share = getattr(configuration, "revenue_share", None)
    if share is not None:
        given = True
        out["revenue_share_thresholds"] = [
            _threshold(check, t, f"{at('revenueShare')}.thresholds[{i}]", position=i + 1)
            for i, t in enumerate(share.thresholds)
        ]
    for attribute, block, build in (
        ("bell_service", "BELL_SERVICE", _bell),
        ("mid_month_advance", "MID_MONTH_ADVANCE", _mid_month),
        ("deposited_revenue", "DEPOSITED_REVENUE", _deposits),
        ("billable_accounts", "BILLABLE_ACCOUNTS", _billable_accounts),
        ("management_agreement", "MANAGEMENT_AGREEMENT", _management_agreement),
    ):
        value = getattr(configuration, attribute, None)
        if value is not None:
            given = True
            settings = build(check, value, at(_camel(attribute)))
            components[block] = {"invoice_group": settings.get("invoice_group"), "settings": settings}
    for index, removed in enumerate(getattr(configuration, "remove_blocks", None) or ()):
        name = removed.name
        if name not in SINGLE_ROW_BLOCKS:
            check.add(f"{argument}.removeBlocks[{index}]", "single_row_block",
                      f"{name} is not a single-row block; give its rows as an empty list instead")  # fmt: skip
        elif name in components:
            check.add(f"{argument}.removeBlocks[{index}]", "conflict", f"{name} is also set")
        else:
            given = True
            components[name] = None
    if header:
        out["header"] = header
    if components:
        out["components"] = components
    if not given and not header:
        check.add(argument, "required", "names no building block to set")
    check.raise_if_any("the configuration was not changed")
    return out


def _invoice_group(check: Checker, g: Any, path: str) -> dict[str, Any]:
    override = g.site_number_override
    if override is not None and not _SITE.fullmatch(override.strip().zfill(4)):
        check.add(
            f"{path}.siteNumberOverride",
            "site_number",
            f"must be a site number of 4 digits, got {override!r}",
        )
    return {
        "group_number": check.group(g.group_number, f"{path}.groupNumber"),
        "title": check.text(g.title, f"{path}.title", required=True),
        "description": check.text(g.description, f"{path}.description", limit=NOTE_MAX),
        "site_number_override": override.strip().zfill(4) if override else None,
        "customer_name": check.text(g.customer_name, f"{path}.customerName"),
        "vendor_id": check.text(g.vendor_id, f"{path}.vendorId", limit=64),
    }


def _fixed_fee(check: Checker, s: Any, path: str) -> dict[str, Any]:
    start, end = check.dates(s.start_date, s.end_date, path)
    return {
        "name": check.text(s.name, f"{path}.name"),
        "display_name": check.text(s.display_name, f"{path}.displayName", required=True),
        "code": check.gl(s.code, f"{path}.code", required=True),
        "fee": check.money(s.fee, f"{path}.fee"),
        "start_date": start,
        "end_date": end,
        "invoice_group": check.group(s.invoice_group, f"{path}.invoiceGroup"),
    }


def _job(check: Checker, j: Any, path: str) -> dict[str, Any]:
    start, end = check.dates(j.start_date, j.end_date, path)
    job_code = check.text(j.job_code, f"{path}.jobCode", required=True, limit=64)
    return {
        "name": check.text(j.name, f"{path}.name"),
        "display_name": check.text(j.display_name, f"{path}.displayName", required=True),
        "job_code": job_code,
        "code": check.gl(j.code, f"{path}.code"),
        "rate": check.rate(j.rate, f"{path}.rate"),
        "overtime_rate": check.rate(j.overtime_rate, f"{path}.overtimeRate"),
        "is_salaried": bool(j.is_salaried),
        "start_date": start,
        "end_date": end,
        "invoice_group": check.group(j.invoice_group, f"{path}.invoiceGroup"),
    }


def _tiers(check: Checker, tiers: Iterable[Any], path: str) -> list[dict[str, Any]]:
    """Tiers in stored order: each cap (`amount`) is a cumulative upper bound, 0 = unlimited, so caps ascend
    and only the last may be 0 (§2.4: a tier after an unlimited one is never reached)."""
    out: list[dict[str, Any]] = []
    tiers = list(tiers)
    if not tiers:
        check.add(path, "required", "needs at least one tier ({percentage, amount: 0} is a flat share)")
    previous: Decimal | None = None
    for index, tier in enumerate(tiers):
        where = f"{path}[{index}]"
        share = check.percent(tier.percentage, f"{where}.percentage")
        cap = check.money(tier.amount, f"{where}.amount")
        if cap is not None:
            value = Decimal(cap)
            if value == 0 and index != len(tiers) - 1:
                check.add(f"{where}.amount", "unlimited_tier_last",
                          "0 means unlimited: only the last tier may be unlimited")  # fmt: skip
            elif value != 0 and previous is not None and value <= previous:
                check.add(f"{where}.amount", "caps_ascending",
                          f"caps are cumulative upper bounds and must ascend: {value} ≤ {previous}")  # fmt: skip
            if value != 0:
                previous = value
        out.append({"share_percentage": share, "amount": cap})
    return out


def _threshold(check: Checker, t: Any, path: str, *, position: int) -> dict[str, Any]:
    codes: list[str] = []
    for index, code in enumerate(t.revenue_codes):
        normal = code.strip().upper()
        if not _REVENUE_CODE.fullmatch(normal):
            check.add(f"{path}.revenueCodes[{index}]", "revenue_code",
                      f"must be a revenue code such as VD1 or OR1, got {code[:20]!r}")  # fmt: skip
        elif normal in codes:
            check.add(f"{path}.revenueCodes[{index}]", "revenue_code_allocated_once",
                      f"{normal} is listed twice in this structure")  # fmt: skip
        else:
            codes.append(normal)
    if not t.revenue_codes:
        check.add(f"{path}.revenueCodes", "required", "needs at least one revenue code")
    kind = _name(t.validation_threshold_type)
    amount = check.percent(t.validation_threshold_amount, f"{path}.validationThresholdAmount", maximum=None)
    if kind is not None and amount is None and t.validation_threshold_amount is None:
        check.add(f"{path}.validationThresholdAmount", "required", f"is required with {kind}")
    return {
        "position": position,
        "revenue_codes": codes,
        "accumulation_type": _name(t.accumulation_type) or "MONTHLY",
        "tiers": _tiers(check, t.tiers, f"{path}.tiers"),
        "validation_threshold_type": kind,
        "validation_threshold_amount": amount,
        "invoice_group": check.group(t.invoice_group, f"{path}.invoiceGroup"),
    }


def _bell(check: Checker, b: Any, path: str) -> dict[str, Any]:
    return {"invoice_group": check.group(b.invoice_group, f"{path}.invoiceGroup")}


def _mid_month(check: Checker, m: Any, path: str) -> dict[str, Any]:
    return {
        "amount": check.money(m.amount, f"{path}.amount"),
        "line_title": _name(m.line_title) or "MID_MONTH_BILLING",
        "invoice_group": check.group(m.invoice_group, f"{path}.invoiceGroup"),
    }


def _deposits(check: Checker, d: Any, path: str) -> dict[str, Any]:
    return {
        "towne_park_responsible_for_parking_tax": bool(d.towne_park_responsible_for_parking_tax),
        "deposited_revenue_enabled": bool(d.deposited_revenue_enabled),
        "invoice_group": check.group(d.invoice_group, f"{path}.invoiceGroup"),
    }


def _accounts(
    check: Checker, accounts: Iterable[Any], path: str, *, first_digit: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, account in enumerate(accounts):
        code = check.gl(account.code, f"{path}[{index}].code", required=True)
        if code is not None and not code.startswith(first_digit):
            check.add(
                f"{path}[{index}].code",
                "account_range",
                f"must be a {first_digit}000-range account, got {code}",
            )
        elif code is not None and code in seen:
            check.add(f"{path}[{index}].code", "duplicate", f"{code} is listed twice")
        if code is not None:
            seen.add(code)
        out.append({"code": code, "title": check.text(account.title, f"{path}[{index}].title") or "",
                    "is_enabled": bool(account.is_enabled)})  # fmt: skip
    return out


def _escalator(
    check: Checker, value: Any, path: str, prefix: str, *, with_value: bool = True
) -> dict[str, Any]:
    if value is None:
        out: dict[str, Any] = {f"{prefix}_enabled": False, f"{prefix}_month": None, f"{prefix}_type": None}
        if with_value:
            out[f"{prefix}_value"] = None
        return out
    kind = _name(value.type) or "PERCENTAGE"
    out = {
        f"{prefix}_enabled": True,
        f"{prefix}_month": check.month(value.month, f"{path}.month"),
        f"{prefix}_type": kind,
    }
    if with_value:
        if value.value is None:
            check.add(f"{path}.value", "required", "is required: the percent or amount of the escalation")
        out[f"{prefix}_value"] = (
            check.percent(value.value, f"{path}.value", maximum=None)
            if kind == "PERCENTAGE"
            else check.money(value.value, f"{path}.value")
        )
    return out


def _billable_accounts(check: Checker, b: Any, path: str) -> dict[str, Any]:
    payroll_group = check.group(b.payroll_accounts_invoice_group, f"{path}.payrollAccountsInvoiceGroup")
    settings: dict[str, Any] = {
        "payroll_accounts_data": _accounts(
            check, b.payroll_accounts, f"{path}.payrollAccounts", first_digit="6"
        ),
        "payroll_accounts_invoice_group": payroll_group,
        "payroll_accounts_line_title": check.text(
            b.payroll_accounts_line_title, f"{path}.payrollAccountsLineTitle"
        ),
        "payroll_expense_accounts_data": _accounts(
            check, b.expense_accounts, f"{path}.expenseAccounts", first_digit="7"
        ),
        "payroll_expense_accounts_invoice_group": check.group(
            b.expense_accounts_invoice_group, f"{path}.expenseAccountsInvoiceGroup"
        ),
        "payroll_expense_accounts_line_title": check.text(
            b.expense_accounts_line_title, f"{path}.expenseAccountsLineTitle"
        ),
        "payroll_taxes_enabled": bool(b.payroll_taxes_enabled),
        "payroll_taxes_billing_type": _name(b.payroll_taxes_billing_type),
        "payroll_taxes_line_title": check.text(b.payroll_taxes_line_title, f"{path}.payrollTaxesLineTitle"),
        "payroll_taxes_percentage": check.percent(
            b.payroll_taxes_percentage, f"{path}.payrollTaxesPercentage"
        ),
        "payroll_support_enabled": bool(b.payroll_support_enabled),
        "payroll_support_amount": None,
        "payroll_support_billing_type": _name(b.payroll_support_billing_type),
        "payroll_support_line_title": check.text(
            b.payroll_support_line_title, f"{path}.payrollSupportLineTitle"
        ),
        "payroll_support_payroll_type": _name(b.payroll_support_payroll_type),
        "additional_payroll_amount": check.money(
            b.additional_payroll_amount, f"{path}.additionalPayrollAmount"
        ),
    }
    # the support amount is USD for FIXED and a percent for PERCENTAGE (§2.9)
    support = b.payroll_support_amount
    if settings["payroll_support_billing_type"] == "PERCENTAGE":
        settings["payroll_support_amount"] = check.percent(support, f"{path}.payrollSupportAmount")
    else:
        settings["payroll_support_amount"] = check.money(support, f"{path}.payrollSupportAmount")
    if settings["payroll_taxes_enabled"]:
        if settings["payroll_taxes_billing_type"] is None:
            check.add(f"{path}.payrollTaxesBillingType", "required", "is required when PTEB is enabled")
        elif settings["payroll_taxes_billing_type"] == "PERCENTAGE" and b.payroll_taxes_percentage is None:
            check.add(
                f"{path}.payrollTaxesPercentage", "required", "is required for PTEB billed as a percentage"
            )
    if settings["payroll_support_enabled"]:
        if settings["payroll_support_billing_type"] is None:
            check.add(
                f"{path}.payrollSupportBillingType", "required", "is required when support services are on"
            )
        if support is None:
            check.add(f"{path}.payrollSupportAmount", "required", "is required when support services are on")
    settings |= _escalator(
        check, b.payroll_taxes_escalator, f"{path}.payrollTaxesEscalator", "payroll_taxes_escalator"
    )
    return settings


def _management_agreement(check: Checker, m: Any, path: str) -> dict[str, Any]:
    fee_type = _name(m.fee_type) or "FIXED_FEE"
    jobs = []
    for index, job in enumerate(m.jobs or ()):
        where = f"{path}.jobs[{index}]"
        jobs.append(
            {
                "code": check.text(job.code, f"{where}.code", required=True, limit=64),
                "description": check.text(job.description, f"{where}.description"),
                "standard_rate": check.rate(job.standard_rate, f"{where}.standardRate"),
                "overtime_rate": check.rate(job.overtime_rate, f"{where}.overtimeRate"),
                "standard_rate_escalator_value": check.percent(
                    job.standard_rate_escalator_value, f"{where}.standardRateEscalatorValue", maximum=None
                ),
                "overtime_rate_escalator_value": check.percent(
                    job.overtime_rate_escalator_value, f"{where}.overtimeRateEscalatorValue", maximum=None
                ),
            }
        )
    settings: dict[str, Any] = {
        "management_agreement_type": fee_type,
        "invoice_group": check.group(m.invoice_group, f"{path}.invoiceGroup"),
        "fixed_fee_amount": check.money(m.fixed_fee_amount, f"{path}.fixedFeeAmount"),
        "per_labor_hour_job_code_data": jobs,
        "revenue_percentage_amount": check.percent(m.revenue_percentage, f"{path}.revenuePercentage"),
    }
    if fee_type == "FIXED_FEE" and m.fixed_fee_amount is None:
        check.add(f"{path}.fixedFeeAmount", "required", "is required for a FIXED_FEE management fee")
    if fee_type == "REVENUE_PERCENTAGE" and m.revenue_percentage is None:
        check.add(
            f"{path}.revenuePercentage", "required", "is required for a REVENUE_PERCENTAGE management fee"
        )
    if fee_type == "PER_LABOR_HOUR" and not jobs:
        check.add(f"{path}.jobs", "required", "a PER_LABOR_HOUR management fee needs at least one job")
    insurance = m.insurance
    settings |= {
        "insurance_enabled": insurance is not None,
        "insurance_type": _name(insurance.type) if insurance else None,
        "insurance_additional_percentage": check.percent(
            insurance.additional_percentage, f"{path}.insurance.additionalPercentage", maximum=None
        )
        if insurance
        else None,
        "insurance_fixed_fee_amount": check.money(
            insurance.fixed_fee_amount, f"{path}.insurance.fixedFeeAmount"
        )
        if insurance
        else None,
        "insurance_line_title": check.text(insurance.line_title, f"{path}.insurance.lineTitle")
        if insurance
        else None,
    }
    if insurance is not None and _name(insurance.type) == "FIXED_FEE" and insurance.fixed_fee_amount is None:
        check.add(f"{path}.insurance.fixedFeeAmount", "required", "is required for FIXED_FEE insurance")
    claims = m.claims
    settings |= {
        "claims_enabled": claims is not None,
        "claims_type": _name(claims.type) if claims else None,
        "claims_cap_amount": check.money(claims.cap_amount, f"{path}.claims.capAmount") if claims else None,
        "claims_line_title": check.text(claims.line_title, f"{path}.claims.lineTitle") if claims else None,
    }
    profit = m.profit_share
    settings |= {
        "profit_share_enabled": profit is not None,
        "profit_share_accumulation_type": _name(profit.accumulation_type) if profit else None,
        "profit_share_tier_data": _tiers(check, profit.tiers, f"{path}.profitShare.tiers") if profit else [],
    }
    settings |= _escalator(
        check, profit.escalator if profit else None, f"{path}.profitShare.escalator", "profit_share_escalator",
        with_value=False,
    )  # fmt: skip
    validation = m.validation_threshold
    settings |= {
        "validation_threshold_enabled": validation is not None,
        "validation_threshold_type": _name(validation.type) if validation else None,
        "validation_threshold_amount": check.percent(
            validation.amount, f"{path}.validationThreshold.amount", maximum=None
        )
        if validation
        else None,
    }
    expenses = []
    for index, expense in enumerate(m.non_gl_expenses or ()):
        where = f"{path}.nonGlExpenses[{index}]"
        kind = _name(expense.expense_type)
        amount = (
            check.money(expense.expense_amount, f"{where}.expenseAmount")
            if kind == "FIXED_AMOUNT"
            else check.percent(expense.expense_amount, f"{where}.expenseAmount")
        )
        expenses.append(
            {
                "expense_type": kind,
                "expense_amount": amount,
                "payroll_type": _name(expense.payroll_type),
                "expense_title": check.text(expense.expense_title, f"{where}.expenseTitle"),
                "final_period_billed": expense.final_period_billed.isoformat()
                if expense.final_period_billed
                else None,
                "sequence_number": expense.sequence_number,
            }
        )
    settings |= {
        "non_gl_billable_expenses_enabled": m.non_gl_expenses is not None,
        "non_gl_billable_expenses": expenses,
        "non_gl_billable_expense_code": check.gl(m.non_gl_expense_code, f"{path}.nonGlExpenseCode"),
    }
    settings |= _escalator(
        check, m.management_fee_escalator, f"{path}.managementFeeEscalator", "management_fee_escalator"
    )
    return settings


# ---- the whole configuration after a change (§1.5 form rules, §2.0 gates, the engine's own checks)

_BLOCK_PATHS = {
    "INVOICE_GROUPING": "invoiceGrouping",
    "FIXED_FEE": "fixedFee",
    "PER_LABOR_HOUR": "perLaborHour",
    "PER_OCCUPIED_ROOM": "perOccupiedRoom",
    "REVENUE_SHARE": "revenueShare",
    "BELL_SERVICE": "bellService",
    "MID_MONTH_ADVANCE": "midMonthAdvance",
    "DEPOSITED_REVENUE": "depositedRevenue",
    "BILLABLE_ACCOUNTS": "billableAccounts",
    "MANAGEMENT_AGREEMENT": "managementAgreement",
}
_TABLE_BLOCK = {
    "invoice_groups": "INVOICE_GROUPING",
    "fixed_fee_services": "FIXED_FEE",
    "labor_hour_jobs": "PER_LABOR_HOUR",
    "revenue_share_thresholds": "REVENUE_SHARE",
}


def _changed_blocks(changed: set[str], full: Mapping[str, Any]) -> set[str]:
    blocks = {_TABLE_BLOCK[key] for key in changed if key in _TABLE_BLOCK}
    if "components" in changed:
        blocks |= set(full.get("components") or {})
    header = full.get("header") or {}
    if "header" in changed:
        blocks |= set(header.get("building_blocks") or ())
    return blocks


def check_composed(
    full: Mapping[str, Any],
    *,
    changed: set[str],
    site_number: str,
    site_start_date: dt.date | None,
    argument: str,
) -> None:
    """Refuse a configuration the contract must not have from the amendment's period on (the open edition
    after the changes, every key present): the legacy forms' rules of §1.5 (each revenue code allocated once
    across structures; PLH with at least one non-salaried job; every invoice group with a title, numbers
    distinct), the gates of §2.0 (a block's rows naming an invoice group the contract lacks, an enabled
    block that could never bill), and whatever the engine itself refuses. Problems about blocks the
    amendment does not touch are still reported (the result must be billable), with the block's path."""
    check = Checker()
    header = full["header"]
    enabled = set(header.get("building_blocks") or ())
    touched = _changed_blocks(changed, full)

    def path(block: str, rest: str = "") -> str:
        return f"{argument}.{_BLOCK_PATHS[block]}{rest}"

    groups = [g for g in full.get("invoice_groups") or ()]
    numbers = [g["group_number"] for g in groups]
    grouping = "INVOICE_GROUPING" in enabled
    known = set(numbers) if grouping and groups else {1}
    for index, group in enumerate(groups):
        if numbers.count(group["group_number"]) > 1:
            check.add(path("INVOICE_GROUPING", f".groups[{index}].groupNumber"), "group_number_distinct",
                      f"group {group['group_number']} appears twice")  # fmt: skip
        if not (group.get("title") or "").strip():
            check.add(path("INVOICE_GROUPING", f".groups[{index}].title"), "group_title_required",
                      "every invoice group needs a title (§1.5)")  # fmt: skip

    def group_known(block: str, value: int | None, where: str, *, default: bool) -> None:
        number = value if value is not None else (1 if default else None)
        if block in enabled and number is not None and number not in known:
            check.add(where, "unknown_invoice_group",
                      f"invoice group {number} does not exist on the contract (groups: {sorted(known)})")  # fmt: skip

    for index, service in enumerate(full.get("fixed_fee_services") or ()):
        group_known("FIXED_FEE", service.get("invoice_group"),
                    path("FIXED_FEE", f".services[{index}].invoiceGroup"), default=True)  # fmt: skip
    jobs = list(full.get("labor_hour_jobs") or ())
    for index, job in enumerate(jobs):
        group_known("PER_LABOR_HOUR", job.get("invoice_group"),
                    path("PER_LABOR_HOUR", f".jobs[{index}].invoiceGroup"), default=True)  # fmt: skip
    if "PER_LABOR_HOUR" in enabled and "PER_LABOR_HOUR" in touched:
        if not jobs:
            check.add(
                path("PER_LABOR_HOUR", ".jobs"),
                "job_required",
                "per labor hour needs at least one job (§1.5)",
            )
        elif all(job.get("is_salaried") for job in jobs):
            check.add(path("PER_LABOR_HOUR", ".jobs"), "non_salaried_job_required",
                      "per labor hour needs at least one non-salaried job (§1.5)")  # fmt: skip
    thresholds = list(full.get("revenue_share_thresholds") or ())
    allocated: dict[str, int] = {}
    for index, structure in enumerate(thresholds):
        for code_index, code in enumerate(structure.get("revenue_codes") or ()):
            if code in allocated and allocated[code] != index:
                check.add(path("REVENUE_SHARE", f".thresholds[{index}].revenueCodes[{code_index}]"),
                          "revenue_code_allocated_once",
                          f"{code} is already allocated to thresholds[{allocated[code]}]: every revenue code goes "
                          "to exactly one structure (§1.5)")  # fmt: skip
            allocated.setdefault(code, index)
    if "REVENUE_SHARE" in enabled and "REVENUE_SHARE" in touched:
        if not thresholds:
            check.add(path("REVENUE_SHARE", ".thresholds"), "structure_required",
                      "revenue share needs at least one threshold structure")  # fmt: skip
        elif thresholds[0].get("invoice_group") is None:
            check.add(path("REVENUE_SHARE", ".thresholds[0].invoiceGroup"), "invoice_group_required",
                      "the first structure's invoice group has no default: without one revenue share never "
                      "bills (§2.0 gate 2)")  # fmt: skip
    if thresholds:
        group_known("REVENUE_SHARE", thresholds[0].get("invoice_group"),
                    path("REVENUE_SHARE", ".thresholds[0].invoiceGroup"), default=False)  # fmt: skip
    group_known("PER_OCCUPIED_ROOM", header.get("occupied_room_invoice_group"),
                path("PER_OCCUPIED_ROOM", ".invoiceGroup"), default=True)  # fmt: skip
    components = dict(full.get("components") or {})
    for block, component in components.items():
        if component is None:
            continue
        group = component.get("invoice_group")
        if block in enabled and block in touched and group is None and block != "BILLABLE_ACCOUNTS":
            check.add(path(block, ".invoiceGroup"), "invoice_group_required",
                      f"{block}'s invoice group has no default: without one it never bills (§2.0 gate 2)")  # fmt: skip
        group_known(block, group, path(block, ".invoiceGroup"), default=False)
    for block in sorted(touched & enabled & SINGLE_ROW_BLOCKS):
        if not components.get(block):
            check.add(path(block), "block_configuration_required",
                      f"{block} is enabled but has no configuration: give it, or leave the block out")  # fmt: skip
    check.raise_if_any("the configuration it would leave in force is refused")
    _engine_accepts(full, site_number=site_number, site_start_date=site_start_date, argument=argument)


def engine_config(
    full: Mapping[str, Any], *, site_number: str, site_start_date: dt.date | None
) -> billing.ContractConfig:
    """The engine's configuration of a canonical configuration (every key present), built through
    `contract_config`, the one mapping from rows to the engine; raises what it raises."""
    from db.repositories.amendments import _value
    from resolvers.contract_config import contract_config

    def rows(model: Any, items: Iterable[Mapping[str, Any]]) -> list[Any]:
        return [model(id=uuid.uuid4(), **{k: _value(model, k, v) for k, v in item.items()}) for item in items]

    header = {k: _value(Contract, k, v) for k, v in full["header"].items()}
    contract = Contract(id=uuid.uuid4(), **header)
    site = CustomerSite(site_number=site_number, start_date=site_start_date)
    configuration = ContractConfiguration(
        invoice_groups=rows(InvoiceGroup, full.get("invoice_groups") or ()),
        fixed_fee_services=rows(FixedFeeService, full.get("fixed_fee_services") or ()),
        labor_hour_jobs=rows(LaborHourJob, full.get("labor_hour_jobs") or ()),
        revenue_share_thresholds=rows(RevenueShareThreshold, full.get("revenue_share_thresholds") or ()),
        components=[
            ContractComponent(
                building_block=block, invoice_group=c.get("invoice_group"), settings=dict(c["settings"])
            )
            for block, c in (full.get("components") or {}).items()
            if c is not None
        ],
    )
    return contract_config(site, contract, configuration)


def _engine_accepts(
    full: Mapping[str, Any], *, site_number: str, site_start_date: dt.date | None, argument: str
) -> None:
    try:
        engine_config(full, site_number=site_number, site_start_date=site_start_date)
    except (InvalidConfiguration, ValueError, TypeError, KeyError, ArithmeticError) as error:
        raise InvalidContractInput(
            f"the billing engine refuses the configuration: {error}",
            problems=[FieldProblem(path=argument, rule="engine", message=str(error))],
        ) from error


__all__ = [
    "SUPPORTING_REPORTS",
    "Checker",
    "check_composed",
    "configuration_changes",
    "engine_config",
    "header_changes",
]
