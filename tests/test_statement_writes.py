"""The statement write path under races and faults (domain.md §3.1, §3.3, §3.4), on connections that commit.

Each test here runs units of work on connections of their own (`committing_db`), as concurrent requests do.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import billing
from db.database import Database
from db.repositories.statements import try_lock_contract
from resolvers import statements as service
from resolvers.context import Context
from resolvers.errors import GenerationInFlight, IdempotencyKeyReused, TowneError, TransitionNotAllowed
from server.settings import Settings
from tests.conftest import context_for

APRIL = billing.ServicePeriod(2025, 4)
ADD = """
mutation ($invoice: ID!, $title: String!) {
  addAdhocLine(invoiceId: $invoice, line: {type: MISCELLANEOUS_ITEM, title: $title, code: "4790", amount: "10.00"}) {
    __typename
    ... on InvoicePayload { lineId }
    ... on StatementReplacedProblem { code currentVersionId }
    ... on Problem { code message }
  }
}
"""
CURRENT_LINES = """
query ($id: ID!) { statement(id: $id) { currentVersion { id } invoices { id lines { id details } } } }
"""


async def _context(db: Database, settings: Settings) -> Context:
    return await context_for(db, settings)


async def _run(schema: Any, db: Database, settings: Settings, query: str, **variables: Any) -> dict[str, Any]:
    context = await _context(db, settings)
    try:
        result = await schema.execute(query, variable_values=variables, context_value=context)
    finally:
        await context.db.close()  # type: ignore[attr-defined]  # the request ends
    assert result.errors is None, [e.formatted for e in result.errors]
    return dict(result.data)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_acknowledged_adhoc_lines_survive_a_racing_regeneration(
    committing_db: Database, engine: AsyncEngine, settings: Settings, schema: Any
) -> None:
    """Rule (§3.3 carry-over, §3.4): a line acknowledged to a client is in the version current afterwards,
    or the add was refused with STATEMENT_REPLACED naming the current version. Ten rounds, each one
    regeneration racing six adds on the invoice of the version it replaces."""
    ctx = await _context(committing_db, settings)
    acknowledged_total: list[str] = []
    for round_number in range(10):
        done = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
        before = (await _run(schema, committing_db, settings, CURRENT_LINES, id=str(done.statement_id)))[
            "statement"
        ]
        invoice_id = before["invoices"][0]["id"]

        async def add(i: int, invoice: str = invoice_id, r: int = round_number) -> dict[str, Any]:
            data = await _run(
                schema, committing_db, settings, ADD, invoice=invoice, title=f"round {r} line {i}"
            )
            return dict(data["addAdhocLine"])

        regeneration, *adds = await asyncio.gather(
            service.generate_statement(ctx, site_number="0349", service_period=APRIL),
            *(add(i) for i in range(6)),
        )
        assert isinstance(regeneration, service.Generated)
        acknowledged = [a["lineId"] for a in adds if a["__typename"] == "InvoicePayload"]
        refused = [a for a in adds if a["__typename"] == "StatementReplacedProblem"]
        assert len(acknowledged) + len(refused) == 6, adds
        after = (await _run(schema, committing_db, settings, CURRENT_LINES, id=str(done.statement_id)))[
            "statement"
        ]
        assert all(r["currentVersionId"] == after["currentVersion"]["id"] for r in refused)
        present = {
            ref
            for invoice in after["invoices"]
            for line in invoice["lines"]
            for ref in (line["id"], line["details"].get("carried_from_line_id"))
            if ref
        }
        # carried copies keep the id the line was acknowledged with, through every later carry-over too
        acknowledged_total += acknowledged
        missing = set(acknowledged_total) - present
        assert not missing, f"round {round_number}: acknowledged lines lost: {missing}"
    # every replaced version is kept and the statement is one row: each round generates twice, and every
    # generation but the last replaced the version before it (10 × 2 − 1)
    assert await _count(engine, "SELECT count(*) FROM billing_statement") == 1
    assert await _count(engine, "SELECT count(*) FROM statement_version WHERE superseded") == 10 * 2 - 1


async def _backend_waiting_for(engine: AsyncEngine, query_start: str) -> int | None:
    """The pid of the backend waiting on a lock in a statement starting with `query_start` (10 s at most);
    each look on a connection of its own, since the activity view is a snapshot per transaction."""
    for _ in range(200):
        async with engine.connect() as probe:
            pid = (
                await probe.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q"),
                    {"q": query_start + "%"},
                )
            ).scalar_one_or_none()
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    return None


async def test_a_generation_killed_mid_way_leaves_no_lease_behind(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    """§3.1 one task per contract, as a lease: terminating the generating backend (pg_terminate_backend)
    while it waits to write its invoices leaves nothing in flight; the next request, same key, proceeds."""
    ctx = await _context(committing_db, settings)
    async with engine.connect() as blocker:
        await blocker.begin()
        # reads go on, inserts into `invoice` wait: the generation stops right before writing its invoices
        await blocker.execute(text("LOCK TABLE invoice IN SHARE MODE"))
        task = asyncio.create_task(
            service.generate_statement(
                ctx, site_number="0349", service_period=APRIL, idempotency_key="killed"
            )
        )
        pid = await _backend_waiting_for(engine, "INSERT INTO invoice")
        assert pid is not None, "the generation never reached its invoice insert"
        assert (await blocker.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
        with pytest.raises(Exception) as killed:
            await task
        assert not isinstance(killed.value, TowneError)
        await blocker.rollback()
    assert await _count(engine, "SELECT count(*) FROM statement_generation") == 0
    assert await _count(engine, "SELECT count(*) FROM statement_version") == 0

    again = await service.generate_statement(
        ctx, site_number="0349", service_period=APRIL, idempotency_key="killed"
    )
    assert not again.reused
    assert await _count(engine, "SELECT count(*) FROM statement_generation WHERE status = 'COMPLETED'") == 1


async def test_a_held_lease_refuses_a_second_generation_until_it_ends(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    ctx = await _context(committing_db, settings)
    async with committing_db.transaction() as holder:
        contract_id = (
            await holder.execute(
                text(
                    "SELECT c.id FROM contract c JOIN customer_site s ON s.id = c.site_id WHERE s.site_number = '0349'"
                )
            )
        ).scalar_one()
        assert await try_lock_contract(holder, contract_id=contract_id)
        with pytest.raises(GenerationInFlight, match="0349"):
            await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
        # another contract is not blocked
        await service.generate_statement(ctx, site_number="0212", service_period=APRIL)
    done = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
    assert done.version_id is not None


async def test_the_same_key_raced_twice_generates_once(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    ctx = await _context(committing_db, settings)
    outcomes = await asyncio.gather(
        *(
            service.generate_statement(ctx, site_number="0349", service_period=APRIL, idempotency_key="twice")
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    generated = [o for o in outcomes if isinstance(o, service.Generated) and not o.reused]
    others = [o for o in outcomes if o not in generated]
    assert len(generated) == 1, outcomes
    assert all(
        isinstance(o, GenerationInFlight) or (isinstance(o, service.Generated) and o.reused) for o in others
    )
    assert await _count(engine, "SELECT count(*) FROM statement_version") == 1


async def test_one_key_raced_for_two_sites_keeps_only_the_first_request(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    ctx = await _context(committing_db, settings)
    outcomes = await asyncio.gather(
        service.generate_statement(ctx, site_number="0349", service_period=APRIL, idempotency_key="shared"),
        service.generate_statement(ctx, site_number="0212", service_period=APRIL, idempotency_key="shared"),
        return_exceptions=True,
    )
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["Generated", "IdempotencyKeyReused"], outcomes
    refused = next(o for o in outcomes if isinstance(o, IdempotencyKeyReused))
    assert refused.argument == "idempotencyKey"
    # the refused request wrote nothing
    assert await _count(engine, "SELECT count(*) FROM statement_version") == 1
    assert await _count(engine, "SELECT count(*) FROM billing_statement") == 1


async def test_superseding_a_version_marks_its_invoices_and_frees_their_numbers(
    db: Database, settings: Settings
) -> None:
    """The database keeps invoice numbers unique among versions not superseded (§3.4), whatever writes."""
    ctx = await _context(db, settings)
    first = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
    second = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
    assert first.statement_id == second.statement_id and first.version_id != second.version_id
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT statement_version_id, superseded FROM invoice WHERE invoice_number = '0349-202504-01-01'"
                )
            )
        ).all()
    assert sorted((row[0] == first.version_id, row[1]) for row in rows) == [(False, False), (True, True)]
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="uq_invoice_number_current"):
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO invoice (id, statement_version_id, group_number, invoice_number, invoice_date,"
                    " amount, site_number) VALUES (:id, :v, 9, '0349-202504-01-01', DATE '2025-04-30', 1, '0349')"
                ),
                {"id": uuid.uuid4(), "v": second.version_id},
            )
    with pytest.raises(IntegrityError, match="sent_is_never_superseded"):
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE statement_version SET status = 'SENT', sent_at = now() WHERE id = :id"),
                {"id": first.version_id},
            )


@pytest.mark.parametrize(
    ("sites", "argument"),
    [
        (["0349", "\u0000"], "siteNumbers[1]"),
        (["0349", "12345"], "siteNumbers[1]"),
        (["0349", "٣٤٩"], "siteNumbers[1]"),
    ],
)
async def test_bulk_generation_checks_every_argument_before_any_work(
    gql: Any, db: Database, sites: list[str], argument: str
) -> None:
    error = await gql.error(
        'mutation ($s: [String!]) { generateStatements(siteNumbers: $s, servicePeriod: "2025-04") { generated } }',
        s=sites,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == argument
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM statement_version"))).scalar_one() == 0


async def test_bulk_generation_reports_each_site_and_goes_on(gql: Any, db: Database) -> None:
    # a stored setting the engine does not know makes site 0170's configuration invalid, and only its item
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE contract_component SET settings = settings || '{\"surprise\": 1}' WHERE contract_id ="
                " (SELECT c.id FROM contract c JOIN customer_site s ON s.id = c.site_id WHERE s.site_number = '0170')"
            )
        )
    result = (
        await gql.data(
            'mutation { generateStatements(siteNumbers: ["0349", "9999", "0170", "212"], servicePeriod: "2025-04") {'
            " generated failed items { siteNumber result { __typename ... on Problem { code message } } } } }"
        )
    )["generateStatements"]
    outcome = {i["siteNumber"]: (i["result"]["__typename"], i["result"].get("code")) for i in result["items"]}
    assert outcome == {
        "0349": ("StatementPayload", None),
        "9999": ("NotFoundProblem", "NOT_FOUND"),
        "0170": ("InvalidConfigurationProblem", "INVALID_CONFIGURATION"),
        "0212": ("StatementPayload", None),
    }
    assert (result["generated"], result["failed"]) == (2, 2)
    invalid = next(i for i in result["items"] if i["siteNumber"] == "0170")["result"]["message"]
    assert "surprise" in invalid


async def test_a_bulk_key_is_bound_to_the_whole_request(gql: Any) -> None:
    query = (
        'mutation ($s: [String!]) { generateStatements(siteNumbers: $s, servicePeriod: "2025-04",'
        ' idempotencyKey: "batch-1") { generated items { result { __typename ... on StatementPayload { reused } } } } }'
    )
    first = (await gql.data(query, s=["0349"]))["generateStatements"]
    again = (await gql.data(query, s=["0349"]))["generateStatements"]
    assert first["generated"] == again["generated"] == 1
    assert again["items"][0]["result"]["reused"] is True
    other = await gql.error(query, s=["0349", "0212"])
    assert other["extensions"] == {"code": "IDEMPOTENCY_KEY_REUSED", "argument": "idempotencyKey"}
    assert "0349" in other["message"]


async def _sent_statement(ctx: Context) -> service.Generated:
    """0349 April generated and Sent (its synthetic forecast is within the thresholds: Ready To Send)."""
    done = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
    await service.mark_sent(ctx, statement_id=done.statement_id)
    return done


async def test_two_racing_regenerations_make_one_version(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    """§3.5 only a Sent statement is regenerated, checked under the generation's locks: of two racing
    regenerations one makes version 2, the other is refused."""
    ctx = await _context(committing_db, settings)
    sent = await _sent_statement(ctx)
    outcomes = await asyncio.gather(
        service.regenerate(ctx, statement_id=sent.statement_id),
        service.regenerate(ctx, statement_id=sent.statement_id),
        return_exceptions=True,
    )
    made = [o for o in outcomes if isinstance(o, service.Generated)]
    assert len(made) == 1, outcomes
    assert all(isinstance(o, TransitionNotAllowed | GenerationInFlight) for o in outcomes if o not in made)
    assert await _count(engine, "SELECT count(*) FROM statement_version") == 2


async def test_a_regeneration_retried_with_its_key_answers_the_first(
    committing_db: Database, engine: AsyncEngine, settings: Settings
) -> None:
    ctx = await _context(committing_db, settings)
    sent = await _sent_statement(ctx)
    first = await service.regenerate(ctx, statement_id=sent.statement_id, idempotency_key="regen-1")
    again = await service.regenerate(ctx, statement_id=sent.statement_id, idempotency_key="regen-1")
    assert (again.reused, again.version_id) == (True, first.version_id)
    with pytest.raises(TransitionNotAllowed, match="version 2 is READY_TO_SEND"):
        await service.regenerate(ctx, statement_id=sent.statement_id)
    assert await _count(engine, "SELECT count(*) FROM statement_version") == 2


async def test_acknowledged_removals_stay_removed_through_a_racing_regeneration(
    committing_db: Database, settings: Settings, schema: Any
) -> None:
    """A removal acknowledged to a client leaves the line out of the version current afterwards; a refused
    one (STATEMENT_REPLACED) leaves it carried over."""
    ctx = await _context(committing_db, settings)
    for round_number in range(5):
        done = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
        view = (await _run(schema, committing_db, settings, CURRENT_LINES, id=str(done.statement_id)))[
            "statement"
        ]
        invoice_id = view["invoices"][0]["id"]
        lines = [
            (
                await _run(
                    schema, committing_db, settings, ADD, invoice=invoice_id, title=f"r{round_number} {i}"
                )
            )["addAdhocLine"]["lineId"]
            for i in range(4)
        ]
        remove = (
            "mutation ($invoice: ID!, $line: ID!) { removeAdhocLine(invoiceId: $invoice, lineId: $line) {"
            " __typename } }"
        )
        _, *removals = await asyncio.gather(
            service.generate_statement(ctx, site_number="0349", service_period=APRIL),
            *(_run(schema, committing_db, settings, remove, invoice=invoice_id, line=line) for line in lines),
        )
        outcome = dict(zip(lines, (r["removeAdhocLine"]["__typename"] for r in removals), strict=True))
        assert set(outcome.values()) <= {"InvoicePayload", "StatementReplacedProblem"}, outcome
        after = (await _run(schema, committing_db, settings, CURRENT_LINES, id=str(done.statement_id)))[
            "statement"
        ]
        present = {
            line["details"].get("carried_from_line_id") or line["id"]
            for invoice in after["invoices"]
            for line in invoice["lines"]
        }
        for line, result in outcome.items():
            assert (line in present) == (result == "StatementReplacedProblem"), (round_number, line, result)


async def test_a_lock_held_too_long_is_busy_not_a_hang(
    committing_db: Database, engine: AsyncEngine, database_url: str, settings: Settings, schema: Any
) -> None:
    """A statement whose row another transaction keeps locked answers BUSY after TOWNE_LOCK_TIMEOUT_MS."""
    ctx = await _context(committing_db, settings)
    done = await service.generate_statement(ctx, site_number="0349", service_period=APRIL)
    impatient = Database.from_url(database_url, lock_timeout_ms=200)
    try:
        async with engine.connect() as holder:
            await holder.begin()
            await holder.execute(
                text("SELECT id FROM billing_statement WHERE id = :id FOR UPDATE"), {"id": done.statement_id}
            )
            result = await schema.execute(
                "mutation ($id: ID!) { markStatementSent(statementId: $id) { __typename } }",
                variable_values={"id": str(done.statement_id)},
                context_value=await _context(impatient, settings),
            )
            await holder.rollback()
    finally:
        await impatient.dispose()
    [error] = result.errors
    assert error.extensions["code"] == "BUSY" and result.data == {"markStatementSent": None}
    assert await _count(engine, "SELECT count(*) FROM statement_version WHERE status = 'SENT'") == 0
