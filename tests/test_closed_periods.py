"""Closed accounting periods (issue 12 §3, §4 "closed periods refuse every write"; migration 0019).

On the real data and the synthetic March–April 2025 facts: statements of 2025-04 are generated (some Sent),
the period is closed, and every write is refused with PERIOD_CLOSED and writes nothing (the API's checks and
the database's triggers); reopening takes two billing admins; the GL journal of a closed period is the same
bytes whenever exported, and its SHA-256 is the one recorded at the close. The race of a close with writes
runs on committing connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import billing
from db.database import Database
from db.repositories.users import Grants, upsert_user
from resolvers import periods as period_service
from resolvers import statements as service
from resolvers.context import Context
from resolvers.errors import PeriodClosed, TowneError, from_database
from server.app import create_app
from server.settings import Settings
from tests.conftest import ADMIN, GraphQLClient, bearer, context_for

APRIL = billing.ServicePeriod(2025, 4)
MARCH = billing.ServicePeriod(2025, 3)
SITES = ("0349", "0918", "0170", "0198", "0212")
SENT = ("0349", "0918")
SECOND_ADMIN = "test-admin-2"
MANAGER = "test-billing-manager"

CLOSE = """
mutation ($p: String!, $r: String) {
  closePeriod(period: $p, reason: $r) {
    __typename
    ... on PeriodPayload { accountingPeriod { period servicePeriod state closedBy closedAt journalSha256
                                    history { kind actor reason journalSha256 } } }
    ... on PeriodProblem { code message period }
  }
}
"""
REQUEST = """
mutation ($p: String!) {
  requestPeriodReopen(period: $p, reason: "a late ad-hoc line") {
    __typename
    ... on PeriodPayload { accountingPeriod { state reopenRequest { requestedBy reason } } }
    ... on PeriodProblem { code message period }
  }
}
"""
APPROVE = """
mutation ($p: String!) {
  approvePeriodReopen(period: $p) {
    __typename
    ... on PeriodPayload { accountingPeriod { state reopenedBy journalSha256 reopenRequest { requestedBy }
                                    history { kind actor requestedBy } } }
    ... on PeriodProblem { code message period }
  }
}
"""
REFUSAL = (
    "... on PeriodClosedProblem { code message period closedBy closedAt } ... on Problem { code message }"
)


async def _grant(db: Database, subject: str, *roles: str) -> None:
    async with db.transaction() as session:
        await upsert_user(session, subject=subject, grants=Grants(roles=roles), granted_by="tests")


async def _status(db: Database, statement_id: str) -> str:
    async with db.read() as session:
        return str(
            (
                await session.execute(
                    text(
                        "SELECT status FROM statement_version WHERE statement_id = :s AND NOT superseded"
                        " ORDER BY version DESC LIMIT 1"
                    ),
                    {"s": statement_id},
                )
            ).scalar_one()
        )


async def _send(db: Database, ctx: Any, statement_id: str) -> None:
    for _ in range(3):  # through review to Sent, whatever status generation gave
        status = await _status(db, statement_id)
        if status == "SENT":
            return
        move = service.mark_sent if status == "READY_TO_SEND" else service.confirm_review
        await move(ctx, statement_id=uuid.UUID(statement_id))
    assert await _status(db, statement_id) == "SENT"


@pytest.fixture
async def april(db: Database, settings: Settings) -> dict[str, str]:
    """Statements of five sites for 2025-04 (0349 and 0918 Sent, an ad-hoc line on 0198) and of 0918 for
    2025-03; a second billing admin. Site number (or `0918-03`) → statement id."""
    await _grant(db, SECOND_ADMIN, "billingAdmin")
    ctx = await context_for(db, settings, MANAGER)
    made: dict[str, str] = {}
    for period, sites in ((APRIL.key, SITES), (MARCH.key, ("0918",))):
        request = await service.bulk_request(
            ctx, site_numbers=sites, territory_layer=None, territory_code=None, service_period=period,
            idempotency_key=None,
        )  # fmt: skip
        for number, done in await service.generate_statements(ctx, request):
            assert isinstance(done, service.Generated), (number, done)
            made[number if period == APRIL.key else f"{number}-03"] = str(done.statement_id)
    for number in SENT:
        await _send(db, ctx, made[number])
    return made


async def _snapshot(db: Database) -> tuple[Any, ...]:
    """Every row of the statement tables, as the owner sees them (ordered text), for "nothing was written"."""
    out: list[Any] = []
    async with db.read() as session:
        for table in (
            "billing_statement",
            "statement_version",
            "invoice",
            "invoice_line",
            "statement_event",
            "statement_generation",
        ):
            rows = await session.execute(text(f"SELECT t::text FROM {table} t ORDER BY 1"))
            out.append(tuple(rows.scalars()))
    return tuple(out)


def _http(db: Database, settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db=db)), base_url="http://t"
    )


async def _journal(http: httpx.AsyncClient, settings: Settings, period: str = "2025-04") -> bytes:
    response = await http.get(
        "/exports/gl-journal.csv", params={"servicePeriod": period}, headers=bearer(settings, ADMIN)
    )
    assert response.status_code == 200, response.text
    return response.content


async def _invoice_of(gql: GraphQLClient, statement_id: str) -> dict[str, Any]:
    found = await gql.data(
        "query ($id: ID!) { statement(id: $id) { periodClosed invoices { id lines { id } } } }",
        id=statement_id,
    )
    return dict(found["statement"])


async def _add_line(gql: GraphQLClient, invoice_id: str) -> dict[str, Any]:
    added = await gql.data(
        'mutation ($i: ID!) { addAdhocLine(invoiceId: $i, line: {type: MISCELLANEOUS_ITEM, title: "Late",'
        f' code: "4790", amount: "12.50"}}) {{ __typename ... on InvoicePayload {{ lineId }} {REFUSAL} }} }}',
        i=invoice_id,
    )
    return dict(added["addAdhocLine"])


def _refused(result: dict[str, Any], closed_on: str) -> None:
    assert result["__typename"] == "PeriodClosedProblem", result
    assert result["code"] == "PERIOD_CLOSED"
    assert result["period"] == "202504" and result["closedBy"] == ADMIN
    assert result["message"] == (
        f"service period 2025-04 is closed (closed by {ADMIN} on {closed_on}); a billing admin can request "
        "reopening"
    )


async def test_a_closed_period_refuses_every_write_and_its_journal_stays_the_same_bytes(
    db: Database, settings: Settings, gql: GraphQLClient, april: dict[str, str]
) -> None:
    unsent = april["0198"]
    invoice = (await _invoice_of(gql, unsent))["invoices"][0]["id"]
    line_id = (await _add_line(gql, invoice))["lineId"]  # before the close: an ad-hoc line to remove later
    async with _http(db, settings) as http:
        before_close = await _journal(http, settings)
        sent_csv = await http.get(
            f"/statements/{april['0349']}/gl-export.csv", headers=bearer(settings, ADMIN)
        )
        assert sent_csv.status_code == 200

        closed = (await gql.data(CLOSE, p="202504", r="April books closed"))["closePeriod"]
        assert closed["__typename"] == "PeriodPayload"
        period = closed["accountingPeriod"]
        assert (period["period"], period["servicePeriod"], period["state"], period["closedBy"]) == (
            "202504", "2025-04", "CLOSED", ADMIN,
        )  # fmt: skip
        # the stored hash is that of the journal's bytes, exported before and after the close
        assert period["journalSha256"] == hashlib.sha256(before_close).hexdigest()
        assert period["history"] == [
            {
                "kind": "CLOSED",
                "actor": ADMIN,
                "reason": "April books closed",
                "journalSha256": period["journalSha256"],
            }
        ]
        closed_on = dt.datetime.fromisoformat(period["closedAt"]).astimezone(dt.UTC).date().isoformat()
        assert before_close.count(b"\r\n") > 2 * len(
            SENT
        )  # the header, the Sent statements' lines and balances
        snapshot = await _snapshot(db)

        # every write of a 2025-04 statement: PERIOD_CLOSED, nothing written
        generate = (
            "mutation ($s: String!, $p: String) { generateStatement(siteNumber: $s, servicePeriod: $p) "
            f"{{ __typename {REFUSAL} }} }}"
        )
        for number in ("0349", "0198", "0200"):  # Sent, unsent, no statement yet
            _refused((await gql.data(generate, s=number, p="2025-04"))["generateStatement"], closed_on)
        # the billing type's default period of an Arrears site in May 2025 is 2025-04 (§3.2)
        _refused((await gql.data(generate, s="0349", p=None))["generateStatement"], closed_on)
        bulk = await gql.data(
            'mutation { generateStatements(siteNumbers: ["0349", "9999", "0918"], servicePeriod: "2025-04") '
            f"{{ generated failed items {{ siteNumber result {{ __typename {REFUSAL} }} }} }} }}"
        )
        items = bulk["generateStatements"]["items"]
        assert [(i["siteNumber"], i["result"]["code"]) for i in items] == [
            ("0349", "PERIOD_CLOSED"), ("9999", "NOT_FOUND"), ("0918", "PERIOD_CLOSED"),
        ]  # fmt: skip
        assert (bulk["generateStatements"]["generated"], bulk["generateStatements"]["failed"]) == (0, 3)
        _refused(items[0]["result"], closed_on)
        regenerate = await gql.data(
            f"mutation ($id: ID!) {{ regenerateStatement(statementId: $id) {{ __typename {REFUSAL} }} }}",
            id=april["0349"],
        )
        _refused(regenerate["regenerateStatement"], closed_on)
        _refused(await _add_line(gql, invoice), closed_on)
        removed = await gql.data(
            "mutation ($i: ID!, $l: ID!) { removeAdhocLine(invoiceId: $i, lineId: $l) "
            f"{{ __typename {REFUSAL} }} }}",
            i=invoice,
            l=line_id,
        )
        _refused(removed["removeAdhocLine"], closed_on)
        for mutation in ("confirmStatementReview", "markStatementSent"):
            for number in ("0198", "0170", "0212"):
                moved = await gql.data(
                    f"mutation ($id: ID!) {{ {mutation}(statementId: $id) {{ __typename {REFUSAL} }} }}",
                    id=april[number],
                )
                _refused(moved[mutation], closed_on)
        assert await _snapshot(db) == snapshot

        # the journal of the closed period: the same bytes, and the hash recorded at the close
        again = await _journal(http, settings)
        assert again == before_close
        assert hashlib.sha256(again).hexdigest() == period["journalSha256"]
        assert (
            await http.get(f"/statements/{april['0349']}/gl-export.csv", headers=bearer(settings, ADMIN))
        ).content == sent_csv.content
        stored = await gql.data('{ accountingPeriod(period: "202504") { journalSha256 } }')
        assert stored["accountingPeriod"]["journalSha256"] == hashlib.sha256(again).hexdigest()

    # the UI greys out: periodClosed; another period is unaffected
    assert (await _invoice_of(gql, unsent))["periodClosed"] is True
    assert (await _invoice_of(gql, april["0918-03"]))["periodClosed"] is False
    march = await gql.data(generate, s="0918", p="2025-03")
    assert march["generateStatement"]["__typename"] == "StatementPayload"
    march_invoice = (await _invoice_of(gql, april["0918-03"]))["invoices"][0]["id"]
    assert "lineId" in await _add_line(gql, march_invoice)


async def test_the_database_refuses_writes_into_a_closed_period_whoever_writes(
    db: Database,
    settings: Settings,
    gql: GraphQLClient,
    april: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The triggers are the last line: SQL as the application role (a signed-in billing admin) and as the
    owner (psql, QGIS) is refused with SQLSTATE TP001; with the API's own check bypassed, the trigger's
    refusal still reaches the client as PERIOD_CLOSED."""
    assert (await gql.data(CLOSE, p="202504", r=None))["closePeriod"]["__typename"] == "PeriodPayload"
    statement_id = april["0198"]
    writes = (
        "UPDATE statement_version SET status = 'SENT' WHERE statement_id = :s",
        "UPDATE invoice SET amount = amount + 1 WHERE statement_version_id IN"
        " (SELECT id FROM statement_version WHERE statement_id = :s)",
        "DELETE FROM invoice_line WHERE invoice_id IN (SELECT i.id FROM invoice i JOIN statement_version v"
        " ON v.id = i.statement_version_id WHERE v.statement_id = :s)",
        "INSERT INTO statement_event (statement_version_id, from_status, to_status, note)"
        " SELECT id, status, 'SENT', 'psql' FROM statement_version WHERE statement_id = :s",
        "DELETE FROM billing_statement WHERE id = :s",
    )
    ctx = await context_for(db, settings, ADMIN)
    for who, database in (("application role", ctx.db), ("owner", db)):
        for sql in writes:
            with pytest.raises(DBAPIError) as raised:
                async with database.transaction() as session:
                    await session.execute(text(sql), {"s": statement_id})
            known = from_database(raised.value)
            assert isinstance(known, PeriodClosed), (who, sql, raised.value)
            assert (known.period, known.closed_by) == ("202504", ADMIN)
            assert known.message.startswith(f"service period 2025-04 is closed (closed by {ADMIN} on ")
    # another period's rows are written as before
    async with ctx.db.transaction() as session:
        moved = await session.execute(
            text("UPDATE statement_version SET warnings = warnings WHERE statement_id = :s"),
            {"s": april["0918-03"]},
        )
        assert moved.rowcount == 1  # type: ignore[attr-defined]

    async def skip(*_: Any, **__: Any) -> None:
        return None

    monkeypatch.setattr(service, "require_open", skip)
    invoice = (await _invoice_of(gql, statement_id))["invoices"][0]["id"]
    error = await gql.error(
        'mutation ($i: ID!) { addAdhocLine(invoiceId: $i, line: {type: MISCELLANEOUS_ITEM, title: "x",'
        ' code: "4790", amount: "1.00"}) { __typename } }',
        i=invoice,
    )
    assert error["extensions"]["code"] == "PERIOD_CLOSED"
    assert (error["extensions"]["period"], error["extensions"]["closedBy"]) == ("202504", ADMIN)
    assert error["message"].startswith("service period 2025-04 is closed")


async def test_reopening_takes_a_second_billing_admin(
    db: Database, settings: Settings, gql: GraphQLClient, april: dict[str, str]
) -> None:
    second = gql.as_(SECOND_ADMIN)
    problem = (await gql.data(REQUEST, p="202504"))["requestPeriodReopen"]
    assert (problem["code"], problem["period"]) == ("PERIOD_NOT_CLOSED", "202504")
    assert (await gql.data(CLOSE, p="202504"))["closePeriod"]["__typename"] == "PeriodPayload"
    again = (await second.data(CLOSE, p="202504"))["closePeriod"]
    assert again["code"] == "PERIOD_ALREADY_CLOSED" and f"closed by {ADMIN} on " in again["message"]
    assert (await gql.data(APPROVE, p="202504"))["approvePeriodReopen"]["code"] == "NO_REOPEN_REQUEST"

    requested = (await gql.data(REQUEST, p="2025-04"))["requestPeriodReopen"]
    assert requested["accountingPeriod"] == {
        "state": "CLOSED", "reopenRequest": {"requestedBy": ADMIN, "reason": "a late ad-hoc line"}
    }  # fmt: skip
    assert (await second.data(REQUEST, p="202504"))["requestPeriodReopen"][
        "code"
    ] == "REOPEN_ALREADY_REQUESTED"
    own = (await gql.data(APPROVE, p="202504"))["approvePeriodReopen"]
    assert own["code"] == "OWN_REOPEN_REQUEST" and "another billing admin" in own["message"]
    invoice = (await _invoice_of(gql, april["0198"]))["invoices"][0]["id"]
    assert (await _add_line(gql, invoice))["code"] == "PERIOD_CLOSED"  # still closed

    # the database's four eyes, should the API's be bypassed
    with pytest.raises(DBAPIError, match="ck_accounting_period_four_eyes"):
        async with db.transaction() as session:
            await session.execute(
                text(
                    "UPDATE accounting_period SET state = 'open', journal_sha256 = NULL,"
                    " reopened_by = reopen_requested_by, reopened_at = now() WHERE period = '202504'"
                )
            )

    reopened = (await second.data(APPROVE, p="202504"))["approvePeriodReopen"]["accountingPeriod"]
    assert reopened["state"] == "OPEN" and reopened["reopenedBy"] == SECOND_ADMIN
    assert reopened["journalSha256"] is None and reopened["reopenRequest"] is None
    assert reopened["history"] == [
        {"kind": "CLOSED", "actor": ADMIN, "requestedBy": None},
        {"kind": "REOPEN_REQUESTED", "actor": ADMIN, "requestedBy": None},
        {"kind": "REOPENED", "actor": SECOND_ADMIN, "requestedBy": ADMIN},
    ]
    # writes are allowed again
    assert "lineId" in await _add_line(gql, invoice)
    assert (await _invoice_of(gql, april["0198"]))["periodClosed"] is False
    # and the period can be closed again, by anyone of the admins
    closed_again = (await second.data(CLOSE, p="202504"))["closePeriod"]["accountingPeriod"]
    assert (closed_again["state"], closed_again["closedBy"]) == ("CLOSED", SECOND_ADMIN)
    assert [e["kind"] for e in closed_again["history"]] == [
        "CLOSED",
        "REOPEN_REQUESTED",
        "REOPENED",
        "CLOSED",
    ]


async def test_period_arguments_and_the_listing(gql: GraphQLClient) -> None:
    for bad in ("2025-13", "abc", "20250", "202500"):
        error = await gql.error(CLOSE, p=bad)
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == "period"
        assert "period must be YYYYMM" in error["message"]
    for period in ("202505", "202512"):  # the current month (today is 2025-05-20), a future one
        refused = (await gql.data(CLOSE, p=period))["closePeriod"]
        assert (
            refused["code"] == "PERIOD_NOT_ENDED"
            and "a period is closed once it has ended" in refused["message"]
        )
    error = await gql.error('{ accountingPeriods(from: "202504", to: "202501") { period } }')
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", "from")
    assert (await gql.data(CLOSE, p="202502"))["closePeriod"]["__typename"] == "PeriodPayload"
    listed = await gql.data('{ accountingPeriods(from: "202501", to: "202504") { period state closedBy } }')
    assert listed["accountingPeriods"] == [
        {"period": "202501", "state": "OPEN", "closedBy": None},
        {"period": "202502", "state": "CLOSED", "closedBy": ADMIN},
        {"period": "202503", "state": "OPEN", "closedBy": None},
        {"period": "202504", "state": "OPEN", "closedBy": None},
    ]


async def test_only_a_billing_admin_closes_and_every_signed_in_caller_reads(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    refused = await gql.as_(MANAGER).error(CLOSE, p="202504")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.data(CLOSE, p="202504"))["closePeriod"]["__typename"] == "PeriodPayload"
    # row-level security: a billing manager cannot write the tables directly, reads them like everyone
    manager = await context_for(db, settings, MANAGER)
    async with manager.db.transaction() as session:
        sql = "UPDATE accounting_period SET reopen_requested_by = 'x', reopen_requested_at = now()"
        assert (await session.execute(text(sql))).rowcount == 0  # type: ignore[attr-defined]  # sees none to change
    for sql in (
        "INSERT INTO accounting_period (period, state, closed_at, closed_by, journal_sha256)"
        f" VALUES ('202501', 'closed', now(), 'x', '{'0' * 64}')",
        "INSERT INTO accounting_period_event (period, kind, actor) VALUES ('202504', 'reopen_requested', 'x')",
        "DELETE FROM accounting_period_event",  # nobody deletes history: no DELETE grant at all
    ):
        with pytest.raises(DBAPIError, match=r"row-level security|permission denied"):
            async with manager.db.transaction() as session:
                await session.execute(text(sql))
    for subject in (MANAGER, "test-reporting", "test-gis", "test-nobody"):
        seen = await gql.as_(subject).data('{ accountingPeriod(period: "202504") { state closedBy } }')
        assert seen["accountingPeriod"] == {"state": "CLOSED", "closedBy": ADMIN}, subject
    anonymous = await context_for(db, settings, None)
    async with anonymous.db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM accounting_period"))).scalar_one() == 0


# ---- the race of a close with writes, on connections that commit -----------------------------------------


@contextlib.asynccontextmanager
async def _request(db: Database, settings: Settings) -> AsyncIterator[Context]:
    """The context of one request by the billing admin, its door closed when the request ends."""
    ctx = await context_for(db, settings, ADMIN)
    try:
        yield ctx
    finally:
        await ctx.db.close()  # type: ignore[attr-defined]


@pytest.fixture
async def periods_cleaned(engine: AsyncEngine) -> AsyncIterator[None]:
    """Committed periods are removed before `committing_db` deletes the statements (the triggers would refuse
    deleting a closed period's statements)."""
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM accounting_period"))


async def test_a_close_racing_writes_never_lets_a_write_in_after_it(
    committing_db: Database, periods_cleaned: None, engine: AsyncEngine, settings: Settings
) -> None:
    """Rule: a generation or a send racing the close of its period either commits before the close (and the
    hash recorded at the close covers it) or is refused PERIOD_CLOSED; nothing is written after the close."""
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.04):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM accounting_period"))
            await conn.execute(text("DELETE FROM statement_generation"))
            await conn.execute(text("DELETE FROM billing_statement"))
        async with _request(committing_db, settings) as ctx:
            ready = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
        if await _status(committing_db, str(ready.statement_id)) != "READY_TO_SEND":
            async with _request(committing_db, settings) as ctx:
                await service.confirm_review(ctx, statement_id=ready.statement_id)
        assert await _status(committing_db, str(ready.statement_id)) == "READY_TO_SEND"

        async def generate() -> str:
            async with _request(committing_db, settings) as request:
                try:
                    await service.generate_statement(request, site_number="0918", service_period=APRIL)
                except TowneError as error:
                    return error.code
            return "written"

        async def send(statement_id: uuid.UUID = ready.statement_id) -> str:
            async with _request(committing_db, settings) as request:
                try:
                    await service.mark_sent(request, statement_id=statement_id)
                except TowneError as error:
                    return error.code
            return "written"

        async def close(wait: float = delay) -> str:
            await asyncio.sleep(wait)
            async with _request(committing_db, settings) as request:
                await period_service.close_period(request, period=APRIL, reason=None)
            return "closed"

        generated, sent, closed = await asyncio.gather(generate(), send(), close())
        assert closed == "closed"
        assert generated in ("written", "PERIOD_CLOSED") and sent in ("written", "PERIOD_CLOSED")
        async with engine.connect() as conn:
            closed_at, stored_hash = (
                await conn.execute(text("SELECT closed_at, journal_sha256 FROM accounting_period"))
            ).one()
            # every statement row of the period was written by a transaction that began before the close
            latest = (
                await conn.execute(
                    text(
                        "SELECT max(e.at) FROM statement_event e JOIN statement_version v"
                        " ON v.id = e.statement_version_id JOIN billing_statement s ON s.id = v.statement_id"
                        " WHERE s.service_period_start = :p"
                    ),
                    {"p": APRIL.start},
                )
            ).scalar_one()
            versions_of_0918 = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM statement_version v JOIN billing_statement s ON s.id = v.statement_id"
                        " JOIN customer_site c ON c.id = s.site_id WHERE c.site_number = '0918'"
                    )
                )
            ).scalar_one()
        assert latest < closed_at
        assert versions_of_0918 == (1 if generated == "written" else 0)
        assert await _status(committing_db, str(ready.statement_id)) == (
            "SENT" if sent == "written" else "READY_TO_SEND"
        )
        # the hash recorded at the close is the journal now: a Sent statement is in it iff its send won
        async with committing_db.read() as session:
            from server.exports import gl_journal_sha256

            assert await gl_journal_sha256(session, service_period_start=APRIL.start) == stored_hash
            empty = hashlib.sha256(b"batch_id,batch,interface,document_number,document_date,account,debit,credit,"
                                   b"description,vendor_id,deferred_account\r\n").hexdigest()  # fmt: skip
            assert (stored_hash != empty) == (sent == "written")

    # a close waits for a write in flight (psql, holding the period's lock through the trigger) to end
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM accounting_period"))
    async with engine.connect() as writer:
        transaction = await writer.begin()
        await writer.execute(
            text(
                "UPDATE statement_version SET warnings = warnings WHERE statement_id IN"
                " (SELECT id FROM billing_statement WHERE service_period_start = :p)"
            ),
            {"p": APRIL.start},
        )

        async def close_now() -> None:
            async with _request(committing_db, settings) as request:
                await period_service.close_period(request, period=APRIL, reason=None)

        closing = asyncio.create_task(close_now())
        await asyncio.sleep(0.3)
        assert not closing.done()
        await transaction.commit()
        await asyncio.wait_for(closing, timeout=10)
