"""`plptms trial amend|ae|safety` on the shipped example definition."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()
EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
TRIAL = ("--trial", "plp-rtms-mirror-2x2")


def _setup(tmp_path: Path) -> tuple[str, Callable[..., Result]]:
    from plptms.safety import load_screening_items

    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--db", db])

    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"answers": {i.id: "no" for i in load_screening_items()}})
    )
    for args in (
        ("trial", "create", str(EXAMPLE), "--actor", "stat1"),
        ("patient", "add", "--site", "S03", "--code", "P001", "--actor", "n1"),
        ("screen", str(answers), "--patient", "S03/P001", "--actor", "dr1"),
        ("trial", "enrol", "S03/P001", *TRIAL, "--actor", "coord1",
         "--factor", "limb=upper", "--factor", "pain_band=nrs_7_10"),
    ):  # fmt: skip
        res = run(*args)
        assert res.exit_code == 0, (args, res.output)
    return db, run


def test_a_seizure_is_flagged_and_holds_the_trial(tmp_path: Path) -> None:
    _, run = _setup(tmp_path)
    res = run("trial", "safety", *TRIAL)
    assert res.exit_code == 0, res.output
    assert "No stopping rule is met" in res.output
    ae = ("trial", "ae", "S03/P001", *TRIAL, "--actor", "nurse1")
    res = run(*ae, "--term", "seizure", "--severity", "severe",
              "--relatedness", "possible", "--serious",
              "--serious-criterion", "medically_important")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "SERIOUS ADVERSE EVENT" in res.output
    assert "any_seizure" in res.output
    res = run("trial", "safety", *TRIAL)
    assert res.exit_code == 1
    assert "every trial session are paused" in res.output
    # a patient not enrolled: refused (exit 2), nothing stored
    res = run(
        "trial", "ae", "S03/P404", *TRIAL, "--actor", "n", "--term", "headache",
        "--severity", "mild", "--relatedness", "possible",
    )  # fmt: skip
    assert res.exit_code == 2
    res = run(*ae, "--term", "headache", "--severity", "loud",
              "--relatedness", "possible")  # fmt: skip
    assert res.exit_code == 2
    assert "severity" in res.output


def test_amend_refuses_what_allocations_depend_on_and_stores_a_valid_one(
    tmp_path: Path,
) -> None:
    _, run = _setup(tmp_path)
    text = EXAMPLE.read_text()
    assert "version: 1\n" in text
    bad = tmp_path / "v2-bad.yaml"
    bad.write_text(text.replace("version: 1\n", "version: 2\n").replace(
        "p: 0.8", "p: 0.9"))  # fmt: skip
    reason = ("--reason", "Less predictable minimisation.", "--actor", "stat1")
    res = run("trial", "amend", str(bad), *reason)
    assert res.exit_code == 1
    assert "patients are enrolled" in res.output
    good = tmp_path / "v2.yaml"
    early = "Session 10, day: 12, window_before_days: 1,"
    good.write_text(
        text.replace("version: 1\n", "version: 2\n").replace(
            "Session 10, day: 12,", early
        )
    )
    res = run("trial", "amend", str(good), "--reason", "x", "--actor", "stat1")
    assert res.exit_code == 1
    assert "reason" in res.output
    why = "Session 10 may come one day early."
    res = run("trial", "amend", str(good), "--reason", why, "--actor", "stat1")
    assert res.exit_code == 0, res.output
    assert "version 2" in res.output
