"""Trial analyses beyond the primary MMRM: responders, durability, moderators, sets.

- Responder rates at the IMMPACT thresholds of pain reduction from baseline
  (>= 30 %: moderately important; >= 50 %: substantially important; Dworkin et
  al. 2008) :footcite:`dworkin2008`, each with a Wilson score interval, and the
  difference between arms with Newcombe's hybrid score interval (Newcombe 1998,
  method 10) :footcite:`newcombe1998`; both computed by statsmodels.
- Durability: the arm difference of the fitted MMRM at each follow-up visit.
- Moderators: a treatment x baseline-characteristic interaction added to the
  MMRM (the characteristic centred at its mean), its Satterthwaite t test.
- Analysis sets: intention to treat (every randomised patient, in the arm
  allocated) and per protocol (received at least the stated share of the
  planned sessions, no major deviation).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping, Sequence

    from ._mmrm import MMRMEstimate, MMRMResult, MMRMSpec

__all__ = [
    "AnalysisSets",
    "ArmResponders",
    "ResponderAnalysis",
    "analysis_sets",
    "durability",
    "moderator_analysis",
    "responder_analysis",
]

_FROZEN = ConfigDict(frozen=True)


class ArmResponders(BaseModel):
    """Responders in one arm.

    Attributes
    ----------
    arm : str
        The arm.
    n : int
        Patients counted.
    responders : int
        Patients with at least the threshold's reduction.
    rate, ci_lower, ci_upper : float
        The proportion and its Wilson score interval.
    """

    model_config = _FROZEN

    arm: str
    n: int
    responders: int
    rate: float
    ci_lower: float
    ci_upper: float


class ResponderAnalysis(BaseModel):
    """Responder rates by arm and their difference.

    Attributes
    ----------
    threshold_pct : float
        Reduction from baseline that makes a responder, %.
    arms : tuple of ArmResponders
        Per arm.
    arm, reference : str
        The difference is ``arm`` minus ``reference``.
    difference, ci_lower, ci_upper : float
        The difference in proportions and its Newcombe hybrid score interval.
    missing : str
        How a patient without a follow-up value was counted.
    level_pct : float
        Confidence level, %.
    """

    model_config = _FROZEN

    threshold_pct: float
    arms: tuple[ArmResponders, ...]
    arm: str
    reference: str
    difference: float
    ci_lower: float
    ci_upper: float
    missing: str
    level_pct: float


def responder_analysis(
    rows: Sequence[tuple[str, float, float | None]],
    *,
    arm: str,
    reference: str,
    threshold_pct: float = 30.0,
    missing: Literal["non_responder", "exclude"] = "non_responder",
    level_pct: float = 95.0,
) -> ResponderAnalysis:
    """Count responders per arm and compare two arms.

    Parameters
    ----------
    rows : sequence of (arm, baseline, follow_up)
        One row per randomised patient: the arm, the baseline pain and the
        follow-up pain (``None`` when missing).
    arm, reference : str
        The arms compared (``arm`` minus ``reference``).
    threshold_pct : float
        Reduction from baseline, %, in (0, 100] (IMMPACT: 30 or 50).
    missing : {"non_responder", "exclude"}
        A missing follow-up counts as a non-responder (intention to treat, the
        conservative rule) or is left out.
    level_pct : float
        Confidence level, %.

    Returns
    -------
    result : ResponderAnalysis
        Rates, intervals and the difference.

    Raises
    ------
    ValueError
        On a baseline that is not positive (a reduction is undefined), an arm
        without patients, or a bad option.
    """
    from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
        confint_proportions_2indep,
        proportion_confint,
    )

    check_range(threshold_pct, "threshold_pct", 0.0, 100.0, low_inclusive=False)
    check_option(missing, "missing", ("non_responder", "exclude"))
    check_range(level_pct, "level_pct", 50.0, 100.0, high_inclusive=False)
    counts: dict[str, list[int]] = {}
    for k, (a, base, follow) in enumerate(rows):
        if not (isinstance(base, int | float) and math.isfinite(base) and base > 0):
            raise ValueError(
                f"Invalid value for 'rows[{k}].baseline': got {base!r}; allowed: a "
                "positive pain score (a reduction from 0 is undefined)."
            )
        if follow is None:
            if missing == "exclude":
                continue
            hit = False
        else:
            hit = (base - follow) / base * 100.0 >= threshold_pct - 1e-9
        c = counts.setdefault(str(a), [0, 0])
        c[0] += 1
        c[1] += int(hit)
    for name in (arm, reference):
        if name not in counts:
            raise ValueError(
                f"Invalid value for 'arm': got {name!r}; allowed: an arm with "
                f"patients ({', '.join(sorted(counts)) or 'none'})."
            )
    alpha = 1.0 - level_pct / 100.0
    per_arm = []
    for name, (n, r) in counts.items():
        lo, hi = proportion_confint(r, n, alpha=alpha, method="wilson")
        per_arm.append(
            ArmResponders(
                arm=name,
                n=n,
                responders=r,
                rate=r / n,
                ci_lower=float(lo),
                ci_upper=float(hi),
            )
        )
    (n1, r1), (n0, r0) = counts[arm], counts[reference]
    lo, hi = confint_proportions_2indep(
        r1, n1, r0, n0, method="newcomb", compare="diff", alpha=alpha
    )
    return ResponderAnalysis(
        threshold_pct=threshold_pct,
        arms=tuple(per_arm),
        arm=arm,
        reference=reference,
        difference=r1 / n1 - r0 / n0,
        ci_lower=float(lo),
        ci_upper=float(hi),
        missing=missing,
        level_pct=level_pct,
    )


def durability(
    result: MMRMResult,
    visits: Sequence[Hashable],
    *,
    arm: Hashable,
    reference: Hashable,
    level_pct: float = 95.0,
) -> list[MMRMEstimate]:
    """Return the arm difference at each visit (end of course, follow-ups).

    Parameters
    ----------
    result : MMRMResult
        The fitted primary model.
    visits : sequence
        The visits, in order.
    arm, reference : hashable
        The arms compared.
    level_pct : float
        Confidence level, %.

    Returns
    -------
    estimates : list of MMRMEstimate
        One per visit, with its Satterthwaite t test and interval.
    """
    return [
        result.arm_difference(v, arm, reference, level_pct=level_pct) for v in visits
    ]


def moderator_analysis(
    data: Mapping[str, Sequence[Any]],
    spec: MMRMSpec,
    moderator: str,
    *,
    arm: Hashable,
    level_pct: float = 95.0,
) -> tuple[MMRMEstimate, MMRMResult]:
    """Test a treatment x moderator interaction in the MMRM.

    The moderator (a baseline characteristic or biomarker, one value per
    patient) is centred at its mean over the rows and added as a covariate,
    with its product with the indicator of ``arm``; the interaction's
    coefficient is the change in the treatment effect (averaged over visits)
    per unit of the moderator.

    Parameters
    ----------
    data : mapping of str to sequence
        The analysis data (columns).
    spec : MMRMSpec
        The primary model's specification (must name the arm column).
    moderator : str
        The moderator's column.
    arm : hashable
        The arm whose difference from the others the interaction scales.
    level_pct : float
        Confidence level, %.

    Returns
    -------
    interaction : MMRMEstimate
        The interaction coefficient and its t test.
    result : MMRMResult
        The fitted model with the interaction.
    """
    import numpy as np

    from ._mmrm import fit_mmrm

    if spec.arm is None:
        raise ValueError(
            "Invalid value for 'spec.arm': got None; allowed: the arm column (a "
            "moderator modifies the treatment effect)."
        )
    if moderator not in data:
        raise ValueError(
            f"Invalid value for 'moderator': got {moderator!r}; allowed: one of "
            f"the data's columns ({', '.join(data)})."
        )
    values = np.asarray(data[moderator], dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"Invalid value for 'moderator': {moderator!r} has missing or "
            "non-finite values; allowed: a value for every row."
        )
    centred = values - values.mean()
    indicator = np.asarray([a == arm for a in data[spec.arm]], dtype=float)
    if not indicator.any():
        raise ValueError(
            f"Invalid value for 'arm': got {arm!r}; it is not in the column "
            f"{spec.arm!r}."
        )
    term = f"{spec.arm}_x_{moderator}"
    main = f"{moderator}_centred"
    extended = dict(data)
    extended[main] = list(centred)
    extended[term] = list(centred * indicator)
    new_spec = spec.model_copy(update={"covariates": (*spec.covariates, main, term)})
    result = fit_mmrm(extended, new_spec)
    return result.coefficient(term, level_pct=level_pct), result


class AnalysisSets(BaseModel):
    """Who is analysed in which set.

    Attributes
    ----------
    itt : tuple of str
        Intention to treat: every randomised patient.
    per_protocol : tuple of str
        Received at least ``min_share`` of the planned sessions and had no
        major protocol deviation.
    excluded_per_protocol : dict of str to str
        Why each patient is not in the per-protocol set.
    """

    model_config = _FROZEN

    itt: tuple[str, ...]
    per_protocol: tuple[str, ...]
    excluded_per_protocol: dict[str, str]


def analysis_sets(
    patients: Sequence[tuple[str, int, int, bool]],
    *,
    min_share: float = 0.8,
) -> AnalysisSets:
    """Form the intention-to-treat and per-protocol sets.

    Parameters
    ----------
    patients : sequence of (str, int, int, bool)
        One row per randomised patient: the patient, sessions received,
        sessions planned, and whether a major protocol deviation occurred.
    min_share : float
        Share of the planned sessions a per-protocol patient received, in
        (0, 1] (a trial's statistical analysis plan states it; 0.8 is a plptms
        default, not from a source).

    Returns
    -------
    sets : AnalysisSets
        The two sets and the reasons for per-protocol exclusions.
    """
    check_range(min_share, "min_share", 0.0, 1.0, low_inclusive=False)
    itt, pp, why = [], [], {}
    for k, (pid, received, planned, deviation) in enumerate(patients):
        if pid in itt:
            raise ValueError(
                f"Invalid value for 'patients[{k}]': {pid!r} is listed twice."
            )
        if planned <= 0 or received < 0 or received > planned:
            raise ValueError(
                f"Invalid value for 'patients[{k}]': got {received} of {planned} "
                "sessions; allowed: 0 <= received <= planned, planned > 0."
            )
        itt.append(pid)
        if deviation:
            why[pid] = "major protocol deviation"
        elif received < min_share * planned - 1e-9:
            why[pid] = f"received {received} of {planned} planned sessions"
        else:
            pp.append(pid)
    return AnalysisSets(
        itt=tuple(itt), per_protocol=tuple(pp), excluded_per_protocol=why
    )
