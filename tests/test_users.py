"""User administration (issue 7 §1): `me`, `users`, `saveUser`, `activateUser`, `deactivateUser`, the
role checks, the row-level security of app_user and the refusal of a deactivated user's token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.database import Database
from server.app import create_app
from server.settings import Settings
from tests.conftest import ADMIN, GraphQLClient, bearer, context_for

USER_FIELDS = "subject email displayName active roles siteNumbers territories"
SAVE = f"""
mutation ($input: UserInput!) {{
  saveUser(input: $input) {{
    __typename
    ... on UserPayload {{ user {{ {USER_FIELDS} }} }}
    ... on Problem {{ code message }}
  }}
}}"""
DEACTIVATE = f"""
mutation ($s: String!) {{
  deactivateUser(subject: $s) {{
    __typename ... on UserPayload {{ user {{ {USER_FIELDS} }} }} ... on Problem {{ code message }}
  }}
}}"""
ACTIVATE = DEACTIVATE.replace("deactivateUser", "activateUser")
ME = f"{{ me {{ {USER_FIELDS} }} }}"
USERS = f"{{ users {{ {USER_FIELDS} }} }}"
TERRITORY = "districts:san-antonio"


async def _two_sites(db: Database) -> list[str]:
    async with db.read() as session:
        rows = await session.execute(
            text("SELECT site_number FROM customer_site ORDER BY site_number LIMIT 2")
        )
        return [r[0] for r in rows]


async def test_save_replace_deactivate_activate(gql: GraphQLClient, db: Database) -> None:
    first, second = await _two_sites(db)
    saved = await gql.data(
        SAVE,
        input={
            "subject": "new-am",
            "email": "am@example.com",
            "displayName": "An Account Manager",
            "roles": ["ACCOUNT_MANAGER", "DISTRICT_MANAGER"],
            "siteNumbers": [first],
            "territories": [TERRITORY],
        },
    )
    user = saved["saveUser"]["user"]
    assert user == {
        "subject": "new-am",
        "email": "am@example.com",
        "displayName": "An Account Manager",
        "active": True,
        "roles": ["ACCOUNT_MANAGER", "DISTRICT_MANAGER"],
        "siteNumbers": [first],
        "territories": [TERRITORY],
    }
    # saving again replaces every grant; email and name are kept when not given
    replaced = await gql.data(
        SAVE, input={"subject": "new-am", "roles": ["REPORTING_READER"], "siteNumbers": [second]}
    )
    user = replaced["saveUser"]["user"]
    assert (
        user["roles"] == ["REPORTING_READER"]
        and user["siteNumbers"] == [second]
        and user["territories"] == []
    )
    assert user["email"] == "am@example.com"
    async with db.read() as session:
        granted_by = (
            (
                await session.execute(
                    text(
                        "SELECT DISTINCT r.granted_by FROM app_user_role r JOIN app_user u ON u.id = r.user_id "
                        "WHERE u.subject = 'new-am'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert granted_by == [ADMIN]

    off = await gql.data(DEACTIVATE, s="new-am")
    assert off["deactivateUser"]["user"]["active"] is False
    listed = {u["subject"]: u for u in (await gql.data(USERS))["users"]}
    assert listed["new-am"]["active"] is False and ADMIN in listed
    on = await gql.data(ACTIVATE, s="new-am")
    assert on["activateUser"]["user"]["active"] is True


async def test_unknown_grants_name_the_item(gql: GraphQLClient, db: Database) -> None:
    first, _ = await _two_sites(db)
    error = await gql.error(SAVE, input={"subject": "x-user", "roles": [], "siteNumbers": [first, "9999"]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "input.siteNumbers[1]"
    error = await gql.error(
        SAVE, input={"subject": "x-user", "roles": [], "territories": [TERRITORY, "districts:nowhere"]}
    )
    assert error["extensions"]["argument"] == "input.territories[1]"
    error = await gql.error(SAVE, input={"subject": "x-user", "roles": [], "territories": ["no-colon"]})
    assert error["extensions"]["argument"] == "input.territories[0]"
    error = await gql.error(SAVE, input={"subject": "has space", "roles": []})
    assert error["extensions"]["argument"] == "input.subject"
    async with db.read() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM app_user WHERE subject = 'x-user'"))
        ).scalar() == 0


async def test_not_found_and_self_lockout(gql: GraphQLClient) -> None:
    missing = await gql.data(DEACTIVATE, s="nobody-at-all")
    assert missing["deactivateUser"]["code"] == "NOT_FOUND"
    missing = await gql.data(ACTIVATE, s="nobody-at-all")
    assert missing["activateUser"]["code"] == "NOT_FOUND"
    self_off = await gql.data(DEACTIVATE, s=ADMIN)
    assert self_off["deactivateUser"]["__typename"] == "SelfLockoutProblem"
    demoted = await gql.data(SAVE, input={"subject": ADMIN, "roles": ["BILLING_MANAGER"]})
    assert demoted["saveUser"]["code"] == "SELF_LOCKOUT"
    me = (await gql.data(ME))["me"]
    assert me["active"] is True and me["roles"] == ["BILLING_ADMIN"]
    # keeping the role while changing the rest is fine
    kept = await gql.data(SAVE, input={"subject": ADMIN, "roles": ["BILLING_ADMIN", "GIS_EDITOR"]})
    assert kept["saveUser"]["user"]["roles"] == ["BILLING_ADMIN", "GIS_EDITOR"]


async def test_non_admins_are_forbidden_and_write_nothing(gql: GraphQLClient, db: Database) -> None:
    manager = gql.as_("test-billing-manager")
    for query, variables in (
        (SAVE, {"input": {"subject": "sneaky", "roles": ["BILLING_ADMIN"]}}),
        (SAVE, {"input": {"subject": "test-billing-manager", "roles": ["BILLING_ADMIN"]}}),
        (DEACTIVATE, {"s": ADMIN}),
        (ACTIVATE, {"s": "test-nobody"}),
        (USERS, {}),
    ):
        error = await manager.error(query, **variables)
        assert error["extensions"]["code"] == "FORBIDDEN", error
    async with db.read() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM app_user WHERE subject = 'sneaky'"))
        ).scalar() == 0
    me = (await manager.data(ME))["me"]
    assert me["roles"] == ["BILLING_MANAGER"]


async def test_me_for_several_roles(gql: GraphQLClient) -> None:
    expected = {
        ADMIN: ["BILLING_ADMIN"],
        "test-billing-manager": ["BILLING_MANAGER"],
        "test-reporting": ["REPORTING_READER"],
        "test-gis": ["GIS_EDITOR"],
        "test-nobody": [],
    }
    for subject, roles in expected.items():
        me = (await gql.as_(subject).data(ME))["me"]
        assert me["subject"] == subject and me["roles"] == roles and me["active"] is True


async def test_a_non_admin_reads_only_its_own_row_in_sql(db: Database, settings: Settings) -> None:
    ctx = await context_for(db, settings, "test-billing-manager")
    async with ctx.db.read() as session:
        subjects = (await session.execute(text("SELECT subject FROM app_user"))).scalars().all()
        roles = (await session.execute(text("SELECT DISTINCT user_id FROM app_user_role"))).scalars().all()
    assert subjects == ["test-billing-manager"]
    assert roles == [ctx.caller.user_id]
    admin = await context_for(db, settings, ADMIN)
    async with admin.db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM app_user"))).scalar_one() >= 5


async def test_a_deactivated_users_token_is_refused(db: Database, settings: Settings) -> None:
    app = create_app(settings, db=db)
    transport = httpx.ASGITransport(app=app)
    ctx = await context_for(db, settings)
    from resolvers import users as service

    await service.save_user(ctx, service.UserRequest(subject="short-lived", roles=("reportingReader",)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ok = await client.post(
            "/graphql", json={"query": "{ me { subject } }"}, headers=bearer(settings, "short-lived")
        )
        assert ok.status_code == 200 and ok.json()["data"]["me"]["subject"] == "short-lived"
        off = await client.post(
            "/graphql",
            json={"query": DEACTIVATE, "variables": {"s": "short-lived"}},
            headers=bearer(settings),
        )
        assert off.json()["data"]["deactivateUser"]["user"]["active"] is False
        refused = await client.post(
            "/graphql", json={"query": "{ me { subject } }"}, headers=bearer(settings, "short-lived")
        )
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_concurrent_saves_of_one_user_serialise(
    committing_db: Database, engine: AsyncEngine, settings: Settings, schema: Any
) -> None:
    async with committing_db.read() as session:
        sites = (
            (
                await session.execute(
                    text("SELECT site_number FROM customer_site ORDER BY site_number LIMIT 6")
                )
            )
            .scalars()
            .all()
        )
    requests = [
        {"subject": "race-user", "roles": ["ACCOUNT_MANAGER"], "siteNumbers": list(sites[:3])},
        {
            "subject": "race-user",
            "roles": ["REPORTING_READER", "GIS_EDITOR"],
            "siteNumbers": list(sites[3:]),
            "territories": [TERRITORY],
        },
    ]
    try:
        for _ in range(3):
            contexts = [await context_for(committing_db, settings) for _ in requests]
            results = await asyncio.gather(
                *(
                    schema.execute(SAVE, variable_values={"input": r}, context_value=c)
                    for r, c in zip(requests, contexts, strict=True)
                )
            )
            assert all(r.errors is None for r in results), [r.errors for r in results]
            for c in contexts:
                await c.db.close()  # type: ignore[attr-defined]
            check = await context_for(committing_db, settings)
            from resolvers import users as service

            view = await service.by_subject(check, "race-user")
            await check.db.close()  # type: ignore[attr-defined]
            assert view is not None
            got = (set(view.roles), set(view.site_numbers), set(view.territories))
            wanted = [
                ({"accountManager"}, set(sites[:3]), set()),
                ({"reportingReader", "gisEditor"}, set(sites[3:]), {TERRITORY}),
            ]
            assert got in wanted, got
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM app_user WHERE subject = 'race-user'"))
