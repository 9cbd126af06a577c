"""A trial's registry records as analysis data: datasets, analyses, CONSORT, ODM.

The trial's science lives in :mod:`plptms.trial` and takes plain typed inputs;
this module alone reads the registry to build them:

- :func:`trial_analysis_inputs`: one :class:`plptms.trial.AnalysisPatient` per
  enrolment (arm, site, randomisation date at the site, sessions planned and
  delivered, withdrawal, baseline covariates) and one
  :class:`plptms.trial.AnalysisScore` per scale total recorded at a trial
  visit (the assessments of the registry visit that the trial visit links);
- :func:`trial_dataset`, :func:`trial_analysis`, :func:`trial_interim`: the
  dataset and the planned analyses on them;
- :func:`trial_consort`: the CONSORT 2010 flow counts;
- :func:`trial_odm`: a CDISC ODM 1.3.2 snapshot of the clinical data (blinded:
  no arm in it).

Everything that reveals the arms (datasets, analyses, CONSORT by arm) needs a
role in :data:`ANALYSIS_ROLES`; the command line has no log-in, so the caller states
the role, as for :func:`plptms.workflow.allocation_for`.

plptms conventions (not from a source):

- ``sessions_planned`` is the number of sessions of the arm's protocol;
  ``sessions_received`` counts the patient's completed delivery sessions of
  that protocol's assignment;
- a *major deviation* is a primary-endpoint visit recorded out of its window
  (a protocol deviation with a reason); it excludes the patient from the
  per-protocol set only;
- baseline covariates: ``months_since_amputation`` at randomisation (from the
  amputation date) and ``mu_alpha_power``, the alpha (mu) band power of the
  patient's earliest EEG recording no later than the first post-baseline
  visit's due day, when every patient has one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from ..access import Permission, roles_holding
from ._trials import _definition_of

if TYPE_CHECKING:
    from ..registry import EnrolmentOut, Registry
    from ..trial import (
        AnalysisDataset,
        AnalysisPatient,
        AnalysisScore,
        ConsortFlow,
        InterimReport,
        TrialAnalysis,
        TrialDefinition,
    )

__all__ = [
    "ANALYSIS_ROLES",
    "AnalysisRefusedError",
    "TrialAnalysisInputs",
    "trial_analysis",
    "trial_analysis_inputs",
    "trial_consort",
    "trial_dataset",
    "trial_interim",
    "trial_odm",
]

logger = logging.getLogger(__name__)

#: Roles that may see arms in datasets, analyses and the CONSORT flow by arm:
#: the holders of ``trial.analyse`` in :data:`plptms.access.PERMISSIONS` (the
#: trial statistician, who also serves the data monitoring committee's closed
#: sessions).
ANALYSIS_ROLES: Final[tuple[str, ...]] = roles_holding(Permission.TRIAL_ANALYSE)

_DAYS_PER_MONTH: Final[float] = 365.2425 / 12  # mean Gregorian month


class AnalysisRefusedError(ValueError):
    """An analysis that reveals the arms was asked by a role that may not see them."""


class TrialAnalysisInputs(BaseModel):
    """A trial's registry records as the analysis core takes them.

    Attributes
    ----------
    definition : plptms.trial.TrialDefinition
        The newest definition version.
    patients : tuple of plptms.trial.AnalysisPatient
        One per enrolment, in allocation order.
    scores : tuple of plptms.trial.AnalysisScore
        One per scale total at a recorded trial visit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    definition: Any
    patients: tuple[Any, ...]
    scores: tuple[Any, ...]


def _check_role(role: str) -> None:
    if role not in ANALYSIS_ROLES:
        raise AnalysisRefusedError(
            f"Invalid value for 'role': got {role!r}; allowed: "
            f"{', '.join(ANALYSIS_ROLES)} (the analysis reveals the arms)."
        )


def _patient_key(site: str, code: str) -> str:
    return f"{site}/{code}"


def _planned_sessions(protocol: Any) -> int:
    """Sessions of a protocol: the phases in turn, a phase's blocks together."""
    phases: dict[int, int] = {}
    for block in protocol.blocks:
        phases[block.phase] = max(phases.get(block.phase, 0), block.sessions or 0)
    total = sum(phases.values())
    if total < 1:
        raise ValueError(
            f"Invalid value for 'sessions' of protocol {protocol.id!r}: unreported; "
            "allowed: a trial arm's protocol states its number of sessions."
        )
    return total


def _sessions(reg: Registry, e: EnrolmentOut, protocol_id: str) -> int:
    done = 0
    for a in reg.list_assignments(e.site, e.code):
        if a.protocol_id == protocol_id:
            done += sum(d.status == "completed" for d in reg.list_deliveries(a.id))
    return done


def _covariates(
    reg: Registry, e: EnrolmentOut, randomised_on: dt.date, first_day: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    patient = reg.get_patient(e.site, e.code)
    if patient.amputation_date is not None:
        days = max((randomised_on - patient.amputation_date).days, 0)
        out["months_since_amputation"] = days / _DAYS_PER_MONTH
    limit = randomised_on + dt.timedelta(days=max(first_day, 0))
    eeg = [b for b in reg.list_biomarkers(e.site, e.code) if b.measured_on <= limit]
    if eeg:
        out["mu_alpha_power"] = float(min(eeg, key=lambda b: b.measured_on).alpha_power)
    return out


def trial_analysis_inputs(
    reg: Registry, trial_id: str, *, role: str
) -> TrialAnalysisInputs:
    """Read a trial's enrolments and visit scores as analysis inputs.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    role : str
        The caller's role; one of :data:`ANALYSIS_ROLES` (the inputs hold arms).

    Returns
    -------
    inputs : TrialAnalysisInputs
        The newest definition, the patients and the scores.

    Raises
    ------
    AnalysisRefusedError
        If ``role`` may not see the arms.
    plptms.registry.RecordNotFoundError
        If there is no such trial.
    """
    from ..trial import AnalysisPatient, AnalysisScore
    from ._trial_followup import randomisation_date

    _check_role(role)
    defn: TrialDefinition = _definition_of(reg.get_trial(trial_id), None)
    primary = next(ep for ep in defn.endpoints if ep.kind == "primary")
    post = [v.day for v in defn.visits[1:]]
    first_day = min(post) if post else 0
    withdrawn = {
        (w.site, w.code): w.withdrawn_on for w in reg.list_withdrawals(trial_id)
    }
    visits = reg.list_trial_visits(trial_id)
    wanted = {v.id: set(v.scales) for v in defn.visits}
    patients: list[AnalysisPatient] = []
    raw_cov: list[dict[str, float]] = []
    scores: list[AnalysisScore] = []
    for e in reg.list_enrolments(trial_id):
        arm = defn.arm(e.arm_id)
        protocol = defn.arm_protocol(arm.id)
        day0 = randomisation_date(reg, e)
        mine = [v for v in visits if (v.site, v.code) == (e.site, e.code)]
        deviation = any(
            v.visit_id == primary.visit_id and v.out_of_window for v in mine
        )
        raw_cov.append(_covariates(reg, e, day0, first_day))
        patients.append(
            AnalysisPatient(
                patient=_patient_key(e.site, e.code),
                site=e.site,
                arm_id=e.arm_id,
                randomised_on=day0,
                sessions_planned=_planned_sessions(protocol),
                sessions_received=_sessions(reg, e, protocol.id),
                major_deviation=deviation,
                withdrawn_on=withdrawn.get((e.site, e.code)),
            )
        )
        by_visit = {v.registry_visit_id: v for v in mine}
        for a in reg.list_assessments(e.site, e.code):
            tv = by_visit.get(a.visit_id)
            if tv is None or a.scale_id not in wanted.get(tv.visit_id, set()):
                continue  # not a trial visit, or a scale the schedule does not list
            scores.append(
                AnalysisScore(
                    patient=_patient_key(e.site, e.code),
                    visit_id=tv.visit_id,
                    scale_id=a.scale_id,
                    value=a.total,
                    done_on=tv.done_on,
                    in_window=not tv.out_of_window,
                )
            )
    # a covariate enters the moderator analyses only if every patient has it
    shared = set.intersection(*(set(c) for c in raw_cov)) if raw_cov else set()
    patients = [
        p.model_copy(update={"covariates": {k: c[k] for k in sorted(shared)}})
        for p, c in zip(patients, raw_cov, strict=True)
    ]
    logger.info(
        "Trial %s: %d patients, %d scores read.", trial_id, len(patients), len(scores)
    )
    return TrialAnalysisInputs(
        definition=defn, patients=tuple(patients), scores=tuple(scores)
    )


def trial_dataset(
    reg: Registry, trial_id: str, *, role: str, analysis_set: str = "itt"
) -> AnalysisDataset:
    """Build a trial's analysis dataset from the registry.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    role : str
        One of :data:`ANALYSIS_ROLES`.
    analysis_set : {'itt', 'pp'}
        The analysis set.

    Returns
    -------
    dataset : plptms.trial.AnalysisDataset
        Long and patient-level tables (``to_csv``, ``to_parquet``).

    Raises
    ------
    AnalysisRefusedError
        If ``role`` may not see the arms.
    ValueError
        If ``analysis_set`` is not allowed.
    """
    from ..trial import build_dataset

    inputs = trial_analysis_inputs(reg, trial_id, role=role)
    return build_dataset(
        inputs.definition,
        inputs.patients,
        inputs.scores,
        analysis_set=analysis_set,  # type: ignore[arg-type]
    )


def trial_analysis(
    reg: Registry, trial_id: str, *, role: str, analysis_set: str = "itt"
) -> TrialAnalysis:
    """Run the trial's planned analyses on its registry data.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    role : str
        One of :data:`ANALYSIS_ROLES`.
    analysis_set : {'itt', 'pp'}
        The analysis set.

    Returns
    -------
    analysis : plptms.trial.TrialAnalysis
        Every endpoint, durability and moderators.

    Raises
    ------
    AnalysisRefusedError
        If ``role`` may not see the arms.
    plptms.trial.TrialAnalysisError
        If the primary endpoint cannot be estimated from the data.
    """
    from ..trial import analyse_trial, build_dataset

    inputs = trial_analysis_inputs(reg, trial_id, role=role)
    dataset = build_dataset(
        inputs.definition,
        inputs.patients,
        inputs.scores,
        analysis_set=analysis_set,  # type: ignore[arg-type]
    )
    return analyse_trial(inputs.definition, dataset, analysis_set=analysis_set)  # type: ignore[arg-type]


def trial_interim(
    reg: Registry, trial_id: str, *, role: str, look: int
) -> InterimReport:
    """Run interim look ``look`` of the trial's group-sequential design.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    role : str
        One of :data:`ANALYSIS_ROLES`.
    look : int
        The look, from 1 (the definition's interim analyses, in order).

    Returns
    -------
    report : plptms.trial.InterimReport
        The information fraction, the statistic, the boundary and the decision.

    Raises
    ------
    AnalysisRefusedError
        If ``role`` may not see the arms.
    ValueError
        If the look does not exist or the definition has no sample size.
    """
    from ..trial import build_dataset, interim_analysis

    inputs = trial_analysis_inputs(reg, trial_id, role=role)
    dataset = build_dataset(inputs.definition, inputs.patients, inputs.scores)
    return interim_analysis(inputs.definition, dataset, look=look)


_EXCLUSION_LABELS: Final[dict[str, str]] = {
    "not_eligible": "Not meeting inclusion criteria",
    "declined": "Declined to participate",
    "other": "Other reasons",
}
_LOST: Final[frozenset[str]] = frozenset({"lost_to_follow_up"})


def trial_consort(reg: Registry, trial_id: str, *, role: str) -> ConsortFlow:
    """Count a trial's CONSORT 2010 flow from the registry.

    Assessed for eligibility: every patient with a screening outcome logged for
    the trial (:func:`record_screening_outcome`) or enrolled; excluded: the
    logged outcomes, by outcome. Per arm: allocated (enrolments); did not
    receive the allocated intervention (no completed session); lost to
    follow-up and discontinued (withdrawals, by reason); excluded from the
    analysis (no post-baseline value of the primary endpoint's scale).

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    role : str
        One of :data:`ANALYSIS_ROLES` (the flow is by arm).

    Returns
    -------
    flow : plptms.trial.ConsortFlow
        The counts (draw them with :func:`plptms.trial.write_consort`).

    Raises
    ------
    AnalysisRefusedError
        If ``role`` may not see the arms.
    """
    from ..trial import ConsortArm, ConsortFlow

    inputs = trial_analysis_inputs(reg, trial_id, role=role)
    defn = inputs.definition
    primary = next(ep for ep in defn.endpoints if ep.kind == "primary")
    baseline = defn.visits[0].id
    logged = reg.list_screening_outcomes(trial_id)
    excluded = Counter(_EXCLUSION_LABELS[str(o.outcome)] for o in logged)
    withdrawals = {
        _patient_key(w.site, w.code): str(w.reason)
        for w in reg.list_withdrawals(trial_id)
    }
    observed = {
        s.patient
        for s in inputs.scores
        if s.scale_id == primary.scale_id
        and s.visit_id != baseline
        and s.value is not None
    }
    arms = []
    for arm in defn.arms:
        mine = [p for p in inputs.patients if p.arm_id == arm.id]
        not_received = sum(p.sessions_received == 0 for p in mine)
        lost = Counter(
            "Lost to follow-up" for p in mine if withdrawals.get(p.patient) in _LOST
        )
        discontinued = Counter(
            withdrawals[p.patient].replace("_", " ").capitalize()
            for p in mine
            if p.patient in withdrawals and withdrawals[p.patient] not in _LOST
        )
        missing = sum(p.patient not in observed for p in mine)
        arms.append(
            ConsortArm(
                label=arm.label if len(arm.label) <= 60 else arm.id,
                allocated=len(mine),
                not_received={"Received no session": not_received}
                if not_received
                else {},
                lost=dict(lost),
                discontinued=dict(discontinued),
                excluded_from_analysis=(
                    {"No post-baseline primary outcome": missing} if missing else {}
                ),
            )
        )
    return ConsortFlow(
        assessed=len(logged) + len(inputs.patients),
        excluded=dict(excluded),
        arms=tuple(arms),
    )


def _odm_study(defn: TrialDefinition) -> Any:
    from ..scales import get_scale
    from ..trial import OdmEvent, OdmForm, OdmItem, OdmStudy

    scale_ids = sorted({s for v in defn.visits for s in v.scales})
    forms = []
    for sid in scale_ids:
        scale = get_scale(sid)
        items = [
            OdmItem(id=str(i.id), name=f"{sid} item {i.id}", data_type="float")
            for i in scale.items
        ]
        items.append(OdmItem(id="total", name=f"{sid} total", data_type="float"))
        items.append(OdmItem(id="done_on", name="visit date", data_type="date"))
        forms.append(OdmForm(id=sid, name=sid, items=tuple(items)))
    events = tuple(
        OdmEvent(id=v.id, name=v.label[:200], forms=tuple(v.scales))
        for v in defn.visits
    )
    return OdmStudy(
        id=defn.id,
        name=defn.title[:200],
        description="Exported by plptms (research software, not a medical device).",
        protocol_name=defn.id,
        version=defn.version,
        events=events,
        forms=tuple(forms),
    )


def trial_odm(
    reg: Registry, trial_id: str, *, created_at: dt.datetime | None = None
) -> bytes:
    """Export a trial's clinical data as a validated CDISC ODM 1.3.2 snapshot.

    Subjects are the enrolled patients by kit code (no arm: the export stays
    blinded); study events are the schedule's visits; forms are the scales,
    with their items, total and visit date.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    created_at : datetime.datetime | None
        The document's creation time (UTC now when ``None``).

    Returns
    -------
    xml : bytes
        The document, validated against the ODM 1.3.2 schema.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such trial.
    """
    from .. import __version__
    from ..trial import OdmRecord, odm_xml

    defn: TrialDefinition = _definition_of(reg.get_trial(trial_id), None)
    study = _odm_study(defn)
    wanted = {v.id: set(v.scales) for v in defn.visits}
    visits = reg.list_trial_visits(trial_id)
    records = []
    for e in reg.list_enrolments(trial_id):
        by_visit = {
            v.registry_visit_id: v
            for v in visits
            if (v.site, v.code) == (e.site, e.code)
        }
        for a in reg.list_assessments(e.site, e.code):
            tv = by_visit.get(a.visit_id)
            if tv is None or a.scale_id not in wanted[tv.visit_id]:
                continue
            values: dict[str, Any] = {str(k): v for k, v in a.items.items()}
            values["total"] = a.total
            values["done_on"] = tv.done_on
            records.append(
                OdmRecord(
                    subject=e.kit_code,
                    event=tv.visit_id,
                    form=a.scale_id,
                    values=values,
                )
            )
    return odm_xml(study, records, created_at=created_at, source_version=__version__)
