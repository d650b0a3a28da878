"""The invoice as a document (issue 12 §1): one PDF per invoice, laid out with ReportLab's platypus.

Pure: `render(figures)` turns an `InvoiceFigures` (plain values, no database) into PDF bytes. What the page
shows, in order: the header (invoice number, invoice date, service period, site number and name, invoice
group and its title, bill-to, purchase order, payment terms; domain.md §3.4), the lines in the order the
statement stores them (the legacy line order, §2.11) with title, description, GL code and amount, the total,
then one appendix per supporting report the contract selects that has data (§3.7), each a simple table.

Amounts are `Decimal` USD printed with two decimals and thousands separators (`33,300.00`, `-100.00`);
`float` never touches them. The bytes are deterministic: the same figures give the same PDF, because the
document is written in ReportLab's invariant mode (no clock, no random id), its creation and modification
dates are the invoice date (00:00:00 UTC), and its document id is a SHA-256 of the invoice number and the
figures. The fonts are the PDF base fonts (Helvetica), which are not embedded, so nothing of the host leaks in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

_CENT = Decimal("0.01")

# a cell of an appendix: text as is, a Decimal with two decimals (USD or hours), an int as digits
Cell = str | Decimal | int


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One invoice line as printed: `amount` in USD (two decimals, §0.1)."""

    title: str
    description: str
    code: str  # GL main account, e.g. "4700"
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Appendix:
    """A supporting report (§3.7) as a table: `title` (the report's name, e.g. "Mix Of Sales"), `columns`
    (headers), `rows` (cells, `Decimal`s printed with two decimals), and `note` (one sentence under the
    title saying what the figures are and their units)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceFigures:
    """Everything one invoice PDF shows (§3.4), as plain values.

    `service_period_start`/`_end`: the statement's first and last day; `site_number` is the invoice's (after
    the invoice group's override, §1.5); `bill_to`: the address block, one string per printed line (the
    caller decides what it may show: the invoice recipient only for billing roles, docs/security.md);
    `lines` in the stored order (§2.11); `total` the invoice amount in USD (Σ lines, or the
    management-agreement rule, §2.10e: the renderer prints it, it does not add the lines up); `banner`: a
    line printed above everything when set (e.g. "SYNTHETIC sample")."""

    invoice_number: str
    invoice_date: dt.date
    service_period_start: dt.date
    service_period_end: dt.date
    site_number: str
    site_name: str
    group_number: int
    group_title: str | None
    group_description: str | None
    bill_to: tuple[str, ...]
    purchase_order: str | None
    payment_terms: str | None
    lines: tuple[DocumentLine, ...]
    total: Decimal
    appendices: tuple[Appendix, ...] = field(default=())
    banner: str | None = None


def money(amount: Decimal) -> str:
    """USD with two decimals and thousands separators, exact (`Decimal` formatting, never `float`):
    `Decimal("2682.72")` → `"2,682.72"`, `Decimal("-100")` → `"-100.00"`. Amounts are stored with two
    decimals already; a finer one is rounded half away from zero (§0.1)."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def service_period_label(start: dt.date, end: dt.date) -> str:
    """`2025-04 (2025-04-01 to 2025-04-30)`: the month key the API uses, then the days."""
    return f"{start:%Y-%m} ({start.isoformat()} to {end.isoformat()})"


def _cell(value: Cell) -> str:
    if isinstance(value, Decimal):
        return money(value)
    return str(value)


def _fingerprint(figures: InvoiceFigures) -> bytes:
    """16 bytes naming this document: SHA-256 of the figures' repr (dataclasses of str, date, Decimal, int:
    a stable repr), so equal figures give the same id and other figures another."""
    return hashlib.sha256(repr(figures).encode()).digest()[:16]


class _Styles:
    def __init__(self) -> None:
        base = getSampleStyleSheet()
        self.title = ParagraphStyle("title", parent=base["Title"], fontName="Helvetica-Bold", fontSize=18)
        self.h2 = ParagraphStyle("h2", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=12)
        self.body = ParagraphStyle(
            "body", parent=base["BodyText"], fontName="Helvetica", fontSize=9, leading=11
        )
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        self.banner = ParagraphStyle(
            "banner", parent=self.body, fontName="Helvetica-Bold", textColor=colors.red
        )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _header(figures: InvoiceFigures, s: _Styles) -> list[Flowable]:
    group = f"{figures.group_number:02d}"
    if figures.group_title:
        group += f" {figures.group_title}"
    rows: list[tuple[str, str]] = [
        ("Invoice number", figures.invoice_number),
        ("Invoice date", figures.invoice_date.isoformat()),
        ("Service period", service_period_label(figures.service_period_start, figures.service_period_end)),
        ("Site", f"{figures.site_number} {figures.site_name}"),
        ("Invoice group", group),
        ("Purchase order", figures.purchase_order or "none"),
        ("Payment terms", figures.payment_terms or "none"),
    ]
    if figures.group_description:
        rows.insert(5, ("Group description", figures.group_description))
    table = Table(
        [[_p(k, s.body), _p(v, s.body)] for k, v in rows],
        colWidths=[1.4 * inch, 3.2 * inch],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    bill_to = Table(
        [[_p("Bill to", s.h2)], *([_p(line, s.body)] for line in figures.bill_to)],
        colWidths=[2.6 * inch],
        hAlign="RIGHT",
    )
    out: list[Flowable] = []
    if figures.banner:
        out.append(_p(figures.banner, s.banner))
    out += [
        _p(f"Towne Park invoice {figures.invoice_number}", s.title),
        Table(
            [[table, bill_to]],
            colWidths=[4.7 * inch, 2.8 * inch],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        ),
        Spacer(1, 0.25 * inch),
    ]
    return out


_GRID = [
    ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
]


def _lines(figures: InvoiceFigures, s: _Styles) -> list[Flowable]:
    data: list[list[Flowable]] = [
        [_p("Line", s.body), _p("Description", s.body), _p("GL", s.body), _p("Amount (USD)", s.right)]
    ]
    for line in figures.lines:
        data.append(
            [
                _p(line.title, s.body),
                _p(line.description, s.body),
                _p(line.code, s.body),
                _p(money(line.amount), s.right),
            ]
        )
    data.append([_p("Total", s.h2), _p("", s.body), _p("", s.body), _p(money(figures.total), s.right)])
    table = Table(data, colWidths=[2.1 * inch, 3.4 * inch, 0.6 * inch, 1.4 * inch], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                *_GRID,
                ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black),
                ("BACKGROUND", (0, -1), (-1, -1), colors.white),
            ]
        )
    )
    return [_p("Lines", s.h2), table]


def _appendix(letter: str, appendix: Appendix, s: _Styles) -> list[Flowable]:
    width = 7.5 * inch / max(len(appendix.columns), 1)
    numeric = [isinstance(cell, Decimal | int) for cell in appendix.rows[0]] if appendix.rows else []
    header = [_p(c, s.right if numeric and numeric[i] else s.body) for i, c in enumerate(appendix.columns)]
    data = [header] + [
        [_p(_cell(cell), s.right if isinstance(cell, Decimal | int) else s.body) for cell in row]
        for row in appendix.rows
    ]
    table = Table(data, colWidths=[width] * len(appendix.columns), repeatRows=1)
    table.setStyle(TableStyle(_GRID))
    out: list[Flowable] = [PageBreak(), _p(f"Appendix {letter}: {appendix.title}", s.h2)]
    if appendix.note:
        out.append(_p(appendix.note, s.small))
    out += [Spacer(1, 0.1 * inch), table]
    return out


def _letters(count: int) -> Sequence[str]:
    return [chr(ord("A") + i) if i < 26 else f"A{i}" for i in range(count)]


def render(figures: InvoiceFigures) -> bytes:
    """The invoice PDF (US Letter, portrait) of `figures`: the same figures give byte-identical PDFs."""
    buffer = io.BytesIO()
    s = _Styles()
    stamp = f"D:{figures.invoice_date:%Y%m%d}000000+00'00'"
    document_id = _fingerprint(figures)

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        # the dates and id of the document: fixed by the figures, not by the clock (invariant mode alone
        # would print 2000-01-01 and a digest ReportLab chooses)
        canvas.setDateFormatter(lambda *_: stamp)
        canvas._doc._ID = b"\n[<" + document_id.hex().encode() + b"><" + document_id.hex().encode() + b">]\n"
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(0.5 * inch, 0.4 * inch, f"{figures.invoice_number}  page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.5 * inch,
        rightMargin=0.5 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.6 * inch,
        title=f"Invoice {figures.invoice_number}",
        author="Towne Park",
        subject=f"Site {figures.site_number}, service period {figures.service_period_start:%Y-%m}",
        creator="Towne Graph",
        invariant=1,
    )
    story = _header(figures, s) + _lines(figures, s)
    for letter, appendix in zip(_letters(len(figures.appendices)), figures.appendices, strict=True):
        story += _appendix(letter, appendix, s)
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()


def sample_figures() -> InvoiceFigures:
    """A SYNTHETIC sample (`towne sample-invoice`, docs/sample-invoice.pdf): domain.md §5 F-1, the fixed-fee
    invoice of contract 0349's configuration for April 2025 (Arrears): `0349-202504-01-01`, invoice date
    2025-04-30, lines 2,500.00 + 30,800.00 = 33,300.00 USD; the site's real name, address and payment terms
    (data/towne-park), no purchase order, no invoice recipient. 0349 selects only the Parking Department
    Report, for which this service has no data, so the sample has no appendix."""
    return InvoiceFigures(
        invoice_number="0349-202504-01-01",
        invoice_date=dt.date(2025, 4, 30),
        service_period_start=dt.date(2025, 4, 1),
        service_period_end=dt.date(2025, 4, 30),
        site_number="0349",
        site_name="Hilton Walt Disney World Resort",
        group_number=1,
        group_title=None,
        group_description=None,
        bill_to=("Hilton Walt Disney World Resort", "1751 Hotel Plaza Boulevard Lake Buena Vista, FL 32830"),
        purchase_order=None,
        payment_terms="Due by 15th of the Month",
        lines=(
            DocumentLine("Management Fee", "Management Fee", "4700", Decimal("2500.00")),
            DocumentLine("Fixed Billable Expenses", "Fixed Billable Expenses", "4700", Decimal("30800.00")),
        ),
        total=Decimal("33300.00"),
        banner="SYNTHETIC sample: domain.md §5 F-1 (contract 0349's configuration, April 2025), not a real bill",
    )


__all__ = [
    "Appendix",
    "DocumentLine",
    "InvoiceFigures",
    "money",
    "render",
    "sample_figures",
    "service_period_label",
]
