"""The `reporting` schema: documented, stable views for BI clients (issue 11 §2; docs/reporting.md).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

* `public.towne_period_as_of(date)`: the instant a service period is judged at, the last microsecond of its
  last day in UTC. The territory of a site *at a service period* is its assignment row of that layer whose
  `tstzrange(valid_from, valid_to)` contains that instant (`valid_to` exclusive; `territory_id` NULL:
  unassigned). The GraphQL `billingSummary` uses the same function: keep its name and meaning.
* Schema `reporting`: one view per thing a report counts (sites, their territories per layer, contracts and
  their building blocks, statements with their current version, invoice lines, invoice lines with their
  territory at the line's service period, forecast per site and month), every one `security_invoker`, so the
  base tables' row-level policies apply to whoever reads: the application role bound to a scoped caller
  (accountManager, districtManager) sees its sites, a `reportingReader` every site. Every view and column has
  a comment with its unit; docs/reporting.md lists the same (a test compares it with the catalog).
* Role `towne_reporting` (NOLOGIN group; a BI login is `CREATE ROLE powerbi LOGIN PASSWORD '…' IN ROLE
  towne_reporting`): USAGE on `reporting`, SELECT on its views and, because they are security_invoker, on the
  base tables they read, with policies `TO towne_reporting` that read every row (like the `reportingReader`
  API role). Vendor ids (`customer_site.vendor_id`, `invoice.vendor_id`) are not granted (column privileges),
  nor are users, the audit trail, idempotency keys or generation requests; nothing is writable. Created here
  when the migrating role may create roles (the embedded cluster); on a supplied server the DBA creates it
  first (docs/reporting.md), else the migration grants nothing to it and says so.
* The application role gets USAGE on `reporting` and SELECT on its views (exports and the API read them
  under its own policies).
* Downgrade drops the schema, the function, the policies and the grants; the role, being cluster-wide (other
  databases of the cluster may grant it, logins may be members), stays, like `towne_app` and `towne_gis_editor`.
"""

import os
from collections.abc import Sequence
from typing import NamedTuple

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORTING_ROLE = "towne_reporting"

# base tables the views read, which the reporting role may SELECT (and reads every row of)
BASE_TABLES = (
    "customer_site",
    "site_territory_assignment",
    "territory_layer",
    "territory",
    "contract",
    "billing_statement",
    "statement_version",
    "invoice",
    "invoice_line",
    "forecast_internal_revenue",
    "ledger_balance",
)
# columns never granted to the reporting role: the Great Plains vendor of negative invoices (§1.2, §3.8)
WITHHELD = {"customer_site": ("vendor_id",), "invoice": ("vendor_id",)}

# domain.md §1.4: the stored name (the API's BuildingBlock), the legacy option code, its name, the export label
BUILDING_BLOCKS = (
    ("FIXED_FEE", 126840000, "FixedFee", "Fixed Fee"),
    ("PER_LABOR_HOUR", 126840001, "PerLaborHour", "Per Labor Hour"),
    ("PER_OCCUPIED_ROOM", 126840002, "PerOccupiedRoom", "Per Occupied Room"),
    ("INVOICE_GROUPING", 126840003, "InvoiceGrouping", "Invoice Grouping"),
    ("REVENUE_SHARE", 126840004, "RevenueShare", "Revenue Share"),
    ("BELL_SERVICE", 126840005, "BellService", "Bell Service"),
    ("MID_MONTH_ADVANCE", 126840006, "MidMonthAdvance", "Mid Month Advance"),
    ("DEPOSITED_REVENUE", 126840007, "DepositedRevenue", "Deposited Revenue"),
    ("BILLABLE_ACCOUNTS", 126840008, "BillingAccount", "Billing Account"),
    ("MANAGEMENT_AGREEMENT", 126840009, "ManagementAgreement", "Management Agreement"),
)

PERIOD_AS_OF = """
CREATE FUNCTION public.towne_period_as_of(service_period_start date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    -- the microsecond taken from the timestamp before it is placed in UTC: every step immutable, so the
    -- planner inlines the function (timestamptz - interval is only stable)
    SELECT ((service_period_start + interval '1 month')::timestamp - interval '1 microsecond') AT TIME ZONE 'UTC'
$$
"""
PERIOD_AS_OF_COMMENT = (
    "The instant a service period is judged at: the last microsecond of its last day in UTC (a period given by "
    "its first day). A site's territory at a service period is the site_territory_assignment row of the layer "
    "with tstzrange(valid_from, valid_to) @> towne_period_as_of(period) (valid_to exclusive)."
)

# an invoice line's code is revenue when it is an integer 4000–4999 (§3.6 "Invoiced")
REVENUE_CODE = "(CASE WHEN {c} ~ '^[0-9]{{1,18}}$' THEN {c}::bigint BETWEEN 4000 AND 4999 ELSE false END)"
# a version is its statement's current one: not superseded, no higher version number not superseded (§3.3)
IS_CURRENT = (
    "(NOT {v}.superseded AND NOT EXISTS (SELECT 1 FROM public.statement_version n"
    " WHERE n.statement_id = {v}.statement_id AND NOT n.superseded AND n.version > {v}.version))"
)
IS_LATEST_SENT = (
    "({v}.status = 'SENT' AND NOT EXISTS (SELECT 1 FROM public.statement_version n"
    " WHERE n.statement_id = {v}.statement_id AND n.status = 'SENT' AND n.version > {v}.version))"
)
# §3.8: the company (GL entity) of a GL string
COMPANY = "(CASE left({g}, 2) WHEN '07' THEN 'ENC' WHEN '22' THEN 'UPP' ELSE 'TOWNE' END)"
# the enabled building blocks of a contract as one text, in code order ("Revenue Share; Deposited Revenue")
BLOCK_LABELS = (
    "(SELECT string_agg(b.label, '; ' ORDER BY b.code) FROM unnest({c}.building_blocks) AS u(block)"
    " JOIN reporting.building_block b ON b.building_block = u.block)"
)
SERVICE_PERIOD = "to_char({d}, 'YYYY-MM')"


class View(NamedTuple):
    """One reporting view: its name in `reporting`, its comment, its SELECT, and (column, comment) in order."""

    name: str
    comment: str
    select: str
    columns: tuple[tuple[str, str], ...]


FLAGS = (
    ("is_adhoc", "Entered by hand (§3.4), not produced by a building block."),
    ("is_profit_deduction", "Deducted from profit before profit share (§2.10e)."),
    ("is_non_billable_expense", "A non-billable expense (§3.4)."),
    ("is_client_paid_expense", "An expense the client paid (§3.4)."),
    ("is_management_fee", "The management fee line (§2.10a)."),
    ("is_billable_payroll_accounts", "Billable payroll accounts (§2.9)."),
    ("is_pteb", "Payroll taxes and employee benefits (§2.9)."),
    ("is_support_services", "Support services (§2.9)."),
    ("is_billable_expense_accounts", "Billable expense accounts (§2.9)."),
    ("is_insurance", "Insurance (§2.10b)."),
    ("is_claims", "Claims (§2.10b)."),
    ("is_profit_share", "The profit-share line (§2.10e)."),
    ("is_deposited_revenue", "Deposited revenue (§2.8)."),
    ("is_paid_parking_tax", "Parking tax paid by Towne Park (§2.8)."),
)

SITE_NUMBER = ("site_number", "Site number (4 digits): the business key of a site, one contract per site.")
SERVICE_PERIOD_COLUMNS = (
    ("service_period", "Service period, YYYY-MM."),
    ("service_period_start", "First day of the service period (date)."),
)


# percentages are numeric(22,4): |F - A| / F x 100 with A < 10^12 and F >= 0.01 USD fits its 18 integer digits
def _forecast(key: str) -> str:
    return f"(v.forecast_data ->> '{key}')::numeric"


VIEWS: tuple[View, ...] = (
    View(
        "building_block",
        "The building blocks (contract type codes) of domain.md §1.4: one row per block, a lookup for "
        "contract_building_block and invoice_line.building_block.",
        "SELECT b.building_block, b.code, b.name, b.label FROM (VALUES "
        + ", ".join(f"('{s}', {c}, '{n}', '{label}')" for s, c, n, label in BUILDING_BLOCKS)
        + ") AS b(building_block, code, name, label)",
        (
            ("building_block", "Stored name, as the API spells it (e.g. FIXED_FEE)."),
            ("code", "Legacy option code bs_contracttypechoices (e.g. 126840000)."),
            ("name", "Legacy name (e.g. FixedFee)."),
            ("label", "Label of the contracts export (e.g. Fixed Fee)."),
        ),
    ),
    View(
        "site",
        "Customer sites (domain.md §1.2): one row per site the reader may see, with its contract's billing "
        "type and building blocks (NULL when the reader may not see the contract). No vendor id.",
        f"""SELECT s.site_number, s.name, s.address, s.street, s.city, s.state, s.zip,
            ST_X(s.location) AS longitude, ST_Y(s.location) AS latitude, s.geocode_method,
            s.gl_string, {COMPANY.format(g="s.gl_string")} AS company,
            s.parking_spaces, s.rooms, s.start_date, s.close_date, s.is_active,
            s.source_district AS legacy_district,
            c.contract_type, c.billing_type, c.status AS contract_status,
            {BLOCK_LABELS.format(c="c")} AS building_blocks
        FROM public.customer_site s LEFT JOIN public.contract c ON c.site_id = s.id""",
        (
            SITE_NUMBER,
            ("name", "Site name."),
            ("address", "The legacy single address field, verbatim (street, city, ST ZIP)."),
            ("street", "Street address."),
            ("city", "City; NULL when the legacy address has none."),
            ("state", "US state, 2-letter postal code."),
            ("zip", "ZIP code, 5 digits."),
            ("longitude", "Longitude of the site's point, degrees, EPSG:4326 (WGS 84); NULL: not geocoded."),
            ("latitude", "Latitude of the site's point, degrees, EPSG:4326 (WGS 84); NULL: not geocoded."),
            ("geocode_method", "How the point was found: zip, zip3_prefix or manual; NULL: not geocoded."),
            ("gl_string", "GL string EE-RR-CCCC- (§3.8); account and site are appended at posting."),
            ("company", "GL company of the GL string (§3.8): ENC (07), UPP (22), else TOWNE."),
            ("parking_spaces", "Total available parking spaces (count); NULL: unknown."),
            ("rooms", "Total rooms available (count); NULL: unknown."),
            ("start_date", "First worked date (date); the contract start of anniversary logic."),
            ("close_date", "Close date (date); NULL: open."),
            ("is_active", "Active (true) or inactive (false)."),
            (
                "legacy_district",
                "The legacy bs_district text, verbatim (e.g. D - Orlando); see site_territory.",
            ),
            ("contract_type", "EDW contract type label (§1.3), informational."),
            ("billing_type", "ARREARS or ADVANCED (§1.3)."),
            ("contract_status", "Contract status: draft, active, expired, terminated or archived."),
            ("building_blocks", "Enabled building blocks, labels in code order, separated by '; '."),
        ),
    ),
    View(
        "site_territory",
        "Territory assignments (domain.md §4.3): one row per site, territory layer and assignment period. The "
        "territory of a site at an instant is the row whose [valid_from, valid_to) contains it; at a service "
        "period, the row containing towne_period_as_of(period).",
        """SELECT s.site_number, l.code AS layer_code, l.name AS layer_name, a.territory_id,
            t.code AS territory_code, t.name AS territory_name, a.method AS assignment_method,
            nullif(a.valid_from, '-infinity') AS valid_from, a.valid_to, a.valid_to IS NULL AS is_current
        FROM public.site_territory_assignment a
        JOIN public.customer_site s ON s.id = a.site_id
        JOIN public.territory_layer l ON l.id = a.layer_id
        LEFT JOIN public.territory t ON t.id = a.territory_id""",
        (
            SITE_NUMBER,
            ("layer_code", "Territory layer code (e.g. districts, regions)."),
            ("layer_name", "Territory layer name."),
            ("territory_id", "Territory id, stable across renames; NULL: unassigned in this period."),
            ("territory_code", "Territory code today; NULL: unassigned."),
            ("territory_name", "Territory name today; NULL: unassigned."),
            ("assignment_method", "How it was assigned: initial, point_in_polygon or manual."),
            ("valid_from", "Start of the period, timestamptz UTC, inclusive; NULL: since the records began."),
            ("valid_to", "End of the period, timestamptz UTC, exclusive; NULL: still in force."),
            ("is_current", "The assignment in force now (valid_to NULL)."),
        ),
    ),
    View(
        "contract",
        "Contracts (domain.md §1.3): one row per contract, one contract per site; the header in force now.",
        f"""SELECT s.site_number, c.contract_type, c.billing_type, c.status, c.term_start, c.term_end,
            c.auto_renew_months, c.notice_days, c.terminated_on, {BLOCK_LABELS.format(c="c")} AS building_blocks,
            c.increment_percentage, c.increment_month, c.deviation_amount AS deviation_threshold_amount,
            c.deviation_percentage AS deviation_threshold_percentage, c.payment_terms, c.purchase_order,
            c.deposits, c.occupied_room_rate, c.occupied_room_code, c.edition, c.updated_at
        FROM public.contract c JOIN public.customer_site s ON s.id = c.site_id""",
        (
            SITE_NUMBER,
            ("contract_type", "EDW contract type label (§1.3), informational."),
            ("billing_type", "ARREARS or ADVANCED (§1.3)."),
            ("status", "draft, active, expired, terminated or archived."),
            ("term_start", "Start of the term (date); NULL: unknown."),
            ("term_end", "End of the term (date); NULL: evergreen."),
            ("auto_renew_months", "Renewal length, months; NULL: no automatic renewal."),
            ("notice_days", "Notice period, days."),
            ("terminated_on", "Termination date (date)."),
            ("building_blocks", "Enabled building blocks, labels in code order, separated by '; '."),
            ("increment_percentage", "Annual escalator of fixed fees and labor rates, percent (3 = 3 %)."),
            ("increment_month", "Escalation month, 1-12."),
            ("deviation_threshold_amount", "Forecast deviation threshold, USD (§3.6)."),
            ("deviation_threshold_percentage", "Forecast deviation threshold, percent (§3.6)."),
            ("payment_terms", "Payment terms copied onto each invoice."),
            ("purchase_order", "Purchase order copied onto each invoice."),
            ("deposits", "Towne Park collects deposits."),
            ("occupied_room_rate", "Per-occupied-room rate, USD per room (§2.3)."),
            ("occupied_room_code", "GL code of the per-occupied-room line."),
            ("edition", "Number of approved amendments (the header's edition)."),
            ("updated_at", "Last change of the contract row, timestamptz UTC."),
        ),
    ),
    View(
        "contract_building_block",
        "One row per contract and enabled building block (domain.md §1.4).",
        """SELECT s.site_number, b.building_block, b.code, b.name, b.label
        FROM public.contract c JOIN public.customer_site s ON s.id = c.site_id
        CROSS JOIN LATERAL unnest(c.building_blocks) AS u(block)
        JOIN reporting.building_block b ON b.building_block = u.block""",
        (
            SITE_NUMBER,
            ("building_block", "Stored name, as the API spells it (e.g. FIXED_FEE)."),
            ("code", "Legacy option code (e.g. 126840000)."),
            ("name", "Legacy name (e.g. FixedFee)."),
            ("label", "Label of the contracts export (e.g. Fixed Fee)."),
        ),
    ),
    View(
        "statement",
        "Billing statements (domain.md §1.6, §3.3): one row per statement with its current version (the "
        "highest version number not superseded), its amount, its forecast comparison (§3.6) and the latest "
        "Sent version.",
        f"""SELECT st.id AS statement_id, s.site_number, {SERVICE_PERIOD.format(d="st.service_period_start")}
            AS service_period, st.service_period_start, st.service_period_end,
            v.id AS statement_version_id, v.version, v.revision, v.status, v.billing_type, v.rate_selection_date,
            v.purchase_order,
            invoices.amount, invoices.invoice_count,
            {_forecast("forecastedRevenue")}::numeric(14,2) AS forecasted_revenue,
            {_forecast("postedRevenue")}::numeric(14,2) AS posted_revenue,
            {_forecast("invoicedRevenue")}::numeric(14,2) AS invoiced_revenue,
            {_forecast("totalActualRevenue")}::numeric(14,2) AS total_actual_revenue,
            {_forecast("forecastDeviationAmount")}::numeric(14,2) AS forecast_deviation_amount,
            {_forecast("forecastDeviationPercentage")}::numeric(22,4) AS forecast_deviation_percentage,
            (v.forecast_data ->> 'deviationExceeded')::boolean AS forecast_deviation_exceeded,
            v.created_by, v.created_at, v.sent_at,
            sent.version AS last_sent_version, sent.sent_at AS last_sent_at, sent.amount AS last_sent_amount
        FROM public.billing_statement st
        JOIN public.customer_site s ON s.id = st.site_id
        JOIN public.statement_version v ON v.statement_id = st.id AND {IS_CURRENT.format(v="v")}
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(i.amount), 0)::numeric(14,2) AS amount, count(*)::integer AS invoice_count
            FROM public.invoice i WHERE i.statement_version_id = v.id
        ) invoices
        LEFT JOIN LATERAL (
            SELECT x.version, x.sent_at,
                (SELECT coalesce(sum(i.amount), 0) FROM public.invoice i WHERE i.statement_version_id = x.id)
                    ::numeric(14,2) AS amount
            FROM public.statement_version x
            WHERE x.statement_id = st.id AND x.status = 'SENT'
            ORDER BY x.version DESC LIMIT 1
        ) sent ON true""",
        (
            (
                "statement_id",
                "Stable statement id (uuid), the same for every version; the GraphQL Statement.id.",
            ),
            SITE_NUMBER,
            *SERVICE_PERIOD_COLUMNS,
            ("service_period_end", "Last day of the service period (date)."),
            ("statement_version_id", "Id of the current version (uuid)."),
            ("version", "VV of the current version, from 1 (§3.3)."),
            ("revision", "Revision of the current version: 1, then 2, ... for each recomputation."),
            (
                "status",
                "Status of the current version: GENERATING, AR_REVIEW, APPROVAL_TEAM, READY_TO_SEND, "
                "SENT or FAILED (§3.5).",
            ),
            ("billing_type", "ARREARS or ADVANCED."),
            ("rate_selection_date", "Rate rows active on this date were billed (§2.15)."),
            ("purchase_order", "Purchase order of the contract."),
            ("amount", "Σ invoice amounts of the current version, USD (2 decimals)."),
            ("invoice_count", "Number of invoices of the current version."),
            ("forecasted_revenue", "Internal-revenue forecast of the month, USD (§3.6); NULL: not compared."),
            ("posted_revenue", "Revenue posted in the ledger, accounts 4000-4999, USD (§3.6)."),
            ("invoiced_revenue", "Revenue invoiced by the current version, codes 4000-4999, USD (§3.6)."),
            ("total_actual_revenue", "Posted + invoiced, USD (§3.6)."),
            ("forecast_deviation_amount", "abs(forecast - actual), USD (§3.6)."),
            (
                "forecast_deviation_percentage",
                "abs(forecast - actual) / forecast x 100, percent, 4 decimals; 0 without a forecast (§3.6).",
            ),
            ("forecast_deviation_exceeded", "Both deviation thresholds of the contract are exceeded (§3.6)."),
            ("created_by", "Who generated the current version (the caller's subject); NULL: anonymous."),
            ("created_at", "When the current version was computed, timestamptz UTC."),
            ("sent_at", "When the current version was marked Sent, timestamptz UTC; NULL: not Sent."),
            ("last_sent_version", "VV of the latest Sent version; NULL: never Sent."),
            ("last_sent_at", "When the latest Sent version was marked Sent, timestamptz UTC."),
            ("last_sent_amount", "Σ invoice amounts of the latest Sent version (what was invoiced), USD."),
        ),
    ),
    View(
        "invoice_line",
        "Invoice lines of every version not superseded (the current one and earlier Sent ones; domain.md §1.6). "
        "Filter is_current_version (what the statement bills now) or is_latest_sent (what was invoiced) "
        "before summing: a statement regenerated after Sent has lines in both.",
        f"""SELECT l.id AS invoice_line_id, st.id AS statement_id, v.id AS statement_version_id, s.site_number,
            {SERVICE_PERIOD.format(d="st.service_period_start")} AS service_period, st.service_period_start,
            v.version, v.revision, v.status AS statement_status,
            {IS_CURRENT.format(v="v")} AS is_current_version, {IS_LATEST_SENT.format(v="v")} AS is_latest_sent,
            i.invoice_number, i.invoice_date, i.group_number, i.site_number AS invoice_site_number,
            l.position AS line_position, l.building_block, l.adhoc_type, l.code,
            {REVENUE_CODE.format(c="l.code")} AS is_revenue_code, l.title, l.description, l.amount,
            {", ".join(f"l.{flag}" for flag, _ in FLAGS)}, l.monthly_profit, l.taxes_paid
        FROM public.invoice_line l
        JOIN public.invoice i ON i.id = l.invoice_id
        JOIN public.statement_version v ON v.id = i.statement_version_id
        JOIN public.billing_statement st ON st.id = v.statement_id
        JOIN public.customer_site s ON s.id = st.site_id
        WHERE NOT v.superseded""",
        (
            ("invoice_line_id", "Line id (uuid), the lineItemId."),
            ("statement_id", "Stable statement id (uuid)."),
            ("statement_version_id", "Id of the line's statement version (uuid)."),
            SITE_NUMBER,
            *SERVICE_PERIOD_COLUMNS,
            ("version", "VV of the line's version."),
            ("revision", "Revision of the line's version."),
            ("statement_status", "Status of the line's version (§3.5)."),
            ("is_current_version", "The line belongs to its statement's current version."),
            ("is_latest_sent", "The line belongs to its statement's latest Sent version."),
            ("invoice_number", "Invoice number site-yyyyMM-GG-VV (§3.4)."),
            (
                "invoice_date",
                "Invoice date (date): Arrears the last day of the month, Advanced the 1st before.",
            ),
            ("group_number", "Invoice group, from 1."),
            ("invoice_site_number", "Site number printed on the invoice, after the group's override (§1.5)."),
            ("line_position", "Position of the line in its invoice, from 1."),
            ("building_block", "Building block that produced the line (see building_block); NULL: ad hoc."),
            ("adhoc_type", "GL code type of an ad-hoc line; NULL otherwise."),
            ("code", "GL main account, e.g. 4790."),
            (
                "is_revenue_code",
                "The code is an integer 4000-4999: revenue in the forecast comparison (§3.6).",
            ),
            ("title", "Printed title."),
            ("description", "Printed description."),
            ("amount", "Line amount, USD (2 decimals)."),
            *FLAGS,
            ("monthly_profit", "P_month of a profit-share line, USD (§2.10e)."),
            ("taxes_paid", "Parking tax of a deposited-revenue line, USD (§2.8)."),
        ),
    ),
    View(
        "invoice_line_territory",
        "Invoice lines (as in invoice_line) times territory layers, with the site's territory of that layer at "
        "the line's service period: the assignment whose [valid_from, valid_to) contains "
        "towne_period_as_of(service period), the last instant of the period in UTC. Group revenue by "
        "territory as it was; every line appears once per layer.",
        """SELECT il.invoice_line_id, il.statement_id, il.site_number, il.service_period, il.service_period_start,
            l.code AS layer_code, l.name AS layer_name, a.territory_id, t.code AS territory_code,
            t.name AS territory_name, a.method AS assignment_method,
            il.statement_status, il.is_current_version, il.is_latest_sent, il.code, il.is_revenue_code, il.amount
        FROM reporting.invoice_line il
        JOIN public.customer_site s ON s.site_number = il.site_number
        CROSS JOIN public.territory_layer l
        LEFT JOIN public.site_territory_assignment a ON a.site_id = s.id AND a.layer_id = l.id
            AND tstzrange(a.valid_from, a.valid_to) @> public.towne_period_as_of(il.service_period_start)
        LEFT JOIN public.territory t ON t.id = a.territory_id""",
        (
            ("invoice_line_id", "Line id (uuid); joins invoice_line."),
            ("statement_id", "Stable statement id (uuid)."),
            SITE_NUMBER,
            *SERVICE_PERIOD_COLUMNS,
            ("layer_code", "Territory layer code (e.g. districts)."),
            ("layer_name", "Territory layer name."),
            ("territory_id", "Territory at the service period (id); NULL: unassigned then."),
            ("territory_code", "Code today of the territory at the service period; NULL: unassigned then."),
            ("territory_name", "Name today of the territory at the service period; NULL: unassigned then."),
            ("assignment_method", "How that assignment was made; NULL: the site had no assignment row then."),
            ("statement_status", "Status of the line's version (§3.5)."),
            ("is_current_version", "The line belongs to its statement's current version."),
            ("is_latest_sent", "The line belongs to its statement's latest Sent version."),
            ("code", "GL main account of the line."),
            ("is_revenue_code", "The code is an integer 4000-4999 (§3.6)."),
            ("amount", "Line amount, USD (2 decimals)."),
        ),
    ),
    View(
        "forecast_site_month",
        "Forecast against actual revenue per site and service period (domain.md §3.6): one row per site and "
        "month with a forecast or a statement. Invoiced is the revenue (codes 4000-4999) of the latest Sent "
        "version; posted comes from the ledger; deviation compares the forecast with posted + invoiced.",
        f"""SELECT s.site_number, substr(m.period, 1, 4) || '-' || substr(m.period, 5, 2) AS service_period,
            to_date(m.period, 'YYYYMM') AS service_period_start,
            f.amount AS forecast_revenue, posted.amount AS posted_revenue,
            sent.version AS invoiced_version, sent.invoiced AS invoiced_revenue,
            (posted.amount + coalesce(sent.invoiced, 0))::numeric(14,2) AS actual_revenue,
            abs(f.amount - (posted.amount + coalesce(sent.invoiced, 0)))::numeric(14,2) AS deviation_amount,
            (CASE WHEN f.amount = 0 THEN 0
                  ELSE abs((f.amount - (posted.amount + coalesce(sent.invoiced, 0))) / f.amount) * 100
             END)::numeric(22,4) AS deviation_percentage
        FROM (
            SELECT site_id, period::text AS period FROM public.forecast_internal_revenue
            UNION
            SELECT site_id, to_char(service_period_start, 'YYYYMM') FROM public.billing_statement
        ) m
        JOIN public.customer_site s ON s.id = m.site_id
        LEFT JOIN public.forecast_internal_revenue f ON f.site_id = m.site_id AND f.period = m.period
        CROSS JOIN LATERAL (
            SELECT (-coalesce(sum(b.balance), 0))::numeric(14,2) AS amount FROM public.ledger_balance b
            WHERE b.site_id = m.site_id AND b.period = m.period AND b.entity <> '06'
              AND {REVENUE_CODE.format(c="b.main_account")}
        ) posted
        LEFT JOIN LATERAL (
            SELECT x.version,
                (SELECT coalesce(sum(l.amount), 0) FROM public.invoice i
                 JOIN public.invoice_line l ON l.invoice_id = i.id
                 WHERE i.statement_version_id = x.id AND {REVENUE_CODE.format(c="l.code")})::numeric(14,2) AS invoiced
            FROM public.billing_statement st JOIN public.statement_version x ON x.statement_id = st.id
            WHERE st.site_id = m.site_id AND st.service_period_start = to_date(m.period, 'YYYYMM')
              AND x.status = 'SENT'
            ORDER BY x.version DESC LIMIT 1
        ) sent ON true""",
        (
            SITE_NUMBER,
            *SERVICE_PERIOD_COLUMNS,
            ("forecast_revenue", "Forecast internal revenue of the month, USD; NULL: no forecast."),
            (
                "posted_revenue",
                "Revenue posted in the ledger: -Σ balance of accounts 4000-4999, entity not 06, USD (§3.6).",
            ),
            ("invoiced_version", "VV of the latest Sent version of the month's statement; NULL: none Sent."),
            ("invoiced_revenue", "Σ lines coded 4000-4999 of the latest Sent version, USD; NULL: none Sent."),
            ("actual_revenue", "Posted + invoiced (0 when none Sent), USD (§3.6)."),
            ("deviation_amount", "abs(forecast - actual), USD; NULL: no forecast."),
            (
                "deviation_percentage",
                "abs(forecast - actual) / forecast x 100, percent, 4 decimals; 0 when the "
                "forecast is 0; NULL: no forecast.",
            ),
        ),
    ),
)


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _views() -> str:
    return ", ".join(f"reporting.{view.name}" for view in VIEWS)


def upgrade() -> None:
    app = app_role()
    op.execute(PERIOD_AS_OF)
    op.execute(f"COMMENT ON FUNCTION public.towne_period_as_of(date) IS {_literal(PERIOD_AS_OF_COMMENT)}")
    op.execute("CREATE SCHEMA reporting")
    op.execute(
        "COMMENT ON SCHEMA reporting IS 'Stable, documented views for BI clients (docs/reporting.md); "
        "security_invoker: the reader''s row scopes apply.'"
    )
    for view in VIEWS:
        columns = ", ".join(name for name, _ in view.columns)
        op.execute(
            f"CREATE VIEW reporting.{view.name} ({columns}) WITH (security_invoker = true) AS {view.select}"
        )
        op.execute(f"COMMENT ON VIEW reporting.{view.name} IS {_literal(view.comment)}")
        for name, comment in view.columns:
            op.execute(f"COMMENT ON COLUMN reporting.{view.name}.{name} IS {_literal(comment)}")
    for statement in (
        f"GRANT USAGE ON SCHEMA reporting TO {app}",
        f"GRANT SELECT ON {_views()} TO {app}",
        f"GRANT EXECUTE ON FUNCTION public.towne_period_as_of(date) TO {app}",
    ):
        op.execute(statement)

    # ---- the BI readers' group role: the views and what they read, every row, nothing else
    grants = [
        f"GRANT USAGE ON SCHEMA public, reporting TO {REPORTING_ROLE}",
        f"GRANT SELECT ON {_views()} TO {REPORTING_ROLE}",
        f"GRANT EXECUTE ON FUNCTION public.towne_period_as_of(date) TO {REPORTING_ROLE}",
    ]
    for table in BASE_TABLES:
        if table not in WITHHELD:
            grants.append(f"GRANT SELECT ON public.{table} TO {REPORTING_ROLE}")
        grants.append(
            f"CREATE POLICY reporting_read ON public.{table} FOR SELECT TO {REPORTING_ROLE} USING (true)"
        )
    withheld = "".join(
        # every column the table has now but the withheld ones (column privileges: `SELECT *` is refused)
        f"""
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute
        WHERE attrelid = 'public.{table}'::regclass AND attnum > 0 AND NOT attisdropped
          AND attname <> ALL (ARRAY[{", ".join(_literal(c) for c in columns)}]);
        EXECUTE format('GRANT SELECT (%s) ON public.{table} TO {REPORTING_ROLE}', cols);"""
        for table, columns in WITHHELD.items()
    )
    body = "\n".join(f"        EXECUTE {_literal(g)};" for g in grants)
    op.execute(f"""
    DO $$
    DECLARE
        cols text;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{REPORTING_ROLE}') THEN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
                CREATE ROLE {REPORTING_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            ELSE
                RAISE NOTICE 'role {REPORTING_ROLE} not created (no CREATEROLE): docs/reporting.md says how';
                RETURN;
            END IF;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{REPORTING_ROLE}' AND (rolsuper OR rolbypassrls)) THEN
            RAISE EXCEPTION 'database role {REPORTING_ROLE} is a superuser or BYPASSRLS: vendor ids would leak';
        END IF;
{body}{withheld}
    END $$
    """)


def downgrade() -> None:
    drops = "\n".join(
        f"        DROP POLICY IF EXISTS reporting_read ON public.{table};" for table in BASE_TABLES
    )
    op.execute(f"""
    DO $$
    BEGIN
{drops}
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{REPORTING_ROLE}') THEN
            EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {REPORTING_ROLE}';
            EXECUTE 'REVOKE ALL ON SCHEMA public FROM {REPORTING_ROLE}';
        END IF;
    END $$
    """)
    # dependants first; no CASCADE: a view someone built on these makes the downgrade stop and say so
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW reporting.{view.name}")
    op.execute("DROP SCHEMA reporting")
    op.execute("DROP FUNCTION public.towne_period_as_of(date)")
