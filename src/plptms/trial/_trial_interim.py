"""An interim analysis of the primary endpoint against group-sequential boundaries.

:func:`interim_analysis` fits the primary endpoint's model (as
:func:`plptms.trial.analyse_trial` does, intention to treat) on the data so far,
and compares its primary contrast with the Lan-DeMets boundary of the look
:footcite:`lan1983`:

- the information fraction is the number of patients with the primary endpoint
  observed divided by the planned sample size (``TrialDefinition.sample_size``);
- the boundaries are those of :func:`plptms.trial.lan_demets_boundaries`, with
  the definition's spending function, alpha and sidedness, at the planned
  fractions of the earlier looks and the observed fraction at this look (the
  point of alpha spending: the boundary follows the information reached);
- the t statistic of the contrast (Satterthwaite df) is put on the z scale
  through its p-value, ``z = Phi^-1(F_t(t; df))``. The boundaries are normal
  quantiles; comparing a t statistic with few degrees of freedom to them would
  reject more often than the nominal level, whereas the transformed ``z`` has
  the t test's exact nominal p-value, so ``z >= b`` exactly when the one-sided
  t-test p-value is at most the look's nominal level ``1 - Phi(b)``. With many
  degrees of freedom the two coincide. The sign is set so that a positive ``z``
  favours active stimulation (lower pain is better on pain scales).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ..utils import check_type
from ._definition import TrialDefinition, _pain_intensity_ids
from ._mmrm import MMRMEstimate
from ._sequential import GroupSequentialBoundaries, lan_demets_boundaries
from ._trial_analysis import TrialAnalysisError, _check_inputs
from ._trial_models import (
    _contrasts,
    _fit,
    _model_data,
    _NotEstimable,
    level_pct,
)

if TYPE_CHECKING:
    from ._dataset import AnalysisDataset

__all__ = ["InterimReport", "interim_analysis"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Decision = Literal["stop_for_efficacy", "stop_control_better", "continue"]


class InterimReport(BaseModel):
    """The result of one interim look.

    Parameters
    ----------
    look : int
        The look (1-based, among the definition's interim looks).
    endpoint_id : str
        The primary endpoint analysed.
    n_observed : int
        Patients with the primary endpoint observed.
    sample_size : int
        The planned number randomised.
    information_fraction : float
        ``n_observed / sample_size``.
    planned_fraction : float
        The definition's fraction for this look.
    fractions : tuple of float
        The fractions the boundaries were computed at (planned for the earlier
        looks, observed for this one).
    contrast : MMRMEstimate
        The primary contrast at the endpoint visit (t test, Satterthwaite df).
    z : float
        Its statistic on the z scale (see the module notes); positive favours
        active stimulation.
    higher_is_better : bool
        Whether a higher outcome is a benefit (sets the sign of ``z``).
    boundaries : GroupSequentialBoundaries
        The Lan-DeMets boundaries at ``fractions``.
    upper, lower : float
        This look's boundaries (``lower`` is ``-inf`` for a one-sided test).
    nominal_alpha : float
        This look's one-sided nominal level, ``1 - Phi(upper)``.
    decision : {'stop_for_efficacy', 'stop_control_better', 'continue'}
        ``z >= upper``: stop for efficacy; ``z <= lower`` (two-sided): the
        boundary is crossed in favour of the control; else continue.
    """

    model_config = _FROZEN

    look: int
    endpoint_id: str
    n_observed: int
    sample_size: int
    information_fraction: float
    planned_fraction: float
    fractions: tuple[float, ...]
    contrast: MMRMEstimate
    z: float
    higher_is_better: bool
    boundaries: GroupSequentialBoundaries
    upper: float
    lower: float
    nominal_alpha: float
    decision: Decision


def t_to_z(t: float, df: float) -> float:
    """Return the normal quantile with the same one-sided p-value as ``t``.

    Parameters
    ----------
    t : float
        A t statistic.
    df : float
        Its degrees of freedom (``inf`` for a normal statistic).

    Returns
    -------
    z : float
        ``Phi^-1(F_t(t; df))``, computed from the smaller tail for accuracy.
    """
    from scipy import stats  # type: ignore[import-untyped]

    if math.isinf(df):
        return t
    tail = float(stats.t.sf(abs(t), df))
    return math.copysign(float(stats.norm.isf(tail)), t)


def interim_analysis(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    *,
    look: int,
    higher_is_better: bool | None = None,
) -> InterimReport:
    """Analyse the primary endpoint at an interim look and decide.

    Parameters
    ----------
    defn : TrialDefinition
        The definition (its ``sample_size``, ``interim`` looks, ``alpha``,
        ``sided`` and first primary endpoint, which must be modelled by the MMRM:
        ``change_from_baseline`` or ``value``).
    dataset : AnalysisDataset
        The intention-to-treat dataset so far.
    look : int
        Which interim look, 1 to the number of looks in ``defn.interim``.
    higher_is_better : bool | None
        Whether a higher outcome is a benefit; by default ``False`` on the pain
        intensity scales, and required for any other primary scale.

    Returns
    -------
    report : InterimReport
        The statistic, the boundaries and the decision.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``defn.sample_size`` is not set, ``look`` is not one of the interim
        looks, the observed fraction is not above the previous look's or reaches
        1, the dataset is per protocol, or ``higher_is_better`` is needed.
    TrialAnalysisError
        If the primary endpoint cannot be estimated.

    References
    ----------
    .. footbibliography::
    """
    _check_inputs(defn, dataset, "itt")
    check_type(look, int, "look")
    if defn.sample_size is None:
        raise ValueError(
            "Invalid value for 'sample_size': got None in the trial definition; "
            "allowed: the planned number randomised (the information fraction of "
            "an interim look is a share of it)."
        )
    if not defn.interim:
        raise ValueError(
            "Invalid value for 'interim': got () in the trial definition; allowed: "
            "one or more interim looks."
        )
    if not 1 <= look <= len(defn.interim):
        raise ValueError(
            f"Invalid value for 'look': got {look}; allowed range is "
            f"[1, {len(defn.interim)}] (the definition's interim looks)."
        )
    endpoint = defn.primary_endpoints[0]
    if endpoint.measure not in ("change_from_baseline", "value"):
        raise ValueError(
            f"Invalid value for 'measure': got {endpoint.measure!r} for the primary "
            f"endpoint {endpoint.id!r}; allowed: 'change_from_baseline' or 'value' "
            "(an MMRM contrast) for an interim analysis."
        )
    if higher_is_better is None:
        if endpoint.scale_id not in _pain_intensity_ids():
            raise ValueError(
                f"Invalid value for 'higher_is_better': got None for the primary "
                f"scale {endpoint.scale_id!r}; allowed: True or False (the default "
                "False holds for pain intensity scales only)."
            )
        higher_is_better = False
    check_type(higher_is_better, bool, "higher_is_better")
    try:
        model = _model_data(defn, dataset, endpoint, "itt")
        fit = _fit(model)
    except _NotEstimable as exc:
        raise TrialAnalysisError(
            f"Invalid value for 'dataset': the primary endpoint {endpoint.id!r} "
            f"cannot be estimated: {exc}."
        ) from None
    at_visit = {
        pid
        for pid, v in zip(model.columns["patient"], model.columns["visit"], strict=True)
        if v == endpoint.visit_id
    }
    n_obs = len(at_visit)
    fraction = n_obs / defn.sample_size
    planned = [i.information_fraction for i in defn.interim]
    previous = planned[look - 2] if look > 1 else 0.0
    if not previous < fraction < 1.0:
        raise ValueError(
            f"Invalid value for 'look': got look {look} at information fraction "
            f"{fraction:.4g} ({n_obs} of {defn.sample_size} patients with "
            f"{endpoint.id!r} observed); allowed range is ({previous:g}, 1) for an "
            "interim look (above the previous look's fraction, below the final)."
        )
    fractions = (*planned[: look - 1], fraction)
    bounds = lan_demets_boundaries(
        list(fractions), defn.alpha, spending=defn.interim[0].spending,
        sides=defn.sided,
    )  # fmt: skip
    contrast = _contrasts(defn, fit, endpoint.visit_id, level_pct(defn))[0]
    z = t_to_z(contrast.statistic, contrast.df)
    if not higher_is_better:
        z = -z
    upper, lower = bounds.upper[-1], bounds.lower[-1]
    decision: Decision = "continue"
    if z >= upper:
        decision = "stop_for_efficacy"
    elif z <= lower:
        decision = "stop_control_better"
    return InterimReport(
        look=look,
        endpoint_id=endpoint.id,
        n_observed=n_obs,
        sample_size=defn.sample_size,
        information_fraction=fraction,
        planned_fraction=planned[look - 1],
        fractions=fractions,
        contrast=contrast,
        z=z,
        higher_is_better=higher_is_better,
        boundaries=bounds,
        upper=upper,
        lower=lower,
        nominal_alpha=bounds.nominal_alpha[-1],
        decision=decision,
    )
