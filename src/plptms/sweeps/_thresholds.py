"""Threshold-method benchmark: every method hunts every simulated subject.

Each simulated subject is one task of :func:`plptms.batch.run_tasks`. The task
draws, from its own random stream and in this order:

1. the subject, with plptms.motor's own sampler
   (:func:`~plptms.motor.sample_subject_parameters`: threshold and relative spread
   of the MEP probability function, as plptms.motor parametrises the population);
2. the start intensity, ``min(100, round(T x U(1.1, 1.3)))`` % MSO for the true
   threshold ``T``: a suprathreshold intensity standing in for the hotspot-search
   intensity, the convention of ``benchmarks/bench_threshold.py`` (a design
   choice, not a literature value);
3. one seed for the pulse-to-pulse noise.

Then each method hunts a fresh :class:`~plptms.motor.SimulatedSubject` with those
parameters and that noise seed, through plptms.motor's own hunts
(:func:`~plptms.motor.hunt_relative_frequency`, :func:`~plptms.motor.hunt_ml_pest`,
:func:`~plptms.motor.hunt_psi`). Every method thus meets the same subject, the same
start and the same noise stream (common random numbers), and a method's results do
not depend on which other methods run beside it.

A task returns one flat record (Parquet checkpoints): the subject's
``true_threshold_pct_mso``, ``relative_spread``, ``start_pct_mso`` and, per
method key ``k``, ``k.estimate_pct_mso`` (None when there is none),
``k.pulses_used``, ``k.converged`` and ``k.stop_reason``.
"""

from __future__ import annotations

import inspect
import keyword
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..batch import run_tasks
from ..motor import (
    SimulatedSubject,
    ThresholdMethod,
    hunt_ml_pest,
    hunt_psi,
    hunt_relative_frequency,
    sample_subject_parameters,
)
from ..utils import check_option, check_range, check_type
from ._summary import MethodSummary, summarise_threshold_records

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

    from ..motor import ThresholdResult

__all__ = [
    "DEFAULT_METHODS",
    "HUNT_TIME_S",
    "START_FACTOR_RANGE",
    "HuntSpec",
    "ThresholdBenchmark",
    "ThresholdBenchmarkConfig",
    "hunt_subject",
    "threshold_method_benchmark",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Start intensity = true threshold x U(low, high), rounded, capped at 100 % MSO:
#: the convention of ``benchmarks/bench_threshold.py`` (a design choice).
START_FACTOR_RANGE: tuple[float, float] = (1.1, 1.3)

#: Wall time of one single-subject hunt per method, s, measured on the development
#: machine with the defaults (relative frequency about 5 ms, ML-PEST and Psi about
#: 15 ms); for the batching rule.
HUNT_TIME_S: dict[ThresholdMethod, float] = {
    ThresholdMethod.RELATIVE_FREQUENCY: 0.005,
    ThresholdMethod.ML_PEST: 0.015,
    ThresholdMethod.PSI: 0.016,
}

_HUNTS: dict[ThresholdMethod, Callable[..., ThresholdResult]] = {
    ThresholdMethod.RELATIVE_FREQUENCY: hunt_relative_frequency,
    ThresholdMethod.ML_PEST: hunt_ml_pest,
    ThresholdMethod.PSI: hunt_psi,
}

Record = dict[str, bool | int | float | str | None]
OptionValue = bool | int | float | str


class _ValidOptions(Exception):
    """Raised by :class:`_NoPulse` at the first pulse: the options passed."""


class _NoPulse:
    """A responder that stops a hunt at its first pulse."""

    def stimulate(self, intensity_pct_mso: float) -> float:
        raise _ValidOptions


class HuntSpec(BaseModel):
    """One method, with its options, in a benchmark.

    Parameters
    ----------
    key : str
        Column prefix in the records: a Python identifier, unique in a benchmark.
    method : ThresholdMethod
        ``"relative_frequency"``, ``"ml_pest"`` or ``"psi"``.
    options : dict of str to bool | int | float | str
        Keyword arguments of the hunt (e.g. ``{"step_pct_mso": 2.0}`` for
        :func:`~plptms.motor.hunt_relative_frequency`, ``{"stop_rule": "ci"}`` for
        :func:`~plptms.motor.hunt_ml_pest`), other than the responder and the
        start intensity.
    """

    model_config = _FROZEN

    key: str
    method: ThresholdMethod
    options: dict[str, OptionValue] = {}

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.key.isidentifier() or keyword.iskeyword(self.key):
            raise ValueError(
                f"Invalid value for 'key': got {self.key!r}; allowed: a Python "
                "identifier (letters, digits, underscores)."
            )
        hunt = _HUNTS[self.method]
        allowed = sorted(
            p
            for p in inspect.signature(hunt).parameters
            if p not in ("responder", "start_intensity_pct_mso")
        )
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise ValueError(
                f"Invalid value for 'options': got {unknown} for method "
                f"{self.method.value!r}; allowed keys are {', '.join(allowed)}."
            )
        if not self.options:  # the defaults are valid (and importing stays light)
            return self
        # the hunt checks its options before the first pulse: fail here, not in a
        # worker
        try:
            hunt(_NoPulse(), start_intensity_pct_mso=50.0, **self.options)
        except _ValidOptions:
            pass
        return self

    @classmethod
    def of(cls, method: ThresholdMethod | str) -> HuntSpec:
        """Spec of a method with its defaults, keyed by the method's name.

        Parameters
        ----------
        method : ThresholdMethod | str
            The method.

        Returns
        -------
        spec : HuntSpec
            ``HuntSpec(key=method, method=method)``.
        """
        m = ThresholdMethod(method)
        return cls(key=m.value, method=m)


#: The three methods with their defaults.
DEFAULT_METHODS: tuple[HuntSpec, ...] = tuple(HuntSpec.of(m) for m in ThresholdMethod)


class ThresholdBenchmarkConfig(BaseModel):
    """What every task of a benchmark runs (part of a checkpoint's fingerprint).

    Parameters
    ----------
    methods : tuple of HuntSpec
        The methods (at least one; keys unique).
    rmt_mean_pct_mso, rmt_sd_pct_mso, relative_spread_median : float | None
        Population settings passed to
        :func:`~plptms.motor.sample_subject_parameters`; ``None`` keeps
        plptms.motor's default.
    """

    model_config = _FROZEN

    methods: tuple[HuntSpec, ...] = DEFAULT_METHODS
    rmt_mean_pct_mso: float | None = None
    rmt_sd_pct_mso: float | None = None
    relative_spread_median: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.methods:
            raise ValueError(
                "Invalid value for 'methods': got an empty tuple; allowed: at least "
                "one HuntSpec."
            )
        keys = [s.key for s in self.methods]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(
                f"Invalid value for 'methods': got the key(s) {dup} more than once; "
                "allowed: unique keys."
            )
        # the sampler validates the population settings: fail here, not in a worker
        sample_subject_parameters(np.random.default_rng(0), **self.population())
        return self

    def population(self) -> dict[str, float]:
        """Return the population settings that differ from plptms.motor's defaults.

        Returns
        -------
        settings : dict of str to float
            Keyword arguments for :func:`~plptms.motor.sample_subject_parameters`.
        """
        names = ("rmt_mean_pct_mso", "rmt_sd_pct_mso", "relative_spread_median")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def hunt_subject(config: ThresholdBenchmarkConfig, rng: np.random.Generator) -> Record:
    """Draw one simulated subject and hunt its threshold with every method.

    Parameters
    ----------
    config : ThresholdBenchmarkConfig
        Methods and population.
    rng : numpy.random.Generator
        The subject's random stream (see the module notes for the draws).

    Returns
    -------
    record : dict
        One flat record (see the module notes).
    """
    params = sample_subject_parameters(rng, **config.population())
    truth = params.threshold_pct_mso
    low, high = START_FACTOR_RANGE
    start = float(min(100.0, round(truth * float(rng.uniform(low, high)))))
    noise_seed = int(rng.integers(0, 2**63))
    record: Record = {
        "true_threshold_pct_mso": truth,
        "relative_spread": params.relative_spread,
        "start_pct_mso": start,
    }
    for spec in config.methods:
        subject = SimulatedSubject(params, seed=noise_seed)
        res = _HUNTS[spec.method](
            subject, start_intensity_pct_mso=start, **spec.options
        )
        record[f"{spec.key}.estimate_pct_mso"] = res.estimate_pct_mso
        record[f"{spec.key}.pulses_used"] = res.pulses_used
        record[f"{spec.key}.converged"] = res.converged
        record[f"{spec.key}.stop_reason"] = res.stop_reason.value
    return record


@dataclass(frozen=True)
class ThresholdBenchmark:
    """Outcome of a threshold-method benchmark.

    Attributes
    ----------
    config : ThresholdBenchmarkConfig
        What was run.
    n_subjects : int
        Simulated subjects.
    seed : int | None
        The run's seed (``None`` when it was a ``SeedSequence``).
    records : list of dict
        One flat record per subject (see :func:`hunt_subject`).
    summaries : tuple of MethodSummary
        One per method, in ``config.methods`` order.
    """

    config: ThresholdBenchmarkConfig
    n_subjects: int
    seed: int | None
    records: list[Record]
    summaries: tuple[MethodSummary, ...]


def _method_specs(
    methods: Sequence[HuntSpec | ThresholdMethod | str],
) -> tuple[HuntSpec, ...]:
    specs: list[HuntSpec] = []
    for k, m in enumerate(methods):
        check_type(m, (HuntSpec, str), f"methods[{k}]")
        if isinstance(m, HuntSpec):
            specs.append(m)
        else:
            check_option(str(m), "methods", [t.value for t in ThresholdMethod])
            specs.append(HuntSpec.of(m))
    return tuple(specs)


def threshold_method_benchmark(
    n_subjects: int,
    methods: Sequence[HuntSpec | ThresholdMethod | str] = DEFAULT_METHODS,
    *,
    seed: int | np.random.SeedSequence,
    backend: str = "auto",
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = False,
    n_workers: int | None = None,
    rmt_mean_pct_mso: float | None = None,
    rmt_sd_pct_mso: float | None = None,
    relative_spread_median: float | None = None,
) -> ThresholdBenchmark:
    """Hunt every simulated subject with every method; summarise per method.

    Subject ``i`` is task ``i`` of :func:`plptms.batch.run_tasks` (see
    :func:`hunt_subject`), so a seeded benchmark is bit-identical on any back-end,
    worker count or batch size. Per method the summary gives the bias and RMSE of
    the estimate against the true threshold (over converged hunts), the pulses
    used and the convergence rate, each with its Monte Carlo SE
    (:func:`~plptms.sweeps.summarise_threshold_records`).

    Parameters
    ----------
    n_subjects : int
        Simulated subjects, in [1, 10000000].
    methods : sequence of HuntSpec | ThresholdMethod | str
        Methods (a name runs the method with its defaults, keyed by its name).
    seed : int | numpy.random.SeedSequence
        Seed of the run (see :func:`plptms.batch.run_tasks`).
    backend : str
        ``"serial"``, ``"processes"``, ``"dask"``, ``"auto"`` or a Dask scheduler
        address.
    batch_size : int | None
        Subjects per batch; ``None`` applies the batching rule with the measured
        hunt times (:data:`HUNT_TIME_S`).
    checkpoint : str | os.PathLike | None
        Directory for finished batches (Parquet), to resume a killed run.
    progress : bool
        Show a progress bar.
    n_workers : int | None
        Local worker processes; ``None`` for one per CPU.
    rmt_mean_pct_mso, rmt_sd_pct_mso, relative_spread_median : float | None
        Population settings (see :class:`ThresholdBenchmarkConfig`).

    Returns
    -------
    benchmark : ThresholdBenchmark
        Records and per-method summaries.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If a method, option or setting has a wrong value.
    """
    check_type(n_subjects, int, "n_subjects")
    check_range(n_subjects, "n_subjects", 1, 10_000_000)
    config = ThresholdBenchmarkConfig(
        methods=_method_specs(methods),
        rmt_mean_pct_mso=rmt_mean_pct_mso,
        rmt_sd_pct_mso=rmt_sd_pct_mso,
        relative_spread_median=relative_spread_median,
    )
    task_time = sum(HUNT_TIME_S[s.method] for s in config.methods)
    records = run_tasks(
        hunt_subject,
        [config] * n_subjects,
        seed=seed,
        backend=backend,
        batch_size=batch_size,
        checkpoint=checkpoint,
        progress=progress,
        task_time_s=task_time,
        n_workers=n_workers,
    )
    summaries = summarise_threshold_records(records, [s.key for s in config.methods])
    return ThresholdBenchmark(
        config=config,
        n_subjects=n_subjects,
        seed=seed if isinstance(seed, int) else None,
        records=records,
        summaries=summaries,
    )
