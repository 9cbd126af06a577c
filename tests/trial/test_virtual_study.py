"""Many virtual trials on plptms.batch: seed blocks per effect, validation."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from plptms.trial._simulate import VirtualDesign, simulate_trial
from plptms.trial._simulate_summary import summarise_virtual_trials
from plptms.trial._virtual_design import read_virtual_design
from plptms.trial._virtual_study import (
    EFFECT_BLOCK_TAG,
    effect_seed,
    run_virtual_trials,
    simulate_design_json,
)

EXAMPLE_TRIAL = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
SEED = 20240817
N = 3


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> VirtualDesign:
    path = tmp_path_factory.mktemp("vd") / "tiny.yaml"
    path.write_text(
        f"definition: {EXAMPLE_TRIAL}\nn_patients: 16\ntrue_effect: -1.5\n"
        "visits: [end_of_course]\n"
    )
    return read_virtual_design(path)


def test_effect_seed_is_the_documented_spawn_key() -> None:
    # -1.5 is 0xBFF8000000000000 as an IEEE 754 double (sign 1, exponent 1023,
    # mantissa .1b): high word 0xBFF80000, low word 0
    got = effect_seed(7, -1.5)
    assert got.entropy == 7
    assert got.spawn_key == (0x76747269, 0xBFF80000, 0)
    assert EFFECT_BLOCK_TAG == int.from_bytes(b"vtri", "big")
    # 0.1 is 0x3FB999999999999A
    assert effect_seed(7, 0.1).spawn_key == (EFFECT_BLOCK_TAG, 0x3FB99999, 0x9999999A)
    # -0.0 and 0.0 are one effect
    assert effect_seed(7, -0.0).spawn_key == effect_seed(7, 0.0).spawn_key
    assert effect_seed(7, 0.0).spawn_key == (EFFECT_BLOCK_TAG, 0, 0)


def test_each_effect_equals_trials_built_from_its_own_block(
    design: VirtualDesign,
) -> None:
    """Oracle: simulate_trial called directly with numpy's spawned child."""
    study = run_virtual_trials(
        design, N, seed=SEED, backend="serial", effects=[0.0, -2.0]
    )
    for k, effect in enumerate((0.0, -2.0)):
        variant = design.model_copy(update={"true_effect": effect})
        block = np.random.SeedSequence(
            SEED, spawn_key=effect_seed(SEED, effect).spawn_key
        )
        direct = [
            simulate_trial(variant, np.random.default_rng(child))
            for child in block.spawn(N)
        ]
        assert study.summaries[k] == summarise_virtual_trials(direct, effect)


def test_adding_or_reordering_effects_leaves_the_others_unchanged(
    design: VirtualDesign,
) -> None:
    one = run_virtual_trials(design, N, seed=SEED, backend="serial", effects=[-1.0])
    three = run_virtual_trials(
        design, N, seed=SEED, backend="serial", effects=[0.0, -1.0, -2.0]
    )
    assert three.summaries[1] == one.summaries[0]
    # the default is the design's own effect, in the same block
    own = run_virtual_trials(design, N, seed=SEED, backend="serial")
    again = run_virtual_trials(design, N, seed=SEED, backend="serial", effects=[-1.5])
    assert own == again
    assert own.summaries[0].true_effect == pytest.approx(-1.5, abs=1e-12)
    # and different effects do draw different streams (the test can fail)
    assert three.summaries[0].bias != three.summaries[2].bias


def test_design_json_task_round_trips(design: VirtualDesign) -> None:
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert simulate_design_json(design.model_dump_json(), rng_a) == simulate_trial(
        design, rng_b
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "error"),
    [
        ({"n_trials": 1}, "n_trials", ValueError),
        ({"n_trials": 2.0}, "n_trials", TypeError),
        ({"seed": -1}, "seed", ValueError),
        ({"effects": []}, "effects", ValueError),
        ({"effects": [0.0, -0.0]}, "effects", ValueError),
        ({"effects": [float("nan")]}, "effects", ValueError),
        ({"effects": "-1,0"}, "effects", TypeError),
        ({"effects": ["-1"]}, "effects", TypeError),
        ({"backend": "dsak"}, "backend", ValueError),
    ],
)
def test_bad_arguments_are_named(
    design: VirtualDesign, kwargs: dict[str, object], field: str, error: type
) -> None:
    args: dict[str, object] = {"n_trials": 2, "seed": 1, "backend": "serial"}
    args.update(kwargs)
    n = args.pop("n_trials")
    with pytest.raises(error, match=field):
        run_virtual_trials(design, n, **args)  # type: ignore[arg-type]
