"""`plptms trial analyse|interim|consort|export` on a small recorded trial."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry

from ..workflow._trialdata import N, build_trial

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with Registry(url) as reg:
        build_trial(reg, monkeypatch)
    return url


def test_analyse_interim_consort_export(db: str, tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq

    trial = ("--trial", "plp-rtms-mirror-2x2", "--db", db)
    res = runner.invoke(app, ["trial", "analyse", *trial, "--role", "operator"])
    assert res.exit_code == 1
    assert "role" in res.output
    out = tmp_path / "analysis.json"
    res = runner.invoke(
        app, ["trial", "analyse", *trial, "--role", "statistician", "--json", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "nrs_change_eoc" in res.output
    assert out.read_text().startswith("{")
    res = runner.invoke(
        app, ["trial", "interim", *trial, "--role", "statistician", "--look", "1"]
    )
    assert res.exit_code in (0, 3), res.output
    assert f"{N - 1} of 40 patients" in res.output
    res = runner.invoke(
        app, ["trial", "interim", *trial, "--role", "statistician", "--look", "2"]
    )
    assert res.exit_code == 2
    assert "look" in res.output
    stem = tmp_path / "consort"
    res = runner.invoke(
        app, ["trial", "consort", *trial, "--role", "statistician", "--out", str(stem)]
    )
    assert res.exit_code == 0, res.output
    assert f"Assessed {N + 3}, excluded 3, randomised {N}" in res.output
    assert stem.with_suffix(".png").stat().st_size > 10_000
    assert "<svg" in stem.with_suffix(".svg").read_text()
    exp = tmp_path / "export"
    res = runner.invoke(app, ["trial", "export", *trial, "--out", str(exp)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in exp.iterdir()) == ["plp-rtms-mirror-2x2.odm.xml"]
    res = runner.invoke(
        app,
        ["trial", "export", *trial, "--out", str(exp), "--role", "statistician"],
    )
    assert res.exit_code == 0, res.output
    long_csv = exp / "plp-rtms-mirror-2x2-itt-long.csv"
    with long_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    table = pq.read_table(exp / "plp-rtms-mirror-2x2-itt-long.parquet")
    assert table.num_rows == len(rows) > 0
    patients = pq.read_table(exp / "plp-rtms-mirror-2x2-itt-patients.parquet")
    assert patients.num_rows == N
