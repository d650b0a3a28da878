"""Territory layers from the demo GeoJSON files (`data/towne-park/territories/README.md`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.issues import ImportIssue
from spatial.geometry import GeometryInputError, multipolygon_from_geojson, to_db


@dataclass(frozen=True, slots=True)
class LayerSource:
    code: str
    name: str
    kind: str
    file: str
    description: str


LAYERS = (
    LayerSource(
        "districts",
        "Districts",
        "partition",
        "districts.geojson",
        "Core Towne Park districts: a county-based approximation of the legacy district field (demo layer).",
    ),
    LayerSource(
        "regions",
        "Regions",
        "partition",
        "regions.geojson",
        "West / Central / East, unions of districts by GL region segment (inferred, demo layer).",
    ),
    LayerSource(
        "upp-districts",
        "UPP districts",
        "overlay",
        "upp_districts.geojson",
        "United Parking Partners districts: counties with UPP sites and their neighbours (partial layer).",
    ),
)


def read_layer(directory: Path, layer: LayerSource) -> tuple[list[dict[str, Any]], list[ImportIssue]]:
    """Territory rows (`code`, `name`, `source_district`, `geom` as a 4326 WKB element) of one layer file."""
    path = directory / layer.file
    issues: list[ImportIssue] = []
    rows: list[dict[str, Any]] = []
    collection = json.loads(path.read_text(encoding="utf-8"))
    for index, feature in enumerate(collection.get("features", []), start=1):
        properties = feature.get("properties") or {}
        code, name = properties.get("code"), properties.get("name")
        if not code or not name:
            issues.append(ImportIssue(path.name, None, f"feature {index} has no code/name property", True))
            continue
        try:
            geom = multipolygon_from_geojson(feature.get("geometry"), field=f"feature {index} ({code})")
        except GeometryInputError as exc:
            issues.append(ImportIssue(path.name, None, str(exc), True))
            continue
        rows.append(
            {
                "code": str(code),
                "name": str(name),
                "source_district": properties.get("source_district"),
                "geom": to_db(geom),
            }
        )
    return rows, issues
