"""What a report shows: the data model and the evidence and history rows.

The data are gathered from the registry by the application layer
(:func:`plptms.workflow.collect_report_data`); this core module never imports the
registry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..meta import EffectTable, MetaResult, OutcomeStudy
    from ..planner import PatientPlan
    from ..protocol import Protocol
    from ..registry import AssessmentOut
    from ..safety import PhysicianReview, ScreeningReport
    from ..workflow import RegistryContext

__all__ = [
    "DISCLAIMER",
    "DeliveryRow",
    "EvidenceRow",
    "ReportData",
    "evidence_rows",
    "history_rows",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Printed on every page of every report.
DISCLAIMER = (
    "plptms is research software, not a certified medical device. Every plan must be "
    "reviewed and signed by a qualified physician."
)


class EvidenceRow(BaseModel):
    """One study of the evidence table.

    Attributes
    ----------
    study_id, citation, design : str
        The study.
    n : str
        Participants, ``"total (treatment/control)"`` where known.
    protocol_ids : tuple of str
        Library protocols of its treatment arm.
    estimate, ci_lower, ci_upper : float | None
        Hedges' g against sham at the end of treatment, with its 95 % interval.
    not_estimable : str | None
        Why no effect could be computed.
    """

    model_config = _FROZEN

    study_id: str
    citation: str
    design: str
    n: str
    protocol_ids: tuple[str, ...]
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    not_estimable: str | None


class DeliveryRow(BaseModel):
    """A treatment session recorded or delivered.

    Attributes
    ----------
    protocol_id : str
        Protocol of the assignment.
    number : int
        Session number in the course.
    date : datetime.date
        Day of the session.
    status : str
        Completed, partial, aborted, missed, faulted, ...
    source : str
        ``"session record"`` or ``"delivery log (<device>)"``.
    detail : str
        Note or stop reason.
    """

    model_config = _FROZEN

    protocol_id: str
    number: int
    date: dt.date
    status: str
    source: str
    detail: str


@dataclass(frozen=True)
class ReportData:
    """What the clinician and patient reports show.

    A plain frozen record: its parts are validated where they are made (the
    registry, the planner, the evidence), so the core report package needs none
    of their higher-layer types at run time.

    Attributes
    ----------
    generated_on : datetime.date
        Date of the report.
    version : str
        plptms version.
    context : RegistryContext
        The patient as the planner sees it, with sources and unknowns.
    result : PatientPlan
        Ranking and plan.
    protocol : Protocol | None
        The protocol planned (``None`` when screening excluded the patient).
    history : dict
        PLP history as stored.
    assessments : tuple of AssessmentOut
        Every assessment, by date.
    screening : ScreeningReport | None
        Latest screening.
    evidence : tuple of EvidenceRow
        Every study, estimable first.
    pooled : MetaResult | None
        Pooled effect of the estimable studies.
    deliveries : tuple of DeliveryRow
        Sessions recorded or delivered, by protocol and number.
    assignment_review : PhysicianReview | None
        The physician review recorded when the planned protocol was assigned,
        shown only while it covers every rule the plan's verdict asks to review.
    disclaimer : str
        Research-software disclaimer.
    """

    generated_on: dt.date
    version: str
    context: RegistryContext
    result: PatientPlan
    protocol: Protocol | None
    history: dict[str, Any]
    assessments: tuple[AssessmentOut, ...]
    screening: ScreeningReport | None
    evidence: tuple[EvidenceRow, ...]
    pooled: MetaResult | None
    deliveries: tuple[DeliveryRow, ...]
    assignment_review: PhysicianReview | None = None
    disclaimer: str = DISCLAIMER


def evidence_rows(
    table: EffectTable, studies: Sequence[OutcomeStudy]
) -> tuple[EvidenceRow, ...]:
    """One row per study: its effect, or why it is not estimable.

    Parameters
    ----------
    table : plptms.meta.EffectTable
        Effects from :func:`plptms.meta.collect_effects`.
    studies : sequence of plptms.meta.OutcomeStudy
        Every study (for citation, design and size).

    Returns
    -------
    rows : tuple of EvidenceRow
        Estimable studies first (in the table's order), then the others by id.
    """
    by_id = {s.id: s for s in studies}
    rows: list[EvidenceRow] = []
    for e, s in zip(table.effects, table.studies, strict=True):
        lo, hi = e.ci()
        arms = (
            f" ({e.n_treatment}/{e.n_control})"
            if e.n_treatment is not None and e.n_control is not None
            else ""
        )
        rows.append(
            EvidenceRow(
                study_id=s.id,
                citation=s.citation,
                design=s.design.value,
                n=("?" if s.n_total is None else str(s.n_total)) + arms,
                protocol_ids=s.protocol_ids,
                estimate=e.estimate,
                ci_lower=lo,
                ci_upper=hi,
                not_estimable=None,
            )
        )
    for ne in sorted(table.not_estimable, key=lambda n: str(n.study_id)):
        st = by_id.get(str(ne.study_id))
        rows.append(
            EvidenceRow(
                study_id=str(ne.study_id),
                citation=str(ne.study_id) if st is None else st.citation,
                design="?" if st is None else st.design.value,
                n="?" if st is None or st.n_total is None else str(st.n_total),
                protocol_ids=() if st is None else st.protocol_ids,
                estimate=None,
                ci_lower=None,
                ci_upper=None,
                not_estimable=ne.reason,
            )
        )
    return tuple(rows)


_HISTORY_LABELS: tuple[tuple[str, str], ...] = (
    ("side", "Side"),
    ("limb", "Limb"),
    ("level", "Level"),
    ("cause", "Cause"),
    ("cause_details", "Cause, details"),
    ("amputation_date", "Amputation date"),
    ("assessed_on", "History taken on"),
    ("prosthesis_use", "Prosthesis use"),
    ("phantom_sensations", "Phantom sensations"),
    ("telescoping", "Telescoping"),
    ("attack_frequency", "Pain attacks"),
    ("attack_duration_s", "Attack duration"),
    ("triggers", "Triggers"),
    ("trigger_notes", "Trigger notes"),
    ("analgesics", "Analgesics"),
    ("opioids", "Opioids"),
    ("notes", "Notes"),
)


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def history_rows(history: dict[str, Any]) -> list[tuple[str, str]]:
    """Turn the recorded PLP history into (label, text) rows; gaps say so.

    Parameters
    ----------
    history : dict
        PLP history as stored (:class:`plptms.scales.PLPHistory` JSON data).

    Returns
    -------
    rows : list of (str, str)
        One row per field of the history.
    """
    from ..scales import PLPHistory

    if not history:
        return [("PLP history", "not recorded")]
    h = PLPHistory.model_validate(history)
    rows: list[tuple[str, str]] = []
    for key, label in _HISTORY_LABELS:
        value = history.get(key)
        if key == "attack_frequency" and value:
            text = f"{value['count']:g} per {value['per']}"
        elif key == "attack_duration_s" and value is not None:
            text = f"{value:g} s"
        elif key in ("phantom_sensations", "telescoping"):
            text = "yes" if value else "no"
        elif key == "triggers":
            text = ", ".join(_words(t) for t in value) if value else "none recorded"
        elif key == "analgesics":
            text = (
                "; ".join(f"{a['name']} ({_words(a['drug_class'])})" for a in value)
                if value
                else "none recorded"
            )
        elif key == "opioids":
            text = (
                "; ".join(f"{o['drug']} {o['dose']:g} {o['unit']}" for o in value)
                + f" ({h.daily_mme:.0f} MME/day)"
                if value
                else "none recorded"
            )
        elif value in (None, ""):
            if key in ("cause_details", "trigger_notes", "notes"):
                continue
            text = "not recorded"
        else:
            text = _words(value)
        rows.append((label, text))
    return rows
