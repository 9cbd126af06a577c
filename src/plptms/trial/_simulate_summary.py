"""What a virtual trial gives, and the performance of many, with Monte Carlo SEs.

The measures and their Monte Carlo standard errors (MCSE) are those that Morris,
White and Crowther set out for simulation studies :footcite:`morris2019`
(their Table 6); the table was not read in this session (not verified), and the
formulas below are the standard ones. With ``n`` estimable trials, estimates
``b_i``, model SEs ``s_i`` and the true effect ``t``:

- rejection rate (power, or the type I error when ``t = 0``)
  ``r = mean(rejected)``, MCSE ``sqrt(r (1 - r) / n)``;
- bias ``mean(b) - t``, MCSE ``sqrt(var(b) / n)`` (``var`` with divisor
  ``n - 1``);
- empirical SE ``sqrt(var(b))``, MCSE ``empSE / sqrt(2 (n - 1))``;
- coverage of the interval ``c = mean(ci_lower <= t <= ci_upper)``, MCSE
  ``sqrt(c (1 - c) / n)``;
- model SE ``sqrt(mean(s^2))``, MCSE ``sqrt(var(s^2) / n) / (2 modSE)`` (the
  delta method on ``mean(s^2)``);
- the mean of a per-trial quantity (an imbalance, the share dropped out), MCSE
  ``sd / sqrt(N)`` over all ``N`` trials (allocation and dropout happen whether
  or not the analysis could be run).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_type

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = [
    "MonteCarloEstimate",
    "VirtualTrialResult",
    "VirtualTrialSummary",
    "summarise_virtual_trials",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class VirtualTrialResult(BaseModel):
    """What one virtual trial gives.

    Parameters
    ----------
    estimable : bool
        Whether the primary analysis could be run (else the estimate fields are
        ``None`` and ``reason`` says why).
    reason : str | None
        Why the primary endpoint was not estimable.
    estimate, se, df, ci_lower, ci_upper, pvalue : float | None
        The primary contrast (active minus sham, or the second arm minus the
        first) at the primary endpoint's visit, from the engine's MMRM: points,
        points, Satterthwaite df, the interval at ``level_pct`` and the two-sided
        p-value.
    level_pct : float
        Confidence level of the interval, %.
    rejected : bool
        Whether the null hypothesis of no effect was rejected: two-sided
        ``pvalue < alpha``, or one-sided ``pvalue / 2 < alpha`` with the
        estimate in favour of active (lower pain). ``False`` when not estimable.
    converged : bool | None
        Whether the MMRM optimisation met its tolerance.
    n_randomised : int
        Patients randomised.
    n_by_arm : dict of str to int
        Patients allocated to each arm.
    n_observed_by_visit : dict of str to int
        Patients with the outcome observed at each simulated visit.
    n_dropped_out : int
        Patients who dropped out before the last simulated visit.
    imbalance_overall : float
        Range over arms of the arm counts divided by their ratio weights.
    imbalance_site : float
        The largest such range within one site.
    imbalance_stratum : float
        The largest such range within one stratum (a combination of the levels
        of every stratification factor).
    imbalance_level : float
        The largest such range within one level of one factor (the marginal
        totals that minimisation balances).
    """

    model_config = _FROZEN

    estimable: bool
    reason: str | None = None
    estimate: float | None = None
    se: float | None = None
    df: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    pvalue: float | None = None
    level_pct: float
    rejected: bool
    converged: bool | None = None
    n_randomised: int
    n_by_arm: dict[str, int]
    n_observed_by_visit: dict[str, int]
    n_dropped_out: int
    imbalance_overall: float
    imbalance_site: float
    imbalance_stratum: float
    imbalance_level: float


class MonteCarloEstimate(BaseModel):
    """A performance measure estimated by simulation.

    Parameters
    ----------
    value : float
        The estimate.
    mcse : float
        Its Monte Carlo standard error.
    """

    model_config = _FROZEN

    value: float
    mcse: float


class VirtualTrialSummary(BaseModel):
    """Performance of a design over many virtual trials.

    Parameters
    ----------
    n_trials : int
        Virtual trials summarised.
    n_estimable : int
        Trials whose primary analysis could be run; the measures of the
        analysis are over these.
    true_effect : float
        The effect simulated, points.
    measure : {'power', 'type_i_error'}
        What the rejection rate is: the type I error when ``true_effect`` is 0.
    rejection_rate : MonteCarloEstimate
        Share of estimable trials that rejected the null hypothesis.
    bias : MonteCarloEstimate
        Mean estimate minus the true effect, points.
    empirical_se : MonteCarloEstimate
        SD of the estimates, points.
    model_se : MonteCarloEstimate
        Root mean square of the model-based SEs, points.
    coverage : MonteCarloEstimate
        Share of intervals that contain the true effect.
    imbalance_overall, imbalance_site, imbalance_stratum, imbalance_level : MonteCarloEstimate
        Means of the per-trial imbalances (see
        :class:`~plptms.trial._simulate.VirtualTrialResult`), over all trials.
    dropout_share : MonteCarloEstimate
        Mean share of patients who dropped out before the last visit.
    """  # noqa: E501

    model_config = _FROZEN

    n_trials: int
    n_estimable: int
    true_effect: float
    measure: Literal["power", "type_i_error"]
    rejection_rate: MonteCarloEstimate
    bias: MonteCarloEstimate
    empirical_se: MonteCarloEstimate
    model_se: MonteCarloEstimate
    coverage: MonteCarloEstimate
    imbalance_overall: MonteCarloEstimate
    imbalance_site: MonteCarloEstimate
    imbalance_stratum: MonteCarloEstimate
    imbalance_level: MonteCarloEstimate
    dropout_share: MonteCarloEstimate


def _proportion(x: NDArray[np.float64]) -> MonteCarloEstimate:
    p = float(x.mean())
    return MonteCarloEstimate(value=p, mcse=math.sqrt(p * (1.0 - p) / len(x)))


def _mean(x: NDArray[np.float64]) -> MonteCarloEstimate:
    sd = float(x.std(ddof=1)) if len(x) > 1 else math.nan
    return MonteCarloEstimate(value=float(x.mean()), mcse=sd / math.sqrt(len(x)))


def summarise_virtual_trials(
    results: Sequence[VirtualTrialResult], true_effect: float
) -> VirtualTrialSummary:
    """Summarise virtual trials: power or type I error, bias, SEs, coverage, balance.

    Parameters
    ----------
    results : sequence of VirtualTrialResult
        From :func:`plptms.trial._simulate.simulate_trial`, at least 2 of them
        estimable.
    true_effect : float
        The effect the trials were simulated with, points.

    Returns
    -------
    summary : VirtualTrialSummary
        Each measure with its Monte Carlo standard error (see the module notes).

    Raises
    ------
    TypeError
        If a result has the wrong type.
    ValueError
        If ``true_effect`` is not finite or fewer than 2 results are estimable.

    References
    ----------
    .. footbibliography::
    """
    for k, r in enumerate(results):
        check_type(r, VirtualTrialResult, f"results[{k}]")
    check_type(true_effect, (int, float), "true_effect")
    if not math.isfinite(true_effect):
        raise ValueError(
            f"Invalid value for 'true_effect': got {true_effect!r}; allowed: a "
            "finite number of points."
        )
    ok = [r for r in results if r.estimable]
    if len(ok) < 2:
        raise ValueError(
            f"Invalid value for 'results': got {len(ok)} estimable trial(s) of "
            f"{len(results)}; allowed: at least 2 estimable trials."
        )
    n = len(ok)
    est = np.asarray([r.estimate for r in ok], dtype=float)
    se2 = np.asarray([r.se for r in ok], dtype=float) ** 2
    lo = np.asarray([r.ci_lower for r in ok], dtype=float)
    hi = np.asarray([r.ci_upper for r in ok], dtype=float)
    var = float(est.var(ddof=1))
    emp_se = math.sqrt(var)
    mod_se = math.sqrt(float(se2.mean()))
    mod_mcse = math.sqrt(float(se2.var(ddof=1)) / n) / (2.0 * mod_se)

    def per_trial(name: str) -> MonteCarloEstimate:
        return _mean(np.asarray([getattr(r, name) for r in results], dtype=float))

    dropout = np.asarray([r.n_dropped_out / r.n_randomised for r in results])
    return VirtualTrialSummary(
        n_trials=len(results),
        n_estimable=n,
        true_effect=float(true_effect),
        measure="type_i_error" if true_effect == 0 else "power",
        rejection_rate=_proportion(np.asarray([r.rejected for r in ok], dtype=float)),
        bias=MonteCarloEstimate(
            value=float(est.mean()) - true_effect, mcse=math.sqrt(var / n)
        ),
        empirical_se=MonteCarloEstimate(
            value=emp_se, mcse=emp_se / math.sqrt(2.0 * (n - 1))
        ),
        model_se=MonteCarloEstimate(value=mod_se, mcse=mod_mcse),
        coverage=_proportion(((lo <= true_effect) & (true_effect <= hi)).astype(float)),
        imbalance_overall=per_trial("imbalance_overall"),
        imbalance_site=per_trial("imbalance_site"),
        imbalance_stratum=per_trial("imbalance_stratum"),
        imbalance_level=per_trial("imbalance_level"),
        dropout_share=_mean(dropout),
    )
