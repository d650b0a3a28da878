"""The SQL of the billing summary (issue 11 §1; resolvers/reporting.py says what each measure means).

`summary_statement` builds the one statement of a summary from a fixed text per grouping (no argument is ever
spliced into it: values are bind parameters); `preview_sites` lists the sites a previewed measure computes,
with their territory per service period. Row scopes are the tables' policies (migration 0008).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from billing import ServicePeriod

PENDING_STATUSES = ("GENERATING", "AR_REVIEW", "APPROVAL_TEAM", "READY_TO_SEND", "FAILED")


class Dimension(enum.Enum):
    """What a summary may be grouped (and filtered) by; the value is the key column of the SQL."""

    TERRITORY = "territory"
    SERVICE_PERIOD = "service_period"
    SITE = "site"
    STATE = "state"
    BILLING_TYPE = "billing_type"
    CONTRACT_TYPE = "contract_type"
    BUILDING_BLOCK = "building_block"
    LINE_CODE = "line_code"
    STATEMENT_STATUS = "statement_status"


# dimensions of an invoice line or statement version: a site-month forecast has none of them
LINE_DIMENSIONS = frozenset({Dimension.BUILDING_BLOCK, Dimension.LINE_CODE, Dimension.STATEMENT_STATUS})

# Grouping expressions over the joined facts (f), site (cs), contract (ct) and territory (t), and what each
# becomes in the output (`g.key` the grouped value; tk/sk the territory and site joined after grouping, so
# the sort of the facts compares ids and bytes, not names in the database's collation). Fixed text only.
GROUP_KEYS: dict[Dimension, str] = {
    Dimension.TERRITORY: "t.id",
    Dimension.SERVICE_PERIOD: "f.period",
    Dimension.SITE: "f.site_id",
    Dimension.STATE: 'cs.state COLLATE "C"',
    Dimension.BILLING_TYPE: 'coalesce(f.billing_type, ct.billing_type) COLLATE "C"',
    Dimension.CONTRACT_TYPE: 'ct.contract_type COLLATE "C"',
    Dimension.BUILDING_BLOCK: 'f.building_block COLLATE "C"',
    Dimension.LINE_CODE: 'f.code COLLATE "C"',
    Dimension.STATEMENT_STATUS: 'f.status COLLATE "C"',
}
KEYS: dict[Dimension, tuple[str, ...]] = {
    Dimension.TERRITORY: ("tk.code", "tk.name", "g.key"),
    Dimension.SITE: ("sk.site_number", "sk.name"),
    **{d: ("g.key",) for d in Dimension if d not in (Dimension.TERRITORY, Dimension.SITE)},
}


@dataclasses.dataclass(frozen=True, slots=True)
class SummaryFilter:
    """Which facts count; every list is "any of", an empty or absent list is no condition. Territory codes
    are those of `territory_layer`, as the sites were assigned at each service period."""

    territories: tuple[str, ...] = ()
    site_numbers: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    billing_types: tuple[str, ...] = ()
    contract_types: tuple[str, ...] = ()
    building_blocks: tuple[str, ...] = ()
    line_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @property
    def on_lines(self) -> bool:
        """Whether a condition is on a line dimension (so site-month forecasts cannot satisfy it)."""
        return bool(self.building_blocks or self.line_codes or self.statuses)


MEASURES: dict[str, str] = {
    "invoiced": "coalesce(sum(f.amount) FILTER (WHERE f.status = 'SENT'), 0)",
    "invoiced_revenue": "coalesce(sum(f.amount) FILTER (WHERE f.status = 'SENT' AND f.revenue), 0)",
    "pending": "coalesce(sum(f.amount) FILTER (WHERE f.status <> 'SENT'), 0)",
    **{
        f"pending_{s.lower()}": f"coalesce(sum(f.amount) FILTER (WHERE f.status = '{s}'), 0)"
        for s in PENDING_STATUSES
    },
    "forecast": "coalesce(sum(f.forecast), 0)",
    "sites": "count(DISTINCT f.site_id)",
    "statements": "count(DISTINCT f.statement_id)",
}
"""The stored measures' aggregates over the facts (resolvers/reporting.py says what each means)."""


@dataclasses.dataclass(frozen=True, slots=True)
class SummaryRequest:
    """A checked `billingSummary` request: `first`..`last` are months (inclusive)."""

    group_by: tuple[Dimension, ...]
    first: ServicePeriod
    last: ServicePeriod
    layer: str | None = None
    filter: SummaryFilter = SummaryFilter()
    # the stored measures to compute (MEASURES); the others come back 0, as nobody reads them
    measures: frozenset[str] = frozenset(MEASURES)

    @property
    def periods(self) -> int:
        return len(self.first.through(self.last))


def summary_sql(request: SummaryRequest) -> tuple[str, dict[str, Any]]:
    """The one statement of a summary and its parameters.

    Rows: one per group (`grand` = 0) and then the grand total (`grand` = 1); key columns `k0`… in the order
    of `KEYS` for the grouped dimensions; measures `invoiced`, `invoiced_revenue`, `pending`, `pending_<status>`,
    `forecast`, `sites`, `statements`; and the layer's id and the known territory codes, to tell an unknown
    layer or code from an empty result without a second statement.
    """
    f = request.filter
    grouped_lines = bool(LINE_DIMENSIONS & set(request.group_by))
    params: dict[str, Any] = {
        "p_first": request.first.start,
        "p_last": request.last.start,
        "f_first": request.first.yyyymm,
        "f_last": request.last.yyyymm,
        "layer": request.layer,
    }
    parts = [
        # a statement's latest Sent version and its unsent version (at most one is not superseded, §3.3)
        """versions AS (
            SELECT DISTINCT ON (v.statement_id, v.status = 'SENT')
                   v.id, v.statement_id, s.site_id, s.service_period_start AS period, v.status, v.billing_type
              FROM statement_version v
              JOIN billing_statement s ON s.id = v.statement_id
             WHERE NOT v.superseded AND s.service_period_start BETWEEN :p_first AND :p_last
             ORDER BY v.statement_id, v.status = 'SENT', v.version DESC
        )"""
    ]
    facts = [
        """SELECT v.site_id, v.period, v.statement_id, v.status, v.billing_type,
                  l.building_block, l.code, l.amount,
                  -- §3.6: a code that is an integer 4000–4999 (the byte comparison spares most lines the regex)
                  CASE WHEN l.code COLLATE "C" BETWEEN '4000' AND '4999' THEN l.code ~ '^4[0-9]{3}$'
                       WHEN l.code LIKE '0%' THEN l.code ~ '^0+4[0-9]{3}$'
                       ELSE false END AS revenue,
                  NULL::numeric AS forecast
             FROM versions v
             JOIN invoice i ON i.statement_version_id = v.id
             JOIN invoice_line l ON l.invoice_id = i.id"""
    ]
    if not (f.building_blocks or f.line_codes):
        # a management agreement's invoice amount may differ from Σ lines by a cent (§2.10e): the difference is
        # a fact of its own, with no building block or code, so invoiced amounts are Σ invoice amounts. Only
        # such an invoice has `monthly_profit` (every other amount is Σ lines, §2.11, §3.4)
        facts.append(
            """SELECT v.site_id, v.period, v.statement_id, v.status, v.billing_type,
                      NULL, NULL, i.amount - lines.amount, false, NULL::numeric
                 FROM versions v
                 JOIN invoice i ON i.statement_version_id = v.id
                 CROSS JOIN LATERAL (SELECT coalesce(sum(l.amount), 0) AS amount
                                       FROM invoice_line l WHERE l.invoice_id = i.id) lines
                WHERE i.monthly_profit IS NOT NULL AND i.amount <> lines.amount"""
        )
    if not grouped_lines and not (f.building_blocks or f.line_codes):
        # a statement whose versions have no line still counts (e.g. everything was zero, §3.4)
        facts.append(
            """SELECT v.site_id, v.period, v.statement_id, v.status, v.billing_type,
                      NULL, NULL, NULL::numeric, false, NULL::numeric
                 FROM versions v"""
        )
    if not f.on_lines:
        facts.append(
            """SELECT fr.site_id, to_date(fr.period, 'YYYYMM'), NULL::uuid, NULL, NULL, NULL, NULL,
                      NULL::numeric, false, fr.amount
                 FROM forecast_internal_revenue fr
                WHERE fr.period BETWEEN :f_first AND :f_last"""
        )
    parts.append("facts AS (\n" + "\nUNION ALL\n".join(facts) + "\n)")
    parts.append("layer AS (SELECT id FROM territory_layer WHERE code = :layer)")

    where = _any_of(
        params,
        ("site_numbers", "cs.site_number", f.site_numbers),
        ("states", "cs.state", f.states),
        ("billing_types", "coalesce(f.billing_type, ct.billing_type)", f.billing_types),
        ("contract_types", "ct.contract_type", f.contract_types),
        ("building_blocks", "f.building_block", f.building_blocks),
        ("line_codes", "f.code", f.line_codes),
        ("statuses", "f.status", f.statuses),
        ("territories", "t.code", f.territories),
    )

    inner = [GROUP_KEYS[d] for d in request.group_by]
    grand = f"GROUPING({', '.join(inner)}) <> 0" if inner else "true"
    grouping = f"GROUPING SETS (({', '.join(inner)}), ())" if inner else "()"
    # an aggregate nobody asked for is a constant: the counts' DISTINCT sorts cost most of the statement
    measures = ",\n                   ".join(
        f"{aggregate if name in request.measures else '0'} AS {name}" for name, aggregate in MEASURES.items()
    )
    territory_join = (
        """LEFT JOIN site_territory_assignment a
                  ON a.site_id = f.site_id AND a.layer_id = (SELECT id FROM layer)
                 AND tstzrange(a.valid_from, a.valid_to) @> towne_period_as_of(f.period)
             LEFT JOIN territory t ON t.id = a.territory_id"""
        if request.layer is not None
        else ""
    )
    # the site and contract only for their dimensions: every fact table has its own row scope
    used = " ".join(inner + where)
    site_join = "JOIN customer_site cs ON cs.id = f.site_id" if "cs." in used else ""
    contract_join = "LEFT JOIN contract ct ON ct.site_id = f.site_id" if "ct." in used else ""
    outer: list[str] = []
    joins: list[str] = []
    for n, dimension in enumerate(request.group_by):
        alias = f"g{n}"
        outer += [expr.replace("g.key", f"g.{alias}").replace("tk.", f"tk{n}.").replace("sk.", f"sk{n}.")
                  for expr in KEYS[dimension]]  # fmt: skip
        if dimension is Dimension.TERRITORY:
            joins.append(f"LEFT JOIN territory tk{n} ON tk{n}.id = g.{alias}")
        elif dimension is Dimension.SITE:
            joins.append(f"LEFT JOIN customer_site sk{n} ON sk{n}.id = g.{alias}")
    sql = f"""
        WITH {", ".join(parts)},
        grouped AS (
            SELECT {"".join(f"{expr} AS g{n}, " for n, expr in enumerate(inner))}
                   {grand} AS grand,
                   {measures}
              FROM facts f
              {site_join}
              {contract_join}
              {territory_join}
             {"WHERE " + " AND ".join(where) if where else ""}
             GROUP BY {grouping}
        )
        SELECT {"".join(f"{expr} AS k{i}, " for i, expr in enumerate(outer))} g.*,
               (SELECT id FROM layer) AS layer_id,
               (SELECT coalesce(array_agg(code), '{{}}') FROM territory
                 WHERE layer_id = (SELECT id FROM layer) AND code = ANY(:known_codes)) AS known_codes
          FROM grouped g
          {" ".join(joins)}
         ORDER BY g.grand, {", ".join(f"k{i} NULLS LAST" for i in range(len(outer))) or "1"}
    """
    params["known_codes"] = list(f.territories)
    return sql, params


def _any_of(params: dict[str, Any], *conditions: tuple[str, str, tuple[str, ...]]) -> list[str]:
    """`column = ANY(:name)` for each (name, column, values) with values, which go into `params` as a list."""
    where = []
    for name, column, values in conditions:
        if values:
            where.append(f"{column} = ANY(:{name})")
            params[name] = list(values)
    return where


def _statement(sql: str, params: dict[str, Any]) -> Any:
    """The text statement with every list parameter bound as `text[]` (asyncpg cannot infer `= ANY`)."""
    arrays = [name for name, value in params.items() if isinstance(value, list)]
    return text(sql).bindparams(*(bindparam(name, type_=ARRAY(Text)) for name in arrays))


def summary_statement(request: SummaryRequest) -> tuple[Any, dict[str, Any]]:
    sql, params = summary_sql(request)
    return _statement(sql, params), params


async def summary_rows(session: AsyncSession, request: SummaryRequest) -> tuple[list[str], list[Any]]:
    """The column names and rows (tuples) of `summary_sql`: the groups in key order, then the grand total."""
    statement, params = summary_statement(request)
    result = await session.execute(statement, params)
    return list(result.keys()), [tuple(row) for row in result.all()]


async def preview_sites(session: AsyncSession, request: SummaryRequest) -> list[Any]:
    """The sites in scope that the site-level filters keep, with their territory per service period."""
    f = request.filter
    params: dict[str, Any] = {
        "layer": request.layer,
        "p_first": request.first.start,
        "p_last": request.last.start,
    }
    where = [
        "true",
        *_any_of(
            params,
            ("site_numbers", "cs.site_number", f.site_numbers),
            ("states", "cs.state", f.states),
            ("billing_types", "ct.billing_type", f.billing_types),
            ("contract_types", "ct.contract_type", f.contract_types),
        ),
    ]
    sql = f"""
        SELECT cs.id, cs.site_number, cs.name, cs.state, ct.billing_type, ct.contract_type,
               p.period, t.id AS territory_id, t.code, t.name AS territory_name
          FROM customer_site cs
          JOIN contract ct ON ct.site_id = cs.id
          CROSS JOIN LATERAL (SELECT d::date AS period
                                FROM generate_series(:p_first, :p_last, interval '1 month') AS d) p
          LEFT JOIN site_territory_assignment a
                 ON a.site_id = cs.id AND a.layer_id = (SELECT id FROM territory_layer WHERE code = :layer)
                AND tstzrange(a.valid_from, a.valid_to) @> towne_period_as_of(p.period)
          LEFT JOIN territory t ON t.id = a.territory_id
         WHERE {" AND ".join(where)}
    """
    return list((await session.execute(_statement(sql, params), params)).mappings().all())


# --- portfolio reports -------------------------------------------------------------------------------------


class ContractDimension(enum.Enum):
    """What the contract portfolio groups by; the value is the key expression's name."""

    CONTRACT_TYPE = "contract_type"
    BILLING_TYPE = "billing_type"
    BUILDING_BLOCK = "building_block"
    STATUS = "status"
    STATE = "state"
    TERRITORY = "territory"


CONTRACT_KEYS: dict[ContractDimension, tuple[str, ...]] = {
    ContractDimension.CONTRACT_TYPE: ("ct.contract_type",),
    ContractDimension.BILLING_TYPE: ("ct.billing_type",),
    ContractDimension.BUILDING_BLOCK: ("b.block",),
    ContractDimension.STATUS: ("ct.status",),
    ContractDimension.STATE: ("cs.state",),
    ContractDimension.TERRITORY: ("t.code", "t.name", "t.id"),
}


async def contract_portfolio_rows(
    session: AsyncSession, group_by: tuple[ContractDimension, ...], layer: str | None
) -> list[Any]:
    """Contracts and sites counted by `group_by` (one statement; the grand total last, `grand` true).

    With BUILDING_BLOCK a contract counts once in each block it enables (a hybrid in several), so those groups
    add up to more than the total; with TERRITORY the site's current assignment in `layer` counts.
    """
    keys = [expr for d in group_by for expr in CONTRACT_KEYS[d]]
    blocks = (
        "LEFT JOIN LATERAL unnest(ct.building_blocks) AS b(block) ON true"
        if ContractDimension.BUILDING_BLOCK in group_by
        else ""
    )
    territory = (
        """LEFT JOIN site_territory_assignment a ON a.site_id = cs.id AND a.valid_to IS NULL
                 AND a.layer_id = (SELECT id FROM territory_layer WHERE code = :layer)
           LEFT JOIN territory t ON t.id = a.territory_id"""
        if layer is not None
        else ""
    )
    grouping = f"GROUPING SETS (({', '.join(keys)}), ())" if keys else "()"
    sql = f"""
        SELECT {"".join(f"{expr} AS k{i}, " for i, expr in enumerate(keys))}
               ({f"GROUPING({', '.join(keys)})" if keys else "1"} <> 0) AS grand,
               count(DISTINCT ct.id) AS contracts, count(DISTINCT cs.id) AS sites,
               (SELECT id FROM territory_layer WHERE code = :layer) AS layer_id
          FROM contract ct
          JOIN customer_site cs ON cs.id = ct.site_id
          {blocks}
          {territory}
         GROUP BY {grouping}
         ORDER BY grand, {", ".join(f"k{i} NULLS LAST" for i in range(len(keys))) or "1"}
    """
    return list((await session.execute(text(sql), {"layer": layer})).mappings().all())


async def statement_aging_rows(session: AsyncSession, as_of: Any) -> list[Any]:
    """Statements waiting (their unsent, not superseded version, domain.md §3.5) by status: how many, their
    amount (Σ invoices, USD), and how long they have waited since they entered that status (the version's
    last status event, else its creation), in whole days at `as_of`: oldest, average, and per age band.
    One statement; the total of every status last (`grand` true)."""
    sql = """
        WITH waiting AS (
            SELECT v.id, v.status, s.site_id,
                   coalesce((SELECT max(e.at) FROM statement_event e
                              WHERE e.statement_version_id = v.id AND e.to_status = v.status), v.created_at)
                       AS since,
                   coalesce((SELECT sum(i.amount) FROM invoice i WHERE i.statement_version_id = v.id), 0) AS amount
              FROM statement_version v
              JOIN billing_statement s ON s.id = v.statement_id
             WHERE v.status <> 'SENT' AND NOT v.superseded
        ), aged AS (
            SELECT w.*, greatest(extract(epoch FROM (:as_of - w.since)) / 86400, 0) AS days FROM waiting w
        )
        SELECT status AS k0, GROUPING(status) <> 0 AS grand,
               count(*) AS statements, count(DISTINCT site_id) AS sites, coalesce(sum(amount), 0) AS amount,
               coalesce(floor(max(days)), 0)::integer AS oldest_days,
               coalesce(round(avg(days)::numeric, 1), 0) AS average_days,
               count(*) FILTER (WHERE days < 3) AS band_0_2,
               count(*) FILTER (WHERE days >= 3 AND days < 8) AS band_3_7,
               count(*) FILTER (WHERE days >= 8 AND days < 31) AS band_8_30,
               count(*) FILTER (WHERE days >= 31) AS band_31
          FROM aged
         GROUP BY GROUPING SETS ((status), ())
         ORDER BY grand, k0
    """
    return list((await session.execute(text(sql), {"as_of": as_of})).mappings().all())


async def territory_statistics_rows(session: AsyncSession, layer: str) -> list[Any]:
    """Per territory of `layer` (not retired): its geodesic area (km²), the sites the caller sees currently
    assigned to it, their parking spaces and rooms; and the layer's id (null: unknown layer). One statement."""
    sql = """
        SELECT t.id, t.code, t.name, t.area_km2,
               count(cs.id) AS sites,
               coalesce(sum(cs.parking_spaces), 0) AS parking_spaces,
               coalesce(sum(cs.rooms), 0) AS rooms,
               count(cs.id) FILTER (WHERE cs.is_active) AS active_sites,
               l.id AS layer_id
          FROM territory_layer l
          LEFT JOIN territory t ON t.layer_id = l.id AND t.retired_at IS NULL
          LEFT JOIN site_territory_assignment a ON a.territory_id = t.id AND a.valid_to IS NULL
          LEFT JOIN customer_site cs ON cs.id = a.site_id
         WHERE l.code = :layer
         GROUP BY l.id, t.id
         ORDER BY t.code
    """
    return list((await session.execute(text(sql), {"layer": layer})).mappings().all())


__all__ = [
    "CONTRACT_KEYS",
    "LINE_DIMENSIONS",
    "MEASURES",
    "PENDING_STATUSES",
    "ContractDimension",
    "Dimension",
    "SummaryFilter",
    "SummaryRequest",
    "contract_portfolio_rows",
    "preview_sites",
    "statement_aging_rows",
    "summary_rows",
    "summary_sql",
    "summary_statement",
    "territory_statistics_rows",
]
