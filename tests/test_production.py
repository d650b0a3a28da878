"""Production mode (`TOWNE_ENV=production`): no GraphiQL, no introspection; persisted operations by hash, and
with `TOWNE_PERSISTED_ONLY` nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.database import Database
from server.app import create_app
from server.persisted import sha256_of
from server.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_SETTINGS, bearer

SITE = 'query Site { site(siteNumber: "0170") { name } }'
NAME = {"data": {"site": {"name": "Gaylord Opryland Hotel"}}}


def headers(**extra: str) -> dict[str, str]:
    """The headers of every request of this module (the one place to add an `Authorization`)."""
    return {"content-type": "application/json", **bearer(TEST_SETTINGS), **extra}


def production(registry: Path | None = None, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": "postgresql+asyncpg://unused/unused",
        "TOWNE_ENV": "production",
        "TOWNE_JWT_SECRET": TEST_JWT_SECRET,
    }
    if registry is not None:
        values["TOWNE_PERSISTED_OPERATIONS"] = str(registry)
    return Settings.model_validate({**values, **more})


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-operations.json"
    path.write_text(json.dumps({sha256_of(SITE): SITE}), encoding="utf-8")
    return path


def client_of(db: Database, settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db=db)), base_url="http://test"
    )


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def apq(document_hash: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}}


async def test_production_has_neither_graphiql_nor_introspection(db: Database) -> None:
    async with client_of(db, production()) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        schema = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers()
        )
        plain = await client.post("/graphql", json={"query": SITE}, headers=headers())
    assert page.status_code == 404 and code_of(page) == "NOT_FOUND"
    assert code_of(schema) == "INTROSPECTION_DISABLED" and schema.json()["data"] is None
    assert plain.json() == NAME  # without persisted_only, documents as text still run


async def test_persisted_operations_by_hash(db: Database, registry: Path) -> None:
    digest = sha256_of(SITE)
    async with client_of(db, production(registry)) as client:
        by_apq = await client.post("/graphql", json=apq(digest), headers=headers())
        by_id = await client.post("/graphql", json={"documentId": f"sha256:{digest}"}, headers=headers())
        by_get = await client.get(
            "/graphql",
            params={"extensions": json.dumps(apq(digest)["extensions"])},
            headers={"accept": "application/json", **bearer(TEST_SETTINGS)},
        )
        by_get_id = await client.get(
            "/graphql",
            params={"documentId": digest},
            headers={"accept": "application/json", **bearer(TEST_SETTINGS)},
        )
        unknown = await client.post("/graphql", json=apq("0" * 64), headers=headers())
        malformed = await client.post("/graphql", json=apq("nope"), headers=headers())
        mismatch = await client.post(
            "/graphql", json={"query": "{ __typename }", **apq(digest)}, headers=headers()
        )
    for response in (by_apq, by_id, by_get, by_get_id):
        assert response.status_code == 200 and response.json() == NAME, response.text
    assert unknown.status_code == 400 and code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert malformed.status_code == 400 and code_of(malformed) == "BAD_REQUEST"
    assert mismatch.status_code == 400 and code_of(mismatch) == "BAD_REQUEST"


async def test_persisted_only_runs_nothing_else(db: Database, registry: Path) -> None:
    async with client_of(db, production(registry, TOWNE_PERSISTED_ONLY=True)) as client:
        persisted = await client.post("/graphql", json=apq(sha256_of(SITE)), headers=headers())
        text = await client.post("/graphql", json={"query": SITE}, headers=headers())
        other = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers())
        by_get = await client.get("/graphql", params={"query": SITE}, headers={"accept": "application/json"})
    assert persisted.json() == NAME
    for response in (text, other, by_get):
        assert response.status_code == 400 and code_of(response) == "PERSISTED_QUERY_REQUIRED", response.text


def test_a_registry_whose_hash_is_not_its_document_is_refused_at_start(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "persisted-operations.json"
    path.write_text(json.dumps({"0" * 64: SITE}), encoding="utf-8")
    with pytest.raises(ValueError, match="not the sha256"):
        create_app(production(path), db=db)
    path.write_text(json.dumps([SITE]), encoding="utf-8")  # a list of documents: hashes computed
    assert create_app(production(path), db=db) is not None


async def test_debug_is_ignored_in_production(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from resolvers import compiled, sites

    async def broken(ctx: Any, site_number: str) -> Any:
        raise RuntimeError("relation customer_site does not exist")

    monkeypatch.setattr(sites, "site_by_number", broken)

    # the compiled read path (resolvers.compiled) reads the site without site_by_number: fail there too
    def broken_number(number: str) -> str:
        raise RuntimeError("relation customer_site does not exist")

    monkeypatch.setattr(sites, "normal_site_number", broken_number)
    compiled.forget_plans()  # a cached plan of the same document would not ask normal_site_number
    async with client_of(db, production(TOWNE_DEBUG=True)) as client:
        response = await client.post("/graphql", json={"query": SITE}, headers=headers())
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL" and "exception" not in error["extensions"]
    assert "customer_site" not in response.text
