"""Great Plains GL export of a sent statement (domain.md §3.8, example F-1).

The golden cases use real site GL strings of each kind (domain.md §6.1): `02-` (0349, TOWNE), `03-` (0362,
TOWNE), `04-` (0900, TOWNE), `07-` (1134, ENC) and `22-` (8006, UPP). The balancing accounts take the
entity code of the site's *company* (ENC 07, UPP 22, TOWNE 02), so the 235 `03-`/`04-` sites balance in
`02-00-0000-…`, never in `03-`/`04-`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.gl import GlEntry, GlInvoice, balancing_entity, company_of, gl_entries, to_csv

D = Decimal
Row = tuple[str, str, str, str, str, str, str, str, str, str | None, str | None]


def rows(entries: list[GlEntry]) -> list[Row]:
    """Entries as plain tuples; amounts as their Decimal strings, so `2500.00` ≠ `2500` is visible."""
    return [
        (e.batch_id, e.batch, e.interface, e.document_number, e.document_date.isoformat(), e.account,
         str(e.debit), str(e.credit), e.description, e.vendor_id, e.deferred_account)
        for e in entries
    ]  # fmt: skip


@dataclass(frozen=True)
class Site:
    """A real site and, written out by hand, the accounts §3.8 gives it."""

    gl_string: str
    number: str
    company: str
    fee_account: str  # line code 4700
    default_account: str  # empty line code → 4790
    receivable: str  # A/R, {EE}-00-0000-1200-0000
    payable: str  # A/P, {EE}-00-0000-2000-0000
    deferred: str  # Advanced deferred revenue, {EE}-00-0000-2450-0000


SITES = [
    Site("02-03-1009-", "0349", "TOWNE", "02-03-1009-4700-0349", "02-03-1009-4790-0349",
         "02-00-0000-1200-0000", "02-00-0000-2000-0000", "02-00-0000-2450-0000"),
    Site("03-03-1001-", "0362", "TOWNE", "03-03-1001-4700-0362", "03-03-1001-4790-0362",
         "02-00-0000-1200-0000", "02-00-0000-2000-0000", "02-00-0000-2450-0000"),
    Site("04-01-0559-", "0900", "TOWNE", "04-01-0559-4700-0900", "04-01-0559-4790-0900",
         "02-00-0000-1200-0000", "02-00-0000-2000-0000", "02-00-0000-2450-0000"),
    Site("07-01-0523-", "1134", "ENC", "07-01-0523-4700-1134", "07-01-0523-4790-1134",
         "07-00-0000-1200-0000", "07-00-0000-2000-0000", "07-00-0000-2450-0000"),
    Site("22-08-2701-", "8006", "UPP", "22-08-2701-4700-8006", "22-08-2701-4790-8006",
         "22-00-0000-1200-0000", "22-00-0000-2000-0000", "22-00-0000-2450-0000"),
]  # fmt: skip
BY_PREFIX = pytest.mark.parametrize("site", SITES, ids=[s.gl_string[:2] for s in SITES])


def test_f1_gl_accounts_and_receivables() -> None:
    invoice = GlInvoice(
        "0349-202504-01-01",
        dt.date(2025, 4, 30),
        D("33300.00"),
        [("4700", D("2500.00"), "Management Fee"), ("4700", D("30800.00"), "Fixed Billable Expenses")],
    )
    entries = gl_entries([invoice], gl_string="02-03-1009-", site_number="0349", service_period="202504")
    assert [e.account for e in entries] == [
        "02-03-1009-4700-0349",
        "02-03-1009-4700-0349",
        "02-00-0000-1200-0000",
    ]
    assert entries[-1].debit == D("33300.00") and {e.batch for e in entries} == {"RECEIVABLES"}
    assert entries[0].document_number == "03492025040101"
    assert entries[0].batch_id == "202504POWERBILL20250430"
    assert (
        to_csv(entries).splitlines()[1].startswith("202504POWERBILL20250430,RECEIVABLES,TOWNE,03492025040101")
    )


@BY_PREFIX
def test_section_3_8_positive_arrears_invoice_goes_to_receivables(site: Site) -> None:
    # Arrears, P = 2025-04: invoice date P_end 2025-04-30, batch id 202504POWERBILL20250430. A credit per
    # positive line, a debit per negative line, zero lines dropped, balancing A/R debit of the amount to the
    # company's entity; interface TOWNE and no vendor on receivables, whatever the company.
    invoice = GlInvoice(
        f"{site.number}-202504-01-01",
        dt.date(2025, 4, 30),
        D("33149.75"),
        [
            ("4700", D("2500.00"), "Management Fee"),
            ("", D("30800.00"), ""),  # no code → 4790, no title → the standard description
            ("4790", D("-150.25"), "Signage credit"),
            ("4700", D("0.00"), "Nothing this month"),
        ],
        vendor_id="VENDOR",
    )
    entries = gl_entries(
        [invoice], gl_string=site.gl_string, site_number=site.number, service_period="202504"
    )
    batch, document, date = "202504POWERBILL20250430", f"{site.number}2025040101", "2025-04-30"
    description = f"202504{site.number}POWERBILL"
    assert rows(entries) == [
        (batch, "RECEIVABLES", "TOWNE", document, date, site.fee_account, "0.00", "2500.00", "Management Fee",
         None, None),
        (batch, "RECEIVABLES", "TOWNE", document, date, site.default_account, "0.00", "30800.00", description,
         None, None),
        (batch, "RECEIVABLES", "TOWNE", document, date, site.default_account, "150.25", "0.00", "Signage credit",
         None, None),
        (batch, "RECEIVABLES", "TOWNE", document, date, site.receivable, "33149.75", "0.00", description,
         None, None),
    ]  # fmt: skip


@BY_PREFIX
def test_section_3_8_negative_invoice_goes_to_payables_of_the_company(site: Site) -> None:
    # F-9-like deposits invoice of −15,000: document amount −amount = 15,000 is the balancing A/P credit;
    # interface = the company name, every entry carries the vendor.
    invoice = GlInvoice(
        f"{site.number}-202504-01-01",
        dt.date(2025, 4, 30),
        D("-15000.00"),
        [
            ("4790", D("5000.00"), "Client Collected Parking Tax due to Towne Park"),
            ("4790", D("-20000.00"), "Less: Towne Park Deposited Revenue"),
        ],
        vendor_id="VENDOR",
    )
    entries = gl_entries(
        [invoice], gl_string=site.gl_string, site_number=site.number, service_period="202504"
    )
    batch, document, date = "202504POWERBILL20250430", f"{site.number}2025040101", "2025-04-30"
    assert rows(entries) == [
        (batch, "PAYABLES", site.company, document, date, site.default_account, "0.00", "5000.00",
         "Client Collected Parking Tax due to Towne Park", "VENDOR", None),
        (batch, "PAYABLES", site.company, document, date, site.default_account, "20000.00", "0.00",
         "Less: Towne Park Deposited Revenue", "VENDOR", None),
        (batch, "PAYABLES", site.company, document, date, site.payable, "0.00", "15000.00",
         f"202504{site.number}POWERBILL", "VENDOR", None),
    ]  # fmt: skip
    assert entries[-1].credit == -invoice.amount


@BY_PREFIX
def test_section_3_8_zero_invoice_goes_to_payables_with_a_zero_credit(site: Site) -> None:
    invoice = GlInvoice(
        f"{site.number}-202504-02-01",
        dt.date(2025, 4, 30),
        D("0.00"),
        [
            ("4700", D("1200.00"), "Fixed Billable Expenses"),
            ("4790", D("-1200.00"), "Less: Mid-Month Advance"),
        ],
        vendor_id="VENDOR",
    )
    entries = gl_entries(
        [invoice], gl_string=site.gl_string, site_number=site.number, service_period="202504"
    )
    batch, document, date = "202504POWERBILL20250430", f"{site.number}2025040201", "2025-04-30"
    assert rows(entries) == [
        (batch, "PAYABLES", site.company, document, date, site.fee_account, "0.00", "1200.00",
         "Fixed Billable Expenses", "VENDOR", None),
        (batch, "PAYABLES", site.company, document, date, site.default_account, "1200.00", "0.00",
         "Less: Mid-Month Advance", "VENDOR", None),
        (batch, "PAYABLES", site.company, document, date, site.payable, "0.00", "0.00",
         f"202504{site.number}POWERBILL", "VENDOR", None),
    ]  # fmt: skip


@BY_PREFIX
def test_section_3_8_advanced_invoice_carries_the_deferred_account_on_every_entry(site: Site) -> None:
    # Advanced, generated in May 2025: P = 2025-06, invoice date 2025-05-01 (the 1st, §3.2), number
    # {site}-202505-01-01, batch id yyyyMM(P_start) = 202506. The deferred-revenue account
    # {EE}-00-0000-2450-0000 of the company is carried on each entry (not posted as an entry of its own).
    invoice = GlInvoice(
        f"{site.number}-202505-01-01",
        dt.date(2025, 5, 1),
        D("7096.27"),
        [("4700", D("7096.27"), "Account Manager Fee")],
        advanced=True,
    )
    entries = gl_entries(
        [invoice], gl_string=site.gl_string, site_number=site.number, service_period="202506"
    )
    batch, document, date = "202506POWERBILL20250501", f"{site.number}2025050101", "2025-05-01"
    assert rows(entries) == [
        (batch, "RECEIVABLES", "TOWNE", document, date, site.fee_account, "0.00", "7096.27",
         "Account Manager Fee", None, site.deferred),
        (batch, "RECEIVABLES", "TOWNE", document, date, site.receivable, "7096.27", "0.00",
         f"202506{site.number}POWERBILL", None, site.deferred),
    ]  # fmt: skip
    # and in the export, as its last column
    assert [line.rsplit(",", 1)[1] for line in to_csv(entries).splitlines()] == [
        "deferred_account",
        site.deferred,
        site.deferred,
    ]


@BY_PREFIX
def test_section_3_8_advanced_negative_invoice_carries_the_deferred_account_too(site: Site) -> None:
    invoice = GlInvoice(
        f"{site.number}-202505-01-01",
        dt.date(2025, 5, 1),
        D("-500.00"),
        [("4790", D("-500.00"), "Less: Mid-Month Advance")],
        vendor_id="VENDOR",
        advanced=True,
    )
    entries = gl_entries(
        [invoice], gl_string=site.gl_string, site_number=site.number, service_period="202506"
    )
    batch, document, date = "202506POWERBILL20250501", f"{site.number}2025050101", "2025-05-01"
    assert rows(entries) == [
        (batch, "PAYABLES", site.company, document, date, site.default_account, "500.00", "0.00",
         "Less: Mid-Month Advance", "VENDOR", site.deferred),
        (batch, "PAYABLES", site.company, document, date, site.payable, "0.00", "500.00",
         f"202506{site.number}POWERBILL", "VENDOR", site.deferred),
    ]  # fmt: skip


def test_section_3_8_csv_of_a_03_site_balances_in_entity_02() -> None:
    # Site 0362 (GL 03-03-1001-): a group-1 receivable and a group-2 payable of one Arrears statement.
    invoices = [
        GlInvoice("0362-202504-01-01", dt.date(2025, 4, 30), D("2500.5"), [("4700", D("2500.5"), "Fee")]),
        GlInvoice(
            "0362-202504-02-01",
            dt.date(2025, 4, 30),
            D("-20000.00"),
            [("4790", D("-20000.00"), "Less: Towne Park Deposited Revenue")],
            vendor_id="V0362",
        ),
    ]
    csv_text = to_csv(
        gl_entries(invoices, gl_string="03-03-1001-", site_number="0362", service_period="202504")
    )
    assert csv_text == (
        "batch_id,batch,interface,document_number,document_date,account,debit,credit,description,vendor_id,"
        "deferred_account\n"
        "202504POWERBILL20250430,RECEIVABLES,TOWNE,03622025040101,2025-04-30,03-03-1001-4700-0362,0.00,2500.50,"
        "Fee,,\n"
        "202504POWERBILL20250430,RECEIVABLES,TOWNE,03622025040101,2025-04-30,02-00-0000-1200-0000,2500.50,0.00,"
        "2025040362POWERBILL,,\n"
        "202504POWERBILL20250430,PAYABLES,TOWNE,03622025040201,2025-04-30,03-03-1001-4790-0362,20000.00,0.00,"
        "Less: Towne Park Deposited Revenue,V0362,\n"
        "202504POWERBILL20250430,PAYABLES,TOWNE,03622025040201,2025-04-30,02-00-0000-2000-0000,0.00,20000.00,"
        "2025040362POWERBILL,V0362,\n"
    )


def test_negative_invoice_goes_to_payables_with_the_company_and_vendor() -> None:
    invoice = GlInvoice(
        "0429-202504-01-01",
        dt.date(2025, 4, 30),
        D("-15000.00"),
        [("4790", D("5000.00"), "tax"), ("4790", D("-20000.00"), "deposits"), ("", D(0), "dropped")],
        vendor_id="ANAHEIM",
    )
    entries = gl_entries([invoice], gl_string="22-08-0001-", site_number="0429", service_period="202504")
    assert {e.batch for e in entries} == {"PAYABLES"} and {e.interface for e in entries} == {"UPP"}
    assert entries[-1].account == "22-00-0000-2000-0000" and entries[-1].credit == D("15000.00")
    assert all(e.vendor_id == "ANAHEIM" for e in entries)
    assert len(entries) == 3  # zero lines are not exported


def test_company_of_entity() -> None:
    assert [company_of(g) for g in ("07-01-0001-", "22-08-0001-", "02-03-1009-", "04-02-2000-")] == [
        "ENC", "UPP", "TOWNE", "TOWNE",
    ]  # fmt: skip


def test_section_3_8_balancing_entity_is_the_companys_code_not_the_prefix() -> None:
    assert [balancing_entity(g) for g in ("02-03-1009-", "03-03-1001-", "04-01-0559-", "07-01-0523-",
                                          "22-08-2701-", "05-01-0001-", "00-01-0001-")] == [
        "02", "02", "02", "07", "22", "02", "02",
    ]  # fmt: skip


# --- properties --------------------------------------------------------------------------------------------

# Persisted line amounts are cents (Numeric(14, 2), §0.1) and an invoice's amount is the sum of its lines.
cents = st.decimals(min_value=-100000, max_value=100000, places=2)
invoice_lines = st.lists(st.tuples(st.sampled_from(["4700", "4790", ""]), cents), min_size=1, max_size=8)


@given(
    prefix=st.integers(0, 99).map(lambda n: f"{n:02d}"),
    invoices=st.lists(invoice_lines, min_size=1, max_size=4),
    advanced=st.booleans(),
)
def test_every_journal_balances_per_invoice(
    prefix: str, invoices: list[list[tuple[str, Decimal]]], advanced: bool
) -> None:
    gl_invoices = [
        GlInvoice(
            f"0001-202504-{group:02d}-01",
            dt.date(2025, 4, 30),
            sum((amount for _, amount in lines), D("0.00")),
            [(code, amount, "") for code, amount in lines],
            vendor_id="V",
            advanced=advanced,
        )
        for group, lines in enumerate(invoices, start=1)
    ]
    entries = gl_entries(
        gl_invoices, gl_string=f"{prefix}-03-1009-", site_number="0001", service_period="202504"
    )
    entity = {"07": "07", "22": "22"}.get(prefix, "02")
    for invoice in gl_invoices:
        document = invoice.invoice_number.replace("-", "")
        journal = [e for e in entries if e.document_number == document]
        *lines, balancing = journal
        assert sum((e.debit for e in journal), D(0)) == sum((e.credit for e in journal), D(0))
        assert len(lines) == sum(1 for _, amount, _ in invoice.lines if amount != 0)
        assert all(e.debit >= 0 and e.credit >= 0 and (e.debit == 0 or e.credit == 0) for e in journal)
        assert balancing.account == (
            f"{entity}-00-0000-1200-0000" if invoice.amount > 0 else f"{entity}-00-0000-2000-0000"
        )
        assert {e.deferred_account for e in journal} == {f"{entity}-00-0000-2450-0000" if advanced else None}
        assert all(e.account.startswith(f"{prefix}-03-1009-") for e in lines)
