"""Adverse events: the controlled lists and the record models.

The lists' sources are given in :mod:`plptms.registry._adverse`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..utils import check_strict_date

__all__ = [
    "DESCRIPTION_MAX_CHARS",
    "REVIEW_NOTE_MAX_CHARS",
    "REVIEW_NOTE_MIN_CHARS",
    "ActionTaken",
    "AdverseEventIn",
    "AdverseEventOut",
    "AdverseEventReviewOut",
    "AdverseEventTerm",
    "Outcome",
    "Relatedness",
    "SeriousCriterion",
    "Severity",
]


#: Longest free-text description of an adverse event, in characters (plptms
#: choice: a bounded note, not a narrative report). [design]
DESCRIPTION_MAX_CHARS: Final[int] = 2000
#: Shortest physician's review note, in characters (plptms choice). [design]
REVIEW_NOTE_MIN_CHARS: Final[int] = 5
#: Longest physician's review note, in characters (plptms choice). [design]
REVIEW_NOTE_MAX_CHARS: Final[int] = 2000


class AdverseEventTerm(StrEnum):
    """Controlled list of adverse event terms.

    From Rossi et al. (2009), Table 1 (verified, read): ``seizure``,
    ``hypomania``, ``syncope``, ``headache``, ``scalp_discomfort`` (local pain),
    ``neck_pain``, ``toothache``, ``paresthesia``, ``hearing_change``,
    ``cognitive_change``, ``scalp_burn`` (burns from scalp electrodes),
    ``implant_interference`` (induced currents in electrical circuits). From the
    source review's account of PLP trials: ``dizziness``, ``fatigue``,
    ``blurred_vision``. plptms additions: ``nausea``, ``mood_change``, ``other``
    (``other`` needs a description).
    """

    SEIZURE = "seizure"
    HYPOMANIA = "hypomania"
    SYNCOPE = "syncope"
    HEADACHE = "headache"
    SCALP_DISCOMFORT = "scalp_discomfort"
    NECK_PAIN = "neck_pain"
    TOOTHACHE = "toothache"
    PARESTHESIA = "paresthesia"
    HEARING_CHANGE = "hearing_change"
    COGNITIVE_CHANGE = "cognitive_change"
    SCALP_BURN = "scalp_burn"
    IMPLANT_INTERFERENCE = "implant_interference"
    DIZZINESS = "dizziness"
    FATIGUE = "fatigue"
    BLURRED_VISION = "blurred_vision"
    NAUSEA = "nausea"
    MOOD_CHANGE = "mood_change"
    OTHER = "other"


class Severity(StrEnum):
    """Intensity of an event (ICH E2A: "severe" is not "serious")."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class SeriousCriterion(StrEnum):
    """Why an event is serious (ICH E2A criteria, as paraphrased; not verified)."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    MEDICALLY_IMPORTANT = "medically_important"


class Relatedness(StrEnum):
    """Relatedness of the event to stimulation (plptms's five-level scale)."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class ActionTaken(StrEnum):
    """What was done about the event's stimulation."""

    NONE = "none"
    SESSION_PAUSED = "session_paused"
    SESSION_STOPPED = "session_stopped"
    INTENSITY_REDUCED = "intensity_reduced"
    TREATMENT_INTERRUPTED = "treatment_interrupted"
    TREATMENT_DISCONTINUED = "treatment_discontinued"
    MEDICATION_GIVEN = "medication_given"
    OTHER = "other"


class Outcome(StrEnum):
    """Outcome of the event when recorded."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class AdverseEventIn(BaseModel):
    """An adverse event to record (validated before anything is stored).

    Attributes
    ----------
    term : AdverseEventTerm
        Controlled term.
    onset_on : datetime.date | None
        Date of onset (the site's today when ``None``); not in the future.
    description : str
        Free text, at most 2000 characters (required for ``other``).
    severity : Severity
        Intensity.
    serious : bool
        Serious by the ICH E2A definition.
    serious_criterion : SeriousCriterion | None
        Required when ``serious``; not allowed otherwise.
    relatedness : Relatedness
        Relatedness to stimulation.
    action_taken : ActionTaken
        What was done.
    outcome : Outcome
        Outcome so far.
    delivery_session_id : int | None
        The delivery session it occurred in or after, if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: AdverseEventTerm
    onset_on: dt.date | None = None
    description: str = Field(default="", max_length=DESCRIPTION_MAX_CHARS)
    severity: Severity
    serious: bool = False
    serious_criterion: SeriousCriterion | None = None
    relatedness: Relatedness
    action_taken: ActionTaken = ActionTaken.NONE
    outcome: Outcome = Outcome.UNKNOWN
    delivery_session_id: int | None = Field(default=None, ge=1)

    @field_validator("onset_on", mode="before")
    @classmethod
    def _strict_date(cls, value: Any) -> Any:
        return check_strict_date(value, "onset_on")

    @field_validator("description")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> AdverseEventIn:
        if self.serious and self.serious_criterion is None:
            raise ValueError(
                "Invalid value for 'serious_criterion': got None for a serious event; "
                f"allowed: {', '.join(c.value for c in SeriousCriterion)}."
            )
        if not self.serious and self.serious_criterion is not None:
            raise ValueError(
                f"Invalid value for 'serious_criterion': got "
                f"{self.serious_criterion.value!r} for an event not marked serious; "
                "allowed: none (or mark the event serious)."
            )
        if self.term is AdverseEventTerm.OTHER and not self.description:
            raise ValueError(
                "Invalid value for 'description': got '' for term 'other'; allowed: "
                "a description of the event (1-2000 characters)."
            )
        return self


class AdverseEventReviewOut(BaseModel):
    """A physician's review of an adverse event as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    adverse_event_id: int
    physician: str
    reviewed_at: dt.datetime
    note: str
    continue_treatment: bool
    actor: str


class AdverseEventOut(BaseModel):
    """An adverse event as stored, with its reviews (oldest first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    site: str
    code: str
    delivery_session_id: int | None
    onset_on: dt.date
    recorded_at: dt.datetime
    term: AdverseEventTerm
    description: str
    severity: Severity
    serious: bool
    serious_criterion: SeriousCriterion | None
    relatedness: Relatedness
    action_taken: ActionTaken
    outcome: Outcome
    actor: str
    reviews: tuple[AdverseEventReviewOut, ...] = ()

    @property
    def review(self) -> AdverseEventReviewOut | None:
        """The review in force (the newest), or ``None`` when unreviewed."""
        return self.reviews[-1] if self.reviews else None

    @property
    def reviewed(self) -> bool:
        """Whether a physician has reviewed the event."""
        return bool(self.reviews)

    @property
    def urgent(self) -> bool:
        """A serious event or a seizure: the review must decide on treatment."""
        return self.serious or self.term is AdverseEventTerm.SEIZURE

    def label(self) -> str:
        """One-line label, e.g. ``AE 3 (headache, mild, onset 2026-12-01)``."""
        serious = ", serious" if self.serious else ""
        return (
            f"AE {self.id} ({self.term.value}, {self.severity.value}{serious}, onset "
            f"{self.onset_on.isoformat()})"
        )
