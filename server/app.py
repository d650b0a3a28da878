"""The Starlette application: `/graphql` (GraphiQL in the browser), `/health`, the GL export download.

The request path: `BodyLimit` (413 above `TOWNE_MAX_BODY_BYTES`) → `TowneGraphQL` (a request that is not
a GraphQL request is a 400 with a JSON GraphQL error and a code) → `get_context` (caller, database,
loaders, request id) → the schema (`schema/`) → the service layer (`resolvers/`) → repositories (`db/`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from db.database import Database, RequestDatabase
from resolvers import statements as statement_service
from resolvers.context import ANONYMOUS, Caller, Context
from resolvers.errors import (
    BadRequest,
    Internal,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TowneError,
    Unauthenticated,
    Unavailable,
    from_database,
)
from resolvers.validation import identifier
from schema import build_schema
from schema.problems import http_status
from server.settings import Settings, app_database_url
from server.tokens import TokenVerifier
from server.web import graphiql_response, vendor_mount

log = logging.getLogger("towne.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,199}")  # a GraphQL Name


def request_id_of(request: Request) -> str:
    """The client's `X-Request-ID` when it is a plain token, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a message that echoes client text (an operation name with a lone surrogate)
    still encodes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem_response(error: TowneError, *, request_id: str | None = None) -> JSONResponse:
    """A REST problem body `{"code", "message", …}` with the status of the error table."""
    headers = {"x-request-id": request_id} if request_id else {}
    headers.update(_unauthenticated_headers(error))
    return AsciiJSONResponse(
        {**error.as_extensions(), "message": error.message}, http_status(error), headers=headers
    )


def graphql_error_response(
    error: TowneError, status: int, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A GraphQL-shaped error body for a request that never reached execution."""
    return AsciiJSONResponse(
        {"errors": [{"message": error.message, "extensions": error.as_extensions()}]}, status, headers=headers
    )


class _EnvelopeError(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _EnvelopeError(f"{name} is not a JSON number; send numbers as digits (or amounts as strings)")


def _check_operation_name(name: object) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not _OPERATION_NAME.fullmatch(name):
        raise HTTPException(400, "operationName must be the name of an operation of the document, or null")


async def caller_of(request: Request, door: RequestDatabase, verifier: TokenVerifier) -> Caller:
    """The caller a request's bearer token names, bound to its door; anonymous without a token.

    Raises `Unauthenticated` for a token that does not verify or names no active `app_user`."""
    subject = verifier.subject(request.headers.get("authorization"))
    if subject is None:
        return ANONYMOUS
    found = await door.identify(subject)
    if found is None:
        raise Unauthenticated(f"the token's subject {subject[:200]!r} is not an active user of this service")
    user_id, roles = found
    return Caller(subject=subject, user_id=user_id, roles=frozenset(roles))


def _unauthenticated_headers(error: TowneError) -> dict[str, str]:
    return {"www-authenticate": 'Bearer realm="towne-graph"'} if isinstance(error, Unauthenticated) else {}


class TowneGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings, verifier: TokenVerifier) -> None:
        super().__init__(build_schema(debug=settings.debug), graphql_ide="graphiql")
        self.db = db
        self.settings = settings
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            # strawberry's own refusals of the envelope (method, content type, missing query, …)
            error: TowneError = (
                MethodNotAllowed(str(exc.reason)) if exc.status_code == 405 else BadRequest(str(exc.reason))
            )
            response = graphql_error_response(error, exc.status_code)
        except TowneError as error:  # from get_context: the token, or the database behind it
            response = graphql_error_response(
                error, http_status(error), headers=_unauthenticated_headers(error)
            )
        except Exception as exc:
            known = from_database(exc)  # the database behind the caller's identification
            if known is None:
                raise
            response = graphql_error_response(known, http_status(known))
        finally:
            door = getattr(request.state, "towne_door", None)
            if door is not None:
                await door.close()
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """The body as JSON: strict UTF-8 (no UTF-16/32, no encoded surrogates), no NaN/Infinity, an object
        (one operation per request) whose `operationName` is a GraphQL name or null."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"the request body is not UTF-8 (byte {exc.start + 1})") from exc
        try:
            parsed = json.loads(text, parse_constant=_no_constants)
        except _EnvelopeError as exc:
            raise HTTPException(400, str(exc)) from exc
        except json.JSONDecodeError as exc:
            raise HTTPException(
                400, f"the request body is not JSON: {exc.msg} at character {exc.pos + 1}"
            ) from exc
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise HTTPException(400, "the request body holds a number too long to read") from exc
        except RecursionError as exc:
            raise HTTPException(400, "the request body is nested too deeply") from exc
        if not isinstance(parsed, dict):
            raise HTTPException(
                400, 'the request body must be a JSON object like {"query": "…", "variables": {…}}'
            )
        _check_operation_name(parsed.get("operationName"))
        return parsed

    async def get_context(self, request: Any, response: Any) -> Context:
        request_id = request_id_of(request)
        response.headers["x-request-id"] = request_id
        door = self.db.request()
        request.state.towne_door = door  # closed by __call__ when the response is made
        caller = await caller_of(request, door, self.verifier)
        return Context(
            db=door, settings=self.settings, caller=caller, request_id=request_id, response=response
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response()  # assets from /static/vendor (web/vendor), not a CDN


class BodyLimit:
    """413 for request bodies above `limit` bytes, by `Content-Length` or as the body streams in."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"the request body is larger than {self.limit} bytes")
        await graphql_error_response(error, 413)(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(
    settings: Settings, *, database_url: str | None = None, db: Database | None = None
) -> Starlette:
    """Build the app; nothing connects until the first request, and nothing is installed or started here
    (design.md §13): the CLI brings a development database up before it serves. Raises `ValueError` when
    neither `db`, `database_url` nor `DATABASE_URL` names a database."""
    if db is None:
        url = database_url or settings.database_url
        if not url:
            raise ValueError(
                "no database: set DATABASE_URL, or start the server with `towne run` / `towne serve`"
            )
        # the application role: row-level security applies to it (docs/security.md)
        db = Database.from_url(
            app_database_url(settings, url), echo=settings.sql_echo, lock_timeout_ms=settings.lock_timeout_ms
        )
        owned = True
    else:
        owned = False
    database = db
    verifier = TokenVerifier(settings)
    graphql = TowneGraphQL(database, settings, verifier)

    async def health(request: Request) -> Response:
        """200 `{"status": "ok"}` when the database answers, else 503 with the error language."""
        try:
            async with database.read() as session:
                from sqlalchemy import text

                await session.execute(text("SELECT 1"))
        except Exception:
            log.warning("health: the database does not answer", exc_info=True)
            return problem_response(Unavailable("the database does not answer"))
        return JSONResponse({"status": "ok"})

    async def gl_export(request: Request) -> Response:
        """`GET /statements/{id}/gl-export.csv`: the Great Plains journal (§3.8) of a Sent version; the id of
        a statement exports its current version, the id of a version that version."""
        door = database.request()
        request_id = request_id_of(request)
        try:
            caller = await caller_of(request, door, verifier)
            if caller.is_anonymous:
                raise Unauthenticated("sign in: send `Authorization: Bearer <token>`")
            ctx = Context(db=door, settings=settings, caller=caller, request_id=request_id)
            any_id = identifier(request.path_params["statement_id"], argument="statementId")
            text = await statement_service.gl_export_csv(ctx, any_id=any_id)
        except TowneError as error:
            return problem_response(error, request_id=request_id)
        except Exception as exc:
            known = from_database(exc)
            if known is None:
                log.exception("GL export failed (request %s)", request_id)
            return problem_response(known or Internal(request_id), request_id=request_id)
        finally:
            await door.close()
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="gl-export-{any_id}.csv"',
                "x-request-id": ctx.request_id,
            },
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            await database.dispose()

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's own 404 and 405 in the error language: GraphQL-shaped on /graphql, a problem body
        elsewhere."""
        status = getattr(exc, "status_code", 404)
        path = request.url.path[:200]
        error: TowneError = (
            MethodNotAllowed(f"{request.method} is not allowed on {path}")
            if status == 405
            else NotFound(f"no route {path}; the API is at /graphql")
        )
        if request.url.path == "/graphql":
            return graphql_error_response(error, http_status(error))
        return problem_response(error)

    app = Starlette(
        exception_handlers={StarletteHTTPException: http_error},
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health),
            Route("/statements/{statement_id}/gl-export.csv", gl_export),
            vendor_mount(),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
