"""Registry commands of the CLI (SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()
TODAY = dt.date.today()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def _run(db: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--db", db])


def test_help() -> None:
    for args in (
        ["patient", "--help"],
        ["assess", "record", "--help"],
        ["audit", "verify", "--help"],
        ["export", "--help"],
        ["patient", "plot", "--help"],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 0
        assert "Usage" in res.output


def test_patient_assess_audit_export(db: str, tmp_path: Path) -> None:
    res = _run(
        db, "patient", "add", "--site", "S1", "--code", "P001", "--actor", "nurse1"
    )
    assert res.exit_code == 0, res.output
    base = (TODAY - dt.timedelta(days=14)).isoformat()
    res = _run(
        db,
        "assess",
        "record",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--date",
        base,
        "--kind",
        "baseline",
        "--actor",
        "nurse1",
        *[f"--item={i}={i % 11}" for i in range(1, 23)],
    )
    assert res.exit_code == 0, res.output
    assert "5" in res.output
    # out of range: refused, named, nothing stored
    res = _run(
        db,
        "assess",
        "record",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--date",
        TODAY.isoformat(),
        "--kind",
        "follow_up",
        "--actor",
        "nurse1",
        *[f"--item={i}=11" for i in range(1, 23)],
    )
    assert res.exit_code == 2
    assert "sf_mpq2" in res.output
    res = _run(db, "patient", "show", "--site", "S1", "--code", "P001", "--json")
    data = json.loads(res.output)
    assert len(data["assessments"]) == 1
    assert len(data["visits"]) == 1
    aid = data["assessments"][0]["id"]
    res = _run(
        db,
        "assess",
        "correct",
        str(aid),
        "--actor",
        "dr1",
        "--reason",
        "transcription error",
        *[f"--item={i}=2" for i in range(1, 23)],
    )
    assert res.exit_code == 0, res.output
    res = _run(db, "assess", "show", "--site", "S1", "--code", "P001", "--json")
    assert json.loads(res.output)[0]["total"] == pytest.approx(2.0)
    assert _run(db, "audit", "verify").exit_code == 0
    out = tmp_path / "export"
    res = _run(db, "export", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert (out / "long.csv").exists()
    assert (out / "audit_log.csv").exists()
    png = tmp_path / "p.png"
    res = _run(
        db,
        "patient",
        "plot",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--out",
        str(png),
    )
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 0
    # tampering makes verify fail
    eng = sa.create_engine(db)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE assessments SET total = 0"))
    eng.dispose()
    res = _run(db, "audit", "verify")
    assert res.exit_code == 1
    assert "TAMPERED" in res.output


def test_patient_errors(db: str) -> None:
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "John Smith",
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 2
    assert "'code'" in res.output
    res = _run(db, "patient", "show", "--site", "S1", "--code", "P404")
    assert res.exit_code == 2
    res = _run(db, "patient", "list", "--json")
    assert json.loads(res.output) == []


def test_history_file_and_responses(db: str, tmp_path: Path) -> None:
    hist = tmp_path / "h.yaml"
    hist.write_text(
        "side: right\nlimb: lower\nlevel: transfemoral\ncause: vascular\n"
        f"amputation_date: {(TODAY - dt.timedelta(days=900)).isoformat()}\n"
        f"assessed_on: {(TODAY - dt.timedelta(days=60)).isoformat()}\n"
        "prosthesis_use: occasional\nphantom_sensations: true\ntelescoping: false\n"
    )
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "P002",
        "--history",
        str(hist),
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 0, res.output
    for days, kind, val in (
        (30, "baseline", 8),
        (10, "post_treatment", 4),
        (1, "follow_up", 6),
    ):
        d = (TODAY - dt.timedelta(days=days)).isoformat()
        res = _run(
            db,
            "assess",
            "record",
            "--site",
            "S1",
            "--code",
            "P002",
            "--scale",
            "nrs_phantom_average",
            "--date",
            d,
            "--kind",
            kind,
            "--item",
            f"1={val}",
            "--actor",
            "nurse1",
        )
        assert res.exit_code == 0, res.output
    res = _run(
        db,
        "assess",
        "show",
        "--site",
        "S1",
        "--code",
        "P002",
        "--scale",
        "nrs_phantom_average",
        "--responses",
    )
    assert res.exit_code == 0, res.output
    assert "50.0" in res.output
    assert "substantially important" in res.output
    assert "25.0" in res.output
    assert "minimally important" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(hist.read_text().replace("transfemoral", "transradial"))
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "P003",
        "--history",
        str(bad),
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 2
    assert "level" in res.output


def test_audit_checkpoint_and_verify_against_it(db: str, tmp_path: Path) -> None:
    from plptms.registry._anchor import anchor_path

    for code in ("P001", "P002"):
        res = _run(
            db, "patient", "add", "--site", "S1", "--code", code, "--actor", "nurse1"
        )
        assert res.exit_code == 0, res.output
    cp = tmp_path / "head.json"
    res = _run(db, "audit", "checkpoint", "--out", str(cp))
    assert res.exit_code == 0, res.output
    assert json.loads(cp.read_text())["seq"] == 2
    res = _run(db, "audit", "verify", "--checkpoint", str(cp))
    assert res.exit_code == 0, res.output
    assert "intact" in res.output
    # the newest insert and its entry removed, the anchor deleted too
    eng = sa.create_engine(db)
    with eng.begin() as c:
        c.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        c.execute(sa.text("DELETE FROM patients WHERE code = 'P002'"))
        c.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
    eng.dispose()
    path = anchor_path(db)
    assert path is not None
    path.unlink()
    res = _run(db, "audit", "verify", "--checkpoint", str(cp))
    assert res.exit_code == 1
    assert "TAMPERED" in res.output
    assert "truncated" in res.output
    res = _run(db, "audit", "verify", "--checkpoint", str(tmp_path / "nope.json"))
    assert res.exit_code == 2
    assert "checkpoint" in res.output
