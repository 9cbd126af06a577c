"""Run many independent, seeded tasks: serially, on local processes or on Dask.

One seam for every batch workload (virtual trials, dosing sweeps, method
benchmarks): :func:`run_tasks` gives task ``i`` the random stream of
``SeedSequence(seed).spawn(n)[i]``, so a seeded run is bit-identical on any
back-end, worker count or batch size. See ``docs/batch.md``.
"""

from ._checkpoint import CheckpointMismatchError
from ._plan import DASK_OVERHEAD_S, MAX_BATCHES, MIN_BATCH_S, batch_bounds, plan
from ._run import BACKENDS, run_tasks

__all__ = [
    "BACKENDS",
    "DASK_OVERHEAD_S",
    "MAX_BATCHES",
    "MIN_BATCH_S",
    "CheckpointMismatchError",
    "batch_bounds",
    "plan",
    "run_tasks",
]
