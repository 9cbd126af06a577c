"""The CLI: help everywhere, exit codes, JSON output, clear errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml
from typer.testing import CliRunner

from plptms.cli.main import app

from ..conftest import RTMS_DEFAULTS

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["protocols"],
        ["protocols", "list"],
        ["protocols", "show"],
        ["protocols", "check"],
        ["screen"],
        ["demo"],
    ],
)
def test_help_everywhere(args: list[str]) -> None:
    res = _run(*args, "--help")
    assert res.exit_code == 0
    assert "Usage" in res.output


def test_version() -> None:
    res = _run("--version")
    assert res.exit_code == 0
    assert "plptms" in res.output


def test_protocols_list_and_json() -> None:
    res = _run("protocols", "list")
    assert res.exit_code == 0
    assert "malavera2016-m1-10hz" in res.output
    data = json.loads(_run("protocols", "list", "--json").output)
    assert len(data["protocols"]) == 10
    assert data["ranges"][0]["id"] == "consensus2024-m1-hf"


def test_protocols_show() -> None:
    res = _run("protocols", "show", "grammer2015-s1-dlpfc")
    assert res.exit_code == 0
    assert "Grammer et al., 2015" in res.output
    assert "first-line" in res.output
    assert "second-line" in res.output
    bad = _run("protocols", "show", "grammer2015")
    assert bad.exit_code == 2
    assert "Did you mean" in bad.output


def _write(tmp_path: Path, **changes: object) -> Path:
    d = dict(RTMS_DEFAULTS)
    d.update(changes)
    doc = {
        "id": "cli-protocol",
        "name": "cli",
        "condition": "active",
        "blocks": [
            {
                "label": "M1",
                "dose": d,
                "sessions": 10,
                "sessions_per_week": 5,
                "course_weeks": 2,
            }
        ],
    }
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(doc))
    return f


def test_check_accepted(tmp_path: Path) -> None:
    res = _run("protocols", "check", str(_write(tmp_path)), "--rmt", "50")
    assert res.exit_code == 0, res.output
    assert "ACCEPTED" in res.output


def test_check_refused_nonzero_and_json(tmp_path: Path) -> None:
    f = _write(
        tmp_path, frequency_hz=20.0, intensity_pct_rmt=110.0, pulses_per_train=100
    )
    res = _run("protocols", "check", str(f))
    assert res.exit_code == 1
    assert "REFUSED" in res.output
    assert "failed [M1] 'pulses_per_train' = 100" in res.output
    res = _run("protocols", "check", str(f), "--json")
    assert res.exit_code == 1
    v = json.loads(res.output)
    assert v["decision"] == "refused"
    assert any(
        r["field"] == "pulses_per_train" and r["status"] == "failed" for r in v["rules"]
    )


def test_check_incomplete_library_id() -> None:
    res = _run("protocols", "check", "malavera2016-m1-10hz")
    assert res.exit_code == 3
    assert "INCOMPLETE" in res.output


def test_check_override(tmp_path: Path) -> None:
    f = _write(tmp_path, frequency_hz=30.0, pulses_per_train=10, trains_per_session=1)
    assert _run("protocols", "check", str(f)).exit_code == 1
    res = _run(
        "protocols",
        "check",
        str(f),
        "--override",
        "train_table_range:M1=approved research protocol (ethics 2026-3)",
        "--operator",
        "Dr Test",
        "--json",
    )
    assert res.exit_code == 0, res.output
    v = json.loads(res.output)
    assert v["overrides"][0]["operator"] == "Dr Test"
    no_op = _run(
        "protocols",
        "check",
        str(f),
        "--override",
        "train_table_range=approved research protocol",
    )
    assert no_op.exit_code == 2
    assert "--operator" in no_op.output


def test_check_bad_file(tmp_path: Path) -> None:
    f = _write(tmp_path, frequency_hz=-1)
    res = _run("protocols", "check", str(f))
    assert res.exit_code == 2
    assert "frequency_hz" in res.output
    res = _run("protocols", "check", str(tmp_path / "missing.yaml"))
    assert res.exit_code == 2


def test_screen(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("patient: P1\nanswers:\n  cochlear_implant: yes\n")
    res = _run("screen", str(f))
    assert res.exit_code == 1
    assert "excluded" in res.output
    f.write_text("answers:\n  epilepsy: perhaps\n")
    res = _run("screen", str(f))
    assert res.exit_code == 2
    assert "answers.epilepsy" in res.output


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    res = _run("demo", "--out", str(tmp_path / "demo"))
    assert res.exit_code == 0, res.output
    for text in (
        "Screening",
        "Safety check",
        "ACCEPTED",
        "right hemisphere",
        "46.8 % MSO",
        "not a certified medical device",
        "RMT",
        "V/m",
        "1500/1500 pulses",
        "pulses at the mu trough",
        "Biomarkers stored",
        "post_treatment",
        "Audit trail intact",
        "Outputs",
    ):
        assert text in res.output
    reports = tmp_path / "demo" / "reports"
    for name in ("clinician", "patient"):
        for ext in ("html", "pdf"):
            assert (reports / f"DEMO-DEMO-001-{name}.{ext}").stat().st_size > 5_000
