"""Boundary models of the registry: what goes in and what comes out."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..delivery import DeliveryEvent
from ..utils import check_not_future

__all__ = [
    "AssessmentOut",
    "AssignmentOut",
    "BiomarkerOut",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "LeaseLostError",
    "PatientOut",
    "RecordNotFoundError",
    "RegistryError",
    "SessionLeasedError",
    "TreatmentSessionOut",
    "VisitKind",
    "VisitOut",
    "check_code",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


class RegistryError(ValueError):
    """Invalid input to the registry; nothing was stored."""


class RecordNotFoundError(RegistryError, LookupError):
    """The record asked for does not exist (or was deleted)."""


class DuplicateRecordError(RegistryError):
    """The record already exists."""


class SessionLeasedError(RegistryError):
    """Another runner holds the delivery session's lease: a second is refused."""


class LeaseLostError(RegistryError):
    """The runner no longer holds the session's lease: it must stop at once."""


def check_code(value: str, field: str) -> str:
    """Check a site or pseudonymous patient code.

    Parameters
    ----------
    value : str
        The code.
    field : str
        ``"site"`` or ``"code"``.

    Returns
    -------
    value : str
        The code.

    Raises
    ------
    RegistryError
        If the code is not 1-32 letters, digits, ``_`` or ``-``.
    """
    if not isinstance(value, str) or not _CODE.match(value):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: 1-32 letters, "
            "digits, '_' or '-', starting with a letter or digit (a pseudonymous "
            "code, never a name)."
        )
    return value


class VisitKind(StrEnum):
    """Kind of visit."""

    SCREENING = "screening"
    BASELINE = "baseline"
    TREATMENT = "treatment"
    POST_TREATMENT = "post_treatment"
    FOLLOW_UP = "follow_up"
    OTHER = "other"


class SessionStatus(StrEnum):
    """Outcome of a treatment session."""

    COMPLETED = "completed"
    PARTIAL = "partial"
    ABORTED = "aborted"
    MISSED = "missed"


class DeliveryOut(BaseModel):
    """A delivery session as stored."""

    model_config = _FROZEN

    id: int
    assignment_id: int
    number: int
    device: str
    blinded: bool
    plan: dict[str, Any]
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    detail: str


class BiomarkerOut(BaseModel):
    """Session biomarkers as stored.

    Attributes
    ----------
    id : int
        Row id.
    patient_id : int
        The patient.
    delivery_session_id : int | None
        The closed-loop delivery session they come from, if any.
    measured_on : datetime.date
        Day of the recording.
    source : str
        ``closedloop`` or ``resting``.
    derivation : str
        The analysed signal (e.g. ``C3 Hjorth``).
    duration_s : float
        Length of the analysed EEG, s.
    theta_power, alpha_power, beta_power : float
        Band power, signal unit squared.
    mu_peak_hz : float | None
        Individual mu peak, Hz.
    n_triggers : int
        Pulses fired.
    true_circular_sd_deg : float | None
        Circular SD of the true phase at the triggers, deg.
    values : dict
        Every value (see :class:`plptms.closedloop.SessionBiomarkers`).
    """

    model_config = _FROZEN

    id: int
    patient_id: int
    delivery_session_id: int | None
    measured_on: dt.date
    source: str
    derivation: str
    duration_s: float
    theta_power: float
    alpha_power: float
    beta_power: float
    mu_peak_hz: float | None
    n_triggers: int
    true_circular_sd_deg: float | None
    values: dict[str, Any]


class PatientOut(BaseModel):
    """A stored patient."""

    model_config = _FROZEN

    id: int
    site: str
    code: str
    amputation_date: dt.date | None
    history: dict[str, Any]
    created_at: dt.datetime
    deleted: bool


class AssignmentOut(BaseModel):
    """A stored protocol assignment.

    Attributes
    ----------
    id : int
        Assignment id.
    protocol_id : str
        Protocol assigned.
    protocol : dict
        The protocol as it was assigned (JSON data).
    decision : str
        Safety decision at assignment (``accepted`` or ``incomplete``).
    assigned_on : datetime.date
        Date of the assignment.
    """

    model_config = _FROZEN

    id: int
    protocol_id: str
    protocol: dict[str, Any]
    decision: str
    assigned_on: dt.date


class TreatmentSessionOut(BaseModel):
    """A stored treatment session of an assigned protocol.

    Attributes
    ----------
    id, assignment_id, number : int
        Row id, assignment and session number in the course (from 1).
    session_date : datetime.date
        Date.
    status : SessionStatus
        Completed, partial, aborted or missed.
    note : str
        Free text.
    """

    model_config = _FROZEN

    id: int
    assignment_id: int
    number: int
    session_date: dt.date
    status: SessionStatus
    note: str


class VisitOut(BaseModel):
    """A stored visit."""

    model_config = _FROZEN

    id: int
    patient_id: int
    visit_date: dt.date
    kind: VisitKind
    note: str
    deleted: bool


class AssessmentOut(BaseModel):
    """A stored assessment with its scores."""

    model_config = _FROZEN

    id: int
    visit_id: int
    visit_date: dt.date
    visit_kind: VisitKind
    scale_id: str
    items: dict[str, float | int | None]
    total: float | None
    subscales: dict[str, float | None]
    band: str | None
    computed: bool
    reason: str | None
    deleted: bool


class VisitIn(BaseModel):
    """A visit to record."""

    model_config = _FROZEN

    visit_date: dt.date
    kind: VisitKind
    note: str = Field(default="", max_length=2000)

    @field_validator("visit_date")
    @classmethod
    def _not_future(cls, v: dt.date) -> dt.date:
        return check_not_future(v, "visit_date")
