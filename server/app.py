"""The Starlette application: `/graphql` (GraphiQL in the browser) and `/health`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from db.database import Database
from resolvers.context import Context
from schema import build_schema
from server.settings import Settings
from server.web import graphiql_response, vendor_mount


class TowneGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(build_schema(mask_errors=settings.mask_errors), graphql_ide="graphiql")
        self.db = db
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(db=self.db, settings=self.settings)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response()  # assets from /static/vendor (web/vendor), not a CDN


def create_app(
    settings: Settings, *, database_url: str | None = None, db: Database | None = None
) -> Starlette:
    """Build the app; nothing connects until the first request (design.md §13)."""
    database = db or Database.from_url(
        database_url or settings.resolved_database_url(), echo=settings.sql_echo
    )
    graphql = TowneGraphQL(database, settings)

    async def health(request: Request) -> Response:
        async with database.read() as session:
            from sqlalchemy import text

            await session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    async def gl_export(request: Request) -> Response:
        """`GET /statements/{id}/gl-export.csv`: the Great Plains journal of a Sent statement (§3.8)."""
        from resolvers import statements as service

        try:
            statement_id = uuid.UUID(request.path_params["statement_id"])
        except ValueError:
            return JSONResponse({"code": "BAD_USER_INPUT", "message": "statement id must be a UUID"}, 400)
        try:
            text = await service.gl_export_csv(database, statement_id=statement_id)
        except service.NotFound as problem:
            return JSONResponse({"code": problem.code, "message": str(problem)}, 404)
        except service.StatementProblem as problem:
            return JSONResponse({"code": problem.code, "message": str(problem)}, 409)
        filename = f"gl-export-{statement_id}.csv"
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if db is None:
            await database.dispose()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health),
            Route("/statements/{statement_id}/gl-export.csv", gl_export),
            vendor_mount(),
        ],
        lifespan=lifespan,
    )
