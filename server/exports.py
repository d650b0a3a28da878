"""Streamed CSV and XLSX exports (issue 11 §3; docs/architecture.md "Exports").

Routes, each as `.csv` and `.xlsx`, GET, a bearer token required (401 otherwise):

* `/exports/statements` — the statements register: one row per statement with its current version (§3.3),
  its amount (Σ invoices), the forecast comparison stored with it (§3.6), who made it and when, its last
  status move (§3.5) and when it was sent.
* `/exports/invoice-lines` — the lines of the invoices of current versions, with their §1.6 flags.
* `/exports/gl-journal` — the Great Plains journal (§3.8) of every statement of `servicePeriod` (required)
  whose current version is Sent, the columns of `/statements/{id}/gl-export.csv`, by site number and
  invoice: each statement's part is exactly its one-statement export.
* `/exports/sites` — the site directory; vendor ids only for roles with a billing need (§4.4).

Parameters (each at most once; an unknown one is refused): the statement exports take the `statements(filter:)`
filters `siteNumber`, `servicePeriod`, `statuses` (comma-separated `StatementStatus` names),
`territoryLayer` + `territoryCode`, `currentOnly` (true|false), and `from` / `to` (YYYY-MM, inclusive); the
GL journal `servicePeriod`, `siteNumber`, `territoryLayer` + `territoryCode`; the site directory the
`sites(filter:)` filters `territoryLayer` + `territoryCode`, `sourceDistrict`, `state`, `buildingBlock`
(a `BuildingBlock` name), `search`, `bbox` (minLon,minLat,maxLon,maxLat). A bad value is 400
`BAD_USER_INPUT` with the GraphQL filter's message and the parameter's name (`servicePeriod`, not
`filter.servicePeriod`), as a JSON problem body. The billing exports are 403 `FORBIDDEN` to roles that read
no billing data (gisEditor, auditor, no role); rows are those PostgreSQL's row-level security shows the
caller (docs/security.md), never filtered here.

Streaming: rows come from a server-side cursor in the request's read transaction (`db.repositories.exports`).
A CSV is sent as it is produced; once its first bytes are out a failure can only cut the file short (it is
logged). An XLSX is written by XlsxWriter in constant-memory mode (each row flushed to disk as written) to
an anonymous temporary file, then sent from disk in chunks: a zip cannot be streamed before its central
directory, written last, exists. Its failures are therefore proper problem responses.

The machinery is generic: `export_response(columns, rows, fmt=…, filename=…)` turns any `Column` list and
async iterator of row tuples into a streamed response, and one `ExportSpec` in `EXPORTS` (a stem, its
parameters, whether it is billing data, and a handler returning an `Export`) adds both routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import enum
import hashlib
import io
import itertools
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

import billing
from billing.gl import COLUMNS as GL_COLUMNS
from billing.gl import GlInvoice, gl_entries
from billing.statements import ForecastComparison, StatementStatus
from db.database import Database, RequestDatabase
from db.models.statement import LINE_FLAGS
from db.repositories import exports as repo
from db.repositories.statements import StatementQuery
from resolvers import reporting as reporting_service
from resolvers import sites as site_service
from resolvers import statements as statement_service
from resolvers import validation
from resolvers.context import BILLING_DETAIL, Caller, Context
from resolvers.errors import BadUserInput, Forbidden
from server.app import door_route, request_id_of
from server.gis import _number, _params
from server.settings import Settings
from server.tokens import TokenVerifier

log = logging.getLogger("towne.exports")

# Roles that read contract and billing data of the sites they see (docs/security.md, "Roles"); the others
# (gisEditor, auditor, no role) are refused the billing exports instead of being sent an empty file.
BILLING_READERS = frozenset(
    {"billingAdmin", "billingManager", "reportingReader", "districtManager", "regionalVp", "accountManager"}
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
CHUNK_BYTES = 64 * 1024  # what one body message carries
CSV_ROWS_PER_CHUNK = 200
XLSX_ROWS_PER_WRITE = 200
XLSX_MAX_ROWS = 1_048_576  # an Excel sheet's rows, the header included


# ---- the generic machinery ----------------------------------------------------------------------------------


class Kind(enum.Enum):
    """How a column's values are written. CSV: text as is, `int` digits, money the exact decimal with 2
    places, percent with 4, a date `YYYY-MM-DD`, an instant ISO 8601 in UTC, a number its shortest repr,
    a boolean `true`/`false`, null empty. XLSX: text cells (never formulas), numbers, money with the
    format `#,##0.00`, percent `0.0000` (in percent, as GraphQL's `Rate`), dates as date cells, instants as
    their ISO 8601 UTC text, booleans as boolean cells, null blank."""

    TEXT = "text"
    INT = "int"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    INSTANT = "instant"
    NUMBER = "number"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Column:
    """`name`: the CSV header (snake_case, stable for scripts); `header`: the XLSX header (for people)."""

    name: str
    header: str
    kind: Kind = Kind.TEXT


class Format(enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"


Row = Sequence[object]
_CENT = Decimal("0.01")
_RATE = Decimal("0.0001")


def _decimal(value: object, places: Decimal) -> Decimal:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(places, rounding=ROUND_HALF_UP)


def _instant(value: object) -> str:
    assert isinstance(value, dt.datetime)
    return value.astimezone(dt.UTC).isoformat()


def csv_cell(kind: Kind, value: object) -> str:
    """One value as CSV text (see `Kind`)."""
    if value is None:
        return ""
    if kind is Kind.MONEY:
        return f"{_decimal(value, _CENT):f}"
    if kind is Kind.PERCENT:
        return f"{_decimal(value, _RATE):f}"
    if kind is Kind.INSTANT:
        return _instant(value)
    if kind is Kind.DATE:
        assert isinstance(value, dt.date)
        return value.isoformat()
    if kind is Kind.BOOL:
        return "true" if value else "false"
    if kind is Kind.NUMBER:
        return repr(float(value))  # type: ignore[arg-type]
    return str(value)


async def csv_chunks(columns: Sequence[Column], rows: AsyncIterator[Row]) -> AsyncIterator[bytes]:
    """RFC 4180 CSV (CRLF, UTF-8): the header of `name`s, then the rows, `CSV_ROWS_PER_CHUNK` per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    kinds = [c.kind for c in columns]
    count = 0
    async for row in rows:
        writer.writerow([csv_cell(k, v) for k, v in zip(kinds, row, strict=True)])
        count += 1
        if count % CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def write_xlsx(
    columns: Sequence[Column], rows: AsyncIterator[Row], out: IO[bytes], *, sheet: str
) -> int:
    """Write the rows as one worksheet `sheet` to `out` (a binary file), the header of `header`s frozen
    above; returns the number of data rows. Raises `BadUserInput` beyond the 1,048,575 data rows a sheet
    holds (the CSV has no such limit).

    Money is a numeric cell: XlsxWriter writes every number as an IEEE double (Excel's only number type),
    so the `Decimal` is converted here, at the cell write and nowhere else; an amount of numeric(14,2)
    has at most 14 significant digits, which a double keeps, so Excel shows the exact cents. The CSV
    carries the exact decimal text."""
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    try:
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        formats = {
            Kind.MONEY: workbook.add_format({"num_format": "#,##0.00"}),
            Kind.PERCENT: workbook.add_format({"num_format": "0.0000"}),
            Kind.DATE: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        }
        worksheet.write_row(0, 0, [c.header for c in columns], bold)
        worksheet.freeze_panes(1, 0)
        kinds = [c.kind for c in columns]
        number = 0

        def write(batch: Sequence[Row], first: int) -> None:
            for offset, row in enumerate(batch):
                for index, (kind, value) in enumerate(zip(kinds, row, strict=True)):
                    _write_cell(worksheet, first + offset, index, kind, value, formats)

        batch: list[Row] = []
        async for row in rows:
            number += 1
            if number >= XLSX_MAX_ROWS:
                raise BadUserInput(
                    f"the export has more than {XLSX_MAX_ROWS - 1:,} rows, more than an XLSX sheet holds; "
                    "narrow the filters or download the .csv",
                    argument="format",
                )
            batch.append(row)
            if len(batch) == XLSX_ROWS_PER_WRITE:
                # XlsxWriter is pure Python, several µs a cell: off the event loop, a batch at a time (one
                # thread at a time touches the workbook)
                await asyncio.to_thread(write, batch, number - len(batch) + 1)
                batch = []
        await asyncio.to_thread(write, batch, number - len(batch) + 1)
    finally:
        # closing writes the zip (and removes XlsxWriter's own temporary files); off the event loop, as a
        # large sheet takes a while
        await asyncio.to_thread(workbook.close)
    return number


def _write_cell(
    worksheet: Any, row: int, col: int, kind: Kind, value: object, formats: Mapping[Kind, Any]
) -> None:
    if value is None:
        return
    if kind is Kind.MONEY or kind is Kind.PERCENT:
        places = _CENT if kind is Kind.MONEY else _RATE
        worksheet.write_number(row, col, float(_decimal(value, places)), formats[kind])
    elif kind is Kind.INT or kind is Kind.NUMBER:
        worksheet.write_number(row, col, value)
    elif kind is Kind.DATE:
        worksheet.write_datetime(row, col, value, formats[kind])
    elif kind is Kind.INSTANT:
        worksheet.write_string(row, col, _instant(value))
    elif kind is Kind.BOOL:
        worksheet.write_boolean(row, col, bool(value))
    else:
        worksheet.write_string(row, col, str(value))


def _file_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()  # an anonymous temporary file: closing deletes it

    return chunks()


def _headers(filename: str) -> dict[str, str]:
    return {
        "content-disposition": f'attachment; filename="{filename}"',
        "cache-control": "private, no-store",
        "vary": "Authorization",
    }


async def export_response(
    columns: Sequence[Column],
    rows: AsyncIterator[Row],
    *,
    fmt: Format,
    filename: str,
    sheet: str = "Export",
    finally_: Callable[[], Awaitable[None]] | None = None,
) -> Response:
    """A streamed download of `rows` (tuples in `columns` order): CSV as it is produced, or XLSX written to
    a temporary file first and then streamed from it. `filename` has no extension (`statements-2025-04`).
    `finally_` runs once the rows are consumed (or the stream ends): close the request's door there. An
    exception of `rows` before the first byte (XLSX: at any point) propagates to the caller."""
    name = f"{filename}.{fmt.value}"
    if fmt is Format.CSV:

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in csv_chunks(columns, rows):
                    yield chunk
            except Exception:
                # the status is sent: the client sees a truncated file, the log says why
                log.exception("export %s stopped", name)
                raise
            finally:
                if finally_ is not None:
                    await finally_()

        return StreamingResponse(body(), media_type=CSV, headers=_headers(name))
    handle = tempfile.TemporaryFile()  # noqa: SIM115 — closed when its last chunk is sent (or on failure)
    try:
        try:
            await write_xlsx(columns, rows, handle, sheet=sheet)
        finally:
            if finally_ is not None:
                await finally_()
        size = handle.tell()
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    headers = {**_headers(name), "content-length": str(size)}
    return StreamingResponse(_file_chunks(handle), media_type=XLSX, headers=headers)


# ---- the route machinery ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    """What an export handler returns: the columns, the rows (an async iterator that reads through the
    request's door, e.g. `ctx.db.read()`, when iterated), the file name without extension and the XLSX
    sheet name."""

    columns: Sequence[Column]
    rows: AsyncIterator[Row]
    filename: str
    sheet: str


# (the checked query parameters, the request's context) → the export; raises TowneError for bad input
Handler = Callable[[Mapping[str, str], Context], Awaitable[Export]]


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """One export: `/exports/{stem}.csv` and `.xlsx`, taking `parameters`; `billing`: refused with
    FORBIDDEN to roles outside `BILLING_READERS`."""

    stem: str
    parameters: frozenset[str]
    handler: Handler
    billing: bool = True


@contextlib.contextmanager
def as_parameters(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise a `BadUserInput` of the GraphQL filter validation with the URL parameter's name: `names`
    maps a GraphQL argument (`filter.territory.code`) to its parameter; otherwise `filter.` is dropped."""
    try:
        yield
    except BadUserInput as error:
        argument = error.argument or ""
        message = error.message
        for name, parameter in (names or {}).items():
            message = message.replace(name, parameter)
        message = message.replace("filter.", "")
        parameter = (names or {}).get(argument, argument.removeprefix("filter."))
        raise BadUserInput(message, argument=parameter or None, **error.extensions) from error


def _period_of(params: Mapping[str, str], name: str) -> billing.ServicePeriod | None:
    return validation.optional_period(params.get(name), argument=name)


def _boolean(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise BadUserInput(f"{name} must be true or false, got {value[:40]!r}", argument=name)
    return value == "true"


def _list(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated parameter's values, trimmed (empty values refused)."""
    if name not in params:
        return ()
    values = tuple(part.strip() for part in params[name].split(","))
    if not all(values):
        raise BadUserInput(f"{name} has an empty value; give comma-separated values", argument=name)
    return values


def _names(params: Mapping[str, str], name: str, known: Sequence[str]) -> tuple[str, ...]:
    values = tuple(v.upper() for v in _list(params, name))
    for value in values:
        if value not in known:
            raise BadUserInput(
                f"{name} lists {value[:40]!r}; give comma-separated values of {', '.join(known)}",
                argument=name,
            )
    return values


def _statuses(params: Mapping[str, str]) -> list[str]:
    return list(dict.fromkeys(_names(params, "statuses", [s.name for s in StatementStatus])))


STATEMENT_PARAMETERS = frozenset(
    {
        "siteNumber",
        "servicePeriod",
        "statuses",
        "territoryLayer",
        "territoryCode",
        "currentOnly",
        "from",
        "to",
    }
)
GL_PARAMETERS = frozenset({"servicePeriod", "siteNumber", "territoryLayer", "territoryCode"})
SITE_PARAMETERS = frozenset(
    {"territoryLayer", "territoryCode", "sourceDistrict", "state", "buildingBlock", "search", "bbox"}
)


async def statement_filter(
    params: Mapping[str, str], ctx: Context, *, statuses: Sequence[str] | None = None
) -> tuple[StatementQuery, repo.PeriodRange, str]:
    """The `statements(filter:)` filter of the parameters, checked by the resolvers' own validation, the
    `from`/`to` range, and a label of the periods for the file name (`2025-04`, `2025-01-to-2025-12`)."""
    with as_parameters():
        query = await statement_service.statement_query(
            ctx,
            site_number=params.get("siteNumber"),
            service_period=params.get("servicePeriod"),
            statuses=_statuses(params) if statuses is None else statuses,
            territory_layer=params.get("territoryLayer"),
            territory_code=params.get("territoryCode"),
            current_only=_boolean(params, "currentOnly"),
        )
    first, last = _period_of(params, "from"), _period_of(params, "to")
    if first is not None and last is not None and first > last:
        raise BadUserInput(f"from ({first.key}) must not be after to ({last.key})", argument="from")
    periods = repo.PeriodRange(first.start if first else None, last.start if last else None)
    if "servicePeriod" in params:
        label = billing.ServicePeriod.parse(params["servicePeriod"]).key
    elif first and last:
        label = first.key if first == last else f"{first.key}-to-{last.key}"
    elif first is not None:
        label = f"from-{first.key}"
    elif last is not None:
        label = f"to-{last.key}"
    else:
        label = "all-periods"
    return query, periods, label


async def _rows(ctx: Context, statement: Any, shape: Callable[[Any], Row]) -> AsyncIterator[Row]:
    async with ctx.db.read() as session:
        async for row in repo.stream_rows(session, statement):
            yield shape(row)


def _key(start: dt.date) -> str:
    return billing.ServicePeriod.of(start).key


# ---- the statements register ---------------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    Column("service_period", "Service period"),
    Column("site_number", "Site number"),
    Column("site_name", "Site name"),
    Column("status", "Status"),
    Column("version", "Version", Kind.INT),
    Column("revision", "Revision", Kind.INT),
    Column("amount", "Amount (USD)", Kind.MONEY),
    Column("invoiced_revenue", "Invoiced revenue (USD)", Kind.MONEY),
    Column("forecasted_revenue", "Forecast revenue (USD)", Kind.MONEY),
    Column("deviation_amount", "Deviation (USD)", Kind.MONEY),
    Column("deviation_percentage", "Deviation (%)", Kind.PERCENT),
    Column("deviation_exceeded", "Deviation exceeded", Kind.BOOL),
    Column("created_by", "Created by"),
    Column("created_at", "Created at (UTC)", Kind.INSTANT),
    Column("status_changed_by", "Status changed by"),
    Column("status_changed_at", "Status changed at (UTC)", Kind.INSTANT),
    Column("sent_at", "Sent at (UTC)", Kind.INSTANT),
    Column("statement_id", "Statement id"),
)


def _statement_row(row: Any) -> Row:
    (start, number, name, status, version, revision, amount, forecast_data, created_by, created_at,
     moved_by, moved_at, sent_at, statement_id) = row  # fmt: skip
    forecast = ForecastComparison.from_json(forecast_data) if forecast_data else None
    return (
        _key(start), number, name, status, version, revision, amount,
        forecast.invoiced_revenue if forecast else None,
        forecast.forecasted_revenue if forecast else None,
        forecast.deviation_amount if forecast else None,
        forecast.deviation_percentage if forecast else None,
        forecast.exceeded if forecast else None,
        created_by, created_at, moved_by, moved_at, sent_at, str(statement_id),
    )  # fmt: skip


async def statements_export(params: Mapping[str, str], ctx: Context) -> Export:
    """The statements register (§3.3, §3.5, §3.6)."""
    query, periods, label = await statement_filter(params, ctx)
    rows = _rows(ctx, repo.statement_register(query, periods, ctx.today), _statement_row)
    return Export(STATEMENT_COLUMNS, rows, f"statements-{label}", "Statements")


# ---- invoice lines -------------------------------------------------------------------------------------------

LINE_COLUMNS = (
    Column("service_period", "Service period"),
    Column("site_number", "Site number"),
    Column("status", "Statement status"),
    Column("version", "Version", Kind.INT),
    Column("revision", "Revision", Kind.INT),
    Column("invoice_number", "Invoice number"),
    Column("invoice_date", "Invoice date", Kind.DATE),
    Column("invoice_group", "Invoice group", Kind.INT),
    Column("position", "Position", Kind.INT),
    Column("code", "GL code"),
    Column("title", "Title"),
    Column("building_block", "Building block"),
    Column("amount", "Amount (USD)", Kind.MONEY),
    Column("adhoc_type", "Ad-hoc type"),
    *(
        Column(flag, flag.removeprefix("is_").replace("_", " ").capitalize(), Kind.BOOL)
        for flag in LINE_FLAGS
    ),
)


def _line_row(row: Any) -> Row:
    return (_key(row[0]), *row[1:])


async def invoice_lines_export(params: Mapping[str, str], ctx: Context) -> Export:
    """The invoice lines of current versions (§1.6)."""
    query, periods, label = await statement_filter(params, ctx)
    rows = _rows(ctx, repo.invoice_lines(query, periods, ctx.today), _line_row)
    return Export(LINE_COLUMNS, rows, f"invoice-lines-{label}", "Invoice lines")


# ---- the GL journal of a period -----------------------------------------------------------------------------

GL_KINDS = {"document_date": Kind.DATE, "debit": Kind.MONEY, "credit": Kind.MONEY}
GL_EXPORT_COLUMNS = tuple(
    Column(name, name.replace("_", " ").capitalize(), GL_KINDS.get(name, Kind.TEXT)) for name in GL_COLUMNS
)


async def _gl_rows(ctx: Context, query: StatementQuery) -> AsyncIterator[Row]:
    async with ctx.db.read() as session:
        async for entry in gl_journal_rows(session, query, ctx.today):
            yield entry


async def gl_journal_rows(session: AsyncSession, query: StatementQuery, today: dt.date) -> AsyncIterator[Row]:
    """The journal entries, invoice by invoice: each invoice's lines arrive together (ordered by invoice
    group), so one invoice at a time is held. Only stored rows decide them (no clock: `today` only serves a
    `currentOnly` filter, which the journal never sets), in the total order of `repo.gl_lines`."""
    stream = repo.stream_rows(session, repo.gl_lines(query, today))
    current: list[Any] = []
    async for row in stream:
        if current and current[0][4] != row[4]:
            for entry in _gl_entries_of(current):
                yield entry
            current = []
        current.append(row)
    if current:
        for entry in _gl_entries_of(current):
            yield entry


def journal_query(service_period_start: dt.date) -> StatementQuery:
    """What `/exports/gl-journal.csv?servicePeriod=…` selects without other parameters: the period's
    statements whose current version is Sent."""
    return StatementQuery(service_period_start=service_period_start, statuses=(StatementStatus.SENT.name,))


async def gl_journal_sha256(session: AsyncSession, *, service_period_start: dt.date) -> str:
    """SHA-256 (hex) of the bytes `/exports/gl-journal.csv?servicePeriod=…` answers for the period to a
    caller who sees every site, read in `session` (the closing transaction: `resolvers.periods`)."""
    digest = hashlib.sha256()
    rows = gl_journal_rows(session, journal_query(service_period_start), service_period_start)
    async for chunk in csv_chunks(GL_EXPORT_COLUMNS, rows):
        digest.update(chunk)
    return digest.hexdigest()


def _gl_entries_of(rows: Sequence[Any]) -> Iterator[Row]:
    number, gl_string, start, billing_type, _, invoice_number, invoice_date, amount, vendor_id = rows[0][:9]
    invoice = GlInvoice(
        invoice_number,
        invoice_date,
        amount,
        [(code, line_amount, title) for *_, code, line_amount, title in rows if code is not None],
        vendor_id=vendor_id,
        advanced=billing_type == billing.BillingType.ADVANCED.name,
    )
    period = billing.ServicePeriod.of(start).yyyymm
    for e in gl_entries([invoice], gl_string=gl_string, site_number=number, service_period=period):
        yield (e.batch_id, e.batch, e.interface, e.document_number, e.document_date, e.account, e.debit,
               e.credit, e.description, e.vendor_id, e.deferred_account)  # fmt: skip


async def gl_journal_export(params: Mapping[str, str], ctx: Context) -> Export:
    """The Great Plains journal (§3.8) of a service period's Sent statements (current versions)."""
    if "servicePeriod" not in params:
        raise BadUserInput(
            "servicePeriod is required: the journal of one service period (YYYY-MM)", argument="servicePeriod"
        )
    query, _, label = await statement_filter(params, ctx, statuses=[StatementStatus.SENT.name])
    return Export(GL_EXPORT_COLUMNS, _gl_rows(ctx, query), f"gl-journal-{label}", "GL journal")


# ---- the site directory -------------------------------------------------------------------------------------

SITE_COLUMNS = (
    Column("site_number", "Site number"),
    Column("name", "Name"),
    Column("address", "Address"),
    Column("street", "Street"),
    Column("city", "City"),
    Column("state", "State"),
    Column("zip", "ZIP"),
    Column("source_district", "Legacy district"),
    Column("gl_string", "GL string"),
    Column("parking_spaces", "Parking spaces", Kind.INT),
    Column("rooms", "Rooms", Kind.INT),
    Column("vendor_id", "Vendor id"),
    Column("start_date", "Start date", Kind.DATE),
    Column("close_date", "Close date", Kind.DATE),
    Column("is_active", "Active", Kind.BOOL),
    Column("longitude", "Longitude (EPSG:4326)", Kind.NUMBER),
    Column("latitude", "Latitude (EPSG:4326)", Kind.NUMBER),
    Column("geocode_method", "Geocode method"),
    Column("updated_at", "Updated at (UTC)", Kind.INSTANT),
)
_SITE_ARGUMENTS = {"filter.territory.layer": "territoryLayer", "filter.territory.code": "territoryCode"}


def _block(params: Mapping[str, str]) -> str | None:
    if "buildingBlock" not in params:
        return None
    value = params["buildingBlock"].strip().upper()
    if value not in billing.BuildingBlock.__members__:
        known = ", ".join(billing.BuildingBlock.__members__)
        raise BadUserInput(
            f"buildingBlock must be one of {known}, got {params['buildingBlock'][:40]!r}",
            argument="buildingBlock",
        )
    return value


async def sites_export(params: Mapping[str, str], ctx: Context) -> Export:
    """The site directory (§1.2): the sites of `sites(filter:)`, by site number."""
    layer, code = params.get("territoryLayer"), params.get("territoryCode")
    if (layer is None) != (code is None):
        raise BadUserInput("give both territoryLayer and territoryCode, or neither", argument="territoryCode")
    bbox = (
        [_number(part, argument="bbox") for part in params["bbox"].split(",")] if "bbox" in params else None
    )
    raw = site_service.FilterInput(
        territory=(layer, code) if layer is not None and code is not None else None,
        source_district=params.get("sourceDistrict"),
        state=params.get("state"),
        building_block=_block(params),
        search=params.get("search"),
        bbox=bbox,
    )
    with as_parameters(_SITE_ARGUMENTS):
        query = await site_service.build_query(ctx, raw)
    statement = repo.site_directory(query, with_vendor_id=ctx.caller.has_any(BILLING_DETAIL))
    return Export(SITE_COLUMNS, _rows(ctx, statement, tuple), "sites", "Sites")


# ---- billing summaries ------------------------------------------------------------------------------------------

SUMMARY_PARAMETERS = frozenset(
    {
        "groupBy",
        "from",
        "to",
        "territoryLayer",
        "territories",
        "siteNumbers",
        "states",
        "billingTypes",
        "contractTypes",
        "buildingBlocks",
        "lineCodes",
        "statuses",
    }
)
# a dimension's key columns in the export (TERRITORY: code and name; SITE: number and name)
_SUMMARY_KEYS: dict[str, tuple[Column, ...]] = {
    "TERRITORY": (Column("territory_code", "Territory"), Column("territory_name", "Territory name")),
    "SERVICE_PERIOD": (Column("service_period", "Service period"),),
    "SITE": (Column("site_number", "Site number"), Column("site_name", "Site name")),
    "STATE": (Column("state", "State"),),
    "BILLING_TYPE": (Column("billing_type", "Billing type"),),
    "CONTRACT_TYPE": (Column("contract_type", "Contract type"),),
    "BUILDING_BLOCK": (Column("building_block", "Building block"),),
    "LINE_CODE": (Column("line_code", "Line code"),),
    "STATEMENT_STATUS": (Column("statement_status", "Statement status"),),
}
SUMMARY_MEASURE_COLUMNS = (
    Column("invoiced_amount", "Invoiced", Kind.MONEY),
    Column("invoiced_revenue", "Invoiced revenue (4000-4999)", Kind.MONEY),
    Column("pending_amount", "Pending", Kind.MONEY),
    *(
        Column(f"pending_{s.lower()}", f"Pending in {s.replace('_', ' ').title()}", Kind.MONEY)
        for s in reporting_service.PENDING_STATUSES
    ),
    Column("forecast_internal_revenue", "Forecast internal revenue", Kind.MONEY),
    Column("deviation_amount", "Deviation", Kind.MONEY),
    Column("deviation_percentage", "Deviation %", Kind.PERCENT),
    Column("site_count", "Sites", Kind.INT),
    Column("statement_count", "Statements", Kind.INT),
)


async def billing_summary_export(params: Mapping[str, str], ctx: Context) -> Export:
    """A `billingSummary` result (issue 11 §1) as a table: one row per group and a last `total` row, the key
    columns of the grouped dimensions, then every stored measure. Parameters mirror the query's arguments:
    `groupBy` (comma-separated dimensions, e.g. `territory,service_period`), `from`/`to` (YYYY-MM, required),
    `territoryLayer`, and the filter's lists comma-separated. The summary is one SQL statement whose result
    (one row per group, not per line) is written out as it is."""
    dimensions = _names(params, "groupBy", [d.name for d in reporting_service.Dimension])
    for required in ("from", "to"):
        if required not in params:
            raise BadUserInput(f"give {required}=YYYY-MM (the summary's service periods)", argument=required)
    with as_parameters():
        request = reporting_service.summary_request(
            group_by=[reporting_service.Dimension[d] for d in dimensions],
            from_period=params["from"],
            to_period=params["to"],
            layer=params.get("territoryLayer"),
            filter=reporting_service.SummaryFilter(
                territories=_list(params, "territories"),
                site_numbers=_list(params, "siteNumbers"),
                states=_list(params, "states"),
                billing_types=_names(params, "billingTypes", [b.name for b in billing.BillingType]),
                contract_types=_list(params, "contractTypes"),
                building_blocks=_names(params, "buildingBlocks", [b.name for b in billing.BuildingBlock]),
                line_codes=_list(params, "lineCodes"),
                statuses=_names(params, "statuses", [s.name for s in StatementStatus]),
            ),
        )
    # read now: an unknown layer or territory is a 400 before the body starts
    with as_parameters({"fromPeriod": "from", "toPeriod": "to"}):
        summary = await reporting_service.billing_summary(ctx, request)
    columns = (
        Column("row", "Row"),
        *(column for d in dimensions for column in _SUMMARY_KEYS[d]),
        *SUMMARY_MEASURE_COLUMNS,
    )

    def cells(kind: str, key: reporting_service.SummaryKey, m: reporting_service.Measures) -> Row:
        out: list[object] = [kind]
        for d in dimensions:
            if d == "TERRITORY":
                out += [key.territory.code, key.territory.name] if key.territory else [None, None]
            elif d == "SITE":
                out += [key.site_number, key.site_name]
            elif d == "SERVICE_PERIOD":
                out.append(None if key.service_period is None else _key(key.service_period))
            else:
                out.append(getattr(key, reporting_service.Dimension[d].value))
        out += [m.invoiced, m.invoiced_revenue, m.pending]
        out += [m.pending_by_status[s] for s in reporting_service.PENDING_STATUSES]
        out += [m.forecast, m.deviation, m.deviation_percentage, m.site_count, m.statement_count]
        return out

    async def rows() -> AsyncIterator[Row]:
        for group in summary.groups:
            yield cells("group", group.key, group.measures)
        yield cells("total", reporting_service.SummaryKey(), summary.total)

    label = f"{request.first}" if request.first == request.last else f"{request.first}-to-{request.last}"
    return Export(columns, rows(), f"billing-summary-{label}", "Billing summary")


EXPORTS: tuple[ExportSpec, ...] = (
    ExportSpec("statements", STATEMENT_PARAMETERS, statements_export),
    ExportSpec("invoice-lines", STATEMENT_PARAMETERS, invoice_lines_export),
    ExportSpec("gl-journal", GL_PARAMETERS, gl_journal_export),
    ExportSpec("sites", SITE_PARAMETERS, sites_export, billing=False),
    ExportSpec("billing-summary", SUMMARY_PARAMETERS, billing_summary_export),
)


def export_routes(
    database: Database,
    settings: Settings,
    verifier: TokenVerifier,
    exports: Sequence[ExportSpec] = EXPORTS,
) -> list[BaseRoute]:
    """`/exports/{stem}.csv` and `/exports/{stem}.xlsx` of each export, for `server.app.create_app`."""

    def endpoint(spec: ExportSpec, fmt: Format) -> Callable[[Request], Awaitable[Response]]:
        async def export(request: Request, door: RequestDatabase, caller: Caller) -> Response:
            params = _params(request, spec.parameters)
            if spec.billing and not caller.has_any(BILLING_READERS):
                held = ", ".join(sorted(caller.roles)) or "no role"
                raise Forbidden(
                    f"the {spec.stem} export is billing data: it needs one of the roles "
                    f"{', '.join(sorted(BILLING_READERS))}; you have {held}"
                )
            ctx = Context(db=door, settings=settings, caller=caller, request_id=request_id_of(request))
            found = await spec.handler(params, ctx)
            # a streamed body closes the door when it ends (door_route leaves it open for it)
            return await export_response(
                found.columns, found.rows, fmt=fmt, filename=found.filename, sheet=found.sheet,
                finally_=door.close,
            )  # fmt: skip

        return door_route(database, settings, verifier, export, what=f"export {spec.stem}", logger=log)

    return [
        Route(f"/exports/{spec.stem}.{fmt.value}", endpoint(spec, fmt))
        for spec, fmt in itertools.product(exports, Format)
    ]


__all__ = [
    "BILLING_READERS",
    "EXPORTS",
    "Column",
    "Export",
    "ExportSpec",
    "Format",
    "Kind",
    "as_parameters",
    "csv_cell",
    "export_response",
    "export_routes",
    "statement_filter",
    "write_xlsx",
]
