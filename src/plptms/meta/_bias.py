"""Small-study effects: Egger's regression test and the trim-and-fill method."""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_type
from ._constants import EGGER_MIN_STUDIES, TRIM_FILL_MAX_ITER
from ._fit import _STATSMODELS_HINT, MetaResult, meta_analysis, meta_regression

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill"]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class EggerResult(BaseModel):
    """Regression test for funnel-plot asymmetry.

    Parameters
    ----------
    model : {"rma", "lm"}
        Mixed-effects meta-regression on the standard errors, or the classical
        weighted regression with a multiplicative dispersion term.
    k : int
        Number of studies.
    slope, slope_se : float
        Coefficient of the standard error (asymmetry) and its standard error.
    statistic, pvalue : float
        z (or t) statistic of the slope and its two-sided p-value.
    df : int | None
        Degrees of freedom of the t test (``"lm"``, or ``"rma"`` with
        Knapp-Hartung).
    limit_estimate, limit_ci_lower, limit_ci_upper : float
        Intercept: the effect expected in a study with standard error 0.
    underpowered : bool
        Fewer than 10 studies, below the recommended minimum :footcite:`sterne2011`.

    References
    ----------
    .. footbibliography::
    """

    model_config = _FROZEN

    model: Literal["rma", "lm"]
    k: int
    slope: float
    slope_se: float
    statistic: float
    pvalue: float
    df: int | None
    limit_estimate: float
    limit_ci_lower: float
    limit_ci_upper: float
    underpowered: bool


def egger_test(
    result: MetaResult, *, model: Literal["rma", "lm"] = "rma"
) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry.

    Parameters
    ----------
    result : MetaResult
        The fitted meta-analysis.
    model : {"rma", "lm"}
        ``"rma"`` (default, as metafor's ``regtest``): meta-regression of the effects
        on their standard errors with the model's tau^2 method and test;
        ``"lm"``: weighted least squares with weights ``1/v`` and an estimated
        dispersion, equivalent to the original test :footcite:`egger1997`
        (statsmodels WLS).

    Returns
    -------
    result : EggerResult
        Slope test and limit estimate.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`MetaResult`.
    ValueError
        If there are fewer than 3 studies, or ``model`` is unknown.

    Notes
    -----
    With fewer than 10 studies the test has too little power to rule out asymmetry
    :footcite:`sterne2011`; a warning is logged and ``underpowered`` is set.

    References
    ----------
    .. footbibliography::
    """
    check_type(result, MetaResult, "result")
    check_option(model, "model", ("rma", "lm"))
    if result.k < 3:
        raise ValueError(
            f"Invalid value for 'result': got k = {result.k} studies; allowed: at "
            "least 3 for a regression test."
        )
    underpowered = result.k < EGGER_MIN_STUDIES
    if underpowered:
        logger.warning(
            "Egger's test with %d studies (fewer than %d) has low power",
            result.k,
            EGGER_MIN_STUDIES,
        )
    y = np.array(result.effects)
    v = np.array(result.variances)
    sei = np.sqrt(v)
    if model == "rma":
        fit = meta_regression(
            y,
            v,
            sei,
            names=["sei"],
            method=result.method,
            test=result.test,
            level_pct=result.level_pct,
        )
        b0, b1 = fit.coefficients
        return EggerResult(
            model="rma",
            k=result.k,
            slope=b1.estimate,
            slope_se=b1.se,
            statistic=b1.statistic,
            pvalue=b1.pvalue,
            df=fit.df,
            limit_estimate=b0.estimate,
            limit_ci_lower=b0.ci_lower,
            limit_ci_upper=b0.ci_upper,
            underpowered=underpowered,
        )
    try:
        import statsmodels.api as sm  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - statsmodels is a dependency
        raise ImportError(_STATSMODELS_HINT) from exc

    ols = sm.WLS(y, sm.add_constant(sei), weights=1.0 / v).fit()
    alpha = 1.0 - result.level_pct / 100.0
    ci = ols.conf_int(alpha=alpha)
    return EggerResult(
        model="lm",
        k=result.k,
        slope=float(ols.params[1]),
        slope_se=float(ols.bse[1]),
        statistic=float(ols.tvalues[1]),
        pvalue=float(ols.pvalues[1]),
        df=int(ols.df_resid),
        limit_estimate=float(ols.params[0]),
        limit_ci_lower=float(ci[0, 0]),
        limit_ci_upper=float(ci[0, 1]),
        underpowered=underpowered,
    )


class TrimFillResult(BaseModel):
    """Result of the trim-and-fill method.

    Parameters
    ----------
    side : {"left", "right"}
        Side of the funnel plot on which studies were imputed.
    estimator : {"L0", "R0"}
        Estimator of the number of missing studies.
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Standard error of ``k0`` (the ``k0`` before rounding).
    iterations : int
        Iterations of the algorithm.
    filled_effects, filled_variances : tuple of float
        The imputed studies (mirror images about the trimmed estimate).
    adjusted : MetaResult
        The model refitted to the observed and imputed studies.
    """

    model_config = _FROZEN

    side: Literal["left", "right"]
    estimator: Literal["L0", "R0"]
    k0: int
    se_k0: float
    iterations: int
    filled_effects: tuple[float, ...]
    filled_variances: tuple[float, ...]
    adjusted: MetaResult


def _ordinal_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties broken by position (R's ``ties.method="first"``)."""
    order = np.argsort(a, kind="stable")
    ranks = np.empty(a.size, dtype=float)
    ranks[order] = np.arange(1, a.size + 1)
    return ranks


def trim_and_fill(
    result: MetaResult,
    *,
    side: Literal["auto", "left", "right"] = "auto",
    estimator: Literal["L0", "R0"] = "L0",
    max_iter: int = TRIM_FILL_MAX_ITER,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method.

    Parameters
    ----------
    result : MetaResult
        The fitted meta-analysis (its method, test and level are reused).
    side : {"auto", "left", "right"}
        Side on which studies are assumed missing. ``"auto"`` chooses it from the
        sign of the slope of a regression of the effects on their standard errors
        (``"right"`` if negative), as metafor does; either side can be forced.
    estimator : {"L0", "R0"}
        Rank-based estimator of the number of missing studies
        :footcite:`duval2000,duval2000jasa` (``"L0"`` by default).
    max_iter : int
        Iteration limit.

    Returns
    -------
    result : TrimFillResult
        ``k0``, the imputed studies and the refitted model.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`MetaResult`.
    ValueError
        If there are fewer than 3 studies or an option is unknown.
    RuntimeError
        If the algorithm does not converge in ``max_iter`` iterations.

    Notes
    -----
    The algorithm follows metafor's ``trimfill`` :footcite:`viechtbauer2010`: effects
    are centred on the estimate from the trimmed data, ranked by absolute value
    (ties by position), and ``L0 = (4 S_r - k (k + 1)) / (2 k - 1)`` is rounded
    (half to even) and truncated at 0; the imputed effects are ``2 mu - y`` for the
    ``k0`` most extreme studies on the other side. The method is a sensitivity
    analysis, not a correction.

    References
    ----------
    .. footbibliography::
    """
    check_type(result, MetaResult, "result")
    check_option(side, "side", ("auto", "left", "right"))
    check_option(estimator, "estimator", ("L0", "R0"))
    check_type(max_iter, int, "max_iter")
    if result.k < 3:
        raise ValueError(
            f"Invalid value for 'result': got k = {result.k} studies; allowed: at "
            "least 3 for trim and fill."
        )
    y0 = np.array(result.effects)
    v0 = np.array(result.variances)
    if side == "auto":
        fit = meta_regression(y0, v0, np.sqrt(v0), names=["sei"], method=result.method)
        side = "right" if fit.coefficients[1].estimate < 0 else "left"
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y0, kind="stable")
    y = sign * y0[order]
    v = v0[order]
    k = y.size
    k0, k0_prev, it = 0, -1, 0
    se_k0 = 0.0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > max_iter:
            raise RuntimeError(
                f"Trim and fill did not converge in {max_iter} iterations."
            )
        beta = meta_analysis(y[: k - k0], v[: k - k0], method=result.method).estimate
        yc = y - beta
        signed = np.sign(yc) * _ordinal_ranks(np.abs(yc))
        if estimator == "L0":
            sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
            se_k0 = max(0.0, 4.0 * math.sqrt(max(var_sr, 0.0)) / (2.0 * k - 1.0))
        else:
            neg = -signed[signed < 0]
            k0_raw = (k - (float(np.max(neg)) if neg.size else 0.0)) - 1.0
            se_k0 = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        k0 = max(0, round(k0_raw))
    if k0 == 0:
        adjusted = result
        fill_y: np.ndarray = np.empty(0)
        fill_v: np.ndarray = np.empty(0)
    else:
        fill_y = sign * (2.0 * beta - y[k - k0 :])
        fill_v = v[k - k0 :]
        adjusted = meta_analysis(
            np.concatenate([y0, fill_y]),
            np.concatenate([v0, fill_v]),
            method=result.method,
            test=result.test,
            level_pct=result.level_pct,
            labels=[*result.labels, *(f"Filled {i + 1}" for i in range(k0))],
        )
    return TrimFillResult(
        side=side,
        estimator=estimator,
        k0=k0,
        se_k0=se_k0,
        iterations=it,
        filled_effects=tuple(float(a) for a in fill_y),
        filled_variances=tuple(float(a) for a in fill_v),
        adjusted=adjusted,
    )
