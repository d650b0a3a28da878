"""The records the service layer hands to the schema, named for it (the schema never imports `db`).

Field resolvers read these rows and views; they are the service layer's results, not a second model.
"""

from __future__ import annotations

from db.models import Contract as ContractRecord
from db.models import ContractAmendment as ContractAmendmentRecord
from db.models import CustomerSite as SiteRecord
from db.models import Invoice as InvoiceRecord
from db.models import InvoiceLine as LineRecord
from db.models import SendAttempt as SendAttemptRecord
from db.models import SendJob as SendJobRecord
from db.models import StatementEvent as EventRecord
from db.models import StatementVersion as VersionRecord
from db.models import TerritoryLayer as LayerRecord
from db.repositories.contracts import ContractConfiguration
from db.repositories.sites import AssignmentView, SiteOrder, SiteQuery
from db.repositories.statements import StatementQuery as StatementFilterRecord
from db.repositories.statements import StatementView
from db.repositories.territories import SiteChange, TerritoryView

__all__ = [
    "AssignmentView",
    "ContractAmendmentRecord",
    "ContractConfiguration",
    "ContractRecord",
    "EventRecord",
    "InvoiceRecord",
    "LayerRecord",
    "LineRecord",
    "SendAttemptRecord",
    "SendJobRecord",
    "SiteChange",
    "SiteOrder",
    "SiteQuery",
    "SiteRecord",
    "StatementFilterRecord",
    "StatementView",
    "TerritoryView",
    "VersionRecord",
]
