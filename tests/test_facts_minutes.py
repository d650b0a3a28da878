"""The timesheet minute categories have one definition, `billing.facts.MINUTE_CATEGORIES`; whatever spells
them out again (the model's typed columns, the CSV documentation) is held to it here."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import CheckConstraint, Integer, Table

from billing.facts import MINUTE_CATEGORIES, TimesheetRow
from db.models import TimesheetMinutes
from importer.facts import TABLES, _timesheet

DOCS = Path(__file__).resolve().parent.parent / "docs" / "facts.md"


def test_the_model_declares_one_integer_column_per_category_in_order() -> None:
    table = TimesheetMinutes.__table__
    assert isinstance(table, Table)
    not_minutes = ("id", "site_id", "date", "job_code", "synthetic")
    minutes = [c for c in table.columns if c.name not in not_minutes]
    assert tuple(c.name for c in minutes) == MINUTE_CATEGORIES
    for column in minutes:
        assert isinstance(column.type, Integer) and not column.nullable
        assert column.server_default is not None and str(column.server_default.arg) == "0"
    [check] = [c for c in table.constraints if isinstance(c, CheckConstraint) and "minutes" in str(c.name)]
    assert str(check.sqltext) == f"LEAST({', '.join(MINUTE_CATEGORIES)}) >= 0"


def test_importer_rows_follow_the_category_order() -> None:
    """The generator and the CSV import write `(site_id, date, job_code, *minutes, synthetic)`, and the
    synthetic forecast reads such a row back as `TimesheetRow(*row[1:-1])`."""
    assert TABLES["timesheet_minutes"][1] == ("site_id", "date", "job_code", *MINUTE_CATEGORIES, "synthetic")
    csv_row = {"date": "2025-04-01", "job_code": "VAL"} | {c: str(i) for i, c in enumerate(MINUTE_CATEGORIES)}
    row = TimesheetRow(*_timesheet(csv_row, uuid.uuid4())[1:-1])
    assert [getattr(row, c) for c in MINUTE_CATEGORIES] == list(range(len(MINUTE_CATEGORIES)))


def test_the_csv_documentation_lists_every_category() -> None:
    line = next(
        line for line in DOCS.read_text().splitlines() if line.startswith("| `timesheet_minutes.csv`")
    )
    assert f"**site_number, date, job_code**, {', '.join(MINUTE_CATEGORIES)} (" in line
