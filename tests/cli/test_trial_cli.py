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
