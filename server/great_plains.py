"""Posting a statement version to Great Plains (domain.md §3.8) behind an adapter.

A version's GL journal (`billing.gl.gl_entries`, the rows of `GET /statements/{id}/gl-export.csv`) is cut
into its batches, one request per (batch id, batch): RECEIVABLES (Integration Manager map RMIMPV2,
interface TOWNE) for positive invoices, PAYABLES (map PMIMPV2, interface = company) for zero or negative
ones. A request's body is that batch's part of the journal as CSV with the journal's header, so the
batches of a version, concatenated without their headers, are the CSV journal.

Adapters (`TOWNE_GP_ADAPTER`):
* `outbox` (default): each batch becomes a file `{batch id}-{map}-{site}-{yyyyMM}-v{VV}.csv` in
  `TOWNE_GP_OUTBOX_DIR`, which an integration job picks up. Written to a temporary file, flushed to disk and
  linked into place, so a reader never sees half a file; a file already there with the same bytes is a
  retry of a post that succeeded (success, nothing written twice); other bytes under that name are refused.
* `http`: `POST` to `TOWNE_GP_ENDPOINT` with `Content-Type: text/csv`, the map, batch id and an
  `Idempotency-Key` (the send job's key + batch), so the receiving integration drops a repeat. 2xx is
  success; a timeout, a connection error, 408, 425, 429 and 5xx are retryable; any other answer is not.

Every request is logged in `gl_request_log` (SUCCESS or FAILURE with the response, legacy
`bs_glrequestlogs`) in a transaction of its own, so a failure is recorded even though the send fails; the
failure notice of §3.8 is the send worker's (it e-mails final failures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Protocol

import httpx

from billing.gl import GlEntry, to_csv
from db.database import Door
from db.models import GlRequestLog
from db.repositories import statements as statement_repo
from resolvers.statements import journal_entries
from server.delivery import DeliveryFailed
from server.settings import Settings

MAPS = {"RECEIVABLES": "RMIMPV2", "PAYABLES": "PMIMPV2"}
# what the log keeps of an answer: enough to read an error page's message, not a whole HTML page
RESPONSE_MAX = 2000


@dataclass(frozen=True, slots=True)
class GlBatch:
    """One Great Plains request: a batch of one statement version. `body` is CSV (the journal's columns)."""

    batch_id: str
    batch: str  # RECEIVABLES | PAYABLES
    map_name: str  # RMIMPV2 | PMIMPV2
    name: str  # the outbox file name, unique per batch and statement version
    body: str


@dataclass(frozen=True, slots=True)
class Posted:
    """What an adapter answered to a batch it accepted: where it went, and its answer."""

    target: str
    response: str


class Adapter(Protocol):
    name: str

    async def post(self, batch: GlBatch, *, idempotency_key: str) -> Posted:
        """Deliver one batch; raises `DeliveryFailed` (with the target in `DeliveryFailed.target`)."""
        ...


class PostFailed(DeliveryFailed):
    """`DeliveryFailed` with where the batch was going, for the request log."""

    def __init__(self, reason: str, *, retryable: bool, target: str, response: str = "") -> None:
        super().__init__(reason, retryable=retryable)
        self.target = target
        self.response = response or reason


def batches_of(entries: Sequence[GlEntry], *, statement_key: str) -> list[GlBatch]:
    """The journal entries cut into batches, in journal order (entries of one batch are contiguous in it:
    `gl_entries` writes invoice by invoice and each invoice is in one batch). `statement_key` is
    `{site}-{yyyyMM}-v{VV}`."""
    batches: list[GlBatch] = []
    for (batch_id, batch), group in groupby(entries, key=lambda e: (e.batch_id, e.batch)):
        rows = list(group)
        if any(b.batch_id == batch_id and b.batch == batch for b in batches):
            raise ValueError(f"batch {batch_id} {batch} is not contiguous in the journal")
        name = f"{batch_id}-{MAPS[batch]}-{statement_key}.csv"
        batches.append(GlBatch(batch_id, batch, MAPS[batch], name, to_csv(rows)))
    return batches


class OutboxAdapter:
    """Batch files in a folder an integration job picks up (atomic, idempotent per file name)."""

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def post(self, batch: GlBatch, *, idempotency_key: str) -> Posted:
        return await asyncio.to_thread(self._write, batch)

    def _write(self, batch: GlBatch) -> Posted:
        content = batch.body.encode()
        final = self.directory / batch.name
        temporary = self.directory / f".{batch.name}.{uuid.uuid4().hex}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temporary, final)  # fails if the name exists: never replaces a batch
            except FileExistsError:
                if final.read_bytes() == content:
                    return Posted(batch.name, "already in the outbox with the same content (a retry)")
                raise PostFailed(
                    f"the outbox already holds a different {batch.name}; "
                    "an integration job or a person changed it: compare it with the GL export",
                    retryable=False,
                    target=batch.name,
                ) from None
        except OSError as exc:
            # the folder's path is configuration, not something to show a user
            raise PostFailed(
                f"the Great Plains outbox cannot be written ({exc.strerror or type(exc).__name__})",
                retryable=True,
                target=batch.name,
            ) from None
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        return Posted(batch.name, f"written to the outbox ({len(content)} bytes)")


RETRYABLE_STATUS = frozenset({408, 425, 429})


class HttpAdapter:
    """`POST` of each batch to a configured endpoint of the Great Plains integration."""

    name = "http"

    def __init__(self, endpoint: str, *, token: str | None, timeout_s: float) -> None:
        self.endpoint = endpoint
        self.token = token
        self.timeout_s = timeout_s

    async def post(self, batch: GlBatch, *, idempotency_key: str) -> Posted:
        target = httpx.URL(self.endpoint).host
        headers = {
            "Content-Type": "text/csv; charset=utf-8",
            "Idempotency-Key": idempotency_key,
            "X-GP-Map": batch.map_name,
            "X-GP-Batch-Id": batch.batch_id,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                answer = await client.post(self.endpoint, content=batch.body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise PostFailed(
                f"Great Plains integration at {target} did not answer ({type(exc).__name__})",
                retryable=True,
                target=target,
            ) from None
        text = answer.text[:RESPONSE_MAX]
        if answer.is_success:
            return Posted(target, f"{answer.status_code} {text}".strip())
        retryable = answer.status_code in RETRYABLE_STATUS or answer.status_code >= 500
        raise PostFailed(
            f"Great Plains integration at {target} refused batch {batch.batch_id} {batch.map_name} "
            f"with HTTP {answer.status_code}",
            retryable=retryable,
            target=target,
            response=f"{answer.status_code} {text}".strip(),
        )


def adapter_from(settings: Settings) -> Adapter:
    """The adapter `settings` configure (`TOWNE_GP_ADAPTER`)."""
    if settings.gp_adapter == "http":
        if settings.gp_endpoint is None:
            raise ValueError("TOWNE_GP_ADAPTER=http needs TOWNE_GP_ENDPOINT")
        token = settings.gp_token.get_secret_value() if settings.gp_token else None
        return HttpAdapter(str(settings.gp_endpoint), token=token, timeout_s=settings.gp_timeout_s)
    return OutboxAdapter(settings.gp_outbox_dir)


async def post_version(
    door: Door,
    settings: Settings,
    *,
    version_id: uuid.UUID,
    job_key: str,
    actor: str | None = None,
    adapter: Adapter | None = None,
) -> str:
    """Post a statement version's GL batches (§3.8) through the configured adapter, logging each request in
    `gl_request_log` as the door's caller (`actor`: its subject). Returns a one-line summary for the send attempt; raises
    `DeliveryFailed` (the batches before the failing one stay posted: a retry posts them again idempotently).
    A version with no journal entries (every invoice zero) posts nothing and says so."""
    adapter = adapter or adapter_from(settings)
    async with door.read() as session:
        version = (await statement_repo.versions_by_id(session, version_ids=[version_id]))[version_id]
        site, statement, entries = await journal_entries(session, version=version)
    key = f"{site.site_number}-{statement.service_period_start:%Y%m}-v{version.version:02d}"
    batches = batches_of(entries, statement_key=key)
    for batch in batches:
        try:
            posted = await adapter.post(batch, idempotency_key=f"{job_key}:{batch.batch_id}:{batch.map_name}")
        except PostFailed as failure:
            await _log(
                door,
                version_id,
                job_key,
                actor,
                adapter.name,
                batch,
                failure.target,
                "FAILURE",
                failure.response,
            )
            raise
        await _log(
            door, version_id, job_key, actor, adapter.name, batch, posted.target, "SUCCESS", posted.response
        )
    if not batches:
        return "nothing to post: the version has no GL entries"
    names = ", ".join(f"{b.batch_id} {b.map_name}" for b in batches)
    return f"{len(batches)} batch{'es' if len(batches) > 1 else ''} posted ({adapter.name}): {names}"


async def _log(
    door: Door,
    version_id: uuid.UUID,
    job_key: str,
    actor: str | None,
    adapter: str,
    batch: GlBatch,
    target: str,
    status: str,
    response: str,
) -> None:
    async with door.transaction() as session:
        session.add(
            GlRequestLog(
                statement_version_id=version_id,
                job_key=job_key,
                batch_id=batch.batch_id,
                batch=batch.batch,
                adapter=adapter,
                target=target,
                request_body=batch.body,
                status=status,
                response=response[:RESPONSE_MAX],
                actor=actor,
            )
        )
