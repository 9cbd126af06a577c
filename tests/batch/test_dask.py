"""run_tasks on Dask: a LocalCluster of 2 workers and a running scheduler's address.

Oracle: the streams built directly with numpy (see test_run.py); exact comparison.
"""

from __future__ import annotations

import pytest

from plptms.batch._run import run_tasks

from ._funcs import draw, fail_at_five
from .test_run import SEED, N, _assert_bit_identical, _expected

distributed = pytest.importorskip("distributed")


def test_local_cluster_two_workers_bit_identical(capsys: pytest.CaptureFixture) -> None:
    got = run_tasks(
        draw,
        list(range(N)),
        seed=SEED,
        backend="dask",
        batch_size=3,
        n_workers=2,
        progress=True,
    )
    _assert_bit_identical(got, _expected(SEED, N))
    assert "Dask dashboard:" in capsys.readouterr().err


def test_scheduler_address_and_task_error() -> None:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=":0",
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        got = run_tasks(draw, list(range(N)), seed=SEED, backend=address, batch_size=5)
        _assert_bit_identical(got, _expected(SEED, N))
        with pytest.raises(ValueError, match="boom at 5") as info:
            run_tasks(
                fail_at_five, list(range(9)), seed=0, backend=address, batch_size=2
            )
        assert "task 5 of 9" in "\n".join(info.value.__notes__)
