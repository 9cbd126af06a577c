"""Interim looks of a virtual trial, analysed by the engine's group-sequential code.

A virtual trial of a definition with interim looks (``TrialDefinition.interim``:
information fractions and a Lan-DeMets spending function) is analysed at each
look as the trial itself would be, then at its end:

- **When a look happens.** The information fraction is the engine's: patients
  with the primary endpoint observed divided by the planned sample size (for a
  virtual trial, its ``n_patients``). Look ``k`` at planned fraction ``t_k``
  happens on the day the ``ceil(t_k n)``-th endpoint is observed (patients are
  randomised every ``recruitment_interval_days`` days and seen at the visit
  days of the definition). A look whose count is never reached (dropout) or
  would reach ``n`` is not taken.
- **The interim analysis** is :func:`plptms.trial.interim_analysis` on the
  dataset of that day (:func:`plptms.trial.build_dataset` of the patients
  randomised so far and the scores done so far; a withdrawal after that day is
  not yet known): the MMRM contrast put on the z scale, the Lan-DeMets boundary
  at the planned fractions of the earlier looks and the observed fraction of
  this one, and the decision. ``stop_for_efficacy`` or ``stop_control_better``
  stops the trial. A look whose model cannot be fitted continues.
- **The final analysis** of a trial that did not stop is the contrast of the
  planned primary analysis (:func:`plptms.trial.analyse_trial`) on the z scale
  (:func:`~plptms.trial._trial_interim.t_to_z`), tested by
  :func:`plptms.trial.evaluate_interim` with ``final=True``: the boundaries at
  the observed fractions of the looks taken, all the alpha left spent at the
  end.

The engine has efficacy boundaries only (both sides for a two-sided test, the
lower one in favour of the control); it has no futility boundary, so none is
simulated. Nothing here computes a boundary.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ._dataset import build_dataset
from ._sequential import evaluate_interim
from ._trial_analysis import TrialAnalysisError
from ._trial_interim import interim_analysis, t_to_z

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from ._dataset_inputs import AnalysisPatient, AnalysisScore
    from ._definition import TrialDefinition
    from ._mmrm import MMRMEstimate

__all__ = ["LookOutcome", "SequentialOutcome", "analyse_looks"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
LookDecision = Literal["stop_for_efficacy", "stop_control_better", "continue"]


class LookOutcome(BaseModel):
    """One interim look of a virtual trial.

    Parameters
    ----------
    look : int
        The look, 1-based among the definition's interim looks.
    planned_fraction : float
        The definition's information fraction of the look.
    taken : bool
        Whether the look happened and was analysed.
    reason : str | None
        Why not (``not reached``, ``not estimable: ...``).
    information_fraction : float | None
        Observed fraction: patients with the primary endpoint observed divided
        by the planned sample size.
    n_randomised : int
        Patients randomised by the day of the look (0 if not reached).
    z : float | None
        The look's statistic (positive favours active stimulation).
    upper, lower : float | None
        The look's boundaries on the z scale.
    decision : {'stop_for_efficacy', 'stop_control_better', 'continue'} | None
        The engine's decision (``None`` when not taken).
    """

    model_config = _FROZEN

    look: int
    planned_fraction: float
    taken: bool
    reason: str | None = None
    information_fraction: float | None = None
    n_randomised: int = 0
    z: float | None = None
    upper: float | None = None
    lower: float | None = None
    decision: LookDecision | None = None


class SequentialOutcome(BaseModel):
    """A virtual trial analysed with its interim looks.

    Parameters
    ----------
    spending : str
        The definition's spending function type.
    planned_fractions : tuple of float
        The information fractions of the definition's interim looks.
    looks : tuple of LookOutcome
        The interim looks up to the one that stopped the trial (all of them if
        it ran to the end).
    stopped_at : int | None
        The interim look that stopped the trial, or ``None`` if it ran to the
        final analysis.
    direction : {'upper', 'lower'} | None
        The boundary crossed (at the stop or the final analysis); ``lower``
        favours the control (two-sided tests only).
    rejected : bool
        Whether the null hypothesis was rejected with the looks: a two-sided
        test by a crossing of either boundary, a one-sided test by the upper.
    n_randomised : int
        Patients randomised when the trial ended (at the stop, or all).
    final_z, final_upper : float | None
        The final statistic and boundary (``None`` after an interim stop or when
        the final test could not be run).
    final_information_fraction : float | None
        The observed fraction at the final analysis.
    """

    model_config = _FROZEN

    spending: str
    planned_fractions: tuple[float, ...]
    looks: tuple[LookOutcome, ...]
    stopped_at: int | None
    direction: Literal["upper", "lower"] | None
    rejected: bool
    n_randomised: int
    final_z: float | None = None
    final_upper: float | None = None
    final_information_fraction: float | None = None


def _at(
    day: dt.date,
    patients: Sequence[AnalysisPatient],
    scores: Sequence[AnalysisScore],
) -> tuple[list[AnalysisPatient], list[AnalysisScore]]:
    """Return the records as they stood at the end of ``day``."""
    pts = []
    for p in patients:
        if p.randomised_on > day:
            continue
        if p.withdrawn_on is not None and p.withdrawn_on > day:
            p = p.model_copy(update={"withdrawn_on": None})
        pts.append(p)
    return pts, [s for s in scores if s.done_on <= day]


def _rejects(direction: str | None, sided: int) -> bool:
    return direction == "upper" or (sided == 2 and direction == "lower")


def analyse_looks(
    defn: TrialDefinition,
    patients: Sequence[AnalysisPatient],
    scores: Sequence[AnalysisScore],
    final: MMRMEstimate,
) -> SequentialOutcome:
    """Analyse a virtual trial at its interim looks, then at its end.

    Parameters
    ----------
    defn : TrialDefinition
        The analysis definition, with ``interim`` looks and ``sample_size``.
    patients, scores : sequence
        The whole trial's records (dates as simulated).
    final : MMRMEstimate
        The primary contrast of the final analysis (``analyse_trial``).

    Returns
    -------
    outcome : SequentialOutcome
        The looks, the stop and the rejection.

    Raises
    ------
    ValueError
        If ``defn`` has no interim look or no ``sample_size``.
    """
    if not defn.interim or defn.sample_size is None:
        raise ValueError(
            f"Invalid value for 'interim': got {len(defn.interim)} look(s) and "
            f"sample_size {defn.sample_size!r}; allowed: at least one look and a "
            "planned sample size."
        )
    ep = defn.primary_endpoints[0]
    size = defn.sample_size
    spending = defn.interim[0].spending
    planned = tuple(i.information_fraction for i in defn.interim)
    seen = sorted(s.done_on for s in scores if s.visit_id == ep.visit_id)
    looks: list[LookOutcome] = []
    zs: list[float] = []
    fractions: list[float] = []
    for k, t_k in enumerate(planned, start=1):
        need = math.ceil(t_k * size - 1e-9)
        if need > len(seen) or need >= size:
            looks.append(
                LookOutcome(look=k, planned_fraction=t_k, taken=False,
                            reason="not reached")
            )  # fmt: skip
            continue
        day = seen[need - 1]
        pts, scs = _at(day, patients, scores)
        try:
            rep = interim_analysis(defn, build_dataset(defn, pts, scs), look=k)
        except (TrialAnalysisError, ValueError) as exc:
            looks.append(
                LookOutcome(look=k, planned_fraction=t_k, taken=False,
                            reason=str(exc), n_randomised=len(pts))
            )  # fmt: skip
            continue
        looks.append(
            LookOutcome(
                look=k, planned_fraction=t_k, taken=True,
                information_fraction=rep.information_fraction,
                n_randomised=len(pts), z=rep.z, upper=rep.upper, lower=rep.lower,
                decision=rep.decision,
            )
        )  # fmt: skip
        zs.append(rep.z)
        fractions.append(rep.information_fraction)
        if rep.decision != "continue":
            direction: Literal["upper", "lower"] = (
                "upper" if rep.decision == "stop_for_efficacy" else "lower"
            )
            return SequentialOutcome(
                spending=spending, planned_fractions=planned, looks=tuple(looks),
                stopped_at=k, direction=direction,
                rejected=_rejects(direction, defn.sided), n_randomised=len(pts),
            )  # fmt: skip
    # the final analysis: a lower pain score is a benefit, so z is -t on the z scale
    z_final = -t_to_z(final.statistic, final.df)
    f_final = len({s.patient for s in scores if s.visit_id == ep.visit_id}) / size
    final_dir: Literal["upper", "lower"] | None = None
    upper: float | None = None
    if not fractions or f_final > fractions[-1]:
        decision = evaluate_interim(
            [*zs, z_final], [*fractions, f_final], 1.0, alpha=defn.alpha,
            spending=spending, sides=defn.sided, final=True,
        )  # fmt: skip
        upper, lower = decision.boundaries.upper[-1], decision.boundaries.lower[-1]
        if z_final >= upper:
            final_dir = "upper"
        elif z_final <= lower:
            final_dir = "lower"
    return SequentialOutcome(
        spending=spending, planned_fractions=planned, looks=tuple(looks),
        stopped_at=None, direction=final_dir,
        rejected=_rejects(final_dir, defn.sided), n_randomised=len(patients),
        final_z=z_final, final_upper=upper, final_information_fraction=f_final,
    )  # fmt: skip
