"""Kills on Dask: a worker process killed mid-run, a client process killed mid-run.

Task 5 (batch 2 of five batches of 2) waits while a marker file exists, so the
kill lands while that batch is in flight, deterministically. Oracles: the streams
built directly with numpy (``_expected_u``, exact) and the hand-computed set of
tasks a resumed run must call.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plptms.batch._run import run_tasks

from ._funcs import FAIL_AT, calls, held
from .test_checkpoint import BATCH, SEED, N, _batch_files, _check_full, _params

distributed = pytest.importorskip("distributed")

#: Longest wait for an event of the run (a worker starting a task, a file), s.
WAIT_S = 60.0


def _wait_for(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _caller_pid(root: Path, index: int) -> int:
    """Pid written by the first call of task ``index`` (see ``_funcs.held``)."""
    (path,) = (root / "calls").glob(f"{index}-*")
    return int(path.read_text())


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes (each with a nanny that restarts it)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


def test_killed_worker_run_completes_bit_identical(
    cluster: Any, tmp_path: Path
) -> None:
    ckpt = tmp_path / "ckpt"
    (tmp_path / "hold").touch()
    out: dict[str, Any] = {}

    def client_side() -> None:
        try:
            out["results"] = run_tasks(
                held,
                _params(tmp_path),
                seed=SEED,
                backend=cluster.scheduler_address,
                batch_size=BATCH,
                checkpoint=ckpt,
            )
        except BaseException as err:  # re-raised in the test's thread
            out["error"] = err

    thread = threading.Thread(target=client_side)
    thread.start()
    try:
        _wait_for("task 5 to start", lambda: FAIL_AT in calls(tmp_path))
        pid = _caller_pid(tmp_path, FAIL_AT)
        with distributed.Client(cluster.scheduler_address) as client:
            # scheduler_info() lists the workers (no pid in distributed 2026.8);
            # Client.run asks each of them for its pid
            workers = list(client.scheduler_info()["workers"])
            pids = client.run(os.getpid, workers=workers)
        assert len(pids) == 2
        assert pid in pids.values()  # the task ran in a worker of the cluster
        os.kill(pid, signal.SIGKILL)
    finally:
        (tmp_path / "hold").unlink()
        thread.join(timeout=WAIT_S)
    assert not thread.is_alive()
    if "error" in out:
        raise out["error"]
    _check_full(out["results"])  # Dask rescheduled batch 2: same results
    assert calls(tmp_path).count(FAIL_AT) == 2  # killed once, then run again
    assert len(_batch_files(ckpt)) == N // BATCH


def test_killed_client_resumes_losing_one_batch(cluster: Any, tmp_path: Path) -> None:
    """The client dies (SIGKILL) while batch 2 runs; the other batches are saved."""
    ckpt = tmp_path / "ckpt"
    (tmp_path / "hold").touch()
    code = textwrap.dedent(
        f"""
        from plptms.batch._run import run_tasks
        from tests.batch._funcs import held
        params = [({str(tmp_path)!r}, i) for i in range({N})]
        run_tasks(held, params, seed={SEED}, backend={cluster.scheduler_address!r},
                  batch_size={BATCH}, checkpoint={str(ckpt)!r})
        """
    )
    root = Path(__file__).parents[2]
    env = {"PYTHONPATH": f"{root / 'src'}:{root}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        # batches 0, 1, 3 and 4 finish on the other worker while batch 2 holds
        _wait_for("4 saved batches", lambda: len(_batch_files(ckpt)) == 4)
        assert FAIL_AT in calls(tmp_path)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=WAIT_S) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        (tmp_path / "hold").unlink()
    assert "batch-000002.parquet" not in _batch_files(ckpt)

    shutil.rmtree(tmp_path / "calls")
    results = run_tasks(
        held,
        _params(tmp_path),
        seed=SEED,
        backend=cluster.scheduler_address,
        checkpoint=ckpt,
    )
    assert calls(tmp_path) == [4, 5]  # only the batch in flight is lost
    _check_full(results)
