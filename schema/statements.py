"""Statements in the GraphQL contract: types, queries, mutations (domain.md §3).

Expected failures of mutations are members of each payload union, all implementing `Problem { code message }`;
malformed arguments (a bad period or id) are GraphQL errors with `extensions.code = BAD_USER_INPUT`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import strawberry

import billing
import billing.codes
from billing.statements import StatementStatus as StatusCode
from db.models import BillingStatement
from db.models import Invoice as InvoiceRow
from db.models import StatementEvent as EventRow
from db.repositories import statements as statement_repo
from db.repositories.statements import StatementQuery
from resolvers import statements as service
from resolvers.errors import BadUserInput
from resolvers.sites import decode_cursor, encode_cursor
from schema.types import Ctx, Invoice, InvoiceLine, PageInfo, Site

# strawberry.enum registers the GraphQL enum on the class itself, so fields are annotated with the classes
strawberry.enum(StatusCode, name="StatementStatus", description="§3.5")
StatementStatus = StatusCode
BillingType = billing.BillingType
AdhocLineType = billing.codes.AdhocLineType


def parse_id(value: strawberry.ID, argument: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise BadUserInput(
            f"{argument} must be an id returned by this API, got {value!r}", argument=argument
        ) from exc


def parse_period(value: str | None, argument: str = "servicePeriod") -> billing.ServicePeriod | None:
    if value is None:
        return None
    try:
        return billing.ServicePeriod.parse(value)
    except billing.PeriodError as exc:
        raise BadUserInput(str(exc), argument=argument) from exc


@strawberry.type(description="Forecast comparison stored on a statement (§3.6); amounts USD.")
class ForecastComparison:
    forecasted_revenue: Decimal
    posted_revenue: Decimal
    invoiced_revenue: Decimal
    total_actual_revenue: Decimal
    deviation_amount: Decimal
    deviation_percentage: Decimal
    exceeded: bool


@strawberry.type
class StatementEvent:
    from_status: StatementStatus | None
    to_status: StatementStatus
    note: str | None
    at: dt.datetime


def _status(name: str | None) -> StatusCode | None:
    return StatusCode[name] if name else None


async def _invoice(info: Ctx, row: InvoiceRow) -> Invoice:
    lines = await info.context.loaders.lines_of_invoice.load(row.id)
    return Invoice(
        id=strawberry.ID(str(row.id)),
        group_number=row.group_number,
        invoice_number=row.invoice_number,
        invoice_date=row.invoice_date,
        title=row.title,
        description=row.description,
        payment_terms=row.payment_terms,
        purchase_order=row.purchase_order,
        amount=row.amount,
        lines=[InvoiceLine.build(line, line_id=str(line.id)) for line in lines],
    )


@strawberry.type(description="A site's bill for one service month and version (§1.6, §3).")
class Statement:
    id: strawberry.ID
    service_period: str = strawberry.field(description="YYYY-MM")
    version: int
    status: StatementStatus
    billing_type: BillingType
    rate_selection_date: dt.date
    purchase_order: str | None
    warnings: list[str]
    created_at: dt.datetime
    sent_at: dt.datetime | None
    _row: strawberry.Private[BillingStatement]

    @classmethod
    def from_row(cls, row: BillingStatement) -> Statement:
        return cls(
            id=strawberry.ID(str(row.id)),
            service_period=billing.ServicePeriod.of(row.service_period_start).key,
            version=row.version,
            status=StatusCode[row.status],
            billing_type=billing.BillingType[row.billing_type],
            rate_selection_date=row.rate_selection_date,
            purchase_order=row.purchase_order,
            warnings=list(row.warnings),
            created_at=row.created_at,
            sent_at=row.sent_at,
            _row=row,
        )

    @strawberry.field
    async def site(self, info: Ctx) -> Site:
        row = await info.context.loaders.site_by_id.load(self._row.site_id)
        assert row is not None
        return Site.from_row(row)

    @strawberry.field
    def forecast(self) -> ForecastComparison | None:
        data = self._row.forecast_data
        if not data:
            return None
        return ForecastComparison(
            forecasted_revenue=Decimal(data["forecastedRevenue"]),
            posted_revenue=Decimal(data["postedRevenue"]),
            invoiced_revenue=Decimal(data["invoicedRevenue"]),
            total_actual_revenue=Decimal(data["totalActualRevenue"]),
            deviation_amount=Decimal(data["forecastDeviationAmount"]),
            deviation_percentage=Decimal(data["forecastDeviationPercentage"]),
            exceeded=bool(data["deviationExceeded"]),
        )

    @strawberry.field(description="One invoice per invoice group with lines, by group number.")
    async def invoices(self, info: Ctx) -> list[Invoice]:
        rows = await info.context.loaders.invoices_of_statement.load(self._row.id)
        # gathered, so the lines of every invoice (of every statement on the page) load in one batch
        return list(await asyncio.gather(*(_invoice(info, row) for row in rows)))

    @strawberry.field(description="Σ invoice amounts, USD.")
    async def total(self, info: Ctx) -> Decimal:
        rows = await info.context.loaders.invoices_of_statement.load(self._row.id)
        return sum((row.amount for row in rows), Decimal("0.00"))

    @strawberry.field(description="Status history, oldest first.")
    async def events(self, info: Ctx) -> list[StatementEvent]:
        rows: list[EventRow] = await info.context.loaders.events_of_statement.load(self._row.id)
        return [
            StatementEvent(
                from_status=_status(e.from_status), to_status=StatusCode[e.to_status], note=e.note, at=e.at
            )
            for e in rows
        ]

    @strawberry.field(description="Great Plains journal as CSV (§3.8); null until the statement is Sent.")
    async def gl_export_csv(self, info: Ctx) -> str | None:
        if self._row.status != StatusCode.SENT.name:
            return None
        return await service.gl_export_csv(info.context.db, statement_id=self._row.id)


@strawberry.type
class StatementEdge:
    cursor: str
    node: Statement


@strawberry.type
class StatementConnection:
    edges: list[StatementEdge]
    page_info: PageInfo
    _query: strawberry.Private[StatementQuery]

    @strawberry.field
    async def total_count(self, info: Ctx) -> int:
        async with info.context.db.read() as session:
            return await statement_repo.count_statements(session, query=self._query, today=info.context.today)


@strawberry.input
class StatementFilter:
    site_number: str | None = None
    service_period: str | None = strawberry.field(default=None, description="YYYY-MM")
    statuses: list[StatementStatus] | None = None
    territory_layer: str | None = None
    territory_code: str | None = None
    current_only: bool = strawberry.field(
        default=False, description="§3.5 current statements: not Sent, or created this calendar month."
    )


async def statements(
    info: Ctx, filter: StatementFilter | None = None, first: int = 50, after: str | None = None
) -> StatementConnection:
    f = filter or StatementFilter()
    if not 0 <= first <= 500:
        raise BadUserInput(f"first must be between 0 and 500, got {first}", argument="first")
    if (f.territory_layer is None) != (f.territory_code is None):
        raise BadUserInput(
            "give both filter.territoryLayer and filter.territoryCode", argument="filter.territoryCode"
        )
    period = parse_period(f.service_period, "filter.servicePeriod")
    query = StatementQuery(
        site_number=f.site_number.strip().zfill(4) if f.site_number else None,
        service_period_start=period.start if period else None,
        statuses=tuple(s.name for s in f.statuses or ()),
        territory=(f.territory_layer, f.territory_code) if f.territory_layer and f.territory_code else None,
        current_only=f.current_only,
    )
    offset = decode_cursor(after) + 1 if after else 0
    async with info.context.db.read() as session:
        rows = await statement_repo.find_statements(
            session, query=query, today=info.context.today, offset=offset, limit=first + 1
        )
    edges = [
        StatementEdge(cursor=encode_cursor(offset + i), node=Statement.from_row(r))
        for i, r in enumerate(rows[:first])
    ]
    return StatementConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _query=query,
    )


async def statement(info: Ctx, id: strawberry.ID) -> Statement | None:
    row = await info.context.loaders.statement_by_id.load(parse_id(id, "id"))
    return Statement.from_row(row) if row else None


# ------------------------------------------------------------------------------------------------ payloads


@strawberry.interface(description="An expected failure: `code` is stable, `message` says what to do.")
class Problem:
    code: str
    message: str


@strawberry.type
class NotFoundProblem(Problem):
    pass


@strawberry.type
class NoContractProblem(Problem):
    pass


@strawberry.type
class GenerationInFlightProblem(Problem):
    pass


@strawberry.type
class NoInvoiceProblem(Problem):
    pass


@strawberry.type
class StatementSentProblem(Problem):
    pass


@strawberry.type
class TransitionNotAllowedProblem(Problem):
    pass


@strawberry.type
class InvalidAdhocLineProblem(Problem):
    pass


PROBLEMS: dict[type[service.StatementProblem], type[Problem]] = {
    service.NotFound: NotFoundProblem,
    service.NoContract: NoContractProblem,
    service.GenerationInFlight: GenerationInFlightProblem,
    service.NoInvoiceProduced: NoInvoiceProblem,
    service.StatementAlreadySent: StatementSentProblem,
    service.TransitionNotAllowed: TransitionNotAllowedProblem,
    service.InvalidAdhocLine: InvalidAdhocLineProblem,
}


def problem(error: service.StatementProblem) -> Problem:
    return PROBLEMS[type(error)](code=error.code, message=str(error))


@strawberry.type
class StatementPayload:
    statement: Statement
    reused: bool = strawberry.field(
        default=False,
        description="True when an earlier request with the same idempotency key had produced it.",
    )


@strawberry.type
class InvoicePayload:
    invoice: Invoice
    statement: Statement
    line_id: strawberry.ID | None = None


GenerateResult = Annotated[
    StatementPayload
    | NotFoundProblem
    | NoContractProblem
    | GenerationInFlightProblem
    | NoInvoiceProblem
    | TransitionNotAllowedProblem,
    strawberry.union("GenerateStatementResult"),
]
TransitionResult = Annotated[
    StatementPayload | NotFoundProblem | TransitionNotAllowedProblem,
    strawberry.union("StatementTransitionResult"),
]
InvoiceEditResult = Annotated[
    InvoicePayload | NotFoundProblem | StatementSentProblem | InvalidAdhocLineProblem,
    strawberry.union("InvoiceEditResult"),
]


@strawberry.type
class BulkGenerationItem:
    site_number: str
    result: GenerateResult


@strawberry.type
class BulkGenerationPayload:
    items: list[BulkGenerationItem]
    generated: int
    failed: int


@strawberry.input
class AdhocLineInput:
    type: AdhocLineType
    title: str
    code: str = strawberry.field(description="GL main account, e.g. 7000.")
    amount: Decimal = strawberry.field(
        description="USD; client-paid and non-billable expenses are stored negative whatever the sign (§3.4)."
    )
    description: str = ""


async def _statement_payload(info: Ctx, statement_id: uuid.UUID, reused: bool = False) -> StatementPayload:
    info.context.loaders.forget_statements()
    async with info.context.db.read() as session:
        row = (await statement_repo.statements_by_id(session, statement_ids=[statement_id]))[statement_id]
    return StatementPayload(statement=Statement.from_row(row), reused=reused)


async def _invoice_payload(info: Ctx, invoice_id: uuid.UUID, line_id: uuid.UUID | None) -> InvoicePayload:
    info.context.loaders.forget_statements()
    async with info.context.db.read() as session:
        invoice = (await statement_repo.invoices_by_id(session, invoice_ids=[invoice_id]))[invoice_id]
        row = (await statement_repo.statements_by_id(session, statement_ids=[invoice.statement_id]))[
            invoice.statement_id
        ]
    return InvoicePayload(
        invoice=await _invoice(info, invoice),
        statement=Statement.from_row(row),
        line_id=strawberry.ID(str(line_id)) if line_id else None,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Generate the statement of a site (§3): default period per billing type."
    )
    async def generate_statement(
        self,
        info: Ctx,
        site_number: str,
        service_period: str | None = None,
        idempotency_key: str | None = None,
    ) -> GenerateResult:
        period = parse_period(service_period)
        try:
            done = await service.generate_statement(
                info.context.db,
                site_number=site_number,
                service_period=period,
                today=info.context.today,
                idempotency_key=idempotency_key,
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _statement_payload(info, done.statement_id, done.reused)

    @strawberry.mutation(description="Generate statements for a list of sites or a territory's sites (§3.1).")
    async def generate_statements(
        self,
        info: Ctx,
        site_numbers: list[str] | None = None,
        territory_layer: str | None = None,
        territory_code: str | None = None,
        service_period: str | None = None,
        idempotency_key: str | None = None,
    ) -> BulkGenerationPayload:
        period = parse_period(service_period)
        numbers = list(site_numbers or [])
        if territory_layer or territory_code:
            if not (territory_layer and territory_code):
                raise BadUserInput("give both territoryLayer and territoryCode", argument="territoryCode")
            numbers += await service.site_numbers_in_territory(
                info.context.db, layer_code=territory_layer, territory_code=territory_code
            )
        if not numbers:
            raise BadUserInput("give siteNumbers or a territory with sites", argument="siteNumbers")
        outcomes = await service.generate_statements(
            info.context.db,
            site_numbers=numbers,
            service_period=period,
            today=info.context.today,
            idempotency_key=idempotency_key,
        )
        items: list[BulkGenerationItem] = []
        for number, outcome in outcomes:
            result: GenerateResult = (
                problem(outcome)  # type: ignore[assignment]
                if isinstance(outcome, service.StatementProblem)
                else await _statement_payload(info, outcome.statement_id, outcome.reused)
            )
            items.append(BulkGenerationItem(site_number=number, result=result))
        failed = sum(1 for _, o in outcomes if isinstance(o, service.StatementProblem))
        return BulkGenerationPayload(items=items, generated=len(items) - failed, failed=failed)

    @strawberry.mutation(description="A new version of a Sent statement (§3.3).")
    async def regenerate_statement(
        self, info: Ctx, statement_id: strawberry.ID, idempotency_key: str | None = None
    ) -> GenerateResult:
        try:
            done = await service.regenerate(
                info.context.db,
                statement_id=parse_id(statement_id, "statementId"),
                today=info.context.today,
                idempotency_key=idempotency_key,
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _statement_payload(info, done.statement_id, done.reused)

    @strawberry.mutation(description="Confirm the review of an AR Review or Approval Team statement (§3.5).")
    async def confirm_statement_review(self, info: Ctx, statement_id: strawberry.ID) -> TransitionResult:
        try:
            done = await service.confirm_review(
                info.context.db, statement_id=parse_id(statement_id, "statementId")
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _statement_payload(info, done)

    @strawberry.mutation(description="Mark a Ready To Send statement Sent (final, §3.5).")
    async def mark_statement_sent(self, info: Ctx, statement_id: strawberry.ID) -> TransitionResult:
        try:
            done = await service.mark_sent(
                info.context.db, statement_id=parse_id(statement_id, "statementId")
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _statement_payload(info, done)

    @strawberry.mutation(description="Add an ad-hoc line to an invoice of an unsent statement (§3.4).")
    async def add_adhoc_line(
        self, info: Ctx, invoice_id: strawberry.ID, line: AdhocLineInput
    ) -> InvoiceEditResult:
        invoice = parse_id(invoice_id, "invoiceId")
        try:
            line_id = await service.add_adhoc_line(
                info.context.db,
                invoice_id=invoice,
                line=service.AdhocInput(
                    adhoc_type=line.type,
                    title=line.title,
                    code=line.code,
                    amount=line.amount,
                    description=line.description,
                ),
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _invoice_payload(info, invoice, line_id)

    @strawberry.mutation(description="Remove an ad-hoc line from an invoice of an unsent statement (§3.4).")
    async def remove_adhoc_line(
        self, info: Ctx, invoice_id: strawberry.ID, line_id: strawberry.ID
    ) -> InvoiceEditResult:
        invoice = parse_id(invoice_id, "invoiceId")
        try:
            await service.remove_adhoc_line(
                info.context.db, invoice_id=invoice, line_id=parse_id(line_id, "lineId")
            )
        except service.StatementProblem as error:
            return problem(error)  # type: ignore[return-value]
        return await _invoice_payload(info, invoice, None)
