"""The GraphQL API over the real data: sites, filters, territories, contracts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient

SITE = """
query ($n: String!) {
  site(siteNumber: $n) {
    siteNumber name street city state zip sourceDistrict glString geocodeMethod location
    territories { layer { code kind } territory { code name sourceDistrict } method validTo }
    district: territory(layer: "districts") { territory { code } }
    contract { billingType buildingBlocks configurationSource paymentTerms
               fixedFeeServices { displayName code fee } invoiceGroups { groupNumber title } site { siteNumber } }
  }
}
"""


async def test_site_by_number_with_location_territories_and_contract(gql: GraphQLClient) -> None:
    site = (await gql.data(SITE, n="349"))["site"]  # leading zero optional
    assert site["siteNumber"] == "0349"
    assert (site["street"], site["city"], site["state"], site["zip"]) == (
        "1751 Hotel Plaza Boulevard", "Lake Buena Vista", "FL", "32830",
    )  # fmt: skip
    assert site["location"] == {"type": "Point", "coordinates": [-81.569, 28.3822]}
    assert site["geocodeMethod"] == "ZIP"
    layers = {t["layer"]["code"]: t for t in site["territories"]}
    assert layers["districts"]["territory"] == {
        "code": "orlando",
        "name": "Orlando",
        "sourceDistrict": "D - Orlando",
    }
    assert layers["regions"]["territory"]["code"] == "east"
    assert layers["upp-districts"]["territory"] is None  # explicitly unassigned in the overlay
    assert layers["upp-districts"]["layer"]["kind"] == "OVERLAY"
    assert site["district"] == {"territory": {"code": "orlando"}}
    contract = site["contract"]
    assert contract["billingType"] == "ARREARS" and contract["buildingBlocks"] == ["FIXED_FEE"]
    assert contract["configurationSource"] == "snapshot"
    assert [(s["displayName"], s["fee"]) for s in contract["fixedFeeServices"]] == [
        ("Fixed Billable Expenses", "30800.00"),  # Money: always 2 decimals
        ("Management Fee", "2500.00"),
    ]
    assert contract["site"]["siteNumber"] == "0349"


async def test_unknown_site_number_is_null_not_an_error(gql: GraphQLClient) -> None:
    assert (await gql.data(SITE, n="9999"))["site"] is None
    assert (await gql.data(SITE, n="not-a-number"))["site"] is None


async def test_invoice_groups_of_a_hybrid_contract(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ site(siteNumber: "0429") { contract { buildingBlocks invoiceGroups { groupNumber title }'
        " laborHourJobs { jobCode rate overtimeRate invoiceGroup }"
        " revenueShareThresholds { accumulationType tiers { sharePercentage amount } validationThresholdType }"
        " blockSettings { buildingBlock invoiceGroup settings } } } }"
    )
    contract = data["site"]["contract"]
    assert [(g["groupNumber"], g["title"]) for g in contract["invoiceGroups"]] == [
        (1, "Rev Share"),
        (2, "PLH"),
    ]
    assert {
        (j["jobCode"], j["rate"], j["overtimeRate"], j["invoiceGroup"]) for j in contract["laborHourJobs"]
    } == {
        ("BELL", "24.8400", "24.8400", 2),
        ("ROOMSTEW", "26.0000", "32.5000", 2),
    }
    assert contract["revenueShareThresholds"][0]["tiers"] == [
        {"sharePercentage": "24.0000", "amount": "0.00"}
    ]
    settings = {s["buildingBlock"]: s["settings"] for s in contract["blockSettings"]}
    assert settings["MID_MONTH_ADVANCE"] == {
        "amount": "30000.0",
        "line_title": "MID_MONTH_BILLING",
        "invoice_group": 1,
    }


CONNECTION = """
query ($filter: SiteFilter, $first: Int, $after: String, $orderBy: SiteOrderField, $from: PointInput) {
  sites(filter: $filter, first: $first, after: $after, orderBy: $orderBy, distanceFrom: $from) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor distanceMeters node { siteNumber name state sourceDistrict } }
  }
}
"""


async def _sites(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    return dict((await gql.data(CONNECTION, **variables))["sites"])


async def test_pagination_walks_every_site_once(gql: GraphQLClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = await _sites(gql, first=200, after=after)
        seen += [e["node"]["siteNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert page["totalCount"] == 649
    assert len(seen) == len(set(seen)) == 649
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        # 38 legacy Orlando sites + 7 T-Park sites inside the polygon (territories/README.md)
        ({"territory": {"layer": "districts", "code": "orlando"}}, 45),
        ({"territory": {"layer": "upp-districts", "code": "portland-upp"}}, None),
        ({"sourceDistrict": "D - Orlando"}, 38),
        ({"state": "fl"}, 115),
        ({"buildingBlock": "PER_OCCUPIED_ROOM"}, 11),
        ({"sourceDistrictMismatch": "districts"}, 20),
    ],
)
async def test_filters(gql: GraphQLClient, filter_: dict[str, Any], expected: int | None) -> None:
    page = await _sites(gql, filter=filter_, first=5)
    if expected is None:
        assert page["totalCount"] > 0
    else:
        assert page["totalCount"] == expected


async def test_territory_filter_matches_point_in_polygon(gql: GraphQLClient) -> None:
    data = await gql.data('{ territory(layer: "districts", code: "orlando") { siteCount } }')
    page = await _sites(gql, filter={"territory": {"layer": "districts", "code": "orlando"}}, first=500)
    assert data["territory"]["siteCount"] == page["totalCount"] == len(page["edges"])


async def test_text_search_bbox_and_within_metres(gql: GraphQLClient) -> None:
    found = await _sites(gql, filter={"search": "opryland"}, first=10)
    assert "0170" in [e["node"]["siteNumber"] for e in found["edges"]]
    none = await _sites(gql, filter={"search": "100%_no_such"}, first=10)  # LIKE wildcards are literal
    assert none["totalCount"] == 0
    # Greater Miami bounding box
    box = await _sites(gql, filter={"bbox": [-80.5, 25.5, -80.0, 26.0]}, first=500)
    assert box["totalCount"] > 0 and all(e["node"]["state"] == "FL" for e in box["edges"])
    near = await _sites(
        gql,
        filter={"near": {"lon": -81.569, "lat": 28.3822, "radiusMeters": 2000}},
        first=50,
        orderBy="DISTANCE",
    )
    distances = [e["distanceMeters"] for e in near["edges"]]
    assert near["edges"][0]["node"]["siteNumber"] in {"0349"} or distances[0] == 0
    assert distances == sorted(distances) and distances[-1] <= 2000


async def test_order_by_name_and_distance(gql: GraphQLClient) -> None:
    names = [e["node"]["name"] for e in (await _sites(gql, first=20, orderBy="NAME"))["edges"]]
    assert names == sorted(names)
    location = (await gql.data('{ site(siteNumber: "0170") { location } }'))["site"]["location"]
    lon, lat = location["coordinates"]
    nearest = await _sites(gql, first=3, orderBy="DISTANCE", **{"from": {"lon": lon, "lat": lat}})
    assert nearest["edges"][0]["node"]["siteNumber"] == "0170"  # Gaylord Opryland, Nashville
    assert nearest["edges"][0]["distanceMeters"] == 0
    distances = [e["distanceMeters"] for e in nearest["edges"]]
    assert distances == sorted(distances)  # several sites may share an address (§6.1), hence ≤


async def test_territory_layers_geometry_and_area(gql: GraphQLClient) -> None:
    data = await gql.data(
        "{ territoryLayers { code kind territories { code } }"
        ' territory(layer: "regions", code: "east") { name areaKm2 version siteCount layer { code }'
        " geometry(simplifyTolerance: 0.05) } }"
    )
    layers = {layer["code"]: layer for layer in data["territoryLayers"]}
    assert [layer["code"] for layer in data["territoryLayers"]] == ["districts", "regions", "upp-districts"]
    assert len(layers["districts"]["territories"]) == 33
    east = data["territory"]
    assert east["geometry"]["type"] == "MultiPolygon"
    lon, lat = east["geometry"]["coordinates"][0][0][0]
    assert -130 < lon < -60 and 20 < lat < 50  # RFC 7946 order: lon, lat
    assert 1_000_000 < east["areaKm2"] < 4_000_000
    assert east["siteCount"] > 300 and east["version"] == 1


async def test_territory_sites_connection(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ territory(layer: "districts", code: "annapolis") { siteCount sites(first: 2) { totalCount edges { node { siteNumber } } } } }'
    )
    territory = data["territory"]
    assert territory["sites"]["totalCount"] == territory["siteCount"]
    assert len(territory["sites"]["edges"]) == min(2, territory["siteCount"])


async def test_site_territory_as_of_and_history(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ site(siteNumber: "0349") { past: territory(layer: "districts", asOf: "2000-01-01T00:00:00Z") { method }'
        ' now: territory(layer: "districts") { territory { code } validTo }'
        ' territoryHistory(layer: "districts") { territory { code } validFrom validTo } } }'
    )
    site = data["site"]
    assert site["past"] == {"method": "INITIAL"}  # the first assignment holds since the beginning
    assert site["now"] == {"territory": {"code": "orlando"}, "validTo": None}
    assert site["territoryHistory"] == [
        {"territory": {"code": "orlando"}, "validFrom": None, "validTo": None}
    ]
