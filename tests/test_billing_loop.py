"""A portfolio billing preview does not hold the event loop: other requests are served meanwhile (issue 8).

Behaviour, not seconds: the engine is slowed (a millisecond of blocking work per site, a heavier portfolio
than today's) so that the preview is surely still computing when a small request arrives on the same loop;
that request must complete before the preview does. Without the slices of `resolvers.billing.cooperatively`
it could only run once all 649 sites are computed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import billing
import resolvers.billing
from db.database import Database
from server.settings import Settings
from tests.conftest import GraphQLClient, context_for

PORTFOLIO = """query { billingPreviews(servicePeriod: "2025-04", first: 1000) { site { siteNumber } preview { total } } }"""
SMALL = """query { site(siteNumber: "0170") { siteNumber name contract { billingType } } }"""


async def test_a_small_request_completes_while_a_portfolio_preview_computes(
    committing_db: Database, settings: Settings, schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    computing = asyncio.Event()
    computed: list[int] = []
    engine = billing.preview

    def heavier(*args: Any, **kwargs: Any) -> Any:
        computing.set()
        time.sleep(0.001)  # blocking work, as the CPU-bound engine is
        computed.append(1)
        return engine(*args, **kwargs)

    monkeypatch.setattr(resolvers.billing, "preview", heavier)
    # each client runs on its own pooled connection, as two HTTP requests do
    portfolio = GraphQLClient(schema, await context_for(committing_db, settings))
    small = GraphQLClient(schema, await context_for(committing_db, settings))

    preview = asyncio.create_task(portfolio.data(PORTFOLIO))
    await computing.wait()
    answer = await small.data(SMALL)
    assert answer["site"]["siteNumber"] == "0170"
    assert not preview.done(), "the small request waited for the whole portfolio"
    assert 0 < len(computed) < 649, len(computed)
    assert len((await preview)["billingPreviews"]) == 649
