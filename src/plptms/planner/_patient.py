"""The patient as the planner sees it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..protocol import Amputation, TargetSite
from ..safety import ScreeningStatus
from ..utils import check_range
from ._constants import HAMA_MAX_TOTAL, HAMD17_MAX_TOTAL

__all__ = ["PatientContext", "PriorTreatment", "Response"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Response(StrEnum):
    """Response to a previous course."""

    RESPONDER = "responder"
    NON_RESPONDER = "non-responder"


class PriorTreatment(BaseModel):
    """A previous rTMS course and how the patient responded.

    Parameters
    ----------
    protocol_id : str
        Protocol id (a library id, or any id for a protocol outside the library).
    response : Response
        ``"responder"`` or ``"non-responder"``.
    target : TargetSite | None
        Target of the course; taken from the library when ``None`` and the id is
        known there.
    """

    model_config = _FROZEN

    protocol_id: str = Field(min_length=1)
    response: Response
    target: TargetSite | None = None


class PatientContext(BaseModel):
    """What the planner needs to know about a patient.

    Parameters
    ----------
    amputation : Amputation
        Side, limb and level of the amputation.
    amputation_cause : str | None
        Cause as text (e.g. ``"trauma"``), ``None`` if not recorded.
    screening : ScreeningStatus | None
        Safety screening outcome; ``None`` if not screened yet.
    rmt_pct_mso : float | None
        Resting motor threshold, % MSO, in (0, 100].
    prior_treatments : tuple of PriorTreatment
        Previous rTMS courses with response.
    hamd_total : int | None
        HAM-D (17 items) total, [0, 52].
    hama_total : int | None
        HAM-A total, [0, 56].
    months_since_amputation : float | None
        Time since amputation, months, >= 0.
    patient_id : str | None
        Pseudonymous id, for the plan.
    """

    model_config = _FROZEN

    amputation: Amputation
    amputation_cause: str | None = None
    screening: ScreeningStatus | None = None
    rmt_pct_mso: float | None = None
    prior_treatments: tuple[PriorTreatment, ...] = ()
    hamd_total: int | None = None
    hama_total: int | None = None
    months_since_amputation: float | None = None
    patient_id: str | None = None

    @field_validator("rmt_pct_mso")
    @classmethod
    def _check_rmt(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(v, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO")
        return v

    @field_validator("hamd_total")
    @classmethod
    def _check_hamd(cls, v: int | None) -> int | None:
        if v is not None:
            check_range(v, "hamd_total", 0, HAMD17_MAX_TOTAL, unit="points")
        return v

    @field_validator("hama_total")
    @classmethod
    def _check_hama(cls, v: int | None) -> int | None:
        if v is not None:
            check_range(v, "hama_total", 0, HAMA_MAX_TOTAL, unit="points")
        return v

    @field_validator("months_since_amputation")
    @classmethod
    def _check_months(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(v, "months_since_amputation", 0.0, None, unit="months")
        return v
