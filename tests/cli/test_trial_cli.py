"""`plptms trial check|calendar` on the shipped example definition."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()
EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))


def test_check_lists_arms_verdicts_and_the_boundaries() -> None:
    res = runner.invoke(app, ["trial", "check", str(EXAMPLE)])
    assert res.exit_code == 0, res.output
    assert "plp-rtms-mirror-2x2" in res.output
    for arm in ("active_mt", "active_no_mt", "sham_mt", "sham_no_mt"):
        assert arm in res.output
    # Lan-DeMets O'Brien-Fleming-type spending, looks at 0.5 and 1, two-sided
    # 0.05: 2.963 and 1.969 (the closed form at the first look,
    # 2 - 2 Phi(z_0.025 / sqrt(0.5)) = 0.00305 spent)
    assert "2.963" in res.output
    assert "1.969" in res.output
    assert "0.003051" in res.output


def test_check_refuses_a_definition_with_a_refused_arm(tmp_path: Path) -> None:
    """Malavera 2016 as published is refused on its train duration."""
    text = EXAMPLE.read_text().replace(
        "consensus2024-example-10hz", "malavera2016-m1-10hz"
    )
    f = tmp_path / "refused.yaml"
    f.write_text(text)
    res = runner.invoke(app, ["trial", "check", str(f)])
    assert res.exit_code == 1, res.output
    assert "train_duration" in res.output
    f.write_text("id: x\n")
    assert runner.invoke(app, ["trial", "check", str(f)]).exit_code == 2


def test_calendar_dates_and_states() -> None:
    res = runner.invoke(
        app,
        [
            "trial", "calendar", str(EXAMPLE), "--randomised-on", "2026-11-02",
            "--today", "2026-12-03",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # end of course on day 14; the 1-month follow-up 30 days later (day 44)
    assert "2026-11-16" in res.output
    assert "2026-12-16" in res.output
    assert "upcoming" in res.output
    bad = runner.invoke(
        app, ["trial", "calendar", str(EXAMPLE), "--randomised-on", "2026-13-01"]
    )
    assert bad.exit_code == 2
    assert "--randomised-on" in bad.output


def test_create_enrol_allocation_unblind_replay(tmp_path: Path) -> None:
    """From a definition to an enrolled, blinded patient and an emergency unblind."""
    import json

    from plptms.safety import load_screening_items

    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"

    def run(*args: str) -> object:
        return runner.invoke(app, [*args, "--db", db])

    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"answers": {i.id: "no" for i in load_screening_items()}})
    )
    for args in (
        ("trial", "create", str(EXAMPLE), "--actor", "stat1"),
        ("patient", "add", "--site", "S01", "--code", "P001", "--actor", "n1"),
        ("screen", str(answers), "--patient", "S01/P001", "--actor", "dr1"),
    ):
        res = run(*args)
        assert res.exit_code == 0, (args, res.output)  # type: ignore[attr-defined]
    trial = ("--trial", "plp-rtms-mirror-2x2")
    enrol = ("trial", "enrol", "S01/P001", *trial, "--actor", "coord1")
    res = run(*enrol, "--factor", "limb=upper", "--factor", "pain_band=nrs_7_10")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "kit" in res.output  # type: ignore[attr-defined]
    assert "active" not in res.output  # type: ignore[attr-defined]
    # enrolled twice: refused
    res = run(*enrol, "--factor", "limb=upper", "--factor", "pain_band=nrs_7_10")
    assert res.exit_code == 1  # type: ignore[attr-defined]
    res = run("trial", "allocation", "S01/P001", *trial, "--role", "operator")
    assert res.exit_code == 0  # type: ignore[attr-defined]
    assert "hidden (blinded)" in res.output  # type: ignore[attr-defined]
    base = ("trial", "unblind", "S01/P001", *trial, "--actor", "dr1")
    res = run(*base, "--role", "operator", "--reason", "suspected seizure, ER")
    assert res.exit_code == 1  # type: ignore[attr-defined]
    res = run(*base, "--role", "physician", "--reason", "suspected seizure, ER")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "is in arm" in res.output  # type: ignore[attr-defined]
    res = run("trial", "replay", str(EXAMPLE))
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "replays" in res.output  # type: ignore[attr-defined]


def test_trial_session_needs_the_trial_physicians_review(tmp_path: Path) -> None:
    """The arm's verdict asks for review: without it nothing is assigned or run."""
    import json

    from plptms.registry import Registry
    from plptms.safety import load_screening_items

    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"answers": {i.id: "no" for i in load_screening_items()}})
    )
    for args in (
        ("trial", "create", str(EXAMPLE), "--actor", "stat1"),
        ("patient", "add", "--site", "S01", "--code", "P001", "--actor", "n1"),
        ("screen", str(answers), "--patient", "S01/P001", "--actor", "dr1"),
        (
            "threshold", "hunt", "--method", "ml_pest", "--start", "70", "--seed",
            "4", "--site", "S01", "--code", "P001", "--actor", "tech1",
        ),
        (
            "trial", "enrol", "S01/P001", "--trial", "plp-rtms-mirror-2x2",
            "--factor", "limb=upper", "--factor", "pain_band=nrs_7_10",
            "--actor", "c1",
        ),
    ):  # fmt: skip
        res = runner.invoke(app, [*args, "--db", db])
        assert res.exit_code == 0, (args, res.output)
    session = (
        "trial", "session", "S01/P001", "--trial", "plp-rtms-mirror-2x2",
        "--number", "1", "--actor", "tech1", "--ae-reviewed", "--db", db,
    )  # fmt: skip
    res = runner.invoke(app, list(session))
    assert res.exit_code == 1, res.output
    assert "review" in res.output
    with Registry(db) as reg:
        assert reg.list_assignments("S01", "P001") == []
    # a patient who is not enrolled has no trial session
    res = runner.invoke(app, [*session[:2], "S01/P999", *session[3:]])
    assert res.exit_code == 2
