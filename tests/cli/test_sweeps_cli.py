"""Sweep commands of the CLI: dose sweep, threshold compare."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app

from .conftest import assert_one_line_error

runner = CliRunner()

#: dI/dt of the Magstim Rapid with the D70 coil at 100 % MSO, A/us.
RAPID_D70_A_PER_US = 114.73


def test_dose_sweep_json_and_table(tmp_path: Path) -> None:
    args = [
        "dose",
        "sweep",
        "--head-radius",
        "85",
        "--scd",
        "15",
        "--scd",
        "20",
        "--target",
        "crown",
        "--target",
        "wall:90:45",
        "--positions",
        "3",
        "--orientations",
        "4",
        "--backend",
        "serial",
    ]
    res = runner.invoke(app, [*args, "--json", "--checkpoint", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    recs = json.loads(res.output)
    assert [(r["scalp_to_cortex_mm"], r["target"]) for r in recs] == [
        (15.0, "crown"),
        (15.0, "wall"),
        (20.0, "crown"),
        (20.0, "wall"),
    ]
    assert recs[1]["normal_azimuth_deg"] == 45.0
    assert math.isclose(recs[0]["didt_a_per_us"], RAPID_D70_A_PER_US, rel_tol=1e-12)
    assert len(list((tmp_path / "c").glob("batch-*.parquet"))) >= 1
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Dosing sweep" in res.output
    assert "wall" in res.output


def test_dose_sweep_bad_input_is_one_line() -> None:
    res = runner.invoke(app, ["dose", "sweep", "--head-radius", "30", "--scd", "15"])
    assert_one_line_error(res, "head_radius_mm")
    res = runner.invoke(
        app,
        ["dose", "sweep", "--head-radius", "85", "--scd", "15", "--target", "a:x"],
    )
    assert_one_line_error(res, "--target")


def test_threshold_compare_json_and_table() -> None:
    args = [
        "threshold",
        "compare",
        "--n-subjects",
        "3",
        "--method",
        "ml_pest",
        "--backend",
        "serial",
        "--seed",
        "4",
    ]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    (s,) = out["summaries"]
    assert s["key"] == "ml_pest"
    assert s["n_subjects"] == 3
    assert s["pulses_used"]["value"] == 20.0  # ML-PEST's fixed 20 pulses
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "ml_pest" in res.output
    assert "per subject" in res.output


def test_threshold_compare_bad_method_is_one_line() -> None:
    res = runner.invoke(
        app,
        ["threshold", "compare", "--n-subjects", "2", "--method", "mlpest"],
    )
    assert_one_line_error(res, "methods")
