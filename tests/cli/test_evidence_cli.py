"""Evidence commands of the CLI."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
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


def test_pool_permutation_test() -> None:
    res = runner.invoke(app, ["evidence", "pool", "--permutations", "1000"])
    assert res.exit_code == 0, res.output
    # One estimable study: both sign flips, the observed one included.
    assert "Permutation test (exact, all 2 sign flips): p = 1" in res.output
    bad = runner.invoke(app, ["evidence", "pool", "--permutations", "-5"])
    assert bad.exit_code == 2


def test_forest_and_funnel(tmp_path: Path) -> None:
    from PIL import Image

    forest = tmp_path / "forest.png"
    res = runner.invoke(
        app, ["evidence", "forest", "--out", str(forest), "--method", "DL"]
    )
    assert res.exit_code == 0, res.output
    assert "Wrote" in res.output
    assert "1 of 8 studies" in res.output
    with Image.open(forest) as im:
        assert im.format == "PNG"
        assert im.size[0] >= 1500  # 8.6 in at 200 dpi
    funnel = tmp_path / "funnel.png"
    res = runner.invoke(
        app,
        ["evidence", "funnel", "--out", str(funnel), "--measure", "pct_change"],
    )
    assert res.exit_code == 0, res.output
    assert "cannot be judged with fewer than 10" in res.output
    assert funnel.stat().st_size > 10_000


def test_forest_and_funnel_errors(tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    missing = runner.invoke(app, ["evidence", "forest"])
    assert missing.exit_code == 2
    for cmd in ("forest", "funnel"):
        bad = runner.invoke(app, ["evidence", cmd, "--out", str(out), "--method", "ML"])
        assert bad.exit_code == 2
        assert "--method" in bad.output
        none = runner.invoke(
            app, ["evidence", cmd, "--out", str(out), "--measure", "md"]
        )
        assert none.exit_code == 2
        assert "No estimable effect" in none.output
    tf = runner.invoke(app, ["evidence", "funnel", "--out", str(out), "--trim-fill"])
    assert tf.exit_code == 2
    assert "trim and fill" in tf.output
    unwritable = runner.invoke(
        app, ["evidence", "forest", "--out", str(tmp_path / "no" / "dir.png")]
    )
    assert unwritable.exit_code == 2
    assert "Cannot write" in unwritable.output
    assert not out.exists()


def _fake_table(k: int) -> SimpleNamespace:
    """Stand-in for an EffectTable with k estimable effects (what the CLI reads)."""
    rng = np.random.default_rng(3)
    est = tuple(float(a) for a in rng.normal(-0.5, 0.4, k))
    var = tuple(float(a) for a in rng.uniform(0.02, 0.3, k))
    return SimpleNamespace(
        effects=est,
        estimates=est,
        variances=var,
        labels=tuple(f"Study {i + 1} et al., {2000 + i}" for i in range(k)),
        not_estimable=(),
    )


def test_pool_forest_funnel_many_studies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plptms.meta

    monkeypatch.setattr(plptms.meta, "collect_effects", lambda measure: _fake_table(12))
    res = runner.invoke(
        app, ["evidence", "pool", "--permutations", "500", "--seed", "4"]
    )
    assert res.exit_code == 0, res.output
    assert "500 random sign flips, seed 4; Monte Carlo SE" in res.output
    res = runner.invoke(app, ["evidence", "pool", "--permutations", "5000"])
    assert "exact, all 4,096 sign flips" in res.output
    for cmd, extra in (("forest", []), ("funnel", ["--trim-fill"])):
        out = tmp_path / f"{cmd}.png"
        res = runner.invoke(app, ["evidence", cmd, "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        assert "12 of 12 studies" in res.output
        assert ("Trim and fill (" in res.output) == (cmd == "funnel")
        assert out.stat().st_size > 20_000
