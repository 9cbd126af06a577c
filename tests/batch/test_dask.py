"""run_tasks on Dask: a LocalCluster of 2 workers and a running scheduler's address.

Oracle: the streams built directly with numpy (see test_run.py); exact comparison.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from plptms.batch._run import run_tasks

from ._funcs import draw, fail_at_five
from .test_run import SEED, N, _assert_bit_identical, _expected

distributed = pytest.importorskip("distributed")


#: The final line rich renders for a finished bar (description, bar, 100 %).
BAR_DONE = re.compile(r"^tasks ━+ 100% ", re.MULTILINE)


def _bokeh(present: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``find_spec('bokeh')`` say whether bokeh is installed, as asked."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name == "bokeh":
            return real("pytest") if present else None  # any spec, or none
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_local_cluster_two_workers_bit_identical(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """progress=True prints the dashboard's address and a rich progress bar."""
    _bokeh(True, monkeypatch)
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
    err = capsys.readouterr().err
    assert re.search(r"^Dask dashboard: http://[\w.\-]+:\d+/status$", err, re.M), err
    assert BAR_DONE.search(err), err


def test_scheduler_address_and_task_error(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=":0",
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        _bokeh(False, monkeypatch)
        got = run_tasks(
            draw, list(range(N)), seed=SEED, backend=address, batch_size=5,
            progress=True,
        )  # fmt: skip
        _assert_bit_identical(got, _expected(SEED, N))
        err = capsys.readouterr().err
        assert "Dask dashboard: none (install bokeh>=3.1" in err
        assert BAR_DONE.search(err), err
        with pytest.raises(ValueError, match="boom at 5") as info:
            run_tasks(
                fail_at_five, list(range(9)), seed=0, backend=address, batch_size=2
            )
        assert "task 5 of 9" in "\n".join(info.value.__notes__)
