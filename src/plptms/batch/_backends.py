"""The back-ends: each runs batches and yields ``(batch index, outcome)`` as they end.

Every back-end calls the same :func:`plptms.batch._tasks.run_batch`, so where a
batch runs changes the order results arrive in, never a result. Closing the
generator (the run stops on a failure) cancels the batches not yet started.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from ..utils import soft_import
from ._tasks import run_batch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import numpy as np

    from ._tasks import Failure, SeedState

__all__ = [
    "Job",
    "Outcome",
    "default_workers",
    "run_dask",
    "run_processes",
    "run_serial",
]

_log = logging.getLogger(__name__)

#: (batch index, first param index, one past the last param index).
Job = tuple[int, int, int]
Outcome = tuple[int, "list[Any] | Failure"]


def default_workers(n_workers: int | None, n_jobs: int) -> int:
    """Return the worker count: ``n_workers`` or the CPU count, at most ``n_jobs``.

    Parameters
    ----------
    n_workers : int | None
        Asked for; ``None`` means one per CPU.
    n_jobs : int
        Batches to run (more workers than batches would sit idle).

    Returns
    -------
    n : int
        Workers to start (>= 1).
    """
    wanted = n_workers if n_workers is not None else (os.cpu_count() or 1)
    return max(1, min(wanted, n_jobs))


def run_serial(
    func: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    jobs: Sequence[Job],
    state: SeedState,
) -> Iterator[Outcome]:
    """Run the batches one after the other in this process.

    Parameters
    ----------
    func : callable
        ``func(param, rng) -> result``.
    params : sequence
        All params.
    jobs : sequence of tuple
        The batches to run.
    state : tuple
        The seed state.

    Yields
    ------
    outcome : tuple
        ``(batch index, results or Failure)``.
    """
    for index, start, stop in jobs:
        yield index, run_batch(func, params[start:stop], start, state, portable=False)


def run_processes(
    func: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    jobs: Sequence[Job],
    state: SeedState,
    n_workers: int,
) -> Iterator[Outcome]:
    """Run the batches on a local pool of spawned processes.

    Parameters
    ----------
    func : callable
        A picklable (top-level) ``func(param, rng) -> result``.
    params : sequence
        All params (picklable).
    jobs : sequence of tuple
        The batches to run.
    state : tuple
        The seed state.
    n_workers : int
        Processes in the pool.

    Yields
    ------
    outcome : tuple
        ``(batch index, results or Failure)``, in the order batches end.
    """
    context = multiprocessing.get_context("spawn")  # no fork: safe with threads
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=context)
    try:
        futures = {
            pool.submit(run_batch, func, params[start:stop], start, state): index
            for index, start, stop in jobs
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_dask(
    func: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    jobs: Sequence[Job],
    state: SeedState,
    *,
    address: str | None,
    n_workers: int,
    on_dashboard: Callable[[str], None],
) -> Iterator[Outcome]:
    """Run the batches on Dask: a new ``LocalCluster`` or a running scheduler.

    Parameters
    ----------
    func : callable
        ``func(param, rng) -> result`` (sent with cloudpickle).
    params : sequence
        All params.
    jobs : sequence of tuple
        The batches to run, one Dask task each.
    state : tuple
        The seed state.
    address : str | None
        A scheduler address (``tcp://host:port``), or ``None`` for a
        ``LocalCluster`` of ``n_workers`` processes of one thread each.
    n_workers : int
        Workers of the ``LocalCluster`` (ignored with ``address``).
    on_dashboard : callable
        Called with the dashboard's address, or with a line saying why there is
        none (bokeh missing).

    Yields
    ------
    outcome : tuple
        ``(batch index, results or Failure)``, in the order batches end.
    """
    distributed = soft_import(
        "distributed", "run tasks on Dask", package="dask[distributed]"
    )
    with ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=True
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            client = stack.enter_context(distributed.Client(address))
        if importlib.util.find_spec("bokeh") is None:  # the dashboard needs bokeh
            on_dashboard("none (install bokeh>=3.1 for the Dask dashboard)")
        else:
            on_dashboard(str(client.dashboard_link))
        futures = {
            client.submit(
                run_batch,
                func,
                list(params[start:stop]),
                start,
                state,
                key=f"plptms-batch-{index}-{os.urandom(6).hex()}",
                pure=False,
            ): index
            for index, start, stop in jobs
        }
        try:
            for future, outcome in distributed.as_completed(futures, with_results=True):
                yield futures[future], outcome
        finally:
            client.cancel(list(futures))
