"""Fixed- and random-effects meta-analysis and mixed-effects meta-regression.

What comes from where
---------------------
- Intercept-only models with the fixed-effect (inverse-variance), DerSimonian-Laird
  or Paule-Mandel estimator are pooled by ``statsmodels.stats.meta_analysis.
  combine_effects`` :footcite:`seabold2010`: the estimate, its variance, the
  Hartung-Knapp-Sidik-Jonkman variance, tau^2 and Cochran's Q. Its DL estimate is
  not truncated at zero; a negative value is read as zero (the fixed-effect fields of
  the same fit). Its Paule-Mandel iteration is checked against the estimating
  equation and replaced by a bracketing root search when it did not converge.
- Written here, because statsmodels has none of them: the REML estimator (Fisher
  scoring, :footcite:`viechtbauer2005`), tau^2 estimators with moderators (the
  generalised DL and PM estimators and REML), the weighted least-squares fit of a
  mixed-effects meta-regression with the Knapp-Hartung adjustment
  :footcite:`knapp2003`, the omnibus moderator test, I^2 and H^2 in the general form
  of :footcite:`higgins2002` as metafor computes them :footcite:`viechtbauer2010`,
  prediction intervals :footcite:`higgins2009` and R^2.

Conventions follow R's metafor :footcite:`viechtbauer2010`: the prediction interval
uses the z (or, with the Knapp-Hartung adjustment, the t with k - p df) quantile and
``sqrt(se^2 + tau^2)``; I^2 of a random-effects model is
``100 tau^2 / (tau^2 + v~)`` with the typical within-study variance
``v~ = (k - p) / tr(P)``; the Knapp-Hartung factor is not truncated at 1
:footcite:`hartung2001,sidik2002`, and is 0 when the weighted residual sum of squares
is at most the machine epsilon (no residual at all: e.g. equal effects), which makes
the standard errors 0, the statistics infinite (NaN for a zero estimate) and the
moderator test undefined (NaN), as metafor 3.8 reports them (``se = 0``,
``zval = Inf``, ``QM = NA``).

References
----------
.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range, check_type

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Coefficient",
    "ConvergenceError",
    "MetaRegressionResult",
    "MetaResult",
    "Prediction",
    "Tau2Method",
    "TestType",
    "meta_analysis",
    "meta_regression",
]

logger = logging.getLogger(__name__)

#: Estimators of tau^2: fixed effect, DerSimonian-Laird, REML, Paule-Mandel.
Tau2Method = Literal["FE", "DL", "REML", "PM"]
#: Inference for the coefficients: normal (``"z"``) or Knapp-Hartung (``"knha"``).
TestType = Literal["z", "knha"]

_METHODS: tuple[str, ...] = ("FE", "DL", "REML", "PM")
_TESTS: tuple[str, ...] = ("z", "knha")
# Numerical settings (not literature values): convergence of tau^2 to 1e-12 absolute
# (or 8 ulp of tau^2 for REML, when larger); _EPS is R's .Machine$double.eps, below
# which metafor takes the Knapp-Hartung residual sum of squares as 0.
_TAU2_TOL = 1e-12
_MAXITER = 1000
_EPS = float(np.finfo(float).eps)
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_STATSMODELS_HINT = (
    "plptms.meta needs statsmodels for pooling and Egger's test; install it with "
    "'pip install statsmodels'."
)


class ConvergenceError(RuntimeError):
    """An iterative estimator (REML Fisher scoring) that did not converge."""


class MetaResult(BaseModel):
    """Result of an intercept-only (pooled) meta-analysis.

    Parameters
    ----------
    method : {"FE", "DL", "REML", "PM"}
        tau^2 estimator (``"FE"``: fixed effect, tau^2 = 0).
    test : {"z", "knha"}
        Normal or Knapp-Hartung (Hartung-Knapp-Sidik-Jonkman) inference.
    level_pct : float
        Confidence level, %.
    k : int
        Number of studies.
    estimate, se : float
        Pooled effect and its standard error, in effect units.
    statistic, pvalue : float
        z (or t) statistic and two-sided p-value.
    ci_lower, ci_upper : float
        Confidence interval of the pooled effect, in effect units.
    df : int | None
        Degrees of freedom of the t distribution (``"knha"`` only).
    tau2 : float
        Between-study variance, in squared effect units.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q :footcite:`cochran1954`, its degrees of freedom and p-value.
    i2_pct : float
        I^2, % of total variability due to heterogeneity.
    h2 : float
        H^2 (unitless).
    pi_lower, pi_upper : float | None
        Prediction interval for the effect in a new study (random effects with at
        least two studies).
    effects, variances : tuple of float
        The study effects and sampling variances.
    labels : tuple of str
        Study labels.
    weights_pct : tuple of float
        Relative weights, %.
    engine : str
        Which implementation pooled the data.

    References
    ----------
    .. footbibliography::
    """

    model_config = _FROZEN

    method: Tau2Method
    test: TestType
    level_pct: float
    k: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    df: int | None
    tau2: float
    q: float
    q_df: int
    q_pvalue: float
    i2_pct: float
    h2: float
    pi_lower: float | None
    pi_upper: float | None
    effects: tuple[float, ...]
    variances: tuple[float, ...]
    labels: tuple[str, ...]
    weights_pct: tuple[float, ...]
    engine: str

    @property
    def tau(self) -> float:
        """Between-study standard deviation, in effect units."""
        return math.sqrt(self.tau2)

    @property
    def random_effects(self) -> bool:
        """Whether the model is a random-effects model."""
        return self.method != "FE"


class Coefficient(BaseModel):
    """One meta-regression coefficient.

    Parameters
    ----------
    name : str
        ``"intercept"`` or the moderator's name.
    estimate, se : float
        Coefficient and standard error (effect units per moderator unit).
    statistic, pvalue : float
        z (or t) statistic and two-sided p-value.
    ci_lower, ci_upper : float
        Confidence interval.
    """

    model_config = _FROZEN

    name: str
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float


class Prediction(BaseModel):
    """Predicted average effect at given moderator values.

    Parameters
    ----------
    moderators : tuple of float
        Moderator values (without the intercept).
    estimate, se : float
        Predicted average effect and its standard error, in effect units.
    ci_lower, ci_upper : float
        Confidence interval of the average effect.
    pi_lower, pi_upper : float | None
        Prediction interval for a new study (random effects only).
    """

    model_config = _FROZEN

    moderators: tuple[float, ...]
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    pi_lower: float | None
    pi_upper: float | None


class MetaRegressionResult(BaseModel):
    """Result of a (mixed-effects) meta-regression.

    Parameters
    ----------
    method, test, level_pct, k : see :class:`MetaResult`
        Model settings and number of studies.
    coefficients : tuple of Coefficient
        Intercept first (if fitted), then one per moderator.
    df : int | None
        Residual degrees of freedom of the t and F tests (``"knha"`` only).
    tau2 : float
        Residual between-study variance, in squared effect units.
    q_residual, q_residual_df, q_residual_pvalue : float, int, float
        Test for residual heterogeneity (QE).
    qm, qm_df, qm_pvalue : float, int, float
        Omnibus test of the moderators: Wald chi^2 (``"z"``) or F statistic
        (``"knha"``, with ``qm_df`` and ``df`` degrees of freedom).
    i2_pct, h2 : float
        Residual I^2 (%) and H^2.
    r2_pct : float | None
        % of tau^2 accounted for by the moderators (random effects with an
        intercept, when tau^2 without moderators is positive and, with REML, its
        estimate converged).
    moderator_names : tuple of str
        Names of the moderators.
    effects, variances, labels : tuple
        The data.
    design : tuple of tuple of float
        The model matrix, one row per study.
    vcov : tuple of tuple of float
        Covariance matrix of the coefficients.
    intercept : bool
        Whether an intercept was fitted.
    """

    model_config = _FROZEN

    method: Tau2Method
    test: TestType
    level_pct: float
    k: int
    coefficients: tuple[Coefficient, ...]
    df: int | None
    tau2: float
    q_residual: float
    q_residual_df: int
    q_residual_pvalue: float
    qm: float
    qm_df: int
    qm_pvalue: float
    i2_pct: float
    h2: float
    r2_pct: float | None
    moderator_names: tuple[str, ...]
    effects: tuple[float, ...]
    variances: tuple[float, ...]
    labels: tuple[str, ...]
    design: tuple[tuple[float, ...], ...]
    vcov: tuple[tuple[float, ...], ...]
    intercept: bool

    def coefficient(self, name: str) -> Coefficient:
        """Return a coefficient by name.

        Parameters
        ----------
        name : str
            ``"intercept"`` or a moderator name.

        Returns
        -------
        coefficient : Coefficient
            The coefficient.

        Raises
        ------
        ValueError
            If the name is unknown.
        """
        names = [c.name for c in self.coefficients]
        check_option(name, "name", names)
        return self.coefficients[names.index(name)]

    def test_coefficients(self, names: Sequence[str]) -> tuple[float, int, float]:
        """Wald-type test that several coefficients are all zero.

        Parameters
        ----------
        names : sequence of str
            Coefficient names (e.g. the dummy columns of one categorical moderator).

        Returns
        -------
        statistic : float
            Chi^2 statistic (``test="z"``) or F statistic (``test="knha"``, with
            ``df`` denominator degrees of freedom); NaN when the covariance matrix
            is singular (Knapp-Hartung without residual), as metafor's NA.
        df : int
            Number of coefficients tested.
        pvalue : float
            p-value.

        Raises
        ------
        ValueError
            If a name is unknown or repeated.
        """
        all_names = [c.name for c in self.coefficients]
        if not names or len(set(names)) != len(names):
            raise ValueError(
                f"Invalid value for 'names': got {list(names)}; allowed: distinct "
                f"coefficient names among {', '.join(all_names)}."
            )
        for nm in names:
            check_option(nm, "names", all_names)
        idx = [all_names.index(nm) for nm in names]
        beta = np.array([self.coefficients[i].estimate for i in idx])
        vb = np.array(self.vcov)[np.ix_(idx, idx)]
        wald = _wald(beta, vb)
        m = len(idx)
        if self.df is not None:
            from scipy import stats  # type: ignore[import-untyped]

            return wald / m, m, float(stats.f.sf(wald / m, m, self.df))
        return wald, m, _chi2_sf(wald, m)

    def predict(self, moderators: Sequence[float]) -> Prediction:
        """Predict the average effect at given moderator values.

        Parameters
        ----------
        moderators : sequence of float
            One value per moderator, in the moderators' units.

        Returns
        -------
        prediction : Prediction
            Predicted average effect with confidence and prediction intervals.

        Raises
        ------
        ValueError
            If the number of values does not match the moderators.
        """
        x = np.asarray(moderators, dtype=float).ravel()
        if x.size != len(self.moderator_names) or not np.all(np.isfinite(x)):
            raise ValueError(
                f"Invalid value for 'moderators': got {list(x)}; allowed: "
                f"{len(self.moderator_names)} finite values "
                f"({', '.join(self.moderator_names)})."
            )
        row = np.concatenate([[1.0], x]) if self.intercept else x
        beta = np.array([c.estimate for c in self.coefficients])
        vb = np.array(self.vcov)
        pred = float(row @ beta)
        se = float(np.sqrt(row @ vb @ row))
        crit = _crit(self.level_pct, self.df)
        pi: tuple[float | None, float | None] = (None, None)
        if self.method != "FE":
            half = crit * math.sqrt(se * se + self.tau2)
            pi = (pred - half, pred + half)
        return Prediction(
            moderators=tuple(float(v) for v in x),
            estimate=pred,
            se=se,
            ci_lower=pred - crit * se,
            ci_upper=pred + crit * se,
            pi_lower=pi[0],
            pi_upper=pi[1],
        )


# --------------------------------------------------------------------------------------
# Input handling


def _as_data(
    effects: ArrayLike, variances: ArrayLike, labels: Sequence[str] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], tuple[str, ...]]:
    y = np.asarray(effects, dtype=float)
    v = np.asarray(variances, dtype=float)
    if y.ndim != 1 or y.size < 1:
        raise ValueError(
            f"Invalid value for 'effects': got an array of shape {y.shape}; allowed: "
            "a 1-D sequence of at least one effect."
        )
    if v.shape != y.shape:
        raise ValueError(
            f"Invalid value for 'variances': got shape {v.shape}; allowed: the shape "
            f"of 'effects', {y.shape}."
        )
    if not np.all(np.isfinite(y)):
        raise ValueError(
            f"Invalid value for 'effects': got {y.tolist()}; allowed: finite numbers."
        )
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(
            f"Invalid value for 'variances': got {v.tolist()}; allowed range is "
            "(0, inf) (squared effect units)."
        )
    if labels is None:
        labs = tuple(f"Study {i + 1}" for i in range(y.size))
    else:
        labs = tuple(str(s) for s in labels)
        if len(labs) != y.size:
            raise ValueError(
                f"Invalid value for 'labels': got {len(labs)} labels; allowed: one "
                f"per effect ({y.size})."
            )
    return y, v, labs


def _check_settings(method: str, test: str, level_pct: float) -> None:
    check_option(method, "method", _METHODS)
    check_option(test, "test", _TESTS)
    check_type(level_pct, (int, float), "level_pct")
    check_range(
        level_pct,
        "level_pct",
        0.0,
        100.0,
        low_inclusive=False,
        high_inclusive=False,
        unit="%",
    )


def _crit(level_pct: float, df: int | None) -> float:
    from scipy import stats

    alpha = 1.0 - level_pct / 100.0
    if df is None:
        return float(stats.norm.isf(alpha / 2.0))
    return float(stats.t.isf(alpha / 2.0, df))


def _ratio(num: float, den: float) -> float:
    """Return ``num / den``; for ``den = 0`` R's values: +-inf, or NaN for 0 / 0."""
    if den != 0.0:
        return num / den
    return math.copysign(math.inf, num) if num != 0.0 else math.nan


def _wald(beta: NDArray[np.float64], vb: NDArray[np.float64]) -> float:
    """Return ``beta' vb^-1 beta``; NaN unless ``vb`` is positive definite.

    metafor computes its QM through a Cholesky factor and reports NA when that fails
    (e.g. a zero covariance matrix under Knapp-Hartung with no residual).
    """
    try:
        np.linalg.cholesky(vb)
    except np.linalg.LinAlgError:
        return math.nan
    return float(beta @ np.linalg.solve(vb, beta))


def _knha_factor(rss: float, df: int) -> float:
    """Knapp-Hartung factor ``s^2 = RSS / df``, 0 for no residual (as metafor).

    metafor 3.8 sets it to 0 when the weighted residual sum of squares is at most
    ``.Machine$double.eps``; the standard errors are then 0.
    """
    if rss <= _EPS:
        logger.warning(
            "Knapp-Hartung: no residual (weighted RSS %g <= machine epsilon), so the "
            "standard errors are 0 and the tests are degenerate (as in metafor)",
            rss,
        )
        return 0.0
    return rss / df


def _two_sided_p(stat: float, df: int | None) -> float:
    from scipy import stats

    if df is None:
        return float(2.0 * stats.norm.sf(abs(stat)))
    return float(2.0 * stats.t.sf(abs(stat), df))


# --------------------------------------------------------------------------------------
# Weighted least squares and tau^2 estimators (any design matrix)


def _wls(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64], tau2: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, NDArray[np.float64]]:
    """Return beta, (X'WX)^-1, the weighted residual sum of squares and weights."""
    w = 1.0 / (v + tau2)
    xtw = x.T * w
    a_inv = np.asarray(np.linalg.inv(xtw @ x), dtype=np.float64)
    beta = a_inv @ (xtw @ y)
    resid = y - x @ beta
    return beta, a_inv, float(np.sum(w * resid * resid)), w


def _p_matrix(
    v: NDArray[np.float64], x: NDArray[np.float64], tau2: float
) -> NDArray[np.float64]:
    w = 1.0 / (v + tau2)
    xtw = x.T * w
    a_inv = np.linalg.inv(xtw @ x)
    return np.diag(w) - xtw.T @ a_inv @ xtw


def q_generalised(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64], tau2: float
) -> float:
    """Generalised Q statistic at a given tau^2 (weighted residual sum of squares)."""
    return _wls(y, v, x, tau2)[2]


def _tau2_dl(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64]
) -> float:
    k, p = int(x.shape[0]), int(x.shape[1])
    q = q_generalised(y, v, x, 0.0)
    tr_p = float(np.trace(_p_matrix(v, x, 0.0)))
    return max(0.0, (q - (k - p)) / tr_p)


def _bracket_root(
    f: Callable[[float], float], target: float, start: float, y: NDArray[np.float64]
) -> float:
    """Root of the decreasing ``f(tau2) = target`` on [0, inf) by bracketing."""
    from scipy import optimize

    hi = max(1.0, 10.0 * start, 10.0 * float(np.var(y)))
    for _ in range(200):
        if f(hi) < target:
            break
        hi *= 2.0
    else:  # pragma: no cover - Q decreases to 0 as tau^2 grows
        raise RuntimeError("Could not bracket tau^2 (generalised Q does not fall).")
    root = optimize.brentq(
        lambda t: f(t) - target,
        0.0,
        hi,
        xtol=_TAU2_TOL,
        rtol=4 * np.finfo(float).eps,
        maxiter=_MAXITER,
    )
    return float(root)


def _tau2_pm(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64]
) -> float:
    k, p = int(x.shape[0]), int(x.shape[1])
    if q_generalised(y, v, x, 0.0) <= k - p:
        return 0.0
    return _bracket_root(
        lambda t: q_generalised(y, v, x, t), float(k - p), _tau2_dl(y, v, x), y
    )


def _reml_loglik(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64], tau2: float
) -> float:
    k, p = int(x.shape[0]), int(x.shape[1])
    _, a_inv, rss, _w = _wls(y, v, x, tau2)
    _sign, logdet = np.linalg.slogdet(np.linalg.inv(a_inv))
    return float(
        -0.5 * (k - p) * math.log(2 * math.pi)
        - 0.5 * np.sum(np.log(v + tau2))
        - 0.5 * logdet
        - 0.5 * rss
    )


def _tau2_reml(
    y: NDArray[np.float64], v: NDArray[np.float64], x: NDArray[np.float64]
) -> float:
    """REML tau^2 by Fisher scoring with step halving (Viechtbauer, 2005).

    Converged when a step is at most ``_TAU2_TOL`` or 8 ulp of tau^2 (large tau^2
    cannot move by less than its rounding), as the batched refits of
    :mod:`plptms.meta._permutation`.
    """
    tau2 = _tau2_dl(y, v, x)
    adj = 0.0
    for _ in range(_MAXITER):
        pm = _p_matrix(v, x, tau2)
        py = pm @ y
        adj = (float(py @ py) - float(np.trace(pm))) / float(np.sum(pm * pm))
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 += adj
        if abs(adj) <= max(_TAU2_TOL, 8.0 * _EPS * tau2):
            break
    else:
        lo, hi = sorted((tau2 - adj, tau2))
        raise ConvergenceError(
            f"REML Fisher scoring did not converge in {_MAXITER} iterations: tau^2 "
            f"still moves between {lo:.6g} and {hi:.6g} (metafor stops with 'Fisher "
            "scoring algorithm did not converge' on such data). Use method='PM' or "
            "'DL', which do not depend on this iteration, or report that REML "
            "failed."
        )
    # As metafor does: prefer tau^2 = 0 if the restricted likelihood is larger there.
    if tau2 > 0 and _reml_loglik(y, v, x, 0.0) > _reml_loglik(y, v, x, tau2):
        logger.warning("REML: likelihood larger at tau^2 = 0 than at %g; using 0", tau2)
        tau2 = 0.0
    return tau2


def _estimate_tau2(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    x: NDArray[np.float64],
    method: str,
) -> float:
    if method == "FE" or x.shape[0] <= x.shape[1]:
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v, x)
    if method == "PM":
        return _tau2_pm(y, v, x)
    return _tau2_reml(y, v, x)


def _heterogeneity(
    v: NDArray[np.float64],
    x: NDArray[np.float64],
    q: float,
    tau2: float,
    method: str,
) -> tuple[float, float]:
    """I^2 (%) and H^2 as metafor computes them."""
    k, p = int(x.shape[0]), int(x.shape[1])
    df = k - p
    if df < 1:
        return 0.0, 1.0
    if method == "FE":
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        return i2, q / df
    vt = df / float(np.trace(_p_matrix(v, x, 0.0)))
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def _chi2_sf(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.chi2.sf(q, df)) if df > 0 else 1.0


# --------------------------------------------------------------------------------------
# Pooling


def _pool_statsmodels(
    y: NDArray[np.float64], v: NDArray[np.float64], method: str
) -> tuple[float, float, float, float] | None:
    """Pool with statsmodels: (tau2, estimate, var, var_hksj); None: fall back.

    statsmodels' Paule-Mandel iteration returns tau^2 = 0 whenever a step lands
    where the estimating equation is negative, including by rounding at the root;
    its result is therefore checked against the estimating equation and ``None``
    (use the bracketing root search) is returned when it does not hold.
    """
    try:
        from statsmodels.stats.meta_analysis import (  # type: ignore[import-untyped]
            combine_effects,
        )
    except ImportError as exc:  # pragma: no cover - statsmodels is a dependency
        raise ImportError(_STATSMODELS_HINT) from exc

    method_re = "pm" if method == "PM" else "dl"
    kwds = {"atol": 1e-10, "maxiter": _MAXITER} if method == "PM" else {}
    # statsmodels does not truncate the DL tau^2; with a negative value its
    # random-effects fields are meaningless (and numpy warns): only the
    # fixed-effect fields are used then.
    with np.errstate(all="ignore"):
        res = combine_effects(y, v, method_re=method_re, **kwds)
    tau2 = max(0.0, float(res.tau2)) if method != "FE" else 0.0
    if method == "PM":
        k = y.size
        gap = q_generalised(y, v, np.ones((k, 1)), tau2) - (k - 1)
        if (tau2 > 0.0 and abs(gap) > 1e-8 * k) or (tau2 == 0.0 and gap > 0.0):
            logger.debug("statsmodels PM not at the root (gap %g); root search", gap)
            return None
    if tau2 == 0.0:
        return (
            0.0,
            float(res.mean_effect_fe),
            float(res.var_eff_w_fe),
            float(res.var_hksj_fe),
        )
    return (
        tau2,
        float(res.mean_effect_re),
        float(res.var_eff_w_re),
        float(res.var_hksj_re),
    )


def meta_analysis(
    effects: ArrayLike,
    variances: ArrayLike,
    *,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level_pct: float = 95.0,
    labels: Sequence[str] | None = None,
) -> MetaResult:
    """Pool study effects with a fixed- or random-effects model.

    Parameters
    ----------
    effects : array-like of float
        Study effects (e.g. Hedges' g, log ratios), in effect units.
    variances : array-like of float
        Their sampling variances (> 0), in squared effect units.
    method : {"FE", "DL", "REML", "PM"}
        ``"FE"``: fixed effect (inverse variance); random effects with the
        DerSimonian-Laird :footcite:`dersimonian1986`, restricted maximum likelihood
        :footcite:`viechtbauer2005` or Paule-Mandel :footcite:`paule1982` estimator
        of tau^2.
    test : {"z", "knha"}
        Normal-theory inference, or the Hartung-Knapp-Sidik-Jonkman adjustment
        (t distribution with k - 1 df) :footcite:`hartung2001,sidik2002`.
    level_pct : float
        Confidence level for intervals, % (default 95).
    labels : sequence of str | None
        Study labels (default ``"Study 1"``, ...).

    Returns
    -------
    result : MetaResult
        Pooled effect, heterogeneity (tau^2, Q, I^2, H^2) and prediction interval.

    Raises
    ------
    ValueError
        If the data or settings are invalid, or ``test="knha"`` with one study.
    ConvergenceError
        If REML Fisher scoring does not converge (as metafor, which stops too; use
        ``method="PM"`` or ``"DL"``).

    Notes
    -----
    With a single study tau^2 is 0, Q is 0 with 0 df (p = 1), as in metafor, and no
    prediction interval is given. With ``test="knha"`` and no residual (e.g. equal
    effects) the standard error is 0, the statistic infinite (NaN for a zero
    estimate), the p-value 0 (NaN) and the interval a point, as in metafor 3.8.

    References
    ----------
    .. footbibliography::
    """
    y, v, labs = _as_data(effects, variances, labels)
    _check_settings(method, test, level_pct)
    k = y.size
    if test == "knha" and k < 2:
        raise ValueError(
            "Invalid value for 'test': got 'knha' with 1 study; allowed: 'z', or "
            "'knha' with at least 2 studies."
        )
    x = np.ones((k, 1))
    pooled = None
    engine = "plptms (Fisher scoring REML)"
    if method in ("FE", "DL", "PM") and k >= 2:
        pooled = _pool_statsmodels(y, v, method)
        engine = "statsmodels.stats.meta_analysis.combine_effects"
    if pooled is None:
        tau2 = _estimate_tau2(y, v, x, method)
        beta, a_inv, rss, _ = _wls(y, v, x, tau2)
        df_r = k - 1
        var_hksj = float(a_inv[0, 0]) * rss / df_r if df_r > 0 else math.nan
        pooled = (tau2, float(beta[0]), float(a_inv[0, 0]), var_hksj)
        if method in ("FE", "DL", "PM"):
            engine = "plptms (weighted least squares, root search for PM)"
    tau2, est, var, var_hksj = pooled
    if test == "knha" and _knha_factor(q_generalised(y, v, x, tau2), k - 1) == 0.0:
        var_hksj = 0.0
    # Cochran's Q as a weighted residual sum of squares (no cancellation).
    q = q_generalised(y, v, x, 0.0)
    df = k - 1 if test == "knha" else None
    se = math.sqrt(var_hksj if test == "knha" else var)
    crit = _crit(level_pct, df)
    stat = _ratio(est, se)
    i2, h2 = _heterogeneity(v, x, q, tau2, method)
    pi: tuple[float | None, float | None] = (None, None)
    if method != "FE" and k > 1:
        half = crit * math.sqrt(se * se + tau2)
        pi = (est - half, est + half)
    w = 1.0 / (v + tau2)
    return MetaResult(
        method=method,
        test=test,
        level_pct=float(level_pct),
        k=k,
        estimate=est,
        se=se,
        statistic=stat,
        pvalue=_two_sided_p(stat, df),
        ci_lower=est - crit * se,
        ci_upper=est + crit * se,
        df=df,
        tau2=tau2,
        q=q,
        q_df=k - 1,
        q_pvalue=_chi2_sf(q, k - 1),
        i2_pct=i2,
        h2=h2,
        pi_lower=pi[0],
        pi_upper=pi[1],
        effects=tuple(float(a) for a in y),
        variances=tuple(float(a) for a in v),
        labels=labs,
        weights_pct=tuple(float(a) for a in 100.0 * w / w.sum()),
        engine=engine,
    )


# --------------------------------------------------------------------------------------
# Meta-regression


def _as_moderators(
    moderators: ArrayLike, k: int, names: Sequence[str] | None
) -> tuple[NDArray[np.float64], tuple[str, ...]]:
    m = np.asarray(moderators, dtype=float)
    if m.ndim == 1:
        m = m.reshape(-1, 1)
    if m.ndim != 2 or m.shape[0] != k or m.shape[1] < 1:
        raise ValueError(
            f"Invalid value for 'moderators': got shape {m.shape}; allowed: "
            f"({k}, n_moderators), one row per study."
        )
    if not np.all(np.isfinite(m)):
        raise ValueError(
            "Invalid value for 'moderators': got non-finite values; allowed: finite "
            "numbers (impute or drop studies with unreported moderators first)."
        )
    if names is None:
        labs = tuple(f"x{i + 1}" for i in range(m.shape[1]))
    else:
        labs = tuple(str(n) for n in names)
        if len(labs) != m.shape[1] or len(set(labs)) != len(labs):
            raise ValueError(
                f"Invalid value for 'names': got {list(labs)}; allowed: "
                f"{m.shape[1]} distinct names."
            )
        if "intercept" in labs:
            raise ValueError(
                "Invalid value for 'names': got 'intercept'; allowed: other names "
                "(the intercept is added by 'intercept=True')."
            )
    return m, labs


def meta_regression(
    effects: ArrayLike,
    variances: ArrayLike,
    moderators: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level_pct: float = 95.0,
    labels: Sequence[str] | None = None,
    intercept: bool = True,
) -> MetaRegressionResult:
    """Fit a fixed- or mixed-effects meta-regression by weighted least squares.

    Parameters
    ----------
    effects, variances : array-like of float
        Study effects and sampling variances, as in :func:`meta_analysis`.
    moderators : array-like of float, shape (k,) or (k, m)
        Study-level moderators (e.g. frequency in Hz, intensity in % RMT, pulses per
        session, sessions), one row per study.
    names : sequence of str | None
        Moderator names (default ``"x1"``, ...).
    method : {"FE", "DL", "REML", "PM"}
        Estimator of the residual tau^2 (generalised DL and PM as in metafor).
    test : {"z", "knha"}
        Normal-theory or Knapp-Hartung inference (t and F tests with k - p df)
        :footcite:`knapp2003`.
    level_pct : float
        Confidence level, %.
    labels : sequence of str | None
        Study labels.
    intercept : bool
        Add an intercept.

    Returns
    -------
    result : MetaRegressionResult
        Coefficients, residual heterogeneity, omnibus moderator test and R^2.

    Raises
    ------
    ValueError
        If the data are invalid, there are not more studies than coefficients, or
        the moderators are collinear.
    ConvergenceError
        If REML Fisher scoring does not converge (use ``method="PM"`` or ``"DL"``).

    Notes
    -----
    Weighted least squares with weights ``1 / (v_i + tau^2)`` and tau^2 estimated by
    REML by default, as recommended by :footcite:`thompson1999`. With
    ``test="knha"`` and no residual (the moderators fit the effects exactly) the
    standard errors are 0 and the omnibus test is NaN, as in metafor 3.8 (``QM =
    NA``).

    References
    ----------
    .. footbibliography::
    """
    y, v, labs = _as_data(effects, variances, labels)
    _check_settings(method, test, level_pct)
    check_type(intercept, bool, "intercept")
    k = y.size
    mods, mod_names = _as_moderators(moderators, k, names)
    x = np.column_stack([np.ones(k), mods]) if intercept else mods
    p = x.shape[1]
    if p == 0 or k <= p:
        raise ValueError(
            f"Invalid value for 'moderators': got {p} coefficients for {k} studies; "
            "allowed: fewer coefficients than studies."
        )
    if np.linalg.matrix_rank(x) < p:
        raise ValueError(
            "Invalid value for 'moderators': got collinear moderators (the model "
            "matrix is rank deficient); allowed: linearly independent columns."
        )
    tau2 = _estimate_tau2(y, v, x, method)
    beta, a_inv, rss, _ = _wls(y, v, x, tau2)
    df_res = k - p
    df = df_res if test == "knha" else None
    vb = a_inv * _knha_factor(rss, df_res) if test == "knha" else a_inv
    se = np.sqrt(np.diag(vb))
    crit = _crit(level_pct, df)
    coef_names = (("intercept",) if intercept else ()) + mod_names
    coefs = []
    for i, nm in enumerate(coef_names):
        stat = _ratio(float(beta[i]), float(se[i]))
        coefs.append(
            Coefficient(
                name=nm,
                estimate=float(beta[i]),
                se=float(se[i]),
                statistic=stat,
                pvalue=_two_sided_p(stat, df),
                ci_lower=float(beta[i] - crit * se[i]),
                ci_upper=float(beta[i] + crit * se[i]),
            )
        )
    # Omnibus test of the moderators (all coefficients except the intercept).
    idx = np.arange(1 if intercept else 0, p)
    b_m = beta[idx]
    wald = _wald(b_m, vb[np.ix_(idx, idx)])
    m = idx.size
    if test == "knha":
        from scipy import stats

        qm = wald / m
        qm_p = float(stats.f.sf(qm, m, df_res))
    else:
        qm, qm_p = wald, _chi2_sf(wald, m)
    q_res = q_generalised(y, v, x, 0.0)
    i2, h2 = _heterogeneity(v, x, q_res, tau2, method)
    r2: float | None = None
    if method != "FE" and intercept:
        try:
            tau2_0 = _estimate_tau2(y, v, np.ones((k, 1)), method)
        except ConvergenceError:
            # As metafor, whose R^2 is NA when the model without moderators fails.
            logger.warning("R^2 not computed: REML without moderators did not converge")
            tau2_0 = 0.0
        if tau2_0 > 0:
            r2 = max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)
    return MetaRegressionResult(
        method=method,
        test=test,
        level_pct=float(level_pct),
        k=k,
        coefficients=tuple(coefs),
        df=df,
        tau2=tau2,
        q_residual=q_res,
        q_residual_df=df_res,
        q_residual_pvalue=_chi2_sf(q_res, df_res),
        qm=qm,
        qm_df=m,
        qm_pvalue=qm_p,
        i2_pct=i2,
        h2=h2,
        r2_pct=r2,
        moderator_names=mod_names,
        effects=tuple(float(a) for a in y),
        variances=tuple(float(a) for a in v),
        labels=labs,
        design=tuple(tuple(float(a) for a in row) for row in x),
        vcov=tuple(tuple(float(a) for a in row) for row in vb),
        intercept=intercept,
    )
