"""Sample size of a new two-arm sham-controlled trial from a pooled effect."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from ..utils import check_range
from ._constants import DEFAULT_ALPHA, DEFAULT_POWER, PREDICTION_LEVEL_PCT

__all__ = ["SampleSize", "sample_size"]


class SampleSize(BaseModel):
    """Sample size of a two-arm trial.

    Attributes
    ----------
    effect_size_d : float
        Pooled standardised mean difference given.
    planning_d : float
        Effect the trial is powered for (absolute value).
    n_treatment, n_control, n_total : int
        Participants per arm (rounded up) and in all.
    n_treatment_exact : float
        Unrounded size of the treatment arm.
    achieved_power : float
        Power with the rounded sizes.
    alpha, power, ratio, tau2, se : float
        Settings used.
    method : str
        How the planning effect and the sizes were found.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    effect_size_d: float
    planning_d: float
    n_treatment: int
    n_control: int
    n_total: int
    n_treatment_exact: float
    achieved_power: float
    alpha: float
    power: float
    ratio: float
    tau2: float
    se: float
    method: str


def sample_size(
    effect_size_d: float,
    *,
    tau2: float = 0.0,
    se: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    ratio: float = 1.0,
) -> SampleSize:
    """Participants needed for a two-arm sham-controlled trial.

    Parameters
    ----------
    effect_size_d : float
        Pooled standardised mean difference (its sign is ignored), != 0.
    tau2 : float
        Between-study variance of the effect, >= 0 (squared d units).
    se : float
        Standard error of the pooled effect, >= 0 (d units); with ``tau2`` it gives
        the prediction interval.
    alpha : float
        Two-sided significance level, in (0, 1).
    power : float
        Power, in (0, 1).
    ratio : float
        Control / treatment allocation ratio, > 0.

    Returns
    -------
    size : SampleSize
        Sizes per arm, rounded up, with the planning effect.

    Raises
    ------
    ValueError
        If a value is out of range, or the planning effect is not positive (the
        prediction interval includes no effect: no sample size powers for it).

    Notes
    -----
    Without heterogeneity (``tau2 = se = 0``) the trial is powered for
    ``|d|``. Otherwise it is powered for the lower bound of the 95 % prediction
    interval of the effect in a new study :footcite:`higgins2009`,
    ``|d| - z_{0.975} sqrt(tau2 + se^2)`` (normal approximation): a new trial
    samples a new true effect, so planning on the mean alone is optimistic. Sizes
    come from the two-sample t test power of statsmodels' ``TTestIndPower``
    :footcite:`seabold2010`, which reproduces Cohen's tables
    :footcite:`cohen1988` (d = 0.5, alpha = 0.05 two-sided, power = 0.8: 64 per
    group).

    References
    ----------
    .. footbibliography::
    """
    check_range(effect_size_d, "effect_size_d", None, None)
    if effect_size_d == 0.0:
        raise ValueError(
            "Invalid value for 'effect_size_d': got 0.0; allowed: a non-zero "
            "standardised mean difference."
        )
    check_range(tau2, "tau2", 0.0, None)
    check_range(se, "se", 0.0, None)
    check_range(alpha, "alpha", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range(power, "power", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range(ratio, "ratio", 0.0, None, low_inclusive=False)
    from scipy.stats import norm  # type: ignore[import-untyped]
    from statsmodels.stats.power import (  # type: ignore[import-untyped]
        TTestIndPower,
    )

    d = abs(float(effect_size_d))
    spread = math.sqrt(tau2 + se**2)
    if spread > 0.0:
        z = float(norm.ppf(0.5 + PREDICTION_LEVEL_PCT / 200.0))
        planning = d - z * spread
        method = (
            f"powered for the lower bound of the {PREDICTION_LEVEL_PCT:g} % "
            f"prediction interval, |d| - {z:.3f} * sqrt(tau2 + se^2) = "
            f"{planning:.4g} (Higgins et al., 2009)"
        )
        if planning <= 0.0:
            raise ValueError(
                f"Invalid value for 'tau2': got {tau2!r} (se {se!r}); the planning "
                f"effect |d| - {z:.3f} * sqrt(tau2 + se^2) = {planning:.4g} is not "
                "positive: the prediction interval includes no effect, so no "
                "sample size powers a new trial for it."
            )
    else:
        planning = d
        method = "powered for |d| (no heterogeneity given)"
    analysis = TTestIndPower()
    n1 = float(
        analysis.solve_power(
            effect_size=planning,
            nobs1=None,
            alpha=alpha,
            power=power,
            ratio=ratio,
            alternative="two-sided",
        )
    )
    n_t = math.ceil(n1 - 1e-9)
    n_c = math.ceil(n_t * ratio - 1e-9)
    achieved = float(
        analysis.power(
            effect_size=planning,
            nobs1=n_t,
            alpha=alpha,
            ratio=n_c / n_t,
            alternative="two-sided",
        )
    )
    return SampleSize(
        effect_size_d=float(effect_size_d),
        planning_d=planning,
        n_treatment=n_t,
        n_control=n_c,
        n_total=n_t + n_c,
        n_treatment_exact=n1,
        achieved_power=achieved,
        alpha=alpha,
        power=power,
        ratio=ratio,
        tau2=tau2,
        se=se,
        method=method + "; two-sample t test power (statsmodels TTestIndPower)",
    )
