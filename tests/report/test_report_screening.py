"""The clinician report says which screening exclusions are plptms choices."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from plptms.registry import Registry
from plptms.report import render_html
from plptms.safety import load_screening_items
from plptms.workflow import collect_report_data

from ._patients import add_patient


def _flat(text: str) -> str:
    text = re.sub(r"<style>.*?</style>", " ", text, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def test_excluded_patient_report_shows_plptms_choice(tmp_path: Path) -> None:
    """Epilepsy as an absolute exclusion is stricter than Rossi et al. (2011).

    The 2009 consensus, restated by Rossi et al. (2011), leaves a "yes" to
    questions 1-13 to a risk/benefit judgement; the report must say that the
    exclusion is plptms's choice and why.
    """
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    add_patient(url, "EXCL", screening="excluded", assessments=False)
    with Registry(url) as reg:
        data = collect_report_data(
            reg, "S1", "EXCL", start_date=dt.date(2026, 3, 2), today=dt.date.today()
        )
    page = _flat(render_html(data, "clinician"))
    epilepsy = next(it for it in load_screening_items() if it.id == "epilepsy")
    assert "basis" in page
    assert "plptms choice, stricter than the guidelines" in page
    assert re.sub(r"\s+", " ", epilepsy.strictness_rationale) in page
