"""GeoJSON exports and vector tiles of the territory layers and sites (issue 9 §3, server/gis.py), and
`sites(filter: {bbox})` across the antimeridian.

Tiles are decoded with `mapbox-vector-tile` and compared with what the database holds, projected to tile
pixels here (Web Mercator, XYZ) independently of the SQL that made them. Row scopes: a district manager of
Orlando sees only Orlando's sites in site tiles and exports; territory geometry is company geography.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from db.database import Database
from db.repositories.users import Grants, upsert_user
from schema.compiled import CompiledReads
from server.app import create_app
from server.settings import Settings
from tests.conftest import GraphQLClient, bearer

DM = "dm-orlando-gis"


def _client(db: Database, settings: Settings, subject: str | None = "test-admin") -> httpx.AsyncClient:
    app = create_app(settings, db=db)
    headers = bearer(settings, subject) if subject else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers)


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(db, settings) as c:
        yield c


async def _grant_dm(db: Database) -> None:
    async with db.transaction() as session:
        await upsert_user(
            session,
            subject=DM,
            grants=Grants(roles=("districtManager",), territories=("districts:orlando",)),
            granted_by="tests",
        )


async def _rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(text(sql), params)).all())


async def _orlando_sites(db: Database) -> set[str]:
    rows = await _rows(
        db,
        "SELECT s.site_number FROM site_territory_assignment a JOIN territory t ON t.id = a.territory_id"
        " JOIN territory_layer l ON l.id = t.layer_id JOIN customer_site s ON s.id = a.site_id"
        " WHERE l.code = 'districts' AND t.code = 'orlando' AND a.valid_to IS NULL",
    )
    return {r[0] for r in rows}


def _pixel(lon: float, lat: float, z: int, x: int, y: int, extent: int = 4096) -> tuple[float, float]:
    """A lon/lat point in the pixel space of tile z/x/y (origin top left, y down), Web Mercator."""
    n = 2**z
    world_x = (lon + 180.0) / 360.0 * n
    world_y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return (world_x - x) * extent, (world_y - y) * extent


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    px, py = _pixel(lon, lat, z, 0, 0, 1)
    return int(px), int(py)


ORLANDO = (-81.38, 28.54)


# ---- GeoJSON exports ---------------------------------------------------------------------------------------


async def test_layer_geojson_is_a_feature_collection_of_the_current_territories(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.get("/layers/districts.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert "Authorization" in response.headers["vary"]
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and collection["name"] == "districts"
    expected = {
        code: (name, version, area)
        for code, name, version, area in await _rows(
            db,
            "SELECT t.code, t.name, t.version, t.area_km2 FROM territory t JOIN territory_layer l"
            " ON l.id = t.layer_id WHERE l.code = 'districts'",
        )
    }
    features = collection["features"]
    assert [f["id"] for f in features] == sorted(expected)
    for feature in features:
        properties = feature["properties"]
        assert set(properties) == {"code", "name", "version", "areaKm2"}
        name, version, area = expected[properties["code"]]
        assert (properties["name"], properties["version"]) == (name, version)
        assert properties["areaKm2"] == pytest.approx(area, rel=1e-9)
        geometry = shape(feature["geometry"])
        assert feature["geometry"]["type"] == "MultiPolygon" and geometry.is_valid
    orlando = shape(next(f for f in features if f["id"] == "orlando")["geometry"])
    assert orlando.contains(shapely.Point(*ORLANDO))


def _decimals(coordinates: Any) -> int:
    if isinstance(coordinates, float | int):
        text_form = repr(float(coordinates))
        return 0 if text_form.endswith(".0") else len(text_form.split(".")[1])
    return max(_decimals(c) for c in coordinates)


def _vertices(feature: dict[str, Any]) -> int:
    return int(shapely.get_num_coordinates(shape(feature["geometry"])))


async def test_precision_and_simplify(client: httpx.AsyncClient) -> None:
    full = (await client.get("/layers/regions.geojson")).json()["features"]
    coarse = (await client.get("/layers/regions.geojson?precision=2&simplify=0.05")).json()["features"]
    assert [f["id"] for f in full] == [f["id"] for f in coarse]
    assert _decimals(full[0]["geometry"]["coordinates"]) == 5  # the data's own precision, under the default 6
    assert all(_decimals(f["geometry"]["coordinates"]) <= 2 for f in coarse)
    for before, after in zip(full, coarse, strict=True):
        assert _vertices(after) < _vertices(before) / 5
        # the properties describe the stored territory, not its simplified drawing
        assert after["properties"] == before["properties"]
        # within the tolerance (plus the rounding) of the stored polygon everywhere
        assert shape(after["geometry"]).hausdorff_distance(shape(before["geometry"])) < 0.05 + 0.01
    zero = (await client.get("/layers/upp-districts.geojson?precision=0")).json()["features"]
    assert all(_decimals(f["geometry"]["coordinates"]) == 0 for f in zero)


async def _flush(db: Database) -> None:
    """Territory versions are written at commit processing once migration 0009 is in: do it now."""
    async with db.transaction() as session:
        present = (await session.execute(text("SELECT to_regproc('towne_flush_territory_changes')"))).scalar()
        if present is not None:
            await session.execute(text("SELECT * FROM towne_flush_territory_changes()"))


async def test_as_of_shows_the_layer_and_the_assignments_then(
    client: httpx.AsyncClient, db: Database
) -> None:
    before = (await client.get("/layers/districts.geojson")).json()["features"]
    orlando_then = next(f for f in before if f["id"] == "orlando")
    async with db.transaction() as session:
        # Orlando shrinks to a small square around downtown: most of its sites leave it
        await session.execute(
            text(
                "UPDATE territory SET name = 'Orlando (downtown)',"
                " geom = ST_Multi(ST_MakeEnvelope(-81.45, 28.45, -81.30, 28.60, 4326))"
                " WHERE code = 'orlando' AND layer_id = (SELECT id FROM territory_layer WHERE code = 'districts')"
            )
        )
    await _flush(db)
    [(edited_at,)] = await _rows(
        db,
        "SELECT v.valid_from FROM territory_version v JOIN territory t ON t.id = v.territory_id"
        " WHERE t.code = 'orlando' AND v.valid_to IS NULL AND t.layer_id = 1",
    )
    earlier = (edited_at.replace(microsecond=0) - dt.timedelta(seconds=1)).astimezone(dt.UTC).isoformat()

    now = {f["id"]: f for f in (await client.get("/layers/districts.geojson")).json()["features"]}
    assert now["orlando"]["properties"]["name"] == "Orlando (downtown)"
    assert now["orlando"]["properties"]["version"] == orlando_then["properties"]["version"] + 1
    # `+` unencoded in a query string arrives as a space: still read as the offset
    past = await client.get("/layers/districts.geojson", params={"asOf": earlier})
    then = {f["id"]: f for f in past.json()["features"]}
    assert then["orlando"]["properties"] == orlando_then["properties"]
    assert shape(then["orlando"]["geometry"]).equals(shape(orlando_then["geometry"]))
    raw_plus = await client.get("/layers/districts.geojson?asOf=" + earlier)
    assert raw_plus.status_code == 200 and raw_plus.json() == past.json()

    sites_now = (await client.get("/layers/districts/sites.geojson")).json()["features"]
    sites_then = (await client.get("/layers/districts/sites.geojson", params={"asOf": earlier})).json()[
        "features"
    ]
    in_orlando_now = {f["id"] for f in sites_now if f["properties"]["territoryCode"] == "orlando"}
    in_orlando_then = {f["id"] for f in sites_then if f["properties"]["territoryCode"] == "orlando"}
    assert in_orlando_now < in_orlando_then
    names_then = {f["properties"]["territoryName"] for f in sites_then if f["id"] in in_orlando_then}
    assert names_then == {orlando_then["properties"]["name"]}

    tile_z, (tx, ty) = 6, _tile_of(-81.8, 28.9, 6)
    current = mapbox_vector_tile.decode(
        (await client.get(f"/tiles/districts/{tile_z}/{tx}/{ty}.mvt")).content
    )
    old = mapbox_vector_tile.decode(
        (await client.get(f"/tiles/districts/{tile_z}/{tx}/{ty}.mvt", params={"asOf": earlier})).content
    )

    def orlando_area(tile: dict[str, Any]) -> float:
        feature = next(f for f in tile["districts"]["features"] if f["properties"]["code"] == "orlando")
        return float(shape(feature["geometry"]).area)

    assert orlando_area(current) < orlando_area(old) / 10


async def test_sites_geojson_carries_the_territory_of_the_layer(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.get("/layers/regions/sites.geojson?precision=3")
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    expected = dict(
        await _rows(
            db,
            "SELECT s.site_number, t.code FROM customer_site s LEFT JOIN site_territory_assignment a"
            " ON a.site_id = s.id AND a.valid_to IS NULL AND a.layer_id = 2 LEFT JOIN territory t"
            " ON t.id = a.territory_id",
        )
    )
    assert {f["id"]: f["properties"]["territoryCode"] for f in features} == expected
    site = next(f for f in features if f["id"] == "0349")
    assert site["geometry"] == {"type": "Point", "coordinates": [-81.569, 28.382]}
    assert site["properties"] == {
        "siteNumber": "0349",
        "name": "Hilton Walt Disney World Resort",
        "territoryCode": "east",
        "territoryName": "East",
    }


async def test_a_district_manager_sees_only_its_sites(db: Database, settings: Settings) -> None:
    await _grant_dm(db)
    orlando = await _orlando_sites(db)
    assert len(orlando) > 30
    async with _client(db, settings, DM) as client:
        exported = (await client.get("/layers/districts/sites.geojson")).json()["features"]
        territories = (await client.get("/layers/districts.geojson")).json()["features"]
        z, (x, y) = 5, _tile_of(*ORLANDO, 5)
        tile = mapbox_vector_tile.decode(
            (await client.get(f"/tiles/sites/{z}/{x}/{y}.mvt?layer=districts")).content
        )
        items = (await client.get("/ogc/collections/sites/items?limit=10000")).json()
    assert {f["id"] for f in exported} == orlando
    assert {f["properties"]["territoryCode"] for f in exported} == {"orlando"}
    assert len(territories) == 33  # company geography: every territory
    assert {f["properties"]["siteNumber"] for f in tile["sites"]["features"]} == orlando
    assert items["numberMatched"] == len(orlando) and {f["id"] for f in items["features"]} == orlando


# ---- vector tiles -------------------------------------------------------------------------------------------


async def test_territory_tile_decodes_to_the_territories_it_shows(
    client: httpx.AsyncClient, db: Database
) -> None:
    z, (x, y) = 6, _tile_of(*ORLANDO, 6)
    response = await client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert (
        response.headers["cache-control"] == "private, no-cache"
        and "Authorization" in response.headers["vary"]
    )
    decoded = mapbox_vector_tile.decode(response.content)
    assert set(decoded) == {"districts"} and decoded["districts"]["extent"] == 4096
    features = decoded["districts"]["features"]
    codes = [f["properties"]["code"] for f in features]
    assert len(codes) == len(set(codes)), "one feature per territory, the subdivision merged"
    tile_box = shapely.box(0, 0, 4096, 4096)
    # every district whose stored polygon covers part of the tile, projected here, and nothing else
    expected = set()
    for code, geojson in await _rows(
        db,
        "SELECT t.code, ST_AsGeoJSON(t.geom) FROM territory t WHERE t.layer_id = 1"
        " AND t.geom && ST_MakeEnvelope(-90, 20, -75, 35, 4326)",
    ):
        projected = shapely.transform(
            shape(json.loads(geojson)),
            lambda c: [list(_pixel(lon, lat, z, x, y)) for lon, lat in c],
        )
        if projected.intersection(tile_box).area > 1:
            expected.add(code)
    assert set(codes) == expected and "orlando" in expected
    for feature in features:
        assert feature["properties"]["version"] >= 1 and feature["properties"]["name"]
        drawn = shape(feature["geometry"])
        assert drawn.is_valid and drawn.area > 0  # rings the right way round: exteriors, not holes
    z, (x, y) = 12, _tile_of(-81.3, 28.6, 12)  # inside Orlando: its polygon fills the tile
    inside = mapbox_vector_tile.decode((await client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")).content)
    [whole] = inside["districts"]["features"]
    assert whole["properties"]["code"] == "orlando"
    assert shape(whole["geometry"]).contains(tile_box)


async def test_site_tile_points_are_where_the_sites_are(client: httpx.AsyncClient, db: Database) -> None:
    z, (x, y) = 7, _tile_of(*ORLANDO, 7)
    response = await client.get(f"/tiles/sites/{z}/{x}/{y}.mvt", params={"layer": "districts"})
    assert (
        response.status_code == 200
        and response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    features = mapbox_vector_tile.decode(response.content)["sites"]["features"]
    expected: dict[str, tuple[float, float, str | None]] = {}
    for number, lon, lat, territory in await _rows(
        db,
        "SELECT s.site_number, ST_X(s.location), ST_Y(s.location), t.code FROM customer_site s"
        " LEFT JOIN site_territory_assignment a ON a.site_id = s.id AND a.layer_id = 1 AND a.valid_to IS NULL"
        " LEFT JOIN territory t ON t.id = a.territory_id",
    ):
        px, py = _pixel(lon, lat, z, x, y)
        if -64 <= px <= 4096 + 64 and -64 <= py <= 4096 + 64:
            expected[number] = (px, py, territory)
    assert len(expected) > 20
    seen = {f["properties"]["siteNumber"]: f for f in features}
    assert set(seen) == set(expected)
    for number, feature in seen.items():
        px, py, territory = expected[number]
        assert feature["properties"].get("territoryCode") == territory
        gx, gy = feature["geometry"]["coordinates"]
        # the decoder's y axis points up (4096 at the top edge)
        assert abs(gx - px) <= 1 and abs((4096 - gy) - py) <= 1


async def test_states_basemap_tile(client: httpx.AsyncClient) -> None:
    response = await client.get("/tiles/states/4/4/6.mvt")
    assert response.status_code == 200
    features = mapbox_vector_tile.decode(response.content)["states"]["features"]
    codes = {f["properties"]["code"] for f in features}
    assert {"FL", "GA", "AL"} <= codes and "WA" not in codes
    florida = next(f for f in features if f["properties"]["code"] == "FL")
    assert florida["properties"]["name"] == "Florida" and florida["properties"]["fips"] == "12"
    empty = await client.get("/tiles/states/4/0/0.mvt")  # the Arctic Ocean west of Alaska
    assert empty.status_code == 200 and mapbox_vector_tile.decode(empty.content) == {}


async def test_tile_etags_follow_the_layer_and_the_scope(db: Database, settings: Settings) -> None:
    await _grant_dm(db)
    z, (x, y) = 6, _tile_of(*ORLANDO, 6)
    path = f"/tiles/districts/{z}/{x}/{y}.mvt"
    async with _client(db, settings) as admin, _client(db, settings, DM) as dm:
        first = await admin.get(path)
        etag = first.headers["etag"]
        assert etag.startswith('W/"')
        again = await admin.get(path, headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert "Authorization" in again.headers["vary"]
        assert (await admin.get(path, headers={"if-none-match": '"other", ' + etag})).status_code == 304
        other_scope = await dm.get(path)
        assert other_scope.headers["etag"] != etag
        sites = f"/tiles/sites/{z}/{x}/{y}.mvt?layer=districts"
        admin_sites, dm_sites = await admin.get(sites), await dm.get(sites)
        assert admin_sites.headers["etag"] != dm_sites.headers["etag"]
        assert (await dm.get(sites, headers={"if-none-match": dm_sites.headers["etag"]})).status_code == 304
        async with db.transaction() as session:
            await session.execute(text("UPDATE territory SET name = 'Orlando!' WHERE code = 'orlando'"))
        await _flush(db)
        edited = await admin.get(path, headers={"if-none-match": etag})
        assert edited.status_code == 200 and edited.headers["etag"] != etag
        names = {
            f["properties"]["name"]
            for f in mapbox_vector_tile.decode(edited.content)["districts"]["features"]
        }
        assert "Orlando!" in names


@pytest.mark.parametrize(
    ("path", "argument"),
    [
        ("/tiles/districts/23/0/0.mvt", "z"),
        ("/tiles/districts/-1/0/0.mvt", "z"),
        ("/tiles/districts/z/0/0.mvt", "z"),
        ("/tiles/districts/3/8/0.mvt", "x"),
        ("/tiles/districts/3/0/8.mvt", "y"),
        ("/tiles/districts/0/0/1.mvt", "y"),
        ("/tiles/sites/3/0/0.mvt", "layer"),
        ("/tiles/sites/30/0/0.mvt?layer=districts", "z"),
        ("/tiles/states/2/4/0.mvt", "x"),
        ("/tiles/districts/3/1/3.mvt?asOf=2025-01-01", "asOf"),
        ("/tiles/districts/3/1/3.mvt?zoom=3", "zoom"),
        ("/layers/districts.geojson?precision=16", "precision"),
        ("/layers/districts.geojson?precision=-1", "precision"),
        ("/layers/districts.geojson?simplify=nan", "simplify"),
        ("/layers/districts.geojson?simplify=2", "simplify"),
        ("/layers/districts.geojson?asOf=yesterday", "asOf"),
        ("/layers/districts.geojson?asOf=1700-01-01T00:00:00Z", "asOf"),
        ("/layers/districts.geojson?precision=3&precision=4", "precision"),
        ("/layers/districts/sites.geojson?simplify=0.1", "simplify"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    client: httpx.AsyncClient, path: str, argument: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "BAD_USER_INPUT" and body["argument"] == argument and body["message"]


async def test_unknown_layer_is_404_and_anonymous_is_401(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    for path in (
        "/layers/nope.geojson",
        "/layers/nope/sites.geojson",
        "/tiles/nope/0/0/0.mvt",
        "/tiles/sites/0/0/0.mvt?layer=nope",
    ):
        response = await client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND", path
    async with _client(db, settings, None) as anonymous:
        for path in (
            "/layers/districts.geojson",
            "/layers/districts/sites.geojson",
            "/tiles/districts/0/0/0.mvt",
            "/tiles/sites/0/0/0.mvt?layer=districts",
            "/tiles/states/0/0/0.mvt",
            "/ogc/collections",
            "/ogc/collections/districts/items",
            "/ogc/collections/sites/items/0349",
        ):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.json()["code"] == "UNAUTHENTICATED"
            assert response.headers["www-authenticate"].startswith("Bearer")


# ---- sites(filter: {bbox}) across the antimeridian ----------------------------------------------------------

SYNTHETIC_SITES = {"9901": (179.5, 51.5), "9902": (-179.5, 51.6), "9903": (175.0, 60.0)}


async def _insert_synthetic_sites(db: Database) -> None:
    async with db.transaction() as session:
        for number, (lon, lat) in SYNTHETIC_SITES.items():
            await session.execute(
                text(
                    "INSERT INTO customer_site (id, site_number, name, address, street, city, state, zip,"
                    " gl_string, location, geocode_method) VALUES (gen_random_uuid(), :n, :name,"
                    " '1 Test Street, Adak, AK 99546', '1 Test Street', 'Adak', 'AK', '99546', '02-03-1009-',"
                    " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'manual')"
                ),
                {"n": number, "name": f"Synthetic Aleutian site {number}", "lon": lon, "lat": lat},
            )


ACROSS = (
    "{ sites(first: 50, filter: {bbox: [170, 50, -170, 55]}) { totalCount edges { node { siteNumber } } } }"
)


async def test_graphql_bbox_across_the_antimeridian(gql: GraphQLClient, db: Database) -> None:
    await _insert_synthetic_sites(db)
    answers = []
    for compiled in (True, False):
        CompiledReads.enabled = compiled
        try:
            answers.append(await gql.data(ACROSS))
        finally:
            CompiledReads.enabled = True
    assert answers[0] == answers[1]
    page = answers[0]["sites"]
    assert page["totalCount"] == 2
    assert {e["node"]["siteNumber"] for e in page["edges"]} == {"9901", "9902"}
    plain = await gql.data("{ sites(filter: {bbox: [179, 50, 180, 55]}) { totalCount } }")
    assert plain["sites"]["totalCount"] == 1


async def test_ogc_bbox_across_the_antimeridian(client: httpx.AsyncClient, db: Database) -> None:
    await _insert_synthetic_sites(db)
    sites = (await client.get("/ogc/collections/sites/items?bbox=170,50,-170,55")).json()
    assert sites["numberMatched"] == 2 and {f["id"] for f in sites["features"]} == {"9901", "9902"}
    # the Aleutians' parts east of 180° belong to Portland (data/towne-park/territories/README.md)
    districts = (await client.get("/ogc/collections/districts/items?bbox=172,50,-179.9,53")).json()
    assert {f["id"] for f in districts["features"]} == {"portland"}
    none = (await client.get("/ogc/collections/districts/items?bbox=172,10,-179.9,11")).json()
    assert none["numberMatched"] == 0 and none["features"] == []


async def test_a_retired_territory_leaves_the_exports_tiles_and_items(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE territory SET retired_at = now() WHERE code = 'orlando' AND layer_id = 1")
        )
    await _flush(db)
    [(retired_at,)] = await _rows(
        db, "SELECT retired_at FROM territory WHERE code = 'orlando' AND layer_id = 1"
    )
    before = (retired_at - dt.timedelta(seconds=1)).astimezone(dt.UTC).isoformat()
    now = {f["id"] for f in (await client.get("/layers/districts.geojson")).json()["features"]}
    then = {
        f["id"]
        for f in (await client.get("/layers/districts.geojson", params={"asOf": before})).json()["features"]
    }
    assert "orlando" not in now and then == now | {"orlando"}
    z, (x, y) = 8, _tile_of(*ORLANDO, 8)
    tile = mapbox_vector_tile.decode((await client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")).content)
    assert "orlando" not in {f["properties"]["code"] for f in tile.get("districts", {}).get("features", [])}
    assert (await client.get("/ogc/collections/districts/items/orlando")).status_code == 404
    sites = (await client.get("/layers/districts/sites.geojson")).json()["features"]
    assert "orlando" not in {f["properties"]["territoryCode"] for f in sites}
