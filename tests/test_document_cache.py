"""Parsing and validation cached per document (schema.caches): a repeated document is parsed and validated
once, and every limit and refusal still answers as without the cache."""

from __future__ import annotations

from typing import Any

from db.database import Database
from schema import build_schema
from schema.caches import DocumentCache, ValidationResultCache
from server.settings import Settings
from tests.conftest import TEST_JWT_SECRET, GraphQLClient, context_for

SITE = '{ site(siteNumber: "0170") { name } }'


def _hits() -> tuple[int, int]:
    parse = DocumentCache().cached_parse_document.cache_info().hits  # type: ignore[attr-defined]
    validate = ValidationResultCache().cached_validate_document.cache_info().hits  # type: ignore[attr-defined]
    return parse, validate


def _codes(result: Any) -> list[str]:
    return [e.extensions["code"] for e in result.errors or []]


async def test_a_repeated_document_is_parsed_and_validated_once(gql: GraphQLClient) -> None:
    unique = SITE.replace("name", "name city")  # a text no other test sends
    await gql.data(unique)
    parse, validate = _hits()
    assert (await gql.data(unique)) == {"site": {"name": "Gaylord Opryland Hotel", "city": "Nashville"}}
    assert _hits() == (parse + 1, validate + 1)


async def test_refusals_answer_the_same_from_the_cache(gql: GraphQLClient) -> None:
    deep = '{ site(siteNumber: "0170") { territories { territory { layer { territories { sites(first: 1) { edges { node { territories { territory { layer { territories { layer { code } } } } } } } } } } } } } }'
    documents = {
        "GRAPHQL_PARSE_FAILED": "{ site(siteNumber: ",
        "TOO_MANY_TOKENS": "{ me { " + "subject " * 16_000 + "} }",
        "QUERY_TOO_DEEP": deep,
        "GRAPHQL_VALIDATION_FAILED": "{ site(siteNumber: 170) { nope } }",
    }
    for code, document in documents.items():
        first = await gql.execute(document)
        second = await gql.execute(document)
        assert _codes(first) == _codes(second) and code in _codes(first), (code, first.errors)
        assert [e.message for e in first.errors] == [e.message for e in second.errors]
        assert first.errors is not second.errors  # each request its own list
        assert first.data is None and second.data is None


async def test_the_cache_keeps_each_schemas_rules_apart(db: Database, settings: Settings) -> None:
    """The same introspection document, validated by the development schema first, is still refused by the
    production schema (its rules are part of the key)."""
    introspection = "{ __schema { queryType { name } } }"
    production = Settings.model_validate(
        {
            "DATABASE_URL": "postgresql+asyncpg://unused/unused",
            "TOWNE_ENV": "production",
            "TOWNE_JWT_SECRET": TEST_JWT_SECRET,
        }
    )
    development = GraphQLClient(build_schema(), await context_for(db, settings))
    assert (await development.data(introspection)) == {"__schema": {"queryType": {"name": "Query"}}}
    refused = await GraphQLClient(build_schema(settings=production), await context_for(db, settings)).execute(
        introspection
    )
    assert set(_codes(refused)) == {"INTROSPECTION_DISABLED"} and refused.data is None
    # and the cost limit, which depends on the variables, is measured on every request
    costly = (
        'query ($n: Int!) { territoryLayer(code: "districts") { territories { sites(first: $n) {'
        " edges { node { territories { territory { name } } } } } } } }"
    )
    assert (await development.execute(costly, n=5)).errors is None
    assert _codes(await development.execute(costly, n=500)) == ["QUERY_TOO_COSTLY"]
