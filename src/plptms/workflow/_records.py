"""Use cases of the patient record: register, visit, score and store assessments.

Scoring is core (:func:`plptms.scales.score_record`); storing is the registry's
(:meth:`plptms.registry.Registry.store_assessment` and friends), which never
scores. These functions join the two: every item is validated and scored before
anything is written, and a write is one audited transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SkipValidation

from ..registry import RegistryError, VisitIn
from ..scales import PLPHistory, score_record

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..registry import AssessmentOut, PatientOut, Registry, VisitOut
    from ..scales import ScoredRecord

__all__ = [
    "AssessmentInput",
    "PatientInput",
    "VisitInput",
    "add_visit",
    "correct_assessment",
    "record_assessment",
    "record_assessments",
    "register_patient",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PatientInput(BaseModel):
    """A patient to register.

    Parameters
    ----------
    site : str
        Site code.
    code : str
        Pseudonymous patient code, unique within the site (checked by the
        registry: 1-32 letters, digits, ``_`` or ``-``).
    history : plptms.scales.PLPHistory | None
        PLP history (a mapping is validated as one).
    """

    model_config = _FROZEN

    site: str
    code: str
    history: PLPHistory | None = None


class VisitInput(BaseModel):
    """A visit to record for a registered patient.

    Parameters
    ----------
    site, code : str
        The patient.
    visit : plptms.registry.VisitIn
        Date, kind and note.
    """

    model_config = _FROZEN

    site: str
    code: str
    visit: VisitIn


class AssessmentInput(BaseModel):
    """One administration of a scale to score and store.

    Parameters
    ----------
    site, code : str
        The patient.
    visit : plptms.registry.VisitIn
        The visit (matched by date and kind, or created).
    scale_id : str
        Scale (see :func:`plptms.scales.list_scales`).
    items : mapping of str to int | float | None
        Raw item values; ``None`` marks a missing item. Validated when scored
        (:func:`plptms.scales.score_record`), whose messages name the item and
        its range; not coerced here.
    """

    model_config = _FROZEN

    site: str
    code: str
    visit: VisitIn
    scale_id: str
    # checked by the scale itself when scored (item-specific messages): no coercion
    items: SkipValidation[dict[str, float | int | None]]


def register_patient(
    registry: Registry, patient: PatientInput, *, actor: str
) -> PatientOut:
    """Register a patient under a pseudonymous code.

    Parameters
    ----------
    registry : plptms.registry.Registry
        The registry.
    patient : PatientInput
        Site, code and PLP history.
    actor : str
        Who registers the patient.

    Returns
    -------
    patient : plptms.registry.PatientOut
        The stored patient.

    Raises
    ------
    plptms.registry.RegistryError
        On a bad code or actor, or a code that exists
        (:class:`~plptms.registry.DuplicateRecordError`).
    """
    return registry.add_patient(
        patient.site, patient.code, history=patient.history, actor=actor
    )


def add_visit(registry: Registry, visit: VisitInput, *, actor: str) -> VisitOut:
    """Record a visit of a registered patient.

    Parameters
    ----------
    registry : plptms.registry.Registry
        The registry.
    visit : VisitInput
        The patient and the visit.
    actor : str
        Who records it.

    Returns
    -------
    visit : plptms.registry.VisitOut
        The stored visit.

    Raises
    ------
    plptms.registry.RegistryError
        If the visit is before the amputation date or exists.
    """
    return registry.add_visit(visit.site, visit.code, visit.visit, actor=actor)


def record_assessment(
    registry: Registry, assessment: AssessmentInput, *, actor: str
) -> AssessmentOut:
    """Score an administration and store it, creating the visit if it is new.

    Parameters
    ----------
    registry : plptms.registry.Registry
        The registry.
    assessment : AssessmentInput
        The patient, visit, scale and raw items.
    actor : str
        Who records it.

    Returns
    -------
    assessment : plptms.registry.AssessmentOut
        The stored assessment with its scores.

    Raises
    ------
    TypeError
        If an item value is not a number (nothing is stored).
    ValueError
        If a value is out of range, the scale unknown, the visit before the
        amputation, or the scale already recorded at that visit
        (:class:`~plptms.registry.DuplicateRecordError`; use
        :func:`correct_assessment`). Nothing is stored.
    """
    scored = score_record(assessment.scale_id, assessment.items)
    return registry.store_assessment(
        assessment.site, assessment.code, assessment.visit, scored, actor=actor
    )


def record_assessments(
    registry: Registry, assessments: Sequence[AssessmentInput], *, actor: str
) -> int:
    """Score and store many administrations, all or nothing (imports).

    Every record is scored before anything is written; then all are stored in
    one transaction, each visit and assessment audited.

    Parameters
    ----------
    registry : plptms.registry.Registry
        The registry.
    assessments : sequence of AssessmentInput
        The administrations.
    actor : str
        Who imports them.

    Returns
    -------
    n : int
        Assessments stored.

    Raises
    ------
    plptms.registry.RegistryError
        If any record is invalid (its index is named, as ``records[k]``);
        nothing is stored.
    """
    records: list[tuple[str, str, VisitIn, ScoredRecord]] = []
    for k, a in enumerate(assessments):
        try:
            scored = score_record(a.scale_id, a.items)
        except ValueError as exc:
            raise RegistryError(f"Invalid value for 'records[{k}]': {exc}") from None
        records.append((a.site, a.code, a.visit, scored))
    return registry.store_assessments(records, actor=actor)


def correct_assessment(
    registry: Registry,
    assessment_id: int,
    items: dict[str, float | int | None],
    *,
    actor: str,
    reason: str,
) -> AssessmentOut:
    """Re-score an assessment from corrected items; the old ones stay audited.

    Parameters
    ----------
    registry : plptms.registry.Registry
        The registry.
    assessment_id : int
        The assessment.
    items : dict of str to int | float | None
        The corrected raw items (all of them), scored with the assessment's
        scale.
    actor : str
        Who corrects.
    reason : str
        Why (at least 5 characters).

    Returns
    -------
    assessment : plptms.registry.AssessmentOut
        The corrected, re-scored assessment.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such assessment (or it was deleted).
    TypeError, ValueError
        If an item is invalid, or the actor or reason is missing; nothing is
        stored.
    """
    current = registry.get_assessment(assessment_id)
    scored = score_record(current.scale_id, items)
    return registry.store_correction(assessment_id, scored, actor=actor, reason=reason)
