"""How many tasks go into one batch (one Dask task): the batching rule.

The figures behind the rule come from issue 18, measured on this machine by the
issue's author, **not verified here** until our own benchmark (``make bench``,
``docs/benchmarks.md``) measures them:

- Dask's scheduling overhead is about 1.8 ms per task, so a 1 ms task runs at about
  19 % efficiency and a 100 ms task at about 97 %;
- hence a Dask task should do at least about 100 ms of work, and one graph should
  hold at most about 10^4 tasks (the scheduler's own cost grows with the graph).

A batch is a contiguous run of params executed one after the other by one worker,
each param with its own random stream (see :func:`plptms.batch.run_tasks`), so the
batch size changes the wall time only, never a result.
"""

from __future__ import annotations

import math
from typing import Final

from ..utils import check_type, short_repr

__all__ = ["DASK_OVERHEAD_S", "MAX_BATCHES", "MIN_BATCH_S", "batch_bounds", "plan"]

#: Dask's overhead per task, about 1.8 ms (issue 18: measured on this machine by the
#: issue's author, not verified here).
DASK_OVERHEAD_S: Final[float] = 1.8e-3

#: Shortest worthwhile batch, about 100 ms of work (97 % efficiency at 1.8 ms
#: overhead; issue 18, measured by the issue's author, not verified here).
MIN_BATCH_S: Final[float] = 0.1

#: Most batches (Dask tasks) in one run, about 10^4 (issue 18, measured by the
#: issue's author, not verified here).
MAX_BATCHES: Final[int] = 10_000


def plan(
    n_tasks: int, *, batch_size: int | None = None, task_time_s: float | None = None
) -> int:
    """Choose the number of params per batch.

    The rule: ``batch_size`` when given; otherwise the smallest size that keeps the
    batch count at most ``MAX_BATCHES`` (10^4) and, when ``task_time_s`` is given,
    makes each batch at least ``MIN_BATCH_S`` (0.1 s) of work::

        size = max(ceil(n_tasks / 10_000), ceil(0.1 s / task_time_s), 1)

    capped at ``n_tasks``. For example 10^6 params give batches of 100 (10^4
    batches); 1000 params of about 1 ms give batches of 100 (10 batches); 1000
    params of 1 s give batches of 1.

    Parameters
    ----------
    n_tasks : int
        Number of params (>= 0).
    batch_size : int | None
        Params per batch, >= 1; ``None`` applies the rule.
    task_time_s : float | None
        Estimated time of one task, in s (> 0); ``None`` when unknown.

    Returns
    -------
    size : int
        Params per batch (>= 1).

    Raises
    ------
    TypeError
        If ``batch_size`` is not an int or ``task_time_s`` not a number.
    ValueError
        If ``batch_size`` < 1 or ``task_time_s`` is not a finite positive number.
    """
    if batch_size is not None:
        check_type(batch_size, int, "batch_size")
        if batch_size < 1:
            raise ValueError(
                f"Invalid value for 'batch_size': got {short_repr(batch_size)}; "
                "allowed: an int >= 1, or None for the batching rule."
            )
        return batch_size
    size = max(1, math.ceil(n_tasks / MAX_BATCHES))
    if task_time_s is not None:
        check_type(task_time_s, (int, float), "task_time_s")
        if not (math.isfinite(task_time_s) and task_time_s > 0):
            raise ValueError(
                f"Invalid value for 'task_time_s': got {short_repr(task_time_s)}; "
                "allowed range is (0, inf) s, or None when unknown."
            )
        ratio = min(MIN_BATCH_S / task_time_s, float(max(n_tasks, 1)))
        # round first: 0.1 / 0.001 must give 100, not 101 from a last-bit error
        size = max(size, math.ceil(round(ratio, 9)))
    return max(1, min(size, n_tasks))


def batch_bounds(n_tasks: int, size: int) -> list[tuple[int, int]]:
    """Split ``range(n_tasks)`` into contiguous ``[start, stop)`` batches.

    Parameters
    ----------
    n_tasks : int
        Number of params.
    size : int
        Params per batch (the last batch may be shorter).

    Returns
    -------
    bounds : list of tuple of int
        ``(start, stop)`` of each batch, in params order.
    """
    return [(start, min(start + size, n_tasks)) for start in range(0, n_tasks, size)]
