"""The Great Plains posting of a statement version (issue 12 §2; domain.md §3.8): batches, adapters, request log.

On the real configurations of 0349 (a positive invoice: RECEIVABLES) and 0429 for 2025-04 with the SYNTHETIC
facts, an ad-hoc credit making 0429's invoice negative (PAYABLES).
The HTTP adapter is tested against a real HTTP server (uvicorn on a free port), not a mocked transport.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import billing
import resolvers.statements as service
from db.database import Database
from db.repositories.users import Grants, upsert_user
from server.delivery import DeliveryFailed
from server.great_plains import HttpAdapter, OutboxAdapter, post_version
from server.settings import Settings
from tests.conftest import context_for

MANAGER = "test-billing-manager"


async def _status(db: Database, version_id: uuid.UUID) -> str:
    async with db.read() as session:
        found = await session.execute(
            text("SELECT status FROM statement_version WHERE id = :v"), {"v": version_id}
        )
        return str(found.scalar_one())


async def _ready(db: Database, settings: Settings, site_number: str, *, negative: bool) -> uuid.UUID:
    """The current version of the site's 2025-04 statement, Ready To Send (its invoice made negative)."""
    ctx = await context_for(db, settings, MANAGER)
    made = await service.generate_statement(
        ctx, site_number=site_number, service_period=billing.ServicePeriod(2025, 4)
    )
    async with db.read() as session:
        version_id, invoice_id, amount = (
            await session.execute(
                text(
                    "SELECT v.id, i.id, i.amount FROM statement_version v JOIN invoice i ON i.statement_version_id = v.id"
                    " WHERE v.statement_id = :s AND NOT v.superseded ORDER BY i.invoice_number DESC LIMIT 1"
                ),
                {"s": made.statement_id},
            )
        ).one()
    if negative:
        credit = service.AdhocInput(
            billing.AdhocLineType.CLIENT_PAID_EXPENSE, "Garage credit", "4790", -(amount + Decimal("100.00"))
        )
        await service.add_adhoc_line(ctx, invoice_id=invoice_id, line=credit)
    for _ in range(3):
        if await _status(db, version_id) == "READY_TO_SEND":
            break
        await service.confirm_review(ctx, statement_id=made.statement_id)
    assert await _status(db, version_id) == "READY_TO_SEND"
    return uuid.UUID(str(version_id))


@pytest.fixture
async def ready(db: Database, settings: Settings) -> uuid.UUID:
    """0429's version, Ready To Send, negative: one PAYABLES batch."""
    return await _ready(db, settings, "0429", negative=True)


async def _log(db: Database) -> list[tuple[str, str, str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            text("SELECT batch, status, target, response FROM gl_request_log ORDER BY id")
        )
        return [tuple(r) for r in rows.all()]


async def test_the_outbox_batches_are_the_csv_journal_and_a_retry_writes_nothing_twice(
    db: Database, settings: Settings, ready: uuid.UUID, tmp_path: Path
) -> None:
    positive = await _ready(db, settings, "0349", negative=False)
    ctx = await context_for(db, settings, MANAGER)
    outbox = OutboxAdapter(tmp_path / "outbox")
    for version_id, map_name, kind, site in (
        (positive, "RMIMPV2", "RECEIVABLES", "0349"),
        (ready, "PMIMPV2", "PAYABLES", "0429"),
    ):
        summary = await post_version(
            ctx.db, settings, version_id=version_id, job_key=f"job-{site}", adapter=outbox
        )
        (file,) = (tmp_path / "outbox").glob(f"*-{site}-*")
        assert summary == f"1 batch posted (outbox): {file.name.split('-')[0]} {map_name}"
        assert file.name == f"202504POWERBILL{file.name[15:23]}-{map_name}-{site}-202504-v01.csv"
        # the statement, Sent, exports the same journal, byte for byte
        await service.mark_sent(ctx, statement_id=version_id)
        assert file.read_text() == await service.gl_export_csv(ctx, any_id=version_id)
        assert {row.split(",")[1] for row in file.read_text().splitlines()[1:]} == {kind}
    log = await _log(db)
    assert [(b, s) for b, s, _, _ in log] == [("RECEIVABLES", "SUCCESS"), ("PAYABLES", "SUCCESS")]
    # a retry of the same job (the worker died after posting) finds the same bytes: success, no new file
    files = sorted((tmp_path / "outbox").iterdir())
    before = [f.read_bytes() for f in files]
    await post_version(ctx.db, settings, version_id=ready, job_key="job-0429", adapter=outbox)
    assert sorted((tmp_path / "outbox").iterdir()) == files and [f.read_bytes() for f in files] == before
    assert (await _log(db))[-1][3] == "already in the outbox with the same content (a retry)"


async def test_a_changed_outbox_file_is_a_final_failure_logged_and_an_unwritable_outbox_is_retryable(
    db: Database, settings: Settings, ready: uuid.UUID, tmp_path: Path
) -> None:
    ctx = await context_for(db, settings, MANAGER)
    outbox = OutboxAdapter(tmp_path)
    await post_version(ctx.db, settings, version_id=ready, job_key="job-1", adapter=outbox)
    (receivables,) = await asyncio.to_thread(lambda: list(tmp_path.glob("*PMIMPV2*")))
    receivables.write_text("edited by hand\n")
    with pytest.raises(DeliveryFailed) as refused:
        await post_version(ctx.db, settings, version_id=ready, job_key="job-1", adapter=outbox)
    assert not refused.value.retryable
    assert refused.value.reason.startswith(f"the outbox already holds a different {receivables.name}")
    assert (await _log(db))[-1][:3] == ("PAYABLES", "FAILURE", receivables.name)
    assert receivables.read_text() == "edited by hand\n"  # never replaced

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with pytest.raises(DeliveryFailed) as failed:
        await post_version(
            ctx.db, settings, version_id=ready, job_key="job-2", adapter=OutboxAdapter(blocked)
        )
    assert failed.value.retryable and str(tmp_path) not in failed.value.reason
    assert failed.value.reason.startswith("the Great Plains outbox cannot be written")


class Receiver:
    """A Great Plains integration endpoint: answers `status` and keeps what it received."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], str]] = []

    async def post(self, request: Request) -> PlainTextResponse:
        self.received.append((dict(request.headers), (await request.body()).decode()))
        return PlainTextResponse("accepted" if self.status < 300 else "no", status_code=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    endpoint = Receiver()
    app = Starlette(routes=[Route("/batches", endpoint.post, methods=["POST"])])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn's Server has no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield endpoint, f"http://127.0.0.1:{port}/batches"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (400, False), (422, False)])
async def test_the_http_adapter_posts_each_batch_with_its_idempotency_key_and_classifies_refusals(
    db: Database,
    settings: Settings,
    ready: uuid.UUID,
    receiver: tuple[Receiver, Any],
    status: int,
    retryable: bool,
) -> None:
    endpoint, url = receiver
    ctx = await context_for(db, settings, MANAGER)
    adapter = HttpAdapter(url, token="s3cret", timeout_s=5)
    summary = await post_version(ctx.db, settings, version_id=ready, job_key="job-9", adapter=adapter)
    assert summary.startswith("1 batch posted (http)")
    ((headers, body),) = endpoint.received
    assert headers["x-gp-map"] == "PMIMPV2"
    assert headers["idempotency-key"] == f"job-9:{headers['x-gp-batch-id']}:PMIMPV2"
    assert headers["authorization"] == "Bearer s3cret" and headers["content-type"].startswith("text/csv")
    assert body.splitlines()[0].startswith("batch_id,batch,interface") and ",PAYABLES," in body

    endpoint.status = status
    with pytest.raises(DeliveryFailed) as refused:
        await post_version(ctx.db, settings, version_id=ready, job_key="job-9", adapter=adapter)
    assert refused.value.retryable is retryable
    assert refused.value.reason.endswith(f"with HTTP {status}") and "s3cret" not in refused.value.reason
    assert (await _log(db))[-1][:3] == ("PAYABLES", "FAILURE", "127.0.0.1")


async def test_a_closed_port_is_retryable(db: Database, settings: Settings, ready: uuid.UUID) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = await context_for(db, settings, MANAGER)
    with pytest.raises(DeliveryFailed) as failed:
        await post_version(
            ctx.db,
            settings,
            version_id=ready,
            job_key="j",
            adapter=HttpAdapter(f"http://127.0.0.1:{port}/", token=None, timeout_s=2),
        )
    assert failed.value.retryable and "did not answer (ConnectError)" in failed.value.reason


async def test_the_request_log_is_scoped_and_appended_by_billing_roles_only(
    db: Database, settings: Settings, ready: uuid.UUID, tmp_path: Path
) -> None:
    ctx = await context_for(db, settings, MANAGER)
    await post_version(ctx.db, settings, version_id=ready, job_key="job-1", adapter=OutboxAdapter(tmp_path))
    async with db.transaction() as session:
        for subject, sites in (("am-0429", ("0429",)), ("am-0349", ("0349",))):
            await upsert_user(
                session,
                subject=subject,
                grants=Grants(roles=("accountManager",), site_numbers=sites),
                granted_by="t",
            )
    for subject, expected in (("am-0429", 1), ("am-0349", 0), (MANAGER, 1)):
        scoped = await context_for(db, settings, subject)
        async with scoped.db.read() as session:
            seen = (await session.execute(text("SELECT count(*) FROM gl_request_log"))).scalar_one()
        assert seen == expected, subject
    scoped = await context_for(db, settings, "am-0429")
    with pytest.raises(Exception, match="row-level security"):
        async with scoped.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO gl_request_log (statement_version_id, job_key, batch_id, batch, adapter, target,"
                    " request_body, status, response) VALUES (:v, 'x', 'b', 'PAYABLES', 'outbox', 't', '', 'SUCCESS', '')"
                ),
                {"v": ready},
            )
    manager = await context_for(db, settings, MANAGER)
    for sql in ("UPDATE gl_request_log SET status = 'FAILURE'", "DELETE FROM gl_request_log"):
        with pytest.raises(Exception, match="permission denied for table gl_request_log"):
            async with manager.db.transaction() as session:
                await session.execute(text(sql))  # append-only: no UPDATE or DELETE grant
