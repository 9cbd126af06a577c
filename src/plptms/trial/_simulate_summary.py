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

With interim looks (:class:`SequentialSummary`, over the ``n`` estimable
trials): the probability of stopping at each look and of rejecting with the
looks are proportions (MCSE as above); the expected number randomised is a
mean (``sd / sqrt(n)``); the change in the rejection rate against the same
trials analysed once, without looks, is the mean of the paired differences
``d_i`` in ``{-1, 0, 1}``, MCSE ``sd(d) / sqrt(n)``.

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_type
from ._virtual_looks import SequentialOutcome

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = [
    "LookSummary",
    "MonteCarloEstimate",
    "SequentialSummary",
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
    sequential : SequentialOutcome | None
        The trial analysed with the definition's interim looks (``None`` when it
        has none, or the trial is not estimable); ``rejected`` above is always
        the single analysis at the end, without looks.
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
    sequential: SequentialOutcome | None = None


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


class LookSummary(BaseModel):
    """What happened at one interim look, over the estimable trials.

    Parameters
    ----------
    look : int
        The look, 1-based.
    planned_fraction : float
        Its planned information fraction.
    taken : MonteCarloEstimate
        Share of trials analysed at this look (not stopped before, look reached,
        model estimable).
    stop_for_efficacy : MonteCarloEstimate
        Share of trials that stopped here crossing the upper boundary (benefit
        of active stimulation).
    stop_control_better : MonteCarloEstimate
        Share that stopped here crossing the lower boundary (two-sided only).
    stop : MonteCarloEstimate
        Share that stopped here, either way.
    cumulative_stop : MonteCarloEstimate
        Share that stopped here or at an earlier look.
    mean_information_fraction : MonteCarloEstimate | None
        Mean observed fraction among the trials analysed here.
    mean_n_randomised : MonteCarloEstimate | None
        Mean number randomised by the look, among the trials analysed here.
    """

    model_config = _FROZEN

    look: int
    planned_fraction: float
    taken: MonteCarloEstimate
    stop_for_efficacy: MonteCarloEstimate
    stop_control_better: MonteCarloEstimate
    stop: MonteCarloEstimate
    cumulative_stop: MonteCarloEstimate
    mean_information_fraction: MonteCarloEstimate | None
    mean_n_randomised: MonteCarloEstimate | None


class SequentialSummary(BaseModel):
    """Operating characteristics of a design with interim looks.

    Parameters
    ----------
    n_trials : int
        Estimable trials summarised (the same as the analysis without looks).
    spending : str
        Lan-DeMets spending function type.
    planned_fractions : tuple of float
        Information fractions of the interim looks.
    looks : list of LookSummary
        One per interim look.
    reach_final : MonteCarloEstimate
        Share of trials that ran to the final analysis.
    rejection_rate : MonteCarloEstimate
        Overall rejection rate with the looks (power, or the type I error at
        effect 0).
    rejection_rate_no_looks : MonteCarloEstimate
        The same trials analysed once at the end, at the definition's alpha.
    rejection_difference : MonteCarloEstimate
        ``rejection_rate - rejection_rate_no_looks``, paired (same trials).
    expected_n_randomised : MonteCarloEstimate
        Mean number randomised when the trial ended (the expected sample size).
    max_n_randomised : int
        Patients randomised by a trial that runs to the end.
    """

    model_config = _FROZEN

    n_trials: int
    spending: str
    planned_fractions: tuple[float, ...]
    looks: list[LookSummary]
    reach_final: MonteCarloEstimate
    rejection_rate: MonteCarloEstimate
    rejection_rate_no_looks: MonteCarloEstimate
    rejection_difference: MonteCarloEstimate
    expected_n_randomised: MonteCarloEstimate
    max_n_randomised: int


class VirtualTrialSummary(BaseModel):
    """Performance of a design over many virtual trials.

    Parameters
    ----------
    n_trials : int
        Virtual trials summarised.
    n_patients : int
        Patients randomised per trial.
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
    sequential : SequentialSummary | None
        The operating characteristics with the interim looks, if the trials had
        any.
    """  # noqa: E501

    model_config = _FROZEN

    n_trials: int
    n_patients: int
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
    sequential: SequentialSummary | None = None


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
        n_patients=max(r.n_randomised for r in results),
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
        sequential=_sequential(ok),
    )


def _sequential(ok: Sequence[VirtualTrialResult]) -> SequentialSummary | None:
    """Summarise the interim looks of the estimable trials (``None`` if none)."""
    seqs = [r.sequential for r in ok if r.sequential is not None]
    if not seqs:
        return None
    if len(seqs) != len(ok):
        raise ValueError(
            f"Invalid value for 'results': got {len(seqs)} of {len(ok)} estimable "
            "trials with interim looks; allowed: all or none (one design)."
        )
    first = seqs[0]
    looks = []
    stopped_before = np.zeros(len(seqs))
    for k, t_k in enumerate(first.planned_fractions, start=1):
        outs = [next((lk for lk in s.looks if lk.look == k), None) for s in seqs]
        taken = [o for o in outs if o is not None and o.taken]
        stop_at = np.asarray([s.stopped_at == k for s in seqs], dtype=float)
        up = np.asarray([s.stopped_at == k and s.direction == "upper" for s in seqs])
        stopped_before = stopped_before + stop_at
        looks.append(
            LookSummary(
                look=k,
                planned_fraction=t_k,
                taken=_proportion(np.asarray([o in taken for o in outs], dtype=float)),
                stop_for_efficacy=_proportion(up.astype(float)),
                stop_control_better=_proportion(stop_at - up),
                stop=_proportion(stop_at),
                cumulative_stop=_proportion(stopped_before.copy()),
                mean_information_fraction=_mean_or_none(
                    [o.information_fraction for o in taken]
                ),
                mean_n_randomised=_mean_or_none([o.n_randomised for o in taken]),
            )
        )
    with_looks = np.asarray([s.rejected for s in seqs], dtype=float)
    without = np.asarray([r.rejected for r in ok], dtype=float)
    return SequentialSummary(
        n_trials=len(seqs),
        spending=first.spending,
        planned_fractions=first.planned_fractions,
        looks=looks,
        reach_final=_proportion(
            np.asarray([s.stopped_at is None for s in seqs], dtype=float)
        ),
        rejection_rate=_proportion(with_looks),
        rejection_rate_no_looks=_proportion(without),
        rejection_difference=_mean(with_looks - without),
        expected_n_randomised=_mean(
            np.asarray([s.n_randomised for s in seqs], dtype=float)
        ),
        max_n_randomised=max(r.n_randomised for r in ok),
    )


def _mean_or_none(values: Sequence[float | None]) -> MonteCarloEstimate | None:
    x = np.asarray([v for v in values if v is not None], dtype=float)
    return _mean(x) if len(x) else None
