"""Trial records at visits: co-interventions, medication, blinding; screening log.

- :func:`record_cointervention`: the trial's own co-intervention (an id of the
  definition's ``co_interventions``, e.g. mirror therapy) or ``other`` with a
  free name (e.g. physiotherapy), delivered or not, minutes, sessions.
- :func:`record_medication_change`: a concomitant medication started, stopped,
  or its dose increased or decreased.
- :func:`record_blinding_guess`: one answer per visit and respondent (patient,
  rater, operator) to the 3-answer (active, sham, don't know) or 5-answer
  questionnaire of :mod:`plptms.trial._blinding`.
- :func:`blinding_assessment`: the arm x guess table of one respondent at one
  visit, and James' and Bang's indices (:func:`plptms.trial.blinding_indices`);
  only the roles that may see arms (:data:`plptms.workflow.ARM_VIEW_ROLES`).
- :func:`record_screening_outcome`: a patient screened for the trial and not
  enrolled, for the CONSORT flow diagram.

Each record at a visit needs the trial visit recorded first
(:func:`plptms.workflow.record_trial_visit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..registry import BLINDING_ANSWERS_3, BLINDING_ANSWERS_5
from ._trial_followup import FollowUpRefusedError, _schedule_visit
from ._trials import ARM_VIEW_ROLES, _definition_of

if TYPE_CHECKING:
    from ..registry import (
        BlindingGuessOut,
        CoInterventionOut,
        MedicationChangeOut,
        Registry,
        ScreeningOutcomeOut,
    )
    from ..trial import BlindingAssessment

__all__ = [
    "BlindingGuessInput",
    "BlindingReport",
    "CoInterventionInput",
    "MedicationChangeInput",
    "ScreeningOutcomeInput",
    "blinding_assessment",
    "record_blinding_guess",
    "record_cointervention",
    "record_medication_change",
    "record_screening_outcome",
    "screening_log",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_OTHER = "other"


class _AtVisit(BaseModel):
    model_config = _FROZEN

    trial_id: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=64)
    visit_id: str = Field(min_length=1, max_length=64)


class CoInterventionInput(_AtVisit):
    """A co-intervention at a recorded trial visit.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    visit_id : str
        The schedule's visit (recorded).
    co_intervention : str
        An id of the definition's ``co_interventions``, or ``"other"``.
    name : str | None
        For ``"other"``: its name (e.g. ``"physiotherapy"``); else ``None``
        (the trial's label is stored).
    delivered : bool
        Whether it was delivered.
    minutes, sessions : int | None
        Minutes and sessions delivered, >= 0.
    note : str
        Free text.
    """

    co_intervention: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    delivered: bool
    minutes: int | None = Field(default=None, ge=0, le=100_000)
    sessions: int | None = Field(default=None, ge=0, le=100_000)
    note: str = Field(default="", max_length=2000)


class MedicationChangeInput(_AtVisit):
    """A concomitant medication change reported at a recorded trial visit.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    visit_id : str
        The schedule's visit (recorded).
    drug : str
        The drug.
    change : {'started', 'stopped', 'dose_increased', 'dose_decreased'}
        What changed.
    dose, indication, note : str
        Free text.
    """

    drug: str = Field(min_length=1, max_length=200)
    change: Literal["started", "stopped", "dose_increased", "dose_decreased"]
    dose: str = Field(default="", max_length=2000)
    indication: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


class BlindingGuessInput(_AtVisit):
    """One answer to a blinding questionnaire at a recorded trial visit.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    visit_id : str
        The schedule's visit (recorded).
    respondent : {'patient', 'rater', 'operator'}
        Who answers.
    guess : str
        3 answers: ``active``, ``sham``, ``dont_know``; 5 answers:
        ``strongly_active``, ``somewhat_active``, ``somewhat_sham``,
        ``strongly_sham``, ``dont_know``.
    answers : {3, 5}
        The questionnaire's form.
    """

    respondent: Literal["patient", "rater", "operator"]
    guess: str
    answers: Literal[3, 5] = 3

    @model_validator(mode="after")
    def _guess(self) -> Self:
        allowed = BLINDING_ANSWERS_3 if self.answers == 3 else BLINDING_ANSWERS_5
        if self.guess not in allowed:
            raise ValueError(
                f"Invalid value for 'guess': got {self.guess!r}; allowed values "
                f"are {', '.join(allowed)} ({self.answers}-answer questionnaire)."
            )
        return self


class ScreeningOutcomeInput(BaseModel):
    """A patient screened for a trial and not enrolled.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The registered patient.
    outcome : {'declined', 'not_eligible', 'other'}
        Why not enrolled.
    reason : str
        In words.
    """

    model_config = _FROZEN

    trial_id: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=64)
    outcome: Literal["declined", "not_eligible", "other"]
    reason: str = Field(min_length=1, max_length=2000)


class BlindingReport(BaseModel):
    """The blinding of one respondent at one visit (for arm-viewing roles).

    Attributes
    ----------
    trial_id : str
        The trial.
    respondent : str
        Who answered.
    visit_id : str
        The visit.
    answers : {3, 5}
        The table's form (mixed forms are pooled to 3 answers).
    columns : tuple of str
        The answers, in the table's column order.
    table : tuple of tuple of int
        Counts: row 0 the active arms, row 1 the sham arms.
    assessment : plptms.trial.BlindingAssessment
        James' overall and Bang's per-arm indices.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    trial_id: str
    respondent: str
    visit_id: str
    answers: Literal[3, 5]
    columns: tuple[str, ...]
    table: tuple[tuple[int, ...], ...]
    assessment: Any


def _visit_of(reg: Registry, trial_id: str, visit_id: str, dtype: Any) -> Any:
    definition = _definition_of(reg.get_trial(trial_id), dtype)
    _schedule_visit(definition, visit_id)
    return definition


def record_cointervention(
    reg: Registry,
    record: CoInterventionInput,
    *,
    actor: str,
    definition_type: Any | None = None,
) -> CoInterventionOut:
    """Record a co-intervention at a recorded trial visit (audited).

    Parameters
    ----------
    reg : Registry
        The registry.
    record : CoInterventionInput
        The patient, visit and co-intervention.
    actor : str
        Who records it.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    record : plptms.registry.CoInterventionOut
        The stored record.

    Raises
    ------
    ValueError
        If the visit is not in the schedule, the co-intervention is not the
        trial's nor ``other``, or ``other`` has no name.
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled or the visit is not recorded yet.
    """
    r = record
    definition = _visit_of(reg, r.trial_id, r.visit_id, definition_type)
    labels = {c.id: c.label for c in definition.co_interventions}
    if r.co_intervention == _OTHER:
        if r.name is None:
            raise ValueError(
                f"Invalid value for 'name': got None for co_intervention {_OTHER!r}; "
                "allowed: its name (e.g. physiotherapy, 1-200 characters)."
            )
        co, name = None, r.name
    elif r.co_intervention in labels:
        co, name = r.co_intervention, r.name or labels[r.co_intervention]
    else:
        raise ValueError(
            f"Invalid value for 'co_intervention': got {r.co_intervention!r}; "
            f"allowed values are {', '.join([*labels, _OTHER])}."
        )
    return reg.record_cointervention(
        r.trial_id, r.site, r.code, visit_id=r.visit_id, co_intervention=co,
        name=name, delivered=r.delivered, minutes=r.minutes, sessions=r.sessions,
        note=r.note, actor=actor,
    )  # fmt: skip


def record_medication_change(
    reg: Registry,
    record: MedicationChangeInput,
    *,
    actor: str,
    definition_type: Any | None = None,
) -> MedicationChangeOut:
    """Record a concomitant medication change at a recorded trial visit.

    Parameters
    ----------
    reg : Registry
        The registry.
    record : MedicationChangeInput
        The patient, visit, drug and change.
    actor : str
        Who records it.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    record : plptms.registry.MedicationChangeOut
        The stored record.

    Raises
    ------
    ValueError
        If the visit is not in the schedule.
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled or the visit is not recorded yet.
    """
    r = record
    _visit_of(reg, r.trial_id, r.visit_id, definition_type)
    return reg.record_medication_change(
        r.trial_id, r.site, r.code, visit_id=r.visit_id, drug=r.drug,
        change=r.change, dose=r.dose, indication=r.indication, note=r.note,
        actor=actor,
    )  # fmt: skip


def record_blinding_guess(
    reg: Registry,
    record: BlindingGuessInput,
    *,
    actor: str,
    definition_type: Any | None = None,
) -> BlindingGuessOut:
    """Record one blinding questionnaire answer (one per visit and respondent).

    Parameters
    ----------
    reg : Registry
        The registry.
    record : BlindingGuessInput
        The patient, visit, respondent and answer.
    actor : str
        Who records it.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    record : plptms.registry.BlindingGuessOut
        The stored answer.

    Raises
    ------
    ValueError
        If the visit is not in the schedule.
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled or the visit is not recorded yet.
    plptms.registry.DuplicateRecordError
        If this respondent already answered at this visit.
    """
    r = record
    _visit_of(reg, r.trial_id, r.visit_id, definition_type)
    return reg.record_blinding_guess(
        r.trial_id, r.site, r.code, visit_id=r.visit_id, respondent=r.respondent,
        answers=r.answers, guess=r.guess, actor=actor,
    )  # fmt: skip


def _pooled(guess: str) -> str:
    """Return a 5-answer guess's 3-answer column (strong and weak pooled)."""
    if guess.endswith("_active"):
        return "active"
    if guess.endswith("_sham"):
        return "sham"
    return guess


def blinding_assessment(
    reg: Registry,
    trial_id: str,
    *,
    respondent: str,
    visit_id: str,
    role: str,
    level_pct: float = 95.0,
    definition_type: Any | None = None,
) -> BlindingReport:
    """Return the arm x guess table of one respondent at one visit, and its indices.

    Arms are pooled by their condition (active or sham); with a 2x2 factorial
    the co-intervention is ignored. When every answer used the 5-answer form
    the table has 5 columns; mixed forms are pooled to 3 answers.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    respondent : {'patient', 'rater', 'operator'}
        Whose answers.
    visit_id : str
        The visit of the schedule.
    role : str
        The caller's role: one of :data:`plptms.workflow.ARM_VIEW_ROLES`.
    level_pct : float
        Confidence level of the intervals, %.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    report : BlindingReport
        The table and :func:`plptms.trial.blinding_indices` of it.

    Raises
    ------
    FollowUpRefusedError
        If the role may not see arms (nothing is read).
    ValueError
        If the visit is not in the schedule, the respondent is unknown, there
        are no answers, or an arm group has none (the indices need both).
    """
    from ..trial import blinding_indices

    if role not in ARM_VIEW_ROLES:
        raise FollowUpRefusedError(
            f"Invalid value for 'role': got {role!r}; allowed values are "
            f"{', '.join(ARM_VIEW_ROLES)} (the blinding indices need the arms)."
        )
    if respondent not in ("patient", "rater", "operator"):
        raise ValueError(
            f"Invalid value for 'respondent': got {respondent!r}; allowed values "
            "are patient, rater, operator."
        )
    definition = _visit_of(reg, trial_id, visit_id, definition_type)
    guesses = [
        g
        for g in reg.list_blinding_guesses(trial_id)
        if g.respondent == respondent and g.visit_id == visit_id
    ]
    if not guesses:
        raise ValueError(
            f"Invalid value for 'visit_id': got {visit_id!r}; no blinding answers "
            f"of respondent {respondent!r} are recorded at it."
        )
    arms = {(e.site, e.code): e.arm_id for e in reg.list_enrolments(trial_id)}
    condition = {a.id: a.condition for a in definition.arms}
    five = all(g.answers == 5 for g in guesses)
    columns = BLINDING_ANSWERS_5 if five else BLINDING_ANSWERS_3
    table = [[0] * len(columns) for _ in range(2)]
    for g in guesses:
        row = 0 if condition[arms[(g.site, g.code)]] == "active" else 1
        table[row][columns.index(g.guess if five else _pooled(g.guess))] += 1
    assessment: BlindingAssessment = blinding_indices(table, level_pct=level_pct)
    return BlindingReport(
        trial_id=trial_id,
        respondent=respondent,
        visit_id=visit_id,
        answers=5 if five else 3,
        columns=tuple(columns),
        table=tuple(tuple(r) for r in table),
        assessment=assessment,
    )


def record_screening_outcome(
    reg: Registry, record: ScreeningOutcomeInput, *, actor: str
) -> ScreeningOutcomeOut:
    """Log a patient screened for a trial and not enrolled (audited).

    Parameters
    ----------
    reg : Registry
        The registry.
    record : ScreeningOutcomeInput
        The patient, the outcome and why.
    actor : str
        Who records it.

    Returns
    -------
    record : plptms.registry.ScreeningOutcomeOut
        The stored entry.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial or the patient does not exist.
    plptms.registry.DuplicateRecordError
        If the patient is already in the trial's screening log.
    plptms.registry.RegistryError
        If the patient is enrolled in the trial (nothing is stored).
    """
    r = record
    return reg.record_screening_outcome(
        r.trial_id, r.site, r.code, outcome=r.outcome, reason=r.reason, actor=actor
    )


def screening_log(reg: Registry, trial_id: str) -> list[ScreeningOutcomeOut]:
    """Return a trial's screening log (patients screened and not enrolled).

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.

    Returns
    -------
    log : list of plptms.registry.ScreeningOutcomeOut
        Oldest first.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial does not exist.
    """
    return reg.list_screening_outcomes(trial_id)
