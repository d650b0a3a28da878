"""Bad input: a GraphQL error with `extensions.code` BAD_USER_INPUT naming the argument; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient

SITES = """
query ($filter: SiteFilter, $first: Int, $after: String, $orderBy: SiteOrderField, $from: PointInput) {
  sites(filter: $filter, first: $first, after: $after, orderBy: $orderBy, distanceFrom: $from) { totalCount }
}
"""


@pytest.mark.parametrize(
    ("variables", "argument", "words"),
    [
        ({"filter": {"bbox": [-81, 26, -80, 25]}}, "filter.bbox", "minLat must not exceed maxLat"),
        ({"filter": {"bbox": [1, 2, 3]}}, "filter.bbox", "got 3 numbers"),
        ({"filter": {"bbox": [-200, 25, -80, 26]}}, "filter.bbox", "longitude -200"),
        ({"filter": {"near": {"lon": -81, "lat": 95, "radiusMeters": 10}}}, "filter.near", "latitude 95"),
        (
            {"filter": {"near": {"lon": -81, "lat": 28, "radiusMeters": -5}}},
            "filter.near.radiusMeters",
            "positive",
        ),
        ({"from": {"lon": 181, "lat": 0}, "orderBy": "DISTANCE"}, "distanceFrom", "longitude 181"),
        ({"orderBy": "DISTANCE"}, "orderBy", "distanceFrom"),
        ({"filter": {"state": "Florida"}}, "filter.state", "2-letter"),
        ({"first": 10_000}, "first", "between 0 and 500"),
        ({"after": "bm90LWEtY3Vyc29y"}, "after", "not a cursor"),
    ],
)
async def test_bad_site_arguments(
    gql: GraphQLClient, variables: dict[str, Any], argument: str, words: str
) -> None:
    error = await gql.error(SITES, **variables)
    assert error["extensions"]["code"] == ("PAGE_TOO_LARGE" if "first" in variables else "BAD_USER_INPUT")
    assert error["extensions"]["argument"] == argument
    assert words in error["message"]


@pytest.mark.parametrize("period", ["2025-13", "2025-4", "April", "2025-04-01", ""])
async def test_malformed_service_period(gql: GraphQLClient, period: str) -> None:
    error = await gql.error(
        'query ($p: String) { site(siteNumber: "0349") { billingPreview(servicePeriod: $p) { total } } }',
        p=period,
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "servicePeriod"}
    assert "servicePeriod" in error["message"] and repr(period) in error["message"]


async def test_naive_as_of_is_refused(gql: GraphQLClient) -> None:
    error = await gql.error(
        '{ site(siteNumber: "0349") { territory(layer: "districts", asOf: "2025-03-01T00:00:00") { method } } }'
    )
    assert error["extensions"]["argument"] == "asOf"


async def test_simplify_tolerance_out_of_range(gql: GraphQLClient) -> None:
    error = await gql.error(
        '{ territory(layer: "regions", code: "east") { geometry(simplifyTolerance: 5) } }'
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "simplifyTolerance"}
