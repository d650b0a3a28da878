"""Parse and geocode `sites.csv`, the PROD customer-site export (domain.md §1.2, §6.1)."""

from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.issues import ImportIssue
from spatial.geocode import ZipGazetteer

# §6.1: "street, city, ST 12345" or "street city, ST 12345"; one row lacks the comma before the state.
ADDRESS = re.compile(r"^(?P<rest>.*?),?\s*(?P<state>[A-Z]{2})\s+(?P<zip>\d{4,5})$")
GL_STRING = re.compile(r"^\d{2}-\d{2}-\d{4}-$")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    street: str
    city: str | None
    state: str
    zip: str
    city_from_zip: bool  # True when the address had no street/city delimiter and the ZIP named the city


def parse_address(address: str, gazetteer: ZipGazetteer) -> ParsedAddress:
    """Split the legacy single address field; raises `ValueError` naming what is wrong.

    Without a comma between street and city (204 PROD rows) the city is cut from the end of the text
    when it ends with one of the ZIP's city names or, failing that, the longest city name of the state;
    otherwise the street keeps the whole text and the city is the ZIP's preferred city name.
    """
    match = ADDRESS.match(address.strip())
    if match is None:
        raise ValueError(f"address {address!r} does not end with 'ST 12345'")
    rest, state, zip_code = match["rest"].strip().rstrip(","), match["state"], match["zip"].zfill(5)
    if "," in rest:
        street, city = (part.strip() for part in rest.rsplit(",", 1))
        return ParsedAddress(street, city or None, state, zip_code, False)
    lowered = rest.lower()
    for city in gazetteer.city_candidates(zip_code, state):
        if lowered.endswith(" " + city.lower()):
            return ParsedAddress(rest[: -len(city)].rstrip(), rest[-len(city) :], state, zip_code, True)
    return ParsedAddress(rest, gazetteer.city_of(zip_code), state, zip_code, True)


def _optional_int(text: str, column: str) -> int | None:
    text = text.strip()
    if not text or text.upper() == "NULL":
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError(f"{column} {text!r} is not a number") from exc
    if value != int(value) or value < 0:
        raise ValueError(f"{column} {text!r} is not a non-negative whole number")
    return int(value)


def read_sites(
    path: Path, gazetteer: ZipGazetteer
) -> tuple[list[dict[str, Any]], list[ImportIssue], dict[str, int]]:
    """Rows for `customer_site` (column → value, `location` as EWKT), the issues, geocode-method counts."""
    rows: list[dict[str, Any]] = []
    issues: list[ImportIssue] = []
    methods: dict[str, int] = {}
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            line = reader.line_num
            try:
                site_number = record["site_number"].strip().zfill(4)
                if not site_number.isdigit() or len(site_number) != 4:
                    raise ValueError(f"site_number {record['site_number']!r} is not a 1–4 digit number")
                if site_number in seen:
                    raise ValueError(f"site_number {site_number} appears twice")
                address = parse_address(record["address"], gazetteer)
                if record.get("state") and record["state"] != address.state:
                    issues.append(
                        ImportIssue(path.name, line, f"state column {record['state']!r} ≠ address", False)
                    )
                gl_string = record["gl_string"].strip()
                if not GL_STRING.match(gl_string):
                    raise ValueError(f"gl_string {gl_string!r} is not NN-NN-NNNN-")
                geocode = gazetteer.geocode(address.zip, address.state)
                row: dict[str, Any] = {
                    "id": uuid.UUID(record["customer_site_id"]),
                    "site_number": site_number,
                    "name": record["site_name"].strip(),
                    "address": record["address"].strip(),
                    "street": address.street,
                    "city": address.city,
                    "state": address.state,
                    "zip": address.zip,
                    "source_district": (record["district"].strip() or None)
                    if record["district"].strip().upper() != "NULL"
                    else None,
                    "gl_string": gl_string,
                    "parking_spaces": _optional_int(record["total_available_parking"], "parking"),
                    "rooms": _optional_int(record["total_rooms_available"], "rooms"),
                    "vendor_id": record["vendor_id"].strip() or None,
                    "location": None,
                    "geocode_method": None,
                }
            except (ValueError, KeyError) as exc:
                issues.append(ImportIssue(path.name, line, str(exc), True))
                continue
            seen.add(site_number)
            if geocode is None:
                issues.append(
                    ImportIssue(path.name, line, f"ZIP {address.zip} ({address.state}) not geocodable", False)
                )
            else:
                row["location"] = f"SRID=4326;POINT({geocode.lon} {geocode.lat})"
                row["geocode_method"] = geocode.method
                methods[geocode.method] = methods.get(geocode.method, 0) + 1
            rows.append(row)
    return rows, issues, methods
