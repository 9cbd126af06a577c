"""What a report shows, gathered from the registry, the planner and the evidence."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .._version import __version__
from ..meta import EffectTable, MetaResult, OutcomeStudy, load_evidence
from ..planner import PatientPlan, RegistryContext
from ..protocol import Protocol, load_library
from ..registry import AssessmentOut
from ..safety import ScreeningReport

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..planner import PriorTreatment
    from ..registry import Registry

__all__ = [
    "DISCLAIMER",
    "DeliveryRow",
    "EvidenceRow",
    "ReportData",
    "collect_report_data",
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


class ReportData(BaseModel):
    """What the clinician and patient reports show.

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
    disclaimer : str
        Research-software disclaimer.
    """

    model_config = _FROZEN

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


def _deliveries(
    registry: Registry, context: RegistryContext
) -> tuple[DeliveryRow, ...]:
    rows: list[DeliveryRow] = []
    for a in context.assignments:
        for s in registry.list_sessions(a.id):
            rows.append(
                DeliveryRow(
                    protocol_id=a.protocol_id,
                    number=s.number,
                    date=s.session_date,
                    status=s.status.value,
                    source="session record",
                    detail=s.note,
                )
            )
        for d in registry.list_deliveries(a.id):
            rows.append(
                DeliveryRow(
                    protocol_id=a.protocol_id,
                    number=d.number,
                    date=d.started_at.date(),
                    status=d.status,
                    source=f"delivery log ({d.device}"
                    + (", blinded" if d.blinded else "")
                    + ")",
                    detail=d.detail,
                )
            )
    rows.sort(key=lambda r: (r.date, r.protocol_id, r.number, r.source))
    return tuple(rows)


def collect_report_data(
    registry: Registry,
    site: str,
    code: str,
    *,
    start_date: dt.date | None = None,
    protocol_id: str | None = None,
    sessions_per_week: int | None = None,
    prior_treatments: Sequence[PriorTreatment] = (),
    today: dt.date | None = None,
) -> ReportData:
    """Gather what the reports show for one registered patient.

    Parameters
    ----------
    registry : plptms.registry.Registry
        An open registry.
    site, code : str
        The patient.
    start_date : datetime.date | None
        First possible treatment day; ``today`` when ``None``.
    protocol_id : str | None
        Library protocol to plan; default the first of the ranking.
    sessions_per_week : int | None
        Sessions a week in [1, 5]; default from the protocol.
    prior_treatments : sequence of PriorTreatment
        Earlier courses with response, as stated by the clinician.
    today : datetime.date | None
        Date of the report (and reference for the time since amputation); the
        current date when ``None``.

    Returns
    -------
    data : ReportData
        Everything the reports show.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such patient.
    plptms.registry.RegistryError
        If the patient has no PLP history.
    KeyError
        If ``protocol_id`` is not in the library.
    """
    from ..planner import context_from_registry, plan_for_patient, pool_evidence

    day = dt.date.today() if today is None else today
    context = context_from_registry(
        registry, site, code, as_of=day, prior_treatments=prior_treatments
    )
    studies = load_evidence()
    lib = load_library()
    result = plan_for_patient(
        context.context,
        start_date=day if start_date is None else start_date,
        protocol_id=protocol_id,
        sessions_per_week=sessions_per_week,
        library=lib,
        evidence=studies,
    )
    table, pooled = pool_evidence(studies)
    patient = registry.get_patient(site, code)
    data = ReportData(
        generated_on=day,
        version=__version__,
        context=context,
        result=result,
        protocol=(
            None if result.protocol_id is None else lib.protocol(result.protocol_id)
        ),
        history=patient.history,
        assessments=tuple(registry.list_assessments(site, code)),
        screening=registry.latest_screening(site, code),
        evidence=evidence_rows(table, studies),
        pooled=pooled,
        deliveries=_deliveries(registry, context),
    )
    logger.info("Report data of %s/%s gathered.", site, code)
    return data


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
