"""`GET /audit-log.csv`: the audit trail as CSV, for auditors (issue 10 §5; docs/architecture.md).

Query parameters, all optional, each at most once: `entityType` (an audited table, e.g. `contract` or
`CONTRACT`), `entityId` (with `entityType`), `from` (inclusive) and `to` (exclusive), ISO 8601 instants with
an offset. Needs a bearer token (401 otherwise) and reads through the request's door, so the caller gets the
entries `auditLog` would give it (an auditor or billing admin: all). The body is streamed, oldest entry first:
a header row `at,actor,operation,entity_type,entity_id,site_id,action,column,before,after,txid`, then one
line per changed column (`before`/`after`: text as is, other JSON values as JSON, null empty). Bad
parameters are 400 `BAD_USER_INPUT` naming the parameter, as JSON problem bodies.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from db.database import Database, RequestDatabase
from db.repositories.audit import AuditQuery
from resolvers import audit as service
from resolvers.context import Caller
from server.app import door_route
from server.gis import _params, instant_of
from server.settings import Settings
from server.tokens import TokenVerifier

log = logging.getLogger("towne.audit")

PARAMETERS = frozenset({"entityType", "entityId", "from", "to"})


def query_of(request: Request) -> AuditQuery:
    """The checked filters of the request's query string."""
    params = _params(request, PARAMETERS)
    return service.audit_query(
        entity_type=service.entity_type(params["entityType"]) if "entityType" in params else None,
        entity_id=params.get("entityId"),
        since=instant_of(params["from"], argument="from") if "from" in params else None,
        until=instant_of(params["to"], argument="to") if "to" in params else None,
    )


def audit_routes(database: Database, settings: Settings, verifier: TokenVerifier) -> list[BaseRoute]:
    """The routes of this module, for `server.app.create_app`."""

    def body(door: RequestDatabase, query: AuditQuery, caller: Caller) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                async with door.read() as session:
                    async for text in service.stream_csv(session, query, caller):
                        yield text.encode()
            except Exception:
                # the status is sent: the client sees a truncated file, the log says why
                log.exception("audit log export stopped")
                raise
            finally:
                await door.close()

        return chunks()

    async def export(request: Request, door: RequestDatabase, caller: Caller) -> Response:
        return StreamingResponse(
            body(door, query_of(request), caller),
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": 'attachment; filename="audit-log.csv"',
                "cache-control": "private, no-store",
            },
        )

    route = door_route(database, settings, verifier, export, what="audit log export", logger=log)
    return [Route("/audit-log.csv", route)]


__all__ = ["PARAMETERS", "audit_routes", "query_of"]
