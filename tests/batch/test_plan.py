"""The batching rule against hand-computed sizes (issue 18's figures)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.batch._plan import MAX_BATCHES, MIN_BATCH_S, batch_bounds, plan


@pytest.mark.parametrize(
    ("n_tasks", "task_time_s", "size", "n_batches"),
    [
        (10**6, None, 100, 10_000),  # 10^6 params -> 10^4 batches of 100
        (10**6 + 1, None, 101, 9_901),  # 101 * 9901 = 1_000_001
        (10_000, None, 1, 10_000),
        (10_001, None, 2, 5_001),
        (1_000, 0.001, 100, 10),  # 100 x 1 ms = 0.1 s
        (1_000, 0.003, 34, 30),  # ceil(0.1 / 0.003) = ceil(33.3); ceil(1000 / 34)
        (1_000, 1.0, 1, 1_000),  # a 1 s task is a batch on its own
        (10, 0.001, 10, 1),  # capped at the number of params
        (10**7, 0.05, 1_000, 10_000),  # both rules: 10^7 / 10^4 = 1000 > 0.1 / 0.05
        (0, None, 1, 0),
    ],
)
def test_rule_against_hand_values(
    n_tasks: int, task_time_s: float | None, size: int, n_batches: int
) -> None:
    got = plan(n_tasks, task_time_s=task_time_s)
    assert got == size
    assert len(batch_bounds(n_tasks, got)) == n_batches


def test_explicit_batch_size_wins() -> None:
    assert plan(10**6, batch_size=7, task_time_s=0.001) == 7


def test_bounds_are_contiguous_and_cover() -> None:
    assert batch_bounds(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert batch_bounds(4, 4) == [(0, 4)]
    assert batch_bounds(0, 5) == []


@given(
    n_tasks=st.integers(1, 10**9),
    task_time_s=st.none() | st.floats(1e-9, 1e3, allow_nan=False),
)
def test_rule_properties(n_tasks: int, task_time_s: float | None) -> None:
    size = plan(n_tasks, task_time_s=task_time_s)
    assert 1 <= size <= n_tasks
    assert math.ceil(n_tasks / size) <= MAX_BATCHES
    if task_time_s is not None and size < n_tasks:
        assert size * task_time_s >= MIN_BATCH_S * (1 - 1e-9)


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_batch_size_value(bad: int) -> None:
    with pytest.raises(ValueError, match=rf"'batch_size': got {bad}; allowed: an int"):
        plan(10, batch_size=bad)


@pytest.mark.parametrize("bad", [2.5, True, "4"])
def test_bad_batch_size_type(bad: object) -> None:
    with pytest.raises(TypeError, match="batch_size"):
        plan(10, batch_size=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_task_time(bad: float) -> None:
    with pytest.raises(ValueError, match=r"'task_time_s'.*allowed range is \(0, inf\)"):
        plan(10, task_time_s=bad)
