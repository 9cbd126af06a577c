"""Plain-text descriptions of planner results, shared by the CLI and the reports."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..protocol import PlannedBlock, Study
    from ._plan import SessionVisit
    from ._rank import CandidateRanking, EvidenceSummary

__all__ = [
    "MSO_UNKNOWN",
    "consensus_text",
    "effect_text",
    "evidence_tier_text",
    "mso_text",
    "rmt_text",
    "source_text",
    "target_basis_text",
    "weeks",
]

#: Shown for an intensity in % MSO before the RMT is measured.
MSO_UNKNOWN = "not yet known (measure RMT)"

_TIER = {
    "RCT_ESTIMABLE": "RCT, effect estimable",
    "RCT_NOT_ESTIMABLE": "RCT, effect not estimable",
    "CASE_REPORT": "case report",
    "NO_STUDY": "no study",
}


def evidence_tier_text(ev: EvidenceSummary) -> str:
    """Describe an evidence tier.

    Parameters
    ----------
    ev : EvidenceSummary
        The evidence.

    Returns
    -------
    text : str
        E.g. ``"RCT, effect estimable"``.
    """
    return _TIER[ev.tier.name]


def effect_text(ev: EvidenceSummary) -> str:
    """Describe an effect and its interval, or why it is not estimable.

    Parameters
    ----------
    ev : EvidenceSummary
        The evidence.

    Returns
    -------
    text : str
        ``"g = -0.60 [-1.14, -0.06], single study"`` or ``"not estimable: ..."``.
    """
    if ev.estimate is None:
        return ev.not_estimable or "not estimable"
    ci = (
        ""
        if ev.ci_lower is None or ev.ci_upper is None
        else f" [{ev.ci_lower:.2f}, {ev.ci_upper:.2f}]"
    )
    return f"g = {ev.estimate:.2f}{ci}, {ev.effect_kind}"


def consensus_text(row: CandidateRanking) -> str:
    """Describe where a protocol stands against every consensus range.

    Parameters
    ----------
    row : CandidateRanking
        The ranked protocol.

    Returns
    -------
    text : str
        ``"inside"``, ``"outside"`` or ``"unknown"``, prefixed with the range id
        when there are several ranges.
    """
    words = {True: "inside", False: "outside", None: "unknown"}
    if len(row.consensus) == 1:
        return words[row.consensus[0].inside]
    return "; ".join(f"{c.range_id}: {words[c.inside]}" for c in row.consensus)


def rmt_text(block: PlannedBlock) -> str:
    """Describe a block's intensity in % RMT.

    Parameters
    ----------
    block : PlannedBlock
        The block.

    Returns
    -------
    text : str
        E.g. ``"90 % RMT"`` or ``"unreported"``.
    """
    if block.intensity_pct_rmt is None:
        return "unreported"
    return f"{block.intensity_pct_rmt:g} % RMT"


def mso_text(block: PlannedBlock) -> str:
    """Describe a block's intensity in % MSO.

    Parameters
    ----------
    block : PlannedBlock
        The block.

    Returns
    -------
    text : str
        E.g. ``"46.8 % MSO"``, or :data:`MSO_UNKNOWN` before the RMT is measured.
    """
    if block.intensity_pct_mso is None:
        return MSO_UNKNOWN if block.intensity_pct_rmt is not None else "unreported"
    return f"{block.intensity_pct_mso:.1f} % MSO"


def weeks(
    sessions: tuple[SessionVisit, ...],
) -> list[tuple[dt.date, list[SessionVisit]]]:
    """Group sessions by calendar week.

    Parameters
    ----------
    sessions : tuple of SessionVisit
        The calendar.

    Returns
    -------
    weeks : list of (datetime.date, list of SessionVisit)
        Monday of each week with its sessions, in order.
    """
    out: list[tuple[dt.date, list[SessionVisit]]] = []
    for s in sessions:
        monday = s.date - dt.timedelta(days=s.date.weekday())
        if not out or out[-1][0] != monday:
            out.append((monday, []))
        out[-1][1].append(s)
    return out


_BASIS = {
    "studied": "studied",
    "inferred": "area inferred, not studied",
    "not_studied": "NOT STUDIED (recorded deviation)",
}


def target_basis_text(block: PlannedBlock) -> str:
    """Say whether a planned block's target is the one its study used.

    Parameters
    ----------
    block : PlannedBlock
        The block.

    Returns
    -------
    text : str
        ``"studied"``, ``"area inferred, not studied"`` (M1 without a reported
        area) or ``"NOT STUDIED (recorded deviation)"``, with the studied target
        when it differs.
    """
    text = _BASIS[block.basis.value]
    if block.studied_target is not None and block.studied_target is not block.target:
        text += f"; the study: {block.studied_target.value}"
    return text


_SOURCE = {
    "full_text": "the full paper",
    "abstract": "the published abstract",
    "not_reached": (
        "primary paper not reached: figures as quoted by the review, not verified"
    ),
}


def source_text(study: Study) -> str:
    """Say what plptms read of a study's primary publication.

    Parameters
    ----------
    study : plptms.protocol.Study
        The study.

    Returns
    -------
    text : str
        E.g. ``"the published abstract"``.
    """
    return _SOURCE[study.source.value]
