"""One JSON log line per request (logger `towne.request`) and the SQL statement count behind it.

`RequestLog` (the outermost ASGI middleware) opens a `RequestRecord` in a context variable; everything the
request runs, the tasks it starts included (they copy the context, and so share the record), fills it in:
the GraphQL view notes the operation name, the caller and the error codes; `count_statements` counts every
statement the engine sends (SQLAlchemy's `before_cursor_execute`). When the response has gone (or the client
left) the line is written:

    {"asctime": "…", "levelname": "INFO", "name": "towne.request", "process": 4711,
     "message": "request", "request_id": "…", "user": null, "method": "POST", "path": "/graphql",
     "operation": "Sites", "status": 200, "duration_ms": 12.3, "sql_statements": 3, "outcome": "ok"}

`process` is the worker process that served it (`towne serve --workers N`). `outcome` is `ok`, the error codes joined by commas (`BAD_USER_INPUT,NOT_FOUND`), or `disconnected`.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("towne.request")


@dataclass
class RequestRecord:
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    request_id: str | None = None
    user: str | None = None
    operation: str | None = None
    status: int | None = None
    statements: int = 0
    codes: list[str] = field(default_factory=list)
    disconnected: bool = False

    def note_codes(self, codes: list[str]) -> None:
        self.codes.extend(c for c in codes if c not in self.codes)

    @property
    def outcome(self) -> str:
        if self.disconnected:
            return "disconnected"
        return ",".join(self.codes) or ("ok" if (self.status or 500) < 400 else "error")

    def fields(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user": self.user,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "status": self.status,
            "duration_ms": round((time.perf_counter() - self.started) * 1000, 1),
            "sql_statements": self.statements,
            "outcome": self.outcome,
        }


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("towne_request", default=None)


def current() -> RequestRecord | None:
    """The record of the request being served, if any."""
    return _current.get()


def _count(*_: Any) -> None:
    record = _current.get()
    if record is not None:
        record.statements += 1


def count_statements(bind: AsyncEngine | AsyncConnection) -> None:
    """Count the statements `bind`'s engine sends into the current request's record (idempotent)."""
    engine: Engine = bind.sync_engine
    if not event.contains(engine, "before_cursor_execute", _count):
        event.listen(engine, "before_cursor_execute", _count)


def configure_logging() -> None:
    """`towne.request` writes JSON lines to stderr, unless a handler was configured for it already."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


class RequestLog:
    """The outermost middleware: one record per HTTP request, one log line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(method=scope.get("method", "-"), path=str(scope.get("path", "-"))[:200])
        token = _current.set(record)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"x-request-id":
                        record.request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except BaseException:
            record.status = record.status or 500
            raise
        finally:
            _current.reset(token)
            log.info("request", extra=record.fields())
