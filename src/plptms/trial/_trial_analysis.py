"""The planned analyses of a trial, run on its analysis dataset.

:func:`analyse_trial` runs, for each endpoint of the definition:

- ``change_from_baseline``: a mixed model for repeated measures (unstructured
  covariance, REML, Satterthwaite degrees of freedom; :func:`plptms.trial.fit_mmrm`)
  of the change from baseline at every post-baseline visit where the scale is
  collected and observed, with fixed effects arm x visit, baseline (continuous) x
  visit and site (a factor). It reports the least-squares mean of each arm at the
  endpoint visit and the contrasts (see below);
- ``value`` (e.g. PGIC, which has no baseline): the same model of the value,
  without the baseline;
- ``responder_30`` / ``responder_50``: the responder rates at the endpoint visit
  at the IMMPACT thresholds of 30 % and 50 % pain reduction (Dworkin et al.,
  2008) :footcite:`dworkin2008`, with :func:`plptms.trial.responder_analysis`.
  Intention-to-treat convention: a patient without the endpoint value (or
  without a positive baseline, from which a reduction is undefined) counts as a
  non-responder; the complete-case figures are reported beside them.

Contrasts at a visit, from the arms' least-squares means ``m(arm)``:

- two conditions (active and sham arms): the stimulation effect, the mean of
  ``m`` over the active arms minus the mean over the sham arms. In a factorial
  with co-interventions (every combination is one arm) this is the main effect
  of stimulation averaged with equal weight over the co-intervention levels;
- each co-intervention: its first level minus each other level, averaged over
  stimulation and the other co-interventions (its main effect), and the
  interaction with stimulation, ``(active - sham | first level) - (active - sham
  | other level)``;
- otherwise (e.g. two active arms): each arm minus the first arm.

The first contrast is the endpoint's primary contrast. Each has its estimate,
standard error, Satterthwaite df, a confidence interval at ``1 - alpha``
(two-sided when ``sided == 2``; for a one-sided test the interval at
``1 - 2 alpha``, whose bound on the side of benefit is the one-sided ``1 - alpha``
bound) and the two-sided p-value of its t test.

For the first primary endpoint (when it is modelled by the MMRM) the analysis
also reports durability, the primary contrast at each later visit of the model,
and a moderator analysis for each covariate that every analysed patient has: the
covariate, centred at its mean, and its product with the indicator of active
stimulation (or, without a sham arm, of the second arm) added to the primary
model, as :func:`plptms.trial.moderator_analysis` does for one arm.

A primary endpoint that cannot be estimated (a visit or an arm without data, a
model that does not fit) raises :class:`TrialAnalysisError`; a secondary endpoint
that cannot be estimated is reported as ``"not estimable: <reason>"``. In the
per-protocol analysis, scores taken outside their visit window are left out.

.. footbibliography::
"""

from __future__ import annotations

import logging

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_type
from ._analysis import ResponderAnalysis, responder_analysis
from ._dataset import AnalysisDataset
from ._definition import Endpoint, TrialDefinition
from ._mmrm import MMRMEstimate, MMRMResult
from ._trial_models import (
    AnalysisSetName,
    _contrasts,
    _fit,
    _Model,
    _model_data,
    _NotEstimable,
    _outcome,
    _rows,
    _two_conditions,
    level_pct,
)

__all__ = [
    "EndpointAnalysis",
    "ModeratorResult",
    "TrialAnalysis",
    "TrialAnalysisError",
    "analyse_trial",
]

logger = logging.getLogger(__name__)
_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: How a missing responder value is counted (intention to treat).
MISSING_RESPONDER_RULE = (
    "A patient without the endpoint value, or without a positive baseline, counts "
    "as a non-responder (intention to treat); complete-case figures leave them out."
)
_MODEL_CHANGE = (
    "MMRM of the change from baseline (unstructured covariance, REML, Satterthwaite "
    "df): arm x visit + baseline x visit + site"
)
_MODEL_VALUE = (
    "MMRM of the value (unstructured covariance, REML, Satterthwaite df): arm x "
    "visit + site"
)


class TrialAnalysisError(ValueError):
    """A primary analysis that cannot be run on the data (too little data)."""


class EndpointAnalysis(BaseModel):
    """The analysis of one endpoint.

    Parameters
    ----------
    endpoint_id, kind, scale_id, visit_id, measure : str
        The endpoint, as defined.
    status : str
        ``"estimated"`` or ``"not estimable: <reason>"``.
    method : str
        The model or test, in words.
    visits : tuple of str
        The visits in the model (MMRM endpoints).
    n_patients, n_observations : int
        Patients and observations analysed (responders: patients counted).
    converged : bool | None
        Whether the MMRM optimisation met its tolerance (``None`` otherwise).
    lsmeans : tuple of MMRMEstimate
        Each arm's least-squares mean at the endpoint visit (MMRM endpoints).
    contrasts : tuple of MMRMEstimate
        The contrasts at the endpoint visit; the first is the primary contrast.
    responders : ResponderAnalysis | None
        Responder rates, missing counted as non-responders (responder endpoints).
    responders_complete_case : ResponderAnalysis | None
        The same, patients without the value left out.
    """

    model_config = _FROZEN

    endpoint_id: str
    kind: str
    scale_id: str
    visit_id: str
    measure: str
    status: str
    method: str
    visits: tuple[str, ...] = ()
    n_patients: int = 0
    n_observations: int = 0
    converged: bool | None = None
    lsmeans: tuple[MMRMEstimate, ...] = ()
    contrasts: tuple[MMRMEstimate, ...] = ()
    responders: ResponderAnalysis | None = None
    responders_complete_case: ResponderAnalysis | None = None

    @property
    def estimable(self) -> bool:
        """Whether the endpoint was estimated."""
        return self.status == "estimated"


class ModeratorResult(BaseModel):
    """A moderator analysis of the primary endpoint.

    Parameters
    ----------
    covariate : str
        The baseline characteristic.
    status : str
        ``"estimated"`` or ``"not estimable: <reason>"``.
    interaction : MMRMEstimate | None
        The change in the treatment effect (in outcome units) per unit of the
        covariate, with its Satterthwaite t test.
    """

    model_config = _FROZEN

    covariate: str
    status: str
    interaction: MMRMEstimate | None = None


class TrialAnalysis(BaseModel):
    """The planned analyses of a trial (JSON-serialisable).

    Parameters
    ----------
    trial_id : str
        The trial.
    version : int
        The definition version.
    analysis_set : {'itt', 'pp'}
        Intention to treat or per protocol.
    alpha : float
        The definition's type I error.
    sided : int
        1 or 2.
    level_pct : float
        Confidence level of the intervals, %.
    n_by_arm : dict of str to int
        Patients in the analysis set per arm.
    endpoints : tuple of EndpointAnalysis
        One per endpoint of the definition, in its order.
    durability : tuple of MMRMEstimate
        The first primary endpoint's primary contrast at each later visit.
    moderators : tuple of ModeratorResult
        One per covariate that every analysed patient has.
    notes : tuple of str
        The conventions used.
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    analysis_set: AnalysisSetName
    alpha: float
    sided: int
    level_pct: float
    n_by_arm: dict[str, int]
    endpoints: tuple[EndpointAnalysis, ...]
    durability: tuple[MMRMEstimate, ...]
    moderators: tuple[ModeratorResult, ...]
    notes: tuple[str, ...]

    def endpoint(self, endpoint_id: str) -> EndpointAnalysis:
        """Return the analysis of one endpoint.

        Parameters
        ----------
        endpoint_id : str
            The endpoint id.

        Returns
        -------
        analysis : EndpointAnalysis
            Its analysis.

        Raises
        ------
        ValueError
            If there is no such endpoint.
        """
        ids = [e.endpoint_id for e in self.endpoints]
        check_option(endpoint_id, "endpoint_id", ids)
        return self.endpoints[ids.index(endpoint_id)]


# -- endpoints -------------------------------------------------------------------------


def _mmrm_endpoint(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    endpoint: Endpoint,
    analysis_set: AnalysisSetName,
) -> tuple[EndpointAnalysis, MMRMResult, _Model]:
    model = _model_data(defn, dataset, endpoint, analysis_set)
    result = _fit(model)
    level = level_pct(defn)
    v = endpoint.visit_id
    lsmeans = tuple(
        result.contrast(
            result.lsmean_weights(v, a), label=f"{a} at {v}", level_pct=level
        ).model_copy(update={"arm": a, "visit": v})
        for a in defn.arm_ids
    )
    analysis = EndpointAnalysis(
        **_ids(endpoint),
        status="estimated",
        method=(
            _MODEL_CHANGE
            if endpoint.measure == "change_from_baseline"
            else _MODEL_VALUE
        ),
        visits=model.visits,
        n_patients=result.n_subjects,
        n_observations=result.n_obs,
        converged=result.converged,
        lsmeans=lsmeans,
        contrasts=_contrasts(defn, result, v, level),
    )
    return analysis, result, model


def _ids(endpoint: Endpoint) -> dict[str, str]:
    return {
        "endpoint_id": endpoint.id,
        "kind": endpoint.kind,
        "scale_id": endpoint.scale_id,
        "visit_id": endpoint.visit_id,
        "measure": endpoint.measure,
    }


def _responder_endpoint(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    endpoint: Endpoint,
    analysis_set: AnalysisSetName,
) -> EndpointAnalysis:
    threshold = endpoint.responder_threshold_pct
    assert threshold is not None
    both = _two_conditions(defn)
    arm, ref = ("active", "sham") if both else (defn.arm_ids[1], defn.arm_ids[0])
    rows: list[tuple[str, float, float | None]] = []
    for r in _rows(dataset, endpoint.scale_id, analysis_set):
        if r.visit != endpoint.visit_id:
            continue
        group = r.stimulation if both else r.arm
        follow = _outcome(r, False, analysis_set)
        if r.baseline is None or r.baseline <= 0:
            # No reduction is defined: counted as not responding (the 1.0 is a
            # placeholder that a missing follow-up never reads).
            rows.append((group, 1.0, None))
        else:
            rows.append((group, r.baseline, follow))
    level = level_pct(defn)
    try:
        itt = responder_analysis(rows, arm=arm, reference=ref, threshold_pct=threshold,
                                 missing="non_responder", level_pct=level)  # fmt: skip
        cc = responder_analysis(rows, arm=arm, reference=ref, threshold_pct=threshold,
                                missing="exclude", level_pct=level)  # fmt: skip
    except ValueError as exc:
        raise _NotEstimable(f"the responder analysis could not be run: {exc}") from None
    return EndpointAnalysis(
        **_ids(endpoint),
        status="estimated",
        method=(
            f"Responders at >= {threshold:g} % pain reduction (IMMPACT, Dworkin et "
            f"al. 2008), {arm} vs {ref}: Wilson intervals, Newcombe difference. "
            + MISSING_RESPONDER_RULE
        ),
        n_patients=sum(a.n for a in itt.arms),
        n_observations=sum(a.n for a in cc.arms),
        responders=itt,
        responders_complete_case=cc,
    )


def _moderators(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    model: _Model,
    analysis_set: AnalysisSetName,
) -> tuple[ModeratorResult, ...]:
    patients = [p for p in dataset.patients if analysis_set == "itt" or p.pp]
    names = [n for n in dataset.covariate_names
             if all(n in p.covariates for p in patients)]  # fmt: skip
    by_patient = {p.patient: p for p in patients}
    both = _two_conditions(defn)
    treated = np.asarray(
        [
            (by_patient[pid].stimulation == "active")
            if both
            else (by_patient[pid].arm == defn.arm_ids[1])
            for pid in model.columns["patient"]
        ],
        dtype=float,
    )
    level = level_pct(defn)
    out = []
    for name in names:
        values = np.asarray(
            [by_patient[pid].covariates[name] for pid in model.columns["patient"]]
        )
        centred = values - values.mean()
        main, term = f"{name}_centred", f"treatment_x_{name}"
        cols = {**model.columns, main: list(centred), term: list(centred * treated)}
        spec = model.spec.model_copy(
            update={"covariates": (*model.spec.covariates, main, term)}
        )
        try:
            res = _fit(_Model(cols, spec, model.visits, model.n_patients))
            est = res.coefficient(term, level_pct=level)
        except _NotEstimable as exc:
            out.append(ModeratorResult(covariate=name, status=f"not estimable: {exc}"))
            continue
        out.append(ModeratorResult(covariate=name, status="estimated", interaction=est))
    return tuple(out)


def _treated_label(defn: TrialDefinition) -> str:
    if _two_conditions(defn):
        return "indicator of active stimulation"
    return f"indicator of arm {defn.arm_ids[1]!r}"


def _check_inputs(
    defn: TrialDefinition, dataset: AnalysisDataset, analysis_set: str
) -> None:
    check_type(defn, TrialDefinition, "defn")
    check_type(dataset, AnalysisDataset, "dataset")
    check_option(analysis_set, "analysis_set", ("itt", "pp"))
    if (dataset.trial_id, dataset.version) != (defn.id, defn.version):
        raise ValueError(
            f"Invalid value for 'dataset': got trial {dataset.trial_id!r} version "
            f"{dataset.version}; allowed: a dataset built with trial {defn.id!r} "
            f"version {defn.version}."
        )
    if analysis_set == "itt" and dataset.analysis_set == "pp":
        raise ValueError(
            "Invalid value for 'analysis_set': got 'itt' for a dataset that holds "
            "the per-protocol set only; allowed: 'pp', or a dataset built with "
            "analysis_set='itt'."
        )


def analyse_trial(
    defn: TrialDefinition,
    dataset: AnalysisDataset,
    *,
    analysis_set: AnalysisSetName = "itt",
) -> TrialAnalysis:
    """Run the trial's planned analyses on its analysis dataset.

    Parameters
    ----------
    defn : TrialDefinition
        The definition the dataset was built with (endpoints, alpha, sidedness).
    dataset : AnalysisDataset
        From :func:`plptms.trial.build_dataset`.
    analysis_set : {'itt', 'pp'}
        Intention to treat (every randomised patient) or per protocol (the
        per-protocol patients, scores outside their window left out).

    Returns
    -------
    analysis : TrialAnalysis
        Every endpoint's analysis, durability and moderators (see the module
        notes).

    Raises
    ------
    TypeError
        If ``defn`` or ``dataset`` has the wrong type.
    ValueError
        If the dataset was built with another trial or version, or holds the
        per-protocol set only and ``analysis_set`` is ``'itt'``.
    TrialAnalysisError
        If a primary endpoint cannot be estimated (a visit or an arm without
        data, a model that cannot be fitted).

    References
    ----------
    .. footbibliography::
    """
    _check_inputs(defn, dataset, analysis_set)
    results: list[EndpointAnalysis] = []
    durability: tuple[MMRMEstimate, ...] = ()
    moderators: tuple[ModeratorResult, ...] = ()
    first_primary = defn.primary_endpoints[0].id
    level = level_pct(defn)
    for e in defn.endpoints:
        try:
            if e.responder_threshold_pct is not None:
                results.append(_responder_endpoint(defn, dataset, e, analysis_set))
                continue
            analysis, fit, model = _mmrm_endpoint(defn, dataset, e, analysis_set)
        except _NotEstimable as exc:
            if e.kind == "primary":
                raise TrialAnalysisError(
                    f"Invalid value for 'dataset': the primary endpoint {e.id!r} "
                    f"cannot be estimated: {exc}; allowed: data with every arm "
                    "observed at the endpoint visit."
                ) from None
            logger.warning("Endpoint %r not estimable: %s", e.id, exc)
            results.append(
                EndpointAnalysis(
                    **_ids(e), status=f"not estimable: {exc}", method="none"
                )
            )
            continue
        results.append(analysis)
        if e.id == first_primary:
            later = model.visits[model.visits.index(e.visit_id) + 1 :]
            durability = tuple(_contrasts(defn, fit, v, level)[0] for v in later)
            moderators = _moderators(defn, dataset, model, analysis_set)
    patients = [p for p in dataset.patients if analysis_set == "itt" or p.pp]
    notes = (
        MISSING_RESPONDER_RULE,
        "Per protocol: scores outside their visit window are left out."
        if analysis_set == "pp"
        else "Intention to treat: scores outside their visit window are kept.",
        "Moderators: the covariate centred at its mean and its product with the "
        + _treated_label(defn)
        + " added to the primary MMRM.",
    )
    return TrialAnalysis(
        trial_id=defn.id,
        version=defn.version,
        analysis_set=analysis_set,
        alpha=defn.alpha,
        sided=defn.sided,
        level_pct=level,
        n_by_arm={a: sum(p.arm == a for p in patients) for a in defn.arm_ids},
        endpoints=tuple(results),
        durability=durability,
        moderators=moderators,
        notes=notes,
    )
