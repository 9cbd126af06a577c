"""The safety engine: check a protocol against the published limits.

Every rule appends a :class:`~plptms.safety.RuleResult` (passed, failed, not
checked, review or overridden) naming the field, value, limit and citation. The
engine never adjusts a parameter: an unsafe value is refused.

.. footbibliography::
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, model_validator

from ..protocol._models import CourseBlock, Pattern, Protocol, StimulationDose
from ..utils._checks import check_range
from . import _constants as C
from ._train_table import max_train_duration
from ._verdict import Decision, Override, RuleResult, RuleStatus, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["SafetyPolicy", "check_dose", "check_protocol", "intensity_pct_mso"]

_REL_TOL = 1e-9

_CIT_TABLE = C.TRAIN_TABLE_CITATION
_CIT_ITI = "Chen et al. 1997 (summarised in Rossi et al. 2009)"
_CIT_HUANG = "Huang et al. 2005"
_CIT_CTBS = "Oberman & Pascual-Leone 2009 (cited in Rossi et al. 2009)"
_CIT_ITBS = "Blumberger et al. 2018 (discussed in Rossi et al. 2021)"
_CIT_SESSION = "O'Reardon et al. 2007; consensus range top (review, 2024)"
_CIT_MSO = "stimulator output cannot exceed 100 % MSO"


class SafetyPolicy(BaseModel):
    """Settings of the safety engine.

    Parameters
    ----------
    train_duration_margin : float
        Factor in (0, 1] applied to every train-duration limit. ``1.0`` uses the
        table as published (unverified cells already lowered to their monotone
        envelope); ``0.75`` applies the 25 % cut that Chen et al. (1997) advise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    train_duration_margin: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_range(
            self.train_duration_margin,
            "train_duration_margin",
            0.0,
            1.0,
            low_inclusive=False,
        )
        return self

    def describe(self) -> str:
        """One line for the verdict."""
        if self.train_duration_margin == 1.0:
            return "train limits as tabulated (unverified cells: monotone envelope)"
        return (
            f"train limits x {self.train_duration_margin:g} "
            f"(Chen et al. 1997 advise x {C.CHEN1997_TRAIN_MARGIN:g})"
        )


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
    lim = max_train_duration(f, i)
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
        else f" x margin {policy.train_duration_margin:g}"
    )
    train = d.train_duration_s
    if train is None:
        worst = d.max_possible_train_duration_s
        if worst is not None and _le(worst, limit_s):
            out.add(
                rid,
                "pulses_per_train",
                RuleStatus.PASSED,
                f"Train structure unreported, but even one continuous train of the "
                f"whole session ({worst:g} s at {f:g} Hz) is within the limit "
                f"{limit_s:g} s{margin} ({lim.basis}).",
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
            RuleStatus.PASSED,
            f"Train of {train:g} s ({d.pulses_per_train} pulses at {f:g} Hz, "
            f"{i:g} % RMT) is within the limit {limit_s:g} s{margin} ({lim.basis}).",
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
        tested = (
            ""
            if i <= C.ITI_SAFE_TESTED_UP_TO_PCT_MT
            else f" (tested up to {C.ITI_SAFE_TESTED_UP_TO_PCT_MT:g} % MT)"
        )
        out.add(
            rid,
            "inter_train_interval_s",
            RuleStatus.PASSED,
            f"Pause of {iti:g} s between trains is at least {C.ITI_SAFE_S:g} s"
            f"{tested} ({_CIT_ITI}).",
            value=iti,
            limit=C.ITI_SAFE_S,
            unit="s",
            citation=_CIT_ITI,
        )


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
        Engine settings.

    Returns
    -------
    verdict : Verdict
        ``refused`` if any rule failed, ``incomplete`` if any protocol rule could not
        be checked, ``accepted`` otherwise; every rule is listed.

    Raises
    ------
    ValueError
        If ``rmt_pct_mso`` is out of range, or an override targets a refusal that
        cannot be overridden or an unknown block.
    """
    if rmt_pct_mso is not None:
        check_range(
            rmt_pct_mso, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO"
        )
    pol = _DEFAULT_POLICY if policy is None else policy
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
    if any(r.status is RuleStatus.FAILED for r in results):
        decision = Decision.REFUSED
    elif any(
        r.status is RuleStatus.NOT_CHECKED and not r.needs_patient for r in results
    ):
        decision = Decision.INCOMPLETE
    else:
        decision = Decision.ACCEPTED
    return Verdict(
        protocol_id=protocol.id,
        decision=decision,
        rules=tuple(results),
        overrides=used,
        rmt_pct_mso=rmt_pct_mso,
        policy=pol.describe(),
    )
