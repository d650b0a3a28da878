"""Great Plains GL export of a sent statement (domain.md §3.8, example F-1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.gl import GlInvoice, company_of, gl_entries, to_csv

D = Decimal


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


amounts = st.decimals(min_value=-100000, max_value=100000, places=2).filter(lambda d: d != 0)


@given(st.lists(amounts, min_size=1, max_size=8), st.booleans())
def test_every_journal_balances(line_amounts: list[Decimal], advanced: bool) -> None:
    invoice = GlInvoice(
        "0001-202504-01-01",
        dt.date(2025, 4, 30),
        sum(line_amounts, D(0)),
        [("4790", a, "") for a in line_amounts],
        advanced=advanced,
    )
    entries = gl_entries([invoice], gl_string="02-03-1009-", site_number="0001", service_period="202504")
    assert sum((e.debit for e in entries), D(0)) == sum((e.credit for e in entries), D(0))
