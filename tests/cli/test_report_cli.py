"""``plptms report``: clinician and patient reports from the command line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.report import pdf_text

from ..report._patients import add_patient

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'r.sqlite3'}"
    add_patient(url, "FULL", course=True)
    add_patient(url, "HIGHRMT", rmt_pct_mso=92.0)
    return url


def _report(db: str, *args: str) -> Any:
    return runner.invoke(app, ["report", *args, "--db", db])


def test_both_kinds_both_formats(db: str, tmp_path: Path) -> None:
    res = _report(db, "S1/FULL", "--out", str(tmp_path), "--start", "2026-03-02")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "S1-FULL-clinician.html",
        "S1-FULL-clinician.pdf",
        "S1-FULL-patient.html",
        "S1-FULL-patient.pdf",
    ]
    for name in names:
        assert f"Wrote {tmp_path / name}" in re.sub(r"\s+", " ", res.output)
    for kind in ("clinician", "patient"):
        pages = pdf_text(tmp_path / f"S1-FULL-{kind}.pdf")
        assert pages
        for text in pages:
            flat = re.sub(r"\s+", " ", text)
            assert "research software, not a certified medical device" in flat


def test_one_kind_one_format(db: str, tmp_path: Path) -> None:
    res = _report(
        db, "S1/FULL", "--out", str(tmp_path), "--kind", "patient", "--format", "html"
    )
    assert res.exit_code == 0, res.output
    assert [p.name for p in tmp_path.iterdir()] == ["S1-FULL-patient.html"]


def test_refused_protocol_report(db: str, tmp_path: Path) -> None:
    res = _report(
        db,
        "S1/HIGHRMT",
        "--out",
        str(tmp_path),
        "--protocol",
        "grammer2015-s1-dlpfc",
        "--kind",
        "clinician",
        "--format",
        "html",
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "S1-HIGHRMT-clinician.html").read_text()
    assert "safety: refused" in page
    assert "No plan for grammer2015-s1-dlpfc" in page


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["S1/NOPE"], "no such patient"),
        (["NOSLASH"], "SITE/CODE"),
        (["S1/FULL", "--kind", "nurse"], "'--kind'"),
        (["S1/FULL", "--format", "docx"], "'--format'"),
        (["S1/FULL", "--protocol", "nope"], "protocol_id"),
    ],
)
def test_bad_input_exit_2(
    db: str, tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    res = _report(db, *args, "--out", str(out))
    assert res.exit_code == 2, res.output
    assert needle in re.sub(r"\s+", " ", res.output)
    assert not out.exists() or not any(out.iterdir())
