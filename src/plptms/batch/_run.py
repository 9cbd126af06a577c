"""``run_tasks``: the one way plptms runs a batch of independent, seeded tasks."""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ..utils import check_type, short_repr
from ._backends import default_workers, run_dask, run_processes, run_serial
from ._checkpoint import fingerprint, load_batches, open_checkpoint, write_batch
from ._plan import batch_bounds, plan
from ._tasks import Failure, seed_state

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import numpy as np

    from ._backends import Job, Outcome
    from ._tasks import SeedState

__all__ = ["BACKENDS", "run_tasks"]

_log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

#: Back-end names; a scheduler address (``tcp://`` or ``tls://``) is also allowed.
BACKENDS = ("serial", "processes", "dask", "auto")
_SCHEMES = ("tcp://", "tls://")


def _check_backend(backend: object) -> tuple[str, str | None]:
    """Return ``(kind, address)`` for a ``backend`` value."""
    check_type(backend, str, "backend")
    assert isinstance(backend, str)  # for mypy: check_type raised otherwise
    if backend in BACKENDS:
        return backend, None
    if backend.startswith(_SCHEMES) and len(backend) > len("tcp://"):
        return "dask", backend
    close = difflib.get_close_matches(backend, BACKENDS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Invalid value for 'backend': got {short_repr(backend)}; allowed values are "
        "'serial', 'processes', 'dask', 'auto', or a Dask scheduler address "
        f"'tcp://host:port' or 'tls://host:port'.{hint}"
    )


def _check_workers(n_workers: object) -> int | None:
    if n_workers is None:
        return None
    check_type(n_workers, int, "n_workers")
    assert isinstance(n_workers, int)
    if n_workers < 1:
        raise ValueError(
            f"Invalid value for 'n_workers': got {n_workers!r}; allowed: an int >= 1, "
            "or None for one per CPU."
        )
    return n_workers


def _outcomes(
    kind: str,
    address: str | None,
    func: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    jobs: Sequence[Job],
    state: SeedState,
    n_workers: int | None,
    on_dashboard: Callable[[str], None],
) -> Iterator[Outcome]:
    workers = default_workers(n_workers, len(jobs))
    if kind == "serial":
        return run_serial(func, params, jobs, state)
    if kind == "processes":
        try:
            pickle.dumps(func)
        except Exception as err:
            raise TypeError(
                f"Invalid value for 'func': got {short_repr(func)}, which cannot be "
                f"pickled ({err}); allowed with backend='processes': a function "
                "defined at the top level of an importable module."
            ) from err
        return run_processes(func, params, jobs, state, workers)
    return run_dask(
        func,
        params,
        jobs,
        state,
        address=address,
        n_workers=workers,
        on_dashboard=on_dashboard,
    )


def _reraise(
    failure: Failure, params: Sequence[Any], n_tasks: int, kind: str
) -> NoReturn:
    error = failure.error
    error.add_note(
        f"Raised by task {failure.index} of {n_tasks} in run_tasks "
        f"(params[{failure.index}] = {short_repr(params[failure.index])}, "
        f"backend {kind!r})."
    )
    if kind != "serial":
        error.add_note(f"Worker traceback:\n{failure.traceback.rstrip()}")
    raise error


def run_tasks(
    func: Callable[[P, np.random.Generator], R],
    params: Sequence[P],
    *,
    seed: int | np.random.SeedSequence,
    backend: str = "auto",
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = False,
    task_time_s: float | None = None,
    n_workers: int | None = None,
) -> list[R]:
    """Run ``func`` on every param, seeded per task, on any back-end; same results.

    Task ``i`` calls ``func(params[i], rng)`` where ``rng`` is
    ``numpy.random.default_rng(SeedSequence(seed).spawn(len(params))[i])``, whatever
    the back-end, worker count or batch size, so a seeded run is bit-identical
    everywhere. Results come back in params order.

    **Batching.** Params are grouped into contiguous batches; a batch is one Dask
    (or process-pool) task that runs its params one after the other. Issue 18
    reports Dask's overhead at about 1.8 ms per task (1 ms tasks run at about 19 %
    efficiency, 100 ms tasks at about 97 %) and graphs of at most about 10^4 tasks:
    figures measured on this machine by the issue's author, not verified here. So,
    unless ``batch_size`` is given, the batch size is the smallest that keeps the
    run to at most 10^4 batches and, given ``task_time_s``, each batch to at least
    0.1 s of work: ``max(ceil(n / 10_000), ceil(0.1 / task_time_s))`` (10^6 params
    give 10^4 batches of 100). The seeds stay per task, so batching never changes a
    result.

    **Checkpoint.** With ``checkpoint=DIR``, each finished batch is written to
    ``DIR`` as it arrives (Parquet for flat records, pickle otherwise; see
    ``docs/batch.md``). Rerun the same call after a kill and the finished batches
    are loaded, only the missing ones run: a killed run loses at most the batches
    in flight. A checkpoint of other params, seed or function is refused.

    Parameters
    ----------
    func : callable
        ``func(param, rng) -> result``. With ``backend='processes'`` it must be
        picklable (defined at the top level of an importable module); results must
        be picklable with any back-end but ``'serial'``.
    params : sequence
        One param per task.
    seed : int | numpy.random.SeedSequence
        An int >= 0 or a ``SeedSequence`` (read, not advanced: the same object
        gives the same streams at every call).
    backend : str
        ``'serial'`` (this process), ``'processes'`` (a local spawned process
        pool), ``'dask'`` (a new Dask ``LocalCluster`` of ``n_workers`` processes
        of one thread each), ``'auto'`` (``'dask'`` when ``distributed`` is
        importable, else ``'processes'``; ``'serial'`` when at most one batch is
        left to run), or a running Dask scheduler's address
        (``'tcp://host:port'``, e.g. of a dask-jobqueue SLURM or PBS cluster).
    batch_size : int | None
        Params per batch (>= 1); ``None`` applies the batching rule, or reuses the
        checkpoint's batch size when resuming.
    checkpoint : str | os.PathLike | None
        Directory for finished batches; ``None`` for no checkpoint.
    progress : bool
        Show a progress bar (rich) and, with Dask, print the dashboard address.
    task_time_s : float | None
        Estimated time of one task, in s, for the batching rule.
    n_workers : int | None
        Processes of the local pool or ``LocalCluster`` (>= 1); ``None`` for one
        per CPU. Never more than the batches to run.

    Returns
    -------
    results : list
        ``func``'s results, in params order.

    Raises
    ------
    TypeError
        If ``func`` is not callable (or, with ``'processes'``, not picklable), or
        an argument has the wrong type.
    ValueError
        If ``backend``, ``seed``, ``batch_size``, ``task_time_s``, ``n_workers`` or
        ``checkpoint`` has a wrong value; the message names the field, the value
        and what is allowed.
    CheckpointMismatchError
        If ``checkpoint`` holds another run's checkpoint.
    Exception
        A task's own exception, re-raised with a note naming its index and param
        (and, from a worker, the worker's traceback). Batches finished before it
        are kept in the checkpoint.
    """
    if not callable(func):
        raise TypeError(
            f"Invalid type for 'func': got {type(func).__name__}; allowed: a "
            "callable func(param, rng)."
        )
    if isinstance(params, str | bytes):
        raise TypeError(
            f"Invalid type for 'params': got {type(params).__name__}; allowed: a "
            "sequence of params (a list or tuple), not a string."
        )
    items: list[Any] = list(params)
    state = seed_state(seed)
    kind, address = _check_backend(backend)
    workers = _check_workers(n_workers)
    check_type(progress, bool, "progress")
    n_tasks = len(items)
    size = plan(n_tasks, batch_size=batch_size, task_time_s=task_time_s)
    root: Path | None = None
    if checkpoint is not None:
        check_type(checkpoint, (str, os.PathLike), "checkpoint")
        root = Path(checkpoint)
        size = open_checkpoint(
            root,
            digest=fingerprint(func, items, state),
            n_tasks=n_tasks,
            func=func,
            batch_size=batch_size,
            planned_size=size,
        )
    if n_tasks == 0:
        return []
    bounds = batch_bounds(n_tasks, size)
    done = load_batches(root, bounds) if root is not None else {}
    jobs = [(i, a, b) for i, (a, b) in enumerate(bounds) if i not in done]
    if kind == "auto":
        dask_ok = importlib.util.find_spec("distributed") is not None
        kind = "serial" if len(jobs) <= 1 else "dask" if dask_ok else "processes"
    _log.info(
        "run_tasks: %d params in %d batches of %d (%d from the checkpoint), backend %r",
        n_tasks,
        len(bounds),
        size,
        len(done),
        address or kind,
    )
    results: list[Any] = [None] * n_tasks
    for index, batch in done.items():
        start, stop = bounds[index]
        results[start:stop] = batch
    if jobs:
        _run_jobs(
            kind,
            address,
            func,
            items,
            jobs,
            state,
            workers,
            root,
            results,
            progress,
            n_done=sum(len(b) for b in done.values()),
        )
    return results


def _run_jobs(
    kind: str,
    address: str | None,
    func: Callable[[Any, np.random.Generator], Any],
    items: list[Any],
    jobs: list[Job],
    state: SeedState,
    workers: int | None,
    root: Path | None,
    results: list[Any],
    progress: bool,
    *,
    n_done: int,
) -> None:
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)

    def on_dashboard(link: str) -> None:
        _log.info("Dask dashboard: %s", link)
        if progress:
            console.print(f"Dask dashboard: {link}")

    by_index = {index: (start, stop) for index, start, stop in jobs}
    with Progress(console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task("tasks", total=len(items), completed=n_done)
        outcomes = _outcomes(
            kind, address, func, items, jobs, state, workers, on_dashboard
        )
        try:
            for index, outcome in outcomes:
                if isinstance(outcome, Failure):
                    _reraise(outcome, items, len(items), kind)
                start, stop = by_index[index]
                results[start:stop] = outcome
                if root is not None:
                    write_batch(root, index, outcome)
                bar.advance(task, stop - start)
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()
