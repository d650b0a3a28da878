"""Problems found while importing: never silently dropped, always with file and line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImportIssue:
    file: str
    line: int | None  # 1-based line of the CSV file (header = line 1); None for whole-file problems
    message: str
    skipped: bool  # True: the row was not imported; False: imported with a warning

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}" + (" (row skipped)" if self.skipped else "")
