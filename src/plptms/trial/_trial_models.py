"""The model data and the planned contrasts of a trial's MMRM analyses.

Helpers of :mod:`plptms.trial._trial_analysis` and
:mod:`plptms.trial._trial_interim`: the observed rows of an endpoint's scale as
MMRM data (arm x visit, baseline x visit for a change, site), and the contrasts
of the arms' least-squares means at a visit (stimulation, co-intervention main
effects and interactions; see :mod:`plptms.trial._trial_analysis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._mmrm import MMRMConvergenceError, MMRMEstimate, MMRMResult, MMRMSpec, fit_mmrm

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ._dataset import AnalysisDataset, DatasetRow
    from ._definition import Endpoint, TrialDefinition

__all__ = ["contrast_weights", "level_pct"]

AnalysisSetName = Literal["itt", "pp"]


class _NotEstimable(Exception):
    """An endpoint that cannot be estimated; the message says why."""


# -- the model data --------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """An MMRM's data and specification for one endpoint."""

    columns: dict[str, list[Any]]
    spec: MMRMSpec
    visits: tuple[str, ...]
    n_patients: int


def level_pct(defn: TrialDefinition) -> float:
    """Confidence level of the trial's intervals, %: ``1 - alpha`` (two-sided).

    Parameters
    ----------
    defn : TrialDefinition
        The definition.

    Returns
    -------
    level_pct : float
        ``100 (1 - alpha)`` for a two-sided test, ``100 (1 - 2 alpha)`` for a
        one-sided one (its bound on the side of benefit is the one-sided bound).
    """
    return 100.0 * (1.0 - defn.alpha * (2 if defn.sided == 1 else 1))


def _rows(
    dataset: AnalysisDataset, scale_id: str, analysis_set: AnalysisSetName
) -> list[DatasetRow]:
    return [
        r
        for r in dataset.rows
        if r.scale_id == scale_id and (analysis_set == "itt" or r.pp)
    ]


def _outcome(row: DatasetRow, change: bool, analysis_set: AnalysisSetName) -> Any:
    if analysis_set == "pp" and row.in_window is False:
        return None
    return row.change if change else row.value


def _model_data(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    endpoint: Endpoint,
    analysis_set: AnalysisSetName,
) -> _Model:
    """Observed rows of the endpoint's scale, and the MMRM specification."""
    change = endpoint.measure == "change_from_baseline"
    kept = [
        (r, y)
        for r in _rows(dataset, endpoint.scale_id, analysis_set)
        if (y := _outcome(r, change, analysis_set)) is not None
    ]
    seen = {r.visit for r, _ in kept}
    visits = tuple(
        v.id for v in defn.visits[1:] if endpoint.scale_id in v.scales and v.id in seen
    )
    what = "change from baseline" if change else "value"
    if endpoint.visit_id not in seen:
        raise _NotEstimable(
            f"no observed {what} of {endpoint.scale_id!r} at visit "
            f"{endpoint.visit_id!r}"
        )
    at_visit = {r.arm for r, _ in kept if r.visit == endpoint.visit_id}
    empty = [a for a in defn.arm_ids if a not in at_visit]
    if empty:
        raise _NotEstimable(
            f"arm(s) {empty} have no observed {what} of {endpoint.scale_id!r} at "
            f"visit {endpoint.visit_id!r}"
        )
    sites = tuple(s for s in defn.site_codes if any(r.site == s for r, _ in kept))
    cols: dict[str, list[Any]] = {
        "patient": [r.patient for r, _ in kept],
        "visit": [r.visit for r, _ in kept],
        "arm": [r.arm for r, _ in kept],
        "site": [r.site for r, _ in kept],
        "y": [y for _, y in kept],
    }
    if change:
        cols["baseline"] = [r.baseline for r, _ in kept]
    spec = MMRMSpec(
        outcome="y",
        subject="patient",
        visit="visit",
        arm="arm",
        baseline="baseline" if change else None,
        site="site",
        baseline_by_visit=change and len(visits) > 1,
        levels={"arm": defn.arm_ids, "visit": visits, "site": sites},
    )
    return _Model(cols, spec, visits, len(set(cols["patient"])))


def _fit(model: _Model) -> MMRMResult:
    try:
        return fit_mmrm(model.columns, model.spec)
    except (ValueError, MMRMConvergenceError) as exc:
        raise _NotEstimable(f"the MMRM could not be fitted: {exc}") from None


# -- contrasts -------------------------------------------------------------------------


def _two_conditions(defn: TrialDefinition) -> bool:
    return {a.condition for a in defn.arms} == {"active", "sham"}


def contrast_weights(
    defn: TrialDefinition, result: MMRMResult, visit: str
) -> list[tuple[str, NDArray[np.float64]]]:
    """Return the planned contrasts at a visit, as weights over the fixed effects.

    Parameters
    ----------
    defn : TrialDefinition
        The definition (arms, conditions, co-interventions).
    result : MMRMResult
        A model fitted with the arm ids as the arm levels.
    visit : str
        The visit.

    Returns
    -------
    contrasts : list of (str, ndarray)
        Label and weights of each contrast (see the module notes); the first is
        the primary contrast.
    """
    lsm = {a.id: result.lsmean_weights(visit, a.id) for a in defn.arms}

    def mean(**want: str) -> NDArray[np.float64]:
        ws = [
            lsm[a.id]
            for a in defn.arms
            if all(
                (a.condition if k == "condition" else a.co_interventions[k]) == v
                for k, v in want.items()
            )
        ]
        out: NDArray[np.float64] = np.mean(ws, axis=0)
        return out

    out: list[tuple[str, NDArray[np.float64]]] = []
    both = _two_conditions(defn)
    if both:
        out.append(
            ("stimulation: active - sham",
             mean(condition="active") - mean(condition="sham"))
        )  # fmt: skip
    else:
        ref = defn.arms[0].id
        out += [(f"{a.id} - {ref}", lsm[a.id] - lsm[ref]) for a in defn.arms[1:]]
    for c in defn.co_interventions:
        first = c.levels[0]
        for other in c.levels[1:]:
            main = mean(**{c.id: first}) - mean(**{c.id: other})
            out.append((f"{c.id}: {first} - {other}", main))
            if both:
                inter = (
                    mean(condition="active", **{c.id: first})
                    - mean(condition="active", **{c.id: other})
                    - mean(condition="sham", **{c.id: first})
                    + mean(condition="sham", **{c.id: other})
                )
                out.append(
                    (f"stimulation x {c.id}: (active - sham | {first}) - "
                     f"(active - sham | {other})", inter)
                )  # fmt: skip
    return out


def _contrasts(
    defn: TrialDefinition, result: MMRMResult, visit: str, level: float
) -> tuple[MMRMEstimate, ...]:
    return tuple(
        result.contrast(w, label=f"{label} at {visit}", level_pct=level).model_copy(
            update={"visit": visit}
        )
        for label, w in contrast_weights(defn, result, visit)
    )
