"""`plptms protocols check`: physician review, its exit code, and site policies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from plptms.cli.main import EXIT_REVIEW, app

from ..conftest import RTMS_DEFAULTS
from .conftest import write_protocol

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()

#: O'Reardon et al. (2007): 10 Hz, 120 % MT, 4 s trains, 26 s apart, 75 trains.
OREARDON = {
    "intensity_pct_rmt": 120.0,
    "pulses_per_train": 40,
    "trains_per_session": 75,
    "inter_train_interval_s": 26.0,
}


def _write(tmp_path: Path, **changes: object) -> Path:
    return write_protocol(tmp_path, {**RTMS_DEFAULTS, **changes}, pid="cli-review")


def test_review_exit_code_and_rendering(tmp_path: Path) -> None:
    """O'Reardon et al. (2007) rests on the unverified 10 Hz x 120 % cell
    (Wassermann 1998): physician review, exit 4, not a refusal."""
    assert EXIT_REVIEW == 4
    res = runner.invoke(app, ["protocols", "check", str(_write(tmp_path, **OREARDON))])
    assert res.exit_code == EXIT_REVIEW, res.output
    assert "PHYSICIAN REVIEW" in res.output
    assert "unverified" in res.output
    assert "10 Hz x 120 % MT" in res.output
    assert "plptms-default" in res.output
    assert "--review-physician" in res.output


def test_recorded_review_accepts(tmp_path: Path) -> None:
    f = _write(tmp_path, **OREARDON)
    args = ["protocols", "check", str(f), "--review-physician", "Dr Who"]
    res = runner.invoke(app, [*args, "--review-reason", "cell read in the paper"])
    assert res.exit_code == 0, res.output
    assert "ACCEPTED" in res.output
    assert "Dr Who" in res.output
    res = runner.invoke(
        app, [*args, "--review-reason", "cell read in the paper", "--json"]
    )
    v = json.loads(res.output)
    assert v["decision"] == "accepted"
    assert v["review"] == {"physician": "Dr Who", "reason": "cell read in the paper"}
    assert v["policy_name"] == "plptms-default"
    assert any(r["status"] == "unverified" for r in v["rules"])


def test_review_needs_physician_and_reason(tmp_path: Path) -> None:
    f = _write(tmp_path, **OREARDON)
    res = runner.invoke(
        app, ["protocols", "check", str(f), "--review-physician", "Dr Who"]
    )
    assert res.exit_code == 2
    assert "--review-reason" in res.output
    res = runner.invoke(
        app,
        [
            "protocols",
            "check",
            str(f),
            "--review-physician",
            "Dr Who",
            "--review-reason",
            "short",
        ],
    )
    assert res.exit_code == 2
    assert "reason" in res.output


def test_margin_is_a_named_site_policy(tmp_path: Path) -> None:
    """The 25 % cut of Chen et al. (1997) refuses O'Reardon's 4 s trains (0.75 x
    4.2 s = 3.15 s); it needs a policy name and a reason."""
    f = _write(tmp_path, **OREARDON)
    res = runner.invoke(app, ["protocols", "check", str(f), "--margin", "0.75"])
    assert res.exit_code == 2
    assert "margin_reason" in res.output
    res = runner.invoke(
        app,
        [
            "protocols",
            "check",
            str(f),
            "--margin",
            "0.75",
            "--margin-reason",
            "site adds the Chen 1997 cut",
            "--policy-name",
            "site-x",
            "--json",
        ],
    )
    assert res.exit_code == 1, res.output
    v = json.loads(res.output)
    assert v["policy_name"] == "site-x"
    assert "site adds the Chen 1997 cut" in v["policy"]
