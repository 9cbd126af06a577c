"""Study outcome data as validated models: what each trial reported, and no more.

A study file holds the study's design, the moderators of its active protocol
(target, frequency, intensity, pulses, sessions) and one record per reported
outcome and time point. Every number may be ``"unreported"``; effect sizes are
computed later from whatever was reported (see :mod:`plptms.meta._effects`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from ..protocol import (
    MAX_FREQUENCY_HZ,
    MAX_INTENSITY_PCT_RMT,
    MAX_PARTICIPANTS,
    MAX_PULSES_PER_SESSION,
    MAX_SESSIONS_PER_COURSE,
    ReportedFloat,
    ReportedInt,
    StrictNumber,
    TargetSite,
)
from ..utils import check_range
from ._constants import HIGH_FREQUENCY_MIN_HZ, LOW_FREQUENCY_MAX_HZ, MAX_FOLLOW_UP_DAYS

__all__ = [
    "ArmSummary",
    "Comparison",
    "FrequencyClass",
    "OutcomeRecord",
    "OutcomeStudy",
    "ReportedTest",
    "StudyDesign",
    "StudyModerators",
    "TestDirection",
    "Timepoint",
]


_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _opt_range(
    value: float | None,
    field: str,
    low: float | None,
    high: float | None,
    unit: str = "",
    *,
    low_inclusive: bool = True,
) -> float | None:
    if value is not None:
        check_range(value, field, low, high, unit=unit, low_inclusive=low_inclusive)
    return value


class StudyDesign(StrEnum):
    """Design of a study."""

    RCT = "rct"
    CROSSOVER = "crossover"
    SINGLE_ARM = "single_arm"
    CASE_SERIES = "case_series"
    CASE_REPORT = "case_report"


class Comparison(StrEnum):
    """What the treatment arm of a study is compared with."""

    SHAM = "sham"
    ACTIVE = "active"
    NONE = "none"


class Timepoint(StrEnum):
    """When an outcome was measured."""

    END_OF_TREATMENT = "end_of_treatment"
    FOLLOW_UP = "follow_up"


class TestDirection(StrEnum):
    """Which arm had the lower value of the compared quantity."""

    TREATMENT_LOWER = "treatment_lower"
    TREATMENT_HIGHER = "treatment_higher"


class FrequencyClass(StrEnum):
    """rTMS frequency class (Lefaucheur et al., 2014)."""

    LOW = "low"
    INTERMEDIATE = "intermediate"
    HIGH = "high"
    MIXED = "mixed"


class StudyModerators(BaseModel):
    """Protocol features of the treatment arm, used as moderators.

    Parameters
    ----------
    targets : tuple of TargetSite
        Cortical targets stimulated (one or more).
    frequency_hz : tuple of float
        Stimulation frequency per target, in Hz (same order as ``targets``; one value
        applies to all targets).
    intensity_pct_rmt : float | None
        Intensity in % of the resting motor threshold (of the main target).
    pulses_per_session : int | None
        Pulses per session (of the main target).
    sessions : int | None
        Sessions in the course.
    """

    model_config = _FROZEN

    targets: tuple[TargetSite, ...] = Field(min_length=1)
    frequency_hz: tuple[StrictNumber, ...] = Field(min_length=1)
    intensity_pct_rmt: ReportedFloat = None
    pulses_per_session: ReportedInt = None
    sessions: ReportedInt = None

    @field_validator("frequency_hz")
    @classmethod
    def _check_frequency(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for f in v:
            check_range(
                f, "frequency_hz", 0.0, MAX_FREQUENCY_HZ, unit="Hz", low_inclusive=False
            )
        return v

    @field_validator("intensity_pct_rmt")
    @classmethod
    def _check_intensity(cls, v: float | None) -> float | None:
        return _opt_range(
            v,
            "intensity_pct_rmt",
            0.0,
            MAX_INTENSITY_PCT_RMT,
            "% RMT",
            low_inclusive=False,
        )

    @field_validator("pulses_per_session")
    @classmethod
    def _check_pulses(cls, v: int | None) -> int | None:
        _opt_range(v, "pulses_per_session", 1, MAX_PULSES_PER_SESSION, "pulses")
        return v

    @field_validator("sessions")
    @classmethod
    def _check_sessions(cls, v: int | None) -> int | None:
        _opt_range(v, "sessions", 1, MAX_SESSIONS_PER_COURSE, "sessions")
        return v

    @model_validator(mode="after")
    def _check_lengths(self) -> StudyModerators:
        if len(self.frequency_hz) not in (1, len(self.targets)):
            raise ValueError(
                f"Invalid value for 'frequency_hz': got {len(self.frequency_hz)} "
                f"values for {len(self.targets)} targets; allowed: one value, or one "
                "per target."
            )
        return self

    @property
    def frequency_class(self) -> FrequencyClass:
        """Low (<= 1 Hz), high (>= 5 Hz), intermediate, or mixed across targets."""
        classes = {_frequency_class(f) for f in self.frequency_hz}
        return classes.pop() if len(classes) == 1 else FrequencyClass.MIXED

    @property
    def target_label(self) -> str:
        """Targets joined by ``+`` (e.g. ``"s1+dlpfc"``)."""
        return "+".join(t.value for t in self.targets)


def _frequency_class(frequency_hz: float) -> FrequencyClass:
    if frequency_hz <= LOW_FREQUENCY_MAX_HZ:
        return FrequencyClass.LOW
    if frequency_hz >= HIGH_FREQUENCY_MIN_HZ:
        return FrequencyClass.HIGH
    return FrequencyClass.INTERMEDIATE


class ArmSummary(BaseModel):
    """Summary statistics of one arm at one time point, as reported.

    Parameters
    ----------
    label : str
        Arm name (e.g. ``"active"``, ``"sham"``).
    n : int | None
        Participants analysed.
    baseline_mean : float | None
        Mean before treatment, in outcome units (for one patient: the value).
    mean, sd : float | None
        Mean (for one patient: the value) and standard deviation of the outcome at
        the time point, in outcome units.
    percent_change : float | None
        Mean change from baseline in % of baseline (negative = fall).
    percent_change_sd : float | None
        Standard deviation of the individual percent changes, in percentage points.
    baseline_median, median : float | None
        Medians before and after treatment, in outcome units (descriptive only).
    """

    model_config = _FROZEN

    label: str = Field(min_length=1)
    n: ReportedInt = None
    baseline_mean: ReportedFloat = None
    mean: ReportedFloat = None
    sd: ReportedFloat = None
    percent_change: ReportedFloat = None
    percent_change_sd: ReportedFloat = None
    baseline_median: ReportedFloat = None
    median: ReportedFloat = None

    @field_validator("n")
    @classmethod
    def _check_n(cls, v: int | None) -> int | None:
        _opt_range(v, "n", 1, MAX_PARTICIPANTS, "participants")
        return v

    @field_validator("sd", "percent_change_sd")
    @classmethod
    def _check_sd(cls, v: float | None, info: Any) -> float | None:
        return _opt_range(v, str(info.field_name), 0.0, None, low_inclusive=False)

    @field_validator("percent_change")
    @classmethod
    def _check_pct(cls, v: float | None) -> float | None:
        return _opt_range(v, "percent_change", -100.0, None, "%")


def _strict_sided(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            f"Invalid value for 'sided': got {value!r} (bool); allowed values are 1, 2."
        )
    return value


class ReportedTest(BaseModel):
    """A between-arm test statistic or p-value as reported.

    Parameters
    ----------
    statistic : {"t", "f", "p"}
        Kind of the reported value: a t statistic, an F statistic with one numerator
        degree of freedom, or a p-value.
    value : float
        The reported value (for ``t`` its absolute value is used; the sign comes from
        ``direction``).
    df : float | None
        Denominator degrees of freedom; ``None`` means ``n_treatment + n_control - 2``
        (a two-sample t test with pooled variance).
    sided : {1, 2}
        Sidedness of a p-value.
    direction : TestDirection
        Which arm had the lower value of the compared quantity.
    quantity : str
        What was compared (e.g. ``"percent change in VAS"``).
    """

    model_config = _FROZEN

    statistic: Literal["t", "f", "p"]
    value: StrictNumber
    df: ReportedFloat = None
    sided: Annotated[Literal[1, 2], BeforeValidator(_strict_sided)] = 2
    direction: TestDirection
    quantity: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check_value(self) -> ReportedTest:
        if self.statistic == "p":
            check_range(
                self.value,
                "value",
                0.0,
                1.0,
                low_inclusive=False,
                high_inclusive=False,
            )
        elif self.statistic == "f":
            check_range(self.value, "value", 0.0, None, low_inclusive=False)
        else:
            check_range(self.value, "value", None, None)
            if self.value == 0.0:
                raise ValueError(
                    "Invalid value for 'value': got 0.0; allowed: a non-zero t "
                    "statistic."
                )
        _opt_range(self.df, "df", 0.0, None, low_inclusive=False)
        return self


class OutcomeRecord(BaseModel):
    """One outcome at one time point of one study, with what was reported.

    Parameters
    ----------
    id : str
        Identifier within the study (e.g. ``"vas-end"``).
    outcome : str
        Construct (e.g. ``"pain_intensity"``, ``"neuropathic_pain"``).
    instrument : str
        Instrument (e.g. ``"VAS"``, ``"SF-MPQ"``, ``"LANSS"``).
    timepoint : Timepoint
        End of treatment or follow-up.
    follow_up : str | None
        Follow-up as reported (e.g. ``"2 months"``); required for follow-ups.
    follow_up_days : float | None
        Days after the end of the course, where reported.
    lower_is_better : bool
        Direction of the instrument.
    treatment, control : ArmSummary | None
        Arm summaries; ``control`` is ``None`` when the study has no comparator.
    test : ReportedTest | None
        Between-arm test, if reported.
    reported : str
        The reported result in words.
    source : str
        Where the numbers come from (e.g. ``"review Table 2"``).
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    outcome: str = Field(min_length=1)
    instrument: str = Field(min_length=1)
    timepoint: Timepoint
    follow_up: str | None = None
    follow_up_days: ReportedFloat = None
    lower_is_better: StrictBool = True
    treatment: ArmSummary | None = None
    control: ArmSummary | None = None
    test: ReportedTest | None = None
    reported: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @field_validator("follow_up_days")
    @classmethod
    def _check_days(cls, v: float | None) -> float | None:
        return _opt_range(v, "follow_up_days", 0.0, MAX_FOLLOW_UP_DAYS, "days")

    @model_validator(mode="after")
    def _check_follow_up(self) -> OutcomeRecord:
        if self.timepoint == Timepoint.FOLLOW_UP and self.follow_up is None:
            raise ValueError(
                "Invalid value for 'follow_up': got None; allowed: the follow-up as "
                "reported (e.g. '2 months') when timepoint is 'follow_up'."
            )
        if self.test is not None and self.control is None:
            raise ValueError(
                "Invalid value for 'test': got a between-arm test; allowed: none "
                "without a 'control' arm."
            )
        return self


class OutcomeStudy(BaseModel):
    """A study with its design, moderators and reported outcomes.

    Parameters
    ----------
    id : str
        Study identifier (e.g. ``"malavera2016"``), matching the protocol library.
    citation : str
        Short citation (e.g. ``"Malavera et al., 2016"``).
    design : StudyDesign
        Design.
    comparison : Comparison
        Comparator of the treatment arm.
    n_total : int | None
        Participants in all arms.
    protocol_ids : tuple of str
        Protocols of the treatment arm in :func:`plptms.protocol.load_library`.
    moderators : StudyModerators
        Features of the treatment-arm protocol.
    outcomes : tuple of OutcomeRecord
        Reported outcomes (ids unique within the study).
    source : str
        Where the study's data come from.
    notes : str | None
        Free text.
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    citation: str = Field(min_length=1)
    design: StudyDesign
    comparison: Comparison
    n_total: ReportedInt = None
    protocol_ids: tuple[str, ...] = ()
    moderators: StudyModerators
    outcomes: tuple[OutcomeRecord, ...] = Field(min_length=1)
    source: str = Field(min_length=1)
    notes: str | None = None

    @field_validator("n_total")
    @classmethod
    def _check_n_total(cls, v: int | None) -> int | None:
        _opt_range(v, "n_total", 1, MAX_PARTICIPANTS, "participants")
        return v

    @model_validator(mode="after")
    def _check_consistency(self) -> OutcomeStudy:
        ids = [o.id for o in self.outcomes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(
                f"Invalid value for 'outcomes': got duplicate ids {dupes}; allowed: "
                "unique outcome ids."
            )
        if self.comparison == Comparison.NONE:
            with_control = [o.id for o in self.outcomes if o.control is not None]
            if with_control:
                raise ValueError(
                    f"Invalid value for 'comparison': got 'none' but outcomes "
                    f"{with_control} have a control arm; allowed: 'sham' or 'active'."
                )
        if self.n_total is not None:
            for o in self.outcomes:
                arms = [a for a in (o.treatment, o.control) if a is not None]
                total = sum(a.n for a in arms if a.n is not None)
                if total > self.n_total:
                    raise ValueError(
                        f"Invalid value for 'outcomes.{o.id}': got {total} "
                        f"participants in the arms; allowed: at most n_total = "
                        f"{self.n_total}."
                    )
        return self

    def outcome(self, outcome_id: str) -> OutcomeRecord:
        """Return an outcome record by id.

        Parameters
        ----------
        outcome_id : str
            The id.

        Returns
        -------
        record : OutcomeRecord
            The record.

        Raises
        ------
        KeyError
            If unknown; the message lists the ids.
        """
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        ids = ", ".join(o.id for o in self.outcomes)
        raise KeyError(
            f"Invalid value for 'outcome_id': got {outcome_id!r}; allowed values are "
            f"{ids}."
        )
