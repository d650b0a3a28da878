"""Territory editing through GraphQL (issue 9 §1): validated, versioned, concurrency-safe, sites reassigned.

The tests draw a partition layer `grid` of two rectangles west and east of -81.45° around Orlando, covering
real sites (geocoded by ZIP, so in clusters: 0349 and 14 others at -81.569, 0249 and 0343 among 13 sites
between -81.50 and -81.45, 0237 and 0238 in the east); the expected sets are computed in SQL by location. Everything runs against the real
database (migration 0009's triggers and functions), as the GIS editor `test-gis` unless said otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.database import Database
from tests.conftest import GraphQLClient, context_for

GIS = "test-gis"
WEST = [[-81.60, 28.20], [-81.45, 28.20], [-81.45, 28.50], [-81.60, 28.50], [-81.60, 28.20]]
EAST = [[-81.45, 28.20], [-81.30, 28.20], [-81.30, 28.50], [-81.45, 28.50], [-81.45, 28.20]]


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def box(west: float, south: float, east: float, north: float) -> list[list[float]]:
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


PAYLOAD = """
    __typename
    ... on Problem { code message }
    ... on GeometryProblem { argument location part ring position }
    ... on OverlapProblem { neighbourCode neighbourName overlapM2 toleranceM2 }
    ... on VersionConflictProblem { currentVersion changedBy changedAt }
    ... on TerritoryEditPayload {
      dryRun sitesChanged deleted
      siteChanges { siteNumber layer fromCode toCode }
      repairs { fault reason location areaBeforeM2 areaAfterM2 partsBefore partsAfter }
      territory { code name version geometry }
      created { code version }
      retired { code }
    }
"""
CREATE_LAYER = """
mutation ($code: String!, $kind: LayerKind!) {
  createTerritoryLayer(code: $code, name: "Test grid", kind: $kind) {
    __typename ... on Problem { code message } ... on LayerPayload { layer { code kind } }
  }
}
"""
CREATE = f"""
mutation ($layer: String!, $code: String!, $geometry: GeoJSON!, $repair: Boolean! = false,
          $dryRun: Boolean! = false) {{
  createTerritory(layer: $layer, code: $code, name: $code, geometry: $geometry, repair: $repair,
                  dryRun: $dryRun) {{ {PAYLOAD} }}
}}
"""
UPDATE = f"""
mutation ($layer: String! = "grid", $code: String!, $v: Int!, $geometry: GeoJSON, $name: String,
          $repair: Boolean! = false, $dryRun: Boolean! = false) {{
  updateTerritory(layer: $layer, code: $code, expectedVersion: $v, geometry: $geometry, name: $name,
                  repair: $repair, dryRun: $dryRun) {{ {PAYLOAD} }}
}}
"""
REVERT = f"""
mutation ($code: String!, $to: Int!, $v: Int!) {{
  revertTerritory(layer: "grid", code: $code, toVersion: $to, expectedVersion: $v) {{ {PAYLOAD} }}
}}
"""
RETIRE = f"""
mutation ($code: String!, $v: Int!, $delete: Boolean! = false) {{
  retireTerritory(layer: "grid", code: $code, expectedVersion: $v, delete: $delete) {{ {PAYLOAD} }}
}}
"""
HISTORY = """
query ($code: String!, $asOf: DateTime) {
  territory(layer: "grid", code: $code, asOf: $asOf) {
    code version history { version code name geometry validFrom validTo changedBy change }
  }
}
"""


async def open_territories(db: Database, layer: str = "grid") -> dict[str, str | None]:
    """Site number → territory code of its open assignment in `layer` (read as the owner, independently)."""
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT s.site_number, t.code FROM site_territory_assignment a"
                " JOIN territory_layer l ON l.id = a.layer_id AND l.code = :layer"
                " JOIN customer_site s ON s.id = a.site_id LEFT JOIN territory t ON t.id = a.territory_id"
                " WHERE a.valid_to IS NULL"
            ),
            {"layer": layer},
        )
        return {row[0]: row[1] for row in rows.all()}


async def sites_in(db: Database, ring: list[list[float]]) -> set[str]:
    """Site numbers whose location the rectangle covers (`ST_Covers`, borders inside)."""
    (west, south), (east, north) = ring[0], ring[2]
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT site_number FROM customer_site"
                " WHERE ST_Covers(ST_MakeEnvelope(:w, :s, :e, :n, 4326), location)"
            ),
            {"w": west, "s": south, "e": east, "n": north},
        )
        return set(rows.scalars())


async def assignment_rows(db: Database) -> int:
    async with db.read() as session:
        return int(
            (await session.execute(text("SELECT count(*) FROM site_territory_assignment"))).scalar_one()
        )


@pytest.fixture
async def areas(db: Database) -> dict[str, set[str]]:
    """The sites of the west and east rectangles, and those between -81.50 and -81.45 (moved by tests)."""
    found = {
        "west": await sites_in(db, WEST),
        "east": await sites_in(db, EAST),
        "between": await sites_in(db, box(-81.50, 28.20, -81.45, 28.50)),
    }
    assert {"0349", "0249", "0343"} <= found["west"] and {"0237", "0238"} <= found["east"]
    assert {"0249", "0343"} <= found["between"] <= found["west"] and "0349" not in found["between"]
    return found


async def _make_grid(editor: GraphQLClient) -> GraphQLClient:
    made = await editor.data(CREATE_LAYER, code="grid", kind="PARTITION")
    assert made["createTerritoryLayer"]["layer"] == {"code": "grid", "kind": "PARTITION"}
    for code, ring in (("west", WEST), ("east", EAST)):
        done = (await editor.data(CREATE, layer="grid", code=code, geometry=polygon(ring)))["createTerritory"]
        assert done["__typename"] == "TerritoryEditPayload", done
        assert done["territory"]["version"] == 1
    return editor


@pytest.fixture
async def grid(gql: GraphQLClient) -> GraphQLClient:
    """The layer `grid` with `west` and `east`, inside the test's transaction; the client acts as the GIS
    editor. All its requests share that one transaction, so all their edits are one version (the database
    makes one version per transaction): tests of several versions use `committed`."""
    return await _make_grid(gql.as_(GIS))


async def _drop_layers(engine: AsyncEngine, codes: tuple[str, ...]) -> None:
    async with engine.begin() as conn:
        layers = "SELECT id FROM territory_layer WHERE code = ANY (:codes)"
        for statement in (
            f"DELETE FROM site_territory_assignment WHERE layer_id IN ({layers})",
            f"DELETE FROM territory WHERE layer_id IN ({layers})",
            "DELETE FROM territory_layer WHERE code = ANY (:codes)",
        ):
            await conn.execute(text(statement), {"codes": list(codes)})


@pytest.fixture
async def committed(
    engine: AsyncEngine, committing_db: Database, settings: Any, schema: Any
) -> AsyncIterator[GraphQLClient]:
    """`grid` with every request its own committed transaction (so each edit is a version); the layers
    the tests make are removed afterwards, with their assignment rows."""
    ctx = await context_for(committing_db, settings, GIS)
    try:
        yield await _make_grid(GraphQLClient(schema, ctx, GIS))
    finally:
        await _drop_layers(engine, ("grid", "imported", "race"))


async def test_a_new_territory_takes_the_sites_it_covers(
    grid: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    assignments = await open_territories(db)
    assert {n for n, c in assignments.items() if c == "west"} == areas["west"]
    assert {n for n, c in assignments.items() if c == "east"} == areas["east"]


async def test_moving_a_border_reassigns_exactly_the_sites_between_and_keeps_history(
    committed: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    # shrink west first (in a partition layer growing east first would overlap it)
    shrunk = await committed.data(
        UPDATE, code="west", v=1, geometry=polygon(box(-81.60, 28.20, -81.50, 28.50))
    )
    result = shrunk["updateTerritory"]
    assert result["territory"]["version"] == 2 and result["dryRun"] is False
    moved = {c["siteNumber"]: (c["fromCode"], c["toCode"]) for c in result["siteChanges"]}
    assert moved == dict.fromkeys(areas["between"], ("west", None))
    assert result["sitesChanged"] == len(areas["between"])
    grown = await committed.data(
        UPDATE, code="east", v=1, geometry=polygon(box(-81.50, 28.20, -81.30, 28.50))
    )
    moved = {c["siteNumber"]: (c["fromCode"], c["toCode"]) for c in grown["updateTerritory"]["siteChanges"]}
    assert moved == dict.fromkeys(areas["between"], (None, "east"))
    assignments = await open_territories(db)
    assert {n for n, c in assignments.items() if c == "east"} == areas["east"] | areas["between"]

    history = (await committed.data(HISTORY, code="west"))["territory"]["history"]
    assert [(h["version"], h["change"], h["changedBy"]) for h in history] == [
        (1, "create", GIS),
        (2, "update", GIS),
    ]
    assert history[0]["validTo"] == history[1]["validFrom"] is not None and history[1]["validTo"] is None
    # version 1 kept its geometry: its exterior still reaches -81.45
    assert max(x for x, _ in history[0]["geometry"]["coordinates"][0][0]) == -81.45
    assert max(x for x, _ in history[1]["geometry"]["coordinates"][0][0]) == -81.50
    # as of version 1's time, the territory and a site's assignment answer the old version
    as_of = history[0]["validFrom"]
    then = (await committed.data(HISTORY, code="west", asOf=as_of))["territory"]
    assert then["version"] == 1
    site = await committed.data(
        'query ($at: DateTime) { site(siteNumber: "0249") { territory(layer: "grid", asOf: $at) '
        '{ territory { code version } } now: territory(layer: "grid") { territory { code version } } } }',
        at=as_of,
    )
    assert site["site"]["territory"]["territory"] == {"code": "west", "version": 1}
    assert site["site"]["now"]["territory"] == {"code": "east", "version": 2}


async def test_a_dry_run_reports_the_moves_and_writes_nothing(
    grid: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    before_rows, before = await assignment_rows(db), await open_territories(db)
    dry = (
        await grid.data(
            UPDATE, code="west", v=1, geometry=polygon(box(-81.60, 28.20, -81.50, 28.50)), dryRun=True
        )
    )["updateTerritory"]
    assert dry["dryRun"] is True and dry["sitesChanged"] == len(areas["between"])
    assert {c["siteNumber"] for c in dry["siteChanges"]} == areas["between"]
    assert dry["territory"]["version"] == 1  # as it still is
    assert await assignment_rows(db) == before_rows and await open_territories(db) == before
    history = (await grid.data(HISTORY, code="west"))["territory"]["history"]
    assert [h["version"] for h in history] == [1]
    # and the version is still 1: a real edit on it succeeds
    real = await grid.data(UPDATE, code="west", v=1, name="West (renamed)")
    assert real["updateTerritory"]["territory"]["name"] == "West (renamed)"


BOWTIE = [[-81.60, 28.20], [-81.50, 28.30], [-81.50, 28.20], [-81.60, 28.30], [-81.60, 28.20]]


@pytest.mark.parametrize(
    ("geometry", "code", "said"),
    [
        (polygon(BOWTIE), "SELF_INTERSECTION", "[-81.550000, 28.250000]"),
        (polygon(WEST[:-1]), "RING_NOT_CLOSED", "is not closed"),
        (polygon([WEST[0], WEST[1], WEST[0]]), "TOO_FEW_POINTS", "has 3 position(s)"),
        (polygon([WEST[0], [200.0, 28.2], WEST[2], WEST[0]]), "COORDINATE_OUT_OF_RANGE", "longitude 200.0"),
        (
            {**polygon(WEST), "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
            "UNSUPPORTED_CRS",
            "EPSG:3857",
        ),
        ({"type": "Point", "coordinates": [-81.5, 28.3]}, "WRONG_TYPE", "got a Point"),
        ('{"type": "Polygon", "coordinates": [[[-81.6, 28.2]', "NOT_PARSEABLE", "not JSON"),
        (
            polygon(WEST) | {"coordinates": [WEST, box(-81.0, 28.0, -80.9, 28.1)]},
            "INVALID_GEOMETRY",
            "Hole lies outside shell",
        ),
    ],
)
async def test_each_refusal_is_a_geometry_problem_and_nothing_changes(
    grid: GraphQLClient, db: Database, geometry: Any, code: str, said: str
) -> None:
    before = await open_territories(db)
    result = (await grid.data(UPDATE, code="west", v=1, geometry=geometry))["updateTerritory"]
    assert result["__typename"] == "GeometryProblem"
    assert result["code"] == code and said in result["message"], result
    assert result["argument"] == "geometry"
    if code == "SELF_INTERSECTION":
        assert result["location"] == pytest.approx([-81.55, 28.25])
    if code == "COORDINATE_OUT_OF_RANGE":
        assert (result["ring"], result["position"]) == (0, 1)
    assert await open_territories(db) == before
    assert (await grid.data(HISTORY, code="west"))["territory"]["version"] == 1


async def test_a_bowtie_is_repaired_on_request_and_the_repair_reported(grid: GraphQLClient) -> None:
    result = (await grid.data(UPDATE, code="west", v=1, geometry=polygon(BOWTIE), repair=True))[
        "updateTerritory"
    ]
    assert result["__typename"] == "TerritoryEditPayload", result
    (repair,) = result["repairs"]
    assert repair["fault"] == "SELF_INTERSECTION" and repair["location"] == pytest.approx([-81.55, 28.25])
    assert (repair["partsBefore"], repair["partsAfter"]) == (1, 2)
    assert repair["areaBeforeM2"] < 1e6 < repair["areaAfterM2"]
    assert result["territory"]["geometry"]["type"] == "MultiPolygon"
    assert len(result["territory"]["geometry"]["coordinates"]) == 2


async def test_an_overlap_in_a_partition_layer_names_the_neighbour_and_the_area(grid: GraphQLClient) -> None:
    result = (await grid.data(UPDATE, code="east", v=1, geometry=polygon(box(-81.50, 28.20, -81.30, 28.50))))[
        "updateTerritory"
    ]
    assert result["__typename"] == "OverlapProblem", result
    assert result["code"] == "OVERLAP"
    assert (result["neighbourCode"], result["neighbourName"]) == ("west", "west")
    # 0.05° × 0.3° at 28.35° N: about 4.9 km × 33.2 km
    assert result["overlapM2"] == pytest.approx(163_000_000, rel=0.02)
    assert result["toleranceM2"] == 10_000
    assert "west" in result["message"] and "m²" in result["message"]


async def test_an_overlap_within_the_tolerance_is_accepted(grid: GraphQLClient) -> None:
    # 0.000002° (≈ 0.2 m) over the border along 33 km: about 6,500 m², under the 10,000 m² of slivers
    result = (
        await grid.data(UPDATE, code="east", v=1, geometry=polygon(box(-81.450002, 28.20, -81.30, 28.50)))
    )["updateTerritory"]
    assert result["__typename"] == "TerritoryEditPayload", result


async def test_an_overlay_layer_accepts_overlaps(gql: GraphQLClient) -> None:
    editor = gql.as_(GIS)
    await editor.data(CREATE_LAYER, code="overlay-test", kind="OVERLAY")
    for code in ("a", "b"):
        done = await editor.data(CREATE, layer="overlay-test", code=code, geometry=polygon(WEST))
        assert done["createTerritory"]["__typename"] == "TerritoryEditPayload"


async def test_a_stale_version_is_a_conflict_naming_who_changed_it(committed: GraphQLClient) -> None:
    await committed.data(UPDATE, code="west", v=1, name="West 2")
    stale = (await committed.data(UPDATE, code="west", v=1, name="West 3"))["updateTerritory"]
    assert stale["__typename"] == "VersionConflictProblem"
    assert (stale["code"], stale["currentVersion"], stale["changedBy"]) == ("VERSION_CONFLICT", 2, GIS)
    assert stale["changedAt"] is not None
    assert (await committed.data(HISTORY, code="west"))["territory"]["history"][-1]["name"] == "West 2"


async def test_revert_is_a_new_version_with_the_old_geometry(
    committed: GraphQLClient, areas: dict[str, set[str]]
) -> None:
    await committed.data(
        UPDATE, code="west", v=1, geometry=polygon(box(-81.60, 28.20, -81.50, 28.50)), name="W"
    )
    reverted = (await committed.data(REVERT, code="west", to=1, v=2))["revertTerritory"]
    assert reverted["territory"]["version"] == 3 and reverted["territory"]["name"] == "west"
    assert {c["siteNumber"] for c in reverted["siteChanges"]} == areas["between"]
    history = (await committed.data(HISTORY, code="west"))["territory"]["history"]
    assert [h["version"] for h in history] == [1, 2, 3]
    assert history[2]["geometry"] == history[0]["geometry"]
    missing = (await committed.data(REVERT, code="west", to=9, v=3))["revertTerritory"]
    assert missing["code"] == "NOT_FOUND" and "no version 9" in missing["message"]


async def test_retire_keeps_history_frees_the_sites_and_revert_restores(
    committed: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    retired = (await committed.data(RETIRE, code="west", v=1))["retireTerritory"]
    assert retired["__typename"] == "TerritoryEditPayload", retired
    assert [r["code"] for r in retired["retired"]] == ["west"]
    assert {c["siteNumber"]: c["toCode"] for c in retired["siteChanges"]} == dict.fromkeys(areas["west"])
    history = (await committed.data(HISTORY, code="west"))["territory"]["history"]
    assert len(history) == 1 and history[0]["validTo"] is not None
    listed = await committed.data(
        '{ territoryLayer(code: "grid") { territories { code } }'
        ' west: territory(layer: "grid", code: "west") { retiredAt siteCount } }'
    )
    assert listed["territoryLayer"]["territories"] == [{"code": "east"}]  # a retired one is not listed
    assert listed["west"]["retiredAt"] is not None and listed["west"]["siteCount"] == 0
    again = (await committed.data(UPDATE, code="west", v=2, name="x"))["updateTerritory"]
    assert again["code"] == "TERRITORY_RETIRED"
    # a territory with assignment history is never deleted
    refused = (await committed.data(RETIRE, code="west", v=2, delete=True))["retireTerritory"]
    assert refused["code"] == "TERRITORY_HAS_HISTORY"
    restored = (await committed.data(REVERT, code="west", to=1, v=2))["revertTerritory"]
    assert restored["territory"]["version"] == 3
    assert {c["siteNumber"] for c in restored["siteChanges"]} == areas["west"]


@pytest.mark.parametrize("code", ["sites", "states"])
async def test_the_gis_routes_layer_codes_are_reserved(gql: GraphQLClient, code: str) -> None:
    error = await gql.as_(GIS).error(CREATE_LAYER, code=code, kind="OVERLAY")
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "reserved" in error["message"]


async def test_a_territory_that_never_had_a_site_can_be_deleted(grid: GraphQLClient, db: Database) -> None:
    ocean = polygon(box(-60.0, 30.0, -59.0, 31.0))
    await grid.data(CREATE, layer="grid", code="atlantic", geometry=ocean)
    deleted = (await grid.data(RETIRE, code="atlantic", v=1, delete=True))["retireTerritory"]
    assert deleted["deleted"] is True and deleted["territory"] is None
    async with db.read() as session:
        left = await session.execute(text("SELECT count(*) FROM territory WHERE code = 'atlantic'"))
        assert left.scalar() == 0


MERGE = f"""
mutation ($v1: Int!, $v2: Int!) {{
  mergeTerritories(layer: "grid", into: "west", name: "West and East",
                   territories: [{{code: "west", expectedVersion: $v1}}, {{code: "east", expectedVersion: $v2}}])
  {{ {PAYLOAD} }}
}}
"""
SPLIT = f"""
mutation ($v: Int!, $line: GeoJSON!, $side: LineSide! = RIGHT) {{
  splitTerritory(layer: "grid", code: "west", expectedVersion: $v, line: $line, newCode: "west-east",
                 newName: "West, east part", newSide: $side) {{ {PAYLOAD} }}
}}
"""


async def test_merge_unites_and_retires_the_others(
    committed: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    merged = (await committed.data(MERGE, v1=1, v2=1))["mergeTerritories"]
    assert merged["__typename"] == "TerritoryEditPayload", merged
    assert merged["territory"]["version"] == 2 and merged["territory"]["name"] == "West and East"
    assert [r["code"] for r in merged["retired"]] == ["east"]
    assert merged["territory"]["geometry"]["type"] == "MultiPolygon"
    assert len(merged["territory"]["geometry"]["coordinates"]) == 1  # the shared border dissolved
    assignments = await open_territories(db)
    assert {n for n, c in assignments.items() if c == "west"} == areas["west"] | areas["east"]
    stale = (await committed.data(MERGE, v1=1, v2=1))["mergeTerritories"]
    assert stale["__typename"] == "VersionConflictProblem"


async def test_split_by_a_line_makes_a_new_territory_on_the_chosen_side(
    committed: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    # walking north along -81.50: the right-hand side is east of it
    line = {"type": "LineString", "coordinates": [[-81.50, 28.0], [-81.50, 28.7]]}
    split = (await committed.data(SPLIT, v=1, line=line))["splitTerritory"]
    assert split["__typename"] == "TerritoryEditPayload", split
    assert split["created"] == {"code": "west-east", "version": 1}
    assert split["territory"]["version"] == 2
    moved = {c["siteNumber"]: (c["fromCode"], c["toCode"]) for c in split["siteChanges"]}
    assert moved == dict.fromkeys(areas["between"], ("west", "west-east"))
    miss = {"type": "LineString", "coordinates": [[-82.0, 28.0], [-82.0, 28.7]]}
    failed = (await committed.data(SPLIT, v=2, line=miss))["splitTerritory"]
    assert failed["code"] == "SPLIT_FAILED"


IMPORT = """
mutation ($layer: String!, $fc: JSON!, $mode: ImportMode! = MERGE, $kind: LayerKind, $dryRun: Boolean! = false) {
  importTerritoryLayer(layer: $layer, featureCollection: $fc, mode: $mode, kind: $kind, dryRun: $dryRun) {
    __typename
    ... on Problem { code message }
    ... on ImportRefusedProblem { refused: features { index territoryCode problem message location } }
    ... on LayerImportPayload {
      dryRun layerCreated retired sitesChanged
      features { index code action version }
      layer { code kind territories { code } }
    }
  }
}
"""


def feature(code: str, ring: list[list[float]], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": code.title(), **properties},
        "geometry": polygon(ring),
    }


async def test_an_import_with_one_bad_feature_writes_nothing_and_reports_each(
    gql: GraphQLClient, db: Database
) -> None:
    editor = gql.as_(GIS)
    fc = {
        "type": "FeatureCollection",
        "features": [
            feature("west", WEST),
            feature("bow", BOWTIE),
            feature("east", EAST),
            feature("east", EAST),
            {"type": "Feature", "properties": {"name": "no code"}, "geometry": polygon(EAST)},
        ],
    }
    before = await assignment_rows(db)
    result = (await editor.data(IMPORT, layer="imported", fc=fc, kind="PARTITION"))["importTerritoryLayer"]
    assert result["__typename"] == "ImportRefusedProblem", result
    assert [(f["index"], f["problem"]) for f in result["refused"]] == [
        (1, "SELF_INTERSECTION"),
        (3, "CODE_IN_USE"),
        (4, "BAD_USER_INPUT"),
    ]
    assert result["refused"][0]["location"] == pytest.approx([-81.55, 28.25])
    async with db.read() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM territory_layer WHERE code = 'imported'"))
        ).scalar() == 0
    assert await assignment_rows(db) == before


async def test_an_import_with_overlapping_features_is_refused_whole(gql: GraphQLClient, db: Database) -> None:
    editor = gql.as_(GIS)
    fc = {
        "type": "FeatureCollection",
        "features": [feature("west", WEST), feature("wide", box(-81.5, 28.2, -81.3, 28.5))],
    }
    result = (await editor.data(IMPORT, layer="imported", fc=fc, kind="PARTITION"))["importTerritoryLayer"]
    assert result["__typename"] == "ImportRefusedProblem", result
    assert [f["problem"] for f in result["refused"]] == ["OVERLAP"]
    async with db.read() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM territory_layer WHERE code = 'imported'"))
        ).scalar() == 0


async def test_import_creates_a_layer_then_replace_updates_and_retires(
    committed: GraphQLClient, db: Database, areas: dict[str, set[str]]
) -> None:
    editor = committed
    fc = {"type": "FeatureCollection", "features": [feature("west", WEST), feature("east", EAST)]}
    dry = (await editor.data(IMPORT, layer="imported", fc=fc, kind="PARTITION", dryRun=True))[
        "importTerritoryLayer"
    ]
    total = len(areas["west"] | areas["east"])
    assert dry["dryRun"] is True and dry["sitesChanged"] == total and dry["layer"] is None
    first = (await editor.data(IMPORT, layer="imported", fc=fc, kind="PARTITION"))["importTerritoryLayer"]
    assert first["__typename"] == "LayerImportPayload", first
    assert first["layerCreated"] is True and first["sitesChanged"] == total
    assert [(f["code"], f["action"], f["version"]) for f in first["features"]] == [
        ("west", "created", 1),
        ("east", "created", 1),
    ]
    again = {
        "type": "FeatureCollection",
        "features": [feature("west", box(-81.60, 28.20, -81.30, 28.50), version=1)],
    }
    second = (await editor.data(IMPORT, layer="imported", fc=again, mode="REPLACE"))["importTerritoryLayer"]
    assert second["__typename"] == "LayerImportPayload", second
    assert second["retired"] == ["east"] and second["features"][0]["action"] == "updated"
    assert {t["code"] for t in second["layer"]["territories"]} >= {"west"}
    assignments = await open_territories(db, "imported")
    assert {n for n, c in assignments.items() if c == "west"} == areas["west"] | areas["east"]
    stale = (await editor.data(IMPORT, layer="imported", fc=again))["importTerritoryLayer"]
    assert stale["__typename"] == "ImportRefusedProblem"
    assert stale["refused"][0]["problem"] == "VERSION_CONFLICT"


MANUAL = """
mutation ($territory: String) {
  setManualAssignment(siteNumber: "0349", layer: "grid", territory: $territory) {
    __typename ... on Problem { code message }
    ... on ManualAssignmentPayload { previousTerritoryCode territory { code } site { siteNumber } }
  }
}
"""
CLEAR = """
mutation {
  clearManualAssignment(siteNumber: "0349", layer: "grid") {
    __typename ... on Problem { code message }
    ... on ManualAssignmentPayload { previousTerritoryCode territory { code } }
  }
}
"""


async def test_a_manual_assignment_wins_over_geometry_until_cleared(
    grid: GraphQLClient, db: Database
) -> None:
    admin = grid.as_("test-admin")
    set_ = (await admin.data(MANUAL, territory="east"))["setManualAssignment"]
    assert set_ == {
        "__typename": "ManualAssignmentPayload",
        "previousTerritoryCode": "west",
        "territory": {"code": "east"},
        "site": {"siteNumber": "0349"},
    }
    # a geometry edit of west does not take 0349 back while the manual row holds
    await grid.data(UPDATE, code="west", v=1, geometry=polygon(box(-81.61, 28.20, -81.45, 28.50)))
    assert (await open_territories(db))["0349"] == "east"
    cleared = (await grid.data(CLEAR))["clearManualAssignment"]
    assert cleared["territory"] == {"code": "west"} and cleared["previousTerritoryCode"] == "east"
    assert (await open_territories(db))["0349"] == "west"
    none = (await grid.data(CLEAR))["clearManualAssignment"]
    assert none["code"] == "NOT_FOUND" and "no manual assignment" in none["message"]


@pytest.mark.parametrize("subject", ["test-billing-manager", "test-reporting", "test-nobody", "test-admin"])
async def test_only_gis_editors_edit_territories(grid: GraphQLClient, db: Database, subject: str) -> None:
    other = grid.as_(subject)
    error = await other.error(UPDATE, code="west", v=1, name="not allowed")
    assert error["extensions"]["code"] == "FORBIDDEN" and "gisEditor" in error["message"]
    error = await other.error(CREATE_LAYER, code="nope", kind="OVERLAY")
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await grid.data(HISTORY, code="west"))["territory"]["version"] == 1


@pytest.mark.parametrize("subject", ["test-billing-manager", "test-reporting", "test-nobody"])
async def test_manual_assignments_need_gis_editor_or_billing_admin(
    grid: GraphQLClient, db: Database, subject: str
) -> None:
    before = await open_territories(db)
    error = await grid.as_(subject).error(MANUAL, territory="east")
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert await open_territories(db) == before


async def test_the_database_refuses_a_manual_assignment_for_other_roles(
    db: Database, settings: Any, grid: GraphQLClient
) -> None:
    """The SECURITY DEFINER function checks the role itself (a client that bypasses the schema)."""
    from resolvers import territories as service
    from resolvers.errors import Forbidden

    ctx = await context_for(db, settings, "test-reporting")
    with pytest.raises(Forbidden):
        await service.set_manual_assignment(ctx, site_number="0349", layer_code="grid", territory_code="east")


# ---------------------------------------------------------------------------------------------- the race


async def test_two_editors_racing_on_one_polygon_one_wins_one_conflicts(
    engine: AsyncEngine, committing_db: Database, settings: Any
) -> None:
    """Two concurrent updates of version 1, on two connections, really committing: exactly one wins, the
    other gets VERSION_CONFLICT, and the history has the original and the winner."""
    from resolvers import territories as service
    from resolvers.errors import VersionConflict

    setup = await context_for(committing_db, settings, GIS)
    await service.create_layer(
        setup, code="race", name="Race", kind="partition", description=None, overlap_tolerance_m2=None
    )
    # in the Atlantic: no site, so cleaning up is a plain delete
    await service.create_territory(
        setup, layer_code="race", code="cell", name="Cell", geometry=polygon(box(-60, 30, -59, 31))
    )
    try:

        async def edit(name: str, east: float) -> service.Edited | VersionConflict:
            ctx = await context_for(committing_db, settings, GIS)
            try:
                return await service.update_territory(
                    ctx,
                    layer_code="race",
                    code="cell",
                    expected_version=1,
                    name=name,
                    geometry=polygon(box(-60, 30, east, 31)),
                )
            except VersionConflict as conflict:
                return conflict

        outcomes = await asyncio.gather(edit("A", -58.5), edit("B", -58.0))
        wins = [o for o in outcomes if isinstance(o, service.Edited)]
        conflicts = [o for o in outcomes if isinstance(o, VersionConflict)]
        assert len(wins) == 1 and len(conflicts) == 1, outcomes
        assert conflicts[0].current_version == 2 and conflicts[0].changed_by == GIS
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT v.version, v.name, v.change FROM territory_version v JOIN territory t ON t.id = v.territory_id"
                        " JOIN territory_layer l ON l.id = t.layer_id WHERE l.code = 'race' ORDER BY v.version"
                    )
                )
            ).all()
        winner = "A" if outcomes[0] is wins[0] else "B"
        assert [tuple(r) for r in rows] == [(1, "Cell", "create"), (2, winner, "update")]
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM territory WHERE layer_id IN (SELECT id FROM territory_layer WHERE code = 'race')"
                )
            )
            await conn.execute(text("DELETE FROM territory_layer WHERE code = 'race'"))


# ------------------------------------------------------------------------------ a large layer file upload


def _ocean_collection(features: int, vertices: int, notes_bytes: int = 0) -> bytes:
    """`features` circles of `vertices` positions each, 0.4° apart in the Atlantic (no site inside), as
    GeoJSON text with full-precision coordinates (as QGIS writes them); each feature may carry a `notes`
    attribute of `notes_bytes` characters (the bulk of the file, cheap to validate)."""
    import numpy as np

    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    parts = []
    for i in range(features):
        cx, cy = -60.0 + (i % 10) * 0.4, 30.0 + (i // 10) * 0.4
        ring = np.column_stack([cx + 0.15 * np.cos(angles), cy + 0.15 * np.sin(angles)])
        ring = np.vstack([ring, ring[:1]])
        parts.append(
            f'{{"type":"Feature","properties":{{"code":"c{i}","name":"Cell {i}","notes":"{"n" * notes_bytes}"}},'
            f'"geometry":{{"type":"Polygon","coordinates":[{json.dumps(ring.tolist())}]}}}}'
        )
    return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}").encode()


async def test_a_layer_file_over_50_mb_is_imported_by_its_route_while_graphql_stays_small(
    db: Database, settings: Any
) -> None:
    import httpx

    from server.app import create_app
    from tests.conftest import bearer

    # the size is what matters here (the general body limit is 1 MB), not the work per vertex
    body = _ocean_collection(features=36, vertices=2_000, notes_bytes=1_500_000)
    assert len(body) > 50 * 1024 * 1024
    app = create_app(settings, db=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
        response = await client.post(
            "/layers/ocean/import?kind=overlay&name=Ocean",
            content=body,
            headers={**bearer(settings, GIS), "content-type": "application/geo+json"},
        )
        assert response.status_code == 200, response.text[:500]
        report = response.json()
        assert report["layerCreated"] is True and len(report["features"]) == 36
        assert {f["action"] for f in report["features"]} == {"created"}
        # the same bytes to /graphql are refused by the general limit, before they are read
        big = await client.post("/graphql", content=body, headers=bearer(settings, GIS))
        assert big.status_code == 413
        # and the route is for GIS editors only
        refused = await client.post(
            "/layers/ocean/import", content=b"{}", headers=bearer(settings, "test-reporting")
        )
        assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    async with db.read() as session:
        stored = await session.execute(
            text(
                "SELECT count(*), min(ST_NPoints(t.geom)) FROM territory t JOIN territory_layer l"
                " ON l.id = t.layer_id WHERE l.code = 'ocean'"
            )
        )
        assert tuple(stored.one()) == (36, 2_001)


async def test_an_upload_with_a_bad_feature_is_a_problem_listing_it(db: Database, settings: Any) -> None:
    import httpx

    from server.app import create_app
    from tests.conftest import bearer

    fc = {"type": "FeatureCollection", "features": [feature("ok", WEST), feature("bow", BOWTIE)]}
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(
            "/layers/uploaded/import?kind=partition", content=json.dumps(fc), headers=bearer(settings, GIS)
        )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "IMPORT_REFUSED"
    assert [(f["index"], f["problem"]) for f in problem["features"]] == [(1, "SELF_INTERSECTION")]
