"""The GraphQL contract: one module per aggregate, each contributing its root fields, merged here.

    sites.py        Site, filters, `site`, `sites`
    site_mutations.py  `addCustomerSite`, `updateCustomerSite`, `closeCustomerSite`, `reopenCustomerSite`
    territories.py  layers, territories, assignments, `territoryLayers`, `territoryLayer`, `territory`
    contracts.py    Contract and its configuration rows (as amended, or a service period's edition)
    amendments.py   amendments, their approval, the contract term and lifecycle; contract_inputs.py the
                    typed header and building-block input
    billing.py      invoices, lines, previews, `billingPreviews`
    forecast.py     the P&L forecast, `forecast(siteNumber, year)`
    statements.py   statements, versions, `statement(s)`, `statementVersion`, `invoice`, the mutations
    periods.py      closed accounting periods: `accountingPeriod(s)`, `closePeriod`, the two-admin reopening
    users.py        User, Role, `me`, `users`, `saveUser`, `activateUser`, `deactivateUser`
    audit.py        the audit trail: `auditLog`, `Site.auditLog`, `Contract.auditLog`; mutation names
    reporting.py    `billingSummary` (aggregates in one SQL statement) and the portfolio reports
    problems.py     `Problem` members and the one error table; errors.py the error language; guard.py
                    the screening of string arguments; scalars.py Money, Rate, GeoJSON, JSON

A new territory mutation goes into `territories.py` as a `TerritoryMutations` class added to `Mutation`
below; its failures are `TowneError`s with a row in `problems.ERRORS`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.access import CallerRequired
from schema.amendments import ContractMutations, ContractRoot
from schema.audit import AuditRoot, name_operations
from schema.billing import BillingRoot
from schema.caches import DocumentCache, ValidationResultCache
from schema.compiled import CompiledReads
from schema.errors import ErrorLanguage
from schema.forecast import ForecastRoot
from schema.guard import guard_arguments
from schema.limits import limit_extensions
from schema.periods import PeriodMutations, PeriodRoot
from schema.plain import PlainReads, check_plain_roots
from schema.reporting import ReportingRoot
from schema.scalars import SCALARS
from schema.sending import SendMutations
from schema.site_mutations import SiteMutations
from schema.sites import SiteRoot
from schema.statements import StatementMutations, StatementRoot
from schema.territories import TerritoryMutations, TerritoryRoot
from schema.users import UserMutations, UserRoot
from server.settings import Settings

Query = merge_types(
    "Query",
    (
        SiteRoot,
        TerritoryRoot,
        BillingRoot,
        StatementRoot,
        ContractRoot,
        UserRoot,
        AuditRoot,
        ForecastRoot,
        ReportingRoot,
        PeriodRoot,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        StatementMutations,
        SendMutations,
        PeriodMutations,
        ContractMutations,
        SiteMutations,
        TerritoryMutations,
        UserMutations,
    ),
)
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Reads: sites, territories and their history, contracts, billing previews, statements, users, the audit trail, "
    "reporting aggregates."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Writes: statement generation and its lifecycle (domain.md §3), contract amendments with approval and "
    "the contract lifecycle (docs/contracts.md), territory editing (domain.md §4.3), user administration, site management (domain.md §1.2). Expected failures are `Problem` members; "
    "a field is null only together with an entry in `errors` (a malformed argument), so one failing alias "
    "leaves what its neighbours did and said."
)


class TowneSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Errors are logged once, translated, by `ErrorLanguage` (not with strawberry's traceback per error)."""


def build_schema(*, debug: bool = False, settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the error language (masking unless `debug`), the argument guard and the limits of
    `settings` (their defaults without): depth, aliases, tokens, cost, and no introspection in production;
    parsing and validation cached per document (`schema.caches`)."""
    limits = settings if settings is not None else Settings.model_construct()  # the defaults, not the env
    name_operations(Mutation)  # every unit of work of a mutation names it in the audit trail
    schema = TowneSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: ErrorLanguage(debug=debug),
            *limit_extensions(
                max_depth=limits.max_depth,
                max_aliases=limits.max_aliases,
                max_tokens=limits.max_tokens,
                max_cost=limits.max_cost,
                introspection=not limits.production,
            ),
            CallerRequired,
            DocumentCache,
            ValidationResultCache,
            CompiledReads,
            PlainReads,
        ],
        config=StrawberryConfig(scalar_map=SCALARS),
    )
    guard_arguments(schema)
    check_plain_roots(schema._schema)
    return schema


__all__ = ["Mutation", "Query", "build_schema"]
