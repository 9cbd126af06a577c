"""Importing the report package loads no renderer, plotter or database."""

from __future__ import annotations

import subprocess
import sys

HEAVY = [
    "jinja2",
    "weasyprint",
    "pypdfium2",
    "matplotlib",
    "scipy",
    "sqlalchemy",
    "typer",
    "rich",
]


def test_import_report_is_light() -> None:
    code = "import sys, plptms.report, plptms.planner; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = set(out.stdout.split())
    assert "plptms.report._data" in loaded
    assert not [m for m in HEAVY if m in loaded]
