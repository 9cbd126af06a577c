"""Resting-motor-threshold hunting against a :class:`~plptms.motor.Responder`.

Three methods, each a batch state machine that runs one subject (against a
``Responder``) or many in lockstep (against a ``PopulationResponder``) with the
same code:

``relative_frequency``
    Rossini-Rothwell :footcite:`rossini1994,rossini2015`: the RMT is the lowest
    intensity giving MEPs of at least 50 uV in at least 5 of 10 trials. Start
    suprathreshold and step down (1 % MSO by default) block by block; the RMT is
    the last intensity whose block succeeded, once the block one step below has
    failed. If the very first block fails the hunt steps *up* until a block
    succeeds. Early stop (default on, as in the IFCN simulation of
    :footcite:`wang2023`): a block ends as soon as it has 5 positives (success)
    or 6 negatives (failure). Both outcomes are then certain, so early stopping
    changes the number of pulses, never the estimate.
``ml_pest``
    Adaptive maximum-likelihood threshold hunting of :footcite:`awiszus2003`, the
    method of MTAT 2.0 :footcite:`awiszus2011`. The probability of an MEP is
    ``Phi((x - t) / (0.07 t))``: only the threshold ``t`` is unknown, the spread is
    fixed at 7 % of it. The likelihood is evaluated explicitly on a 0.2 % MSO grid
    up to 130 % MSO, seeded with two pseudo-observations (no MEP at 0 % MSO, an MEP
    at 130.2 % MSO) as in the implementation of :footcite:`wang2023`; the estimate
    is the mean of the grid points of maximal likelihood, and the next pulse is
    given at that estimate (rounded to the stimulator's 1 % MSO resolution). The
    hunt stops after a fixed number of pulses (20 by default), or optionally once
    the 95 % likelihood-ratio confidence interval is narrow enough.
``psi``
    The Bayesian adaptive Psi method of :footcite:`kontsevich1999`: a posterior on
    a grid of (threshold, relative spread), each pulse at the candidate intensity
    that minimises the expected posterior entropy, the estimate the posterior mean
    of the threshold. It stops when the posterior SD of the threshold reaches a
    target, a precision-based rule as proposed for TMS by :footcite:`qi2011`.

A hunt that cannot produce an RMT says so: ``converged=False`` with a
:class:`StopReason` (pulse budget exhausted, the next step would exceed 100 % MSO,
no MEP even at 100 % MSO, estimate above 100 % MSO). Use
:meth:`ThresholdResult.rmt_or_raise` to record an RMT; it raises
:class:`ThresholdNotFoundError` for a failed hunt.

.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import check_option, check_range, check_type
from . import _constants as C

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike, NDArray

    from ._responder import PopulationResponder, Responder

__all__ = [
    "PopulationHunt",
    "StopReason",
    "ThresholdMethod",
    "ThresholdNotFoundError",
    "ThresholdResult",
    "TracePoint",
    "hunt_ml_pest",
    "hunt_population",
    "hunt_psi",
    "hunt_relative_frequency",
    "hunt_threshold",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: 95 % quantile of the chi-square distribution with one degree of freedom.
_CHI2_1_95 = 3.841458820694124
#: Log-likelihood given to an impossible observation (as in Wang et al., 2023).
_LOG_ZERO = -1e5
#: Rounding of intensities, % MSO, to keep step arithmetic exact.
_DECIMALS = 6
_NUMBER = (int, float, np.integer, np.floating)


class ThresholdNotFoundError(ValueError):
    """A threshold hunt did not converge: its estimate is not an RMT."""


class ThresholdMethod(StrEnum):
    """Threshold-hunting method."""

    RELATIVE_FREQUENCY = "relative_frequency"
    ML_PEST = "ml_pest"
    PSI = "psi"


class StopReason(StrEnum):
    """Why a hunt stopped."""

    CRITERION_MET = "criterion_met"
    FIXED_PULSES_COMPLETED = "fixed_pulses_completed"
    PRECISION_REACHED = "precision_reached"
    PULSE_BUDGET_EXHAUSTED = "pulse_budget_exhausted"
    MAX_OUTPUT_REACHED = "max_output_reached"
    NO_MEP_AT_MAX_OUTPUT = "no_mep_at_max_output"
    ESTIMATE_ABOVE_MAX_OUTPUT = "estimate_above_max_output"
    MIN_OUTPUT_REACHED = "min_output_reached"


_REASONS: tuple[StopReason, ...] = tuple(StopReason)
_CODE = {r: k for k, r in enumerate(_REASONS)}
_CONVERGED_REASONS = frozenset(
    {
        StopReason.CRITERION_MET,
        StopReason.FIXED_PULSES_COMPLETED,
        StopReason.PRECISION_REACHED,
    }
)

_DETAIL: dict[StopReason, str] = {
    StopReason.CRITERION_MET: (
        "5 of 10 reached at the estimate and missed one step below"
    ),
    StopReason.FIXED_PULSES_COMPLETED: "the fixed number of pulses was given",
    StopReason.PRECISION_REACHED: "the estimate reached the target precision",
    StopReason.PULSE_BUDGET_EXHAUSTED: (
        "the pulse budget was used up before the stopping rule was met"
    ),
    StopReason.MAX_OUTPUT_REACHED: (
        "no 5-of-10 block succeeded up to 100 % MSO; the next step would exceed "
        "the stimulator's maximum output"
    ),
    StopReason.NO_MEP_AT_MAX_OUTPUT: (
        "no MEP in consecutive pulses at 100 % MSO: the threshold lies above the "
        "stimulator's maximum output"
    ),
    StopReason.ESTIMATE_ABOVE_MAX_OUTPUT: (
        "the threshold estimate lies above 100 % MSO, out of the stimulator's range"
    ),
    StopReason.MIN_OUTPUT_REACHED: (
        "MEPs were still present at the lowest intensity; no subthreshold block"
    ),
}

_CITATION: dict[ThresholdMethod, str] = {
    ThresholdMethod.RELATIVE_FREQUENCY: (
        "Rossini et al. 1994; Rossini et al. 2015 (IFCN): lowest intensity with "
        "MEPs >= 50 uV in at least 5 of 10 trials"
    ),
    ThresholdMethod.ML_PEST: (
        "Awiszus 2003 (ML-PEST threshold hunting, spread 0.07 x threshold); MTAT "
        "2.0 (Awiszus & Borckardt 2011); grid and pseudo-observations as in Wang "
        "et al. 2023"
    ),
    ThresholdMethod.PSI: (
        "Kontsevich & Tyler 1999 (Psi method); precision-based stopping after Qi "
        "et al. 2011"
    ),
}


class TracePoint(BaseModel):
    """One pulse of a hunt.

    Parameters
    ----------
    intensity_pct_mso : float
        Stimulator output, % MSO, in [0, 100].
    amplitude_uv : float
        Peak-to-peak MEP amplitude, uV.
    mep_present : bool
        Whether the amplitude reached the MEP criterion.
    """

    model_config = _FROZEN

    intensity_pct_mso: float
    amplitude_uv: float
    mep_present: bool

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_range(
            self.intensity_pct_mso,
            "intensity_pct_mso",
            0.0,
            C.MAX_PCT_MSO,
            unit="% MSO",
        )
        check_range(self.amplitude_uv, "amplitude_uv", 0.0, None, unit="uV")
        return self


class ThresholdResult(BaseModel):
    """Outcome of one threshold hunt.

    Parameters
    ----------
    method : ThresholdMethod
        The method used.
    estimate_pct_mso : float | None
        Threshold estimate, % MSO, in [0, 100]; ``None`` when the hunt could not
        produce one. Present but unconverged estimates are provisional only.
    pulses_used : int
        Pulses delivered; equals ``len(trace)``.
    converged : bool
        Whether the method's stopping rule was met with an estimate in range.
    trace : tuple of TracePoint
        Every pulse, in order.
    stop_reason : StopReason
        Why the hunt stopped.
    detail : str
        The stop reason in words.
    citation : str
        Source of the method.
    mep_threshold_uv : float
        MEP criterion used, uV.
    ci95_pct_mso : tuple of float | None
        95 % interval of the threshold (likelihood-ratio interval for ML-PEST,
        posterior mean +/- 1.96 SD for Psi), % MSO; it may extend above 100 %
        MSO. ``None`` for relative frequency.
    """

    model_config = _FROZEN

    method: ThresholdMethod
    estimate_pct_mso: float | None
    pulses_used: int
    converged: bool
    trace: tuple[TracePoint, ...]
    stop_reason: StopReason
    detail: str
    citation: str
    mep_threshold_uv: float = C.MEP_PRESENT_UV
    ci95_pct_mso: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.estimate_pct_mso is not None:
            check_range(
                self.estimate_pct_mso,
                "estimate_pct_mso",
                0.0,
                C.MAX_PCT_MSO,
                unit="% MSO",
            )
        if self.pulses_used != len(self.trace):
            raise ValueError(
                f"Invalid value for 'pulses_used': got {self.pulses_used}; allowed: "
                f"the number of trace points ({len(self.trace)})."
            )
        if self.converged and self.estimate_pct_mso is None:
            raise ValueError(
                "Invalid value for 'estimate_pct_mso': got None; allowed: a value "
                "in [0, 100] % MSO when converged is True."
            )
        if self.converged and self.stop_reason not in _CONVERGED_REASONS:
            raise ValueError(
                f"Invalid value for 'stop_reason': got {self.stop_reason.value!r}; "
                "allowed values when converged is True are "
                + ", ".join(repr(r.value) for r in sorted(_CONVERGED_REASONS))
                + "."
            )
        return self

    def rmt_or_raise(self) -> float:
        """Return the RMT estimate, refusing a hunt that did not converge.

        Returns
        -------
        rmt_pct_mso : float
            The resting motor threshold, % MSO.

        Raises
        ------
        ThresholdNotFoundError
            If the hunt did not converge; a failed hunt is never an RMT.
        """
        if not self.converged or self.estimate_pct_mso is None:
            raise ThresholdNotFoundError(
                f"Threshold hunt ({self.method.value}) did not converge after "
                f"{self.pulses_used} pulses: {self.stop_reason.value} ({self.detail}); "
                "no RMT can be recorded."
            )
        return self.estimate_pct_mso


@dataclass(frozen=True)
class PopulationHunt:
    """Outcome of one method run on many simulated subjects in lockstep.

    Parameters
    ----------
    method : ThresholdMethod
        The method.
    estimate_pct_mso : ndarray of float, shape (n,)
        Estimates, % MSO; NaN where there is none.
    pulses_used : ndarray of int, shape (n,)
        Pulses per subject.
    converged : ndarray of bool, shape (n,)
        Whether each hunt converged.
    stop_reasons : tuple of StopReason
        Why each hunt stopped.
    """

    method: ThresholdMethod
    estimate_pct_mso: NDArray[np.float64]
    pulses_used: NDArray[np.int64]
    converged: NDArray[np.bool_]
    stop_reasons: tuple[StopReason, ...]


# ---------------------------------------------------------------------------
# Numerical helpers (scipy imported on first use).
# ---------------------------------------------------------------------------


def _ndtr(z: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import ndtr  # type: ignore[import-untyped]

    return np.asarray(ndtr(z), dtype=np.float64)


def _log_terms(
    p: NDArray[np.float64], present: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Return log P(observation), impossible observations set to ``_LOG_ZERO``.

    ``log(p)`` and ``log(1 - p)`` in double precision, as MATLAB's
    ``log(normcdf(...))`` in the reference implementation: probabilities that
    round to 1 give exactly 0, so flat maxima are exact ties.
    """
    q = np.where(present[:, None], p, 1.0 - p)
    with np.errstate(divide="ignore"):
        out = np.log(q)
    return np.asarray(np.where(q > 0.0, out, _LOG_ZERO), dtype=np.float64)


def _binary_entropy(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-12, 1.0 - 1e-12)
    return np.asarray(-(q * np.log(q) + (1.0 - q) * np.log1p(-q)), dtype=np.float64)


# ---------------------------------------------------------------------------
# Batch engines: one state machine per method, vectorised over subjects.
# ---------------------------------------------------------------------------


class _Engine:
    """Common bookkeeping of a batch of hunts."""

    method: ThresholdMethod

    def __init__(self, n: int) -> None:
        self.n = n
        self.active = np.ones(n, dtype=bool)
        self.pulses = np.zeros(n, dtype=np.int64)
        self.estimate = np.full(n, np.nan)
        self.converged = np.zeros(n, dtype=bool)
        self.reason = np.full(n, -1, dtype=np.int64)
        self.ci_low = np.full(n, np.nan)
        self.ci_high = np.full(n, np.nan)

    def _stop(
        self,
        idx: NDArray[np.intp],
        reason: StopReason,
        estimate: NDArray[np.float64] | float,
    ) -> None:
        if idx.size == 0:
            return
        self.active[idx] = False
        self.reason[idx] = _CODE[reason]
        est = np.broadcast_to(np.asarray(estimate, dtype=np.float64), idx.shape)
        in_range = (est >= 0.0) & (est <= C.MAX_PCT_MSO)
        self.estimate[idx] = np.where(in_range, est, np.nan)
        self.converged[idx] = (reason in _CONVERGED_REASONS) & in_range

    def propose(self, idx: NDArray[np.intp]) -> NDArray[np.float64]:
        raise NotImplementedError

    def observe(
        self,
        idx: NDArray[np.intp],
        x: NDArray[np.float64],
        present: NDArray[np.bool_],
    ) -> None:
        raise NotImplementedError


class _RelativeFrequency(_Engine):
    method = ThresholdMethod.RELATIVE_FREQUENCY

    def __init__(
        self,
        n: int,
        start: NDArray[np.float64],
        *,
        step_pct_mso: float,
        max_pulses: int,
        early_stop: bool,
    ) -> None:
        super().__init__(n)
        self.step = step_pct_mso
        self.max_pulses = max_pulses
        self.early_stop = early_stop
        self.intensity = start.astype(np.float64).copy()
        self.block_n = np.zeros(n, dtype=np.int64)
        self.block_pos = np.zeros(n, dtype=np.int64)
        self.ascending = np.zeros(n, dtype=bool)
        self.last_success = np.full(n, np.nan)

    def propose(self, idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.asarray(self.intensity[idx], dtype=np.float64)

    def observe(
        self,
        idx: NDArray[np.intp],
        x: NDArray[np.float64],
        present: NDArray[np.bool_],
    ) -> None:
        self.pulses[idx] += 1
        self.block_n[idx] += 1
        self.block_pos[idx] += present.astype(np.int64)
        n_blk = self.block_n[idx]
        pos = self.block_pos[idx]
        need = C.RF_POSITIVES_REQUIRED
        if self.early_stop:
            success = pos >= need
            failure = (n_blk - pos) > C.RF_TRIALS_PER_BLOCK - need
        else:
            full = n_blk >= C.RF_TRIALS_PER_BLOCK
            success = full & (pos >= need)
            failure = full & (pos < need)
        asc = self.ascending[idx]
        had = ~np.isnan(self.last_success[idx])
        cur = self.intensity[idx]

        # Success while ascending: the block below failed, this one is the RMT.
        done = idx[success & asc]
        self._stop(done, StopReason.CRITERION_MET, self.intensity[done])

        # Success while descending: remember it and step down.
        down = success & ~asc
        self.last_success[idx[down]] = cur[down]
        nxt = np.round(cur - self.step, _DECIMALS)
        floor = down & (nxt <= 0.0)
        self._stop(idx[floor], StopReason.MIN_OUTPUT_REACHED, cur[floor])
        go_down = down & ~floor
        self.intensity[idx[go_down]] = nxt[go_down]

        # Failure after a success: the last success is the RMT.
        fail_done = failure & had
        done = idx[fail_done]
        self._stop(done, StopReason.CRITERION_MET, self.last_success[done])

        # Failure with no success yet: step up, never beyond 100 % MSO.
        up = failure & ~had
        at_max = up & (cur >= C.MAX_PCT_MSO - 1e-9)
        self._stop(idx[at_max], StopReason.MAX_OUTPUT_REACHED, np.nan)
        go_up = up & ~at_max
        self.ascending[idx[go_up]] = True
        self.intensity[idx[go_up]] = np.minimum(
            np.round(cur[go_up] + self.step, _DECIMALS), C.MAX_PCT_MSO
        )

        changed = idx[success | failure]
        self.block_n[changed] = 0
        self.block_pos[changed] = 0

        over = idx[self.active[idx] & (self.pulses[idx] >= self.max_pulses)]
        self._stop(over, StopReason.PULSE_BUDGET_EXHAUSTED, np.nan)


def _round_to(x: NDArray[np.float64], resolution: float) -> NDArray[np.float64]:
    r = np.round(np.round(x / resolution) * resolution, _DECIMALS)
    return np.asarray(np.clip(r, resolution, C.MAX_PCT_MSO), dtype=np.float64)


class _MlPest(_Engine):
    method = ThresholdMethod.ML_PEST

    def __init__(
        self,
        n: int,
        start: NDArray[np.float64],
        *,
        max_pulses: int,
        stop_rule: str,
        ci_width_pct_mso: float,
        min_pulses: int,
        relative_spread: float,
        resolution_pct_mso: float,
        max_no_mep_at_max_output: int,
    ) -> None:
        super().__init__(n)
        step = C.MLPEST_GRID_STEP_PCT_MSO
        n_grid = round(C.MLPEST_GRID_MAX_PCT_MSO / step)
        self.grid = np.round(np.arange(1, n_grid + 1) * step, _DECIMALS)
        self.spread = relative_spread
        self.max_pulses = max_pulses
        self.stop_rule = stop_rule
        self.ci_width = ci_width_pct_mso
        self.min_pulses = min_pulses
        self.resolution = resolution_pct_mso
        self.max_no_mep = max_no_mep_at_max_output
        self.no_mep_at_max = np.zeros(n, dtype=np.int64)
        self.next_x = start.astype(np.float64).copy()
        # Pseudo-observations: no MEP at 0 % MSO, an MEP one grid step above the top.
        pseudo_x = np.array([0.0, C.MLPEST_GRID_MAX_PCT_MSO + step])
        pseudo_r = np.array([False, True])
        ll0 = _log_terms(self._p(pseudo_x), pseudo_r).sum(axis=0)
        self.loglik = np.tile(ll0, (n, 1))

    def _p(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        g = self.grid[None, :]
        return _ndtr((x[:, None] - g) / (self.spread * g))

    def propose(self, idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.asarray(self.next_x[idx], dtype=np.float64)

    def observe(
        self,
        idx: NDArray[np.intp],
        x: NDArray[np.float64],
        present: NDArray[np.bool_],
    ) -> None:
        self.pulses[idx] += 1
        ll = self.loglik[idx] + _log_terms(self._p(x), present)
        self.loglik[idx] = ll
        top = ll.max(axis=1, keepdims=True)
        best = ll >= top
        est = (best * self.grid).sum(axis=1) / best.sum(axis=1)
        inside = 2.0 * (top - ll) <= _CHI2_1_95
        lo = np.where(inside, self.grid, np.inf).min(axis=1)
        hi = np.where(inside, self.grid, -np.inf).max(axis=1)
        self.ci_low[idx] = lo
        self.ci_high[idx] = hi
        self.estimate[idx] = est

        at_max = x >= C.MAX_PCT_MSO - 1e-9
        self.no_mep_at_max[idx] = np.where(
            at_max & ~present, self.no_mep_at_max[idx] + 1, 0
        )
        n_used = self.pulses[idx]
        above = est > C.MAX_PCT_MSO
        stuck = self.no_mep_at_max[idx] >= self.max_no_mep
        self._stop(idx[stuck], StopReason.NO_MEP_AT_MAX_OUTPUT, np.nan)
        live = ~stuck
        if self.stop_rule == "fixed":
            end = live & (n_used >= self.max_pulses)
            self._stop(idx[end & above], StopReason.ESTIMATE_ABOVE_MAX_OUTPUT, np.nan)
            ok = end & ~above
            self._stop(idx[ok], StopReason.FIXED_PULSES_COMPLETED, est[ok])
        else:
            precise = (
                live
                & (n_used >= self.min_pulses)
                & ((hi - lo) <= self.ci_width)
                & ~above
            )
            self._stop(idx[precise], StopReason.PRECISION_REACHED, est[precise])
            end = live & ~precise & (n_used >= self.max_pulses)
            self._stop(idx[end & above], StopReason.ESTIMATE_ABOVE_MAX_OUTPUT, np.nan)
            out = end & ~above
            self._stop(idx[out], StopReason.PULSE_BUDGET_EXHAUSTED, est[out])
        self.next_x[idx] = _round_to(est, self.resolution)


def _settle_posterior(
    engine: Any,
    idx: NDArray[np.intp],
    post: NDArray[np.float64],
    theta_t: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Summarise the posteriors of hunts ``idx`` and apply the stop rules.

    The one place the Bayesian grid engines (``_Psi`` and the amplitude-informed
    ``_AmpPsi``) set the estimate and its interval (posterior mean +/- 1.96 SD)
    and stop: estimate above the stimulator's output, posterior SD at the
    target after ``min_pulses``, or the pulse budget spent.

    Returns
    -------
    mean, sd : ndarray of float
        Posterior mean and SD of the threshold, per hunt in ``idx``.
    live : ndarray of bool
        Which of them go on.
    """
    mean = post @ theta_t
    sd = np.sqrt(np.maximum(post @ theta_t**2 - mean**2, 0.0))
    p_above = post @ (theta_t > C.MAX_PCT_MSO).astype(np.float64)
    engine.estimate[idx] = mean
    engine.ci_low[idx] = mean - 1.96 * sd
    engine.ci_high[idx] = mean + 1.96 * sd
    n_used = engine.pulses[idx]
    above = p_above >= C.PSI_ABOVE_MAX_OUTPUT_PROB
    engine._stop(idx[above], StopReason.ESTIMATE_ABOVE_MAX_OUTPUT, np.nan)
    precise = (
        ~above
        & (n_used >= engine.min_pulses)
        & (sd <= engine.target_sd)
        & (mean <= C.MAX_PCT_MSO)
    )
    engine._stop(idx[precise], StopReason.PRECISION_REACHED, mean[precise])
    end = ~above & ~precise & (n_used >= engine.max_pulses)
    engine._stop(idx[end], StopReason.PULSE_BUDGET_EXHAUSTED, mean[end])
    return mean, sd, engine.active[idx]


class _Psi(_Engine):
    method = ThresholdMethod.PSI

    def __init__(
        self,
        n: int,
        start: NDArray[np.float64],
        *,
        max_pulses: int,
        min_pulses: int,
        target_sd_pct_mso: float,
        resolution_pct_mso: float,
        lapse_rate: float,
        placement: str = "entropy",
        threshold_prior: tuple[float, float] | None = None,
        spread_prior: tuple[float, float] = (
            C.PSI_PRIOR_SPREAD_MEDIAN,
            C.PSI_PRIOR_SPREAD_LOG_SD,
        ),
        grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
        subject_prior: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    ) -> None:
        super().__init__(n)
        # Posterior grid: threshold 10-130 % MSO in 0.5 % MSO steps, relative
        # spread 0.02-0.30 in 12 log-spaced values (``grid`` replaces it in tests).
        if grid is None:
            t_grid = np.round(np.arange(10.0, 130.0 + 1e-9, 0.5), _DECIMALS)
            r_grid = np.geomspace(0.02, 0.30, 12)
        else:
            t_grid, r_grid = grid
        self.placement = placement
        tt, rr = np.meshgrid(t_grid, r_grid, indexing="ij")
        self.theta_t = tt.ravel()
        self.theta_r = rr.ravel()
        self.lapse = lapse_rate
        self.max_pulses = max_pulses
        self.min_pulses = min_pulses
        self.target_sd = target_sd_pct_mso
        self.resolution = resolution_pct_mso
        n_x = round(C.MAX_PCT_MSO / resolution_pct_mso)
        self.x_grid = np.round(np.arange(1, n_x + 1) * resolution_pct_mso, _DECIMALS)
        self.psi = self._p(self.x_grid)
        self.h_psi = _binary_entropy(self.psi)
        if subject_prior is None:
            self.post = np.tile(
                _grid_prior(self.theta_t, self.theta_r, threshold_prior, spread_prior),
                (n, 1),
            )
        else:
            self.post = _subject_grid_prior(
                self.theta_t, self.theta_r, subject_prior, spread_prior
            )
        self.next_x = start.astype(np.float64).copy()

    def _p(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        t = self.theta_t[None, :]
        p = _ndtr((x[:, None] - t) / (self.theta_r[None, :] * t))
        return np.asarray(self.lapse + (1.0 - 2.0 * self.lapse) * p, dtype=np.float64)

    def propose(self, idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.asarray(self.next_x[idx], dtype=np.float64)

    def _rows(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        k = np.clip(np.round(x / self.resolution).astype(np.intp) - 1, 0, None)
        k = np.minimum(k, self.x_grid.size - 1)
        on_grid = np.abs(self.x_grid[k] - x) < 1e-9
        if on_grid.all():
            return np.asarray(self.psi[k], dtype=np.float64)
        rows = self._p(x)
        rows[on_grid] = self.psi[k[on_grid]]
        return rows

    def observe(
        self,
        idx: NDArray[np.intp],
        x: NDArray[np.float64],
        present: NDArray[np.bool_],
    ) -> None:
        self.pulses[idx] += 1
        rows = self._rows(x)
        post = self.post[idx] * np.where(present[:, None], rows, 1.0 - rows)
        post /= post.sum(axis=1, keepdims=True)
        self.post[idx] = post
        mean, _, live = _settle_posterior(self, idx, post, self.theta_t)
        if live.any() and self.placement == "estimate":
            # Next pulse at the posterior mean, where a pulse tells most about
            # the threshold (Qi et al., 2011; as ML-PEST places it at the ML
            # estimate).
            self.next_x[idx[live]] = _round_to(mean[live], self.resolution)
        elif live.any():
            p_live = post[live]
            p1 = p_live @ self.psi.T
            expected = p_live @ self.h_psi.T
            gain = _binary_entropy(p1) - expected
            self.next_x[idx[live]] = self.x_grid[np.argmax(gain, axis=1)]


def _grid_prior(
    theta_t: NDArray[np.float64],
    theta_r: NDArray[np.float64],
    threshold_prior: tuple[float, float] | None,
    spread_prior: tuple[float, float],
) -> NDArray[np.float64]:
    """Prior weights on the (threshold, relative spread) grid, summing to one.

    Independent factors: the relative spread log-normal (``spread_prior`` = median,
    SD of its natural logarithm); the threshold uniform on the grid when
    ``threshold_prior`` is None, else normal (mean, SD in % MSO), truncated to the
    grid.
    """
    median, log_sd = spread_prior
    log_r = np.log(theta_r / median)
    w = -0.5 * (log_r / log_sd) ** 2
    if threshold_prior is not None:
        mean, sd = threshold_prior
        w = w - 0.5 * ((theta_t - mean) / sd) ** 2
    prior = np.exp(w - w.max())
    return np.asarray(prior / prior.sum(), dtype=np.float64)


def _subject_grid_prior(
    theta_t: NDArray[np.float64],
    theta_r: NDArray[np.float64],
    subject_prior: tuple[NDArray[np.float64], NDArray[np.float64]],
    spread_prior: tuple[float, float],
) -> NDArray[np.float64]:
    """Per-subject prior weights, shape (n, grid), each row summing to one.

    As :func:`_grid_prior` with a normal threshold prior whose mean and SD (% MSO)
    differ between subjects: ``subject_prior = (means, sds)``, each of shape (n,).
    A re-hunt centres it on each patient's previous RMT.
    """
    median, log_sd = spread_prior
    w_r = -0.5 * (np.log(theta_r / median) / log_sd) ** 2
    means, sds = subject_prior
    z = (theta_t[None, :] - means[:, None]) / sds[:, None]
    w = w_r[None, :] - 0.5 * z**2
    prior = np.exp(w - w.max(axis=1, keepdims=True))
    return np.asarray(prior / prior.sum(axis=1, keepdims=True), dtype=np.float64)


# ---------------------------------------------------------------------------
# Validation and engine construction.
# ---------------------------------------------------------------------------


def _check_int(value: int, field: str, low: int, high: int) -> int:
    check_type(value, (int, np.integer), field)
    return int(check_range(value, field, low, high))


def _check_common(mep_threshold_uv: float) -> float:
    check_type(mep_threshold_uv, _NUMBER, "mep_threshold_uv")
    return check_range(
        mep_threshold_uv,
        "mep_threshold_uv",
        0.0,
        10_000.0,
        low_inclusive=False,
        unit="uV",
    )


def _check_start(start: ArrayLike, n: int) -> NDArray[np.float64]:
    if isinstance(start, _NUMBER) and not isinstance(start, bool):
        check_range(
            float(start),
            "start_intensity_pct_mso",
            0.0,
            C.MAX_PCT_MSO,
            low_inclusive=False,
            unit="% MSO",
        )
    elif np.isscalar(start):
        check_type(start, _NUMBER, "start_intensity_pct_mso")
    try:
        arr = np.broadcast_to(np.asarray(start, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise ValueError(
            f"Invalid value for 'start_intensity_pct_mso': got shape "
            f"{np.shape(start)}; allowed: one value, or one per subject ({n})."
        ) from None
    bad = ~((arr > 0.0) & (arr <= C.MAX_PCT_MSO))
    if bad.any():
        check_range(
            float(arr[bad][0]),
            "start_intensity_pct_mso",
            0.0,
            C.MAX_PCT_MSO,
            low_inclusive=False,
            unit="% MSO",
        )
    return arr


def _rf_engine(
    n: int,
    start: NDArray[np.float64],
    *,
    step_pct_mso: float = C.RF_STEP_PCT_MSO,
    max_pulses: int = C.RF_MAX_PULSES,
    early_stop: bool = True,
) -> _Engine:
    check_type(step_pct_mso, _NUMBER, "step_pct_mso")
    step = check_range(
        step_pct_mso,
        "step_pct_mso",
        0.0,
        C.MAX_STEP_PCT_MSO,
        low_inclusive=False,
        unit="% MSO",
    )
    budget = _check_int(max_pulses, "max_pulses", 1, C.MAX_PULSES_LIMIT)
    check_type(early_stop, bool, "early_stop")
    return _RelativeFrequency(
        n, start, step_pct_mso=step, max_pulses=budget, early_stop=early_stop
    )


def _ml_pest_engine(
    n: int,
    start: NDArray[np.float64],
    *,
    max_pulses: int = C.MLPEST_PULSES,
    stop_rule: Literal["fixed", "ci"] = "fixed",
    ci_width_pct_mso: float = C.MLPEST_CI_WIDTH_PCT_MSO,
    min_pulses: int = C.MLPEST_CI_MIN_PULSES,
    relative_spread: float = C.MLPEST_RELATIVE_SPREAD,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    max_no_mep_at_max_output: int = C.MLPEST_MAX_NO_MEP_AT_MAX_OUTPUT,
) -> _Engine:
    budget = _check_int(max_pulses, "max_pulses", 1, C.MAX_PULSES_LIMIT)
    check_option(stop_rule, "stop_rule", ("fixed", "ci"))
    check_type(ci_width_pct_mso, _NUMBER, "ci_width_pct_mso")
    width = check_range(
        ci_width_pct_mso,
        "ci_width_pct_mso",
        0.0,
        50.0,
        low_inclusive=False,
        unit="% MSO",
    )
    least = _check_int(min_pulses, "min_pulses", 1, budget)
    check_type(relative_spread, _NUMBER, "relative_spread")
    spread = check_range(
        relative_spread, "relative_spread", 0.0, 1.0, low_inclusive=False
    )
    check_type(resolution_pct_mso, _NUMBER, "resolution_pct_mso")
    res = check_range(
        resolution_pct_mso,
        "resolution_pct_mso",
        0.0,
        10.0,
        low_inclusive=False,
        unit="% MSO",
    )
    stuck = _check_int(
        max_no_mep_at_max_output, "max_no_mep_at_max_output", 1, C.MAX_PULSES_LIMIT
    )
    return _MlPest(
        n,
        start,
        max_pulses=budget,
        stop_rule=stop_rule,
        ci_width_pct_mso=width,
        min_pulses=least,
        relative_spread=spread,
        resolution_pct_mso=res,
        max_no_mep_at_max_output=stuck,
    )


def _psi_engine(
    n: int,
    start: NDArray[np.float64],
    *,
    max_pulses: int = C.PSI_MAX_PULSES,
    min_pulses: int = C.PSI_MIN_PULSES,
    target_sd_pct_mso: float = C.PSI_TARGET_SD_PCT_MSO,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    lapse_rate: float = 0.0,
    placement: Literal["entropy", "estimate"] = "entropy",
    threshold_prior_mean_pct_mso: float | None = None,
    threshold_prior_sd_pct_mso: float | None = None,
    spread_prior_median: float = C.PSI_PRIOR_SPREAD_MEDIAN,
    spread_prior_log_sd: float = C.PSI_PRIOR_SPREAD_LOG_SD,
    previous_rmt_pct_mso: ArrayLike | None = None,
    previous_rmt_sd_pct_mso: ArrayLike | None = None,
) -> _Engine:
    budget = _check_int(max_pulses, "max_pulses", 1, C.MAX_PULSES_LIMIT)
    least = _check_int(min_pulses, "min_pulses", 1, budget)
    check_option(placement, "placement", ("entropy", "estimate"))
    subject_prior = _check_previous(
        previous_rmt_pct_mso,
        previous_rmt_sd_pct_mso,
        n,
        threshold_prior_mean_pct_mso is not None,
    )
    if (threshold_prior_mean_pct_mso is None) != (threshold_prior_sd_pct_mso is None):
        raise ValueError(
            "Invalid value for 'threshold_prior_sd_pct_mso': got "
            f"{threshold_prior_sd_pct_mso!r} with threshold_prior_mean_pct_mso="
            f"{threshold_prior_mean_pct_mso!r}; allowed: both None (uniform prior) "
            "or both numbers."
        )
    t_prior: tuple[float, float] | None = None
    if threshold_prior_mean_pct_mso is not None:
        check_type(
            threshold_prior_mean_pct_mso, _NUMBER, "threshold_prior_mean_pct_mso"
        )
        check_type(threshold_prior_sd_pct_mso, _NUMBER, "threshold_prior_sd_pct_mso")
        t_prior = (
            check_range(
                threshold_prior_mean_pct_mso,
                "threshold_prior_mean_pct_mso",
                10.0,
                130.0,
                unit="% MSO",
            ),
            check_range(
                float(threshold_prior_sd_pct_mso),  # type: ignore[arg-type]
                "threshold_prior_sd_pct_mso",
                0.5,
                100.0,
                unit="% MSO",
            ),
        )
    check_type(spread_prior_median, _NUMBER, "spread_prior_median")
    r_median = check_range(spread_prior_median, "spread_prior_median", 0.02, 0.3)
    check_type(spread_prior_log_sd, _NUMBER, "spread_prior_log_sd")
    r_log_sd = check_range(spread_prior_log_sd, "spread_prior_log_sd", 0.01, 5.0)
    check_type(target_sd_pct_mso, _NUMBER, "target_sd_pct_mso")
    target = check_range(
        target_sd_pct_mso,
        "target_sd_pct_mso",
        0.0,
        50.0,
        low_inclusive=False,
        unit="% MSO",
    )
    check_type(resolution_pct_mso, _NUMBER, "resolution_pct_mso")
    res = check_range(
        resolution_pct_mso,
        "resolution_pct_mso",
        0.1,
        10.0,
        unit="% MSO",
    )
    check_type(lapse_rate, _NUMBER, "lapse_rate")
    lapse = check_range(lapse_rate, "lapse_rate", 0.0, 0.2)
    return _Psi(
        n,
        start,
        max_pulses=budget,
        min_pulses=least,
        target_sd_pct_mso=target,
        resolution_pct_mso=res,
        lapse_rate=lapse,
        placement=placement,
        threshold_prior=t_prior,
        spread_prior=(r_median, r_log_sd),
        subject_prior=subject_prior,
    )


#: Per-subject options of the re-hunt, sliced with the subjects in chunks.
_PER_SUBJECT_OPTIONS = ("previous_rmt_pct_mso", "previous_rmt_sd_pct_mso")
#: Allowed range of the re-hunt prior SD, % MSO (as threshold_prior_sd_pct_mso).
_PREVIOUS_SD_RANGE = (0.5, 100.0)


def _per_subject(
    value: ArrayLike, field: str, n: int, low: float, high: float, low_inclusive: bool
) -> NDArray[np.float64]:
    """One number or one per subject, each in range, as a float array (n,)."""
    if np.isscalar(value) or isinstance(value, bool):
        check_type(value, _NUMBER, field)
    elif np.asarray(value).dtype.kind not in "iuf":
        raise TypeError(
            f"Invalid type for '{field}': got an array of {np.asarray(value).dtype}; "
            "allowed: a number or an array of numbers."
        )
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise ValueError(
            f"Invalid value for '{field}': got shape {np.shape(value)}; allowed: one "
            f"value, or one per subject ({n})."
        ) from None
    ok = (arr >= low) if low_inclusive else (arr > low)
    bad = ~(ok & (arr <= high))
    if bad.any():
        check_range(
            float(arr[bad][0]),
            field,
            low,
            high,
            low_inclusive=low_inclusive,
            unit="% MSO",
        )
    return arr


def _check_previous(
    previous_rmt_pct_mso: ArrayLike | None,
    previous_rmt_sd_pct_mso: ArrayLike | None,
    n: int,
    has_threshold_prior: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Validate the re-hunt prior (previous RMT and its SD), or return None."""
    if previous_rmt_pct_mso is None and previous_rmt_sd_pct_mso is None:
        return None
    if previous_rmt_pct_mso is None or previous_rmt_sd_pct_mso is None:
        raise ValueError(
            "Invalid value for 'previous_rmt_sd_pct_mso': got "
            f"{previous_rmt_sd_pct_mso!r} with previous_rmt_pct_mso="
            f"{previous_rmt_pct_mso!r}; allowed: both None (no re-hunt prior) or "
            "both given."
        )
    if has_threshold_prior:
        raise ValueError(
            "Invalid value for 'previous_rmt_pct_mso': got a previous RMT together "
            "with threshold_prior_mean_pct_mso; allowed: one threshold prior, "
            "either the population prior or the previous RMT."
        )
    means = _per_subject(
        previous_rmt_pct_mso, "previous_rmt_pct_mso", n, 0.0, C.MAX_PCT_MSO, False
    )
    sds = _per_subject(
        previous_rmt_sd_pct_mso, "previous_rmt_sd_pct_mso", n, *_PREVIOUS_SD_RANGE, True
    )
    return means, sds


_FACTORIES: dict[ThresholdMethod, Callable[..., _Engine]] = {
    ThresholdMethod.RELATIVE_FREQUENCY: _rf_engine,
    ThresholdMethod.ML_PEST: _ml_pest_engine,
    ThresholdMethod.PSI: _psi_engine,
}


# ---------------------------------------------------------------------------
# Drivers.
# ---------------------------------------------------------------------------


def _run_single(
    method: ThresholdMethod,
    responder: Responder,
    start_intensity_pct_mso: float,
    mep_threshold_uv: float,
    options: dict[str, Any],
    *,
    make_engine: Callable[[int, NDArray[np.float64]], Any] | None = None,
    citation: str | None = None,
) -> ThresholdResult:
    """Hunt one subject with one engine.

    ``make_engine`` builds another engine than the method's; one with
    ``observe_amplitude`` is given the amplitudes, not only yes/no.
    """
    criterion = _check_common(mep_threshold_uv)
    if not callable(getattr(responder, "stimulate", None)):
        raise TypeError(
            f"Invalid type for 'responder': got {type(responder).__name__}; "
            "allowed: an object with stimulate(intensity_pct_mso) -> float."
        )
    check_type(start_intensity_pct_mso, _NUMBER, "start_intensity_pct_mso")
    start = _check_start(start_intensity_pct_mso, 1)
    engine: Any = (
        _FACTORIES[method](1, start, **options)
        if make_engine is None
        else make_engine(1, start)
    )
    graded = hasattr(engine, "observe_amplitude")
    idx = np.zeros(1, dtype=np.intp)
    trace: list[TracePoint] = []
    while engine.active[0]:
        x = float(engine.propose(idx)[0])
        amp = responder.stimulate(x)
        check_type(amp, _NUMBER, "amplitude_uv")
        amplitude = check_range(float(amp), "amplitude_uv", 0.0, None, unit="uV")
        present = amplitude >= criterion
        trace.append(
            TracePoint(intensity_pct_mso=x, amplitude_uv=amplitude, mep_present=present)
        )
        if graded:
            engine.observe_amplitude(
                idx, np.array([x]), np.array([amplitude]), criterion
            )
        else:
            engine.observe(idx, np.array([x]), np.array([present]))
    reason = _REASONS[int(engine.reason[0])]
    est = float(engine.estimate[0])
    lo, hi = float(engine.ci_low[0]), float(engine.ci_high[0])
    ci = None if math.isnan(lo) else (max(lo, 0.0), hi)
    logger.debug(
        "%s hunt stopped after %d pulses: %s (estimate %s %% MSO)",
        method.value,
        len(trace),
        reason.value,
        est,
    )
    return ThresholdResult(
        method=method,
        estimate_pct_mso=None if math.isnan(est) else est,
        pulses_used=len(trace),
        converged=bool(engine.converged[0]),
        trace=tuple(trace),
        stop_reason=reason,
        detail=_DETAIL[reason],
        citation=_CITATION[method] if citation is None else citation,
        mep_threshold_uv=criterion,
        ci95_pct_mso=ci,
    )


def hunt_relative_frequency(
    responder: Responder,
    *,
    start_intensity_pct_mso: float,
    step_pct_mso: float = C.RF_STEP_PCT_MSO,
    max_pulses: int = C.RF_MAX_PULSES,
    early_stop: bool = True,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
) -> ThresholdResult:
    """Relative-frequency (Rossini-Rothwell) RMT hunt.

    The RMT is the lowest intensity giving MEPs of at least ``mep_threshold_uv`` in
    at least 5 of 10 trials :footcite:`rossini1994,rossini2015`. The hunt starts at
    a suprathreshold intensity and steps down by ``step_pct_mso`` after every
    successful block; it ends when a block fails after a success. If the first
    block fails, it steps up until a block succeeds.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    start_intensity_pct_mso : float
        First intensity, % MSO, in (0, 100]; should be suprathreshold (e.g. the
        hotspot-search intensity).
    step_pct_mso : float
        Step between blocks, % MSO, in (0, 10]; 1 % MSO by default, 2 % is common.
    max_pulses : int
        Pulse budget, in [1, 2000].
    early_stop : bool
        End a block as soon as it has 5 positives or 6 negatives (same decision as
        the full 10 trials, fewer pulses).
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000]; 50 uV by default.

    Returns
    -------
    result : ThresholdResult
        The estimate, trace and stop reason.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range, or the responder returns an invalid
        amplitude.

    References
    ----------
    .. footbibliography::
    """
    return _run_single(
        ThresholdMethod.RELATIVE_FREQUENCY,
        responder,
        start_intensity_pct_mso,
        mep_threshold_uv,
        {
            "step_pct_mso": step_pct_mso,
            "max_pulses": max_pulses,
            "early_stop": early_stop,
        },
    )


def hunt_ml_pest(
    responder: Responder,
    *,
    start_intensity_pct_mso: float,
    max_pulses: int = C.MLPEST_PULSES,
    stop_rule: Literal["fixed", "ci"] = "fixed",
    ci_width_pct_mso: float = C.MLPEST_CI_WIDTH_PCT_MSO,
    min_pulses: int = C.MLPEST_CI_MIN_PULSES,
    relative_spread: float = C.MLPEST_RELATIVE_SPREAD,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    max_no_mep_at_max_output: int = C.MLPEST_MAX_NO_MEP_AT_MAX_OUTPUT,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
) -> ThresholdResult:
    """Adaptive maximum-likelihood threshold hunting (ML-PEST, MTAT 2.0).

    After :footcite:`awiszus2003` and MTAT 2.0 :footcite:`awiszus2011`: the
    probability of an MEP is ``Phi((x - t) / (s t))`` with ``s`` fixed (0.07); after
    every pulse the likelihood of ``t`` is evaluated on a 0.2 % MSO grid up to
    130 % MSO (seeded with no MEP at 0 % MSO and an MEP at 130.2 % MSO, as in
    :footcite:`wang2023`), the estimate is the mean of the maximum-likelihood grid
    points, and the next pulse is given at the estimate rounded to
    ``resolution_pct_mso``. Requests above 100 % MSO are clipped to 100 % MSO;
    ``max_no_mep_at_max_output`` consecutive pulses there without an MEP stop the
    hunt as not converged.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    start_intensity_pct_mso : float
        First intensity, % MSO, in (0, 100].
    max_pulses : int
        With ``stop_rule="fixed"``, the number of pulses (20 by default); with
        ``"ci"``, the budget. In [1, 2000].
    stop_rule : {"fixed", "ci"}
        ``"fixed"``: stop after ``max_pulses`` (MTAT practice). ``"ci"``: stop
        once at least ``min_pulses`` were given and the 95 % likelihood-ratio
        interval is at most ``ci_width_pct_mso`` wide; not converged if the budget
        runs out first.
    ci_width_pct_mso : float
        Interval width for ``"ci"``, % MSO, in (0, 50].
    min_pulses : int
        Fewest pulses before ``"ci"`` may stop, in [1, max_pulses].
    relative_spread : float
        Assumed spread divided by threshold, in (0, 1]; 0.07 by default.
    resolution_pct_mso : float
        Stimulator resolution, % MSO, in (0, 10].
    max_no_mep_at_max_output : int
        Consecutive MEP-free pulses at 100 % MSO that end the hunt, in [1, 2000].
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].

    Returns
    -------
    result : ThresholdResult
        The estimate, its 95 % likelihood-ratio interval, trace and stop reason.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range, or the responder returns an invalid
        amplitude.

    References
    ----------
    .. footbibliography::
    """
    return _run_single(
        ThresholdMethod.ML_PEST,
        responder,
        start_intensity_pct_mso,
        mep_threshold_uv,
        {
            "max_pulses": max_pulses,
            "stop_rule": stop_rule,
            "ci_width_pct_mso": ci_width_pct_mso,
            "min_pulses": min_pulses,
            "relative_spread": relative_spread,
            "resolution_pct_mso": resolution_pct_mso,
            "max_no_mep_at_max_output": max_no_mep_at_max_output,
        },
    )


def hunt_psi(
    responder: Responder,
    *,
    start_intensity_pct_mso: float,
    max_pulses: int = C.PSI_MAX_PULSES,
    min_pulses: int = C.PSI_MIN_PULSES,
    target_sd_pct_mso: float = C.PSI_TARGET_SD_PCT_MSO,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    lapse_rate: float = 0.0,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
    placement: Literal["entropy", "estimate"] = "entropy",
    threshold_prior_mean_pct_mso: float | None = None,
    threshold_prior_sd_pct_mso: float | None = None,
    spread_prior_median: float = C.PSI_PRIOR_SPREAD_MEDIAN,
    spread_prior_log_sd: float = C.PSI_PRIOR_SPREAD_LOG_SD,
    previous_rmt_pct_mso: float | None = None,
    previous_rmt_sd_pct_mso: float | None = None,
) -> ThresholdResult:
    """Bayesian adaptive (Psi) threshold hunt.

    The Psi method of :footcite:`kontsevich1999` on the MEP model
    ``Phi((x - t) / (r t))``: a posterior on a grid of threshold ``t`` (10-130 %
    MSO, 0.5 % MSO steps; uniform prior) and relative spread ``r`` (0.02-0.30, 12
    log-spaced values; log-normal prior around 0.07). The first pulse is at the
    start intensity; each further pulse is at the intensity (on the stimulator's
    grid, up to 100 % MSO) that minimises the expected entropy of the posterior.
    The estimate is the posterior mean of ``t``; the hunt stops when its posterior
    SD reaches ``target_sd_pct_mso`` :footcite:`qi2011`, or as not converged when
    the budget runs out or the threshold is probably above 100 % MSO.

    With ``placement="estimate"`` and a threshold prior it is the Bayesian
    adaptive method of :footcite:`qi2011`: a population prior on the threshold
    (e.g. ``threshold_prior_mean_pct_mso=52.6``, ``threshold_prior_sd_pct_mso=8``
    :footcite:`silbert2013`), each pulse at the posterior mean (rounded to the
    stimulator's resolution), and the stop on the posterior SD. This needs no
    expected-entropy search and concentrates the pulses where they inform the
    threshold most.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    start_intensity_pct_mso : float
        First intensity, % MSO, in (0, 100].
    max_pulses : int
        Pulse budget, in [1, 2000].
    min_pulses : int
        Fewest pulses before the precision rule may stop, in [1, max_pulses].
    target_sd_pct_mso : float
        Posterior SD of the threshold at which to stop, % MSO, in (0, 50].
    resolution_pct_mso : float
        Stimulator resolution, % MSO, in [0.1, 10].
    lapse_rate : float
        Probability of a wrong response at any intensity, in [0, 0.2]; 0 matches
        the simulated subject.
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].
    placement : {"entropy", "estimate"}
        ``"entropy"``: each pulse at the intensity minimising the expected
        posterior entropy (Psi); ``"estimate"``: at the posterior mean of the
        threshold (Qi et al., 2011).
    threshold_prior_mean_pct_mso, threshold_prior_sd_pct_mso : float | None
        Normal prior on the threshold, % MSO: mean in [10, 130], SD in
        [0.5, 100]. Both ``None`` (default): uniform on the grid.
    spread_prior_median : float
        Median of the log-normal prior on the relative spread, in [0.02, 0.3].
    spread_prior_log_sd : float
        SD of the logarithm of the relative spread prior, in [0.01, 5].
    previous_rmt_pct_mso, previous_rmt_sd_pct_mso : float | None
        Re-hunt within a course: normal prior on today's threshold centred on the
        patient's previous measured RMT, % MSO, in (0, 100], with SD in
        [0.5, 100] % MSO (between-session change and the previous hunt's error
        together; :func:`rehunt_prior_sd` builds it). Both ``None`` (default): no
        re-hunt prior. Not together with ``threshold_prior_mean_pct_mso``. Use
        with ``placement="estimate"`` (see :func:`rehunt_psi`).

    Returns
    -------
    result : ThresholdResult
        The estimate, a 95 % interval (mean +/- 1.96 SD), trace and stop reason.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range, or the responder returns an invalid
        amplitude.

    References
    ----------
    .. footbibliography::
    """
    return _run_single(
        ThresholdMethod.PSI,
        responder,
        start_intensity_pct_mso,
        mep_threshold_uv,
        {
            "max_pulses": max_pulses,
            "min_pulses": min_pulses,
            "target_sd_pct_mso": target_sd_pct_mso,
            "resolution_pct_mso": resolution_pct_mso,
            "lapse_rate": lapse_rate,
            "placement": placement,
            "threshold_prior_mean_pct_mso": threshold_prior_mean_pct_mso,
            "threshold_prior_sd_pct_mso": threshold_prior_sd_pct_mso,
            "spread_prior_median": spread_prior_median,
            "spread_prior_log_sd": spread_prior_log_sd,
            "previous_rmt_pct_mso": previous_rmt_pct_mso,
            "previous_rmt_sd_pct_mso": previous_rmt_sd_pct_mso,
        },
    )


def hunt_threshold(
    responder: Responder,
    method: ThresholdMethod | str,
    *,
    start_intensity_pct_mso: float,
    max_pulses: int | None = None,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
) -> ThresholdResult:
    """Run one threshold hunt by method name, with the method's defaults.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    method : ThresholdMethod | str
        ``"relative_frequency"``, ``"ml_pest"`` or ``"psi"``.
    start_intensity_pct_mso : float
        First intensity, % MSO, in (0, 100].
    max_pulses : int | None
        Pulse budget (for ML-PEST, the fixed pulse count); ``None`` keeps the
        method's default.
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].

    Returns
    -------
    result : ThresholdResult
        The hunt's outcome.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If the method is unknown or an argument is out of range.
    """
    m = ThresholdMethod(check_option(str(method), "method", list(ThresholdMethod)))
    options: dict[str, Any] = {"mep_threshold_uv": mep_threshold_uv}
    if max_pulses is not None:
        options["max_pulses"] = max_pulses
    hunts: dict[ThresholdMethod, Callable[..., ThresholdResult]] = {
        ThresholdMethod.RELATIVE_FREQUENCY: hunt_relative_frequency,
        ThresholdMethod.ML_PEST: hunt_ml_pest,
        ThresholdMethod.PSI: hunt_psi,
    }
    return hunts[m](
        responder, start_intensity_pct_mso=start_intensity_pct_mso, **options
    )


def hunt_population(
    responder: PopulationResponder,
    method: ThresholdMethod | str,
    *,
    start_intensity_pct_mso: ArrayLike,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
    chunk_size: int = 2048,
    **options: Any,
) -> PopulationHunt:
    """Run one method on every subject of a population, in lockstep.

    The same state machines as the single-subject hunts, vectorised with NumPy:
    each round gives one pulse to every subject whose hunt is still running.

    Parameters
    ----------
    responder : PopulationResponder
        The subjects (e.g. :class:`~plptms.motor.SimulatedPopulation`).
    method : ThresholdMethod | str
        ``"relative_frequency"``, ``"ml_pest"`` or ``"psi"``.
    start_intensity_pct_mso : float | array-like of float
        First intensity per subject (or one for all), % MSO, in (0, 100].
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].
    chunk_size : int
        Subjects run together (memory bound), in [1, 1000000].
    **options
        Method options, as the keyword arguments of :func:`hunt_relative_frequency`,
        :func:`hunt_ml_pest` or :func:`hunt_psi`.

    Returns
    -------
    hunt : PopulationHunt
        Estimates, pulses, convergence and stop reasons per subject.

    Raises
    ------
    TypeError
        If an argument has the wrong type or an option is unknown.
    ValueError
        If the method is unknown or an argument is out of range.
    """
    m = ThresholdMethod(check_option(str(method), "method", list(ThresholdMethod)))
    criterion = _check_common(mep_threshold_uv)
    size = _check_int(chunk_size, "chunk_size", 1, 1_000_000)
    n = int(responder.n_subjects)
    start = _check_start(start_intensity_pct_mso, n)
    if m is ThresholdMethod.PSI and any(
        options.get(k) is not None for k in _PER_SUBJECT_OPTIONS
    ):
        # Validate the per-subject prior before any pulse, then slice it by chunk.
        prev = _check_previous(
            options.get("previous_rmt_pct_mso"),
            options.get("previous_rmt_sd_pct_mso"),
            n,
            options.get("threshold_prior_mean_pct_mso") is not None,
        )
        assert prev is not None
        options = {
            **options,
            "previous_rmt_pct_mso": prev[0],
            "previous_rmt_sd_pct_mso": prev[1],
        }
    estimate = np.full(n, np.nan)
    pulses = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    reason = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        chunk = {
            k: (
                v[lo:hi]
                if k in _PER_SUBJECT_OPTIONS and isinstance(v, np.ndarray)
                else v
            )
            for k, v in options.items()
        }
        engine = _FACTORIES[m](hi - lo, start[lo:hi], **chunk)
        while engine.active.any():
            idx = np.flatnonzero(engine.active)
            x = engine.propose(idx)
            amp = responder.stimulate_subjects(idx + lo, x)
            engine.observe(idx, x, np.asarray(amp >= criterion, dtype=bool))
        estimate[lo:hi] = engine.estimate
        pulses[lo:hi] = engine.pulses
        converged[lo:hi] = engine.converged
        reason[lo:hi] = engine.reason
    return PopulationHunt(
        method=m,
        estimate_pct_mso=estimate,
        pulses_used=pulses,
        converged=converged,
        stop_reasons=tuple(_REASONS[int(k)] for k in reason),
    )
