"""Statements in the GraphQL contract (domain.md §3): a stable statement per (site, service period), its
versions beneath it, queries and the lifecycle mutations.

Expected failures of mutations are members of each payload union (`schema.problems`); malformed arguments
are GraphQL errors with `extensions.code = BAD_USER_INPUT` naming the argument.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import strawberry

import billing
from billing.statements import StatementStatus as StatusCode
from resolvers import statements as service
from resolvers import validation
from resolvers.errors import TowneError
from resolvers.records import EventRecord, StatementFilterRecord, StatementView, VersionRecord
from resolvers.sites import encode_cursor
from schema.access import statement_writer
from schema.billing import AdhocLineType, Invoice
from schema.common import Ctx, PageInfo, register_enum
from schema.contracts import BillingType
from schema.problems import (
    ContractStateProblem,
    GenerationInFlightProblem,
    IdempotencyKeyReusedProblem,
    InternalProblem,
    InvalidAdhocLineProblem,
    InvalidConfigurationProblem,
    NoContractProblem,
    NoInvoiceProblem,
    NotFoundProblem,
    PeriodClosedProblem,
    SiteClosedProblem,
    StatementReplacedProblem,
    StatementSendingProblem,
    StatementSentProblem,
    TransitionNotAllowedProblem,
    problem,
)
from schema.scalars import Rate
from schema.send_types import SendAttempt, SendJob
from schema.sites import Site

register_enum(
    StatusCode,
    name="StatementStatus",
    description="Status of a statement version (domain.md §3.5).",
    values={
        "GENERATING": "Being computed by the engine (only ever seen in the history).",
        "AR_REVIEW": "An Arrears site with a ready-for-invoice comment: the AR team reviews it.",
        "APPROVAL_TEAM": "The forecast deviation exceeded both thresholds (§3.6): the approval team reviews it.",
        "READY_TO_SEND": "Reviewed or within limits: may be sent.",
        "SENT": "Sent to the client and Great Plains: final; a correction is a new version.",
        "FAILED": "The engine failed (legacy status, not written by this engine).",
    },
)
StatementStatus = StatusCode


@strawberry.type(description="Forecast comparison stored on a statement version (§3.6); amounts USD.")
class ForecastComparison:
    forecasted_revenue: Decimal = strawberry.field(description="Internal-revenue forecast of the month.")
    posted_revenue: Decimal = strawberry.field(
        description="Revenue posted in the ledger (accounts 4000–4999)."
    )
    invoiced_revenue: Decimal = strawberry.field(
        description="Revenue invoiced by this version (codes 4000–4999)."
    )
    total_actual_revenue: Decimal = strawberry.field(description="Posted + invoiced.")
    deviation_amount: Decimal = strawberry.field(description="|forecast − actual|.")
    deviation_percentage: Rate = strawberry.field(
        description="|forecast − actual| / forecast × 100; 0 without a forecast."
    )
    exceeded: bool = strawberry.field(
        description="Both the contract's amount and percentage thresholds are exceeded."
    )


@strawberry.type(description="A status move of a statement version.")
class StatementEvent:
    from_status: StatementStatus | None = strawberry.field(description="Null for the first event.")
    to_status: StatementStatus = strawberry.field(description="The status moved to.")
    note: str | None = strawberry.field(description="Why.")
    actor: str | None = strawberry.field(description="Who moved it (the caller's subject); null: anonymous.")
    at: dt.datetime = strawberry.field(description="When.")

    @classmethod
    def from_row(cls, row: EventRecord) -> StatementEvent:
        return cls(
            from_status=StatusCode[row.from_status] if row.from_status else None,
            to_status=StatusCode[row.to_status],
            note=row.note,
            actor=row.actor,
            at=row.at,
        )


async def _invoices(info: Ctx, version_id: uuid.UUID) -> list[Invoice]:
    rows = await info.context.loaders.invoices_of_version.load(version_id)
    return [Invoice.from_row(row) for row in rows]


@strawberry.type(
    description="One version of a statement (§3.3). `version` is the VV of its invoice numbers, bumped only "
    "after a Sent version; replacing an unsent version keeps its number and adds a `revision`, and the "
    "replaced one stays readable, `superseded`."
)
class StatementVersion:
    id: strawberry.ID = strawberry.field(description="Version id; keeps resolving after it is replaced.")
    version: int = strawberry.field(description="VV, from 1.")
    revision: int = strawberry.field(
        description="1 for the first computation of this version number, then 2, …"
    )
    status: StatementStatus = strawberry.field(description="§3.5.")
    billing_type: BillingType = strawberry.field(description="Arrears or Advanced.")
    rate_selection_date: dt.date = strawberry.field(
        description="Rate rows active on this date were billed (§2.15)."
    )
    purchase_order: str | None = strawberry.field(description="From the contract.")
    warnings: list[str] = strawberry.field(description="Notes of the engine about configuration and facts.")
    created_at: dt.datetime = strawberry.field(description="When it was computed.")
    created_by: str | None = strawberry.field(
        description="Who generated it (the caller's subject); null: anonymous."
    )
    sent_at: dt.datetime | None = strawberry.field(description="When it was marked Sent.")
    superseded: bool = strawberry.field(description="Replaced by a newer revision; read-only.")
    superseded_at: dt.datetime | None = strawberry.field(description="When it was replaced.")
    _row: strawberry.Private[VersionRecord]

    @classmethod
    def from_row(cls, row: VersionRecord) -> StatementVersion:
        return cls(
            id=strawberry.ID(str(row.id)),
            version=row.version,
            revision=row.revision,
            status=StatusCode[row.status],
            billing_type=billing.BillingType[row.billing_type],
            rate_selection_date=row.rate_selection_date,
            purchase_order=row.purchase_order,
            warnings=list(row.warnings),
            created_at=row.created_at,
            created_by=row.created_by,
            sent_at=row.sent_at,
            superseded=row.superseded,
            superseded_at=row.superseded_at,
            _row=row,
        )

    @strawberry.field(description="The forecast comparison stored with it (§3.6).")
    def forecast(self) -> ForecastComparison | None:
        return _forecast(self._row)

    @strawberry.field(description="One invoice per invoice group with lines, by group number.")
    async def invoices(self, info: Ctx) -> list[Invoice]:
        return await _invoices(info, self._row.id)

    @strawberry.field(description="Σ invoice amounts, USD.")
    async def total(self, info: Ctx) -> Decimal:
        return await _total(info, self._row.id)

    @strawberry.field(description="Status history, oldest first.")
    async def events(self, info: Ctx) -> list[StatementEvent]:
        return [
            StatementEvent.from_row(e)
            for e in await info.context.loaders.events_of_version.load(self._row.id)
        ]

    @strawberry.field(description="The statement it belongs to (stable id).")
    async def statement(self, info: Ctx) -> Statement:
        view = await info.context.loaders.statement_by_id.load(self._row.statement_id)
        assert view is not None
        return Statement.from_view(view)

    @strawberry.field(
        description="The statement's current version (this one, unless it was replaced or re-versioned)."
    )
    async def current(self, info: Ctx) -> StatementVersion:
        view = await info.context.loaders.statement_by_id.load(self._row.statement_id)
        assert view is not None
        return StatementVersion.from_row(view.current)

    @strawberry.field(
        description="Great Plains journal of this version as CSV (§3.8); null unless it is Sent."
    )
    async def gl_export_csv(self, info: Ctx) -> str | None:
        if self._row.status != StatusCode.SENT.name:
            return None
        return await service.gl_export_csv(info.context, any_id=self._row.id)


def _forecast(row: VersionRecord) -> ForecastComparison | None:
    comparison = service.forecast_of(row)
    if comparison is None:
        return None
    return ForecastComparison(
        forecasted_revenue=comparison.forecasted_revenue,
        posted_revenue=comparison.posted_revenue,
        invoiced_revenue=comparison.invoiced_revenue,
        total_actual_revenue=comparison.total_actual_revenue,
        deviation_amount=comparison.deviation_amount,
        deviation_percentage=Rate(comparison.deviation_percentage),
        exceeded=comparison.exceeded,
    )


async def _total(info: Ctx, version_id: uuid.UUID) -> Decimal:
    rows = await info.context.loaders.invoices_of_version.load(version_id)
    return sum((row.amount for row in rows), Decimal("0.00"))


@strawberry.type(
    description="A site's bill for one service month (§1.6, §3): one stable id per (site, service period). "
    "Its fields other than `id`, `servicePeriod`, `site` and `versions` are those of its current version, and "
    "operations on it act on that version."
)
class Statement:
    id: strawberry.ID = strawberry.field(description="Stable statement id: the same for every version.")
    service_period: str = strawberry.field(description="YYYY-MM")
    version: int = strawberry.field(description="VV of the current version.")
    status: StatementStatus = strawberry.field(description="Status of the current version (§3.5).")
    billing_type: BillingType = strawberry.field(description="Arrears or Advanced.")
    rate_selection_date: dt.date = strawberry.field(
        description="Rate rows active on this date were billed (§2.15)."
    )
    purchase_order: str | None = strawberry.field(description="From the contract.")
    warnings: list[str] = strawberry.field(description="Notes of the engine about configuration and facts.")
    created_at: dt.datetime = strawberry.field(description="When the current version was computed.")
    sent_at: dt.datetime | None = strawberry.field(description="When the current version was marked Sent.")
    _view: strawberry.Private[StatementView]

    @classmethod
    def from_view(cls, view: StatementView) -> Statement:
        current = view.current
        return cls(
            id=strawberry.ID(str(view.statement.id)),
            service_period=billing.ServicePeriod.of(view.statement.service_period_start).key,
            version=current.version,
            status=StatusCode[current.status],
            billing_type=billing.BillingType[current.billing_type],
            rate_selection_date=current.rate_selection_date,
            purchase_order=current.purchase_order,
            warnings=list(current.warnings),
            created_at=current.created_at,
            sent_at=current.sent_at,
            _view=view,
        )

    @strawberry.field(
        description="Its accounting period (the month of the service period start, domain.md §3.8) is "
        "closed: nothing of it may be generated, regenerated, edited, confirmed or sent (PERIOD_CLOSED); grey "
        "those actions out."
    )
    async def period_closed(self, info: Ctx) -> bool:
        return bool(await info.context.loaders.period_closed.load(self._view.statement.service_period_start))

    @strawberry.field(description="The site billed.")
    async def site(self, info: Ctx) -> Site:
        row = await info.context.loaders.site_by_id.load(self._view.statement.site_id)
        assert row is not None
        return Site.from_row(row)

    @strawberry.field(description="The current version.")
    def current_version(self) -> StatementVersion:
        return StatementVersion.from_row(self._view.current)

    @strawberry.field(description="Every version, superseded revisions included, by version then revision.")
    async def versions(self, info: Ctx) -> list[StatementVersion]:
        rows = await info.context.loaders.versions_of_statement.load(self._view.statement.id)
        return [StatementVersion.from_row(row) for row in rows]

    @strawberry.field(description="The forecast comparison of the current version (§3.6).")
    def forecast(self) -> ForecastComparison | None:
        return _forecast(self._view.current)

    @strawberry.field(description="Invoices of the current version, by group number.")
    async def invoices(self, info: Ctx) -> list[Invoice]:
        return await _invoices(info, self._view.current.id)

    @strawberry.field(description="Σ invoice amounts of the current version, USD.")
    async def total(self, info: Ctx) -> Decimal:
        return await _total(info, self._view.current.id)

    @strawberry.field(description="Status history of the current version, oldest first.")
    async def events(self, info: Ctx) -> list[StatementEvent]:
        rows = await info.context.loaders.events_of_version.load(self._view.current.id)
        return [StatementEvent.from_row(e) for e in rows]

    @strawberry.field(
        description="The send jobs of the current version (sendStatements, issue 12 §2), by channel: while one "
        "is QUEUED or UNCERTAIN the statement is not edited, confirmed or regenerated (STATEMENT_SENDING)."
    )
    async def send_jobs(self, info: Ctx) -> list[SendJob]:
        rows = await info.context.loaders.send_jobs_of_version.load(self._view.current.id)
        return [SendJob.from_row(row) for row in rows]

    @strawberry.field(
        description="Every attempt to send the current version, all channels, oldest first: retries with their "
        "reasons, attempts lost with their worker."
    )
    async def send_attempts(self, info: Ctx) -> list[SendAttempt]:
        jobs = await info.context.loaders.send_jobs_of_version.load(self._view.current.id)
        histories = await asyncio.gather(
            *(info.context.loaders.attempts_of_send_job.load(j.id) for j in jobs)
        )
        attempts = [
            SendAttempt.from_row(row, job.channel)
            for job, rows in zip(jobs, histories, strict=True)
            for row in rows
        ]
        return sorted(attempts, key=lambda a: (a.started_at, a.channel.value, a.attempt))

    @strawberry.field(
        description="Great Plains journal of the current version as CSV (§3.8); null until it is Sent."
    )
    async def gl_export_csv(self, info: Ctx) -> str | None:
        if self._view.current.status != StatusCode.SENT.name:
            return None
        return await service.gl_export_csv(info.context, any_id=self._view.current.id)


@strawberry.type(description="A statement in a list, with its cursor.")
class StatementEdge:
    cursor: str = strawberry.field(description="Opaque position: pass it as `after` to continue.")
    node: Statement = strawberry.field(description="The statement.")


@strawberry.type(description="A page of statements (Relay connection).")
class StatementConnection:
    edges: list[StatementEdge] = strawberry.field(description="The statements of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is.")
    _query: strawberry.Private[StatementFilterRecord]

    @strawberry.field(description="Number of statements matching the filter (all pages).")
    async def total_count(self, info: Ctx) -> int:
        return await service.count_statements(info.context, self._query)


@strawberry.input(description="Filters of the statement list; all given filters apply (AND).")
class StatementFilter:
    site_number: str | None = strawberry.field(default=None, description="1–4 digits.")
    service_period: str | None = strawberry.field(default=None, description="YYYY-MM")
    statuses: list[StatementStatus] | None = strawberry.field(
        default=None, description="Statuses of the current version."
    )
    territory_layer: str | None = strawberry.field(
        default=None, description="With territoryCode: sites in it now."
    )
    territory_code: str | None = strawberry.field(default=None, description="With territoryLayer.")
    current_only: bool = strawberry.field(
        default=False, description="§3.5 current statements: not Sent, or created this calendar month."
    )


@strawberry.type
class StatementRoot:
    @strawberry.field(description="Statements with their current versions, newest service period first.")
    async def statements(
        self,
        info: Ctx,
        filter: Annotated[
            StatementFilter | None, strawberry.argument(description="Which statements.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 0–500.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> StatementConnection:
        f = filter or StatementFilter()
        query = await service.statement_query(
            info.context,
            site_number=f.site_number,
            service_period=f.service_period,
            statuses=[s.name for s in f.statuses or ()],
            territory_layer=f.territory_layer,
            territory_code=f.territory_code,
            current_only=f.current_only,
        )
        rows, offset, has_next = await service.statement_page(
            info.context, query=query, first=first, after=after
        )
        edges = [
            StatementEdge(cursor=encode_cursor(offset + i), node=Statement.from_view(v))
            for i, v in enumerate(rows)
        ]
        return StatementConnection(
            edges=edges,
            page_info=PageInfo.of([e.cursor for e in edges], offset=offset, has_next=has_next),
            _query=query,
        )

    @strawberry.field(
        description="A statement by its id, or by the id of any of its versions (replaced ones too); null if unknown."
    )
    async def statement(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="A statement or version id.")],
    ) -> Statement | None:
        view = await service.statement(info.context, validation.identifier(id, argument="id"))
        return Statement.from_view(view) if view else None

    @strawberry.field(description="One statement version by id (replaced ones too); null if unknown.")
    async def statement_version(
        self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(description="A version id.")]
    ) -> StatementVersion | None:
        row = await info.context.loaders.version_by_id.load(validation.identifier(id, argument="id"))
        return StatementVersion.from_row(row) if row else None

    @strawberry.field(description="One invoice by id (of a replaced version too); null if unknown.")
    async def invoice(
        self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(description="An invoice id.")]
    ) -> Invoice | None:
        row = await info.context.loaders.invoice_by_id.load(validation.identifier(id, argument="id"))
        return Invoice.from_row(row) if row else None


# ------------------------------------------------------------------------------------------------ payloads


@strawberry.type(description="The statement a mutation produced or moved, re-read after it.")
class StatementPayload:
    statement: Statement = strawberry.field(description="The statement, at its current version.")
    reused: bool = strawberry.field(
        default=False,
        description="True when an earlier request with the same idempotency key had produced it.",
    )


@strawberry.type(description="The invoice an ad-hoc edit changed, re-read after it.")
class InvoicePayload:
    invoice: Invoice = strawberry.field(description="The invoice with its new amount and lines.")
    statement: Statement = strawberry.field(description="Its statement.")
    line_id: strawberry.ID | None = strawberry.field(
        default=None, description="The added line (`lineItemId`)."
    )


GenerateResult = Annotated[
    StatementPayload
    | NotFoundProblem
    | NoContractProblem
    | GenerationInFlightProblem
    | NoInvoiceProblem
    | TransitionNotAllowedProblem
    | IdempotencyKeyReusedProblem
    | InvalidConfigurationProblem
    | ContractStateProblem
    | SiteClosedProblem
    | PeriodClosedProblem
    | StatementSendingProblem
    | InternalProblem,
    strawberry.union("GenerateStatementResult", description="A generated statement, or why there is none."),
]
TransitionResult = Annotated[
    StatementPayload
    | NotFoundProblem
    | TransitionNotAllowedProblem
    | StatementReplacedProblem
    | PeriodClosedProblem
    | StatementSendingProblem,
    strawberry.union("StatementTransitionResult", description="The moved statement, or why it did not move."),
]
InvoiceEditResult = Annotated[
    InvoicePayload
    | NotFoundProblem
    | StatementSentProblem
    | InvalidAdhocLineProblem
    | StatementReplacedProblem
    | PeriodClosedProblem
    | StatementSendingProblem,
    strawberry.union("InvoiceEditResult", description="The edited invoice, or why it was not edited."),
]


@strawberry.type(description="The outcome for one site of a bulk generation.")
class BulkGenerationItem:
    site_number: str = strawberry.field(description="4-digit site number.")
    result: GenerateResult = strawberry.field(description="Its statement, or why there is none.")


@strawberry.type(description="What a bulk generation did, site by site.")
class BulkGenerationPayload:
    items: list[BulkGenerationItem] = strawberry.field(description="One per site, in request order.")
    generated: int = strawberry.field(description="Items with a statement.")
    failed: int = strawberry.field(description="Items with a problem.")


@strawberry.input(description="An ad-hoc line entered on an unsent invoice (§3.4).")
class AdhocLineInput:
    type: AdhocLineType = strawberry.field(description="GL code type; decides the sign.")
    title: str = strawberry.field(description="Printed title, 1–200 characters.")
    code: str = strawberry.field(description="GL main account: 4 digits, e.g. 7000.")
    amount: Decimal = strawberry.field(
        description="USD, at most 2 decimals; client-paid and non-billable expenses are stored negative whatever "
        "the sign (§3.4)."
    )
    description: str = strawberry.field(
        default="", description="Printed description, at most 2000 characters."
    )


async def _statement_payload(info: Ctx, statement_id: uuid.UUID, reused: bool = False) -> StatementPayload:
    info.context.loaders.forget_statements()
    view = await info.context.loaders.statement_by_id.load(statement_id)
    assert view is not None
    return StatementPayload(statement=Statement.from_view(view), reused=reused)


async def _invoice_payload(info: Ctx, invoice_id: uuid.UUID, line_id: uuid.UUID | None) -> InvoicePayload:
    info.context.loaders.forget_statements()
    row = await info.context.loaders.invoice_by_id.load(invoice_id)
    assert row is not None
    version = await info.context.loaders.version_by_id.load(row.statement_version_id)
    assert version is not None
    view, _ = await asyncio.gather(
        info.context.loaders.statement_by_id.load(version.statement_id),
        info.context.loaders.lines_of_invoice.load(row.id),
    )
    assert view is not None
    return InvoicePayload(
        invoice=Invoice.from_row(row),
        statement=Statement.from_view(view),
        line_id=strawberry.ID(str(line_id)) if line_id else None,
    )


async def _bulk_item(info: Ctx, number: str, done: service.Generated | TowneError) -> BulkGenerationItem:
    if isinstance(done, TowneError):
        return BulkGenerationItem(site_number=number, result=problem(done, GenerateResult))
    view = await info.context.loaders.statement_by_id.load(done.statement_id)
    assert view is not None
    payload = StatementPayload(statement=Statement.from_view(view), reused=done.reused)
    return BulkGenerationItem(site_number=number, result=payload)


@strawberry.type(
    description="Statement mutations. Each field is null only together with an entry in `errors` (a malformed "
    "argument), so one failing alias of a document leaves what its neighbours did and said."
)
class StatementMutations:
    @strawberry.mutation(
        extensions=statement_writer("generateStatement"),
        description="Generate the statement of a site (§3): a new version after a Sent one, else its unsent "
        "version is replaced (kept as a superseded revision).",
    )
    async def generate_statement(
        self,
        info: Ctx,
        site_number: Annotated[str, strawberry.argument(description="1–4 digits.")],
        service_period: Annotated[
            str | None, strawberry.argument(description="YYYY-MM; null: the billing type's default (§3.2).")
        ] = None,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="Names this request: a retry with the same key and arguments returns what the first "
                "produced; the same key with other arguments is IDEMPOTENCY_KEY_REUSED."
            ),
        ] = None,
    ) -> GenerateResult | None:
        number = validation.site_number(site_number)
        period = validation.optional_period(service_period)
        key = service.key_or_none(idempotency_key)
        try:
            done = await service.generate_statement(
                info.context, site_number=number, service_period=period, idempotency_key=key
            )
        except TowneError as error:
            return problem(error, GenerateResult)  # type: ignore[no-any-return]
        return await _statement_payload(info, done.statement_id, done.reused)

    @strawberry.mutation(
        extensions=statement_writer("generateStatements"),
        description="Generate statements for a list of sites and/or a territory's sites (§3.1): each site its "
        "own unit of work and its own item; every argument is checked before any work.",
    )
    async def generate_statements(
        self,
        info: Ctx,
        site_numbers: Annotated[
            list[str] | None, strawberry.argument(description="Site numbers, 1–4 digits each, at most 1000.")
        ] = None,
        territory_layer: Annotated[str | None, strawberry.argument(description="With territoryCode.")] = None,
        territory_code: Annotated[
            str | None, strawberry.argument(description="The sites currently in this territory.")
        ] = None,
        service_period: Annotated[
            str | None, strawberry.argument(description="YYYY-MM; null: each billing type's default.")
        ] = None,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="Names the whole request; each site uses `{key}:{siteNumber}`, so a retry never "
                "generates twice."
            ),
        ] = None,
    ) -> BulkGenerationPayload | None:
        request = await service.bulk_request(
            info.context,
            site_numbers=site_numbers,
            territory_layer=territory_layer,
            territory_code=territory_code,
            service_period=service_period,
            idempotency_key=idempotency_key,
        )
        outcomes = await service.generate_statements(info.context, request)
        info.context.loaders.forget_statements()
        # gathered: the statements of every item load in one batch
        items = list(await asyncio.gather(*(_bulk_item(info, n, o) for n, o in outcomes)))
        failed = sum(1 for _, o in outcomes if isinstance(o, TowneError))
        return BulkGenerationPayload(items=items, generated=len(items) - failed, failed=failed)

    @strawberry.mutation(
        extensions=statement_writer("regenerateStatement"),
        description="A new version of a statement whose current version is Sent (§3.3).",
    )
    async def regenerate_statement(
        self,
        info: Ctx,
        statement_id: Annotated[strawberry.ID, strawberry.argument(description="A statement or version id.")],
        idempotency_key: Annotated[str | None, strawberry.argument(description="Names this request.")] = None,
    ) -> GenerateResult | None:
        try:
            done = await service.regenerate(
                info.context,
                statement_id=validation.identifier(statement_id, argument="statementId"),
                idempotency_key=service.key_or_none(idempotency_key),
            )
        except TowneError as error:
            return problem(error, GenerateResult)  # type: ignore[no-any-return]
        return await _statement_payload(info, done.statement_id, done.reused)

    @strawberry.mutation(
        extensions=statement_writer("confirmStatementReview"),
        description="Confirm the review of an AR Review or Approval Team statement (§3.5).",
    )
    async def confirm_statement_review(
        self,
        info: Ctx,
        statement_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A statement id acts on its current version; a version id only on that version "
                "(STATEMENT_REPLACED once a newer one exists), so a reviewer acts on what they saw."
            ),
        ],
    ) -> TransitionResult | None:
        try:
            done = await service.confirm_review(
                info.context, statement_id=validation.identifier(statement_id, argument="statementId")
            )
        except TowneError as error:
            return problem(error, TransitionResult)  # type: ignore[no-any-return]
        return await _statement_payload(info, done)

    @strawberry.mutation(
        extensions=statement_writer("markStatementSent"),
        description="Mark a Ready To Send statement Sent (final, §3.5) without sending it: for a statement "
        "delivered outside Towne Graph. STATEMENT_SENDING while a send of it is in progress.",
        deprecation_reason="Use sendStatements: it delivers the statement and marks it Sent on success.",
    )
    async def mark_statement_sent(
        self,
        info: Ctx,
        statement_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A statement id acts on its current version; a version id only on that version "
                "(STATEMENT_REPLACED once a newer one exists), so a reviewer acts on what they saw."
            ),
        ],
    ) -> TransitionResult | None:
        try:
            done = await service.mark_sent(
                info.context, statement_id=validation.identifier(statement_id, argument="statementId")
            )
        except TowneError as error:
            return problem(error, TransitionResult)  # type: ignore[no-any-return]
        return await _statement_payload(info, done)

    @strawberry.mutation(
        extensions=statement_writer("addAdhocLine"),
        description="Add an ad-hoc line to an invoice of an unsent, current statement version (§3.4).",
    )
    async def add_adhoc_line(
        self,
        info: Ctx,
        invoice_id: Annotated[strawberry.ID, strawberry.argument(description="The invoice.")],
        line: Annotated[AdhocLineInput, strawberry.argument(description="The line.")],
    ) -> InvoiceEditResult | None:
        invoice = validation.identifier(invoice_id, argument="invoiceId")
        try:
            entered = service.adhoc_input(
                adhoc_type=line.type,
                title=line.title,
                code=line.code,
                amount=line.amount,
                description=line.description,
            )
            line_id = await service.add_adhoc_line(info.context, invoice_id=invoice, line=entered)
        except TowneError as error:
            return problem(error, InvoiceEditResult)  # type: ignore[no-any-return]
        return await _invoice_payload(info, invoice, line_id)

    @strawberry.mutation(
        extensions=statement_writer("removeAdhocLine"),
        description="Remove an ad-hoc line from an invoice of an unsent statement (§3.4).",
    )
    async def remove_adhoc_line(
        self,
        info: Ctx,
        invoice_id: Annotated[strawberry.ID, strawberry.argument(description="The invoice.")],
        line_id: Annotated[strawberry.ID, strawberry.argument(description="The ad-hoc line (`lineItemId`).")],
    ) -> InvoiceEditResult | None:
        invoice = validation.identifier(invoice_id, argument="invoiceId")
        try:
            await service.remove_adhoc_line(
                info.context, invoice_id=invoice, line_id=validation.identifier(line_id, argument="lineId")
            )
        except TowneError as error:
            return problem(error, InvoiceEditResult)  # type: ignore[no-any-return]
        return await _invoice_payload(info, invoice, None)
