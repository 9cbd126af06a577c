"""Boundary models of the registry: what goes in and what comes out."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AssessmentOut",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "PatientOut",
    "RecordNotFoundError",
    "RegistryError",
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


class DeliveryEvent(BaseModel):
    """One logged delivery event.

    Attributes
    ----------
    seq : int
        Order within the session, from 1.
    kind : str
        ``session_start``, ``pulse_intent``, ``pulse``, ``train_start``, ``train_end``,
        ``pause``, ``resume``, ``abort``, ``emergency_stop``, ``fault``,
        ``reconciled``, ``resume_session``, ``session_end``.
    train_index, pulse_index : int | None
        Position in the plan.
    t_monotonic_s : float | None
        Host monotonic clock at the event, s.
    at : str
        Wall-clock time, UTC ISO.
    intensity_pct_mso : float | None
        Intensity, % MSO.
    detail : str
        Free text.
    """

    model_config = _FROZEN

    seq: int
    kind: str
    train_index: int | None
    pulse_index: int | None
    t_monotonic_s: float | None
    at: str
    intensity_pct_mso: float | None
    detail: str


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
        today = dt.date.today()
        if v > today:
            raise ValueError(
                f"Invalid value for 'visit_date': got {v.isoformat()}; allowed: on or "
                f"before today ({today.isoformat()})."
            )
        return v
