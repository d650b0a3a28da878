"""Benchmark: our GraphQL read path against PostGraphile 4 over the same database (issue 8).

    .venv/bin/python bench/graphql_peer.py [--requests 200] [--concurrency 1,4] [--rounds 2] [--quick] [--keep]

* Builds (once, reused) the database `towne_bench_peer`: migrations and the real data (`towne import`), plus
  one SQL function in its own schema `peer` for PostGraphile, which cannot order by distance:
  `peer.sites_near(lon, lat, radius_meters)`, the sites within the radius by geodesic distance.
* Installs PostGraphile 4 with @graphile/postgis and postgraphile-plugin-connection-filter (v2, the v4 line)
  in `.data/peer/` (gitignored; none of it is committed) and runs it as the database owner, without row
  scopes, `--disable-query-log`, and without `--no-ignore-indexes` (that flag hides the relations whose
  foreign key has no index of its own, e.g. territory → its assignments).
* Starts our server (`towne serve`, one process) from the repository this script is in, so a run on another
  branch measures that branch, over the same database, and calls it as a signed-in `billingManager`: every
  read goes through the row-level security policies (the role sees every site, so both answers can match).
* Phase 1, statement counts and identical rows: both servers connect through a counting proxy in this
  process (the PostgreSQL wire protocol: each simple `Query` and each extended-protocol `Execute` is one
  statement); every query runs a few times on each, and the normalised rows must be equal. "data" excludes
  transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT…), SET/`set_config` and pings; "all" counts everything.
* Phase 2, timing: both servers restarted on direct connections, each query at each concurrency, the two
  servers alternating in rounds (the order swapped each round) after a warm-up; req/s, p50 and p95.

Prints a markdown table; figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import migrate_and_import  # noqa: E402
from db.database import Database  # noqa: E402

DATABASE = "towne_bench_peer"
SCRATCH = REPO / ".data" / "peer"
BENCH_USER = "bench-peer-billing-manager"
ROLE = "billingManager"
PGL_PACKAGES = ("postgraphile@4", "@graphile/postgis@0.2", "postgraphile-plugin-connection-filter@2")
# relation filters (`some`) so "the sites of a district" can be asked of allCustomerSites, ordered by number
PGL_RC = "module.exports = { options: { graphileBuildOptions: { connectionFilterRelations: true } } };\n"
SITES_NEAR = (
    "CREATE SCHEMA IF NOT EXISTS peer",
    """CREATE OR REPLACE FUNCTION peer.sites_near(lon double precision, lat double precision,
                                           radius_meters double precision)
RETURNS SETOF public.customer_site LANGUAGE sql STABLE AS $$
  SELECT s.* FROM public.customer_site s
  WHERE ST_DWithin(s.location::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, radius_meters)
  ORDER BY ST_Distance(s.location::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography),
           s.site_number
$$""",
)

# ------------------------------------------------------------------------------------------------ queries

DISTRICT = "orlando"  # 45 sites in the districts layer
POINT = {"lon": -81.3792, "lat": 28.5383}  # downtown Orlando: 40 sites within 50 km
SITE = "0349"  # a fully configured contract

OURS_DISTRICT = """query ($code: String!) { territory(layer: "districts", code: $code) { code name
  sites(first: 100) { totalCount edges { node { siteNumber name city state
    contract { billingType } territories { method layer { code } territory { code name } } } } } } }"""
PGL_DISTRICT = """query ($code: String!) {
  territoryLayerByCode(code: "districts") { territoriesByLayerId(condition: {code: $code}) { nodes { code name } } }
  allCustomerSites(orderBy: SITE_NUMBER_ASC, filter: {siteTerritoryAssignmentsBySiteId: {some: {
      validTo: {isNull: true}, territoryByTerritoryId: {code: {equalTo: $code},
      territoryLayerByLayerId: {code: {equalTo: "districts"}}}}}}) { totalCount nodes { siteNumber name city state
    contractBySiteId { billingType }
    siteTerritoryAssignmentsBySiteId(filter: {validTo: {isNull: true}}) { nodes { method
      territoryLayerByLayerId { code } territoryByTerritoryId { code name } } } } } }"""

CONTRACT_FIELDS = """contractType billingType buildingBlocks incrementPercentage incrementMonth consumerPriceIndex
  deviationAmount deviationPercentage paymentTerms purchaseOrder deposits hoursBackupReport supportingReports
  configurationSource"""
OURS_BY_NAME = (
    "{ sites(first: 100, orderBy: NAME) { edges { node { siteNumber name city state parkingSpaces rooms\n"
    f"  contract {{ {CONTRACT_FIELDS} }} }} }} }} }}"
)
PGL_BY_NAME = (
    "{ allCustomerSites(first: 100, orderBy: [NAME_ASC, SITE_NUMBER_ASC]) { nodes { siteNumber name city state\n"
    f"  parkingSpaces rooms contractBySiteId {{ {CONTRACT_FIELDS} }} }} }} }}"
)

OURS_NEAR = """query ($lon: Float!, $lat: Float!) {
  sites(first: 100, orderBy: DISTANCE, filter: {near: {lon: $lon, lat: $lat, radiusMeters: 50000}}) {
    totalCount edges { node { siteNumber name city state location } } } }"""
PGL_NEAR = """query ($lon: Float!, $lat: Float!) {
  sitesNear(lon: $lon, lat: $lat, radiusMeters: 50000, first: 100) {
    totalCount nodes { siteNumber name city state location { geojson } } } }"""

SITE_FIELDS = """siteNumber name address street city state zip sourceDistrict glString parkingSpaces rooms
  startDate closeDate isActive geocodeMethod vendorId"""
OURS_SITE = f"""query ($n: String!) {{ site(siteNumber: $n) {{ id {SITE_FIELDS} location
  territories {{ method validFrom validTo layer {{ id code name kind description }}
    territory {{ id code name sourceDistrict version areaKm2 }} }}
  contract {{ id {CONTRACT_FIELDS} occupiedRoom {{ rate code invoiceGroup }}
    invoiceGroups {{ groupNumber title description siteNumberOverride customerName vendorId }}
    fixedFeeServices {{ name displayName code fee startDate endDate invoiceGroup }}
    laborHourJobs {{ name displayName jobCode code rate overtimeRate isSalaried startDate endDate invoiceGroup }}
    revenueShareThresholds {{ position revenueCodes accumulationType tiers {{ amount sharePercentage }}
      validationThresholdType validationThresholdAmount invoiceGroup }}
    blockSettings {{ buildingBlock invoiceGroup settings validFrom validTo }} }} }} }}"""
PGL_SITE = f"""query ($n: String!) {{ customerSiteBySiteNumber(siteNumber: $n) {{ id {SITE_FIELDS}
  location {{ geojson }}
  siteTerritoryAssignmentsBySiteId(filter: {{validTo: {{isNull: true}}}}) {{ nodes {{ method validFrom validTo
    territoryLayerByLayerId {{ id code name kind description }}
    territoryByTerritoryId {{ id code name sourceDistrict version areaKm2 }} }} }}
  contractBySiteId {{ id {CONTRACT_FIELDS} occupiedRoomRate occupiedRoomCode occupiedRoomInvoiceGroup
    invoiceGroupsByContractId {{ nodes {{ groupNumber title description siteNumberOverride customerName vendorId }} }}
    fixedFeeServicesByContractId {{ nodes {{ name displayName code fee startDate endDate invoiceGroup }} }}
    laborHourJobsByContractId {{ nodes {{ name displayName jobCode code rate overtimeRate isSalaried startDate
      endDate invoiceGroup }} }}
    revenueShareThresholdsByContractId {{ nodes {{ position revenueCodes accumulationType tiers
      validationThresholdType validationThresholdAmount invoiceGroup }} }}
    contractComponentsByContractId {{ nodes {{ buildingBlock invoiceGroup settings validFrom validTo }} }} }} }} }}"""


def _territories_ours(node: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted(
        (t["method"].lower(), t["layer"]["code"], (t["territory"] or {}).get("code"))
        for t in node["territories"]
    )


def _territories_pgl(node: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted(
        (
            a["method"].lower(),
            a["territoryLayerByLayerId"]["code"],
            (a["territoryByTerritoryId"] or {}).get("code"),
        )
        for a in node["siteTerritoryAssignmentsBySiteId"]["nodes"]
    )


def _site_row(node: dict[str, Any], contract: dict[str, Any] | None) -> tuple[Any, ...]:
    return (
        node["siteNumber"],
        node["name"],
        node["city"],
        node["state"],
        (contract or {}).get("billingType"),
    )


def norm_district_ours(data: dict[str, Any]) -> Any:
    t = data["territory"]
    nodes = [e["node"] for e in t["sites"]["edges"]]
    return (
        t["code"],
        t["name"],
        t["sites"]["totalCount"],
        [(_site_row(n, n["contract"]), _territories_ours(n)) for n in nodes],
    )


def norm_district_pgl(data: dict[str, Any]) -> Any:
    (t,) = data["territoryLayerByCode"]["territoriesByLayerId"]["nodes"]
    sites = data["allCustomerSites"]
    return (
        t["code"],
        t["name"],
        sites["totalCount"],
        [(_site_row(n, n["contractBySiteId"]), _territories_pgl(n)) for n in sites["nodes"]],
    )


def _contract_key(c: dict[str, Any] | None) -> tuple[Any, ...] | None:
    if c is None:
        return None
    return (c["billingType"], c["contractType"], tuple(c["buildingBlocks"]), c["paymentTerms"], c["deposits"])


def norm_by_name_ours(data: dict[str, Any]) -> Any:
    return [
        (*_site_row(e["node"], e["node"]["contract"]), _contract_key(e["node"]["contract"]))
        for e in data["sites"]["edges"]
    ]


def norm_by_name_pgl(data: dict[str, Any]) -> Any:
    return [
        (*_site_row(n, n["contractBySiteId"]), _contract_key(n["contractBySiteId"]))
        for n in data["allCustomerSites"]["nodes"]
    ]


def _lonlat(geojson: Any) -> tuple[float, float] | None:
    if geojson is None:
        return None
    if isinstance(geojson, str):  # PostGraphile's GeoJSON scalar is the JSON text
        geojson = json.loads(geojson)
    lon, lat = geojson["coordinates"]
    return (round(float(lon), 6), round(float(lat), 6))


def norm_near_ours(data: dict[str, Any]) -> Any:
    s = data["sites"]
    return (
        s["totalCount"],
        [(n["siteNumber"], _lonlat(n["location"])) for n in (e["node"] for e in s["edges"])],
    )


def norm_near_pgl(data: dict[str, Any]) -> Any:
    s = data["sitesNear"]
    return (
        s["totalCount"],
        [(n["siteNumber"], _lonlat((n["location"] or {}).get("geojson"))) for n in s["nodes"]],
    )


def norm_site_ours(data: dict[str, Any]) -> Any:
    s = data["site"]
    c = s["contract"]
    return (
        s["siteNumber"],
        s["name"],
        s["glString"],
        _lonlat(s["location"]),
        _territories_ours(s),
        _contract_key(c),
        sorted(g["groupNumber"] for g in c["invoiceGroups"]),
        sorted(f["code"] for f in c["fixedFeeServices"]),
        sorted(j["jobCode"] for j in c["laborHourJobs"]),
        sorted(r["position"] for r in c["revenueShareThresholds"]),
        len(c["blockSettings"]),
    )


def norm_site_pgl(data: dict[str, Any]) -> Any:
    s = data["customerSiteBySiteNumber"]
    c = s["contractBySiteId"]
    return (
        s["siteNumber"],
        s["name"],
        s["glString"],
        _lonlat((s["location"] or {}).get("geojson")),
        _territories_pgl(s),
        _contract_key(c),
        sorted(g["groupNumber"] for g in c["invoiceGroupsByContractId"]["nodes"]),
        sorted(f["code"] for f in c["fixedFeeServicesByContractId"]["nodes"]),
        sorted(j["jobCode"] for j in c["laborHourJobsByContractId"]["nodes"]),
        sorted(r["position"] for r in c["revenueShareThresholdsByContractId"]["nodes"]),
        len(c["contractComponentsByContractId"]["nodes"]),
    )


@dataclass(frozen=True)
class Side:
    document: str
    variables: dict[str, Any]
    normalise: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Query:
    label: str
    ours: Side
    pgl: Side


QUERIES = (
    Query(
        f"one district ({DISTRICT}) → its sites → contract billing type and territories",
        Side(OURS_DISTRICT, {"code": DISTRICT}, norm_district_ours),
        Side(PGL_DISTRICT, {"code": DISTRICT}, norm_district_pgl),
    ),
    Query(
        "first 100 sites by name with contract fields",
        Side(OURS_BY_NAME, {}, norm_by_name_ours),
        Side(PGL_BY_NAME, {}, norm_by_name_pgl),
    ),
    Query(
        "sites within 50 km of a point (40 sites), by distance",
        Side(OURS_NEAR, POINT, norm_near_ours),
        Side(PGL_NEAR, POINT, norm_near_pgl),
    ),
    Query(
        f"one site ({SITE}) with every nested field",
        Side(OURS_SITE, {"n": SITE}, norm_site_ours),
        Side(PGL_SITE, {"n": SITE}, norm_site_pgl),
    ),
)

# ----------------------------------------------------------------------------------------------- database


def owner_url() -> str:
    """The bench database's URL (owner): `DATABASE_URL`'s server, else the embedded cluster's."""
    if os.environ.get("DATABASE_URL"):
        from server.settings import normalise_url

        base = os.environ["DATABASE_URL"]
        return make_url(normalise_url(base)).set(database=DATABASE).render_as_string(hide_password=False)
    from server import devdb

    return devdb.ensure_database(DATABASE)


async def ensure_data(url: str) -> None:
    """Migrations to head, the real data when the database has no sites, the `peer` SQL function."""
    database = await migrate_and_import(url)
    try:
        async with database.transaction() as session:
            for statement in SITES_NEAR:
                await session.execute(text(statement))
    finally:
        await database.dispose()


async def bench_token(url: str, secret: str) -> str:
    from db.repositories.users import Grants, upsert_user
    from server.settings import Settings
    from server.tokens import issue

    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            await upsert_user(session, subject=BENCH_USER, grants=Grants(roles=(ROLE,)), granted_by="bench")
    finally:
        await database.dispose()
    import datetime as dt

    return issue(Settings(TOWNE_JWT_SECRET=secret), BENCH_USER, ttl=dt.timedelta(hours=8))


# ------------------------------------------------------------------------------------ statement counting

_CONTROL = re.compile(
    r"\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|SET|RESET|DISCARD|DEALLOCATE|"
    r"SELECT\s+set_config\b|SELECT\s+pg_catalog\.set_config\b|SELECT\s+1\s*;?\s*$|;?\s*$)",
    re.IGNORECASE,
)


def is_control(sql: str) -> bool:
    """Transaction control, SET/set_config and pings: not a data statement."""
    return _CONTROL.match(sql) is not None and not re.match(
        r"\s*SELECT\s+set_config\b.*\bFROM\b", sql, re.IGNORECASE | re.DOTALL
    )


@dataclass
class Counts:
    data: int = 0
    all: int = 0
    texts: Counter[str] = field(default_factory=Counter)


class CountingProxy:
    """A TCP proxy in front of PostgreSQL that counts the statements clients run (frontend messages `Q`, and
    `E` resolved through `B` and `P` to their text). SSL and GSSAPI encryption requests are answered `N`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.counts = Counts()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    def _count(self, sql: str) -> None:
        self.counts.all += 1
        control = is_control(sql)
        self.counts.data += not control
        self.counts.texts[("(not counted as data) " if control else "") + " ".join(sql.split())[:120]] += 1

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # startup: SSLRequest / GSSENCRequest answered N, then the startup message
                head = await reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                if length == 8 and code in (80877103, 80877104):
                    writer.write(b"N")
                    await writer.drain()
                    continue
                startup = head + await reader.readexactly(length - 8)
                break
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            up_writer.write(startup)
            back = asyncio.ensure_future(self._pipe(up_reader, writer))
            try:
                await self._frontend(reader, up_writer)
            finally:
                back.cancel()
                up_writer.close()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        writer.close()

    async def _frontend(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        statements: dict[bytes, str] = {}
        portals: dict[bytes, str] = {}
        while True:
            head = await reader.readexactly(5)
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            body = await reader.readexactly(length - 4)
            if kind == b"Q":
                self._count(body.rstrip(b"\0").decode("utf-8", "replace"))
            elif kind == b"P":
                name, rest = body.split(b"\0", 1)
                statements[name] = rest.split(b"\0", 1)[0].decode("utf-8", "replace")
            elif kind == b"B":
                portal, statement, _ = body.split(b"\0", 2)
                portals[portal] = statements.get(statement, "?")
            elif kind == b"E":
                portal = body.split(b"\0", 1)[0]
                self._count(portals.get(portal, "?"))
            writer.write(head + body)
            await writer.drain()
            if kind == b"X":
                return


# ---------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_postgraphile() -> Path:
    binary = SCRATCH / "node_modules" / ".bin" / "postgraphile"
    SCRATCH.mkdir(parents=True, exist_ok=True)
    (SCRATCH / ".postgraphilerc.js").write_text(PGL_RC)
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to install PostGraphile (node 18+)")
        (SCRATCH / "package.json").write_text('{"name": "towne-bench-peer", "private": true}\n')
        print(f"npm install {' '.join(PGL_PACKAGES)} in {SCRATCH} …", file=sys.stderr)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", *PGL_PACKAGES], cwd=SCRATCH, check=True)
    return binary


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str]


def _libpq_url(url: str, port: int | None = None) -> str:
    u = make_url(url)
    if port is not None:
        u = u.set(port=port, host="127.0.0.1")
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _serve_supports_workers() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--help"], cwd=REPO, capture_output=True, text=True
    )
    return "--workers" in out.stdout


def start_ours(db_url: str, secret: str, token: str, log: Path) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "TOWNE_JWT_SECRET": secret, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    if _serve_supports_workers():
        command += ["--workers", "1"]  # one process, like PostGraphile's one node process
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return Server(
        "Towne Graph",
        f"http://127.0.0.1:{port}/graphql",
        process,
        {"authorization": f"Bearer {token}", "accept-encoding": "identity"},
    )


def start_postgraphile(binary: Path, db_url: str, log: Path) -> Server:
    port = free_port()
    command = [
        str(binary),
        "--connection",
        _libpq_url(db_url),
        "--schema",
        "public,peer",
        "--append-plugins",
        "@graphile/postgis,postgraphile-plugin-connection-filter",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-query-log",
        "--disable-graphiql",
    ]
    process = subprocess.Popen(command, cwd=SCRATCH, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return Server(
        "PostGraphile", f"http://127.0.0.1:{port}/graphql", process, {"accept-encoding": "identity"}
    )


async def wait_ready(client: httpx.AsyncClient, server: Server, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.process.returncode}; see {SCRATCH}/*.log")
        with contextlib.suppress(httpx.HTTPError):
            r = await client.post(server.url, json={"query": "{ __typename }"}, headers=server.headers)
            if r.status_code == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not answer within {timeout_s} s")
        await asyncio.sleep(0.3)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.asynccontextmanager
async def servers(
    db_url: str, binary: Path, secret: str, token: str, *, keep: bool = False
) -> AsyncIterator[tuple[Server, Server]]:
    log = SCRATCH / "servers.log"
    ours = start_ours(db_url, secret, token, log)
    pgl = start_postgraphile(binary, db_url, log)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(wait_ready(client, ours), wait_ready(client, pgl))
        yield ours, pgl
    finally:
        if keep:
            print(f"left running: {ours.url} (pid {ours.process.pid}), {pgl.url} (pid {pgl.process.pid})")
        else:
            stop(ours)
            stop(pgl)


# ------------------------------------------------------------------------------------------------ running


async def call(client: httpx.AsyncClient, server: Server, side: Side) -> dict[str, Any]:
    r = await client.post(
        server.url, json={"query": side.document, "variables": side.variables}, headers=server.headers
    )
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise SystemExit(f"{server.name} answered {r.status_code}: {str(body)[:2000]}")
    data: dict[str, Any] = body["data"]
    return data


@dataclass
class Timing:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def load(
    client: httpx.AsyncClient, server: Server, side: Side, n: int, concurrency: int, t: Timing
) -> None:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call(client, server, side)
            t.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    t.wall += time.perf_counter() - started


async def count_and_check(
    url: str, binary: Path, secret: str, token: str, per_query: int, *, verbose: bool
) -> dict[str, dict[str, tuple[float, float]]]:
    """Phase 1: statements per request through the counting proxy, and identical normalised rows."""
    u = make_url(url)
    proxy = CountingProxy((u.host or "127.0.0.1", u.port or 5432))
    await proxy.start()
    proxied = u.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    counts: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        async with (
            servers(proxied, binary, secret, token) as (ours, pgl),
            httpx.AsyncClient(timeout=60) as client,
        ):
            for q in QUERIES:
                counts[q.label] = {}
                answers = []
                for server, side in ((ours, q.ours), (pgl, q.pgl)):
                    await call(client, server, side)  # warm: prepared statements, caches, pool
                    proxy.counts = Counts()
                    for _ in range(per_query):
                        data = await call(client, server, side)
                    c = proxy.counts
                    counts[q.label][server.name] = (c.data / per_query, c.all / per_query)
                    if verbose:
                        print(f"-- {server.name}: {q.label}", file=sys.stderr)
                        for sql, k in c.texts.most_common():
                            print(f"   {k / per_query:5.1f} × {sql}", file=sys.stderr)
                    answers.append(side.normalise(data))
                if answers[0] != answers[1]:
                    raise SystemExit(
                        f"the answers differ for {q.label!r}:\n  ours {answers[0]!r:.3000}\n  PGL  {answers[1]!r:.3000}"
                    )
                rows = answers[0][-1] if isinstance(answers[0], tuple) else answers[0]
                print(f"same rows: {q.label} ({len(rows) if isinstance(rows, list) else 1})", file=sys.stderr)
    finally:
        await proxy.stop()
    return counts


async def measure(
    url: str, binary: Path, secret: str, token: str, n: int, levels: list[int], rounds: int, keep: bool
) -> dict[tuple[str, int], dict[str, Timing]]:
    """Phase 2: each query at each concurrency, the servers alternating in `rounds` (order swapped)."""
    results: dict[tuple[str, int], dict[str, Timing]] = {}
    limits = httpx.Limits(max_connections=max(levels) * 2, max_keepalive_connections=max(levels) * 2)
    async with (
        servers(url, binary, secret, token, keep=keep) as (ours, pgl),
        httpx.AsyncClient(timeout=60, limits=limits) as client,
    ):
        for q in QUERIES:
            for c in levels:
                timings = {ours.name: Timing(), pgl.name: Timing()}
                pairs = [(ours, q.ours), (pgl, q.pgl)]
                for server, side in pairs:  # warm-up, untimed
                    await load(client, server, side, max(5, n // 10), c, Timing())
                for r in range(rounds):
                    for server, side in pairs if r % 2 == 0 else pairs[::-1]:
                        await load(client, server, side, max(1, n // rounds), c, timings[server.name])
                results[(q.label, c)] = timings
                print(
                    f"{q.label} c={c}: " + ", ".join(f"{k} {t.rps:.1f} req/s" for k, t in timings.items()),
                    file=sys.stderr,
                )
    return results


def table(
    counts: dict[str, dict[str, tuple[float, float]]], results: dict[tuple[str, int], dict[str, Timing]]
) -> str:
    lines = [
        "| query | c | Towne Graph req/s | p50 / p95 ms | PostGraphile req/s | p50 / p95 ms | req/s ratio "
        "(Towne/PGL) | SQL statements per request, data (all): Towne / PGL |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (label, c), t in results.items():
        ours, pgl = t["Towne Graph"], t["PostGraphile"]
        co, cp = counts[label]["Towne Graph"], counts[label]["PostGraphile"]
        lines.append(
            f"| {label} | {c} | {ours.rps:.1f} | {ours.pct(0.5):.1f} / {ours.pct(0.95):.1f} | {pgl.rps:.1f} | "
            f"{pgl.pct(0.5):.1f} / {pgl.pct(0.95):.1f} | {ours.rps / pgl.rps:.2f} | "
            f"{co[0]:g} ({co[1]:g}) / {cp[0]:g} ({cp[1]:g}) |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    url = owner_url()
    await ensure_data(url)
    binary = ensure_postgraphile()
    secret = secrets.token_urlsafe(48)
    token = await bench_token(url, secret)
    levels = [int(v) for v in args.concurrency.split(",") if v.strip()]
    counts = await count_and_check(url, binary, secret, token, per_query=3, verbose=args.verbose)
    results = await measure(url, binary, secret, token, args.requests, levels, args.rounds, args.keep)
    print(
        f"\n{args.requests} requests per query, server and concurrency ({args.rounds} alternating rounds), "
        f"as {ROLE} (row scopes) against PostGraphile as the owner\n"
    )
    print(table(counts, results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per query, server, concurrency"
    )
    parser.add_argument(
        "--concurrency", default="1,4", help="comma-separated concurrency levels (default 1,4)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds the requests are split into"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 requests per query and level")
    parser.add_argument("--keep", action="store_true", help="leave the timing servers running at the end")
    parser.add_argument("--verbose", action="store_true", help="print each server's statements per query")
    args = parser.parse_args()
    if args.quick:
        args.requests = 20
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
