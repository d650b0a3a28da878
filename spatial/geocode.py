"""Offline geocoding of US addresses by ZIP code, with the `zipcodes` package (no network).

Points are EPSG:4326 (lon, lat) in degrees. Method, in order (the same as the territory layers were
built with, `data/towne-park/territories/README.md`):

1. `zip`: the 5-digit ZIP's point;
2. `zip3_prefix`: the mean point of all ZIPs with the same 3-digit prefix in the same state.

Records whose coordinates are `'0'` are ignored (they have no location).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import zipcodes


@dataclass(frozen=True, slots=True)
class Geocode:
    lon: float
    lat: float
    method: str  # 'zip' | 'zip3_prefix'
    city: str | None  # the ZIP's preferred city name, when the ZIP is known


class ZipGazetteer:
    """ZIP → point lookups over the `zipcodes` data set, loaded once (about 1 s)."""

    @cached_property
    def _records(self) -> dict[str, dict[str, Any]]:
        records: list[dict[str, Any]] = zipcodes.list_all()  # type: ignore[no-untyped-call]
        return {r["zip_code"]: r for r in records if r["lat"] != "0" and r["long"] != "0"}

    @cached_property
    def _prefix_centroids(self) -> dict[tuple[str, str], tuple[float, float]]:
        sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
        for code, record in self._records.items():
            acc = sums[(code[:3], record["state"])]
            acc[0] += Decimal(record["long"])
            acc[1] += Decimal(record["lat"])
            acc[2] += 1
        return {key: (float(lon / n), float(lat / n)) for key, (lon, lat, n) in sums.items()}

    @cached_property
    def _cities_by_state(self) -> dict[str, list[str]]:
        cities: dict[str, set[str]] = defaultdict(set)
        for record in self._records.values():
            cities[record["state"]].add(record["city"])
            cities[record["state"]].update(record.get("acceptable_cities") or ())
        return {state: sorted(names, key=len, reverse=True) for state, names in cities.items()}

    def city_of(self, zip_code: str) -> str | None:
        record = self._records.get(zip_code)
        return str(record["city"]) if record else None

    def city_candidates(self, zip_code: str, state: str) -> list[str]:
        """City names an address with this ZIP may end with: the ZIP's own names, then every city of
        the state, longest first (used to split "street city" text that has no delimiter)."""
        record = self._records.get(zip_code)
        own = [record["city"], *(record.get("acceptable_cities") or ())] if record else []
        return [str(c) for c in own] + self._cities_by_state.get(state, [])

    def geocode(self, zip_code: str, state: str) -> Geocode | None:
        """Point of a 5-digit ZIP in `state`; `None` when neither the ZIP nor its prefix is known."""
        record = self._records.get(zip_code)
        if record is not None and record["state"] == state:
            return Geocode(float(record["long"]), float(record["lat"]), "zip", str(record["city"]))
        centroid = self._prefix_centroids.get((zip_code[:3], state))
        if centroid is not None:
            return Geocode(centroid[0], centroid[1], "zip3_prefix", None)
        return None
