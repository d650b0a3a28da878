"""The GIS routes (issue 9 §3): GeoJSON exports, Mapbox vector tiles and OGC API – Features (read), for QGIS,
web maps and any OGC client. Documented in docs/gis-editing.md, "Reading layers".

* `GET /layers/{layer}.geojson` — the layer's current territories (or as of `asOf`), an RFC 7946
  FeatureCollection streamed row by row; `GET /layers/{layer}/sites.geojson` — the caller's sites with their
  territory in that layer. Parameters `precision` (decimal places 0–15, default 6), `simplify` (tolerance in
  degrees 0–1, territories only), `asOf` (an instant with offset).
* `GET /tiles/{layer}/{z}/{x}/{y}.mvt`, `GET /tiles/sites/{z}/{x}/{y}.mvt?layer=…`,
  `GET /tiles/states/{z}/{x}/{y}.mvt` — `application/vnd.mapbox-vector-tile`, z 0–22, x and y 0 … 2^z − 1
  (XYZ scheme, Web Mercator); `asOf` on territory and site tiles. A weak ETag from the layer's versions (sites:
  the tile's bytes) and the caller's scope, `Vary: Authorization`, `Cache-Control: private, no-cache`
  (revalidate every time: territories are edited live), 304 on a matching `If-None-Match`.
* `GET /ogc` … OGC API – Features – Part 1: Core, conformance classes Core and GeoJSON: `/ogc/conformance`,
  `/ogc/api` (OpenAPI 3.0), `/ogc/collections` (one per territory layer, and `sites`),
  `/ogc/collections/{id}`, `/ogc/collections/{id}/items` (`limit` 1–10000 default 10, `offset`, `bbox` with
  minLon > maxLon across the antimeridian, `datetime` as one instant), `/ogc/collections/{id}/items/{fid}`.

Every route but the OGC landing page, conformance and API definition needs a bearer token (401 otherwise)
and reads through the request's door: the application role with the caller bound, so row scopes apply to
sites (a district manager sees the sites of its districts only). Bad parameters are 400 `BAD_USER_INPUT`
naming the parameter; an unknown parameter is refused the same way (OGC /req/core/query-param-unknown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from db.database import Database, RequestDatabase
from db.repositories import gis as repo
from resolvers import validation
from resolvers.context import Caller
from resolvers.errors import BadUserInput, NotFound
from server.app import door_route
from server.settings import Settings
from server.tokens import TokenVerifier
from spatial.geometry import GeometryInputError, check_bbox

log = logging.getLogger("towne.gis")

GEOJSON = "application/geo+json"
JSON = "application/json"
MVT = "application/vnd.mapbox-vector-tile"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
SITES = "sites"  # the OGC collection and tile path of sites; a territory layer of that code is not served
STATES = "states"

MAX_ZOOM = 22
PRECISION_DEFAULT, PRECISION_MAX = 6, 15
SIMPLIFY_MAX = 1.0  # degrees (about 111 km): more leaves nothing of a district
LIMIT_DEFAULT, LIMIT_MAX = 10, 10_000
OFFSET_MAX = 1_000_000
CACHE_CONTROL = "private, no-cache"

Handler = Callable[[Request, RequestDatabase], Awaitable[Response]]


# ---- parameters ---------------------------------------------------------------------------------------------


def _params(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The query parameters, each at most once and each one this route takes."""
    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) or "no parameters"
            raise BadUserInput(
                f"unknown query parameter {name[:50]!r}; this route takes {takes}", argument=name[:50]
            )
        if name in out:
            raise BadUserInput(f"query parameter {name!r} is given more than once", argument=name)
        out[name] = value
    return out


def _integer(value: str, *, argument: str, low: int, high: int, what: str = "") -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise BadUserInput(
            f"{argument} must be a whole number {low}–{high}{what}, got {value[:40]!r}", argument=argument
        )
    number = int(value)
    if not low <= number <= high:
        raise BadUserInput(f"{argument} must be {low}–{high}{what}, got {number}", argument=argument)
    return number


def _number(value: str, *, argument: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise BadUserInput(f"{argument} must be a finite number, got {value[:40]!r}", argument=argument)
    return number


def precision_of(params: dict[str, str]) -> int:
    """`precision`: decimal places of the coordinates, 0–15 (default 6, about 0.1 m)."""
    if "precision" not in params:
        return PRECISION_DEFAULT
    return _integer(
        params["precision"], argument="precision", low=0, high=PRECISION_MAX, what=" decimal places"
    )


def simplify_of(params: dict[str, str]) -> float:
    """`simplify`: a tolerance in degrees (EPSG:4326), 0–1; 0 or absent keeps every vertex."""
    if "simplify" not in params:
        return 0.0
    tolerance = _number(params["simplify"], argument="simplify")
    if not 0 <= tolerance <= SIMPLIFY_MAX:
        raise BadUserInput(
            f"simplify is a tolerance in degrees from 0 to {SIMPLIFY_MAX}, got {tolerance}",
            argument="simplify",
        )
    return tolerance


_OFFSET_AFTER_SPACE = re.compile(r" (\d{2}(?::?\d{2})?)$")


def instant_of(value: str, *, argument: str) -> dt.datetime:
    """An ISO 8601 instant with an offset (`2025-03-15T00:00:00Z`, `…+02:00`). A `+` sent unencoded in a
    query string arrives as a space: read as the `+` it was."""
    text = _OFFSET_AFTER_SPACE.sub(r"+\1", value.strip())
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadUserInput(
            f"{argument} must be an ISO 8601 instant with an offset, e.g. 2025-03-15T00:00:00Z; got {value[:40]!r}",
            argument=argument,
        ) from exc
    checked = validation.as_of(instant, argument=argument)
    assert checked is not None
    return checked


def as_of_of(params: dict[str, str]) -> dt.datetime | None:
    return instant_of(params["asOf"], argument="asOf") if "asOf" in params else None


def datetime_of(params: dict[str, str]) -> dt.datetime | None:
    """OGC `datetime`: one instant (the layer and the assignments as of then); `../..` is no filter. An
    interval of two instants is refused: a territory has one geometry at an instant, several over an
    interval, and a feature id names one."""
    value = params.get("datetime")
    if value is None or value in ("../..", "/"):
        return None
    if "/" in value:
        raise BadUserInput(
            "datetime must be one instant (e.g. 2025-03-15T00:00:00Z): territories and assignments are served "
            "as of an instant, not over an interval",
            argument="datetime",
        )
    return instant_of(value, argument="datetime")


def bbox_of(params: dict[str, str]) -> repo.Box | None:
    """OGC/RFC 7946 `bbox`: minLon,minLat,maxLon,maxLat (or with heights, 6 numbers, heights ignored), CRS84;
    minLon > maxLon crosses the antimeridian."""
    if "bbox" not in params:
        return None
    numbers = [_number(part, argument="bbox") for part in params["bbox"].split(",")]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    try:
        return check_bbox(numbers, field="bbox")
    except GeometryInputError as exc:
        raise BadUserInput(str(exc), argument="bbox") from exc


def tile_of(request: Request) -> tuple[int, int, int]:
    """z/x/y of the XYZ scheme: 0 ≤ z ≤ 22, 0 ≤ x, y < 2^z."""
    path = request.path_params
    z = _integer(path["z"], argument="z", low=0, high=MAX_ZOOM, what=" (zoom level)")
    side = 2**z
    x = _integer(path["x"], argument="x", low=0, high=side - 1, what=f" at zoom {z}")
    y = _integer(path["y"], argument="y", low=0, high=side - 1, what=f" at zoom {z}")
    return z, x, y


# what a layer code or a feature id can be (territory and layer codes, site numbers); anything else, a NUL
# byte included (PostgreSQL refuses it in text), names nothing, so it is not sent to the database
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


async def _layer(door: RequestDatabase, code: str, *, argument: str = "layer") -> repo.Layer:
    if not _CODE.fullmatch(code):
        raise NotFound(
            f"no territory layer {code[:60]!r}; the OGC API lists them at /ogc/collections", argument=argument
        )
    async with door.read() as session:
        layer = await repo.layer_by_code(session, code)
    if layer is None or layer.code in (SITES, STATES):
        raise NotFound(
            f"no territory layer {code[:60]!r}; the OGC API lists them at /ogc/collections", argument=argument
        )
    return layer


# ---- caching ------------------------------------------------------------------------------------------------


def weak_etag(*parts: object) -> str:
    return 'W/"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def matches(request: Request, etag: str) -> bool:
    """`If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`."""
    given = request.headers.get("if-none-match")
    if not given:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque for tag in given.split(","))


def _tile_response(request: Request, etag: str, tile: bytes | None) -> Response:
    headers = {"etag": etag, "cache-control": CACHE_CONTROL, "vary": "Authorization"}
    if tile is None or matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(tile, media_type=MVT, headers=headers)


# ---- the routes ---------------------------------------------------------------------------------------------


def gis_routes(database: Database, settings: Settings, verifier: TokenVerifier) -> list[BaseRoute]:
    """The routes of this module, for `server.app.create_app`."""

    def endpoint(handler: Handler, *, public: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request, door: RequestDatabase, caller: Caller) -> Response:
            return await handler(request, door)

        return door_route(
            database, settings, verifier, handle, what="GIS request", logger=log, public=public,
            sign_in="sign in: send `Authorization: Bearer <token>` (in QGIS, an authentication configuration "
            "of type API Header)",
        )  # fmt: skip

    # ---- GeoJSON exports

    def stream(
        door: RequestDatabase, name: str, features: Callable[[Any], AsyncIterator[list[str]]]
    ) -> Response:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield ('{"type":"FeatureCollection","name":' + json.dumps(name) + ',"features":[').encode()
                first = True
                async with door.read() as session:
                    async for batch in features(session):
                        yield (("" if first else ",") + ",\n".join(batch)).encode()
                        first = False
                yield b"]}\n"
            except Exception:
                # the status is sent: the client sees a truncated document, the log says why
                log.exception("GeoJSON export of %s stopped", name)
                raise
            finally:
                await door.close()

        return StreamingResponse(
            body(),
            media_type=GEOJSON,
            headers={
                "content-disposition": f'inline; filename="{name}.geojson"',
                "cache-control": CACHE_CONTROL,
            },
        )

    async def layer_geojson(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"precision", "simplify", "asOf"}))
        precision, simplify, as_of = precision_of(params), simplify_of(params), as_of_of(params)
        layer = await _layer(door, request.path_params["layer"])
        return stream(
            door,
            layer.code,
            lambda session: repo.stream_territory_features(
                session, layer_id=layer.id, precision=precision, simplify=simplify, as_of=as_of
            ),
        )

    async def sites_geojson(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"precision", "asOf"}))
        precision, as_of = precision_of(params), as_of_of(params)
        layer = await _layer(door, request.path_params["layer"])
        return stream(
            door,
            f"{layer.code}-sites",
            lambda session: repo.stream_site_features(
                session, layer_id=layer.id, precision=precision, as_of=as_of
            ),
        )

    # ---- vector tiles

    async def territory_tile(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"asOf"}))
        z, x, y = tile_of(request)
        as_of = as_of_of(params)
        layer = await _layer(door, request.path_params["layer"])
        async with door.read() as session:
            etag = weak_etag(
                "territories",
                await repo.layer_fingerprint(session, layer.id),
                await repo.scope_fingerprint(session),
                (z, x, y),
                as_of.isoformat() if as_of else None,
            )
            if matches(request, etag):
                return _tile_response(request, etag, None)
            tile = await repo.territory_tile(session, layer=layer, z=z, x=x, y=y, as_of=as_of)
        return _tile_response(request, etag, tile)

    async def site_tile(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"layer", "asOf"}))
        z, x, y = tile_of(request)
        as_of = as_of_of(params)
        if "layer" not in params:
            raise BadUserInput(
                "layer is required: the territory layer whose territory code each site carries, e.g. "
                "?layer=districts",
                argument="layer",
            )
        layer = await _layer(door, params["layer"])
        async with door.read() as session:
            tile = await repo.site_tile(session, layer=layer, z=z, x=x, y=y, as_of=as_of)
            # which sites a caller sees moves with grants and assignments, not only territory versions:
            # the tile's own bytes decide
            etag = weak_etag("sites", hashlib.sha256(tile).hexdigest(), await repo.scope_fingerprint(session))
        return _tile_response(request, etag, tile)

    async def states_tile(request: Request, door: RequestDatabase) -> Response:
        _params(request, frozenset())
        z, x, y = tile_of(request)
        async with door.read() as session:
            etag = weak_etag("states", await repo.states_fingerprint(session), (z, x, y))
            if matches(request, etag):
                return _tile_response(request, etag, None)
            tile = await repo.states_tile(session, z=z, x=x, y=y)
        return _tile_response(request, etag, tile)

    # ---- OGC API – Features

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/ogc"

    def json_response(content: Any, media_type: str = JSON) -> Response:
        return JSONResponse(content, media_type=media_type, headers={"cache-control": CACHE_CONTROL})

    def json_format(params: dict[str, str]) -> None:
        if params.get("f", "json") != "json":
            raise BadUserInput(f"f must be json here, got {params['f'][:20]!r}", argument="f")

    def feature_format(request: Request, params: dict[str, str]) -> str:
        """The media type of a feature response: `f=geojson|json`, else GeoJSON unless the client's
        Accept asks for plain JSON only."""
        if "f" in params:
            if params["f"] not in ("geojson", "json"):
                raise BadUserInput(f"f must be geojson or json, got {params['f'][:20]!r}", argument="f")
            return GEOJSON if params["f"] == "geojson" else JSON
        accept = request.headers.get("accept", "")
        return JSON if JSON in accept and GEOJSON not in accept else GEOJSON

    def link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
        out = {"href": href, "rel": rel, "type": media_type}
        if title:
            out["title"] = title
        return out

    async def landing(request: Request, door: RequestDatabase) -> Response:
        json_format(_params(request, frozenset({"f"})))
        root = base(request)
        return json_response(
            {
                "title": "Towne Graph: territory layers and sites",
                "description": "Towne Park's territory layers (districts, regions, …) and customer sites, "
                "as OGC API – Features (read). Send the same bearer token as to /graphql.",
                "links": [
                    link(root, "self", JSON, "This document"),
                    link(f"{root}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
                    link(f"{root}/conformance", "conformance", JSON, "Conformance classes implemented"),
                    link(f"{root}/collections", "data", JSON, "The feature collections"),
                ],
            }
        )

    async def conformance(request: Request, door: RequestDatabase) -> Response:
        json_format(_params(request, frozenset({"f"})))
        return json_response(
            {
                "conformsTo": list(CONFORMANCE),
                "links": [link(f"{base(request)}/conformance", "self", JSON, "This document")],
            }
        )

    async def api_definition(request: Request, door: RequestDatabase) -> Response:
        json_format(_params(request, frozenset({"f"})))
        return json_response(openapi_document(base(request)), OPENAPI)

    def temporal(since: dt.datetime | None) -> dict[str, Any]:
        return {
            "interval": [[since.isoformat() if since else None, None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }

    def collection_document(
        request: Request,
        cid: str,
        title: str,
        description: str | None,
        bbox: repo.Box | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        href = f"{base(request)}/collections/{cid}"
        document: dict[str, Any] = {"id": cid, "title": title}
        if description:
            document["description"] = description
        document.update(
            {
                "itemType": "feature",
                "crs": [CRS84],
                "extent": {
                    "spatial": {"bbox": [list(bbox) if bbox else [-180, -90, 180, 90]], "crs": CRS84},
                    **extra,
                },
                "links": [
                    link(href, "self", JSON, "This collection"),
                    link(f"{href}/items", "items", GEOJSON, "Its features as GeoJSON"),
                    link(f"{href}/items?f=json", "items", JSON, "Its features as JSON"),
                ],
            }
        )
        return document

    async def layer_collection(request: Request, session: Any, layer: repo.Layer) -> dict[str, Any]:
        extent = await repo.layer_extent(session, layer.id)
        return collection_document(
            request,
            layer.code,
            layer.name,
            layer.description,
            extent.bbox,
            {"temporal": temporal(extent.since)},
        )

    async def sites_collection(request: Request, session: Any) -> dict[str, Any]:
        return collection_document(
            request,
            SITES,
            "Customer sites",
            "The sites you may see, with their territory code in each territory layer (a property per layer).",
            await repo.sites_extent(session),
            {},
        )

    async def collections(request: Request, door: RequestDatabase) -> Response:
        json_format(_params(request, frozenset({"f"})))
        async with door.read() as session:
            documents = [
                await layer_collection(request, session, layer)
                for layer in await repo.layers(session)
                if layer.code not in (SITES, STATES)
            ]
            documents.append(await sites_collection(request, session))
        return json_response(
            {
                "links": [link(f"{base(request)}/collections", "self", JSON, "This document")],
                "collections": documents,
            }
        )

    async def collection(request: Request, door: RequestDatabase) -> Response:
        json_format(_params(request, frozenset({"f"})))
        cid = request.path_params["collection"]
        async with door.read() as session:
            if cid == SITES:
                return json_response(await sites_collection(request, session))
        layer = await _layer(door, cid, argument="collectionId")
        async with door.read() as session:
            return json_response(await layer_collection(request, session, layer))

    def alternates(href: str, query: dict[str, str], current: str) -> list[dict[str, str]]:
        out = []
        for media_type, f in ((GEOJSON, "geojson"), (JSON, "json")):
            url = href + "?" + urlencode({**query, "f": f})
            out.append(link(url, "self" if media_type == current else "alternate", media_type))
        return out

    async def items(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"f", "limit", "offset", "bbox", "datetime"}))
        media_type = feature_format(request, params)
        limit = LIMIT_DEFAULT
        if "limit" in params:
            # above the maximum is not an error: the maximum is used (OGC 17-069r4 §7.15.3)
            limit = min(_integer(params["limit"], argument="limit", low=1, high=999_999_999), LIMIT_MAX)
        offset = (
            _integer(params["offset"], argument="offset", low=0, high=OFFSET_MAX) if "offset" in params else 0
        )
        bbox, as_of = bbox_of(params), datetime_of(params)
        cid = request.path_params["collection"]
        if cid == SITES:
            async with door.read() as session:
                page = await repo.site_items(session, bbox=bbox, as_of=as_of, limit=limit, offset=offset)
        else:
            layer = await _layer(door, cid, argument="collectionId")
            async with door.read() as session:
                page = await repo.territory_items(
                    session, layer_id=layer.id, bbox=bbox, as_of=as_of, limit=limit, offset=offset
                )
        href = f"{base(request)}/collections/{cid}/items"
        query = {k: v for k, v in params.items() if k not in ("f", "offset")}
        query["limit"] = str(limit)
        links = [
            *alternates(href, {**query, "offset": str(offset)}, media_type),
            link(f"{base(request)}/collections/{cid}", "collection", JSON, "The collection"),
        ]
        if offset + len(page.features) < page.matched:
            next_query = {
                **query,
                "offset": str(offset + limit),
                "f": "json" if media_type == JSON else "geojson",
            }
            links.append(link(href + "?" + urlencode(next_query), "next", media_type, "The next page"))
        if offset > 0:
            prev_query = {
                **query,
                "offset": str(max(0, offset - limit)),
                "f": "json" if media_type == JSON else "geojson",
            }
            links.append(link(href + "?" + urlencode(prev_query), "prev", media_type, "The previous page"))
        head = {
            "type": "FeatureCollection",
            "numberMatched": page.matched,
            "numberReturned": len(page.features),
            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links,
        }
        body = json.dumps(head)[:-1] + ',"features":[' + ",".join(page.features) + "]}"
        return Response(body, media_type=media_type, headers={"cache-control": CACHE_CONTROL})

    async def item(request: Request, door: RequestDatabase) -> Response:
        params = _params(request, frozenset({"f"}))
        media_type = feature_format(request, params)
        cid, fid = request.path_params["collection"], request.path_params["feature"]
        if not _CODE.fullmatch(fid):
            raise NotFound(f"collection {cid[:60]!r} has no feature {fid[:60]!r}", argument="featureId")
        if cid == SITES:
            async with door.read() as session:
                page = await repo.site_items(
                    session, bbox=None, as_of=None, limit=1, offset=0, site_number=fid
                )
        else:
            layer = await _layer(door, cid, argument="collectionId")
            async with door.read() as session:
                page = await repo.territory_items(
                    session, layer_id=layer.id, bbox=None, as_of=None, limit=1, offset=0, code=fid
                )
        if not page.features:
            raise NotFound(f"collection {cid!r} has no feature {fid[:60]!r}", argument="featureId")
        href = f"{base(request)}/collections/{cid}/items/{fid}"
        links = [
            *alternates(href, {}, media_type),
            link(f"{base(request)}/collections/{cid}", "collection", JSON, "The collection"),
        ]
        body = page.features[0][:-1] + ',"links":' + json.dumps(links) + "}"
        return Response(body, media_type=media_type, headers={"cache-control": CACHE_CONTROL})

    return [
        Route("/layers/{layer}.geojson", endpoint(layer_geojson)),
        Route("/layers/{layer}/sites.geojson", endpoint(sites_geojson)),
        Route("/tiles/sites/{z}/{x}/{y}.mvt", endpoint(site_tile)),
        Route("/tiles/states/{z}/{x}/{y}.mvt", endpoint(states_tile)),
        Route("/tiles/{layer}/{z}/{x}/{y}.mvt", endpoint(territory_tile)),
        Route("/ogc", endpoint(landing, public=True)),
        Route("/ogc/", endpoint(landing, public=True)),
        Route("/ogc/conformance", endpoint(conformance, public=True)),
        Route("/ogc/api", endpoint(api_definition, public=True)),
        Route("/ogc/collections", endpoint(collections)),
        Route("/ogc/collections/{collection}", endpoint(collection)),
        Route("/ogc/collections/{collection}/items", endpoint(items)),
        Route("/ogc/collections/{collection}/items/{feature}", endpoint(item)),
    ]


def openapi_document(root: str) -> dict[str, Any]:
    """The OpenAPI 3.0 definition of the OGC API – Features routes (`service-desc` of the landing page)."""

    def parameter(
        name: str, where: str, schema: dict[str, Any], description: str, **extra: Any
    ) -> dict[str, Any]:
        return {"name": name, "in": where, "schema": schema, "description": description, **extra}

    f = parameter("f", "query", {"type": "string", "enum": ["json", "geojson"]}, "The response format.")
    collection_id = parameter(
        "collectionId", "path", {"type": "string"}, "A territory layer code, or `sites`.", required=True
    )
    feature_id = parameter(
        "featureId", "path", {"type": "string"}, "Territory code, or site number.", required=True
    )
    items_parameters = [
        collection_id,
        parameter(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT},
            "Page size.",
        ),
        parameter("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip."),
        parameter(
            "bbox",
            "query",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "minLon,minLat,maxLon,maxLat (CRS84); minLon > maxLon crosses the antimeridian.",
            style="form",
            explode=False,
        ),
        parameter("datetime", "query", {"type": "string"}, "One instant (RFC 3339): the layer as of then."),
        f,
    ]

    def get(summary: str, parameters: list[dict[str, Any]], media_types: tuple[str, ...]) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {m: {"schema": {"type": "object"}} for m in media_types},
                    },
                    "400": {"description": "A parameter is unknown or unusable (code BAD_USER_INPUT)."},
                    "401": {"description": "No usable bearer token."},
                    "404": {"description": "No such collection or feature."},
                },
            }
        }

    return {
        "openapi": "3.0.3",
        "info": {"title": "Towne Graph OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": root}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
        "security": [{"bearer": []}],
        "paths": {
            "/": get("Landing page", [f], (JSON,)),
            "/conformance": get("Conformance classes", [f], (JSON,)),
            "/api": get("This API definition", [f], (OPENAPI,)),
            "/collections": get("Feature collections", [f], (JSON,)),
            "/collections/{collectionId}": get("One collection", [collection_id, f], (JSON,)),
            "/collections/{collectionId}/items": get("Its features", items_parameters, (GEOJSON, JSON)),
            "/collections/{collectionId}/items/{featureId}": get(
                "One feature", [collection_id, feature_id, f], (GEOJSON, JSON)
            ),
        },
    }
