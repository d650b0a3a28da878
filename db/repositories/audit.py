"""Reads of the audit trail (`audit_log`, migration 0013; issue 10 §5).

The trail is written by the database's triggers only; these functions read it in the caller's session, so
the application role's row scopes decide which entries a caller gets (docs/security.md). Entries are
ordered by `at`, then by `id` (the order of writing; a bulk statement shares one `at`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditLog


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries: all given filters apply (AND). `since` inclusive, `until` exclusive."""

    entity_type: str | None = None
    entity_id: str | None = None
    site_id: uuid.UUID | None = None
    scopes: tuple[str, ...] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One column of one entry: its values before and after (JSON values; None for JSON null or absent)."""

    column: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    operation: str
    entity_type: str
    entity_id: str
    site_id: uuid.UUID | None
    action: str
    changes: tuple[Change, ...]
    txid: int


_COLUMNS: tuple[Any, ...] = (
    AuditLog.id,
    AuditLog.at,
    AuditLog.actor,
    AuditLog.operation,
    AuditLog.entity_type,
    AuditLog.entity_id,
    AuditLog.site_id,
    AuditLog.action,
    cast(AuditLog.before, Text).label("before"),
    cast(AuditLog.after, Text).label("after"),
    AuditLog.changed,
    AuditLog.txid,
)


def _where(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.entity_type is not None:
        conditions.append(AuditLog.entity_type == query.entity_type)
    if query.entity_id is not None:
        conditions.append(AuditLog.entity_id == query.entity_id)
    if query.site_id is not None:
        conditions.append(AuditLog.site_id == query.site_id)
    if query.scopes is not None:
        conditions.append(AuditLog.scope.in_(query.scopes))
    if query.since is not None:
        conditions.append(AuditLog.at >= query.since)
    if query.until is not None:
        conditions.append(AuditLog.at < query.until)
    return conditions


def _select(query: AuditQuery, *, newest_first: bool) -> Select[Any]:
    order = (AuditLog.at.desc(), AuditLog.id.desc()) if newest_first else (AuditLog.at, AuditLog.id)
    return select(*_COLUMNS).where(*_where(query)).order_by(*order)


def _document(value: str | None) -> dict[str, Any]:
    """A stored row document; non-integral numbers (numeric columns, exact in jsonb) as their decimal text, so
    money is never a float."""
    return json.loads(value, parse_float=str) if value else {}


def _entry(row: Any) -> AuditEntry:
    before, after = _document(row.before), _document(row.after)
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        operation=row.operation,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        site_id=row.site_id,
        action=row.action,
        changes=tuple(Change(c, before.get(c), after.get(c)) for c in row.changed),
        txid=row.txid,
    )


async def find_entries(
    session: AsyncSession, query: AuditQuery, *, offset: int, limit: int
) -> Sequence[AuditEntry]:
    """Entries matching `query` that the caller may read, newest first, `limit` from `offset`."""
    statement = _select(query, newest_first=True).offset(offset).limit(limit)
    return [_entry(row) for row in (await session.execute(statement)).all()]


async def stream_entries(
    session: AsyncSession, query: AuditQuery, *, batch: int = 500
) -> AsyncIterator[AuditEntry]:
    """Entries matching `query` that the caller may read, oldest first, through a server-side cursor."""
    result = await session.stream(_select(query, newest_first=False).execution_options(yield_per=batch))
    async for rows in result.partitions(batch):
        for row in rows:
            yield _entry(row)


__all__ = ["AuditEntry", "AuditQuery", "Change", "find_entries", "stream_entries"]
