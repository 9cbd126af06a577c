"""Rank the library's protocols for one patient, with the reasons."""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, model_validator

from ..meta import (
    EffectTable,
    OutcomeStudy,
    StudyDesign,
    collect_effects,
    load_evidence,
    meta_analysis,
)
from ..protocol import (
    ArmOutcome,
    Conformance,
    Protocol,
    ProtocolLibrary,
    SourceRead,
    TargetSite,
    load_library,
)
from ..safety import Decision, ScreeningStatus, Verdict, check_protocol
from ..utils import check_type
from ._override import OverrideNeed, override_needs, override_text
from ._patient import PatientContext, Response

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..protocol import ProtocolRange
    from ..safety import SafetyPolicy

__all__ = [
    "VARIABILITY_NOTE",
    "CandidateRanking",
    "ConsensusView",
    "EvidenceSummary",
    "EvidenceTier",
    "rank_protocols",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Fixed note attached to every ranking (not a literature constant).
VARIABILITY_NOTE = (
    "The source review names amputation level and cause, time since amputation, "
    "and depression and anxiety as sources of variability in response. The trials "
    "are small, few and differ in all of these at once, so the evidence cannot "
    "separate their effects: they are recorded here but do not change the ranking."
)

INCOMPLETE_FLAG = "train structure must be specified before delivery"


class EvidenceTier(IntEnum):
    """Evidence tier, lower is stronger."""

    RCT_ESTIMABLE = 0
    RCT_NOT_ESTIMABLE = 1
    CASE_REPORT = 2
    NO_STUDY = 3


class EvidenceSummary(BaseModel):
    """The evidence behind one protocol.

    Attributes
    ----------
    study_ids, citations, designs : tuple of str
        Studies of the protocol.
    n_total : int | None
        Participants in those studies (``None`` if unreported).
    tier : EvidenceTier
        Tier used by the ranking.
    effect_kind : str
        ``"pooled (k = ...)"``, ``"single study"`` or ``"not estimable"``.
    measure : str | None
        Effect measure (``"smd"``: Hedges' g vs sham, negative favours active).
    estimate, ci_lower, ci_upper : float | None
        Effect and its 95 % confidence interval.
    tau2, i2_pct : float | None
        Heterogeneity, when pooled.
    not_estimable : str | None
        ``"not estimable: <reason>"`` when no effect could be computed.
    arm_outcome : ArmOutcome | None
        What the study reports for the arm that gave this protocol (``None`` for a
        protocol without a study).
    arm_result : str | None
        That arm's result in a few words.
    source : SourceRead | None
        What plptms read of the study's primary publication.
    corrections : int
        Figures of the review corrected against the primary publication.
    """

    model_config = _FROZEN

    study_ids: tuple[str, ...]
    citations: tuple[str, ...]
    designs: tuple[str, ...]
    n_total: int | None
    tier: EvidenceTier
    effect_kind: str
    measure: str | None = None
    estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    tau2: float | None = None
    i2_pct: float | None = None
    not_estimable: str | None = None
    arm_outcome: ArmOutcome | None = None
    arm_result: str | None = None
    source: SourceRead | None = None
    corrections: int = 0


class ConsensusView(BaseModel):
    """A consensus range shown with both of its recommendation lines.

    Attributes
    ----------
    range_id, citation : str
        The range.
    first_line, second_line : str
        What the source says for each line; both are always present.
    conformance : tuple of Conformance
        Per-block comparison of the protocol with the range.
    inside : bool | None
        ``True`` if some block is inside, ``False`` if every block is outside,
        ``None`` otherwise.
    """

    model_config = _FROZEN

    range_id: str
    citation: str
    first_line: str
    second_line: str
    conformance: tuple[Conformance, ...]
    inside: bool | None

    @model_validator(mode="after")
    def _check_lines(self) -> Self:
        for name in ("first_line", "second_line"):
            if not getattr(self, name).strip():
                raise ValueError(
                    f"Invalid value for {name!r}: got an empty text; allowed: the "
                    "source's wording (both lines are always shown)."
                )
        return self


class CandidateRanking(BaseModel):
    """One protocol ranked for one patient.

    Attributes
    ----------
    rank : int
        1 is the first candidate.
    protocol_id, name : str
        The protocol.
    evidence : EvidenceSummary
        Evidence behind it.
    verdict : Verdict
        Safety verdict (with the patient's RMT when known).
    consensus : tuple of ConsensusView
        Every consensus range, each with both recommendation lines.
    down_ranked : bool
        Whether previous non-response moved it down.
    reasons : tuple of str
        Why it sits where it does.
    flags : tuple of str
        What must be done before delivery.
    variability_note : str
        :data:`VARIABILITY_NOTE` followed by the patient's values of those factors.
    sort_key : tuple of int
        The key it was sorted by (see :func:`rank_protocols`).
    override_needs : tuple of OverrideNeed
        For a refused protocol: each refused rule with its field, value and limit,
        whether it can be overridden and what an override needs.
    """

    model_config = _FROZEN

    rank: int
    protocol_id: str
    name: str
    evidence: EvidenceSummary
    verdict: Verdict
    consensus: tuple[ConsensusView, ...]
    down_ranked: bool
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    variability_note: str
    sort_key: tuple[int, ...]
    override_needs: tuple[OverrideNeed, ...] = ()


def _target_group(target: TargetSite) -> str:
    return "m1" if target.value.startswith("m1") else target.value


def _evidence(
    protocol: Protocol,
    library: ProtocolLibrary,
    studies: Sequence[OutcomeStudy],
    table: EffectTable,
) -> EvidenceSummary:
    ev = _effect_evidence(protocol, library, studies, table)
    if protocol.study_id is None or protocol.study_id not in library.studies:
        return ev
    st = library.study(protocol.study_id)
    arm = st.arm_of(protocol.id)
    return ev.model_copy(
        update={
            "arm_outcome": None if arm is None else arm.outcome,
            "arm_result": None if arm is None or not arm.result else arm.result,
            "source": st.source,
            "corrections": len(st.corrections),
        }
    )


def _effect_evidence(
    protocol: Protocol,
    library: ProtocolLibrary,
    studies: Sequence[OutcomeStudy],
    table: EffectTable,
) -> EvidenceSummary:
    own = [s for s in studies if protocol.id in s.protocol_ids]
    comparator_of = None
    if not own and protocol.study_id is not None:
        comparator_of = next((s for s in studies if s.id == protocol.study_id), None)
    if own:
        ids = tuple(s.id for s in own)
        cites = tuple(s.citation for s in own)
        designs = tuple(s.design.value for s in own)
        ns = [s.n_total for s in own]
    elif protocol.study_id is not None:
        st = library.study(protocol.study_id)
        ids, cites, designs = (st.id,), (st.citation,), (st.design,)
        ns = [st.n_total]
    else:
        return EvidenceSummary(
            study_ids=(),
            citations=(),
            designs=(),
            n_total=None,
            tier=EvidenceTier.NO_STUDY,
            effect_kind="not estimable",
            not_estimable=(
                "not estimable: no study of this protocol (an instance of a "
                "consensus range or a user protocol)"
            ),
        )
    n_total = None if any(n is None for n in ns) else sum(n for n in ns if n)
    rct = any(
        d in (StudyDesign.RCT.value, StudyDesign.CROSSOVER.value) for d in designs
    )
    effects = [e for e in table.effects if e.study_id in ids]
    base = {"study_ids": ids, "citations": cites, "designs": designs}
    if comparator_of is not None or not effects:
        if (
            comparator_of is not None
            and comparator_of.design is StudyDesign.CASE_REPORT
        ):
            reason = (
                f"not estimable: another condition given to the same patient in the "
                f"single-case report {comparator_of.id}"
            )
        elif comparator_of is not None:
            reason = (
                f"not estimable: this protocol is a comparator arm of "
                f"{comparator_of.id}, which gives no effect of it against sham"
            )
        else:
            why = [n.reason for n in table.not_estimable if n.study_id in ids]
            reason = "not estimable: " + ("; ".join(why) or "no effect reported")
        return EvidenceSummary(
            **base,
            n_total=n_total,
            tier=EvidenceTier.RCT_NOT_ESTIMABLE if rct else EvidenceTier.CASE_REPORT,
            effect_kind="not estimable",
            not_estimable=reason,
        )
    if len(effects) == 1:
        e = effects[0]
        lo, hi = e.ci()
        return EvidenceSummary(
            **base,
            n_total=n_total,
            tier=EvidenceTier.RCT_ESTIMABLE,
            effect_kind="single study",
            measure=table.measure.value,
            estimate=e.estimate,
            ci_lower=lo,
            ci_upper=hi,
        )
    res = meta_analysis(
        [e.estimate for e in effects],
        [e.variance for e in effects],
        method="REML",
        labels=[str(e.study_id) for e in effects],
    )
    return EvidenceSummary(
        **base,
        n_total=n_total,
        tier=EvidenceTier.RCT_ESTIMABLE,
        effect_kind=f"pooled (k = {len(effects)}, REML)",
        measure=table.measure.value,
        estimate=res.estimate,
        ci_lower=res.ci_lower,
        ci_upper=res.ci_upper,
        tau2=res.tau2,
        i2_pct=res.i2_pct,
    )


def _consensus(rng: ProtocolRange, protocol: Protocol) -> ConsensusView:
    lines = {r.line: r.text for r in rng.recommendations}
    for line in ("first-line", "second-line"):
        if line not in lines:
            raise ValueError(
                f"Invalid value for 'recommendations': range {rng.id!r} has no "
                f"{line!r} entry; allowed: both 'first-line' and 'second-line' (the "
                "planner never shows one line silently)."
            )
    conf = tuple(rng.conformance(protocol, b.label) for b in protocol.blocks)
    states = [c.inside for c in conf]
    inside: bool | None
    if any(s is True for s in states):
        inside = True
    elif all(s is False for s in states):
        inside = False
    else:
        inside = None
    return ConsensusView(
        range_id=rng.id,
        citation=rng.citation,
        first_line=lines["first-line"],
        second_line=lines["second-line"],
        conformance=conf,
        inside=inside,
    )


def _patient_factors(patient: PatientContext) -> str:
    a = patient.amputation

    def fmt(value: object, unit: str = "") -> str:
        return "not recorded" if value is None else f"{value}{unit}"

    return (
        f"This patient: amputation level {fmt(a.level)}, cause "
        f"{fmt(patient.amputation_cause)}, time since amputation "
        f"{fmt(patient.months_since_amputation, ' months')}, HAM-D "
        f"{fmt(patient.hamd_total)}, HAM-A {fmt(patient.hama_total)}."
    )


def _prior_targets(
    patient: PatientContext, library: ProtocolLibrary
) -> dict[str, set[str]]:
    """Target groups of each prior course, by protocol id."""
    out: dict[str, set[str]] = {}
    for prior in patient.prior_treatments:
        groups: set[str] = set()
        if prior.target is not None:
            groups.add(_target_group(prior.target))
        elif prior.protocol_id in library.protocols:
            groups |= {
                _target_group(t) for t in library.protocols[prior.protocol_id].targets
            }
        out[prior.protocol_id] = groups
    return out


def rank_protocols(
    patient: PatientContext,
    *,
    library: ProtocolLibrary | None = None,
    evidence: Sequence[OutcomeStudy] | None = None,
    policy: SafetyPolicy | None = None,
) -> tuple[CandidateRanking, ...]:
    """Rank every protocol of the library for one patient.

    Parameters
    ----------
    patient : PatientContext
        The patient.
    library : ProtocolLibrary | None
        Protocols and consensus ranges; default :func:`plptms.protocol.load_library`.
    evidence : sequence of OutcomeStudy | None
        Outcome data; default :func:`plptms.meta.load_evidence`. Effects are Hedges'
        g of pain intensity at the end of treatment against sham.
    policy : plptms.safety.SafetyPolicy | None
        The site's safety policy; the default policy when ``None``.

    Returns
    -------
    rankings : tuple of CandidateRanking
        Best first; empty when screening excluded the patient.

    Raises
    ------
    TypeError
        If ``patient`` is not a :class:`PatientContext`.
    ValueError
        If a consensus range lacks its first- or second-line recommendation.

    Notes
    -----
    The order is deterministic, by the key (each part ascending):

    1. safety verdict refused (last): a refused studied protocol keeps its
       evidence, and its row lists what an override would need
       (``override_needs``);
    2. previous non-response to the same protocol or a protocol at the same target
       (M1 areas count as one target) (down-ranked);
    3. its study reports that the arm giving it did not reduce pain (e.g. M1 in
       Lee et al., 2015);
    4. evidence tier: RCT with an estimable effect, RCT not estimable, case report,
       no study;
    5. consensus conformance: inside, unknown, outside;
    6. more participants first;
    7. protocol id.

    An incomplete safety verdict does not move a protocol but flags it: the train
    structure must be specified before delivery. The factors the review names as
    sources of variability are not used (see :data:`VARIABILITY_NOTE`).
    """
    check_type(patient, PatientContext, "patient")
    if patient.screening is ScreeningStatus.EXCLUDED:
        logger.info("Screening excluded the patient: no candidates.")
        return ()
    lib = load_library() if library is None else library
    studies = tuple(load_evidence() if evidence is None else evidence)
    table = collect_effects(studies)
    priors = _prior_targets(patient, lib)
    note = f"{VARIABILITY_NOTE} {_patient_factors(patient)}"
    rows: list[tuple[tuple[int, ...], dict[str, object]]] = []
    for pid in sorted(lib.protocols):
        protocol = lib.protocols[pid]
        ev = _evidence(protocol, lib, studies, table)
        verdict = check_protocol(
            protocol, rmt_pct_mso=patient.rmt_pct_mso, policy=policy
        )
        consensus = tuple(
            _consensus(lib.ranges[r], protocol) for r in sorted(lib.ranges)
        )
        reasons: list[str] = []
        flags: list[str] = []
        refused = verdict.decision is Decision.REFUSED
        needs = override_needs(verdict) if refused else ()
        if refused:
            reasons.append(
                "safety refused: "
                + "; ".join(r.message for r in verdict.failures)
                + " (ranked last)"
            )
            if ev.study_ids:
                reasons.append(
                    "the studied dose is evidence but not deliverable without an "
                    "override: " + "; ".join(override_text(n) for n in needs)
                )
        elif verdict.decision is Decision.INCOMPLETE:
            missing = sorted({r.field for r in verdict.not_checked})
            flags.append(f"{INCOMPLETE_FLAG} (not checked: {', '.join(missing)})")
        groups = {_target_group(t) for t in protocol.targets}
        down = False
        for prior in patient.prior_treatments:
            if prior.response is Response.RESPONDER:
                if prior.protocol_id == pid:
                    reasons.append("the patient responded to this protocol before")
                continue
            if prior.protocol_id == pid:
                down = True
                reasons.append(
                    "down-ranked: no response to this protocol before "
                    f"({prior.protocol_id})"
                )
            elif shared := groups & priors[prior.protocol_id]:
                down = True
                reasons.append(
                    "down-ranked: no response before to a protocol at the same "
                    f"target ({', '.join(sorted(shared))}; {prior.protocol_id})"
                )
        not_effective = ev.arm_outcome is ArmOutcome.NOT_EFFECTIVE
        if not_effective:
            reasons.append(
                "its study reports that this arm did not reduce pain"
                + (f" ({ev.arm_result})" if ev.arm_result else "")
                + " (ranked after the arms reported effective)"
            )
        reasons.append(
            f"evidence: {ev.tier.name.lower().replace('_', ' ')}"
            + (f", {ev.effect_kind}" if ev.estimate is not None else "")
        )
        if ev.source is SourceRead.NOT_REACHED:
            reasons.append(
                "primary paper not reached: figures as quoted by the review, not "
                "verified"
            )
        inside = [c.inside for c in consensus]
        conf_key = (
            0
            if True in inside
            else (2 if inside and all(s is False for s in inside) else 1)
        )
        reasons.append(
            "consensus: "
            + ("inside" if conf_key == 0 else "outside" if conf_key == 2 else "unknown")
        )
        if patient.screening is None:
            flags.append("safety screening not done: screen before delivery")
        elif patient.screening is ScreeningStatus.NEEDS_REVIEW:
            flags.append("screening needs physician review before delivery")
        if patient.rmt_pct_mso is None:
            flags.append("RMT not measured: % MSO and the output check pending")
        key = (
            int(refused),
            int(down),
            int(not_effective),
            int(ev.tier),
            conf_key,
            -(ev.n_total or 0),
        )
        rows.append(
            (
                key,
                {
                    "protocol_id": pid,
                    "name": protocol.name,
                    "evidence": ev,
                    "verdict": verdict,
                    "consensus": consensus,
                    "down_ranked": down,
                    "reasons": tuple(reasons),
                    "flags": tuple(flags),
                    "variability_note": note,
                    "sort_key": key,
                    "override_needs": needs,
                },
            )
        )
    rows.sort(key=lambda kv: (kv[0], str(kv[1]["protocol_id"])))
    return tuple(
        CandidateRanking.model_validate({"rank": k + 1, **data})
        for k, (_, data) in enumerate(rows)
    )
