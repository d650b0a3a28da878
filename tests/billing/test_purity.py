"""`billing` imports only the standard library and itself (design.md: import direction)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BILLING = Path(__file__).resolve().parents[2] / "billing"


def foreign_imports(source: str) -> list[str]:
    """Modules imported by ``source`` that are neither stdlib nor ``billing`` (relative imports are ours)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            names = [node.module]
        else:
            continue
        found.extend(
            name
            for name in names
            if name.partition(".")[0] not in sys.stdlib_module_names and name.partition(".")[0] != "billing"
        )
    return found


def test_every_billing_module_imports_only_stdlib_or_billing() -> None:
    modules = sorted(BILLING.rglob("*.py"))
    # Guards against the glob silently matching nothing after a move.
    assert {"__init__.py", "engine.py", "fixed_fee.py"} <= {path.name for path in modules}
    offenders = {
        str(path.relative_to(BILLING)): bad
        for path in modules
        if (bad := foreign_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_checker_flags_third_party_and_project_imports() -> None:
    source = (
        "import os, sqlalchemy.orm\n"
        "from decimal import Decimal\n"
        "from db.models import Contract\n"
        "from . import money\n"
        "from .blocks import base\n"
        "import billing.period\n"
        "def f() -> None:\n"
        "    import strawberry\n"
    )
    assert foreign_imports(source) == ["sqlalchemy.orm", "db.models", "strawberry"]


def test_importing_billing_loads_no_foreign_module() -> None:
    # -S keeps site-packages .pth hooks out, so every module loaded is one `billing` pulled in.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import billing; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.partition('.')[0] "
        "not in sys.stdlib_module_names | {'billing', '__main__'})))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code, str(BILLING.parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == []
