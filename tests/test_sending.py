"""Sending statements (issue 12 §2, §4): sendStatements → `towne worker` → e-mail and Great Plains → Sent.

On the real configuration of 0349 for 2025-04 with the SYNTHETIC facts and SYNTHETIC billing contacts. A real
SMTP server (aiosmtpd on a free port) receives the e-mails; the Great Plains batches go to an outbox folder.
The worker runs in this process (`Worker.run_once`) or, where it is killed, as a `towne worker` process.
Everything commits (`committing_db`): the worker sees only what is committed, as in production.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import billing
import resolvers.statements as statements
from db.database import Database
from resolvers.context import Context
from schema import build_schema
from server.settings import Settings
from server.worker import Worker
from tests.conftest import ADMIN, REPO_ROOT, GraphQLClient, context_for

MANAGER = "test-billing-manager"
SITE = "0349"
CONTACTS = ["ap-0349@example.com", "controller-0349@example.com"]

SEND = """
mutation($ids: [ID!]!, $channels: [SendChannel!]!) {
  sendStatements(statementIds: $ids, channels: $channels) {
    queued failed
    items { statementId result {
      __typename
      ... on SendQueuedPayload { jobs { id channel state attempts } statement { status } }
      ... on Problem { code message }
    } }
  }
}"""
STATEMENT = """
query($id: ID!) {
  statement(id: $id) {
    status sentAt
    sendJobs { id channel state attempts lastError result }
    sendAttempts { channel attempt outcome detail finishedAt }
    events { toStatus note actor }
  }
}"""
RESOLVE = """
mutation($job: ID!, $delivered: Boolean!) {
  resolveSendJob(jobId: $job, delivered: $delivered) {
    __typename ... on StatementPayload { statement { status } } ... on Problem { code message }
  }
}"""


# ------------------------------------------------------------------------------------ the SMTP server


@dataclass
class Mailbox:
    """What the SMTP server received, and how it behaves: `refuse_data` answers DATA with that reply;
    `stall_in` ("RCPT" or "DATA") holds the first such command until `release` is set (DATA after keeping
    the message), `entered` is set when it does."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse_data: str | None = None
    refuse_for: str | None = None  # refuse only messages with this envelope recipient
    stall_in: str | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def _stall(self, where: str) -> None:
        if self.stall_in == where and not self.entered.is_set():
            self.entered.set()
            for _ in range(600):  # at most a minute: the server thread must stop with the test
                if self.release.is_set():
                    break
                await asyncio.sleep(0.1)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        await self._stall("RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data and (self.refuse_for is None or self.refuse_for in envelope.rcpt_tos):
            return self.refuse_data
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        await self._stall("DATA")
        return "250 OK queued"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if address in recipients]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        box.release.set()
        controller.stop()


@pytest.fixture
def send_settings(settings: Settings, mailbox: tuple[Mailbox, int], tmp_path: Path) -> Settings:
    """The test settings with the local SMTP server, an outbox in tmp_path, no back-off, short leases."""
    return settings.model_copy(
        update={
            "smtp_port": mailbox[1],
            "gp_outbox_dir": tmp_path / "outbox",
            "send_backoff_s": 0.0,
            "send_lease_s": 2,
            "send_max_attempts": 2,
            "smtp_timeout_s": 10.0,
            "send_failure_notice_to": ["billing-ops@example.com"],
        }
    )


# ------------------------------------------------------------------------------------ the statement


@pytest.fixture
async def contacts(engine: AsyncEngine) -> AsyncIterator[None]:
    """SYNTHETIC billing contacts on 0349 (restored afterwards: committing tests leave no trace)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE customer_site SET billing_contact_emails = :emails, invoice_recipient = 'Accounts Payable'"
                " WHERE site_number = :site"
            ),
            {"emails": CONTACTS, "site": SITE},
        )
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE customer_site SET billing_contact_emails = '{}', invoice_recipient = NULL"
                    " WHERE site_number = :site"
                ),
                {"site": SITE},
            )


async def _ready(db: Database, settings: Settings) -> uuid.UUID:
    """0349's 2025-04 statement, Ready To Send; its statement id."""
    ctx = await context_for(db, settings, MANAGER)
    made = await statements.generate_statement(
        ctx, site_number=SITE, service_period=billing.ServicePeriod(2025, 4)
    )
    for _ in range(3):
        view = await statements.statement(ctx, made.statement_id)
        assert view is not None
        if view.current.status == "READY_TO_SEND":
            return made.statement_id
        await statements.confirm_review(ctx, statement_id=made.statement_id)
    raise AssertionError("not Ready To Send")


@pytest.fixture
async def ready(committing_db: Database, settings: Settings, contacts: None) -> uuid.UUID:
    return await _ready(committing_db, settings)


def _client(db: Database, settings: Settings, subject: str = MANAGER) -> GraphQLClient:
    return GraphQLClient(build_schema(), Context(db=db.request(), settings=settings), subject)


async def _gql(db: Database, settings: Settings, query: str, subject: str = MANAGER, **variables: Any) -> Any:
    client = _client(db, settings, subject)
    return await client.data(query, **variables)


async def _send(db: Database, settings: Settings, statement_id: uuid.UUID, *channels: str) -> dict[str, Any]:
    data = await _gql(db, settings, SEND, ids=[str(statement_id)], channels=list(channels))
    (item,) = data["sendStatements"]["items"]
    return dict(item["result"])


async def _statement(db: Database, settings: Settings, statement_id: uuid.UUID) -> dict[str, Any]:
    return dict((await _gql(db, settings, STATEMENT, id=str(statement_id)))["statement"])


async def _drain(db: Database, settings: Settings) -> list[Any]:
    """Run a worker until nothing is due; the outcomes."""
    worker = Worker(db, settings, name="test-worker")
    outcomes = []
    while (outcome := await worker.run_once()) is not None:
        outcomes.append(outcome)
    return outcomes


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# ------------------------------------------------------------------------------------------- the path


async def test_the_whole_path_email_and_outbox_then_sent_once(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    queued = await _send(committing_db, send_settings, ready, "EMAIL", "GREAT_PLAINS")
    assert queued["__typename"] == "SendQueuedPayload"
    assert [(j["channel"], j["state"], j["attempts"]) for j in queued["jobs"]] == [
        ("EMAIL", "QUEUED", 0),
        ("GREAT_PLAINS", "QUEUED", 0),
    ]
    assert queued["statement"]["status"] == "READY_TO_SEND"
    # asking again before the worker ran answers the same jobs: nothing is queued twice
    again = await _send(committing_db, send_settings, ready, "GREAT_PLAINS", "EMAIL")
    assert [j["id"] for j in again["jobs"]] == [j["id"] for j in queued["jobs"]]

    outcomes = await _drain(committing_db, send_settings)
    assert sorted((o.channel, o.state) for o in outcomes) == [
        ("EMAIL", "SUCCEEDED"),
        ("GREAT_PLAINS", "SUCCEEDED"),
    ]

    # the e-mail: to the billing contacts, one PDF per invoice, whose figures are the statement's
    ctx = await context_for(committing_db, send_settings, MANAGER)
    view = await statements.statement(ctx, ready)
    assert view is not None
    async with ctx.db.read() as session:
        invoices = (
            await session.execute(
                text(
                    "SELECT invoice_number, amount FROM invoice WHERE statement_version_id = :v ORDER BY invoice_number"
                ),
                {"v": view.current.id},
            )
        ).all()
    ((recipients, message),) = box.messages
    assert recipients == CONTACTS and message["To"] == ", ".join(CONTACTS)
    assert message["Message-ID"] == f"<send-{queued['jobs'][0]['id']}@towne-graph>"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text_body = body.get_content()
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{number}.pdf" for number, _ in invoices]
    for (number, amount), attachment in zip(invoices, attachments, strict=True):
        assert attachment.get_content_type() == "application/pdf"
        assert number in message["Subject"] and f"{amount:,.2f}" in text_body
        pdf = _pdf_text(attachment.get_content())
        assert number in pdf and f"{amount:,.2f}" in pdf

    # the outbox: the batch is the CSV journal byte for byte
    (batch,) = (send_settings.gp_outbox_dir).glob("*.csv")
    assert batch.read_text() == await statements.gl_export_csv(ctx, any_id=ready)

    shown = await _statement(committing_db, send_settings, ready)
    assert shown["status"] == "SENT" and shown["sentAt"]
    assert [(j["channel"], j["state"], j["attempts"]) for j in shown["sendJobs"]] == [
        ("EMAIL", "SUCCEEDED", 1),
        ("GREAT_PLAINS", "SUCCEEDED", 1),
    ]
    assert shown["sendJobs"][0]["result"].startswith("accepted by 127.0.0.1")
    assert sorted((a["channel"], a["attempt"], a["outcome"]) for a in shown["sendAttempts"]) == [
        ("EMAIL", 1, "SUCCEEDED"),
        ("GREAT_PLAINS", 1, "SUCCEEDED"),
    ]
    assert shown["events"][-1] == {"toStatus": "SENT", "note": "sent: EMAIL, GREAT_PLAINS", "actor": MANAGER}

    # Sent is final: sending again is refused and nothing more is delivered
    refused = await _send(committing_db, send_settings, ready, "EMAIL")
    assert refused["code"] == "TRANSITION_NOT_ALLOWED" and "READY_TO_SEND" in refused["message"]
    assert await _drain(committing_db, send_settings) == [] and len(box.messages) == 1


async def test_an_smtp_refusal_is_retried_then_reported_and_a_new_send_queues_it_again(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.refuse_data, box.refuse_for = "451 4.3.0 mailbox busy, try later", CONTACTS[0]
    await _send(committing_db, send_settings, ready, "EMAIL")
    first, second = await _drain(committing_db, send_settings)
    assert (first.state, second.state) == ("QUEUED", "FAILED")  # retried once, then given up (2 attempts)
    shown = await _statement(committing_db, send_settings, ready)
    assert shown["status"] == "READY_TO_SEND"
    ((job,),) = [shown["sendJobs"]]
    assert job["state"] == "FAILED" and "451" in job["lastError"] and "mailbox busy" in job["lastError"]
    assert [(a["attempt"], a["outcome"]) for a in shown["sendAttempts"]] == [(1, "RETRY"), (2, "FAILED")]
    assert all("451" in a["detail"] for a in shown["sendAttempts"])
    # the failure notice (§3.8) went to the operators, naming the job and the reason
    (notice,) = box.to("billing-ops@example.com")
    assert job["id"] in notice["Subject"]
    notice_body = notice.get_body()
    assert notice_body is not None and "451" in notice_body.get_content()
    # reading the reasons is for billing roles: an account manager of the site sees the jobs, not the reasons
    async with committing_db.transaction() as session:
        from db.repositories.users import Grants, upsert_user

        await upsert_user(
            session,
            subject="am-send-0349",
            grants=Grants(roles=("accountManager",), site_numbers=(SITE,)),
            granted_by="t",
        )
    scoped = await _gql(committing_db, send_settings, STATEMENT, subject="am-send-0349", id=str(ready))
    assert scoped["statement"]["sendJobs"][0]["state"] == "FAILED"
    assert scoped["statement"]["sendJobs"][0]["lastError"] is None
    assert {a["detail"] for a in scoped["statement"]["sendAttempts"]} == {None}

    # the cause goes away; sending again queues the job with fresh tries, and it is delivered once
    box.refuse_data = None
    queued = await _send(committing_db, send_settings, ready, "EMAIL")
    assert [(j["state"], j["attempts"]) for j in queued["jobs"]] == [("QUEUED", 2)]
    (done,) = await _drain(committing_db, send_settings)
    assert done.state == "SUCCEEDED" and len(box.to(CONTACTS[0])) == 1
    shown = await _statement(committing_db, send_settings, ready)
    assert shown["status"] == "SENT"
    assert [(a["attempt"], a["outcome"]) for a in shown["sendAttempts"]] == [
        (1, "RETRY"),
        (2, "FAILED"),
        (3, "SUCCEEDED"),
    ]


async def test_an_unreachable_smtp_server_is_retryable_and_no_recipient_is_refused_up_front(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID, engine: AsyncEngine
) -> None:
    closed = send_settings.model_copy(update={"smtp_port": _free_port(), "send_max_attempts": 1})
    await _send(committing_db, closed, ready, "EMAIL")
    (outcome,) = await _drain(committing_db, closed)
    assert outcome.state == "FAILED" and "could not reach the SMTP server 127.0.0.1" in outcome.detail

    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE customer_site SET billing_contact_emails = '{}' WHERE site_number = :s"), {"s": SITE}
        )
    # queuing the failed e-mail again needs a recipient: the whole statement is refused, nothing is queued
    refused = await _send(committing_db, send_settings, ready, "GREAT_PLAINS", "EMAIL")
    assert refused["code"] == "NO_RECIPIENTS"
    shown = await _statement(committing_db, send_settings, ready)
    assert [(j["channel"], j["state"]) for j in shown["sendJobs"]] == [("EMAIL", "FAILED")]


async def test_email_without_contacts_is_no_recipients_and_only_billing_roles_send(
    committing_db: Database, send_settings: Settings, settings: Settings
) -> None:
    statement_id = await _ready(committing_db, settings)  # no contacts fixture: 0349 has none
    refused = await _send(committing_db, send_settings, statement_id, "EMAIL")
    assert refused["code"] == "NO_RECIPIENTS" and "site 0349 has no billing contact" in refused["message"]
    client = _client(committing_db, send_settings, "test-reporting")
    error = await client.error(SEND, ids=[str(statement_id)], channels=["GREAT_PLAINS"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    async with committing_db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM send_job"))).scalar_one() == 0


# ------------------------------------------------------------------------------------ while sending


async def test_a_queued_send_freezes_the_statement(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID
) -> None:
    await _send(committing_db, send_settings, ready, "GREAT_PLAINS")
    ctx = await context_for(committing_db, send_settings, MANAGER)
    view = await statements.statement(ctx, ready)
    assert view is not None
    async with ctx.db.read() as session:
        invoice_id = (
            await session.execute(
                text("SELECT id FROM invoice WHERE statement_version_id = :v LIMIT 1"), {"v": view.current.id}
            )
        ).scalar_one()
    line = statements.adhoc_input(
        adhoc_type=billing.AdhocLineType.MISCELLANEOUS_ITEM,
        title="Late fee",
        code="4790",
        amount=Decimal("10.00"),
        description="",
    )
    from resolvers.errors import StatementSending

    for attempt in (
        statements.add_adhoc_line(ctx, invoice_id=invoice_id, line=line),
        statements.mark_sent(ctx, statement_id=ready),
        statements.generate_statement(ctx, site_number=SITE, service_period=billing.ServicePeriod(2025, 4)),
    ):
        with pytest.raises(StatementSending) as refused:
            await attempt
        assert refused.value.channels == ["GREAT_PLAINS"]
    (done,) = await _drain(committing_db, send_settings)
    assert done.state == "SUCCEEDED"
    assert (await _statement(committing_db, send_settings, ready))["status"] == "SENT"


async def test_a_closed_period_refuses_sending_and_a_job_queued_before_the_close_sends_nothing(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID, engine: AsyncEngine
) -> None:
    from resolvers.periods import close_period

    await _send(committing_db, send_settings, ready, "GREAT_PLAINS")
    admin = await context_for(committing_db, send_settings, ADMIN)
    try:
        await close_period(admin, period=billing.ServicePeriod(2025, 4), reason="month end")
        (outcome,) = await _drain(committing_db, send_settings)
        assert (
            outcome.state == "FAILED" and "nothing was sent" in outcome.detail and "closed" in outcome.detail
        )
        assert not send_settings.gp_outbox_dir.exists() or not list(send_settings.gp_outbox_dir.iterdir())
        refused = await _send(committing_db, send_settings, ready, "GREAT_PLAINS")
        assert refused["code"] == "PERIOD_CLOSED" and "2025-04 is closed" in refused["message"]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM accounting_period WHERE period = '202504'"))


async def test_send_jobs_are_read_in_the_callers_row_scope(
    committing_db: Database, send_settings: Settings, ready: uuid.UUID
) -> None:
    await _send(committing_db, send_settings, ready, "GREAT_PLAINS")
    await _drain(committing_db, send_settings)
    async with committing_db.transaction() as session:
        from db.repositories.users import Grants, upsert_user

        for subject, sites in (("am-send-0349", (SITE,)), ("am-send-0429", ("0429",))):
            await upsert_user(
                session,
                subject=subject,
                grants=Grants(roles=("accountManager",), site_numbers=sites),
                granted_by="t",
            )
    for subject, expected in (("am-send-0349", 1), ("am-send-0429", 0), (MANAGER, 1)):
        ctx = await context_for(committing_db, send_settings, subject)
        async with ctx.db.read() as session:
            jobs = (await session.execute(text("SELECT count(*) FROM send_job"))).scalar_one()
            attempts = (await session.execute(text("SELECT count(*) FROM send_attempt"))).scalar_one()
        assert (jobs, attempts) == (expected, expected), subject
    # the worker's bookkeeping is its functions' (lease token): a caller cannot rewrite an attempt
    manager = await context_for(committing_db, send_settings, MANAGER)
    with pytest.raises(Exception, match="permission denied for table send_attempt"):
        async with manager.db.transaction() as session:
            await session.execute(text("UPDATE send_attempt SET outcome = 'FAILED'"))


# --------------------------------------------------------------------------------- a worker killed


def _worker_process(settings: Settings, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TOWNE_SMTP_PORT": str(settings.smtp_port),
        "TOWNE_GP_OUTBOX_DIR": str(settings.gp_outbox_dir),
        "TOWNE_SEND_LEASE_S": str(settings.send_lease_s),
        "TOWNE_SEND_POLL_S": "0.2",
        "TOWNE_SEND_BACKOFF_S": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(entered: threading.Event, process: subprocess.Popen[bytes]) -> None:
    assert entered.wait(60), "the worker never reached the SMTP server"
    process.send_signal(signal.SIGKILL)
    process.wait(10)


async def _after_lease(settings: Settings) -> None:
    await asyncio.sleep(settings.send_lease_s + 0.5)


async def test_a_worker_killed_before_handing_the_message_over_sends_it_exactly_once(
    committing_db: Database,
    send_settings: Settings,
    ready: uuid.UUID,
    mailbox: tuple[Mailbox, int],
    database_url: str,
) -> None:
    box, _ = mailbox
    box.stall_in = "RCPT"
    await _send(committing_db, send_settings, ready, "EMAIL")
    process = _worker_process(send_settings, database_url)
    try:
        await asyncio.to_thread(_kill_when, box.entered, process)
    finally:
        if process.poll() is None:
            process.kill()
    box.stall_in = None
    box.release.set()
    assert box.messages == []
    await _after_lease(send_settings)
    (outcome,) = await _drain(committing_db, send_settings)  # a worker restarted
    assert outcome.state == "SUCCEEDED"
    assert len(box.to(CONTACTS[0])) == 1
    shown = await _statement(committing_db, send_settings, ready)
    assert shown["status"] == "SENT"
    assert [(a["attempt"], a["outcome"]) for a in shown["sendAttempts"]] == [(1, "LOST"), (2, "SUCCEEDED")]
    assert "stopped before finishing" in shown["sendAttempts"][0]["detail"]


async def test_a_worker_killed_while_the_server_takes_the_message_is_uncertain_never_resent(
    committing_db: Database,
    send_settings: Settings,
    ready: uuid.UUID,
    mailbox: tuple[Mailbox, int],
    database_url: str,
) -> None:
    box, _ = mailbox
    box.stall_in = "DATA"  # the server has the message but has not answered
    await _send(committing_db, send_settings, ready, "EMAIL")
    process = _worker_process(send_settings, database_url)
    try:
        await asyncio.to_thread(_kill_when, box.entered, process)
    finally:
        if process.poll() is None:
            process.kill()
    box.release.set()
    await _after_lease(send_settings)
    assert await _drain(committing_db, send_settings) == []  # nothing is due: it is UNCERTAIN
    assert len(box.messages) == 1
    shown = await _statement(committing_db, send_settings, ready)
    ((job,),) = [shown["sendJobs"]]
    assert job["state"] == "UNCERTAIN" and "resolveSendJob" in job["lastError"]
    assert [(a["attempt"], a["outcome"]) for a in shown["sendAttempts"]] == [(1, "UNCERTAIN")]
    assert shown["status"] == "READY_TO_SEND"
    again = await _send(committing_db, send_settings, ready, "EMAIL")
    assert again["code"] == "STATEMENT_SENDING"

    # a person checked: it arrived. The job succeeds and the statement is Sent, with no second message
    resolved = await _gql(committing_db, send_settings, RESOLVE, job=job["id"], delivered=True)
    assert resolved["resolveSendJob"] == {"__typename": "StatementPayload", "statement": {"status": "SENT"}}
    assert await _drain(committing_db, send_settings) == [] and len(box.messages) == 1
    assert (await _gql(committing_db, send_settings, RESOLVE, job=job["id"], delivered=True))[
        "resolveSendJob"
    ]["code"] == "TRANSITION_NOT_ALLOWED"


async def test_an_uncertain_email_not_received_is_sent_again(
    committing_db: Database,
    send_settings: Settings,
    ready: uuid.UUID,
    mailbox: tuple[Mailbox, int],
    engine: AsyncEngine,
) -> None:
    box, _ = mailbox
    await _send(committing_db, send_settings, ready, "EMAIL")
    # what a lost worker leaves: the hand-over mark and an expired lease (written as the owner)
    worker = Worker(committing_db, send_settings, name="doomed")
    door = committing_db.request()
    from db.repositories import sending as repo

    async with door.transaction() as session:
        claimed = await repo.claim(session, worker="doomed", lease_s=1)
        assert claimed is not None
        assert await repo.mark_handed_over(session, claim=claimed.claim)
    await door.close()
    await asyncio.sleep(1.2)
    assert await worker.run_once() is None
    shown = await _statement(committing_db, send_settings, ready)
    job_id = shown["sendJobs"][0]["id"]
    resolved = await _gql(committing_db, send_settings, RESOLVE, job=job_id, delivered=False)
    assert resolved["resolveSendJob"]["statement"]["status"] == "READY_TO_SEND"
    (outcome,) = await _drain(committing_db, send_settings)
    assert outcome.state == "SUCCEEDED" and len(box.messages) == 1
    shown = await _statement(committing_db, send_settings, ready)
    assert shown["status"] == "SENT"
    assert [(a["attempt"], a["outcome"]) for a in shown["sendAttempts"]] == [
        (1, "UNCERTAIN"),
        (2, "SUCCEEDED"),
    ]


async def test_the_development_mail_sink_keeps_each_message_as_received(
    tmp_path: Path, settings: Settings
) -> None:
    from server import mailer, mailsink

    port = _free_port()
    sink = mailsink.start("127.0.0.1", port, tmp_path / "mailbox")
    try:
        local = settings.model_copy(update={"smtp_port": port})
        message = mailer.notice_message(
            local, recipients=["ops@example.com"], subject="hello", body="a notice"
        )
        answer = await mailer.deliver(local, message, recipients=["ops@example.com"])
    finally:
        sink.stop()
    assert answer.startswith(f"accepted by 127.0.0.1:{port}: 250")
    (kept,) = (tmp_path / "mailbox").glob("*.eml")
    parsed = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
    assert parsed["X-Envelope-To"] == "ops@example.com" and parsed["Subject"] == "hello"
