"""Boundary models of the trial follow-up tables and the helpers that read them.

Used by :class:`plptms.registry._trial_followup.TrialFollowUpStore` and
:class:`plptms.registry._trial_records.TrialRecordStore` inside their
transactions. The controlled lists (withdrawal reasons, medication changes,
blinding respondents and answers, screening outcomes) are defined here, once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from ._models import RecordNotFoundError, RegistryError
from ._store import _aware

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

__all__ = [
    "BLINDING_ANSWERS_3",
    "BLINDING_ANSWERS_5",
    "BLINDING_RESPONDENTS",
    "MEDICATION_CHANGES",
    "SCREENING_OUTCOMES",
    "WITHDRAWAL_REASONS",
    "BlindingGuessOut",
    "CoInterventionOut",
    "MedicationChangeOut",
    "ScreeningOutcomeOut",
    "TrialVisitOut",
    "WithdrawalOut",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

WithdrawalReason = Literal[
    "withdrew_consent",
    "lost_to_follow_up",
    "adverse_event",
    "death",
    "investigator_decision",
    "other",
]
MedicationChange = Literal["started", "stopped", "dose_increased", "dose_decreased"]
Respondent = Literal["patient", "rater", "operator"]
ScreeningOutcome = Literal["declined", "not_eligible", "other"]

#: Why a patient left a trial: CONSORT 2010 asks for losses after randomisation
#: with reasons (Schulz et al., 2010, item 13b) [schulz2010consort]; the list
#: itself is a plptms choice.
WITHDRAWAL_REASONS: Final[tuple[str, ...]] = (
    "withdrew_consent",
    "lost_to_follow_up",
    "adverse_event",
    "death",
    "investigator_decision",
    "other",
)
#: How a concomitant medication changed (a plptms choice).
MEDICATION_CHANGES: Final[tuple[str, ...]] = (
    "started",
    "stopped",
    "dose_increased",
    "dose_decreased",
)
#: Who answers a blinding questionnaire.
BLINDING_RESPONDENTS: Final[tuple[str, ...]] = ("patient", "rater", "operator")
#: The 3-answer blinding questionnaire (James et al., 1996; Bang et al., 2004)
#: [james1996, bang2004], in the column order of
#: :func:`plptms.trial.blinding_indices` (neither paper read: not verified).
BLINDING_ANSWERS_3: Final[tuple[str, ...]] = ("active", "sham", "dont_know")
#: The 5-answer questionnaire (Bang et al., 2004) [bang2004], in the column order
#: of :func:`plptms.trial.blinding_indices` (not verified).
BLINDING_ANSWERS_5: Final[tuple[str, ...]] = (
    "strongly_active",
    "somewhat_active",
    "somewhat_sham",
    "strongly_sham",
    "dont_know",
)
#: Why a screened patient was not enrolled: the exclusions of the CONSORT 2010
#: flow diagram (not meeting inclusion criteria, declined to participate, other
#: reasons; Schulz et al., 2010) [schulz2010consort].
SCREENING_OUTCOMES: Final[tuple[str, ...]] = ("declined", "not_eligible", "other")


class TrialVisitOut(BaseModel):
    """A scheduled trial visit as done.

    Attributes
    ----------
    id : int
        Trial visit id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    kit_code : str
        The patient's kit code (never the arm).
    visit_id : str
        The schedule's visit id (e.g. ``followup_1m``).
    registry_visit_id : int
        The registry visit of that date (its assessments belong to this visit).
    version : int
        The definition version it was collected under.
    done_on : datetime.date
        The visit date.
    out_of_window : bool
        Whether it was outside its window (a protocol deviation).
    days_outside : int
        Days before the window (negative) or after it (positive); 0 inside.
    deviation_reason : str | None
        Why, for a visit outside its window.
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    kit_code: str
    visit_id: str
    registry_visit_id: int
    version: int
    done_on: dt.date
    out_of_window: bool
    days_outside: int
    deviation_reason: str | None
    actor: str
    at: dt.datetime


class WithdrawalOut(BaseModel):
    """A patient's withdrawal from a trial.

    Attributes
    ----------
    id : int
        Withdrawal id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    kit_code : str
        The kit code.
    withdrawn_on : datetime.date
        The date of withdrawal.
    reason : str
        One of :data:`WITHDRAWAL_REASONS`.
    detail : str
        Free text.
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    kit_code: str
    withdrawn_on: dt.date
    reason: WithdrawalReason
    detail: str
    actor: str
    at: dt.datetime


class CoInterventionOut(BaseModel):
    """A co-intervention recorded at a trial visit.

    Attributes
    ----------
    id : int
        Record id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    visit_id : str
        The schedule's visit id.
    kind : {'trial', 'other'}
        The trial's own co-intervention, or another one.
    co_intervention : str | None
        The trial's co-intervention id (``None`` for ``other``).
    name : str
        Its name (the trial's label, or the free name).
    delivered : bool
        Whether it was delivered.
    minutes : int | None
        Minutes delivered since the previous visit.
    sessions : int | None
        Sessions delivered since the previous visit.
    note : str
        Free text.
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    visit_id: str
    kind: Literal["trial", "other"]
    co_intervention: str | None
    name: str
    delivered: bool
    minutes: int | None
    sessions: int | None
    note: str
    actor: str
    at: dt.datetime


class MedicationChangeOut(BaseModel):
    """A concomitant medication change reported at a trial visit.

    Attributes
    ----------
    id : int
        Record id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    visit_id : str
        The schedule's visit id.
    drug : str
        The drug.
    change : str
        One of :data:`MEDICATION_CHANGES`.
    dose, indication, note : str
        Free text (may be empty).
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    visit_id: str
    drug: str
    change: MedicationChange
    dose: str
    indication: str
    note: str
    actor: str
    at: dt.datetime


class BlindingGuessOut(BaseModel):
    """One answer to a blinding questionnaire (the arm is not included).

    Attributes
    ----------
    id : int
        Record id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    visit_id : str
        The schedule's visit id.
    respondent : str
        One of :data:`BLINDING_RESPONDENTS`.
    answers : {3, 5}
        The questionnaire's form.
    guess : str
        One of :data:`BLINDING_ANSWERS_3` or :data:`BLINDING_ANSWERS_5`.
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    visit_id: str
    respondent: Respondent
    answers: Literal[3, 5]
    guess: str
    actor: str
    at: dt.datetime


class ScreeningOutcomeOut(BaseModel):
    """A patient screened for a trial and not enrolled.

    Attributes
    ----------
    id : int
        Record id.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    outcome : str
        One of :data:`SCREENING_OUTCOMES`.
    reason : str
        Why.
    actor : str
        Who recorded it.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    outcome: ScreeningOutcome
    reason: str
    actor: str
    at: dt.datetime


# --------------------------------------------------------------------------------------
# checks (the registry's own; the workflow checks against the definition)
# --------------------------------------------------------------------------------------
def check_choice(value: object, field: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else refuse it naming both."""
    if not isinstance(value, str) or value not in allowed:
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed values are "
            f"{', '.join(allowed)}."
        )
    return value


def check_text(value: object, field: str, *, low: int = 0, high: int = 2000) -> str:
    """Return ``value`` stripped if it is text of ``low``-``high`` characters."""
    if not isinstance(value, str) or not low <= len(value.strip()) <= high:
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: text of "
            f"{low}-{high} characters."
        )
    return value.strip()


def check_count(value: object, field: str) -> int | None:
    """Return ``value`` if it is ``None`` or a whole number in [0, 100000]."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 <= value <= 100_000)
    ):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a whole number "
            "in [0, 100000], or none."
        )
    return value


def check_day(value: object, field: str) -> dt.date:
    """Return ``value`` if it is a date (a datetime is refused)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a date (YYYY-MM-DD)."
        )
    return value


# --------------------------------------------------------------------------------------
# reads inside a transaction
# --------------------------------------------------------------------------------------
def withdrawal_row(s: Session, enrolment_pk: int) -> Any:
    """Return an enrolment's withdrawal row, or ``None``."""
    from sqlalchemy import select

    from .db._schema import TrialWithdrawalRow

    return s.execute(
        select(TrialWithdrawalRow).where(
            TrialWithdrawalRow.enrolment_id == enrolment_pk
        )
    ).scalar_one_or_none()


def trial_visit_row(s: Session, enrolment: Any, visit_id: str, code: str) -> Any:
    """Return the recorded trial visit, or refuse: it must be recorded first."""
    from sqlalchemy import select

    from .db._schema import TrialVisitRow

    row = s.execute(
        select(TrialVisitRow).where(
            TrialVisitRow.enrolment_id == enrolment.id,
            TrialVisitRow.visit_key == visit_id,
        )
    ).scalar_one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'visit_id': got {visit_id!r}; visit {visit_id!r} of "
            f"{enrolment.site}/{code} is not recorded yet; allowed: a trial visit "
            "already recorded (record the visit first)."
        )
    return row


def enrolment_rows_of(
    s: Session, trial_pk: int, site: str | None, code: str | None
) -> dict[int, tuple[Any, str]]:
    """Return a trial's enrolments (optionally one patient's) by id, with codes."""
    from sqlalchemy import select

    from .db._schema import PatientRow, TrialEnrolmentRow

    query = (
        select(TrialEnrolmentRow, PatientRow.code)
        .join(PatientRow, PatientRow.id == TrialEnrolmentRow.patient_id)
        .where(TrialEnrolmentRow.trial_id == trial_pk)
    )
    if site is not None:
        query = query.where(PatientRow.site == site)
    if code is not None:
        query = query.where(PatientRow.code == code)
    return {e.id: (e, str(c)) for e, c in s.execute(query).all()}


def trial_visit_out(
    row: Any, trial_id: str, enrolment: Any, code: str
) -> TrialVisitOut:
    return TrialVisitOut(
        id=row.id,
        trial_id=trial_id,
        site=enrolment.site,
        code=code,
        kit_code=enrolment.kit_code,
        visit_id=row.visit_key,
        registry_visit_id=row.visit_id,
        version=row.version,
        done_on=row.done_on,
        out_of_window=row.out_of_window,
        days_outside=row.days_outside,
        deviation_reason=row.deviation_reason,
        actor=row.actor,
        at=_aware(row.at),
    )


def withdrawal_out(row: Any, trial_id: str, enrolment: Any, code: str) -> WithdrawalOut:
    return WithdrawalOut(
        id=row.id,
        trial_id=trial_id,
        site=enrolment.site,
        code=code,
        kit_code=enrolment.kit_code,
        withdrawn_on=row.withdrawn_on,
        reason=row.reason,
        detail=row.detail,
        actor=row.actor,
        at=_aware(row.at),
    )


def visit_record_out(
    out: type[Any], row: Any, trial_id: str, enrolment: Any, code: str, visit: str
) -> Any:
    """Return a co-intervention, medication change or blinding guess as ``out``."""
    fields = {
        k: getattr(row, k)
        for k in out.model_fields
        if k not in {"trial_id", "site", "code", "visit_id", "at"}
    }
    return out(
        trial_id=trial_id,
        site=enrolment.site,
        code=code,
        visit_id=visit,
        at=_aware(row.at),
        **fields,
    )
