"""Mixed model for repeated measures (MMRM): unstructured covariance, REML or ML.

The primary analysis of a parallel-group trial with repeated visits: the outcome
at each post-baseline visit is modelled with fixed effects for treatment arm,
visit, arm by visit, the baseline value (optionally by visit), site and any extra
factors or covariates, and an unstructured covariance between a patient's visits
(one parameter per variance and covariance). A patient with missing visits
contributes the sub-block of the covariance for the visits observed; nothing is
imputed (the likelihood-based analysis is valid when data are missing at random).

What is computed, and how
-------------------------
- The covariance is parametrised by its Cholesky factor ``Sigma = L L^T`` with the
  logarithm of the diagonal of ``L`` and its row-wise sub-diagonal entries
  (log-Cholesky, :footcite:`pinheiro1996`); the R package mmrm
  :footcite:`sabanesbove_mmrm` uses the same idea with ``L = D L~``. The
  fit is the same whatever the parametrisation; only ``theta`` differs.
- For a given covariance, the fixed effects are the generalised least-squares
  estimate, profiled out of the likelihood. The REML (or ML) criterion
  ``-2 log L`` and its analytic gradient in ``theta`` are minimised with SciPy's
  L-BFGS-B, then polished by Newton steps on a Hessian taken by central
  differences of the analytic gradient.
- The covariance of the fixed effects is ``Phi = (X^T V^-1 X)^-1`` (model based);
  the covariance of ``theta`` is the inverse Hessian of ``-log L`` at the
  optimum. Satterthwaite degrees of freedom for a contrast ``c`` are
  ``2 (c^T Phi c)^2 / (g^T W g)`` with ``g`` the gradient of ``c^T Phi c`` in
  ``theta``, computed from the analytic Jacobian of ``Phi``
  :footcite:`satterthwaite1946`, as mmrm's Satterthwaite vignette describes.
- Least-squares means follow the convention of SAS ``LSMEANS`` and R's emmeans:
  a factor that is not part of the mean (site, extra factors) is averaged with
  equal weight over its levels, and a continuous covariate (baseline) is set to
  its mean over the observations analysed.
- The log-likelihood includes its constants, as SAS PROC MIXED and mmrm report
  it: ``-2 log L_REML = sum log det Sigma_i + log det(X^T V^-1 X) + r^T V^-1 r
  + (N - p) log(2 pi)``; ML drops the second term and uses ``N``. AIC is
  ``-2 log L + 2 k`` and BIC ``-2 log L + k log(n)`` with ``k`` covariance
  parameters (plus the ``p`` fixed effects for ML) and ``n`` the number of
  patients with at least one observation, as mmrm counts them.

Validated against the published output of mmrm on its ``fev_data`` example
(``tests/trial/test_mmrm.py``).

References
----------
.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..utils import check_option, check_range, check_type

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence

    from numpy.typing import ArrayLike, NDArray

    _F = NDArray[np.float64]

__all__ = [
    "MMRMConvergenceError",
    "MMRMEstimate",
    "MMRMResult",
    "MMRMSpec",
    "fit_mmrm",
]

logger = logging.getLogger(__name__)

#: Estimation methods: restricted or full maximum likelihood.
MMRMMethod = Literal["REML", "ML"]
_METHODS: tuple[str, ...] = ("REML", "ML")
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_LOG_2PI = math.log(2.0 * math.pi)
# Numerical settings (not literature values).
_MAX_VISITS = 30
_GTOL_STOP = 1e-8  # Newton polishing stops below this max |d(-log L)/d theta|
_GTOL_CONVERGED = 1e-3  # at most this max |d(-log L)/d theta| counts as converged
_FD_REL_STEP = 1e-5  # central-difference step (tests only), relative to |theta|


class MMRMConvergenceError(RuntimeError):
    """The REML/ML optimisation of the covariance did not converge."""


class _Table(Protocol):
    """Anything indexable by column name: a dict of sequences, a pandas DataFrame."""

    def __getitem__(self, key: str, /) -> Any: ...


class MMRMSpec(BaseModel):
    """Which columns of the data set form the MMRM, and how.

    The fixed effects are, in this order: an intercept; the arm (treatment
    contrasts against the first arm level); the visit (against the first visit
    level); arm by visit; the baseline covariate; baseline by visit; the site
    factor; each extra factor; each extra continuous covariate. Column names of
    the design follow R's conventions (``"ARMCDTRT"``, ``"AVISITVIS2"``,
    ``"ARMCDTRT:AVISITVIS2"``).

    Parameters
    ----------
    outcome : str
        Column of the outcome (a missing value, NaN or None, is a missing visit).
    subject : str
        Column of the patient identifier.
    visit : str
        Column of the visit (a factor; its levels index the unstructured
        covariance).
    arm : str | None
        Column of the randomised arm (a factor, constant within a patient).
    baseline : str | None
        Column of the baseline value of the outcome (continuous covariate).
    site : str | None
        Column of the site (a factor).
    factors : tuple of str
        Extra factor columns (e.g. a stratification factor).
    covariates : tuple of str
        Extra continuous covariates.
    visit_effects : bool
        Whether the mean has a visit effect (``False`` only for special models,
        such as an intercept-only fit).
    arm_by_visit : bool
        Whether the arm effect differs by visit (needs ``arm`` and visit effects).
    baseline_by_visit : bool
        Whether the baseline slope differs by visit.
    levels : dict of str to tuple
        Order of the levels of a factor column; the first is the reference. By
        default the sorted distinct values.
    """

    model_config = _FROZEN

    outcome: str
    subject: str
    visit: str
    arm: str | None = None
    baseline: str | None = None
    site: str | None = None
    factors: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    visit_effects: bool = True
    arm_by_visit: bool = True
    baseline_by_visit: bool = False
    levels: dict[str, tuple[str | int, ...]] = {}

    @field_validator("outcome", "subject", "visit", "arm", "baseline", "site")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                f"Invalid value for a column name: got {value!r}; allowed: a "
                "non-empty string."
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MMRMSpec:
        named = [
            ("outcome", self.outcome),
            ("subject", self.subject),
            ("visit", self.visit),
            ("arm", self.arm),
            ("baseline", self.baseline),
            ("site", self.site),
            *(("factors", f) for f in self.factors),
            *(("covariates", c) for c in self.covariates),
        ]
        seen: dict[str, str] = {}
        for role, col in named:
            if col is None:
                continue
            if col in seen:
                raise ValueError(
                    f"Invalid value for {role!r}: got {col!r}; it is already the "
                    f"{seen[col]!r} column; allowed: each column in one role."
                )
            seen[col] = role
        factor_cols = {
            c for c in (self.visit, self.arm, self.site, *self.factors) if c is not None
        }
        for col, lev in self.levels.items():
            if col not in factor_cols:
                raise ValueError(
                    f"Invalid value for 'levels': got column {col!r}; allowed: the "
                    f"factor columns {sorted(factor_cols)}."
                )
            if len(lev) == 0 or len(set(lev)) != len(lev):
                raise ValueError(
                    f"Invalid value for 'levels[{col!r}]': got {lev!r}; allowed: "
                    "distinct levels, at least one."
                )
        if self.arm_by_visit and self.arm is not None and not self.visit_effects:
            raise ValueError(
                "Invalid value for 'arm_by_visit': got True with visit_effects=False; "
                "allowed: False when the mean has no visit effect."
            )
        if self.baseline_by_visit and (self.baseline is None or not self.visit_effects):
            raise ValueError(
                "Invalid value for 'baseline_by_visit': got True; allowed: only "
                "with a baseline column and visit effects."
            )
        return self


class MMRMEstimate(BaseModel):
    """A linear combination of the fixed effects with its t test and interval.

    Parameters
    ----------
    label : str
        What is estimated (a coefficient name, ``"TRT VIS2"`` for a
        least-squares mean, ``"TRT - PBO at VIS2"`` for an arm difference).
    estimate : float
        Estimate, in outcome units.
    se : float
        Model-based standard error, in outcome units.
    df : float
        Satterthwaite degrees of freedom.
    statistic : float
        t statistic, ``estimate / se``.
    pvalue : float
        Two-sided p-value of the t test of zero.
    ci_lower, ci_upper : float
        Confidence interval, in outcome units.
    level_pct : float
        Confidence level, %.
    arm, visit : str | None
        The arm and visit of a least-squares mean or an arm difference.
    """

    model_config = _FROZEN

    label: str
    estimate: float
    se: float
    df: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    level_pct: float
    arm: str | None = None
    visit: str | None = None


@dataclass(frozen=True)
class _Layout:
    """How the design columns were built, to form least-squares-mean rows."""

    names: tuple[str, ...]
    visit_levels: tuple[Hashable, ...]
    arm_levels: tuple[Hashable, ...] | None
    arm_cols: tuple[int, ...]  # column of arm level j (j >= 1)
    visit_cols: tuple[int, ...]  # column of visit level v (v >= 1)
    arm_visit_cols: dict[tuple[int, int], int]
    baseline_col: int | None
    baseline_visit_cols: tuple[int, ...]
    baseline_mean: float
    factor_blocks: tuple[tuple[int, ...], ...]  # columns of each averaged factor
    covariate_cols: tuple[int, ...]
    covariate_means: tuple[float, ...]


@dataclass(frozen=True)
class MMRMResult:
    """A fitted MMRM.

    Attributes
    ----------
    spec : MMRMSpec
        The model.
    method : {"REML", "ML"}
        Estimation method.
    names : tuple of str
        Names of the fixed effects, in the order of ``beta``.
    beta : ndarray, shape (p,)
        Fixed-effect estimates.
    beta_vcov : ndarray, shape (p, p)
        Model-based covariance of ``beta``.
    covariance : ndarray, shape (m, m)
        Estimated within-patient covariance across visits (outcome units^2).
    visit_levels : tuple of str
        The visits, in the order of the rows of ``covariance``.
    theta : ndarray, shape (m (m + 1) / 2,)
        Log-Cholesky covariance parameters.
    theta_vcov : ndarray
        Covariance of ``theta`` (inverse Hessian of ``-log L``).
    log_likelihood : float
        REML or ML log-likelihood at the optimum, constants included.
    aic, bic : float
        Information criteria (see the module notes).
    n_obs, n_subjects : int
        Observations and patients (with at least one observation) analysed.
    converged : bool
        Whether the optimisation met its tolerance.
    n_iter : int
        Quasi-Newton iterations plus Newton steps.
    gradient_max : float
        Largest absolute gradient of ``-log L`` in ``theta`` at the optimum.
    message : str
        The optimiser's message.
    """

    spec: MMRMSpec
    method: str
    names: tuple[str, ...]
    beta: NDArray[np.float64]
    beta_vcov: NDArray[np.float64]
    covariance: NDArray[np.float64]
    visit_levels: tuple[str, ...]
    theta: NDArray[np.float64]
    theta_vcov: NDArray[np.float64]
    log_likelihood: float
    aic: float
    bic: float
    n_obs: int
    n_subjects: int
    converged: bool
    n_iter: int
    gradient_max: float
    message: str
    _jacobian: NDArray[np.float64] = field(repr=False)
    _layout: _Layout = field(repr=False)

    # -- inference -----------------------------------------------------------------
    def contrast(
        self, weights: ArrayLike, *, label: str = "contrast", level_pct: float = 95.0
    ) -> MMRMEstimate:
        """Estimate ``c^T beta`` with a Satterthwaite t test and interval.

        Parameters
        ----------
        weights : array-like, shape (p,)
            Contrast vector ``c`` over the fixed effects (order of ``names``).
        label : str
            Label of the result.
        level_pct : float
            Confidence level, %, in (0, 100).

        Returns
        -------
        estimate : MMRMEstimate
            Estimate, standard error, degrees of freedom, t test and interval.

        Raises
        ------
        ValueError
            If ``weights`` has the wrong length or is not finite, or
            ``level_pct`` is outside (0, 100).
        """
        c = np.asarray(weights, dtype=float)
        p = self.beta.size
        if c.shape != (p,) or not np.all(np.isfinite(c)):
            raise ValueError(
                f"Invalid value for 'weights': got shape {c.shape}; allowed: {p} "
                "finite numbers, one per fixed effect."
            )
        level = check_range(
            level_pct, "level_pct", 0.0, 100.0, low_inclusive=False,
            high_inclusive=False, unit="%",
        )  # fmt: skip
        return _t_test(
            c, self.beta, self.beta_vcov, self._jacobian, self.theta_vcov,
            label, level,
        )  # fmt: skip

    def coefficients(self, *, level_pct: float = 95.0) -> tuple[MMRMEstimate, ...]:
        """Each fixed effect with its Satterthwaite t test.

        Parameters
        ----------
        level_pct : float
            Confidence level, %.

        Returns
        -------
        coefficients : tuple of MMRMEstimate
            One per fixed effect, in the order of ``names``.
        """
        eye = np.eye(self.beta.size)
        return tuple(
            self.contrast(eye[j], label=name, level_pct=level_pct)
            for j, name in enumerate(self.names)
        )

    def coefficient(self, name: str, *, level_pct: float = 95.0) -> MMRMEstimate:
        """One fixed effect by name.

        Parameters
        ----------
        name : str
            Name of the fixed effect (one of ``names``).
        level_pct : float
            Confidence level, %.

        Returns
        -------
        coefficient : MMRMEstimate
            Its estimate and Satterthwaite t test.

        Raises
        ------
        ValueError
            If there is no such fixed effect.
        """
        check_option(name, "name", self.names)
        j = self.names.index(name)
        return self.contrast(np.eye(self.beta.size)[j], label=name, level_pct=level_pct)

    def lsmean_weights(self, visit: Hashable, arm: Hashable | None = None) -> _F:
        """Contrast vector of the least-squares mean of an arm at a visit.

        Parameters
        ----------
        visit : str | int
            A visit level.
        arm : str | int | None
            An arm level (``None`` only for a model without an arm).

        Returns
        -------
        weights : ndarray, shape (p,)
            The vector ``l`` with ``l^T beta`` the least-squares mean.

        Raises
        ------
        ValueError
            If the visit or arm is not a level of the fit.
        """
        lay = self._layout
        iv = _level_index(visit, lay.visit_levels, "visit")
        ia = 0
        if lay.arm_levels is not None:
            if arm is None:
                raise ValueError(
                    "Invalid value for 'arm': got None; allowed values are "
                    f"{', '.join(repr(str(a)) for a in lay.arm_levels)}."
                )
            ia = _level_index(arm, lay.arm_levels, "arm")
        elif arm is not None:
            raise ValueError(
                f"Invalid value for 'arm': got {arm!r}; allowed: None (the model has "
                "no arm)."
            )
        w = np.zeros(len(lay.names))
        w[0] = 1.0
        if ia >= 1:
            w[lay.arm_cols[ia - 1]] = 1.0
        if iv >= 1 and lay.visit_cols:
            w[lay.visit_cols[iv - 1]] = 1.0
        if (ia, iv) in lay.arm_visit_cols:
            w[lay.arm_visit_cols[(ia, iv)]] = 1.0
        if lay.baseline_col is not None:
            w[lay.baseline_col] = lay.baseline_mean
            if iv >= 1 and lay.baseline_visit_cols:
                w[lay.baseline_visit_cols[iv - 1]] = lay.baseline_mean
        for block in lay.factor_blocks:
            for col in block:  # equal weight on each level, the reference included
                w[col] = 1.0 / (len(block) + 1)
        for col, mean in zip(lay.covariate_cols, lay.covariate_means, strict=True):
            w[col] = mean
        return w

    def lsmeans(self, *, level_pct: float = 95.0) -> tuple[MMRMEstimate, ...]:
        """Least-squares means of each arm at each visit.

        Parameters
        ----------
        level_pct : float
            Confidence level, %.

        Returns
        -------
        lsmeans : tuple of MMRMEstimate
            Ordered by visit, then arm (the reference arm first).
        """
        lay = self._layout
        arms: Sequence[Hashable | None] = (
            lay.arm_levels if lay.arm_levels is not None else (None,)
        )
        out = []
        for v in lay.visit_levels:
            for a in arms:
                label = f"{v}" if a is None else f"{a} {v}"
                est = self.contrast(
                    self.lsmean_weights(v, a), label=label, level_pct=level_pct
                )
                out.append(
                    est.model_copy(
                        update={"arm": None if a is None else str(a), "visit": str(v)}
                    )
                )
        return tuple(out)

    def arm_difference(
        self,
        visit: Hashable,
        arm: Hashable | None = None,
        reference: Hashable | None = None,
        *,
        level_pct: float = 95.0,
    ) -> MMRMEstimate:
        """Difference of least-squares means, ``arm`` minus ``reference``, at a visit.

        Parameters
        ----------
        visit : str | int
            The visit.
        arm : str | int | None
            The arm; by default the second arm level.
        reference : str | int | None
            The comparator; by default the first arm level (e.g. sham).
        level_pct : float
            Confidence level, %.

        Returns
        -------
        difference : MMRMEstimate
            Estimate, SE, Satterthwaite df, t test and interval.

        Raises
        ------
        ValueError
            If the model has no arm, or a level is unknown, or the two arms are
            the same.
        """
        lay = self._layout
        if lay.arm_levels is None or len(lay.arm_levels) < 2:
            raise ValueError(
                "Invalid value for 'arm': the model has no arm column; allowed: a "
                "fit with an arm of at least two levels."
            )
        arm = lay.arm_levels[1] if arm is None else arm
        reference = lay.arm_levels[0] if reference is None else reference
        ia = _level_index(arm, lay.arm_levels, "arm")
        ir = _level_index(reference, lay.arm_levels, "reference")
        if ia == ir:
            raise ValueError(
                f"Invalid value for 'reference': got {reference!r}, the same as "
                "'arm'; allowed: another arm."
            )
        w = self.lsmean_weights(visit, lay.arm_levels[ia]) - self.lsmean_weights(
            visit, lay.arm_levels[ir]
        )
        a_s, r_s = str(lay.arm_levels[ia]), str(lay.arm_levels[ir])
        est = self.contrast(w, label=f"{a_s} - {r_s} at {visit}", level_pct=level_pct)
        return est.model_copy(update={"arm": a_s, "visit": str(visit)})


def _level_index(value: Hashable, levels: Sequence[Hashable], field_: str) -> int:
    for j, lev in enumerate(levels):
        if value == lev or str(value) == str(lev):
            return j
    check_option(str(value), field_, [str(v) for v in levels])
    raise AssertionError  # pragma: no cover - check_option raised


def _t_test(
    c: NDArray[np.float64],
    beta: NDArray[np.float64],
    vcov: NDArray[np.float64],
    jac: NDArray[np.float64],
    theta_vcov: NDArray[np.float64],
    label: str,
    level: float,
) -> MMRMEstimate:
    from scipy import stats  # type: ignore[import-untyped]

    est = float(c @ beta)
    var = float(c @ vcov @ c)
    if not var > 0.0:
        raise ValueError(
            f"Invalid value for 'weights': got a contrast with variance {var:g}; "
            "allowed: a non-zero estimable contrast."
        )
    grad = np.einsum("i,kij,j->k", c, jac, c)
    denom = float(grad @ theta_vcov @ grad)
    df = 2.0 * var * var / denom if denom > 0.0 else math.inf
    se = math.sqrt(var)
    t = est / se
    pval = float(2.0 * stats.t.sf(abs(t), df))
    q = float(stats.t.ppf(0.5 + level / 200.0, df))
    return MMRMEstimate(
        label=label,
        estimate=est,
        se=se,
        df=df,
        statistic=t,
        pvalue=pval,
        ci_lower=est - q * se,
        ci_upper=est + q * se,
        level_pct=level,
    )


# -- data preparation ------------------------------------------------------------------


def _column(data: _Table, col: str, role: str) -> NDArray[Any]:
    try:
        values = data[col]
    except (KeyError, IndexError, TypeError):
        keys = getattr(data, "keys", None)
        avail = sorted(map(str, keys())) if callable(keys) else []
        raise ValueError(
            f"Invalid value for {role!r}: got column {col!r}, not in the data; "
            f"allowed: {avail}."
        ) from None
    return np.asarray(values, dtype=object).reshape(-1)


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _numeric(raw: NDArray[Any], col: str, *, allow_missing: bool) -> _F:
    out = np.empty(raw.size)
    for k, v in enumerate(raw):
        if _is_missing(v) or (hasattr(v, "__float__") and _nan_like(v)):
            if not allow_missing:
                raise ValueError(
                    f"Invalid value for {col!r}: got a missing value in row {k}; "
                    "allowed: a finite number."
                )
            out[k] = np.nan
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(
            v, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"Invalid type for {col!r}: got {type(v).__name__} ({v!r}) in row "
                f"{k}; allowed: int, float."
            )
        out[k] = float(v)
        if not math.isfinite(out[k]):
            raise ValueError(
                f"Invalid value for {col!r}: got {v!r} in row {k}; allowed: a "
                "finite number."
            )
    return out


def _nan_like(v: Any) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _factor(
    raw: NDArray[Any], col: str, given: tuple[Hashable, ...] | None
) -> tuple[NDArray[np.intp], tuple[Hashable, ...]]:
    for k, v in enumerate(raw):
        if _is_missing(v) or (isinstance(v, (float, np.floating)) and _nan_like(v)):
            raise ValueError(
                f"Invalid value for {col!r}: got a missing value in row {k}; "
                "allowed: a level."
            )
    values = [v.item() if isinstance(v, np.generic) else v for v in raw]
    if given is None:
        distinct = set(values)
        try:
            levels: tuple[Hashable, ...] = tuple(sorted(distinct))  # type: ignore[type-var,unused-ignore]
        except TypeError:
            levels = tuple(sorted(distinct, key=str))
    else:
        levels = given
    index = {lev: j for j, lev in enumerate(levels)}
    str_index = {str(lev): j for j, lev in enumerate(levels)}
    codes = np.empty(len(values), dtype=np.intp)
    for k, v in enumerate(values):
        j = index.get(v)
        if j is None:
            j = str_index.get(str(v))
        if j is None:
            allowed = ", ".join(repr(lev) for lev in levels)
            raise ValueError(
                f"Invalid value for {col!r}: got {v!r} in row {k}; allowed values "
                f"are {allowed}."
            )
        codes[k] = j
    return codes, levels


@dataclass
class _Problem:
    """Data padded to every visit: a missing visit is a zero row, masked out."""

    y: NDArray[np.float64]  # (n, m), 0 where missing
    x: NDArray[np.float64]  # (n, m, p), 0 where missing
    mask: NDArray[np.bool_]  # (n, m), True where observed
    n_obs: int
    reml: bool

    @property
    def n_visits(self) -> int:
        return int(self.mask.shape[1])

    @property
    def n_fixed(self) -> int:
        return int(self.x.shape[2])


def _build(
    data: _Table, spec: MMRMSpec
) -> tuple[_F, _F, NDArray[np.intp], NDArray[np.intp], _Layout]:
    """Design matrix, outcome, subject codes and visit codes of the analysed rows."""
    y_all = _numeric(_column(data, spec.outcome, "outcome"), spec.outcome,
                     allow_missing=True)  # fmt: skip
    n_rows = y_all.size
    if n_rows == 0:
        raise ValueError(
            "Invalid value for 'data': got 0 rows; allowed: at least one row."
        )

    def col(name: str, role: str) -> NDArray[Any]:
        raw = _column(data, name, role)
        if raw.size != n_rows:
            raise ValueError(
                f"Invalid value for {name!r}: got {raw.size} rows; allowed: "
                f"{n_rows}, as many as {spec.outcome!r}."
            )
        return raw

    keep = ~np.isnan(y_all)
    if not keep.any():
        raise ValueError(
            f"Invalid value for {spec.outcome!r}: got no observed value; allowed: "
            "at least one."
        )
    y = y_all[keep]

    def kept_factor(
        name: str, role: str
    ) -> tuple[NDArray[np.intp], tuple[Hashable, ...]]:
        raw = col(name, role)[keep]
        return _factor(raw, name, spec.levels.get(name))

    subj_codes, _ = _factor(col(spec.subject, "subject")[keep], spec.subject, None)
    visit_codes, visit_levels = kept_factor(spec.visit, "visit")
    if len(visit_levels) > _MAX_VISITS:
        raise ValueError(
            f"Invalid value for {spec.visit!r}: got {len(visit_levels)} visit "
            f"levels; allowed range is [1, {_MAX_VISITS}]."
        )
    observed_visits = np.bincount(visit_codes, minlength=len(visit_levels))
    if np.any(observed_visits == 0):
        empty = [str(visit_levels[j]) for j in np.flatnonzero(observed_visits == 0)]
        raise ValueError(
            f"Invalid value for {spec.visit!r}: levels {empty} have no observed "
            f"{spec.outcome!r}; allowed: every visit level observed at least once."
        )
    n = y.size
    columns: list[_F] = [np.ones(n)]
    names: list[str] = ["(Intercept)"]

    def add(vec: _F, name: str) -> int:
        columns.append(vec)
        names.append(name)
        return len(columns) - 1

    arm_levels: tuple[Hashable, ...] | None = None
    arm_cols: list[int] = []
    arm_codes = np.zeros(n, dtype=np.intp)
    if spec.arm is not None:
        arm_codes, arm_levels = kept_factor(spec.arm, "arm")
        arm_cols = [
            add((arm_codes == j).astype(float), f"{spec.arm}{arm_levels[j]}")
            for j in range(1, len(arm_levels))
        ]
    visit_cols: list[int] = []
    if spec.visit_effects:
        visit_cols = [
            add((visit_codes == v).astype(float), f"{spec.visit}{visit_levels[v]}")
            for v in range(1, len(visit_levels))
        ]
    arm_visit: dict[tuple[int, int], int] = {}
    if spec.arm is not None and arm_levels is not None and spec.arm_by_visit:
        for j in range(1, len(arm_levels)):
            for v in range(1, len(visit_levels)):
                arm_visit[(j, v)] = add(
                    ((arm_codes == j) & (visit_codes == v)).astype(float),
                    f"{spec.arm}{arm_levels[j]}:{spec.visit}{visit_levels[v]}",
                )
    baseline_col = None
    baseline_visit: list[int] = []
    baseline_mean = 0.0
    if spec.baseline is not None:
        b = _numeric(col(spec.baseline, "baseline")[keep], spec.baseline,
                     allow_missing=False)  # fmt: skip
        baseline_mean = float(b.mean())
        baseline_col = add(b, spec.baseline)
        if spec.baseline_by_visit:
            baseline_visit = [
                add(
                    b * (visit_codes == v),
                    f"{spec.baseline}:{spec.visit}{visit_levels[v]}",
                )
                for v in range(1, len(visit_levels))
            ]
    blocks: list[tuple[int, ...]] = []
    for fcol, role in [
        *([(spec.site, "site")] if spec.site is not None else []),
        *((f, "factors") for f in spec.factors),
    ]:
        codes, levels = kept_factor(fcol, role)
        blocks.append(
            tuple(
                add((codes == j).astype(float), f"{fcol}{levels[j]}")
                for j in range(1, len(levels))
            )
        )
    cov_cols: list[int] = []
    cov_means: list[float] = []
    for ccol in spec.covariates:
        v_ = _numeric(col(ccol, "covariates")[keep], ccol, allow_missing=False)
        cov_means.append(float(v_.mean()))
        cov_cols.append(add(v_, ccol))
    x = np.column_stack(columns)
    _check_rank(x, names)
    # Arm constant within a patient.
    if spec.arm is not None:
        n_subj = int(subj_codes.max()) + 1
        lo = np.full(n_subj, np.iinfo(np.intp).max)
        hi = np.full(n_subj, -1)
        np.minimum.at(lo, subj_codes, arm_codes)
        np.maximum.at(hi, subj_codes, arm_codes)
        bad = np.flatnonzero(lo != hi)
        if bad.size:
            raise ValueError(
                f"Invalid value for {spec.arm!r}: patient rows disagree on the arm "
                f"({bad.size} patients); allowed: one arm per patient."
            )
    layout = _Layout(
        names=tuple(names),
        visit_levels=visit_levels,
        arm_levels=arm_levels,
        arm_cols=tuple(arm_cols),
        visit_cols=tuple(visit_cols),
        arm_visit_cols=arm_visit,
        baseline_col=baseline_col,
        baseline_visit_cols=tuple(baseline_visit),
        baseline_mean=baseline_mean,
        factor_blocks=tuple(blocks),
        covariate_cols=tuple(cov_cols),
        covariate_means=tuple(cov_means),
    )
    return x, y, subj_codes, visit_codes, layout


def _check_rank(x: _F, names: list[str]) -> None:
    if np.linalg.matrix_rank(x) == x.shape[1]:
        return
    aliased: list[str] = []
    kept: list[int] = []
    for j in range(x.shape[1]):
        trial = [*kept, j]
        if np.linalg.matrix_rank(x[:, trial]) == len(trial):
            kept.append(j)
        else:
            aliased.append(names[j])
    raise ValueError(
        f"Invalid value for 'spec': the design matrix is rank deficient; got the "
        f"columns {aliased} aliased with earlier ones (e.g. a level without "
        "observations, or a covariate constant within a factor); allowed: a "
        "full-rank design."
    )


def _padded(
    x: _F,
    y: _F,
    subj: NDArray[np.intp],
    visit: NDArray[np.intp],
    m: int,
    reml: bool,
) -> _Problem:
    key = subj * m + visit
    uniq, counts = np.unique(key, return_counts=True)
    if np.any(counts > 1):
        k = int(uniq[np.flatnonzero(counts > 1)[0]])
        raise ValueError(
            f"Invalid value for 'visit': got two observations of one patient at one "
            f"visit (patient number {k // m}, visit number {k % m}); allowed: one "
            "per patient and visit."
        )
    subj_ids, subj_idx = np.unique(subj, return_inverse=True)
    n = subj_ids.size
    yp = np.zeros((n, m))
    xp = np.zeros((n, m, x.shape[1]))
    mask = np.zeros((n, m), dtype=bool)
    yp[subj_idx, visit] = y
    xp[subj_idx, visit] = x
    mask[subj_idx, visit] = True
    return _Problem(yp, xp, mask, int(y.size), reml)


# -- likelihood ------------------------------------------------------------------------


def _chol_from_theta(theta: _F, m: int) -> _F:
    lower = np.zeros((m, m))
    lower[np.diag_indices(m)] = np.exp(theta[:m])
    rows, cols = np.tril_indices(m, -1)
    lower[rows, cols] = theta[m:]
    return lower


def _theta_from_cov(cov: _F) -> _F:
    m = cov.shape[0]
    lower = np.linalg.cholesky(cov)
    rows, cols = np.tril_indices(m, -1)
    return np.concatenate([np.log(np.diag(lower)), lower[rows, cols]])


@dataclass
class _Eval:
    f: float  # -2 log L
    beta: _F
    a_inv: _F  # (X' V^-1 X)^-1
    grad: _F | None  # d f / d theta


def _weights(sigma: _F, mask: NDArray[np.bool_]) -> tuple[_F, _F, float]:
    """Per-patient whitening factors and inverses of the observed sub-blocks.

    A missing visit gets a unit variance and no covariance (so every block is
    m x m); its row of the data is zero and its row and column of the inverse
    are masked out, which leaves ``(S_o)^-1`` on the observed visits.
    """
    outer = mask[:, :, None] & mask[:, None, :]
    filled = np.where(outer, sigma[None, :, :], 0.0)
    idx = np.arange(mask.shape[1])
    filled[:, idx, idx] += ~mask
    chol = np.linalg.cholesky(filled)
    diag = chol[:, idx, idx]
    logdet = 2.0 * float(np.sum(np.log(diag)))  # missing visits add log(1) = 0
    c_inv = np.linalg.inv(chol)  # lower triangular
    c_inv = np.where(outer, c_inv, 0.0)
    w: _F = np.matmul(c_inv.transpose(0, 2, 1), c_inv)
    return np.asarray(c_inv, dtype=float), w, logdet


def _g_sigma(prob: _Problem, w: _F, r: _F, wx: _F, a_inv: _F) -> _F:
    """D f / d Sigma = sum_i W_i - W_i (r_i r_i' [+ X_i A^-1 X_i']) W_i."""
    wr = np.einsum("nab,nb->na", w, r)
    g_sigma: _F = w.sum(axis=0) - wr.T @ wr
    if prob.reml:
        n, m, p = wx.shape
        g_sigma -= np.einsum(
            "nap,nbp->ab", (wx.reshape(n * m, p) @ a_inv).reshape(n, m, p), wx
        )
    return g_sigma


def _evaluate(theta: _F, prob: _Problem, *, grad: bool) -> _Eval:
    from scipy.linalg import cho_factor, cho_solve  # type: ignore[import-untyped]

    m, p = prob.n_visits, prob.n_fixed
    n = prob.y.shape[0]
    lower = _chol_from_theta(theta, m)
    sigma = lower @ lower.T
    c_inv, w, logdet = _weights(sigma, prob.mask)
    xw = np.matmul(c_inv, prob.x).reshape(n * m, p)  # whitened X_i, stacked
    yw = np.einsum("nab,nb->na", c_inv, prob.y).reshape(n * m)
    a = xw.T @ xw
    b = xw.T @ yw
    a_fac = cho_factor(a, lower=True)
    beta = cho_solve(a_fac, b)
    a_inv = cho_solve(a_fac, np.eye(p))
    rw = yw - xw @ beta
    quad = float(rw @ rw)
    if prob.reml:
        logdet_a = 2.0 * float(np.sum(np.log(np.diag(a_fac[0]))))
        f = logdet + logdet_a + quad + (prob.n_obs - p) * _LOG_2PI
    else:
        f = logdet + quad + prob.n_obs * _LOG_2PI
    if not grad:
        return _Eval(f, beta, a_inv, None)
    # W_i is the inverse of the observed sub-block (zero elsewhere).
    r = np.where(prob.mask, prob.y - prob.x @ beta, 0.0)
    g_sigma = _g_sigma(prob, w, r, np.matmul(w, prob.x), a_inv)
    gl = 2.0 * g_sigma @ lower
    rows, cols = np.tril_indices(m, -1)
    g = np.concatenate([np.diag(gl) * np.diag(lower), gl[rows, cols]])
    return _Eval(f, beta, a_inv, g)


def _hessian_fd(theta: _F, prob: _Problem) -> _F:
    """Hessian of ``-2 log L`` by central differences of the analytic gradient."""
    k = theta.size
    h = np.empty((k, k))
    for j in range(k):
        step = _FD_REL_STEP * max(1.0, abs(theta[j]))
        tp, tm = theta.copy(), theta.copy()
        tp[j] += step
        tm[j] -= step
        gp = _evaluate(tp, prob, grad=True).grad
        gm = _evaluate(tm, prob, grad=True).grad
        assert gp is not None
        assert gm is not None
        h[:, j] = (gp - gm) / (2.0 * step)
    return 0.5 * (h + h.T)


def _d_sigma(lower: _F) -> _F:
    """D Sigma / d theta_t for every log-Cholesky parameter, shape (k, m, m)."""
    m = lower.shape[0]
    rows, cols = np.tril_indices(m, -1)
    entries = [(j, j) for j in range(m)] + list(zip(rows, cols, strict=True))
    d_sigma = np.zeros((len(entries), m, m))
    for t, (i, j) in enumerate(entries):
        e = np.zeros((m, m))
        e[i, j] = lower[i, j] if i == j else 1.0  # d L / d theta_t
        d_sigma[t] = e @ lower.T + lower @ e.T
    return d_sigma


def _jacobian(theta: _F, prob: _Problem, a_inv: _F) -> _F:
    """D Phi / d theta_k, ``Phi = (X' V^-1 X)^-1``, one p x p face per parameter.

    ``d Phi = Phi (sum_i X_i' W_i dSigma_i W_i X_i) Phi``.
    """
    lower = _chol_from_theta(theta, prob.n_visits)
    _, w, _ = _weights(lower @ lower.T, prob.mask)
    wx = np.matmul(w, prob.x)  # (n, m, p)
    outer = np.einsum("nap,nbq->abpq", wx, wx, optimize=True)
    inner = np.einsum("kab,abpq->kpq", _d_sigma(lower), outer, optimize=True)
    jac: _F = np.einsum("ij,kjl,lm->kim", a_inv, inner, a_inv, optimize=True)
    return jac


def _curvature(theta: _F, prob: _Problem, ev: _Eval, *, observed: bool) -> _F:
    """Return the expected information or observed Hessian of ``-log L`` in theta.

    With ``P = V^-1 - V^-1 X A^-1 X' V^-1`` (REML; ``V^-1`` in the traces for ML),
    the Hessian of ``f = -2 log L`` is ``tr(P V_ab) - y'P V_ab P y
    - tr(P V_a P V_b) + 2 y'P V_a P V_b P y``; its expectation, the Fisher
    information, is ``tr(P V_a P V_b)``. Every term is a sum over the patients'
    blocks except the ``X A^-1 X'`` parts, which are formed through ``A^-1``.
    """
    m = prob.n_visits
    lower = _chol_from_theta(theta, m)
    _, w, _ = _weights(lower @ lower.T, prob.mask)
    ds = _d_sigma(lower)
    k1 = np.einsum("nij,nkl->ijkl", w, w, optimize=True)
    trace = np.einsum("ajk,ijkl,bli->ab", ds, k1, ds, optimize=True)
    wx = np.matmul(w, prob.x)  # (n, m, p)
    if prob.reml:
        h = np.einsum("nap,pq,nbq->nab", wx, ev.a_inv, wx, optimize=True)
        k2 = np.einsum("nkl,nmj->klmj", w, h, optimize=True)
        t2 = np.einsum("ajk,klmj,blm->ab", ds, k2, ds, optimize=True)
        outer = np.einsum("nap,nbq->abpq", wx, wx, optimize=True)
        aj = ev.a_inv @ np.einsum("kab,abpq->kpq", ds, outer, optimize=True)
        t3 = np.einsum("aij,bji->ab", aj, aj, optimize=True)
        trace = trace - t2 - t2.T + t3
    if not observed:
        info: _F = 0.25 * (trace + trace.T)
        return info
    assert ev.grad is not None
    # 2 y'P V_a P V_b P y, with u_i = W_i r_i the blocks of P y.
    r = np.where(prob.mask, prob.y - prob.x @ ev.beta, 0.0)
    u = np.einsum("nab,nb->na", w, r)
    z = np.einsum("kab,nb->kna", ds, u)  # V_a P y, by block
    wz = np.einsum("nab,knb->kna", w, z)
    c = np.einsum("nap,kna->kp", wx, z)
    quad = np.einsum("kna,lna->kl", z, wz) - c @ ev.a_inv @ c.T
    # tr(G V_ab), G = d f / d Sigma: V_ab = E_a E_b' + E_b E_a' (+ the diagonal
    # parameters' own second derivative, which gives back their gradient).
    rows, cols = np.tril_indices(m, -1)
    ii = np.concatenate([np.arange(m), rows])
    jj = np.concatenate([np.arange(m), cols])
    val = np.concatenate([np.diag(lower), np.ones(rows.size)])
    g_sigma = _g_sigma(prob, w, r, wx, ev.a_inv)
    second = 2.0 * np.outer(val, val) * g_sigma[np.ix_(ii, ii)].T
    second *= jj[:, None] == jj[None, :]
    second[np.arange(m), np.arange(m)] += ev.grad[:m]
    hess = second - trace + 2.0 * quad
    out: _F = 0.25 * (hess + hess.T)
    return out


def _solve_pd(mat: _F, vec: _F) -> _F:
    from scipy.linalg import cho_factor, cho_solve  # type: ignore[import-untyped,unused-ignore]

    return np.asarray(cho_solve(cho_factor(mat, lower=True), vec))


def _optimise(
    prob: _Problem, theta0: _F, maxiter: int
) -> tuple[_F, int, str, float, bool]:
    """Newton (or Fisher scoring) with step halving; L-BFGS-B if it stalls."""
    theta = theta0
    ev = _evaluate(theta, prob, grad=True)
    n_iter = 0
    message = "Newton did not start"
    for n_iter in range(1, maxiter + 1):  # noqa: B007 - n_iter reported
        assert ev.grad is not None
        g = 0.5 * ev.grad
        if np.max(np.abs(g)) <= _GTOL_STOP:
            message = "Newton: gradient below tolerance"
            break
        try:  # Newton on the observed Hessian where it is positive definite
            step = _solve_pd(_curvature(theta, prob, ev, observed=True), g)
        except np.linalg.LinAlgError:
            try:  # else Fisher scoring on the expected information
                step = _solve_pd(_curvature(theta, prob, ev, observed=False), g)
            except np.linalg.LinAlgError:
                message = "Newton/Fisher scoring: singular information"
                break
        for shrink in 0.5 ** np.arange(12):
            cand = theta - shrink * step
            try:
                ev_new = _evaluate(cand, prob, grad=True)
            except np.linalg.LinAlgError:
                continue
            if ev_new.f <= ev.f + 1e-13 * abs(ev.f):
                break
        else:
            message = "Newton: no decrease along the step"
            break
        theta, ev = cand, ev_new
        if np.max(np.abs(shrink * step)) <= 1e-12 * max(1.0, np.max(np.abs(theta))):
            message = "Newton: step below tolerance"
            break
    assert ev.grad is not None
    gmax = float(np.max(np.abs(0.5 * ev.grad)))
    if gmax > _GTOL_CONVERGED:
        theta, extra, message, gmax = _lbfgsb(prob, theta, maxiter)
        n_iter += extra
    return theta, n_iter, message, gmax, gmax <= _GTOL_CONVERGED


def _lbfgsb(prob: _Problem, theta0: _F, maxiter: int) -> tuple[_F, int, str, float]:
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    scale = 1.0 / prob.n_obs

    def fun(t: _F) -> tuple[float, _F]:
        try:
            ev = _evaluate(t, prob, grad=True)
        except np.linalg.LinAlgError:
            return math.inf, np.zeros_like(t)
        assert ev.grad is not None
        return ev.f * scale, ev.grad * scale

    res = minimize(
        fun, theta0, jac=True, method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": 1e-12, "ftol": 1e-15},
    )  # fmt: skip
    theta = np.asarray(res.x, dtype=float)
    ev = _evaluate(theta, prob, grad=True)
    assert ev.grad is not None
    return (
        theta,
        int(res.nit),
        f"L-BFGS-B: {res.message}",
        float(np.max(np.abs(0.5 * ev.grad))),
    )


def fit_mmrm(
    data: _Table,
    spec: MMRMSpec,
    *,
    method: MMRMMethod = "REML",
    maxiter: int = 1000,
) -> MMRMResult:
    """Fit a mixed model for repeated measures with unstructured covariance.

    Parameters
    ----------
    data : mapping of column name to sequence
        Long-format data, one row per patient and visit (a dict of lists or
        arrays, or a pandas DataFrame). A missing outcome marks a missing visit.
    spec : MMRMSpec
        The columns and terms of the model.
    method : {"REML", "ML"}
        Restricted (default) or full maximum likelihood.
    maxiter : int
        Iteration limit of the quasi-Newton stage.

    Returns
    -------
    result : MMRMResult
        Estimates, their covariance, the covariance matrix across visits, the
        log-likelihood and convergence information; ``contrast``,
        ``coefficients``, ``lsmeans`` and ``arm_difference`` give Satterthwaite
        t tests.

    Raises
    ------
    TypeError
        If ``spec`` is not an :class:`MMRMSpec` or a column has the wrong type.
    ValueError
        If a column is missing or holds invalid values, a patient has two rows at
        one visit, a visit is never observed, the design is rank deficient, or
        there are too few observations to estimate the covariance.
    MMRMConvergenceError
        If the optimisation fails to reach a positive-definite optimum.

    Notes
    -----
    See the module documentation for the parametrisation, the likelihood and
    the Satterthwaite degrees of freedom :footcite:`sabanesbove_mmrm`.

    References
    ----------
    .. footbibliography::
    """
    check_type(spec, MMRMSpec, "spec")
    check_option(method, "method", _METHODS)
    check_type(maxiter, int, "maxiter")
    check_range(maxiter, "maxiter", 1, None)
    x, y, subj, visit, layout = _build(data, spec)
    m = len(layout.visit_levels)
    p = x.shape[1]
    n_obs = y.size
    k = m * (m + 1) // 2
    reml = method == "REML"
    if n_obs - (p if reml else 0) <= k:
        raise ValueError(
            f"Invalid value for 'data': got {n_obs} observations for {p} fixed "
            f"effects and {k} covariance parameters; allowed: more observations "
            "than parameters."
        )
    prob = _padded(x, y, subj, visit, m, reml)
    # Start: per-visit variance of the OLS residuals, no correlation.
    beta_ols, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta_ols
    var0 = np.array([np.mean(r[visit == v] ** 2) for v in range(m)])
    var0 = np.where(var0 > 0.0, var0, max(float(np.mean(r**2)), 1.0))
    theta0 = _theta_from_cov(np.diag(var0))
    theta, n_iter, message, gmax, converged = _optimise(prob, theta0, maxiter)
    ev = _evaluate(theta, prob, grad=False)
    hess = _curvature(theta, prob, _evaluate(theta, prob, grad=True), observed=True)
    eig = np.linalg.eigvalsh(hess)
    if not np.all(np.isfinite(eig)) or eig.min() <= 0.0:
        raise MMRMConvergenceError(
            "The MMRM fit did not reach a maximum of the likelihood (Hessian not "
            f"positive definite; smallest eigenvalue {eig.min():.3g}); the "
            "unstructured covariance may be over-parametrised for these data."
        )
    if not converged:
        logger.warning(
            "MMRM optimisation stopped with max |gradient| %.3g (%s)", gmax, message
        )
    theta_vcov = np.linalg.inv(hess)
    theta_vcov = 0.5 * (theta_vcov + theta_vcov.T)
    jac = _jacobian(theta, prob, ev.a_inv)
    lower = _chol_from_theta(theta, m)
    n_subj = int(np.unique(subj).size)
    loglik = -0.5 * ev.f
    n_par = k + (0 if reml else p)
    return MMRMResult(
        spec=spec,
        method=method,
        names=layout.names,
        beta=ev.beta,
        beta_vcov=0.5 * (ev.a_inv + ev.a_inv.T),
        covariance=lower @ lower.T,
        visit_levels=tuple(str(v) for v in layout.visit_levels),
        theta=theta,
        theta_vcov=theta_vcov,
        log_likelihood=loglik,
        aic=-2.0 * loglik + 2.0 * n_par,
        bic=-2.0 * loglik + n_par * math.log(n_subj),
        n_obs=n_obs,
        n_subjects=n_subj,
        converged=converged,
        n_iter=n_iter,
        gradient_max=gmax,
        message=message,
        _jacobian=jac,
        _layout=layout,
    )
