"""The safety engine: check a protocol against the published limits.

Every rule appends a :class:`~plptms.safety.RuleResult` (passed, unverified,
review, failed, not checked or overridden) naming the field, value, limit and
citation. The engine never adjusts a parameter: an unsafe value is refused. A value
within a limit that rests on an unverified source is ``unverified``, not
``passed``, and sends the verdict to physician review.

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..protocol import CourseBlock, Pattern, Protocol, StimulationDose
from ..utils import check_range, check_type
from . import _constants as C
from ._train_table import (
    CellReading,
    TrainLimit,
    check_readings,
    max_train_duration,
    table_cells,
)
from ._verdict import (
    MIN_OVERRIDE_REASON_CHARS,
    Decision,
    Override,
    PhysicianReview,
    RuleResult,
    RuleStatus,
    Verdict,
    decide,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DEFAULT_POLICY_NAME",
    "SafetyPolicy",
    "check_dose",
    "check_protocol",
    "intensity_pct_mso",
]

_REL_TOL = 1e-9

_CIT_TABLE = C.TRAIN_TABLE_CITATION
_CIT_ITI = "Chen et al. 1997 (summarised in Rossi et al. 2009)"
_CIT_HUANG = "Huang et al. 2005"
_CIT_CTBS = "Oberman & Pascual-Leone 2009 (cited in Rossi et al. 2009)"
_CIT_ITBS = "Blumberger et al. 2018 (discussed in Rossi et al. 2021)"
_CIT_SESSION = "O'Reardon et al. 2007; consensus range top (review, 2024)"
_CIT_MSO = "stimulator output cannot exceed 100 % MSO"

#: Name of the policy used when none is given.
DEFAULT_POLICY_NAME = "plptms-default"


class SafetyPolicy(BaseModel):
    """Settings of the safety engine: a named, recorded site policy.

    Parameters
    ----------
    name : str
        Name of the policy, named by every verdict (non-empty). A policy that
        changes the margin must have its own name.
    train_duration_margin : float
        Factor in (0, 1] applied to every train-duration limit. ``1.0`` (default)
        applies the table as shipped (after its monotone envelope). ``0.75`` is the
        25 % cut Chen et al. (1997) advise relative to earlier tables; whether the
        shipped table already includes it could not be read, so it is not stacked
        by default: a site that wants it records it here, with a reason.
    margin_reason : str
        Why the site applies a margin other than 1.0 (required then, at least
        ``MIN_OVERRIDE_REASON_CHARS`` characters).
    cell_readings : tuple of CellReading
        The site's physician readings of table cells from the paper (at most one
        per cell); see :func:`plptms.safety.max_train_duration`.

    Notes
    -----
    The policy is frozen and hashable, so that limits computed with it are cached.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = DEFAULT_POLICY_NAME
    train_duration_margin: float = 1.0
    margin_reason: str = ""
    cell_readings: tuple[CellReading, ...] = ()

    @field_validator("name", "margin_reason")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.name:
            raise ValueError(
                "Invalid value for 'name': got ''; allowed: a non-empty policy name."
            )
        check_range(
            self.train_duration_margin,
            "train_duration_margin",
            0.0,
            1.0,
            low_inclusive=False,
        )
        if self.train_duration_margin != 1.0:
            if len(self.margin_reason) < MIN_OVERRIDE_REASON_CHARS:
                raise ValueError(
                    f"Invalid value for 'margin_reason': got {self.margin_reason!r} "
                    f"with train_duration_margin = {self.train_duration_margin:g}; "
                    f"allowed: an explanation of at least {MIN_OVERRIDE_REASON_CHARS} "
                    "characters (a margin other than 1.0 is a recorded site policy)."
                )
            if self.name == DEFAULT_POLICY_NAME:
                raise ValueError(
                    f"Invalid value for 'name': got {self.name!r} with "
                    f"train_duration_margin = {self.train_duration_margin:g}; allowed: "
                    "the site policy's own name (the default policy has no margin)."
                )
        check_readings(self.cell_readings, "cell_readings")
        return self

    def describe(self) -> str:
        """One line for the verdict: name, margin (and why), cells verified.

        Returns
        -------
        text : str
            The description.
        """
        if self.train_duration_margin == 1.0:
            margin = "train limits as tabulated, no margin"
        else:
            margin = (
                f"train limits x {self.train_duration_margin:g} "
                f"(site margin: {self.margin_reason}; Chen et al. 1997 advise "
                f"x {C.CHEN1997_TRAIN_MARGIN:g} relative to earlier tables)"
            )
        cells = table_cells(self.cell_readings)
        shipped = sum(1 for c in cells if c.verified and c.reading is None)
        site = sum(1 for c in cells if c.reading is not None and not c.conflict)
        conflicts = sum(1 for c in cells if c.conflict)
        text = (
            f"policy '{self.name}': {margin}; limits resting on unverified table "
            f"cells go to physician review; {site} of {len(cells)} cells verified by "
            f"the site, {shipped} shipped verified"
        )
        if conflicts:
            text += f", {conflicts} site reading(s) looser than shipped (review)"
        return text


_DEFAULT_POLICY = SafetyPolicy()


def intensity_pct_mso(intensity_pct_rmt: float, rmt_pct_mso: float) -> float:
    """Convert an intensity from % RMT to % of maximum stimulator output.

    Parameters
    ----------
    intensity_pct_rmt : float
        Intensity, % of the resting motor threshold.
    rmt_pct_mso : float
        The patient's RMT, % MSO, in (0, 100].

    Returns
    -------
    pct_mso : float
        Intensity in % MSO (not rounded, not clamped).

    Raises
    ------
    ValueError
        If ``rmt_pct_mso`` is outside (0, 100] % MSO.
    """
    check_range(
        rmt_pct_mso, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO"
    )
    return intensity_pct_rmt * rmt_pct_mso / 100.0


def _le(value: float, limit: float) -> bool:
    return value <= limit * (1.0 + _REL_TOL)


def _ge(value: float, limit: float) -> bool:
    return value >= limit * (1.0 - _REL_TOL)


class _Collector:
    """Accumulates rule results for one block."""

    __slots__ = ("block", "results")

    def __init__(self, block: str) -> None:
        self.block = block
        self.results: list[RuleResult] = []

    def add(
        self,
        rule_id: str,
        field: str,
        status: RuleStatus,
        message: str,
        *,
        value: float | None = None,
        limit: float | None = None,
        unit: str = "",
        citation: str = "",
        overridable: bool = False,
        needs_patient: bool = False,
    ) -> None:
        self.results.append(
            RuleResult(
                rule_id=rule_id,
                block=self.block,
                field=field,
                status=status,
                value=value,
                limit=limit,
                unit=unit,
                citation=citation,
                message=message,
                overridable=overridable,
                needs_patient=needs_patient,
            )
        )

    def missing(self, rule_id: str, field: str, what: str, citation: str) -> None:
        self.add(
            rule_id,
            field,
            RuleStatus.NOT_CHECKED,
            f"Could not check {what}: {field!r} is unreported.",
            citation=citation,
        )


def _within(lim: TrainLimit) -> tuple[RuleStatus, str]:
    """Status of a train within ``lim`` and what to add to its message."""
    if lim.conflicts:
        return (
            RuleStatus.REVIEW,
            " The site's reading is looser than the shipped table ("
            + "; ".join(lim.conflicts)
            + "): the shipped value is applied, and a physician must reconcile the "
            "reading with the table (physician review).",
        )
    if not lim.verified:
        return (
            RuleStatus.UNVERIFIED,
            " The limit rests on table cell(s) not verified against the paper ("
            + "; ".join(lim.unverified_cells)
            + "): the decision goes to physician review.",
        )
    return RuleStatus.PASSED, ""


def _train_rules(d: StimulationDose, out: _Collector, policy: SafetyPolicy) -> None:
    """Train duration against the Wassermann table (conventional rTMS)."""
    rid = "train_duration"
    if d.frequency_hz is None:
        out.missing(rid, "frequency_hz", "the train duration", _CIT_TABLE)
        return
    if d.intensity_pct_rmt is None:
        out.missing(rid, "intensity_pct_rmt", "the train duration", _CIT_TABLE)
        return
    f, i = d.frequency_hz, d.intensity_pct_rmt
    lim = max_train_duration(f, i, policy.cell_readings)
    if lim.limit_s is None:
        field = (
            "frequency_hz"
            if f > C.TRAIN_TABLE_FREQUENCIES_HZ[-1]
            else ("intensity_pct_rmt")
        )
        value = f if field == "frequency_hz" else i
        top = (
            C.TRAIN_TABLE_FREQUENCIES_HZ[-1]
            if field == "frequency_hz"
            else C.TRAIN_TABLE_INTENSITIES_PCT_MT[-1]
        )
        unit = "Hz" if field == "frequency_hz" else "% RMT"
        out.add(
            "train_table_range",
            field,
            RuleStatus.FAILED,
            f"{field!r} = {value:g} {unit} lies outside the train-duration table "
            f"(highest {top:g} {unit}; {_CIT_TABLE}): no safe train duration is "
            "known there. Refused unless an operator records an override reason.",
            value=value,
            limit=top,
            unit=unit,
            citation=_CIT_TABLE,
            overridable=True,
        )
        return
    limit_s = lim.limit_s * policy.train_duration_margin
    margin = (
        ""
        if policy.train_duration_margin == 1.0
        else f" x margin {policy.train_duration_margin:g} (policy '{policy.name}')"
    )
    within, note = _within(lim)
    train = d.train_duration_s
    if train is None:
        worst = d.max_possible_train_duration_s
        if worst is not None and _le(worst, limit_s):
            out.add(
                rid,
                "pulses_per_train",
                within,
                f"Train structure unreported, but even one continuous train of the "
                f"whole session ({worst:g} s at {f:g} Hz) is within the limit "
                f"{limit_s:g} s{margin} ({lim.basis}).{note}",
                value=worst,
                limit=limit_s,
                unit="s",
                citation=_CIT_TABLE,
            )
        else:
            extra = (
                f"; the session could hold a train of up to {worst:g} s"
                if worst is not None
                else ""
            )
            out.add(
                rid,
                "pulses_per_train",
                RuleStatus.NOT_CHECKED,
                f"Could not check the train duration: 'pulses_per_train' is "
                f"unreported (limit {limit_s:g} s{margin} at {f:g} Hz, {i:g} % RMT"
                f"{extra}; {lim.basis}).",
                limit=limit_s,
                unit="s",
                citation=_CIT_TABLE,
            )
        return
    if _le(train, limit_s):
        out.add(
            rid,
            "pulses_per_train",
            within,
            f"Train of {train:g} s ({d.pulses_per_train} pulses at {f:g} Hz, "
            f"{i:g} % RMT) is within the limit {limit_s:g} s{margin} ({lim.basis})."
            f"{note}",
            value=train,
            limit=limit_s,
            unit="s",
            citation=_CIT_TABLE,
        )
    else:
        how = (
            " The limit is extrapolated from the table's edge; an operator may "
            "override it with a recorded reason."
            if lim.extrapolated
            else ""
        )
        out.add(
            rid,
            "pulses_per_train",
            RuleStatus.FAILED,
            f"'pulses_per_train' = {d.pulses_per_train} gives a train of {train:g} s "
            f"at {f:g} Hz, {i:g} % RMT, above the limit {limit_s:g} s{margin} "
            f"({lim.basis}).{how}",
            value=train,
            limit=limit_s,
            unit="s",
            citation=_CIT_TABLE,
            overridable=lim.extrapolated,
        )


def _iti_rules(d: StimulationDose, out: _Collector) -> None:
    """Pause between trains (Chen et al., 1997)."""
    rid = "inter_train_interval"
    if d.frequency_hz is None:
        out.missing(rid, "frequency_hz", "the inter-train interval", _CIT_ITI)
        return
    if d.frequency_hz <= C.ITI_APPLIES_ABOVE_HZ:
        return  # low-frequency trains: the inter-train findings do not apply
    if d.trains_per_session == 1:
        out.add(
            rid,
            "inter_train_interval_s",
            RuleStatus.PASSED,
            "A single train per session: no inter-train interval to check.",
            citation=_CIT_ITI,
        )
        return
    iti = d.inter_train_interval_s
    if iti is None:
        out.missing(rid, "inter_train_interval_s", "the inter-train interval", _CIT_ITI)
        return
    if d.intensity_pct_rmt is None:
        out.missing(rid, "intensity_pct_rmt", "the inter-train interval", _CIT_ITI)
        return
    i = d.intensity_pct_rmt
    if i > C.ITI_UNSAFE_ABOVE_PCT_MT and iti <= C.ITI_UNSAFE_MAX_S * (1 + _REL_TOL):
        out.add(
            rid,
            "inter_train_interval_s",
            RuleStatus.FAILED,
            f"'inter_train_interval_s' = {iti:g} s at {i:g} % RMT: intervals of "
            f"{C.ITI_UNSAFE_MAX_S:g} s or less were unsafe above "
            f"{C.ITI_UNSAFE_ABOVE_PCT_MT:g} % MT ({_CIT_ITI}); allowed: >= "
            f"{C.ITI_SAFE_S:g} s.",
            value=iti,
            limit=C.ITI_SAFE_S,
            unit="s",
            citation=_CIT_ITI,
        )
    elif not _ge(iti, C.ITI_SAFE_S):
        out.add(
            rid,
            "inter_train_interval_s",
            RuleStatus.FAILED,
            f"'inter_train_interval_s' = {iti:g} s is shorter than the shortest "
            f"interval shown safe, {C.ITI_SAFE_S:g} s ({_CIT_ITI}). Refused unless an "
            "operator records an override reason.",
            value=iti,
            limit=C.ITI_SAFE_S,
            unit="s",
            citation=_CIT_ITI,
            overridable=True,
        )
    else:
        outside = _outside_chen1997(d, i)
        tested = (
            f"ten {C.ITI_SAFE_TESTED_FREQUENCY_HZ:g} Hz trains of "
            f"{C.ITI_SAFE_TESTED_TRAIN_S:g} s at "
            f"{C.ITI_SAFE_TESTED_UP_TO_PCT_MT:g} % MT"
        )
        if outside:
            out.add(
                rid,
                "inter_train_interval_s",
                RuleStatus.REVIEW,
                f"Pause of {iti:g} s between trains is at least {C.ITI_SAFE_S:g} s, "
                f"shown safe for {tested} ({_CIT_ITI}), but this protocol lies "
                f"outside the tested conditions: {'; '.join(outside)}. Physician "
                "review required.",
                value=iti,
                limit=C.ITI_SAFE_S,
                unit="s",
                citation=_CIT_ITI,
            )
        else:
            out.add(
                rid,
                "inter_train_interval_s",
                RuleStatus.PASSED,
                f"Pause of {iti:g} s between trains is at least {C.ITI_SAFE_S:g} s, "
                f"shown safe for {tested}, and the trains are within the tested "
                f"conditions ({_CIT_ITI}).",
                value=iti,
                limit=C.ITI_SAFE_S,
                unit="s",
                citation=_CIT_ITI,
            )


def _outside_chen1997(d: StimulationDose, intensity: float) -> list[str]:
    """List the conditions of ``d`` outside those Chen et al. (1997) tested.

    Covered: trains at the tested 20 Hz, no longer than 1.6 s, at no more than
    110 % MT, no more than ten of them. Any other frequency, lower ones included,
    is outside: the abstract reports 20 Hz only, and how risk trades between
    frequency, train length and intensity is what the train table is about, not
    the interval study.
    """
    out: list[str] = []
    f = d.frequency_hz
    assert f is not None
    if not math.isclose(f, C.ITI_SAFE_TESTED_FREQUENCY_HZ, rel_tol=_REL_TOL):
        out.append(
            f"'frequency_hz' = {f:g} Hz (tested: "
            f"{C.ITI_SAFE_TESTED_FREQUENCY_HZ:g} Hz only)"
        )
    train = d.train_duration_s
    if train is None:
        out.append(
            f"train duration unreported (tested: {C.ITI_SAFE_TESTED_TRAIN_S:g} s)"
        )
    elif not _le(train, C.ITI_SAFE_TESTED_TRAIN_S):
        out.append(f"trains of {train:g} s (tested: {C.ITI_SAFE_TESTED_TRAIN_S:g} s)")
    if not _le(intensity, C.ITI_SAFE_TESTED_UP_TO_PCT_MT):
        out.append(
            f"'intensity_pct_rmt' = {intensity:g} % (tested: up to "
            f"{C.ITI_SAFE_TESTED_UP_TO_PCT_MT:g} % MT)"
        )
    n = d.trains_per_session
    if n is None:
        out.append(f"number of trains unreported (tested: {C.ITI_SAFE_TESTED_TRAINS})")
    elif n > C.ITI_SAFE_TESTED_TRAINS:
        out.append(f"{n} trains (tested: {C.ITI_SAFE_TESTED_TRAINS})")
    return out


def _session_pulse_rule(
    d: StimulationDose, out: _Collector, standard: int, citation: str
) -> None:
    n = d.pulses_per_session
    if n is None:
        out.missing(
            "session_pulses", "pulses_per_train", "the pulses per session", citation
        )
        return
    status = RuleStatus.PASSED if n <= standard else RuleStatus.REVIEW
    text = (
        f"{n} pulses per session is within established practice (<= {standard})."
        if n <= standard
        else f"{n} pulses per session exceeds established practice (<= {standard}): "
        "physician review required."
    )
    out.add(
        "session_pulses",
        "pulses_per_train",
        status,
        text,
        value=float(n),
        limit=float(standard),
        unit="pulses",
        citation=citation,
    )


def _pattern_limit(
    out: _Collector,
    rule_id: str,
    field: str,
    value: float,
    limit: float,
    *,
    at_most: bool,
    subject: str,
) -> None:
    """Add a studied-pattern limit (Huang et al., 2005), overridable when broken."""
    ok = _le(value, limit) if at_most else _ge(value, limit)
    out.add(
        rule_id,
        field,
        RuleStatus.PASSED if ok else RuleStatus.FAILED,
        f"{subject}; allowed: {'<=' if at_most else '>='} {limit:g} s ({_CIT_HUANG})"
        + ("." if ok else "; refused unless an override reason is recorded."),
        value=value,
        limit=limit,
        unit="s",
        citation=_CIT_HUANG,
        overridable=not ok,
    )


def _tbs_rules(d: StimulationDose, out: _Collector) -> None:
    """Theta-burst parameters (Huang et al., 2005; Rossi et al., 2009, 2021)."""
    ppb = d.pulses_per_burst
    if ppb is None:
        out.missing("tbs_pulses_per_burst", "pulses_per_burst", "the burst", _CIT_HUANG)
    elif ppb != C.TBS_PULSES_PER_BURST:
        out.add(
            "tbs_pulses_per_burst",
            "pulses_per_burst",
            RuleStatus.FAILED,
            f"'pulses_per_burst' = {ppb}: the studied pattern uses "
            f"{C.TBS_PULSES_PER_BURST} ({_CIT_HUANG}). Refused unless an operator "
            "records an override reason.",
            value=float(ppb),
            limit=float(C.TBS_PULSES_PER_BURST),
            unit="pulses",
            citation=_CIT_HUANG,
            overridable=True,
        )
    else:
        out.add(
            "tbs_pulses_per_burst",
            "pulses_per_burst",
            RuleStatus.PASSED,
            f"{ppb} pulses per burst, as studied ({_CIT_HUANG}).",
            value=float(ppb),
            limit=float(C.TBS_PULSES_PER_BURST),
            unit="pulses",
            citation=_CIT_HUANG,
        )
    ibf = d.intra_burst_frequency_hz
    if ibf is None:
        out.missing(
            "tbs_intra_burst_frequency",
            "intra_burst_frequency_hz",
            "the burst",
            _CIT_HUANG,
        )
    else:
        ok = _le(ibf, C.TBS_MAX_INTRA_BURST_HZ)
        out.add(
            "tbs_intra_burst_frequency",
            "intra_burst_frequency_hz",
            RuleStatus.PASSED if ok else RuleStatus.FAILED,
            f"'intra_burst_frequency_hz' = {ibf:g} Hz "
            + ("is within" if ok else "exceeds")
            + f" the studied {C.TBS_MAX_INTRA_BURST_HZ:g} Hz ({_CIT_HUANG})"
            + ("." if ok else "; refused unless an override reason is recorded."),
            value=ibf,
            limit=C.TBS_MAX_INTRA_BURST_HZ,
            unit="Hz",
            citation=_CIT_HUANG,
            overridable=not ok,
        )
    bf = d.frequency_hz
    lo, hi = C.TBS_BURST_HZ_RANGE
    if bf is None:
        out.missing("tbs_burst_frequency", "frequency_hz", "the burst rate", _CIT_HUANG)
    else:
        ok = lo <= bf <= hi
        out.add(
            "tbs_burst_frequency",
            "frequency_hz",
            RuleStatus.PASSED if ok else RuleStatus.FAILED,
            f"Burst rate 'frequency_hz' = {bf:g} Hz; allowed range is "
            f"[{lo:g}, {hi:g}] Hz (theta; {_CIT_HUANG})"
            + ("." if ok else "; refused unless an override reason is recorded."),
            value=bf,
            limit=hi if bf > hi else lo,
            unit="Hz",
            citation=_CIT_HUANG,
            overridable=not ok,
        )
    train = d.train_duration_s
    if d.pattern is Pattern.ITBS:
        if train is None:
            out.missing("itbs_train", "pulses_per_train", "the iTBS train", _CIT_HUANG)
        else:
            _pattern_limit(
                out,
                "itbs_train",
                "pulses_per_train",
                train,
                C.ITBS_MAX_TRAIN_S,
                at_most=True,
                subject=f"'pulses_per_train' = {d.pulses_per_train} gives an iTBS "
                f"train of {train:g} s",
            )
        iti = d.inter_train_interval_s
        if d.trains_per_session == 1:
            pass
        elif iti is None:
            out.missing(
                "itbs_pause", "inter_train_interval_s", "the iTBS pause", _CIT_HUANG
            )
        else:
            _pattern_limit(
                out,
                "itbs_pause",
                "inter_train_interval_s",
                iti,
                C.ITBS_MIN_ITI_S,
                at_most=False,
                subject=f"'inter_train_interval_s' = {iti:g} s (iTBS pause)",
            )
    elif train is None:
        out.missing("ctbs_train", "pulses_per_train", "the cTBS train", _CIT_HUANG)
    else:
        _pattern_limit(
            out,
            "ctbs_train",
            "pulses_per_train",
            train,
            C.CTBS_MAX_TRAIN_S,
            at_most=True,
            subject=f"'pulses_per_train' = {d.pulses_per_train} gives a cTBS train "
            f"of {train:g} s",
        )
    i = d.intensity_pct_rmt
    if i is None:
        out.missing(
            "tbs_intensity", "intensity_pct_rmt", "the TBS intensity", _CIT_HUANG
        )
    else:
        if d.pattern is Pattern.CTBS:
            ceiling, cit = C.CTBS_MAX_PCT_RMT, _CIT_CTBS
            bad = not (i < ceiling)
            allowed = f"< {ceiling:g} % RMT"
        else:
            ceiling, cit = C.ITBS_MAX_PCT_RMT, _CIT_ITBS
            bad = not _le(i, ceiling)
            allowed = f"<= {ceiling:g} % RMT"
        if bad:
            out.add(
                "tbs_intensity",
                "intensity_pct_rmt",
                RuleStatus.FAILED,
                f"'intensity_pct_rmt' = {i:g} % RMT for {d.pattern.value}; allowed: "
                f"{allowed} ({cit}).",
                value=i,
                limit=ceiling,
                unit="% RMT",
                citation=cit,
            )
        elif i > C.TBS_REVIEW_ABOVE_PCT_RMT:
            out.add(
                "tbs_intensity",
                "intensity_pct_rmt",
                RuleStatus.REVIEW,
                f"{i:g} % RMT is above the {C.TBS_REVIEW_ABOVE_PCT_RMT:g} % of the "
                f"original TBS studies ({_CIT_HUANG}) but within {allowed} "
                f"({cit}): physician review required.",
                value=i,
                limit=ceiling,
                unit="% RMT",
                citation=cit,
            )
        else:
            out.add(
                "tbs_intensity",
                "intensity_pct_rmt",
                RuleStatus.PASSED,
                f"{i:g} % RMT is within {allowed} ({cit}).",
                value=i,
                limit=ceiling,
                unit="% RMT",
                citation=cit,
            )
    _session_pulse_rule(d, out, C.TBS_STANDARD_PULSES, _CIT_HUANG)


def _mso_rule(d: StimulationDose, out: _Collector, rmt_pct_mso: float | None) -> None:
    rid = "stimulator_output"
    if d.intensity_pct_rmt is None:
        out.missing(rid, "intensity_pct_rmt", "the stimulator output", _CIT_MSO)
        return
    if rmt_pct_mso is None:
        out.add(
            rid,
            "intensity_pct_rmt",
            RuleStatus.NOT_CHECKED,
            "Could not check the stimulator output: the patient's RMT (% MSO) is "
            "not known yet.",
            citation=_CIT_MSO,
            needs_patient=True,
        )
        return
    mso = intensity_pct_mso(d.intensity_pct_rmt, rmt_pct_mso)
    ok = _le(mso, C.MAX_PCT_MSO)
    out.add(
        rid,
        "intensity_pct_rmt",
        RuleStatus.PASSED if ok else RuleStatus.FAILED,
        f"'intensity_pct_rmt' = {d.intensity_pct_rmt:g} % RMT x RMT "
        f"{rmt_pct_mso:g} % MSO = {mso:.1f} % "
        f"MSO; allowed: <= {C.MAX_PCT_MSO:g} % MSO"
        + ("." if ok else " (the stimulator cannot deliver it; not clamped)."),
        value=mso,
        limit=C.MAX_PCT_MSO,
        unit="% MSO",
        citation=_CIT_MSO,
    )


def check_dose(
    dose: StimulationDose,
    *,
    block: str = "dose",
    rmt_pct_mso: float | None = None,
    policy: SafetyPolicy | None = None,
) -> list[RuleResult]:
    """Apply every rule to one per-session dose.

    Parameters
    ----------
    dose : StimulationDose
        The dose.
    block : str
        Label used in the results.
    rmt_pct_mso : float | None
        The patient's RMT in % MSO, if known.
    policy : SafetyPolicy | None
        Engine settings; the default when ``None``.

    Returns
    -------
    results : list of RuleResult
        One result per rule applied.
    """
    pol = _DEFAULT_POLICY if policy is None else policy
    out = _Collector(block)
    if dose.pattern is Pattern.RTMS:
        _train_rules(dose, out, pol)
        _iti_rules(dose, out)
        _session_pulse_rule(dose, out, C.SESSION_PULSES_REVIEW_ABOVE, _CIT_SESSION)
    elif dose.pattern.is_theta_burst:
        _tbs_rules(dose, out)
    _mso_rule(dose, out, rmt_pct_mso)
    return out.results


def _apply_overrides(
    results: list[RuleResult], overrides: Sequence[Override], blocks: Iterable[str]
) -> tuple[list[RuleResult], tuple[Override, ...]]:
    labels = set(blocks)
    for ov in overrides:
        if ov.block != "*" and ov.block not in labels:
            raise ValueError(
                f"Invalid value for 'override.block': got {ov.block!r}; allowed values "
                f"are '*', {', '.join(repr(b) for b in sorted(labels))}."
            )
    used: list[Override] = []
    new: list[RuleResult] = []
    for r in results:
        match = next(
            (
                ov
                for ov in overrides
                if ov.rule_id == r.rule_id and ov.block in ("*", r.block)
            ),
            None,
        )
        if match is None or r.status is not RuleStatus.FAILED:
            new.append(r)
            continue
        if not r.overridable:
            raise ValueError(
                f"Invalid value for 'override.rule_id': got {r.rule_id!r} for block "
                f"{r.block!r}; this refusal cannot be overridden: {r.message}"
            )
        if match not in used:
            used.append(match)
        new.append(
            r.model_copy(
                update={
                    "status": RuleStatus.OVERRIDDEN,
                    "message": f"{r.message} OVERRIDDEN by {match.operator}: "
                    f"{match.reason}",
                }
            )
        )
    return new, tuple(used)


def check_protocol(
    protocol: Protocol,
    *,
    rmt_pct_mso: float | None = None,
    overrides: Sequence[Override] = (),
    policy: SafetyPolicy | None = None,
    review: PhysicianReview | None = None,
) -> Verdict:
    """Check a protocol against the safety rules.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    rmt_pct_mso : float | None
        The patient's RMT, % MSO; without it the stimulator-output rule is listed as
        not checked (patient data).
    overrides : sequence of Override
        Operator overrides for overridable refusals (e.g. outside the table's range),
        stored with the verdict.
    policy : SafetyPolicy | None
        Engine settings (the default policy, ``plptms-default``, when ``None``).
    review : PhysicianReview | None
        A physician's recorded review. It turns a verdict that would be ``review``
        into ``accepted`` and is stored with it; the rule statuses are unchanged
        (they still show what was reviewed). It never changes a ``refused`` or
        ``incomplete`` verdict, and is not attached to one (nor to a verdict that
        needs no review).

    Returns
    -------
    verdict : Verdict
        ``refused`` if any rule failed; else ``incomplete`` if a protocol rule could
        not be checked; else ``review`` if a rule is ``review``, ``unverified`` or
        ``overridden`` and no review is given; else ``accepted``. Every rule is
        listed, and the verdict names the policy used.

    Raises
    ------
    TypeError
        If ``review`` is not a :class:`PhysicianReview`.
    ValueError
        If ``rmt_pct_mso`` is out of range, or an override targets a refusal that
        cannot be overridden or an unknown block.
    """
    if rmt_pct_mso is not None:
        check_range(
            rmt_pct_mso, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO"
        )
    if review is not None:
        check_type(review, PhysicianReview, "review")
    pol = _DEFAULT_POLICY if policy is None else policy
    check_type(pol, SafetyPolicy, "policy")
    results: list[RuleResult] = []
    block: CourseBlock
    for block in protocol.blocks:
        results.extend(
            check_dose(
                block.dose, block=block.label, rmt_pct_mso=rmt_pct_mso, policy=pol
            )
        )
    results, used = _apply_overrides(
        results, overrides, (b.label for b in protocol.blocks)
    )
    unreviewed = decide(results)
    attach = review is not None and unreviewed is Decision.REVIEW
    return Verdict(
        protocol_id=protocol.id,
        decision=Decision.ACCEPTED if attach else unreviewed,
        rules=tuple(results),
        policy_name=pol.name,
        overrides=used,
        review=review if attach else None,
        rmt_pct_mso=rmt_pct_mso,
        policy=pol.describe(),
    )
