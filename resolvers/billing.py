"""Billing figures on demand: contract rows → `billing.ContractConfig` → `billing.preview` (nothing persisted)."""

from __future__ import annotations

from billing import (
    BillingPreview,
    BillingType,
    BuildingBlock,
    ContractConfig,
    FixedFeeService,
    InvoiceGroup,
    PeriodError,
    ServicePeriod,
    preview,
)
from db.models import Contract, CustomerSite
from db.repositories.contracts import ContractConfiguration
from resolvers.context import Context
from resolvers.errors import BadUserInput


def contract_config(
    site: CustomerSite, contract: Contract, configuration: ContractConfiguration
) -> ContractConfig:
    """The engine's view of a stored contract (domain.md §1.3–§1.5)."""
    return ContractConfig(
        site_number=site.site_number,
        billing_type=BillingType[contract.billing_type],
        building_blocks=frozenset(BuildingBlock[b] for b in contract.building_blocks),
        invoice_groups=tuple(
            InvoiceGroup(
                number=g.group_number,
                title=g.title,
                description=g.description,
                site_number=g.site_number_override,
                customer_name=g.customer_name,
                vendor_id=g.vendor_id,
            )
            for g in configuration.invoice_groups
        ),
        fixed_fee_services=tuple(
            FixedFeeService(
                display_name=s.display_name,
                code=s.code,
                fee=s.fee,
                name=s.name,
                start_date=s.start_date,
                end_date=s.end_date,
                invoice_group=s.invoice_group,
            )
            for s in configuration.fixed_fee_services
        ),
        payment_terms=contract.payment_terms,
        purchase_order=contract.purchase_order,
        increment_percentage=contract.increment_percentage,
        increment_month=contract.increment_month,
    )


def parse_period(text: str | None, billing_type: BillingType, ctx: Context) -> ServicePeriod:
    """`YYYY-MM`, or the default period of the billing type (§3.2) when omitted."""
    if text is None:
        return ServicePeriod.default_for(billing_type, ctx.today)
    try:
        return ServicePeriod.parse(text)
    except PeriodError as exc:
        raise BadUserInput(str(exc), argument="servicePeriod") from exc


async def billing_preview(
    ctx: Context, site: CustomerSite, service_period: str | None
) -> BillingPreview | None:
    """Invoices and totals of the site for the period, computed now; None when the site has no contract."""
    if service_period is not None:
        try:
            ServicePeriod.parse(service_period)
        except PeriodError as exc:
            raise BadUserInput(str(exc), argument="servicePeriod") from exc
    contract = await ctx.loaders.contract_by_site.load(site.id)
    if contract is None:
        return None
    configuration = await ctx.loaders.configuration.load(contract.id)
    config = contract_config(site, contract, configuration)
    return preview(config, parse_period(service_period, config.billing_type, ctx))
