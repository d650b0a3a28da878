"""OGC API – Features – Part 1: Core (OGC 17-069r4) at /ogc: one test per requirement of the conformance
classes Core (`/req/core/*`) and GeoJSON (`/req/geojson/*`), since the official Java test suite is not
reachable here, and a real client (OWSLib) reading the API from a live server.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from shapely.geometry import box, shape
from sqlalchemy import text

from db.database import Database
from importer.run import ImportSummary
from server.app import create_app
from server.settings import Settings
from tests.conftest import bearer

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
GEOJSON = "application/geo+json"


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(settings)
    ) as c:
        yield c


def _rel(document: dict[str, Any], rel: str) -> list[dict[str, str]]:
    return [link for link in document["links"] if link["rel"] == rel]


def _path(href: str) -> str:
    return href.removeprefix("http://test")


async def _territory_count(db: Database, layer: str) -> int:
    async with db.read() as session:
        return int(
            (
                await session.execute(
                    text(
                        "SELECT count(*) FROM territory t JOIN territory_layer l ON l.id = t.layer_id"
                        " WHERE l.code = :l"
                    ),
                    {"l": layer},
                )
            ).scalar_one()
        )


# ---- /req/core: landing page, API definition, conformance ---------------------------------------------------


async def test_req_core_root_op_and_root_success(client: httpx.AsyncClient) -> None:
    """/req/core/root-op, /req/core/root-success: GET / is 200 with links to the API definition
    (service-desc), /conformance (conformance) and /collections (data)."""
    response = await client.get("/ogc")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    landing = response.json()
    assert _rel(landing, "self")[0]["href"] == "http://test/ogc"
    assert _rel(landing, "conformance")[0]["href"] == "http://test/ogc/conformance"
    assert _rel(landing, "data")[0]["href"] == "http://test/ogc/collections"
    assert _rel(landing, "service-desc")[0]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert (await client.get("/ogc/")).json() == landing


async def test_req_core_api_definition_op_and_success(client: httpx.AsyncClient) -> None:
    """/req/core/api-definition-op, /req/core/api-definition-success: the service-desc link answers 200 with
    the OpenAPI definition, in its media type, covering every path of the API."""
    landing = (await client.get("/ogc")).json()
    response = await client.get(_path(_rel(landing, "service-desc")[0]["href"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {
        "/",
        "/api",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
    }
    items = document["paths"]["/collections/{collectionId}/items"]["get"]
    assert {p["name"] for p in items["parameters"]} >= {"limit", "bbox", "datetime"}


async def test_req_core_conformance_op_and_success(client: httpx.AsyncClient) -> None:
    """/req/core/conformance-op, /req/core/conformance-success: conformsTo lists Core and GeoJSON."""
    response = await client.get("/ogc/conformance")
    assert response.status_code == 200
    assert set(response.json()["conformsTo"]) == {CORE, GEOJSON_CLASS}


async def test_req_core_http(client: httpx.AsyncClient) -> None:
    """/req/core/http: HTTP 1.1 methods GET and HEAD; other methods are refused, not served."""
    assert (await client.head("/ogc/collections")).status_code == 200
    refused = await client.post("/ogc/collections", json={})
    assert refused.status_code == 405 and refused.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_req_core_query_param_unknown_and_invalid(client: httpx.AsyncClient) -> None:
    """/req/core/query-param-unknown, /req/core/query-param-invalid: 400 with the parameter named."""
    for path, argument in (
        ("/ogc/collections/districts/items?colour=red", "colour"),
        ("/ogc/collections?limit=3", "limit"),
        ("/ogc/collections/districts/items?limit=0", "limit"),
        ("/ogc/collections/districts/items?limit=ten", "limit"),
        ("/ogc/collections/districts/items?offset=-1", "offset"),
        ("/ogc/collections/districts/items?bbox=1,2,3", "bbox"),
        ("/ogc/collections/districts/items?bbox=-81,29,-80,28", "bbox"),
        ("/ogc/collections/districts/items?bbox=-200,28,-80,29", "bbox"),
        ("/ogc/collections/districts/items?bbox=a,b,c,d", "bbox"),
        ("/ogc/collections/districts/items?datetime=tomorrow", "datetime"),
        ("/ogc/collections/districts/items?datetime=2025-01-01T00:00:00Z/2025-02-01T00:00:00Z", "datetime"),
        ("/ogc/collections/districts/items?f=xml", "f"),
        ("/ogc/collections/sites/items/0349?limit=1", "limit"),
    ):
        response = await client.get(path)
        assert response.status_code == 400, path
        assert response.json()["code"] == "BAD_USER_INPUT" and response.json()["argument"] == argument, path


# ---- /req/core: collections ---------------------------------------------------------------------------------


async def test_req_core_fc_md_op_success_links_items_extent(client: httpx.AsyncClient) -> None:
    """/req/core/fc-md-op, /req/core/fc-md-success, /req/core/fc-md-links, /req/core/fc-md-items,
    /req/core/fc-md-items-links, /req/core/fc-md-extent: one collection per territory layer and one of
    sites, each with an id, items links in every encoding, and its spatial extent in CRS84."""
    response = await client.get("/ogc/collections")
    assert response.status_code == 200
    document = response.json()
    assert _rel(document, "self")[0]["href"] == "http://test/ogc/collections"
    collections = {c["id"]: c for c in document["collections"]}
    assert set(collections) == {"districts", "regions", "upp-districts", "sites"}
    for cid, collection in collections.items():
        items = _rel(collection, "items")
        assert {link["type"] for link in items} == {GEOJSON, "application/json"}
        assert all(link["href"].startswith(f"http://test/ogc/collections/{cid}/items") for link in items)
        spatial = collection["extent"]["spatial"]
        assert spatial["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        [[min_lon, min_lat, max_lon, max_lat]] = spatial["bbox"]
        assert -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90
        assert collection["itemType"] == "feature"
    # the Aleutians reach both sides of 180°
    assert collections["districts"]["extent"]["spatial"]["bbox"][0][0] < -179
    assert collections["districts"]["extent"]["temporal"]["interval"] == [
        [None, None]
    ]  # since the record began


async def test_req_core_sfc_md_op_and_success(client: httpx.AsyncClient) -> None:
    """/req/core/sfc-md-op, /req/core/sfc-md-success: /collections/{id} is the entry of /collections; an
    unknown id is 404."""
    listed = {c["id"]: c for c in (await client.get("/ogc/collections")).json()["collections"]}
    for cid in ("districts", "sites"):
        response = await client.get(f"/ogc/collections/{cid}")
        assert response.status_code == 200 and response.json() == listed[cid]
    missing = await client.get("/ogc/collections/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert (await client.get("/ogc/collections/nope/items")).status_code == 404


# ---- /req/core: features ------------------------------------------------------------------------------------


async def test_req_core_fc_op_and_fc_response(client: httpx.AsyncClient, db: Database) -> None:
    """/req/core/fc-op, /req/core/fc-response, /req/core/fc-numberMatched, /req/core/fc-numberReturned,
    /req/core/fc-timeStamp: a FeatureCollection of the default 10 features, the counts right."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response = await client.get("/ogc/collections/districts/items")
    assert response.status_code == 200
    page = response.json()
    assert page["type"] == "FeatureCollection" and len(page["features"]) == 10
    assert page["numberReturned"] == 10 and page["numberMatched"] == await _territory_count(db, "districts")
    assert before <= dt.datetime.fromisoformat(page["timeStamp"]) <= dt.datetime.now(dt.UTC)
    feature = page["features"][0]
    assert feature["type"] == "Feature" and set(feature["properties"]) == {
        "code",
        "name",
        "version",
        "areaKm2",
    }
    assert feature["id"] == feature["properties"]["code"]


async def test_req_core_fc_limit_definition_and_response(client: httpx.AsyncClient) -> None:
    """/req/core/fc-limit-definition, /req/core/fc-limit-response: 1 ≤ limit, default 10, above the maximum
    10000 the maximum is used (not an error)."""
    assert len((await client.get("/ogc/collections/sites/items?limit=1")).json()["features"]) == 1
    assert len((await client.get("/ogc/collections/sites/items?limit=25")).json()["features"]) == 25
    huge = (await client.get("/ogc/collections/sites/items?limit=50000")).json()
    assert huge["numberReturned"] == huge["numberMatched"] == 649
    assert "limit=10000" in _rel(huge, "self")[0]["href"]


async def test_req_core_fc_links_and_next_pages(client: httpx.AsyncClient) -> None:
    """/req/core/fc-links, /req/core/fc-rel-type: self and alternate links; following `next` pages through
    the whole collection exactly once."""
    page = (await client.get("/ogc/collections/sites/items?limit=250&bbox=-125,24,-66,50")).json()
    assert _rel(page, "self")[0]["type"] == GEOJSON
    assert [link["type"] for link in _rel(page, "alternate")] == ["application/json"]
    seen = [f["id"] for f in page["features"]]
    pages = 1
    while _rel(page, "next"):
        href = _rel(page, "next")[0]["href"]
        assert "bbox=-125%2C24%2C-66%2C50" in href
        page = (await client.get(_path(href))).json()
        seen += [f["id"] for f in page["features"]]
        pages += 1
    assert len(seen) == len(set(seen)) == page["numberMatched"] and pages == -(-len(seen) // 250)
    assert _rel(page, "prev")
    as_json = await client.get("/ogc/collections/sites/items?f=json&limit=2")
    assert as_json.headers["content-type"] == "application/json"
    assert _rel(as_json.json(), "self")[0]["type"] == "application/json"
    asked = await client.get("/ogc/collections/sites/items?limit=2", headers={"accept": "application/json"})
    assert asked.headers["content-type"] == "application/json"


async def test_req_core_fc_bbox_definition_and_response(client: httpx.AsyncClient) -> None:
    """/req/core/fc-bbox-definition, /req/core/fc-bbox-response: only features whose geometry intersects
    the box; 6 numbers (with heights) accepted; a box across the antimeridian is tested in test_gis.py."""
    bbox = (-81.5, 28.3, -81.2, 28.6)
    page = (
        await client.get("/ogc/collections/sites/items?limit=10000&bbox=" + ",".join(map(str, bbox)))
    ).json()
    everything = (await client.get("/ogc/collections/sites/items?limit=10000")).json()["features"]
    inside = {f["id"] for f in everything if box(*bbox).intersects(shape(f["geometry"]))}
    assert inside and {f["id"] for f in page["features"]} == inside
    with_heights = await client.get(
        "/ogc/collections/sites/items?limit=10000&bbox=-81.5,28.3,0,-81.2,28.6,100"
    )
    assert {f["id"] for f in with_heights.json()["features"]} == inside
    districts = (await client.get("/ogc/collections/districts/items?bbox=-81.5,28.3,-81.2,28.6")).json()
    assert [f["id"] for f in districts["features"]] == ["orlando"]


async def test_req_core_fc_time_definition_and_response(client: httpx.AsyncClient, db: Database) -> None:
    """/req/core/fc-time-definition, /req/core/fc-time-response: `datetime` as an instant shows the
    territories in force then (a territory created later is not there)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO territory (layer_id, code, name, geom) SELECT id, 'ogc-test', 'OGC test',"
                " ST_Multi(ST_MakeEnvelope(-100.01, 40.0, -100.0, 40.01, 4326))"
                " FROM territory_layer WHERE code = 'upp-districts'"
            )
        )
        present = (await session.execute(text("SELECT to_regproc('towne_flush_territory_changes')"))).scalar()
        if present is not None:
            await session.execute(text("SELECT * FROM towne_flush_territory_changes()"))
    now = {
        f["id"]
        for f in (await client.get("/ogc/collections/upp-districts/items?limit=100")).json()["features"]
    }
    then = await client.get("/ogc/collections/upp-districts/items?limit=100&datetime=2025-01-01T00:00:00Z")
    assert "ogc-test" in now and then.status_code == 200
    assert {f["id"] for f in then.json()["features"]} == now - {"ogc-test"}
    assert "datetime=2025-01-01T00%3A00%3A00Z" in _rel(then.json(), "self")[0]["href"]
    open_ended = await client.get("/ogc/collections/upp-districts/items?limit=100&datetime=../..")
    assert {f["id"] for f in open_ended.json()["features"]} == now


async def test_req_core_f_op_success_links(client: httpx.AsyncClient) -> None:
    """/req/core/f-op, /req/core/f-success, /req/core/f-links: one feature, with self, alternate and
    collection links; an unknown feature id is 404."""
    response = await client.get("/ogc/collections/districts/items/orlando")
    assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == "orlando"
    assert feature["geometry"]["type"] == "MultiPolygon" and shape(feature["geometry"]).is_valid
    assert _rel(feature, "self")[0]["href"] == "http://test/ogc/collections/districts/items/orlando?f=geojson"
    assert _rel(feature, "alternate")[0]["type"] == "application/json"
    assert _rel(feature, "collection")[0]["href"] == "http://test/ogc/collections/districts"
    site = (await client.get("/ogc/collections/sites/items/0349")).json()
    assert site["properties"]["siteNumber"] == "0349" and site["properties"]["districts"] == "orlando"
    assert site["properties"]["regions"] == "east" and site["geometry"]["type"] == "Point"
    for path in ("/ogc/collections/districts/items/nope", "/ogc/collections/sites/items/9999"):
        missing = await client.get(path)
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_req_geojson_definition_and_content(client: httpx.AsyncClient) -> None:
    """/req/geojson/definition, /req/geojson/content: items and a feature as application/geo+json, RFC 7946
    FeatureCollection and Feature objects whose geometries parse."""
    for path in ("/ogc/collections/regions/items", "/ogc/collections/sites/items?limit=100"):
        response = await client.get(path)
        assert response.headers["content-type"] == GEOJSON
        document = response.json()
        assert document["type"] == "FeatureCollection"
        for feature in document["features"]:
            assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
            assert shape(feature["geometry"]).is_valid


# ---- a real client against a live server --------------------------------------------------------------------


@pytest.fixture
def live_server(database_url: str, imported: ImportSummary, settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free port in a thread, on the committed test data."""
    app = create_app(settings, database_url=database_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_owslib_reads_the_api_from_a_live_server(live_server: str, settings: Settings) -> None:
    from owslib import ogcapi
    from owslib.ogcapi.features import Features

    headers = bearer(settings)
    try:
        api = Features(f"{live_server}/ogc/", headers=headers)
        assert CORE in api.conformance()["conformsTo"]
        assert set(api.feature_collections()) == {"districts", "regions", "upp-districts", "sites"}
        assert api.collection("districts")["title"] == "Districts"
        assert api.api()["openapi"].startswith("3.0")
        page = api.collection_items("districts", limit=5)
        assert page["numberReturned"] == 5 and page["numberMatched"] == 33
        florida = api.collection_items("sites", bbox=[-81.5, 28.3, -81.2, 28.6], limit=1000)
        assert florida["numberMatched"] == florida["numberReturned"] > 0
        assert {f["properties"]["districts"] for f in florida["features"]} == {"orlando"}
        orlando = api.collection_item("districts", "orlando")
        assert orlando["properties"]["name"] == "Orlando"
    finally:
        # OWSLib keeps the headers of its first client in a module-wide dict: leave no token behind
        ogcapi.REQUEST_HEADERS.pop("authorization", None)
    anonymous = httpx.get(f"{live_server}/ogc/collections", timeout=10)
    assert anonymous.status_code == 401
    # the export is streamed: chunked, no length known in advance
    with httpx.stream(
        "GET", f"{live_server}/layers/districts.geojson", headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
        assert "content-length" not in response.headers
        assert response.headers.get("transfer-encoding") == "chunked"
        chunks = list(response.iter_raw())
    assert len(chunks) > 1
