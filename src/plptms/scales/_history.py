"""Phantom limb pain history: the amputation, the pain attacks and the analgesics.

A :class:`PLPHistory` is validated on construction: the amputation level must
belong to the amputated limb, dates may not lie in the future, and derived values
(time since amputation, daily MME) are computed properties, never stored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from ..protocol import Amputation, Limb, LimbSide, StrictDate, StrictNumber
from ..utils import check_not_future, check_option, check_range
from ._constants import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    MAX_ATTACK_DURATION_S,
    MAX_ATTACKS_PER_DAY,
    MAX_YEARS_SINCE_AMPUTATION,
)
from ._mme import OpioidDose, daily_mme

if TYPE_CHECKING:
    import datetime as dt

__all__ = [
    "AmputationCause",
    "AmputationLevel",
    "Analgesic",
    "AnalgesicClass",
    "AttackFrequency",
    "AttackPeriod",
    "PLPHistory",
    "ProsthesisUse",
    "Trigger",
    "levels_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AmputationLevel(StrEnum):
    """Common amputation levels, distal to proximal, upper limb then lower limb."""

    PARTIAL_HAND = "partial_hand"
    WRIST_DISARTICULATION = "wrist_disarticulation"
    TRANSRADIAL = "transradial"
    ELBOW_DISARTICULATION = "elbow_disarticulation"
    TRANSHUMERAL = "transhumeral"
    SHOULDER_DISARTICULATION = "shoulder_disarticulation"
    FOREQUARTER = "forequarter"
    PARTIAL_FOOT = "partial_foot"
    ANKLE_DISARTICULATION = "ankle_disarticulation"
    TRANSTIBIAL = "transtibial"
    KNEE_DISARTICULATION = "knee_disarticulation"
    TRANSFEMORAL = "transfemoral"
    HIP_DISARTICULATION = "hip_disarticulation"
    HEMIPELVECTOMY = "hemipelvectomy"

    @property
    def limb(self) -> Limb:
        """The limb this level belongs to."""
        return Limb.UPPER if self in _UPPER_LEVELS else Limb.LOWER


_UPPER_LEVELS = frozenset(
    {
        AmputationLevel.PARTIAL_HAND,
        AmputationLevel.WRIST_DISARTICULATION,
        AmputationLevel.TRANSRADIAL,
        AmputationLevel.ELBOW_DISARTICULATION,
        AmputationLevel.TRANSHUMERAL,
        AmputationLevel.SHOULDER_DISARTICULATION,
        AmputationLevel.FOREQUARTER,
    }
)


def levels_for(limb: Limb | str) -> tuple[AmputationLevel, ...]:
    """Return the amputation levels of one limb, distal to proximal.

    Parameters
    ----------
    limb : Limb | str
        ``"upper"`` or ``"lower"``.

    Returns
    -------
    levels : tuple of AmputationLevel
        The levels.

    Raises
    ------
    ValueError
        If ``limb`` is not a limb.
    """
    which = Limb(check_option(str(limb), "limb", [m.value for m in Limb]))
    return tuple(level for level in AmputationLevel if level.limb is which)


class AmputationCause(StrEnum):
    """Cause of the amputation."""

    TRAUMA = "trauma"
    #: Peripheral vascular disease, including diabetes-related.
    VASCULAR = "vascular"
    TUMOUR = "tumour"
    INFECTION = "infection"
    #: Congenital limb deficiency.
    CONGENITAL = "congenital"
    OTHER = "other"


class ProsthesisUse(StrEnum):
    """How often a prosthesis is worn."""

    NONE = "none"
    OCCASIONAL = "occasional"
    DAILY = "daily"


class AttackPeriod(StrEnum):
    """Period over which pain attacks are counted."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_PERIOD_DAYS = {
    AttackPeriod.DAY: 1.0,
    AttackPeriod.WEEK: 7.0,
    AttackPeriod.MONTH: DAYS_PER_MONTH,
}


class AttackFrequency(BaseModel):
    """How often pain attacks occur: ``count`` attacks per ``per``.

    Parameters
    ----------
    count : float
        Number of attacks in one period (0 or more; e.g. 2.5 for "2-3").
    per : AttackPeriod
        ``"day"``, ``"week"`` or ``"month"``.
    """

    model_config = _FROZEN

    count: StrictNumber
    per: AttackPeriod

    @model_validator(mode="after")
    def _check_count(self) -> Self:
        top = MAX_ATTACKS_PER_DAY * _PERIOD_DAYS[self.per]
        check_range(self.count, "count", 0.0, top, unit=f"attacks/{self.per.value}")
        return self

    @property
    def per_day(self) -> float:
        """Attacks per day (a month is 365.25 / 12 days)."""
        return self.count / _PERIOD_DAYS[self.per]

    @property
    def per_week(self) -> float:
        """Attacks per week."""
        return self.per_day * 7.0


class Trigger(StrEnum):
    """Things that set off or worsen phantom limb pain."""

    COLD = "cold"
    WEATHER_CHANGE = "weather_change"
    EMOTIONAL_STRESS = "emotional_stress"
    RESIDUAL_LIMB_TOUCH = "residual_limb_touch"
    PROSTHESIS_USE = "prosthesis_use"
    FATIGUE = "fatigue"
    URINATION = "urination"
    DEFECATION = "defecation"
    SEXUAL_ACTIVITY = "sexual_activity"
    YAWNING = "yawning"
    SMOKING = "smoking"
    OTHER = "other"


class AnalgesicClass(StrEnum):
    """Class of a non-opioid analgesic (opioids are recorded with their dose)."""

    ANTIDEPRESSANT = "antidepressant"
    ANTICONVULSANT = "anticonvulsant"
    NSAID = "nsaid"
    PARACETAMOL = "paracetamol"
    NMDA_ANTAGONIST = "nmda_antagonist"
    TOPICAL = "topical"
    CANNABINOID = "cannabinoid"
    OTHER = "other"


class Analgesic(BaseModel):
    """A current non-opioid analgesic.

    Parameters
    ----------
    name : str
        Generic drug name, e.g. ``"pregabalin"``.
    drug_class : AnalgesicClass
        Its class.
    """

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=100)
    drug_class: AnalgesicClass


class PLPHistory(BaseModel):
    """A patient's phantom limb pain history.

    Parameters
    ----------
    side : LimbSide
        Left, right or bilateral.
    limb : Limb
        Upper or lower limb.
    level : AmputationLevel | None
        Amputation level; must belong to ``limb``. For a bilateral amputation at
        different levels, record the more proximal one and describe both in
        ``notes``. ``None`` if not recorded.
    cause : AmputationCause
        Cause of the amputation.
    cause_details : str
        Free text, e.g. what ``other`` means.
    amputation_date : datetime.date | None
        Date of the amputation; ``None`` if unknown (or for a congenital
        deficiency). Not in the future, not after ``assessed_on`` and at most
        120 years before it (a plausibility bound).
    assessed_on : datetime.date
        Date the history was taken: the reference date for the time since
        amputation. Not in the future.
    prosthesis_use : ProsthesisUse
        How often a prosthesis is worn.
    phantom_sensations : bool
        Non-painful phantom sensations present.
    telescoping : bool
        The phantom is felt as shortened into the residual limb (a phantom
        sensation, so it needs ``phantom_sensations``).
    attack_frequency : AttackFrequency | None
        How often pain attacks occur; ``None`` if not recorded.
    attack_duration_s : float | None
        Typical duration of one attack, in s (seconds to hours); ``None`` if not
        recorded.
    triggers : tuple of Trigger
        Known triggers, each at most once.
    trigger_notes : str
        Free text on the triggers.
    analgesics : tuple of Analgesic
        Current non-opioid analgesics.
    opioids : tuple of OpioidDose
        Current opioids with their doses (see :attr:`daily_mme`).
    notes : str
        Free text.
    """

    model_config = _FROZEN

    side: LimbSide
    limb: Limb
    level: AmputationLevel | None = None
    cause: AmputationCause
    cause_details: str = Field(default="", max_length=500)
    amputation_date: StrictDate | None
    assessed_on: StrictDate
    prosthesis_use: ProsthesisUse
    phantom_sensations: StrictBool
    telescoping: StrictBool
    attack_frequency: AttackFrequency | None = None
    attack_duration_s: StrictNumber | None = None
    triggers: tuple[Trigger, ...] = ()
    trigger_notes: str = Field(default="", max_length=500)
    analgesics: tuple[Analgesic, ...] = ()
    opioids: tuple[OpioidDose, ...] = ()
    notes: str = Field(default="", max_length=2000)

    @field_validator("attack_duration_s")
    @classmethod
    def _check_duration(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(
                v, "attack_duration_s", 0.0, MAX_ATTACK_DURATION_S,
                low_inclusive=False, unit="s",
            )  # fmt: skip
        return v

    @field_validator("triggers")
    @classmethod
    def _check_triggers(cls, v: tuple[Trigger, ...]) -> tuple[Trigger, ...]:
        dupes = sorted({t.value for t in v if v.count(t) > 1})
        if dupes:
            raise ValueError(
                f"Invalid value for 'triggers': got duplicates {dupes}; allowed: "
                "each trigger at most once."
            )
        return v

    @field_validator("assessed_on")
    @classmethod
    def _check_assessed_on(cls, v: dt.date) -> dt.date:
        return check_not_future(v, "assessed_on")

    @field_validator("amputation_date")
    @classmethod
    def _check_amputation_date(cls, v: dt.date | None) -> dt.date | None:
        return None if v is None else check_not_future(v, "amputation_date")

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.level is not None and self.level.limb is not self.limb:
            allowed = [lvl.value for lvl in levels_for(self.limb)]
            raise ValueError(
                f"Invalid value for 'level': got {self.level.value!r} for limb "
                f"{self.limb.value!r}; allowed values are {allowed}."
            )
        if self.amputation_date is not None and self.amputation_date > self.assessed_on:
            raise ValueError(
                "Invalid value for 'amputation_date': got "
                f"{self.amputation_date.isoformat()}; allowed: a date not in the "
                f"future (on or before assessed_on, {self.assessed_on.isoformat()})."
            )
        if (
            self.amputation_date is not None
            and (self.assessed_on - self.amputation_date).days / DAYS_PER_YEAR
            > MAX_YEARS_SINCE_AMPUTATION
        ):
            raise ValueError(
                "Invalid value for 'amputation_date': got "
                f"{self.amputation_date.isoformat()}; allowed: at most "
                f"{MAX_YEARS_SINCE_AMPUTATION:g} years before assessed_on "
                f"({self.assessed_on.isoformat()})."
            )
        if self.telescoping and not self.phantom_sensations:
            raise ValueError(
                "Invalid value for 'telescoping': got True with phantom_sensations "
                "False; allowed: telescoping only when phantom sensations are present."
            )
        return self

    # ------------------------------------------------------------------ derived
    def time_since_amputation(
        self, reference: dt.date | None = None
    ) -> dt.timedelta | None:
        """Return the time from the amputation to a reference date.

        Parameters
        ----------
        reference : datetime.date | None
            Reference date; ``None`` uses ``assessed_on``.

        Returns
        -------
        elapsed : datetime.timedelta | None
            Time since amputation, ``None`` if the amputation date is unknown.

        Raises
        ------
        ValueError
            If the reference date is before the amputation.
        """
        if self.amputation_date is None:
            return None
        ref = self.assessed_on if reference is None else reference
        if ref < self.amputation_date:
            raise ValueError(
                f"Invalid value for 'reference': got {ref.isoformat()}; allowed: on "
                f"or after the amputation date {self.amputation_date.isoformat()}."
            )
        return ref - self.amputation_date

    @property
    def time_since_amputation_days(self) -> int | None:
        """Days from the amputation to ``assessed_on``, ``None`` if unknown."""
        elapsed = self.time_since_amputation()
        return None if elapsed is None else elapsed.days

    @property
    def time_since_amputation_years(self) -> float | None:
        """Years (of 365.25 days) from the amputation to ``assessed_on``."""
        days = self.time_since_amputation_days
        return None if days is None else days / DAYS_PER_YEAR

    @property
    def daily_mme(self) -> float:
        """Total daily opioid dose in morphine milligram equivalents (CDC 2022)."""
        return daily_mme(self.opioids)

    @property
    def amputation(self) -> Amputation:
        """The amputation as the protocol target resolution takes it."""
        return Amputation(
            side=self.side,
            limb=self.limb,
            level=None if self.level is None else self.level.value,
        )
