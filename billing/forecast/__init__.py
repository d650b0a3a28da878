"""Forecast (P&L) revenue calculators with the C# semantics (domain.md §2.1–§2.13 "Forecast", §5 T-1..T-9, C-1).

Deliberately separate from the invoice engine: the forecast reads the same contract data with the C#
calculators' meaning (e.g. revenue-share tier ``Amount`` = lower bound here, cap in :mod:`billing.tiers`;
example T-2 pins both). Standard library only; money is ``Decimal`` and nothing is rounded unless stated.
Entry points: :func:`forecast_site_month`, :func:`forecast_month`, :func:`forecast_year`, or each calculator.
"""

from __future__ import annotations

from .billable_accounts import (
    AdditionalPayrollForecast,
    ExpenseAccountsForecast,
    PtebEscalation,
    PtebForecast,
    SupportServicesForecast,
    forecast_additional_payroll,
    forecast_billable_pteb,
    forecast_expense_accounts,
    forecast_support_services,
)
from .escalation import EscalatedValue, Escalator
from .external_revenue import (
    EXTERNAL_REVENUE_CATEGORIES,
    ExternalRevenueForecast,
    RevenueComponent,
    forecast_external_revenue,
)
from .fixed_fee import FixedFeeForecast, FixedFeeRowForecast, forecast_fixed_fee
from .inputs import (
    FORECASTABLE_ACCOUNTS,
    BillableAccountRow,
    BillableExpenseBudget,
    BudgetEntry,
    BudgetRow,
    EscalatorType,
    FixedFeeRow,
    ForecastContract,
    ForecastFacts,
    ForecastTier,
    LaborHourJobRow,
    OtherExpenseForecast,
    ParkingRate,
    ParkingRateDetail,
    PayrollDetail,
    PtebBillingType,
    RateCategory,
    RevenueShareStructure,
    SiteForecastInput,
    SiteStatisticDetail,
    StatisticType,
    SupportBillingType,
    SupportPayrollType,
    parse_tiers,
)
from .labor_hours import (
    HOURS_FROM_BUDGET,
    HOURS_FROM_PAYROLL,
    LaborJobForecast,
    PerLaborHourForecast,
    forecast_per_labor_hour,
)
from .occupied_rooms import PerOccupiedRoomForecast, forecast_per_occupied_room
from .pnl import (
    INTERNAL_CALCULATOR_ORDER,
    BillableAccountsForecast,
    ForecastOptions,
    MonthForecast,
    PnlForecast,
    SiteMonthForecast,
    forecast_month,
    forecast_site_month,
    forecast_year,
)
from .revenue_share import RevenueShareForecast, forecast_revenue_share
from .statistics import StatisticSelection, select_statistics
from .tiers import ForecastTierShare, TierBand, lower_bound_bands, lower_bound_shares

__all__ = [
    "EXTERNAL_REVENUE_CATEGORIES",
    "FORECASTABLE_ACCOUNTS",
    "HOURS_FROM_BUDGET",
    "HOURS_FROM_PAYROLL",
    "INTERNAL_CALCULATOR_ORDER",
    "AdditionalPayrollForecast",
    "BillableAccountRow",
    "BillableAccountsForecast",
    "BillableExpenseBudget",
    "BudgetEntry",
    "BudgetRow",
    "EscalatedValue",
    "Escalator",
    "EscalatorType",
    "ExpenseAccountsForecast",
    "ExternalRevenueForecast",
    "FixedFeeForecast",
    "FixedFeeRow",
    "FixedFeeRowForecast",
    "ForecastContract",
    "ForecastFacts",
    "ForecastOptions",
    "ForecastTier",
    "ForecastTierShare",
    "LaborHourJobRow",
    "LaborJobForecast",
    "MonthForecast",
    "OtherExpenseForecast",
    "ParkingRate",
    "ParkingRateDetail",
    "PayrollDetail",
    "PerLaborHourForecast",
    "PerOccupiedRoomForecast",
    "PnlForecast",
    "PtebBillingType",
    "PtebEscalation",
    "PtebForecast",
    "RateCategory",
    "RevenueComponent",
    "RevenueShareForecast",
    "RevenueShareStructure",
    "SiteForecastInput",
    "SiteMonthForecast",
    "SiteStatisticDetail",
    "StatisticSelection",
    "StatisticType",
    "SupportBillingType",
    "SupportPayrollType",
    "SupportServicesForecast",
    "TierBand",
    "forecast_additional_payroll",
    "forecast_billable_pteb",
    "forecast_expense_accounts",
    "forecast_external_revenue",
    "forecast_fixed_fee",
    "forecast_month",
    "forecast_per_labor_hour",
    "forecast_per_occupied_room",
    "forecast_revenue_share",
    "forecast_site_month",
    "forecast_support_services",
    "forecast_year",
    "lower_bound_bands",
    "lower_bound_shares",
    "parse_tiers",
    "select_statistics",
]
