"""Site management through GraphQL (issue 10 §1): add, change, close, reopen; billing after the close date.

Against the real imported data and the real policies (migration 0012) and assignment functions (migration
0009). New sites take site numbers 99xx (the PROD export's range is 0170–8725). Points: (-81.40, 28.40) is
in the Orlando district, (-80.19, 25.77) in Miami; ZIP 32837 is Orlando's (geocoded `zip`), 32800 is not a
ZIP of the data set but its prefix 328 is in FL (`zip3_prefix`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.database import Database
from db.repositories.users import Grants, upsert_user
from server.settings import Settings
from tests.conftest import ADMIN, GraphQLClient, context_for

SITE = """
  siteNumber name address street city state zip glString parkingSpaces rooms vendorId startDate
  closeDate isActive geocodeMethod location updatedAt
  territories { layer { code } territory { code } method }
  contract { billingType buildingBlocks configurationSource }
"""
BODY = f"""
    __typename
    ... on Problem {{ code message }}
    ... on CustomerSitePayload {{ site {{ {SITE} }} siteChanges {{ siteNumber layer fromCode toCode }} }}
"""
TAKEN = "... on SiteNumberInUseProblem { siteNumber }"
NOT_GEOCODABLE = "... on ZipNotGeocodableProblem { zip state }"
CHANGED = "... on SiteChangedProblem { currentUpdatedAt }"
ADD = f"""
mutation ($input: AddCustomerSiteInput!) {{ addCustomerSite(input: $input) {{ {BODY} {TAKEN} {NOT_GEOCODABLE} }} }}
"""
UPDATE = f"""
mutation ($site: String!, $input: UpdateCustomerSiteInput!, $expected: DateTime) {{
  updateCustomerSite(siteNumber: $site, input: $input, expectedUpdatedAt: $expected) {{
    {BODY} {CHANGED} {NOT_GEOCODABLE}
  }}
}}
"""
CLOSE = f"""
mutation ($site: String!, $date: Date!) {{ closeCustomerSite(siteNumber: $site, closeDate: $date) {{ {BODY} }} }}
"""
REOPEN = f"mutation ($site: String!) {{ reopenCustomerSite(siteNumber: $site) {{ {BODY} }} }}"
GENERATE = """
mutation ($site: String!, $period: String) {
  generateStatement(siteNumber: $site, servicePeriod: $period) {
    __typename
    ... on Problem { code message }
    ... on SiteClosedProblem { siteNumber closeDate servicePeriod }
    ... on StatementPayload { statement { id } }
  }
}
"""
BULK = """
mutation ($sites: [String!], $period: String) {
  generateStatements(siteNumbers: $sites, servicePeriod: $period) {
    generated failed items { siteNumber result { __typename ... on Problem { code } } }
  }
}
"""
ORLANDO = {"lon": -81.40, "lat": 28.40}
MIAMI = {"lon": -80.19, "lat": 25.77}


def new_site(number: str = "9901", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "siteNumber": number,
        "name": f"Test Hotel {number}",
        "street": "100 Test Way",
        "city": "Orlando",
        "state": "FL",
        "zip": "32837",
        "glString": "02-03-1009-",
        "parkingSpaces": 120,
        "rooms": 300,
        "vendorId": "V-TEST",
        "startDate": "2025-01-01",
    }
    base.update(overrides)
    return base


async def add(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.data(ADD, input=new_site(**fields)))["addCustomerSite"]
    return result


async def assignment_rows(db: Database, number: str) -> list[tuple[str, str | None, bool]]:
    """(layer, territory, open) of every assignment row of the site, by layer and validity."""
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT l.code, t.code, a.valid_to IS NULL FROM site_territory_assignment a"
                " JOIN customer_site s ON s.id = a.site_id JOIN territory_layer l ON l.id = a.layer_id"
                " LEFT JOIN territory t ON t.id = a.territory_id"
                " WHERE s.site_number = :n ORDER BY l.code, a.valid_from"
            ),
            {"n": number},
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def layer_codes(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.execute(text("SELECT code FROM territory_layer"))).scalars())


# ------------------------------------------------------------------------------------------------ add


async def test_a_site_added_by_point_is_manual_with_a_contract_and_assigned_in_every_layer(
    gql: GraphQLClient, db: Database
) -> None:
    done = await add(gql, location=ORLANDO, siteNumber="99")
    assert done["__typename"] == "CustomerSitePayload", done
    site = done["site"]
    assert site["siteNumber"] == "0099"
    assert site["geocodeMethod"] == "MANUAL"
    assert site["location"]["coordinates"] == [-81.40, 28.40]
    assert site["address"] == "100 Test Way, Orlando, FL 32837"
    assert site["isActive"] is True and site["closeDate"] is None
    assert site["contract"] == {"billingType": "ARREARS", "buildingBlocks": [], "configurationSource": "api"}
    territories = {t["layer"]["code"]: (t["territory"] or {}).get("code") for t in site["territories"]}
    assert territories["districts"] == "orlando" and territories["regions"] == "east"
    # one open row in every layer (the overlay layer's row says: in none of its territories)
    rows = await assignment_rows(db, "0099")
    assert {layer for layer, _, is_open in rows if is_open} == await layer_codes(db)
    assert len(rows) == len(await layer_codes(db))
    assert ("districts", "orlando", True) in rows
    changes = {(c["layer"], c["toCode"]) for c in done["siteChanges"]}
    assert ("districts", "orlando") in changes


async def test_a_site_added_without_a_point_is_geocoded_by_zip_as_the_importer_does(
    gql: GraphQLClient, db: Database
) -> None:
    by_zip = await add(gql, siteNumber="9902")
    assert by_zip["site"]["geocodeMethod"] == "ZIP"
    assert by_zip["site"]["location"]["coordinates"] == [-81.4179, 28.3949]  # as site 0237 (same ZIP)
    by_prefix = await add(gql, siteNumber="9903", zip="32800")
    assert by_prefix["site"]["geocodeMethod"] == "ZIP3_PREFIX"
    for number in ("9902", "9903"):
        rows = await assignment_rows(db, number)
        assert ("districts", "orlando", True) in rows, number
        assert {layer for layer, _, is_open in rows if is_open} == await layer_codes(db)


async def test_an_ungeocodable_zip_without_a_point_is_refused_and_nothing_is_written(
    gql: GraphQLClient, db: Database
) -> None:
    done = await add(gql, siteNumber="9904", zip="00000")
    assert done["__typename"] == "ZipNotGeocodableProblem", done
    assert (done["code"], done["zip"], done["state"]) == ("ZIP_NOT_GEOCODABLE", "00000", "FL")
    assert "input.location" in done["message"]
    assert await gql.data('{ site(siteNumber: "9904") { id } }') == {"site": None}


async def test_a_taken_site_number_is_a_problem_naming_it(gql: GraphQLClient, db: Database) -> None:
    done = await add(gql, siteNumber="349")
    assert done["__typename"] == "SiteNumberInUseProblem"
    assert (done["code"], done["siteNumber"]) == ("SITE_NUMBER_IN_USE", "0349")
    async with db.read() as session:
        count = (await session.execute(text("SELECT count(*) FROM customer_site"))).scalar_one()
    assert count == 649


@pytest.mark.parametrize(
    ("field", "value", "argument"),
    [
        ("glString", "02-03-1009", "input.glString"),
        ("glString", "100-4200-5000", "input.glString"),
        ("siteNumber", "12345", "input.siteNumber"),
        ("zip", "3283", "input.zip"),
        ("state", "Florida", "input.state"),
        ("parkingSpaces", -1, "input.parkingSpaces"),
        ("rooms", -5, "input.rooms"),
        ("name", "   ", "input.name"),
        ("location", {"lon": -181.0, "lat": 28.4}, "input.location.lon"),
        ("location", {"lon": -81.4, "lat": 91.0}, "input.location.lat"),
    ],
)
async def test_a_malformed_field_is_bad_user_input_naming_its_path(
    gql: GraphQLClient, db: Database, field: str, value: Any, argument: str
) -> None:
    error = await gql.error(ADD, input=new_site("9905", **{field: value}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert argument in error["message"]
    assert await gql.data('{ site(siteNumber: "9905") { id } }') == {"site": None}


async def test_the_billing_type_may_be_advanced(gql: GraphQLClient) -> None:
    done = await add(gql, siteNumber="9906", billingType="ADVANCED")
    assert done["site"]["contract"]["billingType"] == "ADVANCED"


@pytest.mark.parametrize("subject", ["test-billing-manager", "test-gis", "test-reporting", "test-nobody"])
async def test_only_billing_admins_manage_sites(gql: GraphQLClient, subject: str) -> None:
    other = gql.as_(subject)
    for query, variables in (
        (ADD, {"input": new_site("9907")}),
        (UPDATE, {"site": "0349", "input": {"name": "Renamed"}}),
        (CLOSE, {"site": "0349", "date": "2025-03-15"}),
        (REOPEN, {"site": "0349"}),
    ):
        error = await other.error(query, **variables)
        assert error["extensions"]["code"] == "FORBIDDEN", (subject, query)
    assert await gql.data('{ site(siteNumber: "9907") { id } }') == {"site": None}
    assert (await gql.data('{ site(siteNumber: "0349") { name closeDate } }'))["site"]["closeDate"] is None


# ------------------------------------------------------------------------------------------ row scopes


async def _grant(db: Database, subject: str, **grants: tuple[str, ...]) -> None:
    async with db.transaction() as session:
        await upsert_user(session, subject=subject, grants=Grants(**grants), granted_by="tests")


INSERT_SITE = (
    "INSERT INTO customer_site (site_number, name, address, street, city, state, zip, gl_string)"
    " VALUES ('9908', 'Direct', '1 A St, Orlando, FL 32837', '1 A St', 'Orlando', 'FL', '32837', '02-03-1009-')"
)


@pytest.mark.parametrize(
    ("subject", "roles"), [("dm-orlando-writer", ("districtManager",)), ("am-writer", ("accountManager",))]
)
async def test_a_scoped_caller_cannot_insert_a_site_or_a_contract_even_in_sql(
    db: Database, settings: Settings, subject: str, roles: tuple[str, ...]
) -> None:
    """The policy itself refuses the row (migration 0012), whatever the API's role checks do."""
    await _grant(db, subject, roles=roles, territories=("districts:orlando",))
    ctx = await context_for(db, settings, subject)
    with pytest.raises(Exception, match="row-level security"):
        async with ctx.db.transaction() as session:
            await session.execute(text(INSERT_SITE))
    with pytest.raises(Exception, match="row-level security"):
        async with ctx.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO contract (id, site_id, billing_type) SELECT gen_random_uuid(), s.id, 'ARREARS'"
                    " FROM customer_site s WHERE s.site_number = '0349'"
                )
            )
    # an update of a site it sees changes no row (the UPDATE policy's USING hides every row from it)
    async with ctx.db.transaction() as session:
        seen = (await session.execute(text("SELECT count(*) FROM customer_site"))).scalar_one()
        changed = await session.execute(text("UPDATE customer_site SET name = 'Hijacked'"))
    assert seen > 0 and changed.rowcount == 0  # type: ignore[attr-defined]


async def test_an_administrator_may_insert_in_sql_as_the_application_role(
    db: Database, settings: Settings
) -> None:
    ctx = await context_for(db, settings, ADMIN)
    async with ctx.db.transaction() as session:
        await session.execute(text(INSERT_SITE))
        assert (await session.execute(text("SELECT count(*) FROM customer_site"))).scalar_one() == 650


async def test_a_district_manager_sees_a_new_site_of_the_district_and_no_other(
    gql: GraphQLClient, db: Database
) -> None:
    await _grant(db, "dm-orlando-reader", roles=("districtManager",), territories=("districts:orlando",))
    await add(gql, siteNumber="9909", location=ORLANDO)
    await add(gql, siteNumber="9910", location=MIAMI)
    reader = gql.as_("dm-orlando-reader")
    seen = await reader.data(
        '{ a: site(siteNumber: "9909") { siteNumber } b: site(siteNumber: "9910") { siteNumber } }'
    )
    assert seen == {"a": {"siteNumber": "9909"}, "b": None}


# --------------------------------------------------------------------------------------------- update


async def test_moving_a_site_reassigns_it_with_history(gql: GraphQLClient, db: Database) -> None:
    await add(gql, siteNumber="9911", location=ORLANDO)
    done = (await gql.data(UPDATE, site="9911", input={"location": MIAMI}))["updateCustomerSite"]
    assert done["__typename"] == "CustomerSitePayload", done
    site = done["site"]
    assert site["geocodeMethod"] == "MANUAL" and site["location"]["coordinates"] == [-80.19, 25.77]
    territories = {t["layer"]["code"]: (t["territory"] or {}).get("code") for t in site["territories"]}
    assert territories["districts"] == "miami"
    assert {"siteNumber": "9911", "layer": "districts", "fromCode": "orlando", "toCode": "miami"} in done[
        "siteChanges"
    ]
    rows = [r for r in await assignment_rows(db, "9911") if r[0] == "districts"]
    assert rows == [("districts", "orlando", False), ("districts", "miami", True)]
    history = await gql.data(
        '{ site(siteNumber: "9911") { territoryHistory(layer: "districts") { territory { code } validTo } } }'
    )
    closed, current = history["site"]["territoryHistory"]
    assert closed["territory"]["code"] == "orlando" and closed["validTo"] is not None
    assert current["territory"]["code"] == "miami" and current["validTo"] is None


async def test_a_new_zip_without_a_point_re_geocodes_and_moves_the_site(
    gql: GraphQLClient, db: Database
) -> None:
    await add(gql, siteNumber="9912", location=ORLANDO)
    done = (
        await gql.data(UPDATE, site="9912", input={"zip": "33131", "city": "Miami", "street": "1 Brickell"})
    )["updateCustomerSite"]
    site = done["site"]
    assert site["geocodeMethod"] == "ZIP"
    assert site["address"] == "1 Brickell, Miami, FL 33131"
    rows = [r for r in await assignment_rows(db, "9912") if r[0] == "districts"]
    assert rows == [("districts", "orlando", False), ("districts", "miami", True)]


async def test_changing_other_fields_keeps_the_assignment_and_null_clears_optional_ones(
    gql: GraphQLClient, db: Database
) -> None:
    await add(gql, siteNumber="9913", location=ORLANDO)
    done = (
        await gql.data(
            UPDATE,
            site="9913",
            input={"name": "Renamed", "rooms": None, "vendorId": "V-2", "parkingSpaces": 0},
        )
    )["updateCustomerSite"]
    site = done["site"]
    assert (site["name"], site["rooms"], site["vendorId"], site["parkingSpaces"]) == (
        "Renamed",
        None,
        "V-2",
        0,
    )
    assert site["geocodeMethod"] == "MANUAL" and site["address"] == "100 Test Way, Orlando, FL 32837"
    assert done["siteChanges"] == []
    assert len(await assignment_rows(db, "9913")) == len(await layer_codes(db))


async def test_update_refusals_name_the_field_and_write_nothing(gql: GraphQLClient) -> None:
    before = (await gql.data('{ site(siteNumber: "0349") { name glString updatedAt } }'))["site"]
    for patch, argument in (
        ({"glString": "2-03-1009-"}, "input.glString"),
        ({"name": None}, "input.name"),
        ({"location": None}, "input.location"),
        ({"location": {"lon": 200.5, "lat": 0}}, "input.location.lon"),
    ):
        error = await gql.error(UPDATE, site="0349", input=patch)
        assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", argument)
    missing = (await gql.data(UPDATE, site="9999", input={"name": "x"}))["updateCustomerSite"]
    assert missing["code"] == "NOT_FOUND"
    assert (await gql.data('{ site(siteNumber: "0349") { name glString updatedAt } }'))["site"] == before


async def test_expected_updated_at_refuses_a_stale_change(gql: GraphQLClient) -> None:
    first = await add(gql, siteNumber="9914", location=ORLANDO)
    read_at = first["site"]["updatedAt"]
    changed = (await gql.data(UPDATE, site="9914", input={"name": "A"}, expected=read_at))[
        "updateCustomerSite"
    ]
    assert changed["__typename"] == "CustomerSitePayload" and changed["site"]["updatedAt"] != read_at
    stale = (await gql.data(UPDATE, site="9914", input={"name": "B"}, expected=read_at))["updateCustomerSite"]
    assert stale["__typename"] == "SiteChangedProblem"
    assert stale["currentUpdatedAt"] == changed["site"]["updatedAt"]
    assert (await gql.data('{ site(siteNumber: "9914") { name } }'))["site"]["name"] == "A"


# ---------------------------------------------------------------------------------------------- close


async def test_a_closed_site_is_not_billed_after_its_close_date_but_its_close_month_is(
    gql: GraphQLClient,
) -> None:
    closed = (await gql.data(CLOSE, site="0349", date="2025-03-15"))["closeCustomerSite"]
    assert closed["site"]["closeDate"] == "2025-03-15" and closed["site"]["isActive"] is False
    after = (await gql.data(GENERATE, site="0349", period="2025-04"))["generateStatement"]
    assert after["__typename"] == "SiteClosedProblem", after
    assert (after["code"], after["siteNumber"], after["closeDate"], after["servicePeriod"]) == (
        "SITE_CLOSED",
        "0349",
        "2025-03-15",
        "2025-04",
    )
    assert "0349" in after["message"] and "2025-03-15" in after["message"] and "2025-04" in after["message"]
    month = (await gql.data(GENERATE, site="0349", period="2025-03"))["generateStatement"]
    assert month["__typename"] == "StatementPayload", month
    bulk = (await gql.data(BULK, sites=["0349", "0338"], period="2025-04"))["generateStatements"]
    outcome = {i["siteNumber"]: i["result"] for i in bulk["items"]}
    assert outcome["0349"] == {"__typename": "SiteClosedProblem", "code": "SITE_CLOSED"}
    assert outcome["0338"]["__typename"] == "StatementPayload"
    listed = await gql.data('{ statements(filter: {servicePeriod: "2025-04"}) { totalCount } }')
    assert listed["statements"]["totalCount"] == 1  # 0338's only


async def test_previews_after_the_close_date_are_refused_or_left_out(gql: GraphQLClient) -> None:
    await gql.data(CLOSE, site="0349", date="2025-03-31")
    error = await gql.error(
        '{ site(siteNumber: "0349") { billingPreview(servicePeriod: "2025-04") { total } } }'
    )
    assert error["extensions"]["code"] == "SITE_CLOSED"
    assert error["extensions"]["closeDate"] == "2025-03-31"
    march = await gql.data(
        '{ site(siteNumber: "0349") { billingPreview(servicePeriod: "2025-03") { total } } }'
    )
    assert march["site"]["billingPreview"]["total"] is not None
    portfolio = 'query ($p: String!) { billingPreviews(servicePeriod: $p, filter: {search: "%s"}) { site { siteNumber } } }'
    name = (await gql.data('{ site(siteNumber: "0349") { name } }'))["site"]["name"]
    april = await gql.data(portfolio % name.replace('"', ""), p="2025-04")
    assert "0349" not in {r["site"]["siteNumber"] for r in april["billingPreviews"]}
    in_march = await gql.data(portfolio % name.replace('"', ""), p="2025-03")
    assert "0349" in {r["site"]["siteNumber"] for r in in_march["billingPreviews"]}


async def test_closing_twice_is_refused_and_reopening_bills_again(gql: GraphQLClient) -> None:
    await gql.data(CLOSE, site="0349", date="2025-03-15")
    again = (await gql.data(CLOSE, site="0349", date="2025-04-15"))["closeCustomerSite"]
    assert again["code"] == "TRANSITION_NOT_ALLOWED"
    reopened = (await gql.data(REOPEN, site="0349"))["reopenCustomerSite"]
    assert reopened["site"]["closeDate"] is None and reopened["site"]["isActive"] is True
    assert (await gql.data(REOPEN, site="0349"))["reopenCustomerSite"]["code"] == "TRANSITION_NOT_ALLOWED"
    after = (await gql.data(GENERATE, site="0349", period="2025-04"))["generateStatement"]
    assert after["__typename"] == "StatementPayload"


async def test_a_close_date_before_the_start_date_is_refused(gql: GraphQLClient) -> None:
    await add(gql, siteNumber="9915", location=ORLANDO, startDate="2025-02-01")
    error = await gql.error(CLOSE, site="9915", date="2025-01-31")
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", "closeDate")


# ----------------------------------------------------------------------------------------------- race


async def test_two_concurrent_adds_of_one_number_one_wins_the_other_gets_the_problem(
    committing_db: Database, engine: AsyncEngine, settings: Settings, schema: Any
) -> None:
    async def attempt(name: str) -> Any:
        ctx = await context_for(committing_db, settings, ADMIN)
        result = await schema.execute(
            ADD, variable_values={"input": new_site("9990", name=name)}, context_value=ctx
        )
        assert result.errors is None, result.errors
        return result.data["addCustomerSite"]

    try:
        outcomes = await asyncio.gather(attempt("Racer A"), attempt("Racer B"))
        kinds = sorted(o["__typename"] for o in outcomes)
        assert kinds == ["CustomerSitePayload", "SiteNumberInUseProblem"], outcomes
        refused = next(o for o in outcomes if o["__typename"] == "SiteNumberInUseProblem")
        assert refused["siteNumber"] == "9990"
        async with engine.connect() as conn:
            count = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM customer_site s JOIN contract c ON c.site_id = s.id"
                        " WHERE s.site_number = '9990'"
                    )
                )
            ).scalar_one()
        assert count == 1
    finally:
        async with engine.begin() as conn:
            # the contract and the assignment rows go with the site (ON DELETE CASCADE)
            await conn.execute(text("DELETE FROM customer_site WHERE site_number = '9990'"))
