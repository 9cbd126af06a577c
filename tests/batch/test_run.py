"""run_tasks: the same results on every back-end, batch size and worker count.

Oracle: each task's stream built directly with numpy,
``default_rng(SeedSequence(seed).spawn(n)[i])``, not through plptms. The comparison
is exact (bit identity is the property under test, so the tolerance is zero).
"""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest

from plptms.batch._run import run_tasks

from ._funcs import draw, fail_at_five, identity

SEED = 20240817
N = 23


def _expected(seed: int | np.random.SeedSequence, n: int) -> list[np.ndarray]:
    root = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    out = []
    for i, child in enumerate(root.spawn(n)):
        rng = np.random.default_rng(child)
        out.append(
            np.concatenate([rng.standard_normal(3), rng.integers(0, 2**31, 1)]) + i
        )
    return out


def _assert_bit_identical(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.tobytes() == w.tobytes()


@pytest.mark.parametrize("batch_size", [None, 1, 3, 7, N, 100])
def test_serial_matches_spawned_streams_for_any_batch_size(
    batch_size: int | None,
) -> None:
    got = run_tasks(
        draw, list(range(N)), seed=SEED, backend="serial", batch_size=batch_size
    )
    _assert_bit_identical(got, _expected(SEED, N))


def test_processes_two_workers_bit_identical() -> None:
    got = run_tasks(
        draw, list(range(N)), seed=SEED, backend="processes", batch_size=2, n_workers=2
    )
    _assert_bit_identical(got, _expected(SEED, N))


def test_order_kept_when_batches_end_out_of_order() -> None:
    params = list(range(40))
    random.Random(3).shuffle(params)
    got = run_tasks(
        identity, params, seed=1, backend="processes", batch_size=1, n_workers=2
    )
    assert got == params


def test_seed_sequence_read_not_advanced() -> None:
    root = np.random.SeedSequence(SEED)
    got = run_tasks(draw, list(range(N)), seed=root, backend="serial")
    again = run_tasks(draw, list(range(N)), seed=root, backend="serial")
    assert root.n_children_spawned == 0
    _assert_bit_identical(got, _expected(SEED, N))
    _assert_bit_identical(again, _expected(SEED, N))


def test_spawned_child_seed_sequence() -> None:
    child = np.random.SeedSequence(SEED).spawn(3)[2]
    got = run_tasks(draw, list(range(N)), seed=child, backend="serial", batch_size=4)
    want = _expected(np.random.SeedSequence(SEED).spawn(3)[2], N)
    _assert_bit_identical(got, want)


def test_empty_params() -> None:
    assert run_tasks(draw, [], seed=0, backend="processes") == []


def test_auto_runs_one_batch_in_process(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="plptms.batch"):
        got = run_tasks(draw, list(range(N)), seed=SEED, batch_size=N)
    _assert_bit_identical(got, _expected(SEED, N))
    assert "backend 'serial'" in caplog.text


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_task_error_reraised_with_index(backend: str) -> None:
    with pytest.raises(ValueError, match="boom at 5") as info:
        run_tasks(
            fail_at_five,
            list(range(9)),
            seed=0,
            backend=backend,
            batch_size=2,
            n_workers=2,
        )
    notes = "\n".join(info.value.__notes__)
    assert "task 5 of 9" in notes
    assert "params[5] = 5" in notes
    if backend != "serial":
        assert "Worker traceback" in notes
        assert "fail_at_five" in notes


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        (
            {"backend": "dsak"},
            ValueError,
            r"'backend': got 'dsak'.*Did you mean 'dask'",
        ),
        ({"backend": "tcp://"}, ValueError, "'backend'"),
        ({"backend": 3}, TypeError, "'backend'"),
        ({"seed": -1}, ValueError, r"'seed': got -1"),
        ({"seed": 1.5}, TypeError, "'seed'"),
        ({"seed": True}, TypeError, "'seed'"),
        ({"seed": None}, TypeError, "'seed'"),
        ({"batch_size": 0}, ValueError, r"'batch_size': got 0"),
        ({"n_workers": 0}, ValueError, r"'n_workers': got 0"),
        ({"task_time_s": -1.0}, ValueError, "'task_time_s'"),
        ({"progress": "yes"}, TypeError, "'progress'"),
        ({"checkpoint": 5}, TypeError, "'checkpoint'"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, error: type, field: str) -> None:
    args = {"seed": 0, "backend": "serial", **kwargs}
    with pytest.raises(error, match=field):
        run_tasks(draw, [1, 2], **args)


def test_bad_func_and_params() -> None:
    with pytest.raises(TypeError, match="'func'"):
        run_tasks(3, [1], seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'params'"):
        run_tasks(draw, "abc", seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'func'.*cannot be pickled"):
        run_tasks(lambda p, rng: p, [1, 2], seed=0, backend="processes", batch_size=1)
