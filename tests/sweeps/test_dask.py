"""Sweeps on Dask (2 worker processes): bit-identical to serial; the 10^5 batching.

Oracle for the back-ends: the serial run (whose records the other sweep tests
check against closed forms and plptms.motor); equality is exact. Oracle for the
batching: the rule worked by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plptms.batch import MAX_BATCHES, MIN_BATCH_S, plan
from plptms.sweeps import _thresholds
from plptms.sweeps._dosing import dosing_sweep
from plptms.sweeps._thresholds import HUNT_TIME_S, threshold_method_benchmark

from .test_dosing import _small_grid
from .test_thresholds import FAST, FAST_RF

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    """A LocalCluster of 2 single-threaded worker processes, shared by the tests."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def test_dosing_sweep_dask_equals_serial(address: str) -> None:
    grid = _small_grid()
    serial = dosing_sweep(grid, backend="serial")
    dask = dosing_sweep(grid, backend=address, batch_size=1)  # 4 tasks on 2 workers
    assert dask == serial


def test_threshold_benchmark_dask_equals_serial(address: str) -> None:
    kw: dict[str, Any] = {"seed": 17, "batch_size": 3}
    serial = threshold_method_benchmark(12, [FAST, FAST_RF], backend="serial", **kw)
    dask = threshold_method_benchmark(12, [FAST, FAST_RF], backend=address, **kw)
    assert dask.records == serial.records
    assert dask.summaries == serial.summaries


class _Planned(Exception):
    """Stops the benchmark once run_tasks has been called."""


def test_1e5_subjects_batch_to_the_task_size_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10^5 subjects x 3 methods: batches of 10 (10^4 batches), each >= 0.1 s."""
    seen: dict[str, Any] = {}

    def fake_run_tasks(func: Any, params: Any, **kwargs: Any) -> Any:
        seen.update(kwargs, n=len(params))
        raise _Planned

    monkeypatch.setattr(_thresholds, "run_tasks", fake_run_tasks)
    with pytest.raises(_Planned):
        threshold_method_benchmark(100_000, seed=0, backend="serial")
    assert seen["n"] == 100_000
    assert seen["batch_size"] is None  # the rule decides
    task_time = sum(HUNT_TIME_S.values())  # 5 + 15 + 16 ms
    assert seen["task_time_s"] == pytest.approx(0.036, rel=1e-12)

    size = plan(100_000, task_time_s=task_time)
    # by hand: max(ceil(10^5 / 10^4), ceil(0.1 / 0.036)) = max(10, 3) = 10
    assert size == 10
    assert 100_000 // size == MAX_BATCHES
    assert size * task_time >= MIN_BATCH_S
