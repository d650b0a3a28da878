"""The audit trail's reads (issue 10 §5): argument checks, paging, and the CSV export.

What is recorded, and who may read which entries, is the database's (migration 0013, docs/security.md):
these functions read through the caller's door, so a scoped caller gets the entries of what it may see.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from db.database import operation
from db.repositories import audit as repo
from db.repositories.audit import AuditEntry, AuditQuery
from resolvers import validation
from resolvers.context import BILLING_DETAIL, Caller, Context
from resolvers.errors import BadUserInput
from resolvers.sites import decode_cursor

MAX_PAGE = 500
MAX_ENTITY_ID = 200
# §4.4: vendor ids and invoice-group billing customers only for roles with a billing need (as `Site.vendorId`);
# the trail shows that such a column changed, its values only to those roles and auditors
BILLING_DETAIL_COLUMNS = frozenset({"vendor_id", "customer_name"})
SEES_BILLING_DETAIL = BILLING_DETAIL | {"auditor"}

# every audited table (migration 0013 `AUDITED`; a table attached later joins here and in the GraphQL enum),
# with what its entity id is
ENTITY_TYPES: dict[str, str] = {
    "customer_site": "A site; id: the site id.",
    "contract": "A contract's header row; id: the contract id.",
    "contract_component": "A building block's settings row of a contract; id: the row id.",
    "fixed_fee_service": "A fixed-fee service of a contract; id: the row id.",
    "labor_hour_job": "A per-labor-hour job of a contract; id: the row id.",
    "revenue_share_threshold": "A revenue-share threshold of a contract; id: the row id.",
    "invoice_group": "An invoice group of a contract; id: the row id.",
    "contract_amendment": "An amendment of a contract (proposal and decision); id: the amendment id.",
    "contract_header_history": "A closed edition of a contract's header; id: the row id.",
    "territory_layer": "A territory layer; id: the layer's numeric id.",
    "territory": "A territory; id: the territory's numeric id.",
    "site_territory_assignment": "A manual assignment of a site in a layer; id: the assignment row id.",
    "billing_statement": "A statement; id: the statement id.",
    "statement_version": "A statement version; id: the version id.",
    "invoice": "An invoice of a statement version; id: the invoice id.",
    "invoice_line": "An invoice line; id: the line id.",
    "app_user": "A user; id: its numeric user id.",
    "app_user_role": "A role grant; id: `<user id>/<role>`.",
    "app_user_site": "A site link of a user; id: `<user id>/<site id>`.",
    "app_user_territory": "A managed territory of a user; id: `<user id>/<territory id>`.",
}

CSV_HEADER = (
    "at",
    "actor",
    "operation",
    "entity_type",
    "entity_id",
    "site_id",
    "action",
    "column",
    "before",
    "after",
    "txid",
)


def entity_type(value: str, *, argument: str = "entityType") -> str:
    """An audited table, by its name or its GraphQL enum name (`contract` or `CONTRACT`)."""
    name = value.strip().lower()
    if name not in ENTITY_TYPES:
        raise BadUserInput(
            f"{argument}: {value[:60]!r} is not an audited entity type; one of {', '.join(ENTITY_TYPES)}",
            argument=argument,
        )
    return name


def audit_query(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    site_id: uuid.UUID | None = None,
    scopes: tuple[str, ...] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> AuditQuery:
    """Checked filters: `entityId` needs `entityType` (ids are per table), `from` before `to`."""
    if entity_id is not None:
        if entity_type is None:
            raise BadUserInput(
                "entityId needs entityType: ids are unique per entity type", argument="entityId"
            )
        entity_id = validation.text(entity_id, argument="entityId", max_length=MAX_ENTITY_ID)
    since = validation.as_of(since, argument="from")
    until = validation.as_of(until, argument="to")
    if since is not None and until is not None and since >= until:
        raise BadUserInput(
            f"from ({since.isoformat()}) must be before to ({until.isoformat()})", argument="from"
        )
    return AuditQuery(
        entity_type=entity_type, entity_id=entity_id, site_id=site_id, scopes=scopes, since=since, until=until
    )


def redactor(caller: Caller) -> Any:
    """What `caller` may see of an entry: the entry itself, or (no billing detail) with the values of vendor ids
    and billing customers nulled."""
    if caller.has_any(SEES_BILLING_DETAIL):
        return lambda entry: entry

    def redact(entry: AuditEntry) -> AuditEntry:
        if not any(c.column in BILLING_DETAIL_COLUMNS for c in entry.changes):
            return entry
        changes = tuple(
            dataclasses.replace(c, before=None, after=None) if c.column in BILLING_DETAIL_COLUMNS else c
            for c in entry.changes
        )
        return dataclasses.replace(entry, changes=changes)

    return redact


async def entry_page(
    ctx: Context, query: AuditQuery, *, first: int, after: str | None
) -> tuple[Sequence[AuditEntry], int, bool]:
    """One page of entries the caller may read, newest first: the entries, the page's offset, whether more
    follow."""
    validation.page_size(first, maximum=MAX_PAGE)
    offset = decode_cursor(after) + 1 if after else 0
    async with ctx.db.read() as session:
        rows = await repo.find_entries(session, query, offset=offset, limit=first + 1)
    shown = redactor(ctx.caller)
    return [shown(row) for row in rows[:first]], offset, len(rows) > first


def _cell(value: Any) -> str:
    """A JSON value in a CSV cell: text as it is, null as empty, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def csv_rows(entry: AuditEntry) -> list[list[str]]:
    """The CSV lines of one entry: one per changed column."""
    head = [
        entry.at.astimezone(dt.UTC).isoformat(),
        entry.actor,
        entry.operation,
        entry.entity_type,
        entry.entity_id,
        str(entry.site_id) if entry.site_id else "",
        entry.action,
    ]
    return [[*head, c.column, _cell(c.before), _cell(c.after), str(entry.txid)] for c in entry.changes]


async def stream_csv(
    session: Any, query: AuditQuery, caller: Caller, *, batch: int = 500
) -> AsyncIterator[str]:
    """The entries of `query` readable in `session` (bound to `caller`) as CSV text (RFC 4180, CRLF), oldest
    first: the header, then one line per changed column, in chunks of about `batch` entries."""
    shown = redactor(caller)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    count = 0
    async for entry in repo.stream_entries(session, query, batch=batch):
        writer.writerows(csv_rows(shown(entry)))
        count += 1
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


__all__ = [
    "CSV_HEADER",
    "ENTITY_TYPES",
    "MAX_PAGE",
    "AuditEntry",
    "AuditQuery",
    "audit_query",
    "csv_rows",
    "entity_type",
    "entry_page",
    "operation",
    "redactor",
    "stream_csv",
]
