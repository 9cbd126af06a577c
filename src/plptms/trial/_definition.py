"""A versioned, validated trial definition, and its amendments.

A :class:`TrialDefinition` says what a multicentre trial is: its sites, its arms
(each a library protocol given active or sham, with optional co-interventions such
as mirror therapy, so that a 2x2 factorial is expressible), the allocation ratio,
the stratification factors and randomisation method (turned into the matching
configuration of :mod:`plptms.trial` by :meth:`TrialDefinition.randomiser`),
eligibility, the visit schedule with windows, the endpoints, interim analyses and
the stopping rules. It is pure data: reading a file (:func:`read_trial_definition`)
uses the project's safe loader, and every arm's protocol goes through the safety
engine (:func:`check_definition_safety`) before a definition is accepted.

After the first enrolment a definition changes only by an amendment
(:func:`amend_definition`): the next version, a reason, the same trial id, and no
change to what the stored allocations depend on (arms, ratios, randomisation,
stratification factors).

Pain-change responder endpoints use the IMMPACT thresholds, 30 % (moderately) and
50 % (substantially important) reduction of pain intensity :footcite:`dworkin2008`;
they are defined for pain intensity ratings only.

.. footbibliography::
"""

from __future__ import annotations

import itertools
import math
import re
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..protocol import (
    Condition,
    Limb,
    Protocol,
    load_data,
    load_library,
    validate_model,
)
from ..safety import Decision, ScreeningStatus, check_protocol
from ..scales import get_scale, list_scales, pain_intensity_scale_id
from ._randomisation import Minimisation, PermutedBlocks, SimpleRandomisation

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from ..safety import RuleResult, SafetyPolicy, Verdict
    from ._sequential import GroupSequentialBoundaries

__all__ = [
    "ADVERSE_EVENT_TERMS",
    "RELATEDNESS_LEVELS",
    "CoIntervention",
    "DefinitionChange",
    "Eligibility",
    "Endpoint",
    "InterimSpec",
    "RandomisationSpec",
    "StoppingRule",
    "StratificationFactor",
    "TrialAmendment",
    "TrialAmendmentError",
    "TrialArm",
    "TrialDefinition",
    "TrialDefinitionError",
    "TrialSite",
    "VisitSpec",
    "amend_definition",
    "check_definition_safety",
    "definition_verdicts",
    "diff_definitions",
    "plan_amendment",
    "read_trial_definition",
    "refused_arms",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_T = TypeVar("_T")
#: Trial id: as a protocol id, 2-64 lower case letters, digits and ``_ . -``.
_TRIAL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
#: Ids inside a definition (arms, visits, endpoints, factors, ...): 1-64 characters.
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
#: Site code: the rule of the registry's site codes (``plptms.registry._models``),
#: copied here because the core never imports the registry.
_SITE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
#: Shortest amendment reason, in characters (plptms choice).
_MIN_REASON_CHARS = 10

#: Adverse event terms a stopping rule may name (the registry's controlled list,
#: ``plptms.registry.AdverseEventTerm``; a test keeps the two equal), plus ``any``.
ADVERSE_EVENT_TERMS: tuple[str, ...] = (
    "seizure",
    "hypomania",
    "syncope",
    "headache",
    "scalp_discomfort",
    "neck_pain",
    "toothache",
    "paresthesia",
    "hearing_change",
    "cognitive_change",
    "scalp_burn",
    "implant_interference",
    "dizziness",
    "fatigue",
    "blurred_vision",
    "nausea",
    "mood_change",
    "other",
)
#: Relatedness levels (the registry's ``Relatedness``; a test keeps them equal).
RELATEDNESS_LEVELS: tuple[str, ...] = (
    "unrelated",
    "unlikely",
    "possible",
    "probable",
    "definite",
)
#: IMMPACT responder thresholds, % reduction of pain intensity (Dworkin et al.,
#: 2008). [dworkin2008]
_RESPONDER_PCT = {"responder_30": 30.0, "responder_50": 50.0}


class TrialDefinitionError(ValueError):
    """A trial definition that is invalid or refused (e.g. an arm's protocol)."""


class TrialAmendmentError(TrialDefinitionError):
    """An amendment that is not allowed."""


def _check_id(value: str, field: str, pattern: re.Pattern[str] = _ID) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        size = "2-64" if pattern is _TRIAL_ID else "1-64"
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: {size} characters, "
            "lower case letters, digits and '_ . -', starting with a letter or digit."
        )
    return value


def _check_unique(values: Sequence[str], field: str) -> None:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(
            f"Invalid value for {field!r}: got duplicate ids {dupes}; allowed: "
            "unique ids."
        )


def _scale_ids() -> list[str]:
    return [s.id for s in list_scales()]


def _check_scale(scale_id: str, field: str) -> str:
    ids = _scale_ids()
    if scale_id not in ids:
        import difflib

        close = difflib.get_close_matches(scale_id, ids, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Invalid value for {field!r}: got {scale_id!r}; allowed values are the "
            f"plptms.scales ids {', '.join(ids)}.{hint}"
        )
    return scale_id


def _pain_intensity_ids() -> tuple[str, ...]:
    return tuple(
        pain_intensity_scale_id(i, s, m)
        for i, s, m in itertools.product(
            ("vas", "nrs"), ("phantom", "stump"), ("average", "worst")
        )
    )


# --------------------------------------------------------------------------------------
# Parts of a definition
# --------------------------------------------------------------------------------------
class TrialSite(BaseModel):
    """One site of a multicentre trial.

    Parameters
    ----------
    code : str
        Site code, as registry site codes: 1-32 letters, digits, ``_`` or ``-``,
        starting with a letter or digit.
    name : str
        Human-readable name.
    """

    model_config = _FROZEN

    code: str
    name: str = Field(min_length=1, max_length=200)

    @field_validator("code")
    @classmethod
    def _check_code(cls, v: str) -> str:
        if not _SITE_CODE.match(v):
            raise ValueError(
                f"Invalid value for 'code': got {v!r}; allowed: 1-32 letters, digits, "
                "'_' or '-', starting with a letter or digit."
            )
        return v


class CoIntervention(BaseModel):
    """A co-intervention factor (e.g. mirror therapy), crossed with the arms.

    Parameters
    ----------
    id : str
        Identifier, e.g. ``"mirror_therapy"``.
    label : str
        Human-readable name.
    levels : tuple of str
        The levels an arm may give, e.g. ``("yes", "no")``; at least two, distinct.
    dose : str
        The dose of the active level, e.g. ``"15 min a day on session days"``.
    """

    model_config = _FROZEN

    id: str
    label: str = Field(min_length=1, max_length=200)
    levels: tuple[str, ...]
    dose: str = Field(min_length=1, max_length=500)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(v) < 2 or len(set(v)) != len(v) or any(not s.strip() for s in v):
            raise ValueError(
                f"Invalid value for 'levels': got {list(v)!r}; allowed: two or more "
                "distinct, non-empty levels."
            )
        return v


class TrialArm(BaseModel):
    """One arm: a library protocol, given active or sham, with co-interventions.

    A sham arm names the active library protocol it imitates: it runs the same
    dose parameters through the sham coil or mode (see
    :meth:`TrialDefinition.arm_protocol`).

    Parameters
    ----------
    id : str
        Arm identifier (the allocation's arm name).
    label : str
        Human-readable name.
    protocol_id : str
        A protocol of :func:`plptms.protocol.load_library`.
    condition : {'active', 'sham'}
        Stimulation condition of this arm.
    ratio : int
        Allocation ratio weight, >= 1.
    co_interventions : dict of str to str
        Co-intervention id to the level this arm gives; every co-intervention of
        the definition is named exactly once.
    """

    model_config = _FROZEN

    id: str
    label: str = Field(min_length=1, max_length=200)
    protocol_id: str
    condition: Literal["active", "sham"]
    ratio: int = 1
    co_interventions: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"Invalid value for 'ratio': got {v!r}; allowed: a whole number >= 1."
            )
        return v


class StratificationFactor(BaseModel):
    """A stratification (or minimisation) factor.

    Parameters
    ----------
    id : str
        Factor id, e.g. ``"site"``, ``"limb"``, ``"pain_band"``. The factor
        ``site`` must list exactly the trial's site codes.
    levels : tuple of str
        The levels, distinct and non-empty.
    weight : float
        Minimisation weight, finite and >= 0 (default 1).
    """

    model_config = _FROZEN

    id: str
    levels: tuple[str, ...]
    weight: float = 1.0

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v) or any(not s.strip() for s in v):
            raise ValueError(
                f"Invalid value for 'levels': got {list(v)!r}; allowed: one or more "
                "distinct, non-empty levels."
            )
        return v

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0:
            raise ValueError(
                f"Invalid value for 'weight': got {v!r}; allowed range is [0, inf)."
            )
        return v


class RandomisationSpec(BaseModel):
    """How patients are allocated (see :meth:`TrialDefinition.randomiser`).

    Parameters
    ----------
    method : {'simple', 'blocks', 'minimisation'}
        Simple randomisation, (stratified) permuted blocks of randomly varying
        size, or Pocock-Simon minimisation.
    block_sizes : tuple of int
        Permuted blocks: the sizes to draw from, each a multiple of the ratio sum.
    p : float
        Minimisation: the random element (probability of the preferred arm with
        equal allocation), in ``[1/K, 1]``.
    imbalance : {'range', 'variance', 'sd'}
        Minimisation: the imbalance function.
    stratify : bool
        Permuted blocks: stratify by every stratification factor (else one
        stratum). Minimisation always uses every factor; simple ignores them.
    """

    model_config = _FROZEN

    method: Literal["simple", "blocks", "minimisation"]
    block_sizes: tuple[int, ...] = ()
    p: float = 0.8
    imbalance: Literal["range", "variance", "sd"] = "range"
    stratify: bool = True


class Eligibility(BaseModel):
    """Eligibility criteria, on screening and scale scores.

    Parameters
    ----------
    screening_eligible : bool
        The safety screening must be ``eligible`` (not needing review, not
        excluded). Default ``True``.
    min_age_years, max_age_years : int, int | None
        Age range at enrolment, years, inclusive.
    pain_scale_id : str
        The pain intensity scale of the baseline criterion (a plptms.scales id).
    min_baseline_pain : float
        Lowest baseline score on that scale, in the scale's range.
    min_months_since_amputation : int
        Amputation at least this many whole months before enrolment.
    limbs : tuple of Limb
        Amputated limbs included (``upper``, ``lower``).
    """

    model_config = _FROZEN

    screening_eligible: bool = True
    min_age_years: int = 18
    max_age_years: int | None = None
    pain_scale_id: str = "nrs_phantom_average"
    min_baseline_pain: float
    min_months_since_amputation: int = 0
    limbs: tuple[Limb, ...] = (Limb.UPPER, Limb.LOWER)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not 0 <= self.min_age_years <= 120:
            raise ValueError(
                f"Invalid value for 'min_age_years': got {self.min_age_years!r}; "
                "allowed range is [0, 120] years."
            )
        if self.max_age_years is not None and not (
            self.min_age_years <= self.max_age_years <= 120
        ):
            raise ValueError(
                f"Invalid value for 'max_age_years': got {self.max_age_years!r}; "
                f"allowed range is [{self.min_age_years}, 120] years."
            )
        pain_ids = _pain_intensity_ids()
        if self.pain_scale_id not in pain_ids:
            raise ValueError(
                f"Invalid value for 'pain_scale_id': got {self.pain_scale_id!r}; "
                f"allowed values are {', '.join(pain_ids)}."
            )
        item = get_scale(self.pain_scale_id).items[0]
        if not (
            math.isfinite(self.min_baseline_pain)
            and item.min <= self.min_baseline_pain <= item.max
        ):
            raise ValueError(
                f"Invalid value for 'min_baseline_pain': got {self.min_baseline_pain!r}"
                f"; allowed range is [{item.min:g}, {item.max:g}] on "
                f"{self.pain_scale_id!r}."
            )
        if self.min_months_since_amputation < 0:
            raise ValueError(
                "Invalid value for 'min_months_since_amputation': got "
                f"{self.min_months_since_amputation!r}; allowed range is [0, inf) "
                "months."
            )
        if not self.limbs or len(set(self.limbs)) != len(self.limbs):
            raise ValueError(
                f"Invalid value for 'limbs': got {[str(x) for x in self.limbs]!r}; "
                "allowed: one or more distinct of 'upper', 'lower'."
            )
        return self

    def reasons(
        self,
        *,
        screening: ScreeningStatus | str,
        age_years: int,
        baseline_pain: float,
        months_since_amputation: int,
        limb: Limb | str,
    ) -> tuple[str, ...]:
        """Return why a patient is not eligible (empty when eligible).

        Parameters
        ----------
        screening : ScreeningStatus | str
            Outcome of the safety screening.
        age_years : int
            Age at enrolment, years.
        baseline_pain : float
            Baseline score on :attr:`pain_scale_id`.
        months_since_amputation : int
            Whole months since the amputation.
        limb : Limb | str
            Amputated limb.

        Returns
        -------
        reasons : tuple of str
            One sentence per criterion not met, naming the field and value.

        Raises
        ------
        ValueError
            If ``screening`` or ``limb`` is not an allowed value.
        """
        status = ScreeningStatus(screening)
        lmb = Limb(limb)
        out: list[str] = []
        if self.screening_eligible and status is not ScreeningStatus.ELIGIBLE:
            out.append(f"screening: got {status.value!r}; required 'eligible'.")
        hi = "inf" if self.max_age_years is None else str(self.max_age_years)
        if age_years < self.min_age_years or (
            self.max_age_years is not None and age_years > self.max_age_years
        ):
            out.append(
                f"age_years: got {age_years}; required [{self.min_age_years}, {hi}]."
            )
        if not baseline_pain >= self.min_baseline_pain:
            out.append(
                f"baseline_pain: got {baseline_pain:g} on {self.pain_scale_id!r}; "
                f"required >= {self.min_baseline_pain:g}."
            )
        if months_since_amputation < self.min_months_since_amputation:
            out.append(
                f"months_since_amputation: got {months_since_amputation}; required "
                f">= {self.min_months_since_amputation}."
            )
        if lmb not in self.limbs:
            out.append(
                f"limb: got {lmb.value!r}; required one of "
                f"{[x.value for x in self.limbs]}."
            )
        return tuple(out)


class VisitSpec(BaseModel):
    """One scheduled visit.

    Parameters
    ----------
    id : str
        Visit id.
    label : str
        Human-readable name.
    day : int
        Due day counted from randomisation (day 0); negative before it.
    window_before_days, window_after_days : int
        The window, days before and after the due day, each >= 0.
    scales : tuple of str
        The plptms.scales ids collected at this visit.
    """

    model_config = _FROZEN

    id: str
    label: str = Field(min_length=1, max_length=200)
    day: int
    window_before_days: int = 0
    window_after_days: int = 0
    scales: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("window_before_days", "window_after_days")
    @classmethod
    def _window(cls, v: int, info: Any) -> int:
        if v < 0:
            raise ValueError(
                f"Invalid value for {info.field_name!r}: got {v!r}; allowed range is "
                "[0, inf) days."
            )
        return v

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            _check_scale(s, "scales")
        if len(set(v)) != len(v):
            raise ValueError(
                f"Invalid value for 'scales': got {list(v)!r}; allowed: distinct "
                "scale ids."
            )
        return v


class Endpoint(BaseModel):
    """A primary or secondary endpoint.

    Parameters
    ----------
    id : str
        Endpoint id.
    kind : {'primary', 'secondary'}
        Its role.
    scale_id : str
        The plptms.scales id measured.
    visit_id : str
        The visit at which it is assessed (the scale must be collected there).
    measure : {'change_from_baseline', 'responder_30', 'responder_50', 'value'}
        Change from the baseline visit; a responder by the IMMPACT 30 % or 50 %
        pain reduction (pain intensity scales only); or the value itself.
    """

    model_config = _FROZEN

    id: str
    kind: Literal["primary", "secondary"]
    scale_id: str
    visit_id: str
    measure: Literal["change_from_baseline", "responder_30", "responder_50", "value"]

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("scale_id")
    @classmethod
    def _scale(cls, v: str) -> str:
        return _check_scale(v, "scale_id")

    @property
    def responder_threshold_pct(self) -> float | None:
        """The IMMPACT % reduction of a responder endpoint, else ``None``."""
        return _RESPONDER_PCT.get(self.measure)


class InterimSpec(BaseModel):
    """One interim analysis (a look of a group-sequential design).

    Parameters
    ----------
    information_fraction : float
        Fraction of the final information at this look, in ``(0, 1)``.
    spending : {'obrien_fleming', 'pocock'}
        Lan-DeMets spending function type; every look of a trial uses the same.
    """

    model_config = _FROZEN

    information_fraction: float
    spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming"

    @field_validator("information_fraction")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if not (math.isfinite(v) and 0.0 < v < 1.0):
            raise ValueError(
                f"Invalid value for 'information_fraction': got {v!r}; allowed range "
                "is (0, 1)."
            )
        return v


class StoppingRule(BaseModel):
    """A safety stopping rule on adverse events.

    Parameters
    ----------
    id : str
        Rule id.
    description : str
        The rule in words.
    event : str
        The adverse event term that counts (see :data:`ADVERSE_EVENT_TERMS`), or
        ``"any"``.
    serious_only : bool
        Count serious events (SAEs) only.
    relatedness : tuple of str
        Relatedness levels that count; empty means any.
    count : int
        Number of matching events, trial-wide, that trigger the action (>= 1).
    action : {'pause_enrolment', 'pause_stimulation', 'stop_trial'}
        What happens until the data monitoring committee has reviewed.
    """

    model_config = _FROZEN

    id: str
    description: str = Field(min_length=1, max_length=500)
    event: str = "any"
    serious_only: bool = False
    relatedness: tuple[str, ...] = ()
    count: int = 1
    action: Literal["pause_enrolment", "pause_stimulation", "stop_trial"] = (
        "pause_enrolment"
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id")

    @field_validator("event")
    @classmethod
    def _event(cls, v: str) -> str:
        allowed = ("any", *ADVERSE_EVENT_TERMS)
        if v not in allowed:
            raise ValueError(
                f"Invalid value for 'event': got {v!r}; allowed values are "
                f"{', '.join(allowed)}."
            )
        return v

    @field_validator("relatedness")
    @classmethod
    def _related(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in v if r not in RELATEDNESS_LEVELS]
        if bad or len(set(v)) != len(v):
            raise ValueError(
                f"Invalid value for 'relatedness': got {list(v)!r}; allowed: distinct "
                f"values among {', '.join(RELATEDNESS_LEVELS)}."
            )
        return v

    @field_validator("count")
    @classmethod
    def _count(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"Invalid value for 'count': got {v!r}; allowed: a whole number >= 1."
            )
        return v

    def matches(self, *, event: str, serious: bool, relatedness: str) -> bool:
        """Whether one adverse event counts towards this rule.

        Parameters
        ----------
        event : str
            The event's term.
        serious : bool
            Whether it is serious.
        relatedness : str
            Its relatedness to stimulation.

        Returns
        -------
        matches : bool
            ``True`` if the event counts.

        Raises
        ------
        ValueError
            If ``event`` or ``relatedness`` is not an allowed value.
        """
        if event not in ADVERSE_EVENT_TERMS:
            raise ValueError(
                f"Invalid value for 'event': got {event!r}; allowed values are "
                f"{', '.join(ADVERSE_EVENT_TERMS)}."
            )
        if relatedness not in RELATEDNESS_LEVELS:
            raise ValueError(
                f"Invalid value for 'relatedness': got {relatedness!r}; allowed "
                f"values are {', '.join(RELATEDNESS_LEVELS)}."
            )
        return (
            (self.event in ("any", event))
            and (serious or not self.serious_only)
            and (not self.relatedness or relatedness in self.relatedness)
        )


# --------------------------------------------------------------------------------------
# The definition
# --------------------------------------------------------------------------------------
class TrialDefinition(BaseModel):
    """A versioned, validated trial definition.

    Parameters
    ----------
    id : str
        Trial id: 2-64 lower case letters, digits and ``_ . -``.
    title : str
        Title.
    version : int
        Version, >= 1; each amendment adds one.
    sites : tuple of TrialSite
        The sites, with unique codes.
    arms : tuple of TrialArm
        At least two arms, unique ids.
    co_interventions : tuple of CoIntervention
        Co-intervention factors. With any, the arms form a full factorial: each
        combination of stimulation (protocol and condition) and co-intervention
        levels is exactly one arm.
    stratification : tuple of StratificationFactor
        Stratification / minimisation factors.
    randomisation : RandomisationSpec
        The allocation method.
    eligibility : Eligibility
        Eligibility criteria.
    visits : tuple of VisitSpec
        The visit schedule, in strictly increasing ``day`` order; the first visit
        is the baseline (day <= 0).
    endpoints : tuple of Endpoint
        At least one primary endpoint.
    interim : tuple of InterimSpec
        Interim looks, strictly increasing fractions in ``(0, 1)``; the final
        analysis (fraction 1) is implied.
    alpha : float
        Overall type I error of the primary analysis, in ``(0, 0.5]``.
    sided : {1, 2}
        One- or two-sided test.
    stopping_rules : tuple of StoppingRule
        Safety stopping rules.
    sample_size : int | None
        Planned number of patients randomised, at least 2 per arm; ``None`` when
        not stated. The information fraction of an interim analysis is the share
        of it with the primary endpoint observed.
    """

    model_config = _FROZEN

    id: str
    title: str = Field(min_length=1, max_length=300)
    version: int = 1
    sites: tuple[TrialSite, ...] = Field(min_length=1)
    arms: tuple[TrialArm, ...]
    co_interventions: tuple[CoIntervention, ...] = ()
    stratification: tuple[StratificationFactor, ...] = ()
    randomisation: RandomisationSpec
    eligibility: Eligibility
    visits: tuple[VisitSpec, ...] = Field(min_length=1)
    endpoints: tuple[Endpoint, ...]
    interim: tuple[InterimSpec, ...] = ()
    alpha: float = 0.05
    sided: Literal[1, 2] = 2
    stopping_rules: tuple[StoppingRule, ...] = ()
    sample_size: int | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "id", _TRIAL_ID)

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"Invalid value for 'version': got {v!r}; allowed: a whole number >= 1."
            )
        return v

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: float) -> float:
        if not (math.isfinite(v) and 0.0 < v <= 0.5):
            raise ValueError(
                f"Invalid value for 'alpha': got {v!r}; allowed range is (0, 0.5]."
            )
        return v

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_unique([s.code for s in self.sites], "sites")
        self._check_arms()
        self._check_factors()
        self._check_randomisation()
        self._check_visits()
        self._check_endpoints()
        self._check_interim()
        _check_unique([r.id for r in self.stopping_rules], "stopping_rules")
        if self.sample_size is not None and self.sample_size < 2 * len(self.arms):
            raise ValueError(
                f"Invalid value for 'sample_size': got {self.sample_size!r}; allowed "
                f"range is [{2 * len(self.arms)}, inf) patients (at least 2 per arm, "
                f"{len(self.arms)} arms)."
            )
        return self

    def _check_arms(self) -> None:
        if len(self.arms) < 2:
            raise ValueError(
                f"Invalid value for 'arms': got {len(self.arms)} arm(s); allowed: at "
                "least 2."
            )
        _check_unique([a.id for a in self.arms], "arms")
        _check_unique([c.id for c in self.co_interventions], "co_interventions")
        library = load_library()
        for arm in self.arms:
            if arm.protocol_id not in library.protocols:
                import difflib

                ids = sorted(library.protocols)
                close = difflib.get_close_matches(arm.protocol_id, ids, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"Invalid value for 'protocol_id': got {arm.protocol_id!r} in arm "
                    f"{arm.id!r}; allowed values are the library protocols "
                    f"{', '.join(ids)}.{hint}"
                )
            proto = library.protocols[arm.protocol_id]
            if proto.condition is Condition.SHAM and arm.condition == "active":
                raise ValueError(
                    f"Invalid value for 'condition': got 'active' in arm {arm.id!r}, "
                    f"whose protocol {arm.protocol_id!r} is a sham protocol; allowed: "
                    "'sham'."
                )
            declared = {c.id: c for c in self.co_interventions}
            given = set(arm.co_interventions)
            if given != set(declared):
                raise ValueError(
                    "Invalid value for 'co_interventions': got "
                    f"{sorted(given)!r} in arm {arm.id!r}; allowed: exactly the "
                    f"co-interventions {sorted(declared)!r}, each once."
                )
            for cid, level in arm.co_interventions.items():
                if level not in declared[cid].levels:
                    raise ValueError(
                        f"Invalid value for 'co_interventions': got {cid}={level!r} "
                        f"in arm {arm.id!r}; allowed levels are "
                        f"{list(declared[cid].levels)}."
                    )
        keys = [self._arm_key(a) for a in self.arms]
        dupes = sorted(
            {a.id for a, k in zip(self.arms, keys, strict=True) if keys.count(k) > 1}
        )
        if dupes:
            raise ValueError(
                f"Invalid value for 'arms': got arms {dupes} that give the same "
                "protocol, condition and co-intervention levels; allowed: distinct "
                "treatments."
            )
        if self.co_interventions:
            stim = sorted({(a.protocol_id, a.condition) for a in self.arms})
            wanted = set(
                itertools.product(stim, *(c.levels for c in self.co_interventions))
            )
            have = {
                (
                    (a.protocol_id, a.condition),
                    *(a.co_interventions[c.id] for c in self.co_interventions),
                )
                for a in self.arms
            }
            missing = sorted(wanted - have)
            if missing:
                shown = [
                    f"{p}/{c} with "
                    + ", ".join(
                        f"{ci.id}={lv}"
                        for ci, lv in zip(self.co_interventions, rest, strict=True)
                    )
                    for (p, c), *rest in missing
                ]
                raise ValueError(
                    f"Invalid value for 'arms': got a factorial design without "
                    f"{shown}; allowed: every combination of stimulation and "
                    "co-intervention levels as one arm."
                )

    def _arm_key(self, arm: TrialArm) -> tuple[str, ...]:
        return (
            arm.protocol_id,
            arm.condition,
            *(arm.co_interventions.get(c.id, "") for c in self.co_interventions),
        )

    def _check_factors(self) -> None:
        _check_unique([f.id for f in self.stratification], "stratification")
        for f in self.stratification:
            if f.id == "site" and set(f.levels) != set(self.site_codes):
                raise ValueError(
                    f"Invalid value for 'levels': got {list(f.levels)!r} for factor "
                    f"'site'; allowed: exactly the site codes {list(self.site_codes)}."
                )

    def _check_randomisation(self) -> None:
        spec = self.randomisation
        if spec.method == "minimisation" and not self.stratification:
            raise ValueError(
                "Invalid value for 'stratification': got no factors with method "
                "'minimisation'; allowed: one or more factors."
            )
        if spec.method == "minimisation" and not any(
            f.weight > 0 for f in self.stratification
        ):
            raise ValueError(
                "Invalid value for 'weight': got all factor weights 0; allowed: at "
                "least one weight > 0 for minimisation."
            )
        if spec.method == "blocks" and not spec.block_sizes:
            raise ValueError(
                "Invalid value for 'block_sizes': got (); allowed: one or more block "
                "sizes, each a multiple of the ratio sum, with method 'blocks'."
            )
        if spec.method != "blocks" and spec.block_sizes:
            raise ValueError(
                f"Invalid value for 'block_sizes': got {list(spec.block_sizes)!r} with "
                f"method {spec.method!r}; allowed: () unless the method is 'blocks'."
            )
        try:
            self.randomiser()
        except ValueError as exc:
            raise ValueError(f"{exc} (randomisation)") from None

    def _check_visits(self) -> None:
        _check_unique([v.id for v in self.visits], "visits")
        days = [v.day for v in self.visits]
        for prev, nxt in itertools.pairwise(self.visits):
            if nxt.day <= prev.day:
                raise ValueError(
                    f"Invalid value for 'day': got {nxt.day} for visit {nxt.id!r} "
                    f"after visit {prev.id!r} on day {prev.day}; allowed: visits in "
                    f"strictly increasing day order (got days {days})."
                )
        if self.visits[0].day > 0:
            raise ValueError(
                f"Invalid value for 'day': got {self.visits[0].day} for the first "
                f"visit {self.visits[0].id!r}; allowed: <= 0 (the first visit is the "
                "baseline, on or before randomisation)."
            )

    def _check_endpoints(self) -> None:
        _check_unique([e.id for e in self.endpoints], "endpoints")
        if not any(e.kind == "primary" for e in self.endpoints):
            raise ValueError(
                f"Invalid value for 'endpoints': got kinds "
                f"{[e.kind for e in self.endpoints]}; allowed: at least one "
                "'primary' endpoint."
            )
        visits = {v.id: v for v in self.visits}
        baseline = self.visits[0]
        pain_ids = _pain_intensity_ids()
        for e in self.endpoints:
            if e.visit_id not in visits:
                raise ValueError(
                    f"Invalid value for 'visit_id': got {e.visit_id!r} in endpoint "
                    f"{e.id!r}; allowed values are {list(visits)}."
                )
            if e.scale_id not in visits[e.visit_id].scales:
                raise ValueError(
                    f"Invalid value for 'scale_id': got {e.scale_id!r} in endpoint "
                    f"{e.id!r}, not collected at visit {e.visit_id!r}; allowed values "
                    f"are {list(visits[e.visit_id].scales)}."
                )
            if e.measure != "value" and e.scale_id not in baseline.scales:
                raise ValueError(
                    f"Invalid value for 'measure': got {e.measure!r} in endpoint "
                    f"{e.id!r}, but {e.scale_id!r} is not collected at the baseline "
                    f"visit {baseline.id!r}; allowed: 'value', or add the scale to "
                    "the baseline."
                )
            if e.measure.startswith("responder") and e.scale_id not in pain_ids:
                raise ValueError(
                    f"Invalid value for 'measure': got {e.measure!r} in endpoint "
                    f"{e.id!r} on {e.scale_id!r}; allowed: responder measures on pain "
                    f"intensity scales only ({', '.join(pain_ids)})."
                )

    def _check_interim(self) -> None:
        fractions = [i.information_fraction for i in self.interim]
        if any(b <= a for a, b in itertools.pairwise(fractions)):
            raise ValueError(
                f"Invalid value for 'information_fraction': got {fractions}; allowed: "
                "strictly increasing fractions in (0, 1)."
            )
        kinds = sorted({i.spending for i in self.interim})
        if len(kinds) > 1:
            raise ValueError(
                f"Invalid value for 'spending': got {kinds}; allowed: one spending "
                "function for every look of a trial."
            )

    # ----------------------------------------------------------------------------------
    # Accessors
    # ----------------------------------------------------------------------------------
    @property
    def site_codes(self) -> tuple[str, ...]:
        """The site codes, in definition order."""
        return tuple(s.code for s in self.sites)

    @property
    def arm_ids(self) -> tuple[str, ...]:
        """The arm ids, in definition order."""
        return tuple(a.id for a in self.arms)

    @property
    def baseline_visit(self) -> VisitSpec:
        """The first visit, the baseline."""
        return self.visits[0]

    @property
    def primary_endpoints(self) -> tuple[Endpoint, ...]:
        """The primary endpoints."""
        return tuple(e for e in self.endpoints if e.kind == "primary")

    def arm(self, arm_id: str) -> TrialArm:
        """Return an arm by id.

        Parameters
        ----------
        arm_id : str
            The arm id.

        Returns
        -------
        arm : TrialArm
            The arm.

        Raises
        ------
        KeyError
            If there is no such arm; the message lists the arm ids.
        """
        return _lookup({a.id: a for a in self.arms}, arm_id, "arm_id")

    def factor(self, factor_id: str) -> StratificationFactor:
        """Return a stratification factor by id (see :meth:`arm`)."""
        return _lookup({f.id: f for f in self.stratification}, factor_id, "factor_id")

    def visit(self, visit_id: str) -> VisitSpec:
        """Return a visit by id (see :meth:`arm`)."""
        return _lookup({v.id: v for v in self.visits}, visit_id, "visit_id")

    def arm_protocol(self, arm_id: str) -> Protocol:
        """Return the protocol an arm delivers, with the arm's condition.

        A sham arm of an active library protocol gets the same protocol (same id
        and dose) with ``condition`` sham, so the session path runs it with the
        sham coil or mode.

        Parameters
        ----------
        arm_id : str
            The arm id.

        Returns
        -------
        protocol : Protocol
            The library protocol, its condition set to the arm's.

        Raises
        ------
        KeyError
            If there is no such arm.
        """
        arm = self.arm(arm_id)
        proto = load_library().protocol(arm.protocol_id)
        cond = Condition(arm.condition)
        if proto.condition is cond:
            return proto
        return proto.model_copy(
            update={"condition": cond, "name": f"{proto.name} (sham)"}
        )

    def randomiser(self) -> SimpleRandomisation | PermutedBlocks | Minimisation:
        """Return the :mod:`plptms.trial` allocation configuration.

        Arms are in definition order with their ratios; factors are the
        stratification factors in order (minimisation weights from their
        ``weight``).

        Returns
        -------
        config : SimpleRandomisation | PermutedBlocks | Minimisation
            The configuration for :func:`plptms.trial.allocate`.

        Raises
        ------
        ValueError
            If the configuration is invalid (e.g. block sizes that are not
            multiples of the ratio sum).
        """
        spec = self.randomisation
        arms = self.arm_ids
        ratio = tuple(a.ratio for a in self.arms)
        factors = tuple(f.id for f in self.stratification)
        if spec.method == "simple":
            return SimpleRandomisation(arms=arms, ratio=ratio)
        if spec.method == "blocks":
            return PermutedBlocks(
                arms=arms,
                ratio=ratio,
                block_sizes=spec.block_sizes,
                strata=factors if spec.stratify else (),
            )
        return Minimisation(
            arms=arms,
            ratio=ratio,
            factors=factors,
            weights=tuple(f.weight for f in self.stratification),
            imbalance=spec.imbalance,
            p=spec.p,
        )

    def check_factors(self, factors: Mapping[str, str]) -> dict[str, str]:
        """Check a patient's factor levels against the stratification factors.

        Parameters
        ----------
        factors : Mapping[str, str]
            Factor id to level; every factor must be given, with a listed level.

        Returns
        -------
        factors : dict of str to str
            The levels, in factor order.

        Raises
        ------
        ValueError
            If a factor is missing or unknown or a level is not listed.
        """
        ids = [f.id for f in self.stratification]
        extra = sorted(set(factors) - set(ids))
        if extra:
            raise ValueError(
                f"Invalid value for 'factors': got unknown factors {extra}; allowed "
                f"values are {ids}."
            )
        out: dict[str, str] = {}
        for f in self.stratification:
            if f.id not in factors:
                raise ValueError(
                    f"Invalid value for 'factors': got no level for {f.id!r}; "
                    f"allowed: one of {list(f.levels)}."
                )
            if factors[f.id] not in f.levels:
                raise ValueError(
                    f"Invalid value for {f.id!r}: got {factors[f.id]!r}; allowed "
                    f"values are {list(f.levels)}."
                )
            out[f.id] = factors[f.id]
        return out

    def boundaries(self, *, r: int | None = None) -> GroupSequentialBoundaries:
        """Return the efficacy boundaries of the interim looks and the final one.

        Parameters
        ----------
        r : int | None
            Grid density of the numerical integration (the default of
            :func:`plptms.trial.lan_demets_boundaries` when ``None``).

        Returns
        -------
        boundaries : GroupSequentialBoundaries
            Lan-DeMets boundaries at the interim fractions and 1.

        Raises
        ------
        ValueError
            If the design has no interim look.
        """
        from ._sequential import lan_demets_boundaries

        if not self.interim:
            raise ValueError(
                "Invalid value for 'interim': got (); allowed: one or more interim "
                "looks to compute group-sequential boundaries."
            )
        fractions = [i.information_fraction for i in self.interim] + [1.0]
        kwargs: dict[str, Any] = {} if r is None else {"r": r}
        return lan_demets_boundaries(
            fractions,
            self.alpha,
            spending=self.interim[0].spending,
            sides=self.sided,
            **kwargs,
        )


def _lookup(mapping: dict[str, _T], key: str, field: str) -> _T:
    if key in mapping:
        return mapping[key]
    import difflib

    close = difflib.get_close_matches(key, list(mapping), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(
        f"Invalid value for {field!r}: got {key!r}; allowed values are "
        f"{', '.join(mapping)}.{hint}"
    )


# --------------------------------------------------------------------------------------
# Safety at definition time
# --------------------------------------------------------------------------------------
def definition_verdicts(
    defn: TrialDefinition, policy: SafetyPolicy | None = None
) -> dict[str, Verdict]:
    """Run every arm's protocol through the safety engine, without raising.

    Parameters
    ----------
    defn : TrialDefinition
        The definition.
    policy : SafetyPolicy | None
        Safety engine settings (the default policy when ``None``).

    Returns
    -------
    verdicts : dict of str to Verdict
        Arm id to the verdict on the protocol it delivers (no patient RMT, so the
        stimulator-output rule is not checked).
    """
    return {
        a.id: check_protocol(defn.arm_protocol(a.id), policy=policy) for a in defn.arms
    }


def refused_arms(verdicts: Mapping[str, Verdict]) -> dict[str, tuple[RuleResult, ...]]:
    """Return the arms whose protocol is refused, with the failed rules.

    Parameters
    ----------
    verdicts : Mapping[str, Verdict]
        Arm id to verdict (see :func:`definition_verdicts`).

    Returns
    -------
    refused : dict of str to tuple of RuleResult
        Arm id to its failed rules, for the refused arms only.
    """
    return {
        arm_id: v.failures
        for arm_id, v in verdicts.items()
        if v.decision is Decision.REFUSED
    }


def check_definition_safety(
    defn: TrialDefinition, policy: SafetyPolicy | None = None
) -> dict[str, Verdict]:
    """Check every arm's protocol with the safety engine; refuse the definition.

    A definition is refused when any arm's protocol is refused. Verdicts of
    ``review`` or ``incomplete`` are returned for the trial's physicians to
    review; they do not refuse the definition.

    Parameters
    ----------
    defn : TrialDefinition
        The definition.
    policy : SafetyPolicy | None
        Safety engine settings (the default policy when ``None``).

    Returns
    -------
    verdicts : dict of str to Verdict
        Arm id to verdict.

    Raises
    ------
    TrialDefinitionError
        If an arm's protocol is refused; the message names each refused arm, its
        protocol and the failed rules.
    """
    verdicts = definition_verdicts(defn, policy)
    refused = refused_arms(verdicts)
    if refused:
        parts = []
        for arm_id, rules in refused.items():
            arm = defn.arm(arm_id)
            why = "; ".join(
                f"rule {r.rule_id!r} ({r.block}): {r.message}" for r in rules
            )
            parts.append(f"arm {arm_id!r} (protocol {arm.protocol_id!r}): {why}")
        raise TrialDefinitionError(
            f"Trial {defn.id!r} version {defn.version} refused by the safety engine: "
            + " | ".join(parts)
        )
    return verdicts


def read_trial_definition(
    path: str | Path, *, policy: SafetyPolicy | None = None
) -> TrialDefinition:
    """Read a trial definition from YAML or JSON and check it.

    The file is parsed with the project's safe loader (size, nesting, alias and
    duplicate-key limits) and validated; every arm's protocol then goes through
    the safety engine (:func:`check_definition_safety`).

    Parameters
    ----------
    path : str | Path
        A ``.yaml``, ``.yml`` or ``.json`` file.
    policy : SafetyPolicy | None
        Safety engine settings (the default policy when ``None``).

    Returns
    -------
    definition : TrialDefinition
        The validated definition.

    Raises
    ------
    plptms.protocol.ProtocolFileError
        If the file cannot be read or is invalid; the message names every
        offending field.
    TrialDefinitionError
        If an arm's protocol is refused by the safety engine.
    """
    data = load_data(path, what="trial definition file")
    defn = validate_model(TrialDefinition, data, str(path))
    check_definition_safety(defn, policy)
    return defn


# --------------------------------------------------------------------------------------
# Amendments
# --------------------------------------------------------------------------------------
class DefinitionChange(BaseModel):
    """One difference between two versions of a definition.

    Parameters
    ----------
    field : str
        What changed, e.g. ``"arms.active_mt.ratio"`` or ``"visits"``.
    detail : str
        The change in words (old and new values).
    allowed_after_enrolment : bool
        Whether an amendment may make it once patients are enrolled.
    needs : str
        What the change needs: ``"amendment"`` (a reasoned, versioned change),
        ``"amendment and safety check"`` (an arm's protocol changed),
        ``"amendment; update the trial registration"`` (an endpoint changed), or
        ``"a new trial"`` (not allowed after enrolment).
    """

    model_config = _FROZEN

    field: str
    detail: str
    allowed_after_enrolment: bool
    needs: str


class TrialAmendment(BaseModel):
    """An amendment: from one version to the next, with a reason and the changes.

    Parameters
    ----------
    trial_id : str
        The trial.
    from_version, version : int
        The amended version and the new one (``from_version + 1``).
    reason : str
        Why (at least 10 characters).
    changes : tuple of DefinitionChange
        What changes.
    """

    model_config = _FROZEN

    trial_id: str
    from_version: int
    version: int
    reason: str
    changes: tuple[DefinitionChange, ...]

    @property
    def refused_after_enrolment(self) -> tuple[DefinitionChange, ...]:
        """The changes not allowed once patients are enrolled."""
        return tuple(c for c in self.changes if not c.allowed_after_enrolment)


_NEW_TRIAL = "a new trial"
_AMEND = "amendment"


def _dump(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, tuple):
        return [_dump(x) for x in obj]
    return obj


def _change(field: str, old: Any, new: Any, allowed: bool, needs: str) -> Any:
    return DefinitionChange(
        field=field,
        detail=f"{_dump(old)!r} -> {_dump(new)!r}",
        allowed_after_enrolment=allowed,
        needs=needs,
    )


def _by_id(items: Iterable[Any], key: str = "id") -> dict[str, Any]:
    return {getattr(x, key): x for x in items}


def diff_definitions(
    old: TrialDefinition, new: TrialDefinition
) -> tuple[DefinitionChange, ...]:
    """List what differs between two definitions, and what each change needs.

    Rules after the first enrolment (plptms choices): the stored allocations
    depend on the arm ids, their ratios, the randomisation and the
    stratification factors, so changing these needs a new trial; the one
    exception is a new site added to the ``site`` factor with the site. A
    changed arm protocol needs the safety check; a changed endpoint needs the
    trial registration updated. Other changes (title, labels, doses of
    co-interventions, eligibility, visits, interim looks, stopping rules) are
    amendments; a changed sample size, like a changed endpoint, alpha or
    sidedness, also needs the trial registration updated (the target sample size
    is a registered item).

    Parameters
    ----------
    old, new : TrialDefinition
        The two versions (their ``version`` is not compared).

    Returns
    -------
    changes : tuple of DefinitionChange
        One entry per difference, in field order.
    """
    out: list[DefinitionChange] = []
    if old.id != new.id:
        out.append(_change("id", old.id, new.id, False, _NEW_TRIAL))
    if old.title != new.title:
        out.append(_change("title", old.title, new.title, True, _AMEND))
    # sites: adding one is an amendment; removing or renaming a code is not
    o_sites, n_sites = _by_id(old.sites, "code"), _by_id(new.sites, "code")
    for code in o_sites.keys() - n_sites.keys():
        out.append(_change(f"sites.{code}", o_sites[code], None, False, _NEW_TRIAL))
    for code in sorted(n_sites.keys() - o_sites.keys()):
        out.append(_change(f"sites.{code}", None, n_sites[code], True, _AMEND))
    for code in sorted(o_sites.keys() & n_sites.keys()):
        if o_sites[code] != n_sites[code]:
            out.append(
                _change(f"sites.{code}", o_sites[code], n_sites[code], True, _AMEND)
            )
    # arms
    if old.arm_ids != new.arm_ids:
        out.append(_change("arms", old.arm_ids, new.arm_ids, False, _NEW_TRIAL))
    o_arms, n_arms = _by_id(old.arms), _by_id(new.arms)
    for aid in [a for a in old.arm_ids if a in n_arms]:
        a, b = o_arms[aid], n_arms[aid]
        for name in ("ratio", "condition", "co_interventions"):
            if getattr(a, name) != getattr(b, name):
                out.append(
                    _change(
                        f"arms.{aid}.{name}",
                        getattr(a, name),
                        getattr(b, name),
                        False,
                        _NEW_TRIAL,
                    )
                )
        if a.protocol_id != b.protocol_id:
            out.append(
                _change(
                    f"arms.{aid}.protocol_id",
                    a.protocol_id,
                    b.protocol_id,
                    True,
                    "amendment and safety check",
                )
            )
        if a.label != b.label:
            out.append(_change(f"arms.{aid}.label", a.label, b.label, True, _AMEND))
    # co-interventions: levels are part of the arms; label and dose are not
    o_ci, n_ci = _by_id(old.co_interventions), _by_id(new.co_interventions)
    if list(o_ci) != list(n_ci):
        out.append(
            _change("co_interventions", list(o_ci), list(n_ci), False, _NEW_TRIAL)
        )
    for cid in [c for c in o_ci if c in n_ci]:
        a, b = o_ci[cid], n_ci[cid]
        if a.levels != b.levels:
            out.append(
                _change(
                    f"co_interventions.{cid}.levels",
                    a.levels,
                    b.levels,
                    False,
                    _NEW_TRIAL,
                )
            )
        for name in ("label", "dose"):
            if getattr(a, name) != getattr(b, name):
                out.append(
                    _change(
                        f"co_interventions.{cid}.{name}",
                        getattr(a, name),
                        getattr(b, name),
                        True,
                        _AMEND,
                    )
                )
    # stratification
    o_f, n_f = _by_id(old.stratification), _by_id(new.stratification)
    if list(o_f) != list(n_f):
        out.append(_change("stratification", list(o_f), list(n_f), False, _NEW_TRIAL))
    for fid in [f for f in o_f if f in n_f]:
        a, b = o_f[fid], n_f[fid]
        if a.weight != b.weight:
            out.append(
                _change(
                    f"stratification.{fid}.weight",
                    a.weight,
                    b.weight,
                    False,
                    _NEW_TRIAL,
                )
            )
        if a.levels != b.levels:
            added_only = set(a.levels) < set(b.levels)
            new_sites = set(b.levels) - set(a.levels) <= (
                n_sites.keys() - o_sites.keys()
            )
            ok = fid == "site" and added_only and new_sites
            out.append(
                _change(
                    f"stratification.{fid}.levels",
                    a.levels,
                    b.levels,
                    ok,
                    _AMEND if ok else _NEW_TRIAL,
                )
            )
    if old.randomisation != new.randomisation:
        out.append(
            _change(
                "randomisation", old.randomisation, new.randomisation, False, _NEW_TRIAL
            )
        )
    for name, needs in (
        ("eligibility", _AMEND),
        ("visits", _AMEND),
        ("endpoints", "amendment; update the trial registration"),
        ("interim", _AMEND),
        ("alpha", "amendment; update the trial registration"),
        ("sided", "amendment; update the trial registration"),
        ("stopping_rules", _AMEND),
        ("sample_size", "amendment; update the trial registration"),
    ):
        if getattr(old, name) != getattr(new, name):
            out.append(
                _change(name, getattr(old, name), getattr(new, name), True, needs)
            )
    return tuple(out)


def plan_amendment(
    defn: TrialDefinition, new_defn: TrialDefinition, reason: str
) -> TrialAmendment:
    """Describe an amendment without applying it.

    Parameters
    ----------
    defn : TrialDefinition
        The current version.
    new_defn : TrialDefinition
        The proposed next version.
    reason : str
        Why (at least 10 characters).

    Returns
    -------
    amendment : TrialAmendment
        The changes, each with what it needs (see :func:`diff_definitions`).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    TrialAmendmentError
        If the trial id differs, the version is not the next one, the reason is
        too short, or nothing changes.
    """
    for name, obj in (("defn", defn), ("new_defn", new_defn)):
        if not isinstance(obj, TrialDefinition):
            raise TypeError(
                f"Invalid type for {name!r}: got {type(obj).__name__}; allowed: "
                "TrialDefinition."
            )
    if not isinstance(reason, str):
        raise TypeError(
            f"Invalid type for 'reason': got {type(reason).__name__}; allowed: str."
        )
    if new_defn.id != defn.id:
        raise TrialAmendmentError(
            f"Invalid value for 'id': got {new_defn.id!r}; allowed: {defn.id!r} (an "
            "amendment keeps the trial id)."
        )
    if new_defn.version != defn.version + 1:
        raise TrialAmendmentError(
            f"Invalid value for 'version': got {new_defn.version}; allowed: "
            f"{defn.version + 1} (the next version after {defn.version})."
        )
    if len(reason.strip()) < _MIN_REASON_CHARS:
        raise TrialAmendmentError(
            f"Invalid value for 'reason': got {reason!r}; allowed: at least "
            f"{_MIN_REASON_CHARS} characters saying why."
        )
    changes = diff_definitions(defn, new_defn)
    if not changes:
        raise TrialAmendmentError(
            f"Invalid value for 'new_defn': got version {new_defn.version} identical "
            f"to version {defn.version} apart from the number; allowed: a definition "
            "that changes something."
        )
    return TrialAmendment(
        trial_id=defn.id,
        from_version=defn.version,
        version=new_defn.version,
        reason=reason.strip(),
        changes=changes,
    )


def amend_definition(
    defn: TrialDefinition,
    new_defn: TrialDefinition,
    reason: str,
    *,
    enrolled: bool = True,
    policy: SafetyPolicy | None = None,
) -> TrialDefinition:
    """Amend a definition: the next version, with a reason, checked.

    Parameters
    ----------
    defn : TrialDefinition
        The current version.
    new_defn : TrialDefinition
        The proposed next version.
    reason : str
        Why (at least 10 characters).
    enrolled : bool
        Whether any patient is enrolled; then changes that the stored
        allocations depend on are refused (see :func:`diff_definitions`).
    policy : SafetyPolicy | None
        Safety engine settings for the new version's arms.

    Returns
    -------
    definition : TrialDefinition
        ``new_defn``, accepted.

    Raises
    ------
    TrialAmendmentError
        If the id, version or reason is wrong, nothing changes, or (with
        ``enrolled``) a change needs a new trial; the message lists each refused
        change and what it needs.
    TrialDefinitionError
        If an arm's protocol in the new version is refused by the safety engine.
    """
    amendment = plan_amendment(defn, new_defn, reason)
    refused = amendment.refused_after_enrolment
    if enrolled and refused:
        listed = "; ".join(f"{c.field}: {c.detail} (needs {c.needs})" for c in refused)
        raise TrialAmendmentError(
            f"Trial {defn.id!r} amendment to version {new_defn.version} refused: "
            f"patients are enrolled, so these changes are not allowed: {listed}."
        )
    check_definition_safety(new_defn, policy)
    return new_defn
