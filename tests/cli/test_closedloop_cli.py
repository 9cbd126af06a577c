"""Closed-loop commands: calibrate, replay and a dry-run session in the registry."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry

from .test_session_cli import db  # noqa: F401  (the registered-patient fixture)

runner = CliRunner()


def _calibrate(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "cal.json"
    res = runner.invoke(app, ["closedloop", "calibrate", "--out", str(out), *args])
    return res.exit_code, res.output, out


def test_calibrate_on_a_recording_writes_a_reusable_file(tmp_path: Path) -> None:
    from plptms.closedloop import Calibration

    code, output, out = _calibrate(tmp_path, "--recording", "S001R01")
    assert code == 0, output
    doc = json.loads(out.read_text())
    assert doc["format"] == "plptms-closedloop-calibration"
    assert doc["center"] == "C3"
    assert doc["sfreq_hz"] == 160.0
    cal = Calibration.from_dict(doc["calibration"])
    assert 8.0 <= cal.peak.peak_hz <= 13.0
    assert cal.amplitude_threshold > 0
    assert "mu peak" in output


def test_calibrate_refuses_a_recording_without_mu(tmp_path: Path) -> None:
    code, output, out = _calibrate(tmp_path, "--recording", "S003R01")
    assert code == 1
    assert "too poor" in output
    assert not out.exists()


def test_calibrate_needs_exactly_one_source(tmp_path: Path) -> None:
    code, output, _ = _calibrate(tmp_path)
    assert code == 2
    assert "exactly one of --stream, --recording, --simulate" in output
    code, _, _ = _calibrate(tmp_path, "--recording", "S001R01", "--simulate", "5")
    assert code == 2


def test_calibrate_etp_on_simulated_eeg(tmp_path: Path) -> None:
    code, output, out = _calibrate(
        tmp_path, "--simulate", "10", "--seconds", "60", "--method", "etp"
    )
    assert code == 0, output
    doc = json.loads(out.read_text())
    assert doc["unit"] == "uV"
    assert doc["calibration"]["etp"]["period_s"] > 0


def test_replay_fast_scores_the_triggers_and_draws_them(tmp_path: Path) -> None:
    png = tmp_path / "polar.png"
    res = runner.invoke(
        app,
        [
            "closedloop",
            "replay",
            "--recording",
            "S002R01",
            "--fast",
            "--polar",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Accuracy against the offline ground truth" in res.output
    assert png.stat().st_size > 10_000


def test_run_dry_run_stores_session_events_and_biomarkers(
    tmp_path: Path,
    db: str,  # noqa: F811
) -> None:
    code, output, cal = _calibrate(tmp_path, "--recording", "S001R01")
    assert code == 0, output
    args = [
        "closedloop",
        "run",
        "S1/P001",
        "--calibration",
        str(cal),
        "--protocol",
        "small-10hz",
        "--number",
        "1",
        "--actor",
        "tech1",
        "--recording",
        "S001R04",
        "--fast",
        "--ae-reviewed",
        "--db",
        db,
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    with Registry(db) as reg:
        aid, _ = reg.find_assignment("S1", "P001", "small-10hz")
        (d,) = reg.list_deliveries(aid)
        assert d.status == "completed"
        assert d.plan["mode"] == "closedloop"
        assert d.plan["dry_run"] is True
        events = reg.delivery_events(d.id)
        pulses = [e for e in events if e.kind == "pulse"]
        assert len(pulses) == 10
        assert all("phase_deg=" in e.detail for e in pulses)
        # the assigned dose (2 trains of 5 at 90 % RMT) at the stored RMT
        rmt, _ = reg.latest_rmt("S1", "P001")
        for e in pulses:
            assert e.intensity_pct_mso == pytest.approx(0.9 * rmt, rel=1e-12)
        assert d.plan["intensity_pct_mso"] == pytest.approx(0.9 * rmt, rel=1e-12)
        # 10 pulses at the mu trough take under 20 s of EEG: too short for
        # session biomarkers (MIN_BIOMARKER_S), so none are stored
        assert reg.list_biomarkers("S1", "P001") == []
        assert reg.verify_audit().ok
    # the same session number again is refused, nothing more is fired
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "exists" in res.output


def test_run_refuses_bad_calibration_and_missing_source(
    tmp_path: Path,
    db: str,  # noqa: F811
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    base = ["closedloop", "run", "S1/P001", "--protocol", "small-10hz"]
    base += ["--number", "1", "--actor", "t", "--db", db]
    res = runner.invoke(
        app, [*base, "--calibration", str(bad), "--recording", "S001R04"]
    )
    assert res.exit_code == 2
    assert "not a plptms closed-loop calibration" in res.output
    res = runner.invoke(app, [*base, "--calibration", str(bad)])
    assert res.exit_code == 2
    assert "exactly one of --stream" in res.output
    res = runner.invoke(
        app,
        [*base, "--calibration", str(bad), "--stream", "x", "--fast"],
    )
    assert res.exit_code == 2
    assert "dry run needs --recording" in res.output


def test_run_delivers_a_recorded_amendment_and_never_a_higher_dose(
    tmp_path: Path,
    db: str,  # noqa: F811
) -> None:
    """An amendment lowers the closed-loop dose; one that raises it is refused."""
    code, output, cal = _calibrate(tmp_path, "--recording", "S001R01")
    assert code == 0, output
    amend = ["amend", "S1/P001", "--protocol", "small-10hz", "--actor", "dr1"]
    # more trains, a higher intensity, a faster trigger: refused, nothing stored
    for extra in (
        ["--trains", "3"],
        ["--intensity-rmt", "95"],
        ["--min-interval", "0.05"],
    ):
        res = runner.invoke(app, [*amend, *extra, "--reason", "try", "--db", db])
        assert res.exit_code == 1, res.output
        assert "Not recorded" in res.output
    with Registry(db) as reg:
        aid, _ = reg.find_assignment("S1", "P001", "small-10hz")
        assert reg.list_amendments(aid) == []
    res = runner.invoke(
        app,
        [
            *amend,
            *("--trains", "1", "--intensity-rmt", "80", "--min-interval", "5"),
            *("--reason", "Scalp discomfort at 90 % RMT.", "--db", db),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            *("closedloop", "run", "S1/P001", "--calibration", str(cal)),
            *("--protocol", "small-10hz", "--number", "1", "--actor", "tech1"),
            *("--recording", "S001R04", "--fast", "--ae-reviewed", "--db", db),
        ],
    )
    assert res.exit_code == 0, res.output
    with Registry(db) as reg:
        (d,) = reg.list_deliveries(aid)
        assert d.plan["session_plan"]["amendment_id"] is not None
        pulses = [e for e in reg.delivery_events(d.id) if e.kind == "pulse"]
        rmt, _ = reg.latest_rmt("S1", "P001")
        assert len(pulses) == 5  # one train of 5
        for e in pulses:
            assert e.intensity_pct_mso == pytest.approx(0.8 * rmt, rel=1e-12)
        # the amended trigger rule: at least 5 s between pulses (EEG samples)
        fs = json.loads(cal.read_text())["sfreq_hz"]
        at = [int(e.field("sample") or 0) / fs for e in pulses]
        assert min(b - a for a, b in itertools.pairwise(at)) >= 5.0
        (b,) = reg.list_biomarkers("S1", "P001")  # >= 20 s of EEG
        assert b.delivery_session_id == d.id
        assert b.n_triggers == 5
