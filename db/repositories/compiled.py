"""A query's whole selection as one SQL statement that builds the response's JSON (issue 8).

`resolvers.compiled` walks a GraphQL query operation and hands this module a `Selection` tree with the
arguments already checked and normalised; `statement` turns it into one `SELECT json_build_object(…)`
whose first value is the response's `data`: nested objects are correlated scalar subqueries, lists
`json_agg(… ORDER BY …)` in the order of the repositories the resolvers read, connections a page subquery
numbered by `row_number()`. It runs in the request's read transaction as the application role, so
row-level security (migration 0008) applies to every table exactly as on the resolver path, evaluated once
per statement (the policies' sub-plans are init-plans or hashed).

Checks that need the database (does the layer of `territory(layer:)` exist?) are the statement's second
value: when it is false the resolver path answers (with its BAD_USER_INPUT).

Values are written as the schema's scalars serialize them: `Money` `round(x, 2)::text`, `Rate`
`round(x, 4)::text` (half away from zero, domain.md §0.1, as `schema.scalars`), `DateTime` ISO 8601 in
UTC as Python's `isoformat`, enums by name, GeoJSON from `ST_AsGeoJSON` (points with 15 digits, as shapely
writes them; territories 6 decimals, as `db.repositories.territories`), `areaKm2` to 3 decimals.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Double,
    FromClause,
    Integer,
    Numeric,
    Select,
    TableClause,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Contract,
    ContractComponent,
    CustomerSite,
    FixedFeeService,
    InvoiceGroup,
    LaborHourJob,
    RevenueShareThreshold,
    SiteTerritoryAssignment,
    Territory,
    TerritoryLayer,
)
from db.repositories.sites import SiteOrder, SiteQuery, site_conditions, site_distance, site_ordering

# json_build_object takes at most 100 arguments: 50 keys with their values
_MAX_KEYS = 50
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_JSON = PG_JSON()
_NUMERIC = Numeric()
_DOUBLE: Double[float] = Double()


class Unsupported(Exception):
    """The operation asks for something the planner does not compile: run it on the resolver path."""


@dataclass(frozen=True, slots=True)
class Selected:
    """One entry of a selection set: the response key (alias or name), the field, its arguments as the
    service layer normalised them, and the selection of an object field (None for a leaf)."""

    key: str
    field: str
    arguments: Mapping[str, Any]
    selection: Selection | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The fields selected on one object type, fragments and directives already applied, in response order."""

    type_name: str
    fields: tuple[Selected, ...]


@dataclass(frozen=True, slots=True)
class SitePage:
    """Normalised arguments of a site connection (`Query.sites`, `Territory.sites`)."""

    query: SiteQuery
    order: SiteOrder
    first: int
    offset: int


@dataclass
class _Build:
    billing_detail: bool  # the caller sees vendor ids and invoice-group customers (§4.4)
    checks: list[ColumnElement[bool]] = field(default_factory=list)


@functools.cache
def _light(model: Any) -> TableClause:
    """A lightweight `table()` of a model's table: aliases of it cost microseconds where aliases of the
    schema `Table` copy every Column with its constraints and events (most of the planning time)."""
    return table(model.__tablename__, *(column(c.name, c.type) for c in model.__table__.c))


def _key(name: str) -> ColumnElement[Any]:
    if not _NAME.fullmatch(name):  # GraphQL names only, so the literal is safe
        raise Unsupported(name)
    return literal_column(f"'{name}'")


def _object(pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    if len(pairs) > _MAX_KEYS:
        raise Unsupported("too many keys for one json_build_object")
    arguments: list[ColumnElement[Any]] = []
    for key, value in pairs:
        arguments += [_key(key), value]
    return func.json_build_object(*arguments)


def _json_list(element: ColumnElement[Any], *order_by: Any) -> ColumnElement[Any]:
    aggregated = func.json_agg(aggregate_order_by(element, *order_by)) if order_by else func.json_agg(element)
    return func.coalesce(aggregated, literal_column("'[]'::json"))


def _text(value: Any) -> ColumnElement[Any]:
    return cast(value, Text)


def _money(value: Any) -> ColumnElement[Any]:
    return cast(func.round(value, 2), Text)


def _rate(value: Any) -> ColumnElement[Any]:
    return cast(func.round(value, 4), Text)


def _iso_utc(value: Any) -> ColumnElement[Any]:
    """timestamptz → `datetime.isoformat()` of the UTC value; -infinity (since the beginning) → null."""
    utc = func.timezone("UTC", value)
    fraction = case(
        (cast(func.extract("microseconds", value), Integer) % 1_000_000 != 0, func.to_char(utc, ".US")),
        else_="",
    )
    whole = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
    return case((func.isfinite(value), whole.op("||")(fraction).op("||")("+00:00")), else_=null())


def _cursor(ordinal: Any) -> ColumnElement[Any]:
    """`resolvers.sites.encode_cursor(ordinal - 1)` in SQL (URL-safe base64 of `offset:N`)."""
    raw = literal("offset:", Text).op("||")(cast(ordinal - 1, Text))
    return func.translate(func.encode(func.convert_to(raw, "UTF8"), "base64"), "+/", "-_")


def _children(selected: Selected) -> tuple[Selected, ...]:
    assert selected.selection is not None
    return selected.selection.fields


Builder = Callable[[_Build, Selected, Any], ColumnElement[Any]]


def _leaf(expression: Callable[[Any], ColumnElement[Any]]) -> Builder:
    return lambda build, selected, source: expression(source)


def _fields(
    build: _Build, table_of: Mapping[str, Builder], selected: Selected, source: Any
) -> ColumnElement[Any]:
    """The object of `selected`'s selection, each field built from `source` by `table_of`."""
    assert selected.selection is not None
    type_name = selected.selection.type_name
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in selected.selection.fields:
        if child.field == "__typename":
            pairs.append((child.key, literal_column(f"'{type_name}'")))
            continue
        builder = table_of.get(child.field)
        if builder is None:
            raise Unsupported(f"{type_name}.{child.field}")
        pairs.append((child.key, builder(build, child, source)))
    return _object(pairs)


# ---- TerritoryLayer, Territory, SiteTerritory ---------------------------------------------------------


def _layer_object(build: _Build, selected: Selected, layer_id: Any) -> Any:
    layer = _light(TerritoryLayer).alias()
    return select(_fields(build, _LAYER, selected, layer)).where(layer.c.id == layer_id).scalar_subquery()


def _layer_territories(build: _Build, selected: Selected, layer: Any) -> Any:
    territory = _light(Territory).alias()
    return (
        select(_json_list(_fields(build, _TERRITORY, selected, territory), territory.c.code))
        .where(territory.c.layer_id == layer.c.id, territory.c.retired_at.is_(None))
        .scalar_subquery()
    )


_LAYER: dict[str, Builder] = {
    "id": _leaf(lambda t: t.c.id),
    "code": _leaf(lambda t: t.c.code),
    "name": _leaf(lambda t: t.c.name),
    "kind": _leaf(lambda t: func.upper(t.c.kind)),
    "description": _leaf(lambda t: t.c.description),
    "territories": _layer_territories,
}


def _territory_object(build: _Build, selected: Selected, condition: Callable[[Any], Any]) -> Any:
    territory = _light(Territory).alias()
    return (
        select(_fields(build, _TERRITORY, selected, territory)).where(condition(territory)).scalar_subquery()
    )


def _territory_geometry(build: _Build, selected: Selected, t: Any) -> Any:
    tolerance = selected.arguments["tolerance"]
    geom = func.ST_SimplifyPreserveTopology(t.c.geom, tolerance) if tolerance else t.c.geom
    return cast(func.ST_AsGeoJSON(geom, 6), _JSON)


def _territory_site_count(build: _Build, selected: Selected, t: Any) -> Any:
    a = _light(SiteTerritoryAssignment).alias()
    return (
        select(func.count())
        .select_from(a)
        .where(a.c.territory_id == t.c.id, a.c.valid_to.is_(None))
        .scalar_subquery()
    )


def _territory_sites(build: _Build, selected: Selected, t: Any) -> Any:
    a = SiteTerritoryAssignment
    condition = (
        exists()
        .where(a.site_id == CustomerSite.id, a.valid_to.is_(None), a.territory_id == t.c.id)
        .correlate_except(a)  # the site of the page and the territory of the enclosing object
    )
    return _connection(build, selected, extra=[condition], correlate=t)


_TERRITORY: dict[str, Builder] = {
    "id": _leaf(lambda t: t.c.id),
    "code": _leaf(lambda t: t.c.code),
    "name": _leaf(lambda t: t.c.name),
    "sourceDistrict": _leaf(lambda t: t.c.source_district),
    "version": _leaf(lambda t: t.c.version),
    "areaKm2": _leaf(lambda t: func.round(cast(t.c.area_km2, _NUMERIC), 3)),
    "retiredAt": _leaf(lambda t: _iso_utc(t.c.retired_at)),
    "layer": lambda build, selected, t: _layer_object(build, selected, t.c.layer_id),
    "geometry": _territory_geometry,
    "siteCount": _territory_site_count,
    "sites": _territory_sites,
}

_SITE_TERRITORY: dict[str, Builder] = {
    "method": _leaf(lambda a: func.upper(a.c.method)),
    "validFrom": _leaf(lambda a: _iso_utc(a.c.valid_from)),
    "validTo": _leaf(lambda a: _iso_utc(a.c.valid_to)),
    "layer": lambda build, selected, a: _layer_object(build, selected, a.c.layer_id),
    "territory": lambda build, selected, a: _territory_object(
        build, selected, lambda t: t.c.id == a.c.territory_id
    ),
}


# ---- Site ---------------------------------------------------------------------------------------------


def _site_territories(build: _Build, selected: Selected, s: Any) -> Any:
    a = _light(SiteTerritoryAssignment).alias()
    element = _fields(build, _SITE_TERRITORY, selected, a)
    return (
        select(_json_list(element, a.c.layer_id, a.c.valid_from))
        .where(a.c.site_id == s.c.id, a.c.valid_to.is_(None))
        .scalar_subquery()
    )


def _site_assignments(*, history: bool) -> Builder:
    """`Site.territory(layer:)` now (the open row or null) or `Site.territoryHistory(layer:)` (every row,
    oldest first); the layer must exist, else the resolver path answers BAD_USER_INPUT."""

    def build_assignments(build: _Build, selected: Selected, s: Any) -> Any:
        layer_code = selected.arguments["layer"]
        build.checks.append(_layer_exists(layer_code))
        a = _light(SiteTerritoryAssignment).alias()
        layer = _light(TerritoryLayer).alias()
        element = _fields(build, _SITE_TERRITORY, selected, a)
        in_layer = and_(
            a.c.site_id == s.c.id,
            a.c.layer_id == select(layer.c.id).where(layer.c.code == layer_code).scalar_subquery(),
        )
        if history:
            return select(_json_list(element, a.c.valid_from)).where(in_layer).scalar_subquery()
        return select(element).where(in_layer, a.c.valid_to.is_(None)).scalar_subquery()

    return build_assignments


def _site_contract(build: _Build, selected: Selected, s: Any) -> Any:
    contract = _light(Contract).alias()
    return (
        select(_fields(build, _CONTRACT, selected, contract))
        .where(contract.c.site_id == s.c.id)
        .scalar_subquery()
    )


def _billing_detail(value: Callable[[Any], Any]) -> Builder:
    # §4.4: vendor ids and invoice-group customers for billing roles only (schema.sites, schema.contracts)
    def build_detail(build: _Build, selected: Selected, row: Any) -> Any:
        return value(row) if build.billing_detail else cast(null(), Text)

    return build_detail


_SITE: dict[str, Builder] = {
    "id": _leaf(lambda s: _text(s.c.id)),
    "siteNumber": _leaf(lambda s: s.c.site_number),
    "name": _leaf(lambda s: s.c.name),
    "address": _leaf(lambda s: s.c.address),
    "street": _leaf(lambda s: s.c.street),
    "city": _leaf(lambda s: s.c.city),
    "state": _leaf(lambda s: s.c.state),
    "zip": _leaf(lambda s: s.c.zip),
    "sourceDistrict": _leaf(lambda s: s.c.source_district),
    "glString": _leaf(lambda s: s.c.gl_string),
    "parkingSpaces": _leaf(lambda s: s.c.parking_spaces),
    "rooms": _leaf(lambda s: s.c.rooms),
    "startDate": _leaf(lambda s: s.c.start_date),
    "closeDate": _leaf(lambda s: s.c.close_date),
    "isActive": _leaf(lambda s: s.c.is_active),
    "updatedAt": _leaf(lambda s: _iso_utc(s.c.updated_at)),
    "geocodeMethod": _leaf(lambda s: func.upper(s.c.geocode_method)),
    "vendorId": _billing_detail(lambda s: s.c.vendor_id),
    "invoiceRecipient": _billing_detail(lambda s: s.c.invoice_recipient),
    "billingContactEmails": _billing_detail(lambda s: func.to_json(s.c.billing_contact_emails)),
    "location": _leaf(lambda s: cast(func.ST_AsGeoJSON(s.c.location, 15), _JSON)),
    "territories": _site_territories,
    "territory": _site_assignments(history=False),
    "territoryHistory": _site_assignments(history=True),
    "contract": _site_contract,
}


def _site_object(build: _Build, selected: Selected, condition: Callable[[Any], Any]) -> Any:
    site = _light(CustomerSite).alias()
    return select(_fields(build, _SITE, selected, site)).where(condition(site)).scalar_subquery()


# ---- Contract and its configuration -------------------------------------------------------------------


def _configuration_list(
    model: Any, fields: Mapping[str, Builder], order: Callable[[Any], list[Any]]
) -> Builder:
    """A contract's configuration rows of one table, in `db.repositories.contracts.configurations` order."""

    def build_list(build: _Build, selected: Selected, c: Any) -> Any:
        row = _light(model).alias()
        element = _fields(build, fields, selected, row)
        return (
            select(_json_list(element, *order(row), row.c.id))
            # the open edition: the contract as amended (migration 0011); older editions by service period
            .where(row.c.contract_id == c.c.id, row.c.to_period.is_(None))
            .scalar_subquery()
        )

    return build_list


def _tiers(build: _Build, selected: Selected, row: Any) -> Any:
    tier = func.jsonb_array_elements(row.c.tiers).table_valued("value", with_ordinality="ordinality").alias()
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in _children(selected):
        if child.field == "__typename":
            pairs.append((child.key, literal_column("'RevenueShareTier'")))
        elif child.field == "sharePercentage":
            pairs.append((child.key, _rate(cast(tier.c.value.op("->>")("share_percentage"), _NUMERIC))))
        elif child.field == "amount":
            pairs.append((child.key, _money(cast(tier.c.value.op("->>")("amount"), _NUMERIC))))
        else:
            raise Unsupported(f"RevenueShareTier.{child.field}")
    return select(_json_list(_object(pairs), tier.c.ordinality)).select_from(tier).scalar_subquery()


_INVOICE_GROUP: dict[str, Builder] = {
    "groupNumber": _leaf(lambda r: r.c.group_number),
    "title": _leaf(lambda r: r.c.title),
    "description": _leaf(lambda r: r.c.description),
    "siteNumberOverride": _leaf(lambda r: r.c.site_number_override),
    "customerName": _billing_detail(lambda r: r.c.customer_name),
    "vendorId": _billing_detail(lambda r: r.c.vendor_id),
}
_FIXED_FEE: dict[str, Builder] = {
    "name": _leaf(lambda r: r.c.name),
    "displayName": _leaf(lambda r: r.c.display_name),
    "code": _leaf(lambda r: r.c.code),
    "fee": _leaf(lambda r: _money(r.c.fee)),
    "startDate": _leaf(lambda r: r.c.start_date),
    "endDate": _leaf(lambda r: r.c.end_date),
    "invoiceGroup": _leaf(lambda r: r.c.invoice_group),
}
_LABOR_JOB: dict[str, Builder] = {
    "name": _leaf(lambda r: r.c.name),
    "displayName": _leaf(lambda r: r.c.display_name),
    "jobCode": _leaf(lambda r: r.c.job_code),
    "code": _leaf(lambda r: r.c.code),
    "rate": _leaf(lambda r: _rate(r.c.rate)),
    "overtimeRate": _leaf(lambda r: _rate(r.c.overtime_rate)),
    "isSalaried": _leaf(lambda r: r.c.is_salaried),
    "startDate": _leaf(lambda r: r.c.start_date),
    "endDate": _leaf(lambda r: r.c.end_date),
    "invoiceGroup": _leaf(lambda r: r.c.invoice_group),
}
_THRESHOLD: dict[str, Builder] = {
    "position": _leaf(lambda r: r.c.position),
    "revenueCodes": _leaf(lambda r: func.to_json(r.c.revenue_codes)),
    "accumulationType": _leaf(lambda r: r.c.accumulation_type),
    "tiers": _tiers,
    "validationThresholdType": _leaf(lambda r: r.c.validation_threshold_type),
    "validationThresholdAmount": _leaf(lambda r: _rate(r.c.validation_threshold_amount)),
    "invoiceGroup": _leaf(lambda r: r.c.invoice_group),
}
_BLOCK_SETTINGS: dict[str, Builder] = {
    "buildingBlock": _leaf(lambda r: r.c.building_block),
    "invoiceGroup": _leaf(lambda r: r.c.invoice_group),
    "settings": _leaf(lambda r: cast(r.c.settings, _JSON)),
    "validFrom": _leaf(lambda r: r.c.valid_from),
    "validTo": _leaf(lambda r: r.c.valid_to),
}
_OCCUPIED_ROOM: dict[str, Builder] = {
    "rate": _leaf(lambda c: _rate(c.c.occupied_room_rate)),
    "code": _leaf(lambda c: c.c.occupied_room_code),
    "invoiceGroup": _leaf(lambda c: c.c.occupied_room_invoice_group),
}

_TERM: dict[str, Builder] = {
    "start": _leaf(lambda c: c.c.term_start),
    "end": _leaf(lambda c: c.c.term_end),
    "autoRenewMonths": _leaf(lambda c: c.c.auto_renew_months),
    "noticeDays": _leaf(lambda c: c.c.notice_days),
    "terminatedOn": _leaf(lambda c: c.c.terminated_on),
    "synthetic": _leaf(lambda c: c.c.term_synthetic),
}

_CONTRACT: dict[str, Builder] = {
    "id": _leaf(lambda c: _text(c.c.id)),
    "contractType": _leaf(lambda c: c.c.contract_type),
    "billingType": _leaf(lambda c: c.c.billing_type),
    "buildingBlocks": _leaf(lambda c: func.to_json(c.c.building_blocks)),
    "incrementPercentage": _leaf(lambda c: _rate(c.c.increment_percentage)),
    "incrementMonth": _leaf(lambda c: c.c.increment_month),
    "consumerPriceIndex": _leaf(lambda c: c.c.consumer_price_index),
    "deviationAmount": _leaf(lambda c: _money(c.c.deviation_amount)),
    "deviationPercentage": _leaf(lambda c: _rate(c.c.deviation_percentage)),
    "paymentTerms": _leaf(lambda c: c.c.payment_terms),
    "purchaseOrder": _leaf(lambda c: c.c.purchase_order),
    "deposits": _leaf(lambda c: c.c.deposits),
    "hoursBackupReport": _leaf(lambda c: c.c.hours_backup_report),
    "supportingReports": _leaf(lambda c: func.to_json(c.c.supporting_reports)),
    "configurationSource": _leaf(lambda c: c.c.configuration_source),
    "occupiedRoom": lambda build, selected, c: _fields(build, _OCCUPIED_ROOM, selected, c),
    "notes": _leaf(lambda c: c.c.notes),
    "accountsPayable": _leaf(lambda c: c.c.accounts_payable),
    "status": _leaf(lambda c: func.upper(c.c.status)),
    "term": lambda build, selected, c: _fields(build, _TERM, selected, c),
    # the open edition (the contract as amended); a period's edition is `configuration(servicePeriod)`
    "servicePeriod": _leaf(lambda c: cast(null(), Text)),
    "site": lambda build, selected, c: _site_object(build, selected, lambda s: s.c.id == c.c.site_id),
    "invoiceGroups": _configuration_list(InvoiceGroup, _INVOICE_GROUP, lambda r: [r.c.group_number]),
    "fixedFeeServices": _configuration_list(
        FixedFeeService, _FIXED_FEE, lambda r: [r.c.start_date, r.c.display_name]
    ),
    "laborHourJobs": _configuration_list(LaborHourJob, _LABOR_JOB, lambda r: [r.c.start_date, r.c.job_code]),
    "revenueShareThresholds": _configuration_list(
        RevenueShareThreshold, _THRESHOLD, lambda r: [r.c.position]
    ),
    "blockSettings": _configuration_list(
        ContractComponent, _BLOCK_SETTINGS, lambda r: [r.c.building_block, r.c.valid_from]
    ),
}


# ---- connections ----------------------------------------------------------------------------------------

# labels, not the table's Columns: a subquery's proxies of labels are cheap, of schema Columns are not
_SITE_COLUMNS = [c.label(c.name) for c in CustomerSite.__table__.c]


def _connection(
    build: _Build, selected: Selected, *, extra: list[ColumnElement[bool]], correlate: Any
) -> ColumnElement[Any]:
    """A `SiteConnection` page as one scalar subquery: the page (`first` + 1 rows after the offset,
    numbered by their position in the order) in FROM, edges aggregated in order, `pageInfo` from the same
    rows, `totalCount` by the same conditions."""
    page_arguments: SitePage = selected.arguments["page"]
    query, first, offset = page_arguments.query, page_arguments.first, page_arguments.offset
    conditions = [*site_conditions(query), *extra]
    distance = site_distance(query)
    ordering = site_ordering(query, page_arguments.order)
    page_select = (
        select(
            *_SITE_COLUMNS,
            (distance if distance is not None else cast(null(), _DOUBLE)).label("distance_m"),
            func.row_number().over(order_by=ordering).label("ordinal"),
        )
        .where(and_(true(), *conditions))
        .order_by(*ordering)
        .offset(offset)
        .limit(first + 1)
    )
    # correlated to the enclosing territory only; None: to nothing (a site of an outer level is another row)
    page = (
        page_select.correlate(correlate) if correlate is not None else page_select.correlate(None)
    ).subquery()
    on_page = page.c.ordinal <= offset + first
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in _children(selected):
        if child.field == "__typename":
            pairs.append((child.key, literal_column("'SiteConnection'")))
        elif child.field == "edges":
            edges = func.json_agg(aggregate_order_by(_edge(build, child, page), page.c.ordinal)).filter(
                on_page
            )
            pairs.append((child.key, func.coalesce(edges, literal_column("'[]'::json"))))
        elif child.field == "pageInfo":
            pairs.append((child.key, _page_info(child, page, offset=offset, first=first)))
        elif child.field == "totalCount":
            total = select(func.count()).select_from(CustomerSite).where(and_(true(), *conditions))
            total = total.correlate(correlate) if correlate is not None else total.correlate(None)
            pairs.append((child.key, total.scalar_subquery()))
        else:
            raise Unsupported(f"SiteConnection.{child.field}")
    # GROUP BY (): exactly one row, also for an empty page and when no aggregate is selected (`totalCount`
    # alone would otherwise give a row per page row, or none)
    return select(_object(pairs)).select_from(page).group_by(literal_column("()")).scalar_subquery()


def _edge(build: _Build, selected: Selected, page: FromClause) -> ColumnElement[Any]:
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in _children(selected):
        if child.field == "__typename":
            pairs.append((child.key, literal_column("'SiteEdge'")))
        elif child.field == "cursor":
            pairs.append((child.key, _cursor(page.c.ordinal)))
        elif child.field == "distanceMeters":
            pairs.append((child.key, page.c.distance_m))
        elif child.field == "node":
            pairs.append((child.key, _fields(build, _SITE, child, page)))
        else:
            raise Unsupported(f"SiteEdge.{child.field}")
    return _object(pairs)


def _page_info(selected: Selected, page: FromClause, *, offset: int, first: int) -> Any:
    on_page = page.c.ordinal <= offset + first
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in _children(selected):
        if child.field == "__typename":
            pairs.append((child.key, literal_column("'PageInfo'")))
        elif child.field == "hasNextPage":
            pairs.append((child.key, func.count() > first))
        elif child.field == "hasPreviousPage":
            pairs.append((child.key, true() if offset > 0 else false()))
        elif child.field == "startCursor":
            pairs.append((child.key, _cursor(func.min(page.c.ordinal).filter(on_page))))
        elif child.field == "endCursor":
            pairs.append((child.key, _cursor(func.max(page.c.ordinal).filter(on_page))))
        else:
            raise Unsupported(f"PageInfo.{child.field}")
    return _object(pairs)


# ---- Query ----------------------------------------------------------------------------------------------


def _layer_exists(code: str) -> ColumnElement[bool]:
    layer = _light(TerritoryLayer).alias()
    return exists().where(layer.c.code == code)


def _territory_exists(layer_code: str, code: str) -> ColumnElement[bool]:
    layer = _light(TerritoryLayer).alias()
    territory = _light(Territory).alias()
    return exists().where(
        territory.c.layer_id == layer.c.id, layer.c.code == layer_code, territory.c.code == code
    )


def _query_site(build: _Build, selected: Selected, _root: Any) -> Any:
    number = selected.arguments["number"]
    if number is None:
        return cast(null(), _JSON)
    return _site_object(build, selected, lambda s: s.c.site_number == number)


def _query_sites(build: _Build, selected: Selected, _root: Any) -> Any:
    query = selected.arguments["page"].query
    # the codes must exist, else the resolver path answers BAD_USER_INPUT
    if query.territory is not None:
        build.checks.append(_territory_exists(*query.territory))
    if query.source_district_mismatch_layer is not None:
        build.checks.append(_layer_exists(query.source_district_mismatch_layer))
    return _connection(build, selected, extra=[], correlate=None)


def _query_territory(build: _Build, selected: Selected, _root: Any) -> Any:
    layer_code, code = selected.arguments["layer"], selected.arguments["code"]
    build.checks.append(_territory_exists(layer_code, code))
    layer = _light(TerritoryLayer).alias()
    layer_id = select(layer.c.id).where(layer.c.code == layer_code).scalar_subquery()
    return _territory_object(build, selected, lambda t: and_(t.c.code == code, t.c.layer_id == layer_id))


def _query_territory_layers(build: _Build, selected: Selected, _root: Any) -> Any:
    layer = _light(TerritoryLayer).alias()
    return select(_json_list(_fields(build, _LAYER, selected, layer), layer.c.id)).scalar_subquery()


def _query_territory_layer(build: _Build, selected: Selected, _root: Any) -> Any:
    code = selected.arguments["code"]
    build.checks.append(_layer_exists(code))
    layer = _light(TerritoryLayer).alias()
    return select(_fields(build, _LAYER, selected, layer)).where(layer.c.code == code).scalar_subquery()


_QUERY: dict[str, Builder] = {
    "site": _query_site,
    "sites": _query_sites,
    "territory": _query_territory,
    "territoryLayers": _query_territory_layers,
    "territoryLayer": _query_territory_layer,
}

# What the planner compiles, by type: the service layer refuses anything else before building.
COMPILED_FIELDS: dict[str, frozenset[str]] = {
    "Query": frozenset(_QUERY),
    "Site": frozenset(_SITE),
    "Contract": frozenset(_CONTRACT),
    "OccupiedRoom": frozenset(_OCCUPIED_ROOM),
    "ContractTerm": frozenset(_TERM),
    "InvoiceGroup": frozenset(_INVOICE_GROUP),
    "FixedFeeService": frozenset(_FIXED_FEE),
    "LaborHourJob": frozenset(_LABOR_JOB),
    "RevenueShareThreshold": frozenset(_THRESHOLD),
    "RevenueShareTier": frozenset({"sharePercentage", "amount"}),
    "BuildingBlockSettings": frozenset(_BLOCK_SETTINGS),
    "SiteTerritory": frozenset(_SITE_TERRITORY),
    "Territory": frozenset(_TERRITORY),
    "TerritoryLayer": frozenset(_LAYER),
    "SiteConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "SiteEdge": frozenset({"cursor", "node", "distanceMeters"}),
    "PageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
}


def statement(root: Selection, *, billing_detail: bool) -> Select[str, bool]:
    """`SELECT data, ok` for the Query selection `root`: `data` the response's data as JSON, `ok` false
    when a code it names does not exist. `Unsupported` for a field this module does not compile."""
    build = _Build(billing_detail)
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for selected in root.fields:
        if selected.field == "__typename":
            pairs.append((selected.key, literal_column("'Query'")))
            continue
        builder = _QUERY.get(selected.field)
        if builder is None:
            raise Unsupported(f"Query.{selected.field}")
        pairs.append((selected.key, builder(build, selected, None)))
    ok = and_(true(), *build.checks) if build.checks else true()
    # as text: the driver would decode json into Python objects the HTTP layer would only encode again
    return select(cast(_object(pairs), Text).label("data"), cast(ok, Boolean).label("ok"))


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """A statement compiled for the driver once: its SQL text and positional parameters."""

    sql: str
    parameters: tuple[Any, ...]


def compile_statement(session: AsyncSession, built: Select[str, bool]) -> CompiledStatement:
    """SQL text and parameters for `session`'s dialect (kept by the caller's plan cache)."""
    compiled = built.compile(dialect=session.get_bind().dialect)
    processors: dict[str, Any] = dict(compiled._bind_processors)
    values = compiled.construct_params()
    parameters = tuple(
        processors[name](values[name]) if name in processors else values[name]
        for name in compiled.positiontup or ()
    )
    return CompiledStatement(str(compiled), parameters)


async def run(session: AsyncSession, compiled: CompiledStatement) -> tuple[str, bool]:
    """(data as JSON text, ok) of a compiled statement, in `session`'s transaction."""
    connection = await session.connection()
    row: tuple[Any, ...] = tuple((await connection.exec_driver_sql(compiled.sql, compiled.parameters)).one())
    data, ok = row
    return str(data), bool(ok)


__all__ = [
    "COMPILED_FIELDS",
    "CompiledStatement",
    "Selected",
    "Selection",
    "SitePage",
    "Unsupported",
    "compile_statement",
    "run",
    "statement",
]
