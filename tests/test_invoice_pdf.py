"""The invoice as a document (issue 12 §1; server/invoice_pdf.py, resolvers/documents.py, server/documents.py).

On the real configuration of 0429 for 2025-04 with the SYNTHETIC facts (two invoices: group 1 "Rev Share",
group 2 "PLH"; the contract selects Mix Of Sales, Parking Department Report and Validation Report), and of
1078 (no supporting report selected): the PDF fetched over HTTP carries the figures GraphQL gives for the
same statement, byte for byte the same each time; scoping, status codes, appendices and the bill-to rule.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pypdf
import pytest
from sqlalchemy import text

import billing
from db.database import Database
from db.repositories.users import Grants, upsert_user
from resolvers import statements as service
from resolvers.documents import InvoiceDocument, invoice_document, version_documents
from server.app import create_app
from server.invoice_pdf import DocumentLine, InvoiceFigures, money, render
from server.settings import Settings
from tests.conftest import ADMIN, REPO_ROOT, GraphQLClient, bearer, context_for

MANAGER = "test-billing-manager"
AM = "pdf-am"  # account manager of 0349 only: 0429 is outside its scope
PO = "PO-4711-A"
RECIPIENT = "Hotel Accounts Payable"
CONTACT = "ap-0429@hotel.example"

STATEMENT = """query ($id: ID!) { statement(id: $id) {
  servicePeriod site { siteNumber name }
  currentVersion { id invoices { id invoiceNumber invoiceDate title paymentTerms purchaseOrder amount pdfUrl
    lines { title description code amount } } }
} }"""


def _text(pdf: bytes) -> str:
    """The text of every page, whitespace runs as one space (a wrapped cell reads as one line)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


async def _generate(db: Database, settings: Settings, site_number: str) -> uuid.UUID:
    ctx = await context_for(db, settings, MANAGER)
    made = await service.generate_statement(
        ctx, site_number=site_number, service_period=billing.ServicePeriod(2025, 4)
    )
    return made.statement_id


@pytest.fixture
async def statement_0429(db: Database, settings: Settings) -> uuid.UUID:
    """0429's 2025-04 statement, its contract with a PO and its site with billing contacts (set before the
    generation, so the invoices carry the PO, §3.4); and the account manager of 0349."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE contract SET purchase_order = :po"
                " WHERE site_id = (SELECT id FROM customer_site WHERE site_number = '0429')"
            ),
            {"po": PO},
        )
        await session.execute(
            text(
                "UPDATE customer_site SET invoice_recipient = :r, billing_contact_emails = ARRAY[:e]"
                " WHERE site_number = '0429'"
            ),
            {"r": RECIPIENT, "e": CONTACT},
        )
        await upsert_user(
            session,
            subject=AM,
            grants=Grants(roles=("accountManager",), site_numbers=("0349",)),
            granted_by="t",
        )
    return await _generate(db, settings, "0429")


def _http(db: Database, settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db=db)), base_url="http://test"
    )


async def _get(db: Database, settings: Settings, path: str, subject: str | None = ADMIN) -> httpx.Response:
    headers = bearer(settings, subject) if subject else {}
    async with _http(db, settings) as http:
        return await http.get(path, headers=headers)


async def _statement(gql: GraphQLClient, statement_id: uuid.UUID) -> dict[str, Any]:
    found: dict[str, Any] = (await gql.data(STATEMENT, id=str(statement_id)))["statement"]
    return found


async def test_golden_pdf_carries_the_statement_figures(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    statement = await _statement(gql, statement_0429)
    invoices = statement["currentVersion"]["invoices"]
    assert [i["invoiceNumber"] for i in invoices] == ["0429-202504-01-01", "0429-202504-02-01"]
    site = statement["site"]
    for invoice in invoices:
        assert invoice["pdfUrl"] == f"/invoices/{invoice['id']}.pdf"
        response = await _get(db, settings, invoice["pdfUrl"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == f'inline; filename="{invoice["invoiceNumber"]}.pdf"'
        assert response.headers["cache-control"] == "private, no-store"
        body = _text(response.content)
        assert f"Invoice number {invoice['invoiceNumber']}" in body
        assert f"Invoice date {invoice['invoiceDate']}" in body
        assert statement["servicePeriod"] == "2025-04"
        assert "Service period 2025-04 (2025-04-01 to 2025-04-30)" in body
        assert f"Site {site['siteNumber']} {site['name']}" in body
        assert invoice["title"] and invoice["title"] in body  # the invoice group's title
        assert invoice["purchaseOrder"] == PO and f"Purchase order {PO}" in body
        assert invoice["paymentTerms"] == "Due in 30 Days" and "Payment terms Due in 30 Days" in body
        # every line, in the stored (legacy) order, with its description and its amount to the cent
        lines = invoice["lines"]
        assert lines
        at = 0
        for line in lines:
            row = " ".join(
                part
                for part in (
                    line["title"],
                    line["description"],
                    line["code"],
                    f"{Decimal(line['amount']):,.2f}",
                )
                if part
            )
            found = body.find(row, at)
            assert found >= 0, (row, body)
            at = found + len(row)
        total = Decimal(invoice["amount"])
        assert total == sum((Decimal(line["amount"]) for line in lines), Decimal(0))
        assert f"Total {total:,.2f}" in body[at:]
    # the PLH invoice is F-3's group 2 with synthetic hours: an amount that is not round
    assert any(Decimal(line["amount"]) % 1 for line in invoices[1]["lines"])


async def test_the_same_invoice_gives_the_same_bytes(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    version = (await _statement(gql, statement_0429))["currentVersion"]
    paths = [i["pdfUrl"] for i in version["invoices"]]
    first = [(await _get(db, settings, p)).content for p in paths]
    second = [(await _get(db, settings, p)).content for p in paths]
    assert first == second and first[0] != first[1]
    # what the sending worker attaches: the same documents, in group order, for the billing manager
    ctx = await context_for(db, settings, MANAGER)
    async with ctx.db.read() as session:
        documents = await version_documents(session, version_id=uuid.UUID(version["id"]))
    assert [d.filename for d in documents] == [f"{i['invoiceNumber']}.pdf" for i in version["invoices"]]
    assert [d.content for d in documents] == first
    assert all(isinstance(d, InvoiceDocument) for d in documents)
    # the PDF's dates are the invoice date, not the clock
    info = pypdf.PdfReader(io.BytesIO(first[0])).metadata
    assert info is not None and str(info["/CreationDate"]) == "D:20250430000000+00'00'"


def test_render_is_deterministic_and_exact() -> None:
    def figures() -> InvoiceFigures:
        return InvoiceFigures(
            invoice_number="0349-202504-01-01",
            invoice_date=dt.date(2025, 4, 30),
            service_period_start=dt.date(2025, 4, 1),
            service_period_end=dt.date(2025, 4, 30),
            site_number="0349",
            site_name="Site",
            group_number=1,
            group_title=None,
            group_description=None,
            bill_to=("Site",),
            purchase_order=None,
            payment_terms=None,
            lines=(DocumentLine("Fee", "Management Fee", "4700", Decimal("1234567.895")),),
            total=Decimal("-0.10"),
        )

    assert render(figures()) == render(figures())
    body = _text(render(figures()))
    assert "Fee Management Fee 4700 1,234,567.90" in body and "Total -0.10" in body
    assert money(Decimal("2682.72")) == "2,682.72" and money(Decimal("-100")) == "-100.00"


async def test_route_status_codes(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    path = (await _statement(gql, statement_0429))["currentVersion"]["invoices"][0]["pdfUrl"]
    assert (await _get(db, settings, path, None)).status_code == 401
    async with _http(db, settings) as http:
        bad = await http.get(path, headers={"authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert (await _get(db, settings, "/invoices/42.pdf")).status_code == 400
    missing = await _get(db, settings, f"/invoices/{uuid.uuid4()}.pdf")
    outside = await _get(db, settings, path, AM)  # 0429 is not the account manager's
    assert missing.status_code == outside.status_code == 404
    assert missing.json()["code"] == outside.json()["code"] == "NOT_FOUND"
    assert (await _get(db, settings, path, "test-gis")).status_code == 403  # reads no billing data
    assert (await _get(db, settings, path, "test-reporting")).status_code == 200
    # the scoped caller sees its own site's invoice
    own = await _generate(db, settings, "0349")
    mine = (await _statement(gql, own))["currentVersion"]["invoices"][0]["pdfUrl"]
    response = await _get(db, settings, mine, AM)
    assert response.status_code == 200 and "0349-202504-01-01" in _text(response.content)


async def test_a_scoped_session_gets_none_outside_its_scope(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    invoice_id = uuid.UUID((await _statement(gql, statement_0429))["currentVersion"]["invoices"][0]["id"])
    ctx = await context_for(db, settings, AM)
    async with ctx.db.read() as session:
        assert await invoice_document(session, invoice_id=invoice_id) is None


async def test_appendices_follow_the_selection_and_the_data(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    path = (await _statement(gql, statement_0429))["currentVersion"]["invoices"][0]["pdfUrl"]
    async with db.read() as session:
        sales, validated = (
            await session.execute(
                text(
                    "SELECT sum(external_revenue) FILTER (WHERE deposit_flag <> 'V'),"
                    " sum(billable_net_validation) FILTER (WHERE deposit_flag = 'V') FROM revenue_daily r"
                    " JOIN customer_site s ON s.id = r.site_id"
                    " WHERE s.site_number = '0429' AND r.date BETWEEN '2025-04-01' AND '2025-04-30'"
                )
            )
        ).one()
    assert sales and sales > 0
    body = _text((await _get(db, settings, path)).content)
    assert "Appendix A: Mix Of Sales" in body
    mix = body[body.index("Appendix A: Mix Of Sales") :]
    assert f"Total {money(sales)}" in mix
    if validated is not None:
        assert f"Total {money(validated)}" in body[body.index("Appendix B: Validation Report") :]
    else:
        assert "Validation Report" not in body
    assert "Parking Department" not in body  # selected, but this service has no data for it: nothing said
    # no revenue facts for the month: the selected reports have no data and no appendix is printed
    async with db.transaction() as session:
        await session.execute(
            text(
                "DELETE FROM revenue_daily WHERE site_id = (SELECT id FROM customer_site WHERE site_number = '0429')"
                " AND date BETWEEN '2025-04-01' AND '2025-04-30'"
            )
        )
    assert "Appendix" not in _text((await _get(db, settings, path)).content)
    # a contract that selects no supporting report has none (1078: facts exist, nothing selected)
    other = await _generate(db, settings, "1078")
    for invoice in (await _statement(gql, other))["currentVersion"]["invoices"]:
        assert "Appendix" not in _text((await _get(db, settings, invoice["pdfUrl"])).content)


async def test_bill_to_recipient_only_for_billing_roles(
    db: Database, settings: Settings, gql: GraphQLClient, statement_0429: uuid.UUID
) -> None:
    statement = await _statement(gql, statement_0429)
    path = statement["currentVersion"]["invoices"][0]["pdfUrl"]
    site_name = statement["site"]["name"]
    for subject in (ADMIN, MANAGER):
        body = _text((await _get(db, settings, path, subject)).content)
        assert f"Bill to {RECIPIENT} {CONTACT} {site_name}" in body
    body = _text((await _get(db, settings, path, "test-reporting")).content)
    assert RECIPIENT not in body and CONTACT not in body
    assert f"Bill to {site_name}" in body


def test_the_committed_sample_is_what_the_renderer_makes() -> None:
    """docs/sample-invoice.pdf is `make sample-invoice`'s output (re-run it after a layout change)."""
    from server.invoice_pdf import sample_figures

    committed = (REPO_ROOT / "docs" / "sample-invoice.pdf").read_bytes()
    assert committed == render(sample_figures())
    body = _text(committed)
    assert "SYNTHETIC" in body and "0349-202504-01-01" in body and "Total 33,300.00" in body


async def test_hours_backup_appendix_adds_up_the_timesheets(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    """0338 selects the Hours Backup Report: its appendix has each job code's hours of the month."""
    statement = await _statement(gql, await _generate(db, settings, "0338"))
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT job_code, sum(regular + regular_next_day + overtime + overtime_next_day + holiday"
                    " + holiday_next_day + double_overtime + double_overtime_next_day + holiday_overtime"
                    " + holiday_overtime_next_day + holiday_double_overtime + holiday_double_overtime_next_day)"
                    " FROM timesheet_minutes t JOIN customer_site s ON s.id = t.site_id WHERE s.site_number = '0338'"
                    " AND t.date BETWEEN '2025-04-01' AND '2025-04-30' GROUP BY job_code ORDER BY job_code"
                )
            )
        ).all()
    assert rows
    body = _text((await _get(db, settings, statement["currentVersion"]["invoices"][0]["pdfUrl"])).content)
    appendix = body[body.index("Appendix A: Hours Backup Report") :]
    for job, minutes in rows:
        total = (Decimal(minutes) / 60).quantize(Decimal("0.01"))
        assert f"{job} " in appendix and f"{total:,.2f}" in appendix, (job, total)
