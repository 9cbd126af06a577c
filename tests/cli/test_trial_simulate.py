"""`plptms trial simulate`: back-ends agree, checkpoints resume, bad input exits 2."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app

from .conftest import assert_one_line_error

runner = CliRunner()
EXAMPLE_TRIAL = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
#: 4 trials per effect (2 batches of 2: the batching rule at 0.07 s a trial).
N = "4"


@pytest.fixture
def design(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(
        f"definition: {EXAMPLE_TRIAL}\nn_patients: 16\ntrue_effect: -1.5\n"
        "visits: [end_of_course]\n"
    )
    return path


def _json(design: Path, *extra: str) -> dict[str, object]:
    res = runner.invoke(
        app,
        ["trial", "simulate", str(design), "--n-trials", N, "--seed", "11", "--json",
         *extra],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.stdout)
    return out


def test_serial_and_processes_give_identical_json(design: Path) -> None:
    serial = _json(design, "--backend", "serial")
    procs = _json(design, "--backend", "processes", "--workers", "2")
    assert serial == procs
    assert serial["seed"] == 11
    summaries = serial["summaries"]
    assert isinstance(summaries, list)
    assert [s["true_effect"] for s in summaries] == [-1.5]
    assert summaries[0]["n_trials"] == int(N)
    # --effects: one summary per effect, in the order given
    curve = _json(design, "--backend", "serial", "--effects", "0,-1.5")
    assert [s["measure"] for s in curve["summaries"]] == ["type_i_error", "power"]
    assert curve["summaries"][1] == summaries[0]
    # another seed draws other trials (the comparison above can fail)
    assert _json(design, "--backend", "serial", "--seed", "12") != serial


def test_checkpoint_rerun_is_identical_and_runs_nothing(
    design: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt = tmp_path / "ckpt"
    args = ("--backend", "serial", "--checkpoint", str(ckpt))
    first = _json(design, *args)
    assert len(list((ckpt / "effect_-1.5").glob("batch-*"))) == 2

    def boom(*_: object) -> None:
        raise AssertionError("a checkpointed trial ran again")

    monkeypatch.setattr("plptms.trial._virtual_study.simulate_trial", boom)
    assert _json(design, *args) == first


def test_table_and_power_curve(design: Path, tmp_path: Path) -> None:
    png = tmp_path / "power.png"
    res = runner.invoke(
        app,
        ["trial", "simulate", str(design), "--n-trials", N, "--seed", "3",
         "--backend", "serial", "--effects", "-2,0", "--plot", str(png)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for word in ("power", "type I error", "coverage", "bias", "imbalance", "±"):
        assert word in res.stdout, word
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seed_is_drawn_and_printed_when_not_given(design: Path) -> None:
    res = runner.invoke(
        app,
        ["trial", "simulate", str(design), "--n-trials", "2", "--backend", "serial",
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    seed = json.loads(res.stdout)["seed"]
    assert isinstance(seed, int)
    assert seed >= 0


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--n-trials", "1"], "--n-trials"),
        (["--n-trials", "4", "--backend", "dsak"], "--backend"),
        (["--n-trials", "4", "--effects", "-1,x"], "--effects"),
        (["--n-trials", "4", "--workers", "0"], "--workers"),
        (["--n-trials", "4", "--seed", "-1"], "--seed"),
        (["--n-trials", "4", "--plot", "curve.txt"], "--plot"),
        ([], "--n-trials"),
    ],
)
def test_bad_option_exits_2_naming_it(
    design: Path, extra: list[str], option: str
) -> None:
    res = runner.invoke(app, ["trial", "simulate", str(design), *extra])
    assert res.exit_code == 2, res.output
    assert option in res.output
    assert "Traceback" not in res.output


def test_bad_design_or_effects_exit_2_with_one_line(design: Path) -> None:
    res = runner.invoke(
        app, ["trial", "simulate", str(design.with_name("no.yaml")), "--n-trials", "2"]
    )
    assert_one_line_error(res, "no.yaml")
    res = runner.invoke(
        app,
        ["trial", "simulate", str(design), "--n-trials", "2", "--effects", "0,-0"],
    )
    assert_one_line_error(res, "effects")
