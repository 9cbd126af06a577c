"""Evidence commands of the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from plptms.cli.main import app

from ..conftest import billion_laughs
from .conftest import assert_one_line_error

runner = CliRunner()


def test_effects_and_pool(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evidence", "effects"])
    assert res.exit_code == 0, res.output
    assert "malavera2016" in res.output
    assert "-0.544" in res.output  # Malavera 2016 from its means and SDs
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

    monkeypatch.setattr(
        plptms.meta, "collect_effects", lambda measure, extra: _fake_table(12)
    )
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


# --------------------------------------------------------------------------------------
# User study files (--studies)

#: The fictional example study shipped for the docs and tests.
EXAMPLE = Path(__file__).parents[1] / "data" / "evidence_user_study_example.yaml"


def _example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def test_studies_option_adds_user_studies(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evidence", "effects", "--studies", str(EXAMPLE)])
    assert res.exit_code == 0, res.output
    assert "fictional2031" in res.output
    assert "-0.093" in res.output
    assert "-0.544" in res.output  # the shipped studies are still there
    # A directory of study files; the default model is REML with Hartung-Knapp.
    # The independent REML/Hartung-Knapp computation of tests/meta/test_evidence.py
    # (_reml_knha, checked there against metafor 3.8-1) on the same two effects
    # gives estimate -0.3424, CI [-3.1891, 2.5043], p 0.3689, tau^2 0.01610.
    (tmp_path / "example.yaml").write_text(EXAMPLE.read_text("utf-8"), "utf-8")
    res = runner.invoke(app, ["evidence", "pool", "--studies", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (
        "REML (knha), k = 2: estimate -0.342 [-3.189, 2.504], p = 0.369, "
        "tau^2 = 0.0161" in res.output
    )
    assert "2 estimable of 9 studies" in res.output
    assert "nothing to pool" not in res.output
    # Repeatable: a second directory adds its studies too.
    other = _example()
    other["id"] = "fictional2032"
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "s.json").write_text(json.dumps(other), encoding="utf-8")
    for cmd, extra in (("forest", []), ("funnel", ["--trim-fill"])):
        out = tmp_path / f"{cmd}.png"
        res = runner.invoke(
            app,
            [
                "evidence",
                cmd,
                "--out",
                str(out),
                "--studies",
                str(tmp_path),
                "--studies",
                str(tmp_path / "more"),
                *extra,
            ],
        )
        assert res.exit_code == 0, res.output
        assert "3 of 10 studies" in res.output
        assert out.stat().st_size > 10_000


def _bad(kind: str) -> dict[str, Any]:
    data = _example()
    if kind == "missing_field":
        del data["outcomes"][0]["source"]
    elif kind == "negative_sd":
        data["outcomes"][0]["treatment"]["sd"] = -2.0
    elif kind == "unknown_key":
        data["outcomes"][0]["control"]["sdd"] = 2.2
    else:
        data["id"] = "malavera2016"
    return data


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing_field", "outcomes.0.source: required field is missing"),
        ("negative_sd", "outcomes.0.treatment.sd: Invalid value for 'sd': got -2.0"),
        ("unknown_key", "outcomes.0.control.sdd: unknown field"),
        ("duplicate_id", "Invalid value for 'id': got 'malavera2016'"),
    ],
)
def test_bad_study_file_exits_2_and_pools_nothing(
    tmp_path: Path, kind: str, words: str
) -> None:
    good = _example()
    good["id"] = "fictional2032"
    (tmp_path / "a_good.yaml").write_text(yaml.safe_dump(good), encoding="utf-8")
    bad = tmp_path / f"b_{kind}.yaml"
    bad.write_text(yaml.safe_dump(_bad(kind)), encoding="utf-8")
    out = tmp_path / "plot.png"
    for cmd in (
        ["effects"],
        ["pool", "--forest", str(out)],
        ["forest", "--out", str(out)],
        ["funnel", "--out", str(out)],
    ):
        res = runner.invoke(app, ["evidence", *cmd, "--studies", str(tmp_path)])
        assert res.exit_code == 2, res.output
        assert str(bad) in res.output
        assert words in res.output
        assert "nothing was loaded" in res.output
        if kind == "duplicate_id":
            assert "malavera2016.yaml (shipped) already has it" in res.output
        for pooled in ("estimate", "Wrote", "fictional2032", "Effects ("):
            assert pooled not in res.output
        assert not out.exists()


def test_missing_studies_path_exits_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evidence", "pool", "--studies", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "which does not exist" in res.output


def test_reml_non_convergence_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """REML Fisher scoring that oscillates (as in metafor) is an error, not a crash."""
    import plptms.meta

    y = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    v = (0.11486202, 0.63682835, 0.38662003, 0.728041, 0.65732735, 0.43691448)
    table = SimpleNamespace(
        effects=y,
        estimates=y,
        variances=v,
        labels=tuple(f"S{i}" for i in range(6)),
        not_estimable=(),
    )
    monkeypatch.setattr(plptms.meta, "collect_effects", lambda **kw: table)
    res = runner.invoke(app, ["evidence", "pool"])
    assert res.exit_code == 2
    assert "did not converge" in res.output
    assert "method='PM' or 'DL'" in res.output
    res = runner.invoke(app, ["evidence", "pool", "--method", "PM"])
    assert res.exit_code == 0, res.output


# --- hostile and wrong input (issue 13): one clean line, exit 2, nothing pooled -----


def test_alias_bomb_study_file_exits_2_quickly(tmp_path: Path) -> None:
    # the billion-laughs file ran out of memory under `evidence pool --studies`; run
    # it in a child process with a timeout so a regression cannot hang the session
    import subprocess
    import sys

    f = tmp_path / "bomb.yaml"
    f.write_text(billion_laughs())
    proc = subprocess.run(
        [sys.executable, "-m", "plptms", "evidence", "pool", "--studies", str(f)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "nothing was loaded" in lines[0]
    assert "alias" in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "nest"),
        ("id: a\nid: b\n", "duplicate key 'id'"),
    ],
    ids=["deep", "duplicate-key"],
)
@pytest.mark.parametrize("command", [["pool"], ["effects"]])
def test_hostile_study_file_exits_2_in_one_line(
    tmp_path: Path, text: str, words: str, command: list[str]
) -> None:
    f = tmp_path / "study.yaml"
    f.write_text(text)
    res = runner.invoke(app, ["evidence", *command, "--studies", str(f)])
    assert_one_line_error(res, "nothing was loaded", str(f), words)


def test_study_file_with_bool_and_text_numbers_exits_2(tmp_path: Path) -> None:
    doc = _example()
    doc["id"] = "fictional2033"
    doc["n_total"] = True
    f = tmp_path / "study.yaml"
    f.write_text(yaml.safe_dump(doc))
    res = runner.invoke(app, ["evidence", "pool", "--studies", str(f)])
    assert_one_line_error(res, "n_total", "got True (bool)", "nothing was loaded")
