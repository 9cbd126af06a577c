"""Dose commands of the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()


def test_field_transfer_place(tmp_path: Path) -> None:
    out = tmp_path / "f.png"
    res = runner.invoke(
        app, ["dose", "field", "--intensity", "60", "--depth", "20", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "V/m" in res.output
    assert out.stat().st_size > 10_000
    res = runner.invoke(
        app,
        [
            "dose",
            "transfer",
            "--rmt",
            "50",
            "--hotspot-scd",
            "15",
            "--target-scd",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Stokes" in res.output
    assert "65.0" in res.output  # 50 + 3 %/mm x 5 mm (Stokes 2005)
    res = runner.invoke(
        app,
        [
            "dose",
            "transfer",
            "--rmt",
            "90",
            "--hotspot-scd",
            "12",
            "--target-scd",
            "25",
        ],
    )
    assert res.exit_code == 1  # above 100 % MSO: refused, not clamped
    assert "MSO" in res.output
    res = runner.invoke(
        app,
        [
            "dose",
            "place",
            "--target",
            "0",
            "0",
            "65",
            "--positions",
            "50",
            "--orientations",
            "12",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Best pose" in res.output
    bad = runner.invoke(app, ["dose", "field", "--coil", "nope"])
    assert bad.exit_code == 2
