"""As-of answers over the real imported data: territory versions and site assignments (domain.md §4.3).

The record begins with the import: territories it loads are in force since '-infinity'; a territory a GIS
user edits gets a new version at the edit's instant (the same instant its sites are reassigned at), and one
created later has no version before its insert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from db.database import Database
from tests.conftest import GraphQLClient, at_commit

MARCH = "2025-03-15T00:00:00Z"

TERRITORY_AS_OF = """
query ($layer: String!, $code: String!, $asOf: DateTime) {
  territory(layer: $layer, code: $code, asOf: $asOf) { id code name version areaKm2 geometry }
}
"""

# A QGIS-style edit: a plain UPDATE of the geometry, as a GIS user's client sends it.
MOVE_ORLANDO = (
    "UPDATE territory SET geom = ST_Multi(ST_MakeEnvelope(-88, 24, -87, 25, 4326)) WHERE code = 'orlando'"
)


async def _versions(db: Database, code: str) -> list[tuple[Any, ...]]:
    """(version, code, name, valid_from finite?, valid_from, valid_to) of one territory, oldest first."""
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT v.version, v.code, v.name, isfinite(v.valid_from),"
                " CASE WHEN isfinite(v.valid_from) THEN v.valid_from END, v.valid_to"
                " FROM territory_version v JOIN territory t ON t.id = v.territory_id"
                " WHERE t.code = :code ORDER BY v.version"
            ),
            {"code": code},
        )
        return [tuple(row) for row in rows.all()]


async def _territory(gql: GraphQLClient, code: str, as_of: str | None, layer: str = "districts") -> Any:
    return (await gql.data(TERRITORY_AS_OF, layer=layer, code=code, asOf=as_of))["territory"]


async def test_imported_territories_are_in_force_since_the_beginning(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE v.valid_from = '-infinity' AND v.valid_to IS NULL"
                    " AND v.version = t.version AND v.code = t.code AND v.name = t.name AND v.geom = t.geom)"
                    " FROM territory t JOIN territory_version v ON v.territory_id = t.id"
                )
            )
        ).one()
    assert tuple(rows) == (44, 44)  # one version per territory, the current one, from '-infinity'


async def test_territory_as_of_before_the_import_is_the_imported_version(gql: GraphQLClient) -> None:
    now = await _territory(gql, "orlando", None)
    march = await _territory(gql, "orlando", MARCH)
    assert march["name"] == "Orlando" and march["version"] == 1
    assert march == now  # nothing changed since: same code, name, version, area and geometry
    assert await _territory(gql, "orlando", "1900-01-01T00:00:00+05:00") == now


async def test_a_qgis_geometry_edit_records_version_2_closing_version_1_at_its_instant(
    db: Database, gql: GraphQLClient
) -> None:
    before = await _territory(gql, "orlando", None)
    async with db.transaction() as session:
        await session.execute(text(MOVE_ORLANDO))
        await at_commit(session)
        closed_at = (
            await session.execute(
                text(
                    "SELECT DISTINCT a.valid_to FROM site_territory_assignment a"
                    " JOIN territory t ON t.id = a.territory_id"
                    " WHERE t.code = 'orlando' AND a.valid_to IS NOT NULL"
                )
            )
        ).scalar_one()  # the edit reassigned Orlando's sites (all outside the new box) at one instant
    versions = await _versions(db, "orlando")
    assert [v[:4] for v in versions] == [(1, "orlando", "Orlando", False), (2, "orlando", "Orlando", True)]
    edited_at = versions[1][4]
    assert versions[0][5] == edited_at and versions[1][5] is None
    assert closed_at == edited_at  # territory history and assignment history change at the same instant

    just_before = (edited_at - dt.timedelta(microseconds=1)).isoformat()
    old = await _territory(gql, "orlando", just_before)
    new = await _territory(gql, "orlando", edited_at.isoformat())
    assert (
        old["version"] == 1 and old["geometry"] == before["geometry"] and old["areaKm2"] == before["areaKm2"]
    )
    assert (await _territory(gql, "orlando", MARCH))["geometry"] == before["geometry"]
    assert new["version"] == 2
    assert new["geometry"] == {
        "type": "MultiPolygon",
        "coordinates": [[[[-88, 24], [-88, 25], [-87, 25], [-87, 24], [-88, 24]]]],
    }
    assert new == await _territory(gql, "orlando", None)


async def test_renaming_a_territory_is_a_version_and_its_old_code_answers_as_of_then(
    db: Database, gql: GraphQLClient
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE territory SET code = 'orlando-metro', name = 'Orlando Metro' WHERE code = 'orlando'")
        )
        await at_commit(session)
        reassigned = (
            await session.execute(
                text("SELECT count(*) FROM site_territory_assignment WHERE valid_to IS NOT NULL")
            )
        ).scalar_one()
    assert reassigned == 0  # a rename moves no site
    renamed_at = (await _versions(db, "orlando-metro"))[1][4]
    past = await _territory(gql, "orlando", (renamed_at - dt.timedelta(microseconds=1)).isoformat())
    assert (past["code"], past["name"], past["version"]) == ("orlando", "Orlando", 1)
    assert await _territory(gql, "orlando", None) is None  # no territory has that code now
    assert await _territory(gql, "orlando", renamed_at.isoformat()) is None
    now = await _territory(gql, "orlando-metro", None)
    assert (now["id"], now["name"], now["version"]) == (past["id"], "Orlando Metro", 2)
    assert await _territory(gql, "orlando-metro", MARCH) is None  # it was called orlando then


async def test_a_territory_created_later_has_no_version_before_its_insert(
    db: Database, gql: GraphQLClient
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO territory (layer_id, code, name, geom) SELECT id, 'gulf', 'Gulf',"
                " ST_Multi(ST_MakeEnvelope(-90, 25, -89, 26, 4326)) FROM territory_layer WHERE code = 'districts'"
            )
        )
        await at_commit(session)
    [(version, _, _, finite, created_at, valid_to)] = await _versions(db, "gulf")
    assert (version, finite, valid_to) == (1, True, None)
    assert await _territory(gql, "gulf", (created_at - dt.timedelta(microseconds=1)).isoformat()) is None
    assert await _territory(gql, "gulf", MARCH) is None
    assert (await _territory(gql, "gulf", created_at.isoformat()))["name"] == "Gulf"


async def test_territory_as_of_without_a_time_zone_is_bad_user_input(gql: GraphQLClient) -> None:
    error = await gql.error(
        '{ territory(layer: "districts", code: "orlando", asOf: "2025-03-15T00:00:00") { name } }'
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "asOf"}
    assert "time zone" in error["message"]


README_EXAMPLE = """
{ site(siteNumber: "0349") {
    lastMarch: territory(layer: "districts", asOf: "2025-03-15T00:00:00Z") {
      method validFrom validTo territory { code name } } } }
"""


async def test_the_readme_example_answers_orlando_for_last_march(gql: GraphQLClient) -> None:
    last_march = (await gql.data(README_EXAMPLE))["site"]["lastMarch"]
    assert last_march == {
        "method": "INITIAL",
        "validFrom": None,  # since the beginning of the record: no datetime.min, no error
        "validTo": None,
        "territory": {"code": "orlando", "name": "Orlando"},
    }


SITE_AND_TERRITORY_AS_OF = """
query ($asOf: DateTime!) {
  site(siteNumber: "0349") {
    territory(layer: "districts", asOf: $asOf) { territory { id code name version areaKm2 geometry } }
  }
  orlando: territory(layer: "districts", code: "orlando", asOf: $asOf) { id code name version areaKm2 geometry }
}
"""


async def _site_and_orlando(gql: GraphQLClient, as_of: dt.datetime) -> tuple[Any, Any]:
    data = await gql.data(SITE_AND_TERRITORY_AS_OF, asOf=as_of.isoformat())
    assignment = data["site"]["territory"]
    return (assignment["territory"] if assignment else None), data["orlando"]


async def test_site_territory_and_territory_agree_as_of_any_instant(db: Database, gql: GraphQLClient) -> None:
    # Orlando's geometry moves away from site 0349 (version 2); the way back, a version 3 in a transaction of
    # its own, is in tests/test_territory_database.py (this fixture is one transaction, one version).
    async with db.transaction() as session:
        await session.execute(text(MOVE_ORLANDO))
        await at_commit(session)
    versions = await _versions(db, "orlando")
    assert [v[0] for v in versions] == [1, 2]
    moved = versions[1][4]
    micro = dt.timedelta(microseconds=1)
    instants = [
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 15, tzinfo=dt.UTC),
        moved - micro,
        moved,
        moved + micro,
        dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
    ]
    seen = []
    for instant in instants:
        site_territory, orlando = await _site_and_orlando(gql, instant)
        if site_territory is not None:  # the site is in Orlando: both answer the same version
            assert site_territory == orlando, instant
        seen.append((site_territory or {}).get("version"))
    # in Orlando (version 1) until the move, unassigned since
    assert seen == [1, 1, 1, None, None, None]
