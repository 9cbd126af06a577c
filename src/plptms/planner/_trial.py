"""Size a new sham-controlled trial from the pooled evidence (or a given effect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..meta import EffectTable, MetaResult, collect_effects, meta_analysis
from ._constants import DEFAULT_ALPHA, DEFAULT_POWER
from ._power import SampleSize, sample_size

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..meta import OutcomeStudy

__all__ = ["TrialDesign", "pool_evidence", "trial_design"]


class TrialDesign(BaseModel):
    """Sample sizes of a new two-arm sham-controlled trial.

    Attributes
    ----------
    source : str
        Where the effect came from (pooled evidence, or given).
    studies : tuple of str
        Studies pooled (empty when the effect was given).
    effect_size_d : float
        Effect used (standardised mean difference; negative favours active).
    se, tau2 : float
        Its standard error and the between-study variance (0 when not known).
    optimistic : SampleSize
        Powered for ``|d|`` alone.
    conservative : SampleSize | None
        Powered for the lower bound of the 95 % prediction interval (when ``se``
        or ``tau2`` is positive and the bound is an effect).
    conservative_note : str | None
        Why there is no conservative size.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    studies: tuple[str, ...]
    effect_size_d: float
    se: float
    tau2: float
    optimistic: SampleSize
    conservative: SampleSize | None
    conservative_note: str | None


def pool_evidence(
    evidence: Sequence[OutcomeStudy] | None = None,
) -> tuple[EffectTable, MetaResult | None]:
    """Pool the estimable pain effects (Hedges' g, end of treatment vs sham).

    Parameters
    ----------
    evidence : sequence of OutcomeStudy | None
        Outcome data; default :func:`plptms.meta.load_evidence`.

    Returns
    -------
    table : plptms.meta.EffectTable
        Every study's effect, or why it is not estimable.
    result : plptms.meta.MetaResult | None
        Random effects (REML, Hartung-Knapp) for two or more effects, the single
        effect as is (fixed, z) for one, ``None`` for none.
    """
    table = collect_effects(evidence)
    k = len(table.effects)
    if k == 0:
        return table, None
    res = meta_analysis(
        list(table.estimates),
        list(table.variances),
        method="REML" if k > 1 else "FE",
        test="knha" if k > 1 else "z",
        labels=list(table.labels),
    )
    return table, res


def trial_design(
    effect_size_d: float | None = None,
    *,
    tau2: float | None = None,
    se: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    ratio: float = 1.0,
    evidence: Sequence[OutcomeStudy] | None = None,
) -> TrialDesign:
    """Size a new trial, optimistically and allowing for heterogeneity.

    Parameters
    ----------
    effect_size_d : float | None
        Standardised mean difference to plan for; ``None`` uses the pooled effect
        of the evidence (see :func:`pool_evidence`).
    tau2 : float | None
        Between-study variance, >= 0; default the pooled one (0 for a given effect).
    se : float | None
        Standard error of the effect, >= 0; default the pooled one (0 for a given
        effect).
    alpha, power : float
        Two-sided significance level and power, in (0, 1).
    ratio : float
        Control / treatment allocation ratio, > 0.
    evidence : sequence of OutcomeStudy | None
        Outcome data; default :func:`plptms.meta.load_evidence`.

    Returns
    -------
    design : TrialDesign
        Both sample sizes (see :func:`sample_size`).

    Raises
    ------
    ValueError
        If a value is out of range, or no effect is estimable from the evidence.
    """
    studies: tuple[str, ...] = ()
    if effect_size_d is None:
        table, res = pool_evidence(evidence)
        if res is None:
            raise ValueError(
                "Invalid value for 'effect_size_d': got None and no study has an "
                "estimable effect; allowed: a standardised mean difference."
            )
        d = res.estimate
        se_used = res.se if se is None else se
        tau2_used = res.tau2 if tau2 is None else tau2
        studies = table.labels
        n_all = res.k + len(table.not_estimable)
        source = (
            f"Hedges' g of the only estimable study of {n_all}, nothing to pool"
            if res.k == 1
            else f"Hedges' g pooled over {res.k} estimable studies of {n_all} "
            f"({res.method}, {res.test})"
        )
    else:
        d = float(effect_size_d)
        se_used = 0.0 if se is None else se
        tau2_used = 0.0 if tau2 is None else tau2
        source = "given"
    optimistic = sample_size(d, alpha=alpha, power=power, ratio=ratio)
    conservative: SampleSize | None = None
    note: str | None = None
    if se_used > 0.0 or tau2_used > 0.0:
        try:
            conservative = sample_size(
                d, tau2=tau2_used, se=se_used, alpha=alpha, power=power, ratio=ratio
            )
        except ValueError as exc:
            note = str(exc)
    else:
        note = "no standard error or heterogeneity given: only |d| is planned for"
    return TrialDesign(
        source=source,
        studies=tuple(studies),
        effect_size_d=d,
        se=se_used,
        tau2=tau2_used,
        optimistic=optimistic,
        conservative=conservative,
        conservative_note=note,
    )
