"""Population sweeps on :func:`plptms.batch.run_tasks`: dosing and method benchmarks.

- :func:`dosing_sweep`: the field at the target and the best coil placement over a
  grid of head sizes x scalp-to-cortex distances x targets (plptms.efield's own
  spherical model and placement search), one task per grid point.
- :func:`threshold_method_benchmark`: every simulated subject hunted by every
  threshold method (plptms.motor's own subjects and hunts), one task per subject,
  summarised per method with Monte Carlo SEs.

Both return flat records, so their checkpoints are Parquet tables. See
``docs/sweeps.md``.
"""

from ._dosing import (
    DOSING_TASK_TIME_S,
    DosingGrid,
    DosingPoint,
    SweepTarget,
    dosing_sweep,
    evaluate_dosing_point,
)
from ._summary import MethodSummary, summarise_threshold_records
from ._thresholds import (
    DEFAULT_METHODS,
    HUNT_TIME_S,
    START_FACTOR_RANGE,
    HuntSpec,
    ThresholdBenchmark,
    ThresholdBenchmarkConfig,
    hunt_subject,
    threshold_method_benchmark,
)

__all__ = [
    "DEFAULT_METHODS",
    "DOSING_TASK_TIME_S",
    "HUNT_TIME_S",
    "START_FACTOR_RANGE",
    "DosingGrid",
    "DosingPoint",
    "HuntSpec",
    "MethodSummary",
    "SweepTarget",
    "ThresholdBenchmark",
    "ThresholdBenchmarkConfig",
    "dosing_sweep",
    "evaluate_dosing_point",
    "hunt_subject",
    "summarise_threshold_records",
    "threshold_method_benchmark",
]
