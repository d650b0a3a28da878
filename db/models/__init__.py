"""All ORM models; importing this package registers every table on `Base.metadata`."""

from db.models.base import Base
from db.models.contract import (
    Contract,
    ContractComponent,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
)
from db.models.site import CustomerSite
from db.models.territory import SiteTerritoryAssignment, Territory, TerritoryLayer, TerritoryPart

__all__ = [
    "Base",
    "Contract",
    "ContractComponent",
    "CustomerSite",
    "FixedFeeService",
    "InvoiceGroup",
    "LaborHourJob",
    "RevenueShareThreshold",
    "SiteTerritoryAssignment",
    "Territory",
    "TerritoryLayer",
    "TerritoryPart",
]
