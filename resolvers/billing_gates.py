"""May this site's contract be billed for this service period? One place for the refusals (issue 10 §1, §4).

`check_billable(site, contract, period)` returns nothing when the period may be billed and raises a
`TowneError` otherwise. Statement generation (single and bulk, `resolvers.statements`) and billing previews
(`resolvers.billing`) call it before any computation, so a refused period produces no statement, no version
and no preview figures.

Rules:

* **Site closed** (`SiteClosed`, code `SITE_CLOSED`, HTTP 409): the service period starts after the site's
  close date. The period that contains the close date still bills, and bills whole: there is no pro-ration
  anywhere in the invoice engine (domain.md §0.1, §2.15). A site that is inactive without a close date (the
  PROD export's `statecode`) is not refused here: the close date is the rule.

* **Contract lifecycle** (issue 10 §4, `resolvers.amendments.check_billable`): a draft or archived contract
  bills nothing (`CONTRACT_NOT_ACTIVE`); no period that starts after the termination date or the end of an
  expired term (`CONTRACT_ENDED`).
"""

from __future__ import annotations

from billing import ServicePeriod
from db.models import Contract, CustomerSite
from resolvers.amendments import check_billable as check_contract
from resolvers.errors import SiteClosed, TowneError


def check_billable(site: CustomerSite, contract: Contract | None, period: ServicePeriod) -> None:
    """Raise when `period` of `site` (and its `contract`) may not be billed; see the module's rules."""
    if site.close_date is not None and period.start > site.close_date:
        raise SiteClosed(
            f"site {site.site_number} closed on {site.close_date.isoformat()}: service period {period.key} "
            f"starts after it and is not billed (the period containing the close date still is)",
            site_number=site.site_number,
            close_date=site.close_date,
            service_period=period.key,
        )
    if contract is not None:
        check_contract(contract, period)


def billable(site: CustomerSite, contract: Contract | None, period: ServicePeriod) -> bool:
    """Whether `check_billable` lets the period through (for lists that leave refused sites out)."""
    try:
        check_billable(site, contract, period)
    except TowneError:
        return False
    return True
