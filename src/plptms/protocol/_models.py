"""Validated models of a stimulation protocol.

A :class:`Protocol` is a course of one or more :class:`CourseBlock` s, each giving the
per-session :class:`StimulationDose` at one target and its schedule. Anything a study
did not report is stored as ``None`` (written ``unreported`` in data files), never
invented; derived values (train and session durations, pulse totals) are computed
properties and are never stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..utils import check_range, check_strict_date, check_strict_number
from ._constants import (
    MAX_COURSE_WEEKS,
    MAX_FREQUENCY_HZ,
    MAX_INTENSITY_PCT_RMT,
    MAX_INTER_TRAIN_INTERVAL_S,
    MAX_PARTICIPANTS,
    MAX_PULSES_PER_BURST,
    MAX_PULSES_PER_SESSION,
    MAX_PULSES_PER_TRAIN,
    MAX_SESSIONS_PER_COURSE,
    MAX_SESSIONS_PER_WEEK,
    MAX_TRAINS_PER_SESSION,
    SINGLE_PULSE_MAX_RATE_HZ,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "UNREPORTED",
    "Amputation",
    "Arm",
    "ArmOutcome",
    "CoilType",
    "Condition",
    "Correction",
    "CourseBlock",
    "Hemisphere",
    "Laterality",
    "Limb",
    "LimbSide",
    "Pattern",
    "Protocol",
    "SourceRead",
    "StimulationDose",
    "Study",
    "TargetSite",
]

#: The literal used in data files for a value a source did not report.
UNREPORTED = "unreported"


def _unreported_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == UNREPORTED:
        return None
    return value


def _none_to_unreported(value: Any) -> Any:
    return UNREPORTED if value is None else value


def _strict(*, integer: bool, reported: bool) -> Callable[[Any, ValidationInfo], Any]:
    """Build a before-validator: a real number only (no bool, no text, finite)."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if reported:
            value = _unreported_to_none(value)
        if value is None:
            return None  # the field's own type decides whether None is allowed
        return check_strict_number(
            value, info.field_name or "value", integer=integer, unreported=reported
        )

    return validate


def _strict_date(value: Any, info: ValidationInfo) -> Any:
    return check_strict_date(value, info.field_name or "value")


_Rep = (
    BeforeValidator(_unreported_to_none),
    PlainSerializer(_none_to_unreported, when_used="json"),
)
_RepSer = PlainSerializer(_none_to_unreported, when_used="json")
#: A finite float a source may not have reported (``None`` = unreported); a bool or
#: numeric text is refused, not coerced.
ReportedFloat = Annotated[
    float | None, BeforeValidator(_strict(integer=False, reported=True)), _RepSer
]
#: A whole number a source may not have reported (``None`` = unreported); a bool or
#: numeric text is refused, not coerced.
ReportedInt = Annotated[
    int | None, BeforeValidator(_strict(integer=True, reported=True)), _RepSer
]
#: A finite float; a bool or numeric text is refused, not coerced.
StrictNumber = Annotated[float, BeforeValidator(_strict(integer=False, reported=False))]
#: A whole number; a bool or numeric text is refused, not coerced.
StrictCount = Annotated[int, BeforeValidator(_strict(integer=True, reported=False))]
#: A date given as a date or YYYY-MM-DD text, never as a number (a timestamp).
StrictDate = Annotated[dt.date, BeforeValidator(_strict_date)]

_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False, use_enum_values=False)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


class Pattern(StrEnum):
    """Stimulation pattern."""

    SINGLE_PULSE = "single_pulse"
    RTMS = "rtms"
    ITBS = "itbs"
    CTBS = "ctbs"

    @property
    def is_theta_burst(self) -> bool:
        """Whether the pattern is a theta-burst pattern."""
        return self in (Pattern.ITBS, Pattern.CTBS)


class TargetSite(StrEnum):
    """Cortical target. ``m1`` is M1 with the somatotopic area not reported."""

    M1 = "m1"
    M1_HAND = "m1_hand"
    M1_LEG = "m1_leg"
    S1 = "s1"
    SMC = "smc"
    DLPFC = "dlpfc"


class Laterality(StrEnum):
    """Side of the target, relative to the amputation or absolute."""

    CONTRALATERAL = "contralateral"
    IPSILATERAL = "ipsilateral"
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class Hemisphere(StrEnum):
    """A resolved hemisphere."""

    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


class LimbSide(StrEnum):
    """Side of an amputation."""

    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class Limb(StrEnum):
    """Amputated limb."""

    UPPER = "upper"
    LOWER = "lower"


class Condition(StrEnum):
    """Active or sham stimulation."""

    ACTIVE = "active"
    SHAM = "sham"


class CoilType(StrEnum):
    """Coil family."""

    FIGURE_OF_EIGHT = "figure_of_eight"
    CIRCULAR = "circular"
    DOUBLE_CONE = "double_cone"
    H_COIL = "h_coil"


class ArmOutcome(StrEnum):
    """What a study reported for one arm's pain outcome.

    ``effective``: the study reports that pain fell in this arm (against sham where
    there was one); ``not_effective``: the study reports that it did not;
    ``unreported``: what was read of the study does not say.
    """

    EFFECTIVE = "effective"
    NOT_EFFECTIVE = "not_effective"
    UNREPORTED = "unreported"


class SourceRead(StrEnum):
    """What plptms read of a study's primary publication.

    ``full_text``: the paper; ``abstract``: its published abstract only (figures
    not in it come from the review and say so); ``not_reached``: the primary paper
    was not reached, so every figure is as quoted by the review, not verified.
    """

    FULL_TEXT = "full_text"
    ABSTRACT = "abstract"
    NOT_REACHED = "not_reached"


def _check_text(value: str, field: str) -> str:
    if not value.strip():
        raise ValueError(
            f"Invalid value for {field!r}: got an empty text; allowed: a non-empty "
            "text."
        )
    return value


class Correction(BaseModel):
    """A figure of the source review corrected against the primary publication.

    Parameters
    ----------
    field : str
        What was corrected (e.g. ``"laterality"``, ``"intensity_pct_rmt"``).
    as_quoted_by_review : str
        The review's wording or figure, kept beside the correction.
    as_published : str
        What the primary publication says.
    source : str
        Where the correction was read (e.g. ``"abstract"``).
    """

    model_config = _FROZEN

    field: str = Field(min_length=1, max_length=80)
    as_quoted_by_review: str
    as_published: str
    source: str

    @field_validator("as_quoted_by_review", "as_published", "source")
    @classmethod
    def _check_texts(cls, v: str, info: ValidationInfo) -> str:
        return _check_text(v, str(info.field_name))


class Amputation(BaseModel):
    """What the target resolution needs to know about an amputation.

    Parameters
    ----------
    side : LimbSide
        Side of the amputation.
    limb : Limb
        Upper or lower limb.
    level : str | None
        Level as text (e.g. ``"transtibial"``), ``None`` if not recorded.
    """

    model_config = _FROZEN

    side: LimbSide
    limb: Limb
    level: str | None = None


def _check_optional_range(
    value: float | None,
    field: str,
    low: float,
    high: float,
    unit: str,
    *,
    low_inclusive: bool = False,
) -> None:
    if value is not None:
        check_range(value, field, low, high, low_inclusive=low_inclusive, unit=unit)


#: Upper bound and unit of each pulse or train count of a dose.
_COUNT_BOUNDS: dict[str, tuple[int, str]] = {
    "pulses_per_train": (MAX_PULSES_PER_TRAIN, "pulses"),
    "trains_per_session": (MAX_TRAINS_PER_SESSION, "trains"),
    "reported_pulses_per_session": (MAX_PULSES_PER_SESSION, "pulses"),
    "pulses_per_burst": (MAX_PULSES_PER_BURST, "pulses"),
}


class StimulationDose(BaseModel):
    """What is delivered in one session at one target.

    Every dose parameter must be given, either as a value or as ``None``
    (``unreported`` in files) when the source did not report it.

    Parameters
    ----------
    pattern : Pattern
        Single pulse, conventional rTMS, iTBS or cTBS.
    target : TargetSite
        The cortical target.
    laterality : Laterality | None
        Side of the target; ``contralateral`` is relative to the amputation;
        ``None`` if unreported.
    frequency_hz : float | None
        Pulse rate within a train (rTMS), pulse rate (single pulse) or burst
        repetition rate (theta burst), in Hz.
    intensity_pct_rmt : float | None
        Intensity in % of the resting motor threshold.
    pulses_per_train : int | None
        Pulses in one train (for cTBS, the whole continuous train).
    trains_per_session : int | None
        Trains in one session.
    inter_train_interval_s : float | None
        Pause between the end of one train and the start of the next, in s.
    reported_pulses_per_session : int | None
        Pulses per session as a source reported it when it gave no complete train
        structure. When ``pulses_per_train`` and ``trains_per_session`` are both
        known the total is derived and this must be ``None``.
    pulses_per_burst : int | None
        Theta burst only: pulses in a burst.
    intra_burst_frequency_hz : float | None
        Theta burst only: pulse rate within a burst, in Hz.
    coil : CoilType | None
        Coil family, ``None`` if unreported.
    """

    model_config = _FROZEN

    pattern: Pattern
    target: TargetSite
    laterality: Annotated[Laterality | None, *_Rep]
    frequency_hz: ReportedFloat
    intensity_pct_rmt: ReportedFloat
    pulses_per_train: ReportedInt
    trains_per_session: ReportedInt
    inter_train_interval_s: ReportedFloat
    reported_pulses_per_session: ReportedInt = None
    pulses_per_burst: ReportedInt = None
    intra_burst_frequency_hz: ReportedFloat = None
    coil: Annotated[CoilType | None, *_Rep] = None

    @field_validator("frequency_hz")
    @classmethod
    def _check_frequency(cls, v: float | None) -> float | None:
        _check_optional_range(v, "frequency_hz", 0.0, MAX_FREQUENCY_HZ, "Hz")
        return v

    @field_validator("intensity_pct_rmt")
    @classmethod
    def _check_intensity(cls, v: float | None) -> float | None:
        _check_optional_range(
            v, "intensity_pct_rmt", 0.0, MAX_INTENSITY_PCT_RMT, "% RMT"
        )
        return v

    @field_validator(
        "pulses_per_train",
        "trains_per_session",
        "reported_pulses_per_session",
        "pulses_per_burst",
    )
    @classmethod
    def _check_counts(cls, v: int | None, info: ValidationInfo) -> int | None:
        name = str(info.field_name)
        high, unit = _COUNT_BOUNDS[name]
        _check_optional_range(v, name, 1, high, unit, low_inclusive=True)
        return v

    @field_validator("inter_train_interval_s")
    @classmethod
    def _check_iti(cls, v: float | None) -> float | None:
        _check_optional_range(
            v,
            "inter_train_interval_s",
            0.0,
            MAX_INTER_TRAIN_INTERVAL_S,
            "s",
            low_inclusive=True,
        )
        return v

    @field_validator("intra_burst_frequency_hz")
    @classmethod
    def _check_intra(cls, v: float | None) -> float | None:
        _check_optional_range(
            v, "intra_burst_frequency_hz", 0.0, MAX_FREQUENCY_HZ, "Hz"
        )
        return v

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        tbs = self.pattern.is_theta_burst
        if not tbs:
            for name in ("pulses_per_burst", "intra_burst_frequency_hz"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"Invalid value for {name!r}: got {getattr(self, name)!r}; "
                        f"allowed only for theta-burst patterns (itbs, ctbs), not "
                        f"{self.pattern.value!r}."
                    )
        if self.pattern is Pattern.SINGLE_PULSE:
            if self.pulses_per_train not in (None, 1):
                raise ValueError(
                    "Invalid value for 'pulses_per_train': got "
                    f"{self.pulses_per_train!r}; allowed for single_pulse: 1 (each "
                    "pulse is its own train; give the count as trains_per_session)."
                )
            if self.frequency_hz is not None and not (
                self.frequency_hz < SINGLE_PULSE_MAX_RATE_HZ
            ):
                raise ValueError(
                    f"Invalid value for 'frequency_hz': got {self.frequency_hz!r}; "
                    "allowed range for single_pulse is "
                    f"(0, {SINGLE_PULSE_MAX_RATE_HZ:g}) Hz (regular pulses at >= 1 Hz "
                    "are rTMS: use pattern 'rtms')."
                )
        if tbs and self.pulses_per_burst is not None and self.pulses_per_train:
            if self.pulses_per_train % self.pulses_per_burst:
                raise ValueError(
                    "Invalid value for 'pulses_per_train': got "
                    f"{self.pulses_per_train!r}; allowed: a whole number of bursts of "
                    f"{self.pulses_per_burst} pulses."
                )
        if (
            tbs
            and self.frequency_hz is not None
            and self.intra_burst_frequency_hz is not None
            and self.pulses_per_burst is not None
        ):
            burst_span_s = (self.pulses_per_burst - 1) / self.intra_burst_frequency_hz
            if burst_span_s >= 1.0 / self.frequency_hz:
                raise ValueError(
                    "Invalid value for 'intra_burst_frequency_hz': got "
                    f"{self.intra_burst_frequency_hz!r}; a burst of "
                    f"{self.pulses_per_burst} pulses must end before the next burst "
                    f"starts (1/{self.frequency_hz:g} Hz): allowed range is "
                    f"({(self.pulses_per_burst - 1) * self.frequency_hz:g}, "
                    f"{MAX_FREQUENCY_HZ:g}] Hz."
                )
        if self.reported_pulses_per_session is not None and self._structure_known:
            raise ValueError(
                "Invalid value for 'reported_pulses_per_session': got "
                f"{self.reported_pulses_per_session!r}; allowed only when "
                "pulses_per_train or trains_per_session is unreported (here the total "
                f"is derived: {self.pulses_per_train} x {self.trains_per_session})."
            )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def _structure_known(self) -> bool:
        return self.pulses_per_train is not None and self.trains_per_session is not None

    @property
    def pulses_per_session(self) -> int | None:
        """Pulses in one session (derived, or as reported), ``None`` if unknown."""
        if self.pulses_per_train is not None and self.trains_per_session is not None:
            return self.pulses_per_train * self.trains_per_session
        return self.reported_pulses_per_session

    @property
    def bursts_per_train(self) -> int | None:
        """Theta burst only: bursts in one train."""
        if not self.pattern.is_theta_burst:
            return None
        if self.pulses_per_train is None or self.pulses_per_burst is None:
            return None
        return self.pulses_per_train // self.pulses_per_burst

    @property
    def train_duration_s(self) -> float | None:
        """Duration of one train in s: pulses / frequency (bursts / burst rate).

        This is the convention of the train-duration safety tables (e.g. 20 Hz for
        1.6 s is 32 pulses; Chen et al., 1997). A single pulse lasts 0 s.
        """
        if self.pattern is Pattern.SINGLE_PULSE:
            return 0.0
        if self.frequency_hz is None:
            return None
        if self.pattern.is_theta_burst:
            bursts = self.bursts_per_train
            return None if bursts is None else bursts / self.frequency_hz
        if self.pulses_per_train is None:
            return None
        return self.pulses_per_train / self.frequency_hz

    @property
    def max_possible_train_duration_s(self) -> float | None:
        """Longest a train can be given what is known, in s.

        Equals :attr:`train_duration_s` when the train is known; otherwise, for a
        conventional pattern with a known session total, the whole session as one
        continuous train (an upper bound that lets a check pass whatever the
        unreported train structure was).
        """
        known = self.train_duration_s
        if known is not None:
            return known
        if (
            self.pattern is Pattern.RTMS
            and self.frequency_hz is not None
            and self.pulses_per_session is not None
        ):
            return self.pulses_per_session / self.frequency_hz
        return None

    @property
    def session_duration_s(self) -> float | None:
        """Stimulation time of one session in s (trains plus pauses between them)."""
        if self.pattern is Pattern.SINGLE_PULSE:
            if self.frequency_hz is None or self.trains_per_session is None:
                return None
            return self.trains_per_session / self.frequency_hz
        train = self.train_duration_s
        if (
            train is None
            or self.trains_per_session is None
            or self.inter_train_interval_s is None
        ):
            return None
        return (
            self.trains_per_session * train
            + (self.trains_per_session - 1) * self.inter_train_interval_s
        )


class CourseBlock(BaseModel):
    """One target's part of a course: the dose per session and its schedule.

    Parameters
    ----------
    label : str
        Short unique name within the protocol (e.g. ``"M1"``).
    dose : StimulationDose
        Per-session dose.
    sessions : int | None
        Number of sessions of this block.
    sessions_per_week : float | None
        Sessions per week (``None`` if unreported).
    course_weeks : float | None
        Length of this block in weeks (``None`` if unreported).
    phase : int
        Order in the course: blocks with the same phase run in the same period,
        a higher phase follows a lower one.
    same_sessions_as : str | None
        Label of a block whose sessions this one is given in (e.g. DLPFC added to
        the S1 sessions).
    from_session : int
        With ``same_sessions_as``: the session of that block (1-based) from which
        this block is added (e.g. 5 when a target joins after four sessions).
    """

    model_config = _FROZEN

    label: str = Field(min_length=1, max_length=40)
    dose: StimulationDose
    sessions: ReportedInt
    sessions_per_week: ReportedFloat
    course_weeks: ReportedFloat
    phase: StrictCount = 1
    same_sessions_as: str | None = None
    from_session: StrictCount = 1

    @field_validator("sessions")
    @classmethod
    def _check_sessions(cls, v: int | None) -> int | None:
        if v is not None:
            check_range(v, "sessions", 1, MAX_SESSIONS_PER_COURSE, unit="sessions")
        return v

    @field_validator("sessions_per_week")
    @classmethod
    def _check_spw(cls, v: float | None) -> float | None:
        _check_optional_range(
            v, "sessions_per_week", 0.0, MAX_SESSIONS_PER_WEEK, "sessions/week"
        )
        return v

    @field_validator("course_weeks")
    @classmethod
    def _check_weeks(cls, v: float | None) -> float | None:
        _check_optional_range(v, "course_weeks", 0.0, MAX_COURSE_WEEKS, "weeks")
        return v

    @field_validator("phase")
    @classmethod
    def _check_phase(cls, v: int) -> int:
        check_range(v, "phase", 1, 100)
        return v

    @field_validator("from_session")
    @classmethod
    def _check_from(cls, v: int) -> int:
        check_range(v, "from_session", 1, MAX_SESSIONS_PER_COURSE, unit="sessions")
        return v

    @model_validator(mode="after")
    def _check_schedule(self) -> Self:
        s, spw, weeks = self.sessions, self.sessions_per_week, self.course_weeks
        if s is not None and spw is not None and weeks is not None:
            capacity = spw * weeks
            # a course of n sessions at spw a week needs at least ceil(n/spw) - 1
            # full weeks plus part of one more: allow the last week to be partial
            min_weeks = math.ceil(s / spw) - 1
            if s > capacity + 1e-9 or weeks < min_weeks:
                raise ValueError(
                    f"Invalid value for 'sessions': got {s}; with "
                    f"{spw:g} sessions/week over {weeks:g} weeks the allowed range is "
                    f"[1, {math.floor(capacity + 1e-9)}] sessions."
                )
        return self

    @property
    def mean_sessions_per_week(self) -> float | None:
        """Sessions per week as given, or sessions / course weeks when not given."""
        if self.sessions_per_week is not None:
            return self.sessions_per_week
        if self.sessions is not None and self.course_weeks:
            return self.sessions / self.course_weeks
        return None

    @property
    def pulses_per_course(self) -> int | None:
        """Pulses over the block's sessions, ``None`` if unknown."""
        per = self.dose.pulses_per_session
        if per is None or self.sessions is None:
            return None
        return per * self.sessions


class Arm(BaseModel):
    """One arm of a study.

    An arm may also be one condition given in turn to the same participants (e.g.
    two targets tried one after the other in one patient); ``same_participants_as``
    then names the arm whose participants it reuses, and ``n`` counts those same
    participants again (they are not added to the study's total).

    Parameters
    ----------
    label : str
        Arm name (e.g. ``"active"``).
    n : int | None
        Participants randomised (or analysed, as reported).
    condition : Condition
        Active or sham.
    protocol_id : str | None
        Library protocol given in this arm.
    outcome : ArmOutcome
        Whether the study reports that pain fell in this arm.
    result : str
        The arm's result in a few words, as published (e.g. ``"VAS 7 to 0"``).
    same_participants_as : str | None
        Label of another arm of the same study whose participants received this
        condition too (sequential conditions in the same patients).
    """

    model_config = _FROZEN

    label: str = Field(min_length=1, max_length=40)
    n: ReportedInt
    condition: Condition
    protocol_id: str | None = None
    outcome: ArmOutcome = ArmOutcome.UNREPORTED
    result: str = ""
    same_participants_as: str | None = None

    @field_validator("n")
    @classmethod
    def _check_n(cls, v: int | None) -> int | None:
        _check_optional_range(v, "n", 1, MAX_PARTICIPANTS, "", low_inclusive=True)
        return v


class Study(BaseModel):
    """Provenance of library protocols: one published study.

    Parameters
    ----------
    id : str
        Slug, e.g. ``"malavera2016"``.
    citation : str
        Author and year, e.g. ``"Malavera et al., 2016"``.
    design : str
        ``"rct"``, ``"case_report"`` or another short design name.
    n_total : int | None
        Participants in total.
    arms : tuple of Arm
        Study arms (labels unique).
    population : str
        Who was treated.
    outcome : str
        Primary pain outcome measure(s).
    reported_effect : str
        The effect as published (or as quoted by the review where the primary
        publication was not reached).
    primary_citation : str
        Journal reference of the primary publication.
    bibkey : str
        Key of the primary publication in ``docs/references.bib``.
    source : SourceRead
        What plptms read of the primary publication: ``full_text``, ``abstract``
        or ``not_reached`` (then every figure is as quoted by the review).
    review : str
        Where the source review quotes the study (e.g. ``"review Table 2"``);
        figures not in what was read of the primary come from there.
    review_bibkey : str
        Key of the source review in ``docs/references.bib``.
    from_review : tuple of str
        Fields whose values come from the review only (not in what was read of
        the primary publication): not verified.
    corrections : tuple of Correction
        Figures of the review corrected against the primary publication, with the
        review's wording kept beside them.
    notes : str
        Anything a reader should know (ambiguities, what was not reported).
    """

    model_config = _FROZEN

    id: str
    citation: str
    design: str
    n_total: ReportedInt
    arms: tuple[Arm, ...] = Field(min_length=1)
    population: str
    outcome: str
    reported_effect: str
    primary_citation: str = Field(min_length=1)
    bibkey: str = Field(min_length=1, pattern=r"^[\w-]+$")
    source: SourceRead
    review: str = Field(min_length=1)
    review_bibkey: str = Field(min_length=1, pattern=r"^[\w-]+$")
    from_review: tuple[str, ...] = ()
    corrections: tuple[Correction, ...] = ()
    notes: str = ""

    @field_validator("n_total")
    @classmethod
    def _check_n_total(cls, v: int | None) -> int | None:
        _check_optional_range(v, "n_total", 1, MAX_PARTICIPANTS, "", low_inclusive=True)
        return v

    @model_validator(mode="after")
    def _check_arms(self) -> Self:
        labels = [a.label for a in self.arms]
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ValueError(
                f"Invalid value for 'arms': got duplicate labels {dupes}; allowed: "
                "unique labels."
            )
        for a in self.arms:
            ref = a.same_participants_as
            if ref is not None and (ref not in labels or ref == a.label):
                others = [lab for lab in labels if lab != a.label]
                raise ValueError(
                    f"Invalid value for 'same_participants_as': got {ref!r} in arm "
                    f"{a.label!r}; allowed values are {others}."
                )
        independent = [a.n for a in self.arms if a.same_participants_as is None]
        if self.n_total is not None and None not in independent:
            total = sum(n for n in independent if n is not None)
            if total > self.n_total:
                raise ValueError(
                    f"Invalid value for 'arms': got {total} participants in arms of "
                    f"distinct participants; allowed: at most n_total = "
                    f"{self.n_total} (mark an arm given to the same participants "
                    "with 'same_participants_as')."
                )
        if self.source is SourceRead.NOT_REACHED and self.corrections:
            raise ValueError(
                "Invalid value for 'corrections': got corrections with source "
                "'not_reached'; allowed: corrections only when the primary "
                "publication (or its abstract) was read."
            )
        return self

    def arm_of(self, protocol_id: str) -> Arm | None:
        """Return the arm in which ``protocol_id`` was given, if any.

        Parameters
        ----------
        protocol_id : str
            A library protocol id.

        Returns
        -------
        arm : Arm | None
            The first arm giving it, ``None`` if no arm does.
        """
        return next((a for a in self.arms if a.protocol_id == protocol_id), None)


class Protocol(BaseModel):
    """A stimulation course: one or more blocks.

    Parameters
    ----------
    id : str
        Slug (lower case letters, digits, ``_ . -``).
    name : str
        Human-readable name.
    condition : Condition
        Active or sham.
    blocks : tuple of CourseBlock
        The blocks of the course; labels are unique.
    study_id : str | None
        Library study this protocol was taken from.
    notes : str
        Free text.
    """

    model_config = _FROZEN

    id: str
    name: str = Field(min_length=1, max_length=200)
    condition: Condition
    blocks: tuple[CourseBlock, ...] = Field(min_length=1)
    study_id: str | None = None
    notes: str = ""

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(
                f"Invalid value for 'id': got {v!r}; allowed: 2-64 characters, lower "
                "case letters, digits and '_ . -', starting with a letter or digit."
            )
        return v

    @model_validator(mode="after")
    def _check_blocks(self) -> Self:
        labels = [b.label for b in self.blocks]
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ValueError(
                f"Invalid value for 'blocks': got duplicate labels {dupes}; allowed: "
                "unique labels."
            )
        for b in self.blocks:
            if b.same_sessions_as is not None and (
                b.same_sessions_as not in labels or b.same_sessions_as == b.label
            ):
                others = [lab for lab in labels if lab != b.label]
                raise ValueError(
                    "Invalid value for 'same_sessions_as': got "
                    f"{b.same_sessions_as!r} in block {b.label!r}; allowed values are "
                    f"{others}."
                )
            if b.from_session != 1 and b.same_sessions_as is None:
                raise ValueError(
                    f"Invalid value for 'from_session': got {b.from_session} in block "
                    f"{b.label!r}; allowed: 1 unless 'same_sessions_as' names the "
                    "block it is added to."
                )
            if b.same_sessions_as is not None and b.sessions is not None:
                host = self.block(b.same_sessions_as).sessions
                last = b.from_session - 1 + b.sessions
                if host is not None and last > host:
                    raise ValueError(
                        f"Invalid value for 'sessions': got {b.sessions} from session "
                        f"{b.from_session} in block {b.label!r}; allowed range is "
                        f"[1, {max(host - b.from_session + 1, 0)}] sessions (block "
                        f"{b.same_sessions_as!r} has {host})."
                    )
        return self

    def block(self, label: str) -> CourseBlock:
        """Return the block with this label.

        Parameters
        ----------
        label : str
            Block label.

        Returns
        -------
        block : CourseBlock
            The block.

        Raises
        ------
        KeyError
            If there is no such block.
        """
        for b in self.blocks:
            if b.label == label:
                return b
        raise KeyError(
            f"Invalid value for 'label': got {label!r}; allowed values are "
            f"{[b.label for b in self.blocks]}."
        )

    @property
    def pulses_per_course(self) -> int | None:
        """Pulses over the whole course, ``None`` if any block's total is unknown."""
        total = 0
        for b in self.blocks:
            p = b.pulses_per_course
            if p is None:
                return None
            total += p
        return total

    @property
    def targets(self) -> tuple[TargetSite, ...]:
        """Targets in block order, without repeats."""
        seen: list[TargetSite] = []
        for b in self.blocks:
            if b.dose.target not in seen:
                seen.append(b.dose.target)
        return tuple(seen)
