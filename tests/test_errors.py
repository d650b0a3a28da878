"""One error language: every error class in the one table, codes on every GraphQL error, nothing internal out."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import text

import billing
from db.database import Database
from db.models.contract import SINGLE_ROW_BLOCKS
from resolvers import errors
from resolvers.context import Context
from schema import build_schema
from schema.problems import ERRORS, InternalProblem
from server.settings import Settings
from tests.conftest import GraphQLClient, context_for

NAME_0349 = "Hilton Walt Disney World Resort"


def test_every_error_class_is_in_the_table() -> None:
    unmapped = [cls.__name__ for cls in errors.all_error_classes() if cls.code not in ERRORS]
    assert unmapped == []


def test_every_problem_member_is_in_the_schema() -> None:
    types = build_schema()._schema.type_map
    for code, spec in ERRORS.items():
        if spec.problem is not None:
            assert spec.problem.__name__ in types, code


def test_http_statuses_are_client_or_server_errors() -> None:
    assert all(400 <= spec.http_status < 600 for spec in ERRORS.values())
    assert ERRORS[errors.Internal.code].problem is InternalProblem


async def test_the_database_checks_name_the_engine_building_blocks(db: Database) -> None:
    async with db.read() as session:
        rows: dict[str, str] = dict(
            (
                await session.execute(
                    text(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname IN"
                        " ('ck_contract_building_blocks_known', 'ck_contract_component_single_row_block')"
                    )
                )
            ).all()
        )

    def quoted(definition: str) -> set[str]:
        return set(re.findall(r"'([A-Z_]+)'", definition))

    assert quoted(rows["ck_contract_building_blocks_known"]) == {b.name for b in billing.BuildingBlock}
    assert quoted(rows["ck_contract_component_single_row_block"]) == set(SINGLE_ROW_BLOCKS)
    assert set(SINGLE_ROW_BLOCKS) <= {b.name for b in billing.BuildingBlock}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ site(siteNumber: ", "GRAPHQL_PARSE_FAILED"),
        ("{ site(siteNumber: 1) { name } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ site { name } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_parse_and_validation_errors_carry_their_code(
    gql: GraphQLClient, query: str, code: str
) -> None:
    error = await gql.error(query)
    assert error["extensions"] == {"code": code}


async def test_a_variable_of_the_wrong_type_is_bad_user_input(gql: GraphQLClient) -> None:
    error = await gql.error("query ($n: String!) { site(siteNumber: $n) { name } }", n=349)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    amount = await gql.error(
        'mutation ($line: AdhocLineInput!) { addAdhocLine(invoiceId: "00000000-0000-0000-0000-000000000000",'
        " line: $line) { __typename } }",
        line={"type": "MISCELLANEOUS_ITEM", "title": "x", "code": "4790", "amount": "twelve"},
    )
    assert amount["extensions"]["code"] == "BAD_USER_INPUT" and "decimal" in amount["message"]


async def test_one_failing_alias_leaves_its_neighbours(gql: GraphQLClient) -> None:
    result = await gql.execute(
        '{ good: site(siteNumber: "0349") { name } bad: site(siteNumber: "03\\u000049") { name } }'
    )
    assert result.data is not None and result.data["bad"] is None
    assert result.data["good"] == {"name": NAME_0349}
    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": "siteNumber"}
    assert "NUL byte at character 3" in error.message


@pytest.fixture
def failing_site_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    from resolvers import compiled, sites

    async def broken(ctx: Context, site_number: str) -> Any:
        raise RuntimeError('relation "customer_site" does not exist: SELECT * FROM /work/secret.py')

    monkeypatch.setattr(sites, "site_by_number", broken)

    # the compiled read path (resolvers.compiled) reads the site without site_by_number: fail there too
    def broken_number(number: str) -> str:
        raise RuntimeError('relation "customer_site" does not exist: SELECT * FROM /work/secret.py')

    monkeypatch.setattr(sites, "normal_site_number", broken_number)
    compiled.forget_plans()  # a cached plan of the same document would not ask normal_site_number


@pytest.mark.usefixtures("failing_site_lookup")
async def test_anything_unexpected_is_internal_with_a_request_id_and_no_detail(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    context = await context_for(db, settings, request_id="req-123")
    with caplog.at_level(logging.INFO, logger="towne.graphql"):
        result = await build_schema().execute('{ site(siteNumber: "0349") { name } }', context_value=context)
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "INTERNAL", "requestId": "req-123"}
    assert "req-123" in error.message
    for leak in ("SELECT", "customer_site", "/work", ".py", "RuntimeError"):
        assert leak not in str(error.formatted)
    [record] = [r for r in caplog.records if r.name == "towne.graphql"]
    assert (
        record.levelno == logging.ERROR and record.exc_info is not None and "req-123" in record.getMessage()
    )


@pytest.mark.usefixtures("failing_site_lookup")
async def test_debug_names_the_exception_but_never_its_traceback(db: Database, settings: Settings) -> None:
    context = await context_for(db, settings)
    result = await build_schema(debug=True).execute(
        '{ site(siteNumber: "0349") { name } }', context_value=context
    )
    assert result.errors is not None
    [error] = result.errors
    extensions = error.extensions or {}
    assert extensions["code"] == "INTERNAL"
    assert extensions["exception"]["type"] == "RuntimeError"
    assert "Traceback" not in str(error.formatted)


async def test_bad_user_input_is_logged_in_one_line_without_traceback(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    long_search = "x" * 5000
    with caplog.at_level(logging.INFO, logger="towne.graphql"):
        error = await gql.error(
            "query ($s: String) { sites(filter: {search: $s}) { totalCount } }", s=long_search
        )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "filter.search"}
    [record] = [r for r in caplog.records if r.name == "towne.graphql"]
    line = record.getMessage()
    assert record.levelno == logging.INFO and record.exc_info is None
    assert "\n" not in line and len(line) < 600 and "BAD_USER_INPUT" in line


async def test_money_has_two_decimals_and_rates_keep_four(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ site(siteNumber: "0338") { contract { incrementPercentage fixedFeeServices { fee }'
        " laborHourJobs { rate overtimeRate } } } }"
    )
    contract = data["site"]["contract"]
    assert all(re.fullmatch(r"-?\d+\.\d{2}", s["fee"]) for s in contract["fixedFeeServices"])
    assert all(re.fullmatch(r"\d+\.\d{4}", j["rate"]) for j in contract["laborHourJobs"])
    assert re.fullmatch(r"\d+\.\d{4}", contract["incrementPercentage"])


def test_the_scalars_round_as_finance_reads_them() -> None:
    from decimal import Decimal

    from schema.scalars import parse_decimal, serialize_money, serialize_rate

    assert serialize_money(Decimal("30800.0000")) == "30800.00"
    assert serialize_money(Decimal("2.345")) == "2.35" and serialize_money(Decimal("-2.345")) == "-2.35"
    assert serialize_rate(Decimal("9.706546275395033860045146727")) == "9.7065"
    assert serialize_rate(Decimal("25.03")) == "25.0300"
    for bad in ("NaN", "Infinity", "1e", True, None):
        with pytest.raises(ValueError):
            parse_decimal(bad, "an amount")


def test_every_code_is_in_the_documented_table() -> None:
    from tests.conftest import REPO_ROOT

    table = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [code for code in ERRORS if f"| `{code}` |" not in table] == []


def test_database_failures_are_coded_and_other_os_errors_are_not() -> None:
    import asyncpg
    import sqlalchemy.exc

    refused = OSError(111, "Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 9)")
    assert isinstance(errors.from_database(refused), errors.Unavailable)
    assert isinstance(errors.from_database(ConnectionRefusedError(111, "refused")), errors.Unavailable)
    assert isinstance(errors.from_database(asyncpg.exceptions.AdminShutdownError("bye")), errors.Unavailable)
    assert isinstance(errors.from_database(asyncpg.CannotConnectNowError("starting")), errors.Unavailable)
    assert isinstance(errors.from_database(asyncpg.ConnectionDoesNotExistError("gone")), errors.Unavailable)
    assert isinstance(errors.from_database(sqlalchemy.exc.TimeoutError("pool")), errors.ServiceBusy)
    assert isinstance(errors.from_database(asyncpg.QueryCanceledError("timeout")), errors.StatementTimeout)
    assert errors.from_database(FileNotFoundError(2, "no such file")) is None
    assert errors.from_database(asyncpg.InterfaceError("another operation is in progress")) is None
