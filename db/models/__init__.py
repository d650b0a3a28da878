"""All ORM models; importing this package registers every table on `Base.metadata`."""

from db.models.audit import AuditLog
from db.models.base import Base
from db.models.contract import (
    Contract,
    ContractAmendment,
    ContractComponent,
    ContractHeaderHistory,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
)
from db.models.facts import (
    ForecastInternalRevenue,
    LedgerBalance,
    OccupiedRoomsDaily,
    ReadyForInvoiceComment,
    RevenueDaily,
    TimesheetMinutes,
)
from db.models.forecast import (
    BillableExpenseBudget,
    BudgetValue,
    ForecastPayrollHours,
    OtherExpenseForecast,
    ParkingRate,
    SiteStatisticDay,
)
from db.models.geography import UsState
from db.models.period import AccountingPeriod, AccountingPeriodEvent
from db.models.sending import SendAttempt, SendJob
from db.models.site import CustomerSite
from db.models.statement import (
    BillingStatement,
    GenerationBatch,
    GlRequestLog,
    Invoice,
    InvoiceLine,
    StatementEvent,
    StatementGeneration,
    StatementVersion,
)
from db.models.territory import (
    SiteChange,
    SiteTerritoryAssignment,
    Territory,
    TerritoryChange,
    TerritoryChangeMarker,
    TerritoryLayer,
    TerritoryPart,
    TerritoryVersion,
)
from db.models.user import ROLES, AppUser, AppUserRole, AppUserSite, AppUserTerritory

__all__ = [
    "ROLES",
    "AccountingPeriod",
    "AccountingPeriodEvent",
    "AppUser",
    "AppUserRole",
    "AppUserSite",
    "AppUserTerritory",
    "AuditLog",
    "Base",
    "BillableExpenseBudget",
    "BillingStatement",
    "BudgetValue",
    "Contract",
    "ContractAmendment",
    "ContractComponent",
    "ContractHeaderHistory",
    "CustomerSite",
    "FixedFeeService",
    "ForecastInternalRevenue",
    "ForecastPayrollHours",
    "GenerationBatch",
    "GlRequestLog",
    "Invoice",
    "InvoiceGroup",
    "InvoiceLine",
    "LaborHourJob",
    "LedgerBalance",
    "OccupiedRoomsDaily",
    "OtherExpenseForecast",
    "ParkingRate",
    "ReadyForInvoiceComment",
    "RevenueDaily",
    "RevenueShareThreshold",
    "SendAttempt",
    "SendJob",
    "SiteChange",
    "SiteStatisticDay",
    "SiteTerritoryAssignment",
    "StatementEvent",
    "StatementGeneration",
    "StatementVersion",
    "Territory",
    "TerritoryChange",
    "TerritoryChangeMarker",
    "TerritoryLayer",
    "TerritoryPart",
    "TerritoryVersion",
    "TimesheetMinutes",
    "UsState",
]
