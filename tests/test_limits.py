"""Limits of a document (schema/limits.py): each refused with its own code before anything runs, so with no
SQL statement at all; each limit read from settings."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from db.database import Database, StatementCounter
from schema import build_schema
from schema.limits import document_cost
from server.settings import Settings
from tests.conftest import TEST_SETTINGS, context_for

# issue 7's 188-byte query, in this schema's names: region → sites(first: 500) → territories → sites(500)
PINNING = (
    '{ territoryLayer(code: "regions") { territories { sites(first: 500) { edges { node { territories {'
    " territory { sites(first: 500) { edges { node { siteNumber } } } } } } } } } } }"
)
ALIASES = (
    '{ site(siteNumber: "0349") { '
    + " ".join(f'a{i}: billingPreview(servicePeriod: "2025-04") {{ total }}' for i in range(1000))
    + " } }"
)
PAGE_OF_500 = (
    '{ sites(first: 500) { edges { node { siteNumber territories { territory { name } } billingPreview(servicePeriod: "2025-04")'
    " { total invoices { amount lines { amount } } } } } } }"
)


def _deep(levels: int) -> str:
    """`site { territories { territory { layer { territories { layer … name } … }` `levels` fields deep."""
    inner = "name"
    chain = ["territories", "layer"] * levels
    for name in reversed(chain[: levels - 3]):
        inner = f"{name} {{ {inner} }}"
    return f'{{ site(siteNumber: "0349") {{ territories {{ territory {{ {inner} }} }} }} }}'


async def _refusal(db: Database, schema: Any, query: str, **variables: Any) -> tuple[dict[str, Any], int]:
    """The only error of `query` and the number of SQL statements it issued."""
    context = await context_for(db, TEST_SETTINGS)  # a signed-in caller: the limits apply to everyone
    with StatementCounter(db.bind) as counter:
        result = await schema.execute(query, variable_values=variables or None, context_value=context)
    assert result.errors, result.data
    assert result.data is None
    return dict(result.errors[0].formatted), counter.count


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (PINNING, "QUERY_TOO_COSTLY"),
        (ALIASES, "TOO_MANY_ALIASES"),
        (_deep(13), "QUERY_TOO_DEEP"),
        ("{ " + 'site(siteNumber: "0349") { name } ' * 3000 + "}", "TOO_MANY_TOKENS"),
    ],
    ids=["cost", "aliases", "depth", "tokens"],
)
async def test_a_document_beyond_a_limit_is_refused_before_any_sql(
    db: Database, schema: Any, query: str, code: str
) -> None:
    error, statements = await _refusal(db, schema, query)
    assert error["extensions"] == {"code": code}, error
    assert statements == 0


async def test_the_cost_reads_first_from_variables(db: Database, schema: Any, gql: Any) -> None:
    query = (
        "query ($f: Int!) { sites(first: $f) { edges { node { territories { territory {"
        " sites(first: $f) { edges { node { siteNumber } } } } } } } } }"
    )
    error, statements = await _refusal(db, schema, query, f=500)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and statements == 0
    assert "about" in error["message"] and "first" in error["message"]
    small = await gql.data(query, f=2)
    assert len(small["sites"]["edges"]) == 2


def test_ordinary_large_pages_are_within_the_default_cost(schema: Any) -> None:
    limit = Settings.model_construct().max_cost
    portfolio = (
        '{ billingPreviews(servicePeriod: "2025-04", first: 1000) { site { siteNumber } preview { total'
        " invoices { invoiceNumber amount lines { code amount } } } } }"
    )
    for query in (PAGE_OF_500, portfolio):
        assert document_cost(schema._schema, parse(query), None, {}) <= limit
    assert document_cost(schema._schema, parse(PINNING), None, {}) > 100 * limit
    periods = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)][:20]
    previews = " ".join(
        f'p{i}: billingPreview(servicePeriod: "{p}") {{ total }}' for i, p in enumerate(periods)
    )
    per_period = f"{{ sites(first: 500) {{ edges {{ node {{ {previews} }} }} }} }}"
    assert document_cost(schema._schema, parse(per_period), None, {}) > limit  # a preview weighs 25


def test_the_cost_of_a_connection_is_its_page() -> None:
    schema = build_schema()._schema
    count = document_cost(
        schema, parse("{ sites(first: 7) { totalCount edges { node { siteNumber } } } }"), None, {}
    )
    assert count == 1 + 7 + 7  # the connection, its edges, their nodes
    assert document_cost(schema, parse("{ sites(first: 100000) { totalCount } }"), None, {}) == 1
    fragment = "query { sites { ...page } } fragment page on SiteConnection { edges { node { siteNumber } } }"
    assert document_cost(schema, parse(fragment), None, {}) == 1 + 50 + 50  # the default page


@pytest.mark.parametrize(
    ("setting", "query", "code"),
    [
        (
            "TOWNE_MAX_ALIASES",
            '{ a: site(siteNumber: "1") { name } b: site(siteNumber: "2") { name } }',
            "TOO_MANY_ALIASES",
        ),
        ("TOWNE_MAX_DEPTH", '{ site(siteNumber: "1") { territories { layer { code } } } }', "QUERY_TOO_DEEP"),
        ("TOWNE_MAX_TOKENS", '{ site(siteNumber: "1") { name } }', "TOO_MANY_TOKENS"),
        ("TOWNE_MAX_COST", "{ sites(first: 2) { edges { node { siteNumber } } } }", "QUERY_TOO_COSTLY"),
    ],
)
async def test_every_limit_comes_from_settings(db: Database, setting: str, query: str, code: str) -> None:
    settings = Settings.model_validate({"DATABASE_URL": "postgresql+asyncpg://unused/unused", setting: 1})
    error, statements = await _refusal(db, build_schema(settings=settings), query)
    assert error["extensions"]["code"] == code and statements == 0


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_off_in_production_only(db: Database, gql: Any) -> None:
    production = Settings(DATABASE_URL="postgresql+asyncpg://unused/unused", TOWNE_ENV="production")
    error, statements = await _refusal(db, build_schema(settings=production), INTROSPECTION)
    assert error["extensions"]["code"] == "INTROSPECTION_DISABLED" and statements == 0
    assert (await gql.data(INTROSPECTION))["__schema"]["queryType"]["name"] == "Query"
    typename = await build_schema(settings=production).execute("{ __typename }")
    assert typename.errors is None
