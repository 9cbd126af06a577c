"""Evidence commands of the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()


def test_effects_and_pool(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evidence", "effects"])
    assert res.exit_code == 0, res.output
    assert "malavera2016" in res.output
    assert "-0.598" in res.output
    assert "single-case report" in res.output
    out = tmp_path / "forest.png"
    res = runner.invoke(app, ["evidence", "pool", "--forest", str(out)])
    assert res.exit_code == 0, res.output
    assert "nothing to pool" in res.output
    assert out.stat().st_size > 10_000
    bad = runner.invoke(app, ["evidence", "pool", "--measure", "xyz"])
    assert bad.exit_code == 2
