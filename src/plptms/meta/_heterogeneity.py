"""Confidence intervals for the amount of heterogeneity (Q-profile method)."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_range, check_type
from ._constants import I2_HIGH_PCT, I2_LOW_PCT, I2_MODERATE_PCT
from ._fit import MetaRegressionResult, MetaResult, _bracket_root, q_generalised

__all__ = ["HeterogeneityInterval", "describe_i2", "tau2_confint"]


class HeterogeneityInterval(BaseModel):
    """Estimates and confidence intervals of tau^2, tau, I^2 and H^2.

    Parameters
    ----------
    level_pct : float
        Confidence level, %.
    tau2, tau2_lower, tau2_upper : float
        tau^2 (squared effect units) and its Q-profile interval.
    tau, tau_lower, tau_upper : float
        tau (effect units) and its interval.
    i2_pct, i2_lower_pct, i2_upper_pct : float
        I^2 (%) and its interval.
    h2, h2_lower, h2_upper : float
        H^2 and its interval.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level_pct: float
    tau2: float
    tau2_lower: float
    tau2_upper: float
    tau: float
    tau_lower: float
    tau_upper: float
    i2_pct: float
    i2_lower_pct: float
    i2_upper_pct: float
    h2: float
    h2_lower: float
    h2_upper: float


def _design(result: MetaResult | MetaRegressionResult) -> np.ndarray:
    if isinstance(result, MetaRegressionResult):
        return np.array(result.design, dtype=float)
    return np.ones((result.k, 1))


def tau2_confint(
    result: MetaResult | MetaRegressionResult, *, level_pct: float | None = None
) -> HeterogeneityInterval:
    """Q-profile confidence interval for tau^2, and the implied intervals of I^2, H^2.

    Parameters
    ----------
    result : MetaResult | MetaRegressionResult
        A fitted model (any tau^2 estimator; the interval does not depend on it).
    level_pct : float | None
        Confidence level, %; default: the model's level.

    Returns
    -------
    interval : HeterogeneityInterval
        The estimates of the model and their intervals. I^2 and H^2 bounds are
        ``100 t / (t + v~)`` and ``t / v~ + 1`` at the tau^2 bounds ``t``, with the
        typical within-study variance ``v~`` :footcite:`higgins2002`, as in metafor.

    Raises
    ------
    TypeError
        If ``result`` is not a fitted model.
    ValueError
        If the model has no residual degrees of freedom or the level is invalid.

    Notes
    -----
    The bounds solve ``Q_gen(tau^2) = chi^2_{k-p}`` quantiles, where ``Q_gen`` is the
    generalised Q statistic, a decreasing function of tau^2 :footcite:`viechtbauer2007`.
    A bound is 0 when ``Q_gen(0)`` is already below the quantile.

    References
    ----------
    .. footbibliography::
    """
    check_type(result, (MetaResult, MetaRegressionResult), "result")
    level = result.level_pct if level_pct is None else level_pct
    check_range(
        level, "level_pct", 0.0, 100.0, low_inclusive=False, high_inclusive=False
    )
    from scipy import stats  # type: ignore[import-untyped]

    y = np.array(result.effects, dtype=float)
    v = np.array(result.variances, dtype=float)
    x = _design(result)
    k, p = int(x.shape[0]), int(x.shape[1])
    df = k - p
    if df < 1:
        raise ValueError(
            f"Invalid value for 'result': got k = {k} studies for {p} coefficients; "
            "allowed: at least one residual degree of freedom."
        )
    alpha = 1.0 - level / 100.0
    crit_hi = float(stats.chi2.isf(alpha / 2.0, df))
    crit_lo = float(stats.chi2.ppf(alpha / 2.0, df))
    q0 = q_generalised(y, v, x, 0.0)

    def bound(target: float) -> float:
        if q0 <= target:
            return 0.0
        return _bracket_root(
            lambda t: q_generalised(y, v, x, t), target, result.tau2, y
        )

    lo, hi = bound(crit_hi), bound(crit_lo)
    w = 1.0 / v
    xtw = x.T * w
    p_fe = np.diag(w) - xtw.T @ np.linalg.inv(xtw @ x) @ xtw
    vt = df / float(np.trace(p_fe))

    def i2(t: float) -> float:
        return 100.0 * t / (vt + t)

    def h2(t: float) -> float:
        return t / vt + 1.0

    return HeterogeneityInterval(
        level_pct=float(level),
        tau2=result.tau2,
        tau2_lower=lo,
        tau2_upper=hi,
        tau=math.sqrt(result.tau2),
        tau_lower=math.sqrt(lo),
        tau_upper=math.sqrt(hi),
        i2_pct=result.i2_pct,
        i2_lower_pct=i2(lo),
        i2_upper_pct=i2(hi),
        h2=result.h2,
        h2_lower=h2(lo),
        h2_upper=h2(hi),
    )


def describe_i2(i2_pct: float) -> str:
    """Label an I^2 value with the adjectives of Higgins et al. (2003).

    Parameters
    ----------
    i2_pct : float
        I^2 in %, in [0, 100].

    Returns
    -------
    label : str
        ``"high"`` (>= 75 %), ``"moderate"`` (>= 50 %), ``"low"`` (>= 25 %) or
        ``"below low"`` :footcite:`higgins2003`.

    Raises
    ------
    ValueError
        If ``i2_pct`` is outside [0, 100].

    References
    ----------
    .. footbibliography::
    """
    check_range(i2_pct, "i2_pct", 0.0, 100.0, unit="%")
    if i2_pct >= I2_HIGH_PCT:
        return "high"
    if i2_pct >= I2_MODERATE_PCT:
        return "moderate"
    if i2_pct >= I2_LOW_PCT:
        return "low"
    return "below low"
