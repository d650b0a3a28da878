"""The audit trail in the GraphQL contract (issue 10 §5): `auditLog`, `Site.auditLog`, `Contract.auditLog`, and
the naming of each mutation's units of work.

Every write to an audited table is recorded by the database in the writer's transaction (migration 0013):
who (`actor`: the caller's token subject, or the database login for a direct SQL edit), when, which operation
(the mutation's field name, or `sql:UPDATE`-style for direct SQL) and the values before and after of the
columns that changed. Any signed-in caller reads the entries of what it may see; `auditor` and `billingAdmin`
read all of them (docs/security.md). Bad arguments are `BAD_USER_INPUT` naming the argument; a page above
500 is `PAGE_TOO_LARGE`.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
from typing import Annotated, Any

import strawberry
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.types import Info

from resolvers import audit as service
from resolvers.audit import AuditEntry as EntryView
from resolvers.audit import AuditQuery, operation
from resolvers.sites import encode_cursor
from schema.common import Ctx, PageInfo, register_enum
from schema.scalars import JSON


class AuditEntityType(enum.Enum):
    CUSTOMER_SITE = "customer_site"
    CONTRACT = "contract"
    CONTRACT_COMPONENT = "contract_component"
    FIXED_FEE_SERVICE = "fixed_fee_service"
    LABOR_HOUR_JOB = "labor_hour_job"
    REVENUE_SHARE_THRESHOLD = "revenue_share_threshold"
    INVOICE_GROUP = "invoice_group"
    CONTRACT_AMENDMENT = "contract_amendment"
    CONTRACT_HEADER_HISTORY = "contract_header_history"
    TERRITORY_LAYER = "territory_layer"
    TERRITORY = "territory"
    SITE_TERRITORY_ASSIGNMENT = "site_territory_assignment"
    BILLING_STATEMENT = "billing_statement"
    STATEMENT_VERSION = "statement_version"
    INVOICE = "invoice"
    INVOICE_LINE = "invoice_line"
    APP_USER = "app_user"
    APP_USER_ROLE = "app_user_role"
    APP_USER_SITE = "app_user_site"
    APP_USER_TERRITORY = "app_user_territory"


register_enum(
    AuditEntityType,
    name="AuditEntityType",
    description="What an audit entry is about: the audited table (its name in lower case).",
    values={e.name: service.ENTITY_TYPES[e.value] for e in AuditEntityType},
)
if {e.value for e in AuditEntityType} != set(service.ENTITY_TYPES):
    raise ValueError("AuditEntityType and resolvers.audit.ENTITY_TYPES name different tables")


@strawberry.enum(description="What happened to the row.")
class AuditAction(enum.Enum):
    INSERT = strawberry.enum_value("INSERT", description="Created; `changes` has every column, before null.")
    UPDATE = strawberry.enum_value("UPDATE", description="Changed; `changes` has the changed columns only.")
    DELETE = strawberry.enum_value("DELETE", description="Deleted; `changes` has every column, after null.")


@strawberry.type(description="One column of an audit entry.")
class AuditChange:
    column: str = strawberry.field(description="The column (database name, e.g. `billing_type`).")
    before: JSON | None = strawberry.field(
        description="Its value before (null: none, or an INSERT). Decimals are strings; a geometry is "
        "summarised (a point as WKT; otherwise its type and the md5 of its EWKB)."
    )
    after: JSON | None = strawberry.field(description="Its value after (null: none, or a DELETE).")


@strawberry.type(description="One changed row: who changed it, when, through which operation, and how.")
class AuditLogEntry:
    at: dt.datetime = strawberry.field(description="When: the writing statement's start, with offset.")
    actor: str = strawberry.field(
        description="Who: the API caller's token subject, or the database login for a direct SQL edit "
        "(psql, QGIS)."
    )
    operation: str = strawberry.field(
        description="Through what: the mutation field (e.g. `saveUser`), a route (e.g. "
        "`POST /layers/{code}/import`), a command (`towne import`), or `sql:INSERT|UPDATE|DELETE` for a write "
        "that named none (direct SQL)."
    )
    entity_type: AuditEntityType = strawberry.field(description="The table.")
    entity_id: str = strawberry.field(description="The row's primary key (AuditEntityType says which).")
    site_id: strawberry.ID | None = strawberry.field(
        description="The site the row belongs to; null for territories and users."
    )
    action: AuditAction = strawberry.field(description="INSERT, UPDATE or DELETE.")
    changes: list[AuditChange] = strawberry.field(description="The columns written, by name.")
    transaction_id: str = strawberry.field(
        description="The database transaction: entries of one unit of work share it."
    )

    @classmethod
    def from_view(cls, view: EntryView) -> AuditLogEntry:
        return cls(
            at=view.at,
            actor=view.actor,
            operation=view.operation,
            entity_type=AuditEntityType(view.entity_type),
            entity_id=view.entity_id,
            site_id=strawberry.ID(str(view.site_id)) if view.site_id else None,
            action=AuditAction(view.action),
            changes=[AuditChange(column=c.column, before=c.before, after=c.after) for c in view.changes],
            transaction_id=str(view.txid),
        )


@strawberry.type(description="An audit entry in a list, with its cursor.")
class AuditLogEdge:
    cursor: str = strawberry.field(description="Opaque position: pass it as `after` to continue.")
    node: AuditLogEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of audit entries, newest first (Relay connection).")
class AuditLogConnection:
    edges: list[AuditLogEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is.")


FromArgument = Annotated[
    dt.datetime | None,
    strawberry.argument(name="from", description="Entries at or after this instant (with offset)."),
]
ToArgument = Annotated[
    dt.datetime | None, strawberry.argument(description="Entries before this instant (with offset).")
]
FirstArgument = Annotated[int, strawberry.argument(description="Page size, 0–500.")]
AfterArgument = Annotated[str | None, strawberry.argument(description="`endCursor` of the previous page.")]


async def connection(info: Ctx, query: AuditQuery, *, first: int, after: str | None) -> AuditLogConnection:
    rows, offset, has_next = await service.entry_page(info.context, query, first=first, after=after)
    edges = [
        AuditLogEdge(cursor=encode_cursor(offset + i), node=AuditLogEntry.from_view(v))
        for i, v in enumerate(rows)
    ]
    return AuditLogConnection(
        edges=edges, page_info=PageInfo.of([e.cursor for e in edges], offset=offset, has_next=has_next)
    )


async def _site_audit_log(
    root: Any,
    info: Ctx,
    from_: FromArgument = None,
    to: ToArgument = None,
    first: FirstArgument = 50,
    after: AfterArgument = None,
) -> AuditLogConnection:
    query = service.audit_query(site_id=root._row.id, since=from_, until=to)
    return await connection(info, query, first=first, after=after)


async def _contract_audit_log(
    root: Any,
    info: Ctx,
    from_: FromArgument = None,
    to: ToArgument = None,
    first: FirstArgument = 50,
    after: AfterArgument = None,
) -> AuditLogConnection:
    query = service.audit_query(site_id=root._row.site_id, scopes=("contract",), since=from_, until=to)
    return await connection(info, query, first=first, after=after)


def site_audit_log() -> Any:
    """`Site.auditLog`: a field for `schema.sites.Site`."""
    return strawberry.field(
        resolver=_site_audit_log,
        description="Changes to the site and everything of it the caller may see (its contract, "
        "configuration, statements, manual assignments), newest first.",
    )


def contract_audit_log() -> Any:
    """`Contract.auditLog`: a field for `schema.contracts.Contract`."""
    return strawberry.field(
        resolver=_contract_audit_log,
        description="Changes to the contract's header and configuration rows, newest first.",
    )


@strawberry.type
class AuditRoot:
    @strawberry.field(
        description="The audit trail: entries the caller may see (auditor and billingAdmin: all), newest "
        "first. `entityId` needs `entityType`."
    )
    async def audit_log(
        self,
        info: Ctx,
        entity_type: Annotated[
            AuditEntityType | None, strawberry.argument(description="Only entries about this table.")
        ] = None,
        entity_id: Annotated[
            str | None, strawberry.argument(description="Only entries about this row (with entityType).")
        ] = None,
        from_: FromArgument = None,
        to: ToArgument = None,
        first: FirstArgument = 50,
        after: AfterArgument = None,
    ) -> AuditLogConnection:
        query = service.audit_query(
            entity_type=entity_type.value if entity_type else None, entity_id=entity_id, since=from_, until=to
        )
        return await connection(info, query, first=first, after=after)


class OperationName(FieldExtension):
    """Binds the field's name as the operation of every unit of work its resolver begins (`towne.operation`,
    recorded by the audit trail): `name_operations` puts it on every mutation field."""

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        with operation(info.field_name):
            return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        with operation(info.field_name):
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result


def name_operations(mutation: type) -> None:
    """Put `OperationName` on every field of `mutation` (idempotent: `build_schema` may run more than once)."""
    for field in mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if not any(isinstance(e, OperationName) for e in field.extensions):
            field.extensions.append(OperationName())


__all__ = [
    "AuditAction",
    "AuditChange",
    "AuditEntityType",
    "AuditLogConnection",
    "AuditLogEntry",
    "AuditRoot",
    "OperationName",
    "contract_audit_log",
    "name_operations",
    "site_audit_log",
]
