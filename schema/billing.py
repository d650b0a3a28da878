"""Invoices, invoice lines and billing previews in the GraphQL contract (domain.md §1.6, §2, §3.4).

An `Invoice` is either computed on demand (a preview: no id) or stored on a statement version.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import billing
import billing.codes
from billing.lines import line_details
from resolvers import billing as billing_resolvers
from resolvers import validation
from resolvers.records import InvoiceRecord, LineRecord
from schema.common import Ctx, register_enum
from schema.contracts import BillingType, BuildingBlock
from schema.scalars import JSON

if TYPE_CHECKING:
    from schema.sites import Site, SiteFilter
    from schema.statements import Statement, StatementVersion

register_enum(
    billing.codes.AdhocLineType,
    name="AdhocLineType",
    description="GL code type of an ad-hoc line (domain.md §3.4).",
    values={
        "CLIENT_PAID_EXPENSE": "An expense the client paid: billed negative and deducted from profit share.",
        "REIMBURSABLE_EXPENSE": "An expense the client reimburses, billed as entered.",
        "MISCELLANEOUS_ITEM": "Any other item, billed as entered.",
        "NON_BILLABLE_EXPENSE": "An expense not billed to the client: billed negative.",
    },
)
AdhocLineType = billing.codes.AdhocLineType


@strawberry.type(description="Metadata flags of an invoice line (domain.md §1.6).")
class InvoiceLineFlags:
    is_adhoc: bool = strawberry.field(description="Entered by hand (§3.4), not produced by a building block.")
    is_profit_deduction: bool = strawberry.field(
        description="Deducted from profit before profit share (§2.10e)."
    )
    is_non_billable_expense: bool = strawberry.field(description="A non-billable expense (§3.4).")
    is_client_paid_expense: bool = strawberry.field(description="An expense the client paid (§3.4).")
    is_management_fee: bool = strawberry.field(description="The management fee line (§2.10a).")
    is_billable_payroll_accounts: bool = strawberry.field(description="Billable payroll accounts (§2.9).")
    is_pteb: bool = strawberry.field(description="Payroll taxes and employee benefits (§2.9).")
    is_support_services: bool = strawberry.field(description="Support services (§2.9).")
    is_billable_expense_accounts: bool = strawberry.field(description="Billable expense accounts (§2.9).")
    is_insurance: bool = strawberry.field(description="Insurance (§2.10b).")
    is_claims: bool = strawberry.field(description="Claims (§2.10b).")
    is_profit_share: bool = strawberry.field(description="The profit-share line (§2.10e).")
    is_deposited_revenue: bool = strawberry.field(description="Deposited revenue (§2.8).")
    is_paid_parking_tax: bool = strawberry.field(description="Parking tax paid by Towne Park (§2.8).")


FLAG_NAMES = tuple(InvoiceLineFlags.__annotations__)


@strawberry.type(description="A line of an invoice, with the inputs and formula behind its amount.")
class InvoiceLine:
    id: strawberry.ID | None = strawberry.field(description="`lineItemId`; null on a preview.")
    building_block: BuildingBlock | None = strawberry.field(description="Null for ad-hoc lines.")
    adhoc_type: AdhocLineType | None = strawberry.field(description="The GL code type of an ad-hoc line.")
    title: str = strawberry.field(description="Printed title.")
    code: str = strawberry.field(description="GL main account, e.g. 4790.")
    description: str = strawberry.field(description="Printed description.")
    amount: Decimal = strawberry.field(description="USD.")
    explanation: str = strawberry.field(
        description="Inputs used and the formula applied, with the domain rule."
    )
    flags: InvoiceLineFlags = strawberry.field(description="The §1.6 metadata flags.")
    monthly_profit: Decimal | None = strawberry.field(
        description="P_month of a profit-share line (§2.10e), USD."
    )
    taxes_paid: Decimal | None = strawberry.field(
        description="Parking tax of a deposited-revenue line (§2.8), USD."
    )
    details: JSON = strawberry.field(
        description="Structured inputs behind the figure: revenue-share distribution, validation allocation, "
        "profit-share tiers (decimals as strings)."
    )

    @classmethod
    def build(cls, line: billing.InvoiceLine | LineRecord) -> InvoiceLine:
        """From an engine line (a preview) or a stored `invoice_line` row; both carry the flags."""
        block: Any = line.building_block
        adhoc: Any = line.adhoc_type
        return cls(
            id=strawberry.ID(str(line.id)) if isinstance(line, LineRecord) else None,
            building_block=billing.BuildingBlock[block] if isinstance(block, str) else block,
            adhoc_type=billing.codes.AdhocLineType[adhoc] if isinstance(adhoc, str) else adhoc,
            title=line.title,
            code=line.code,
            description=line.description,
            amount=line.amount,
            explanation=line.explanation,
            flags=InvoiceLineFlags(**{name: bool(getattr(line, name, False)) for name in FLAG_NAMES}),
            monthly_profit=line.monthly_profit,
            taxes_paid=line.taxes_paid,
            details=JSON(line.details if isinstance(line, LineRecord) else line_details(line)),
        )


@strawberry.type(
    description="One invoice of a statement: one per invoice group with at least one line (§3.4)."
)
class Invoice:
    id: strawberry.ID | None = strawberry.field(description="Null on a preview.")
    group_number: int = strawberry.field(description="The invoice group, from 1.")
    invoice_number: str = strawberry.field(description="`site-yyyyMM-GG-VV` (§3.4).")
    invoice_date: dt.date = strawberry.field(
        description="Arrears: last day of the month; Advanced: the 1st before."
    )
    title: str | None = strawberry.field(description="From the invoice group.")
    description: str | None = strawberry.field(description="From the invoice group.")
    payment_terms: str | None = strawberry.field(description="From the contract.")
    purchase_order: str | None = strawberry.field(description="From the contract.")
    amount: Decimal = strawberry.field(
        description="USD: Σ lines (§2.11), or the management-agreement rule (§2.10e)."
    )
    superseded: bool = strawberry.field(
        description="Its statement version was replaced by a newer one; false on a preview."
    )
    _row: strawberry.Private[InvoiceRecord | None]
    _lines: strawberry.Private[list[InvoiceLine] | None]

    @classmethod
    def from_engine(cls, invoice: billing.Invoice) -> Invoice:
        return cls(
            id=None,
            group_number=invoice.group_number,
            invoice_number=invoice.invoice_number,
            invoice_date=invoice.invoice_date,
            title=invoice.title,
            description=invoice.description,
            payment_terms=invoice.payment_terms,
            purchase_order=invoice.purchase_order,
            amount=invoice.amount,
            superseded=False,
            _row=None,
            _lines=[InvoiceLine.build(line) for line in invoice.lines],
        )

    @classmethod
    def from_row(cls, row: InvoiceRecord) -> Invoice:
        return cls(
            id=strawberry.ID(str(row.id)),
            group_number=row.group_number,
            invoice_number=row.invoice_number,
            invoice_date=row.invoice_date,
            title=row.title,
            description=row.description,
            payment_terms=row.payment_terms,
            purchase_order=row.purchase_order,
            amount=row.amount,
            superseded=row.superseded,
            _row=row,
            _lines=None,
        )

    @strawberry.field(
        description="Path of the invoice's PDF (`/invoices/{id}.pdf`, relative to the API's origin; GET it with "
        "the same bearer token): header, lines and total, and the contract's supporting reports with data as "
        "appendices (§3.4, §3.7; docs/invoices.md). Null on a preview."
    )
    def pdf_url(self) -> str | None:
        return f"/invoices/{self.id}.pdf" if self.id is not None else None

    @strawberry.field(description="The lines in invoice order (§2.11).")
    async def lines(self, info: Ctx) -> list[InvoiceLine]:
        if self._lines is not None:
            return self._lines
        assert self._row is not None
        return [
            InvoiceLine.build(line) for line in await info.context.loaders.lines_of_invoice.load(self._row.id)
        ]

    @strawberry.field(description="The statement version the invoice belongs to; null on a preview.")
    async def statement_version(
        self, info: Ctx
    ) -> Annotated[StatementVersion, strawberry.lazy("schema.statements")] | None:
        from schema.statements import StatementVersion

        if self._row is None:
            return None
        version = await info.context.loaders.version_by_id.load(self._row.statement_version_id)
        return StatementVersion.from_row(version) if version else None

    @strawberry.field(
        description="The statement (stable id, acting on its current version); null on a preview."
    )
    async def statement(self, info: Ctx) -> Annotated[Statement, strawberry.lazy("schema.statements")] | None:
        from schema.statements import Statement

        if self._row is None:
            return None
        version = await info.context.loaders.version_by_id.load(self._row.statement_version_id)
        assert version is not None
        view = await info.context.loaders.statement_by_id.load(version.statement_id)
        return Statement.from_view(view) if view else None


@strawberry.type(description="Invoices of one site and service period, computed on demand (not persisted).")
class BillingPreview:
    site_number: str = strawberry.field(description="4-digit site number.")
    service_period: str = strawberry.field(description="YYYY-MM")
    billing_type: BillingType = strawberry.field(description="Arrears or Advanced.")
    version: int = strawberry.field(description="VV the invoice numbers carry (1 for a preview).")
    rate_selection_date: dt.date = strawberry.field(
        description="Rate rows are those active on this date (§2.15)."
    )
    invoices: list[Invoice] = strawberry.field(description="One per invoice group with at least one line.")
    total: Decimal = strawberry.field(description="Σ invoice amounts, USD.")
    not_computed: list[BuildingBlock] = strawberry.field(
        description="Enabled building blocks this engine version does not compute yet (never silently 0)."
    )
    warnings: list[str] = strawberry.field(
        description="What is missing or assumed in the configuration and facts."
    )

    @classmethod
    def from_result(cls, result: billing.BillingPreview) -> BillingPreview:
        return cls(
            site_number=result.site_number,
            service_period=result.service_period.key,
            billing_type=result.billing_type,
            version=result.version,
            rate_selection_date=result.rate_selection_date,
            invoices=[Invoice.from_engine(inv) for inv in result.invoices],
            total=result.total,
            not_computed=list(result.not_computed),
            warnings=list(result.warnings),
        )


@strawberry.type(description="A site and its billing preview (null preview: no contract).")
class SiteBillingPreview:
    site: Annotated[Site, strawberry.lazy("schema.sites")] = strawberry.field(description="The site.")
    preview: BillingPreview | None = strawberry.field(description="Null when the site has no contract.")


@strawberry.type
class BillingRoot:
    @strawberry.field(
        description="Billing previews of many sites for one service period, facts fetched set-based "
        "(a fixed number of SQL statements whatever the number of sites). At most 1000 sites per call."
    )
    async def billing_previews(
        self,
        info: Ctx,
        service_period: Annotated[str, strawberry.argument(description="YYYY-MM, 2000-01 … 2099-12.")],
        filter: Annotated[
            Annotated[SiteFilter, strawberry.lazy("schema.sites")] | None,
            strawberry.argument(description="Which sites; null: all."),
        ] = None,
        first: Annotated[int, strawberry.argument(description="At most this many sites, 0–1000.")] = 1000,
    ) -> list[SiteBillingPreview]:
        from schema.sites import Site, filter_input

        validation.page_size(first, maximum=1000)
        period = validation.service_period(service_period)
        rows, previews = await billing_resolvers.portfolio_previews(
            info.context, raw=filter_input(filter), period=period, limit=first
        )
        return [
            SiteBillingPreview(
                site=Site.from_row(row),
                preview=BillingPreview.from_result(previews[row.id]) if row.id in previews else None,
            )
            for row in rows
        ]
