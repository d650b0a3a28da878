"""Billing contacts of a site (issue 12 §2; domain.md §1.2, §4.4): who invoices are addressed and e-mailed to.

Set by a billing administrator through `updateCustomerSite`; shown to billing roles only, in the resolver
path and the compiled one; the database refuses what the API would (migration 0017), for direct writers.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.database import Database
from db.repositories.users import Grants, upsert_user
from importer.contacts import DEMO_RECIPIENT, give_demo_contacts
from tests.conftest import GraphQLClient

UPDATE = """
mutation ($input: UpdateCustomerSiteInput!) {
  updateCustomerSite(siteNumber: "0349", input: $input) {
    __typename
    ... on Problem { code message }
    ... on CustomerSitePayload { site { invoiceRecipient billingContactEmails } }
  }
}
"""
READ = '{ site(siteNumber: "0349") { siteNumber invoiceRecipient billingContactEmails } }'
# a list read goes through the compiled path (one SQL statement), which masks the columns itself
LIST = '{ sites(first: 500, filter: { state: "FL" }) { edges { node { siteNumber invoiceRecipient billingContactEmails } } } }'


async def listed_0349(gql: GraphQLClient) -> dict[str, Any]:
    edges = (await gql.data(LIST))["sites"]["edges"]
    (node,) = [e["node"] for e in edges if e["node"]["siteNumber"] == "0349"]
    return {k: v for k, v in node.items() if k != "siteNumber"}


async def update(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(UPDATE, input=fields))["updateCustomerSite"]
    return payload


async def test_an_administrator_sets_normalised_contacts_and_billing_roles_read_them(
    gql: GraphQLClient,
) -> None:
    done = await update(
        gql,
        invoiceRecipient="  Accounts Payable ",
        billingContactEmails=["ap@Hotel-Orlando.COM", "cfo@hotel.org"],
    )
    assert done == {
        "__typename": "CustomerSitePayload",
        "site": {
            "invoiceRecipient": "Accounts Payable",
            "billingContactEmails": ["ap@hotel-orlando.com", "cfo@hotel.org"],
        },
    }
    for subject in ("test-admin", "test-billing-manager"):
        seen = (await gql.as_(subject).data(READ))["site"]
        assert seen["billingContactEmails"] == ["ap@hotel-orlando.com", "cfo@hotel.org"]
        assert seen["invoiceRecipient"] == "Accounts Payable"
        assert await listed_0349(gql.as_(subject)) == {
            "invoiceRecipient": "Accounts Payable",
            "billingContactEmails": ["ap@hotel-orlando.com", "cfo@hotel.org"],
        }
    # null clears both (the addresses to none: the column is NOT NULL)
    cleared = await update(gql, invoiceRecipient=None, billingContactEmails=None)
    assert cleared["site"] == {"invoiceRecipient": None, "billingContactEmails": []}


async def test_roles_without_a_billing_need_read_null(gql: GraphQLClient, db: Database) -> None:
    await update(gql, invoiceRecipient="AP", billingContactEmails=["ap@hotel.com"])
    async with db.transaction() as session:
        await upsert_user(
            session,
            subject="am-0349",
            grants=Grants(roles=("accountManager",), site_numbers=("0349",)),
            granted_by="tests",
        )
    for subject in ("am-0349", "test-reporting"):
        assert (await gql.as_(subject).data(READ))["site"] == {
            "siteNumber": "0349",
            "invoiceRecipient": None,
            "billingContactEmails": None,
        }
        assert await listed_0349(gql.as_(subject)) == {"invoiceRecipient": None, "billingContactEmails": None}


@pytest.mark.parametrize(
    ("emails", "says"),
    [
        (
            ["not-an-address"],
            "input.billingContactEmails[0]: 'not-an-address' is not an e-mail address (An email address must have an @-sign.)",
        ),
        (["ap@hotel.com", "AP@HOTEL.COM"], "input.billingContactEmails[1]: AP@hotel.com is given twice"),
        (["a@b.com", "x y@hotel.com"], "input.billingContactEmails[1]"),
        ([f"u{i}@hotel.com" for i in range(11)], "at most 10 addresses, got 11"),
    ],
)
async def test_bad_addresses_are_refused_naming_the_entry_and_nothing_is_written(
    gql: GraphQLClient, db: Database, emails: list[str], says: str
) -> None:
    result = await gql.execute(UPDATE, input={"billingContactEmails": emails, "invoiceRecipient": "AP"})
    if result.errors:
        error = result.errors[0].formatted
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and says in error["message"]
    else:
        problem = result.data["updateCustomerSite"]
        assert problem["code"] == "BAD_USER_INPUT" and says in problem["message"], problem
    async with db.read() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT invoice_recipient, billing_contact_emails FROM customer_site WHERE site_number = '0349'"
                )
            )
        ).one()
    assert tuple(stored) == (None, [])


@pytest.mark.parametrize(
    "value",
    [
        "ARRAY['no-at-sign']",
        "ARRAY['a@b.com', 'a@b.com']",
        "ARRAY['a@b.com; c@d.com']",
        "ARRAY[NULL]::text[]",
    ],
)
async def test_the_database_refuses_what_the_api_would(db: Database, value: str) -> None:
    """Direct writers (psql, QGIS users with grants) meet the CHECK of migration 0017."""
    with pytest.raises(DBAPIError, match="ck_customer_site_billing_contact_emails_valid"):
        async with db.transaction() as session:
            await session.execute(
                text(f"UPDATE customer_site SET billing_contact_emails = {value} WHERE site_number = '0349'")
            )


async def test_demo_contacts_are_synthetic_deterministic_and_keep_real_ones(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE customer_site SET invoice_recipient = 'Real AP', billing_contact_emails = ARRAY['real@hotel.com']"
                " WHERE site_number = '0349'"
            )
        )
        given = await give_demo_contacts(session)
        total = (await session.execute(text("SELECT count(*) FROM customer_site"))).scalar_one()
        rows: dict[str, str] = dict(
            (
                await session.execute(
                    text(
                        "SELECT site_number, (invoice_recipient, billing_contact_emails)::text FROM customer_site"
                        " WHERE site_number IN ('0349', '0338')"
                    )
                )
            ).all()
        )
        again = await give_demo_contacts(session)
    assert given == total - 1 and again == 0
    assert rows["0349"] == '("Real AP",{real@hotel.com})'
    assert rows["0338"] == f'("{DEMO_RECIPIENT}",{{ap-0338@example.com}})'
