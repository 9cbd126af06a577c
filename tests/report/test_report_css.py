"""The reports' stylesheet parses in WeasyPrint without a dropped rule.

WeasyPrint logs a warning for each rule it cannot parse and drops it (a nested
``body.patient @media print { ... }`` was one, silently taking the patient
report's footer size with it).
"""

from __future__ import annotations

import logging
from importlib import resources

import pytest


def test_report_css_has_no_rule_weasyprint_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    css = (resources.files("plptms.report") / "templates" / "report.css").read_text(
        encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        weasyprint.CSS(string=css)
    dropped = [
        r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")
    ]
    assert not dropped, dropped


def test_the_check_sees_a_dropped_rule(caplog: pytest.LogCaptureFixture) -> None:
    """The oracle can fail: the old nested rule is reported."""
    weasyprint = pytest.importorskip("weasyprint")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        weasyprint.CSS(string="body.patient @media print { p { color: red; } }")
    assert any(
        "selector" in r.getMessage().lower()
        for r in caplog.records
        if r.name.startswith("weasyprint")
    )
