"""`plptms serve`: refusals before anything starts, and the demonstration seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()


def test_demo_and_plain_http_only_on_loopback() -> None:
    for flag in ("--demo", "--insecure-cookies"):
        res = runner.invoke(app, ["serve", flag, "--host", "0.0.0.0"])
        assert res.exit_code == 2
        assert "--host" in res.output


def test_a_missing_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLPTMS_SECRET_KEY", raising=False)
    res = runner.invoke(app, ["serve"])
    assert res.exit_code == 2
    assert "PLPTMS_SECRET_KEY" in res.output
    monkeypatch.setenv("PLPTMS_SECRET_KEY", "short")
    res = runner.invoke(app, ["serve"])
    assert res.exit_code == 2
    assert "32" in res.output


def test_the_demonstration_registry(tmp_path: Path) -> None:
    """Sites, one account per role, 9 patients, 3 enrolled; every user signs in
    with the printed password and sees only their sites."""
    from plptms.access import Role
    from plptms.cli._serve import prepare_demo
    from plptms.registry import Registry
    from plptms.workflow import authenticate, list_patients_for, seed_demo

    url, seed = prepare_demo(tmp_path / "demo")
    assert {a.role for a in seed.accounts} == {r.value for r in Role}
    assert seed.patients == 11  # 3 at each of 3 sites, 2 Berlin courses
    assert seed.enrolled == 3
    with Registry(url) as reg:
        assert reg.verify_audit().ok
        assert len(reg.list_enrolments(seed.trial_id)) == 3
        leeds = authenticate(reg, "dr.leeds", seed.password)
        assert {p.site for p in list_patients_for(reg, leeds)} == {"S02"}
        berlin = authenticate(reg, "rater.berlin", seed.password)
        assert [p.code for p in list_patients_for(reg, berlin)] == [
            "DEMO-101", "DEMO-102", "DEMO-103", "DEMO-104", "DEMO-105",
        ]  # fmt: skip
        with pytest.raises(ValueError, match="user"):
            seed_demo(reg)  # not twice: the accounts exist
