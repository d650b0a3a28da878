"""The streamed CSV and XLSX exports (issue 11 §3, server/exports.py) over HTTP: the same rows as the GraphQL
answers for the same filters (to the cent), CSV and XLSX alike, in the caller's scope (row-level security),
the Great Plains journal of a period as the concatenation of the one-statement exports, the error language,
and memory that does not grow with the row count."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import tracemalloc
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import text

import billing
from db.database import Database
from db.models.statement import LINE_FLAGS
from db.repositories.users import Grants, upsert_user
from resolvers import statements as service
from server.app import create_app
from server.exports import GL_EXPORT_COLUMNS, LINE_COLUMNS, SITE_COLUMNS, STATEMENT_COLUMNS, Column, Kind
from server.settings import Settings
from tests.conftest import ADMIN, REPO_ROOT, GraphQLClient, bearer, context_for

AM = "exports-am"
AM_SITES = ("0349", "0918")
APRIL = [
    "0170",
    "0198",
    "0200",
    "0208",
    "0212",
    "0237",
    "0242",
    "0293",
    "0338",
    "0349",
    "0429",
    "0451",
    "0487",
    "0534",
    "0918",
    "1078",
]  # fmt: skip  (the 16 real configurations with a statement)
SENT_APRIL = ("0349", "0918", "0170", "1078", "0338")

Client = httpx.AsyncClient


@pytest.fixture
async def statements(db: Database, settings: Settings) -> dict[tuple[str, str], str]:
    """Statements of the 16 sites for 2025-04 (five of them Sent, 0212 generated twice: revision 2), of 0349
    and 0918 for 2025-03 (0349 Sent), an ad-hoc line on 0198; and the account manager of 0349 and 0918.
    (period, site number) → statement id."""
    async with db.transaction() as session:
        await upsert_user(
            session,
            subject=AM,
            grants=Grants(roles=("accountManager",), site_numbers=AM_SITES),
            granted_by="t",
        )
    ctx = await context_for(db, settings, "test-billing-manager")
    made: dict[tuple[str, str], str] = {}
    for key, sites in (("2025-04", APRIL), ("2025-04", ["0212"]), ("2025-03", ["0349", "0918"])):
        request = await service.bulk_request(
            ctx, site_numbers=sites, territory_layer=None, territory_code=None, service_period=key,
            idempotency_key=None,
        )  # fmt: skip
        for number, done in await service.generate_statements(ctx, request):
            assert isinstance(done, service.Generated), (number, done)
            made[(key, number)] = str(done.statement_id)
    for key, number in [("2025-04", n) for n in SENT_APRIL] + [("2025-03", "0349")]:
        statement_id = made[(key, number)]
        for _ in range(3):  # through review to Sent, whatever status generation gave
            async with db.read() as session:
                status = (
                    await session.execute(
                        text(
                            "SELECT v.status FROM statement_version v WHERE v.statement_id = :s"
                            " AND NOT v.superseded ORDER BY v.version DESC LIMIT 1"
                        ),
                        {"s": statement_id},
                    )
                ).scalar_one()
            if status == "SENT":
                break
            move = service.mark_sent if status == "READY_TO_SEND" else service.confirm_review
            await move(ctx, statement_id=uuid.UUID(statement_id))
    return made


async def _add_adhoc(gql: GraphQLClient, statement_id: str) -> None:
    invoice = (
        await gql.data("query ($id: ID!) { statement(id: $id) { invoices { id } } }", id=statement_id)
    )["statement"]["invoices"][0]["id"]
    added = await gql.data(
        'mutation ($i: ID!) { addAdhocLine(invoiceId: $i, line: {type: CLIENT_PAID_EXPENSE, title: "Uniforms",'
        ' code: "7000", amount: "250.05"}) { __typename } }',
        i=invoice,
    )
    assert added["addAdhocLine"]["__typename"] == "InvoicePayload"


def _http(db: Database, settings: Settings) -> Client:
    app = create_app(settings, db=db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text)))


def _xlsx_as_csv(response: httpx.Response, columns: Sequence[Column]) -> list[list[str]]:
    """The XLSX sheet read back by openpyxl, each cell written as the CSV writes its kind."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    if "content-encoding" not in response.headers:
        assert int(response.headers["content-length"]) == len(response.content)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [c.header for c in columns]

    def cell(kind: Kind, value: Any) -> str:
        if value is None:
            return ""
        if kind is Kind.MONEY:
            return f"{value:.2f}"
        if kind is Kind.PERCENT:
            return f"{value:.4f}"
        if kind is Kind.INT:
            return str(int(value))
        if kind is Kind.DATE:
            return str(value.date().isoformat())
        if kind is Kind.BOOL:
            return "true" if value else "false"
        if kind is Kind.NUMBER:
            return repr(float(value))
        return str(value)

    return [[c.name for c in columns]] + [
        [cell(c.kind, v) for c, v in zip(columns, row, strict=True)] for row in rows[1:]
    ]


def _money_formats(response: httpx.Response, columns: Sequence[Column]) -> set[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    index = [i for i, c in enumerate(columns) if c.kind is Kind.MONEY]
    return {sheet.cell(row=2, column=i + 1).number_format for i in index}


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


STATEMENTS = """
query ($filter: StatementFilter) {
  statements(filter: $filter, first: 500) {
    totalCount
    edges { node {
      id servicePeriod status version sentAt total site { siteNumber name }
      forecast { forecastedRevenue invoicedRevenue deviationAmount deviationPercentage exceeded }
      currentVersion { revision createdBy createdAt }
      events { actor at }
      invoices { invoiceNumber invoiceDate groupNumber
                 lines { code title buildingBlock amount adhocType flags { FLAGS } } }
    } }
  }
}
""".replace("FLAGS", " ".join(re.sub(r"_(\w)", lambda m: m.group(1).upper(), flag) for flag in LINE_FLAGS))


async def _graphql_statements(gql: GraphQLClient, subject: str, **filter: Any) -> list[dict[str, Any]]:
    data = await gql.as_(subject).data(STATEMENTS, filter=filter or None)
    nodes = [e["node"] for e in data["statements"]["edges"]]
    assert data["statements"]["totalCount"] == len(nodes)
    return nodes


def _register_rows(nodes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The register's columns from GraphQL nodes, instants parsed."""
    out = []
    for n in nodes:
        f = n["forecast"]
        last = n["events"][-1]
        out.append(
            (
                n["servicePeriod"], n["site"]["siteNumber"], n["site"]["name"], n["status"], str(n["version"]),
                str(n["currentVersion"]["revision"]), n["total"],
                *((f["invoicedRevenue"], f["forecastedRevenue"], f["deviationAmount"], f["deviationPercentage"],
                   "true" if f["exceeded"] else "false") if f else ("",) * 5),
                n["currentVersion"]["createdBy"] or "", _instant(n["currentVersion"]["createdAt"]),
                last["actor"] or "", _instant(last["at"]), _instant(n["sentAt"]), n["id"],
            )
        )  # fmt: skip
    return sorted(out, key=lambda r: (r[0], r[1]))


def _parsed_register(rows: list[list[str]]) -> list[tuple[Any, ...]]:
    assert rows[0] == [c.name for c in STATEMENT_COLUMNS]
    instants = {i for i, c in enumerate(STATEMENT_COLUMNS) if c.kind is Kind.INSTANT}
    return [tuple(_instant(v) if i in instants else v for i, v in enumerate(r)) for r in rows[1:]]


def _line_rows(nodes: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The invoice-line columns from GraphQL nodes, all but `position` (GraphQL lists lines in its order)."""
    out = []
    for n in nodes:
        for invoice in n["invoices"]:
            for line in invoice["lines"]:
                flags = ["true" if v else "false" for v in line["flags"].values()]
                out.append(
                    (
                        n["servicePeriod"], n["site"]["siteNumber"], n["status"], str(n["version"]),
                        str(n["currentVersion"]["revision"]), invoice["invoiceNumber"], invoice["invoiceDate"],
                        str(invoice["groupNumber"]), line["code"], line["title"], line["buildingBlock"] or "",
                        line["amount"], line["adhocType"] or "", *flags,
                    )
                )  # fmt: skip
    return out


def _without_position(rows: list[list[str]]) -> list[tuple[str, ...]]:
    assert rows[0] == [c.name for c in LINE_COLUMNS]
    position = [c.name for c in LINE_COLUMNS].index("position")
    return [tuple(v for i, v in enumerate(r) if i != position) for r in rows[1:]]


async def test_the_statements_register_and_invoice_lines_equal_the_graphql_answers(
    db: Database, settings: Settings, gql: GraphQLClient, statements: dict[tuple[str, str], str]
) -> None:
    await _add_adhoc(gql, statements[("2025-04", "0198")])
    async with _http(db, settings) as http:
        headers = bearer(settings, ADMIN)

        async def get(path: str, **params: str) -> httpx.Response:
            return await http.get(path, params=params, headers=headers)

        for graphql_filter, params in (
            ({"servicePeriod": "2025-04"}, {"servicePeriod": "2025-04"}),
            ({"statuses": ["SENT"]}, {"statuses": "SENT"}),
            ({"siteNumber": "349"}, {"siteNumber": "349"}),
            ({"territoryLayer": "districts", "territoryCode": "orlando"},
             {"territoryLayer": "districts", "territoryCode": "orlando"}),
            ({}, {}),
        ):  # fmt: skip
            nodes = await _graphql_statements(gql, ADMIN, **graphql_filter)
            assert nodes, graphql_filter
            register = await get("/exports/statements.csv", **params)
            assert _parsed_register(_csv(register)) == _register_rows(nodes), params
            lines = await get("/exports/invoice-lines.csv", **params)
            assert sorted(_without_position(_csv(lines))) == sorted(_line_rows(nodes)), params

        # the whole register, as checked: 18 statements, the revision, the ad-hoc line, Sent ones, amounts
        rows = _csv(await get("/exports/statements.csv"))
        assert len(rows) == 1 + 18
        by_key = {(r[0], r[1]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
        assert by_key[("2025-04", "0212")]["revision"] == "2"
        assert by_key[("2025-04", "0349")]["amount"] == "33300.00"  # F-1 (domain.md §5)
        assert by_key[("2025-04", "0349")]["status"] == "SENT" and by_key[("2025-04", "0349")]["sent_at"]
        assert [r[:2] for r in rows[1:]] == sorted(r[:2] for r in rows[1:])  # oldest period, then site
        assert all(re.fullmatch(r"-?\d+\.\d{2}", r[6]) for r in rows[1:])
        adhoc = [r for r in _csv(await get("/exports/invoice-lines.csv", siteNumber="0198"))[1:] if r[13]]
        assert [(r[9], r[10], r[12], r[13], r[14]) for r in adhoc] == [
            ("7000", "Uniforms", "-250.05", "CLIENT_PAID_EXPENSE", "true")
        ]

        # from/to: an inclusive range of service periods; the file name says which
        march = await get("/exports/statements.csv", **{"from": "2025-01", "to": "2025-03"})
        assert {(r[0], r[1]) for r in _csv(march)[1:]} == {("2025-03", "0349"), ("2025-03", "0918")}
        assert march.headers["content-disposition"] == (
            'attachment; filename="statements-2025-01-to-2025-03.csv"'
        )
        april = await get("/exports/invoice-lines.xlsx", servicePeriod="2025-04")
        assert april.headers["content-disposition"] == 'attachment; filename="invoice-lines-2025-04.xlsx"'

        # CSV and XLSX carry the same rows; money cells are numbers with two decimals shown
        for path, columns in (
            ("/exports/statements", STATEMENT_COLUMNS),
            ("/exports/invoice-lines", LINE_COLUMNS),
        ):
            as_csv = _csv(await get(f"{path}.csv"))
            as_xlsx = await get(f"{path}.xlsx")
            assert _xlsx_as_csv(as_xlsx, columns) == as_csv
            assert _money_formats(as_xlsx, columns) == {"#,##0.00"}


async def test_the_gl_journal_of_a_period_is_the_one_statement_exports_concatenated(
    db: Database, settings: Settings, gql: GraphQLClient, statements: dict[tuple[str, str], str]
) -> None:
    async with _http(db, settings) as http:
        for subject, sites in ((ADMIN, sorted(SENT_APRIL)), (AM, sorted(AM_SITES))):
            headers = bearer(settings, subject)
            expected: list[list[str]] = []
            header: list[str] = []
            for number in sites:
                one = await http.get(
                    f"/statements/{statements[('2025-04', number)]}/gl-export.csv", headers=headers
                )
                parsed = _csv(one)
                header = parsed[0]
                expected += parsed[1:]
            batch = await http.get(
                "/exports/gl-journal.csv", params={"servicePeriod": "2025-04"}, headers=headers
            )
            assert batch.headers["content-disposition"] == 'attachment; filename="gl-journal-2025-04.csv"'
            rows = _csv(batch)
            assert rows[0] == header and rows[1:] == expected, subject
            assert len(expected) >= 2 * len(sites)  # a line and its balancing entry at least
            xlsx = await http.get(
                "/exports/gl-journal.xlsx", params={"servicePeriod": "2025-04"}, headers=headers
            )
            assert _xlsx_as_csv(xlsx, GL_EXPORT_COLUMNS) == rows
        # a territory filter narrows the batch; March has one Sent statement
        headers = bearer(settings, ADMIN)
        march = _csv(
            await http.get("/exports/gl-journal.csv", params={"servicePeriod": "2025-03"}, headers=headers)
        )
        only = _csv(
            await http.get(f"/statements/{statements[('2025-03', '0349')]}/gl-export.csv", headers=headers)
        )
        assert march == only
        orlando = await http.get(
            "/exports/gl-journal.csv",
            params={"servicePeriod": "2025-04", "territoryLayer": "districts", "territoryCode": "orlando"},
            headers=headers,
        )
        in_orlando = await _graphql_statements(
            gql,
            ADMIN,
            servicePeriod="2025-04",
            statuses=["SENT"],
            territoryLayer="districts",
            territoryCode="orlando",
        )
        assert {n["site"]["siteNumber"] for n in in_orlando} == {"0349", "1078"}
        assert {r[5][-4:] for r in _csv(orlando)[1:] if not r[5].startswith("02-00-")} == {"0349", "1078"}


async def test_a_scoped_caller_gets_exactly_its_rows(
    db: Database, settings: Settings, gql: GraphQLClient, statements: dict[tuple[str, str], str]
) -> None:
    async with _http(db, settings) as http:
        headers = bearer(settings, AM)
        register = _csv(await http.get("/exports/statements.csv", headers=headers))
        assert sorted((r[0], r[1]) for r in register[1:]) == sorted(k for k in statements if k[1] in AM_SITES)
        assert _parsed_register(register) == _register_rows(await _graphql_statements(gql, AM))
        lines = _csv(await http.get("/exports/invoice-lines.csv", headers=headers))
        assert {r[1] for r in lines[1:]} == set(AM_SITES)
        sites = _csv(await http.get("/exports/sites.csv", headers=headers))
        assert [r[0] for r in sites[1:]] == list(AM_SITES)
        vendor = [c.name for c in SITE_COLUMNS].index("vendor_id")
        assert {r[vendor] for r in sites[1:]} == {""}  # no billing need (§4.4)
        plain = await http.get("/exports/sites.xlsx", headers={**headers, "accept-encoding": "identity"})
        assert int(plain.headers["content-length"]) == len(plain.content) > 0
        assert plain.headers["content-disposition"] == 'attachment; filename="sites.xlsx"'
        assert plain.headers["cache-control"] == "private, no-store" and plain.headers["x-request-id"]
        assert _xlsx_as_csv(plain, SITE_COLUMNS) == sites


SITES = """
query ($filter: SiteFilter, $after: String) {
  sites(filter: $filter, first: 500, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { siteNumber name address street city state zip sourceDistrict glString parkingSpaces rooms
                   vendorId startDate closeDate isActive location geocodeMethod updatedAt } }
  }
}
"""


async def test_the_site_directory_equals_the_sites_query(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    async with _http(db, settings) as http:
        for subject in (ADMIN, "test-reporting", "test-gis"):
            headers = bearer(settings, subject)
            for graphql_filter, params in (
                ({}, {}),
                ({"territory": {"layer": "districts", "code": "orlando"}, "buildingBlock": "REVENUE_SHARE"},
                 {"territoryLayer": "districts", "territoryCode": "orlando", "buildingBlock": "REVENUE_SHARE"}),
                ({"state": "FL", "search": "hotel"}, {"state": "fl", "search": "hotel"}),
                ({"bbox": [-82, 27, -80, 29]}, {"bbox": "-82,27,-80,29"}),
            ):  # fmt: skip
                nodes: list[dict[str, Any]] = []
                after = None
                while True:  # pages of at most 500
                    page = (await gql.as_(subject).data(SITES, filter=graphql_filter or None, after=after))[
                        "sites"
                    ]
                    nodes += [e["node"] for e in page["edges"]]
                    if not page["pageInfo"]["hasNextPage"]:
                        break
                    after = page["pageInfo"]["endCursor"]
                expected = [
                    [
                        n["siteNumber"], n["name"], n["address"], n["street"], n["city"] or "", n["state"], n["zip"],
                        n["sourceDistrict"] or "", n["glString"], str(n["parkingSpaces"] or ""),
                        str(n["rooms"] if n["rooms"] is not None else ""), n["vendorId"] or "",
                        n["startDate"] or "", n["closeDate"] or "", "true" if n["isActive"] else "false",
                        *((repr(float(n["location"]["coordinates"][0])), repr(float(n["location"]["coordinates"][1])))
                          if n["location"] else ("", "")),
                        n["geocodeMethod"] or "",
                    ]
                    for n in nodes
                ]  # fmt: skip
                rows = _csv(await http.get("/exports/sites.csv", params=params, headers=headers))
                assert rows[0] == [c.name for c in SITE_COLUMNS]
                # parking spaces of 0 and None both show "" above: compare them by the export's own text
                got = [r[:-1] for r in rows[1:]]
                for row in got:
                    row[9] = row[9] if row[9] != "0" else ""
                assert got == expected, (subject, params)
                assert [_instant(r[-1]) for r in rows[1:]] == [_instant(n["updatedAt"]) for n in nodes]
                if subject == ADMIN and not params:
                    assert len(rows) == 1 + 649
                    assert any(r[11] for r in rows[1:])  # vendor ids for a billing role


async def test_who_may_export_and_bad_parameters(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    async with _http(db, settings) as http:

        async def get(path: str, subject: str | None = ADMIN, **params: str) -> httpx.Response:
            headers = bearer(settings, subject) if subject else {}
            return await http.get(path, params=params, headers=headers)

        for path in ("/exports/statements.csv", "/exports/invoice-lines.xlsx", "/exports/sites.csv",
                     "/exports/gl-journal.csv"):  # fmt: skip
            anonymous = await get(path, None, servicePeriod="2025-04")
            assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED", path
            assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for subject in ("test-gis", "test-nobody"):
            for path in ("/exports/statements.csv", "/exports/invoice-lines.xlsx", "/exports/gl-journal.csv"):
                refused = await get(path, subject, servicePeriod="2025-04")
                assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN", (subject, path)
        assert (await get("/exports/sites.csv", "test-gis")).status_code == 200
        nobody = _csv(await get("/exports/sites.csv", "test-nobody"))
        assert nobody == [[c.name for c in SITE_COLUMNS]]  # sees no site: the header only

        # the same bad filter: the same code and message as GraphQL, with the parameter's name
        for graphql_filter, params, argument in (
            ({"servicePeriod": "2025-13"}, {"servicePeriod": "2025-13"}, "servicePeriod"),
            ({"siteNumber": "12345"}, {"siteNumber": "12345"}, "siteNumber"),
            ({"territoryLayer": "districts"}, {"territoryLayer": "districts"}, "territoryCode"),
            ({"territoryLayer": "nowhere", "territoryCode": "x"}, {"territoryLayer": "nowhere", "territoryCode": "x"},
             "territoryLayer"),
            ({"territoryLayer": "districts", "territoryCode": "atlantis"},
             {"territoryLayer": "districts", "territoryCode": "atlantis"}, "territoryCode"),
        ):  # fmt: skip
            error = await gql.error(STATEMENTS, filter=graphql_filter)
            for path in ("/exports/statements.csv", "/exports/invoice-lines.xlsx"):
                bad = await get(path, **params)
                assert bad.status_code == 400, (params, bad.text)
                assert bad.json()["code"] == error["extensions"]["code"] == "BAD_USER_INPUT"
                assert bad.json()["argument"] == argument
                assert bad.json()["message"] == error["message"].replace("filter.", ""), params
        sites_error = await gql.error(SITES, filter={"territory": {"layer": "districts", "code": "atlantis"}})
        bad = await get("/exports/sites.csv", territoryLayer="districts", territoryCode="atlantis")
        assert bad.status_code == 400 and bad.json()["argument"] == "territoryCode"
        assert bad.json()["message"] == sites_error["message"].replace(
            "filter.territory.code", "territoryCode"
        )

        for path, params, argument in (
            ("/exports/statements.csv", {"from": "2025-06", "to": "2025-01"}, "from"),
            ("/exports/statements.csv", {"to": "June"}, "to"),
            ("/exports/statements.csv", {"statuses": "SENT,BOGUS"}, "statuses"),
            ("/exports/statements.csv", {"currentOnly": "yes"}, "currentOnly"),
            ("/exports/statements.csv", {"limit": "5"}, "limit"),
            ("/exports/gl-journal.csv", {}, "servicePeriod"),
            ("/exports/gl-journal.xlsx", {"servicePeriod": "2025-4x"}, "servicePeriod"),
            ("/exports/gl-journal.csv", {"servicePeriod": "2025-04", "statuses": "SENT"}, "statuses"),
            ("/exports/sites.csv", {"bbox": "1,2,3"}, "bbox"),
            ("/exports/sites.csv", {"bbox": "a,b,c,d"}, "bbox"),
            ("/exports/sites.csv", {"buildingBlock": "CATERING"}, "buildingBlock"),
            ("/exports/sites.csv", {"state": "Florida"}, "state"),
            ("/exports/sites.csv", {"territoryLayer": "districts"}, "territoryCode"),
        ):
            bad = await get(path, **params)
            body = bad.json()
            assert bad.status_code == 400 and body["code"] == "BAD_USER_INPUT", (path, params, body)
            assert body["argument"] == argument and argument in body["message"], (path, params, body)
            assert "Traceback" not in bad.text and "SELECT" not in bad.text
        repeated = await http.get(
            "/exports/statements.csv?servicePeriod=2025-04&servicePeriod=2025-03", headers=bearer(settings)
        )
        assert repeated.status_code == 400 and repeated.json()["argument"] == "servicePeriod"
        assert "more than once" in repeated.json()["message"]
        assert (await get("/exports/statements.pdf")).status_code == 404


async def test_the_readme_export_example_is_true(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    (url,) = re.findall(r"'http://127\.0\.0\.1:8000(/exports/statements\.csv\?[^']*)'", readme)
    assert "towne token --role reportingReader" in readme and "curl -s -OJ" in readme
    await gql.data(
        'mutation { generateStatement(siteNumber: "0349", servicePeriod: "2025-04") { __typename } }'
    )
    async with _http(db, settings) as http:
        response = await http.get(url, headers=bearer(settings, "test-reporting"))
    rows = _csv(response)
    assert response.headers["content-disposition"] == 'attachment; filename="statements-2025-04.csv"'
    assert "statements-2025-04.csv" in readme
    assert [(r[0], r[1], r[6]) for r in rows[1:]] == [("2025-04", "0349", "33300.00")]


# ---- memory -------------------------------------------------------------------------------------------------

MANY_LINES = 20_000


async def _stream(app: Any, path: str, query: str, headers: dict[str, str]) -> tuple[int, int]:
    """Run one GET through the ASGI app, counting the body's bytes and keeping none of them (httpx's
    ASGI transport would collect the whole body first): (status, body bytes)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"test"), *((k.encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000), "server": ("test", 80),
    }  # fmt: skip
    sent_request = False
    status = 0
    size = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays until the response ends
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


async def test_a_large_export_streams_in_bounded_memory(
    db: Database, settings: Settings, gql: GraphQLClient
) -> None:
    """20,000 invoice lines (several MB of CSV) stream with a peak of Python memory far below the body: an
    implementation that held the result (rows, or the CSV text) would exceed the bound."""
    made = await gql.data(
        'mutation { generateStatement(siteNumber: "0349", servicePeriod: "2025-04") {'
        " ... on StatementPayload { statement { invoices { id } } } } }"
    )
    invoice = made["generateStatement"]["statement"]["invoices"][0]["id"]
    async with db.transaction() as session:
        # the audit trail's row triggers would make this insert the slow part of the test
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(
            text(
                "INSERT INTO invoice_line (id, invoice_id, position, title, code, amount, building_block)"
                " SELECT gen_random_uuid(), :invoice, 100 + g, 'Synthetic line ' || g || ' of the memory test',"
                " '4790', 1234.56, 'FIXED_FEE' FROM generate_series(1, :n) AS g"
            ),
            {"invoice": invoice, "n": MANY_LINES},
        )
        await session.execute(text("SET LOCAL session_replication_role = origin"))
    app = create_app(settings, db=db)
    headers = bearer(settings, ADMIN)
    # warm up: the first request compiles and caches the statement and imports what it needs
    assert (await _stream(app, "/exports/invoice-lines.csv", "siteNumber=0918", headers))[0] == 200

    bound = 2_000_000
    tracemalloc.start()
    try:
        status, size = await _stream(app, "/exports/invoice-lines.csv", "servicePeriod=2025-04", headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    # the bound is well below what holding the result would take: the body alone is more than twice it
    assert size > 2 * bound, size
    assert peak < bound, (peak, size)
    # the rows are all there
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get(
            "/exports/invoice-lines.csv", params={"servicePeriod": "2025-04"}, headers=headers
        )
    rows = _csv(response)
    assert len(rows) - 1 == MANY_LINES + 2  # the statement's own two lines (F-1) and the synthetic ones
    assert sum(Decimal(r[12]) for r in rows[1:]) == Decimal("1234.56") * MANY_LINES + Decimal("33300.00")


def test_money_is_exact_in_csv_and_a_number_in_xlsx() -> None:
    from server.exports import csv_cell

    assert csv_cell(Kind.MONEY, Decimal("1234567890123.45")) == "1234567890123.45"
    assert csv_cell(Kind.MONEY, Decimal("-0.1")) == "-0.10"
    assert csv_cell(Kind.PERCENT, Decimal("25.03")) == "25.0300"
    assert csv_cell(
        Kind.INSTANT, dt.datetime(2025, 4, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    ) == ("2025-04-01T16:00:00+00:00")
    assert csv_cell(Kind.BOOL, False) == "false" and csv_cell(Kind.TEXT, None) == ""
    assert billing.ServicePeriod(2025, 4).key == "2025-04"
