"""Gather what the clinician and patient reports show, from the registry.

Application layer: reads the registry, builds the planner's view and the plan,
pools the evidence, and hands the core report package a :class:`ReportData`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..report import DeliveryRow, ReportData, evidence_rows
from ._sites import site_today

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from ..planner import PatientPlan, PriorTreatment
    from ..registry import Registry
    from ..safety import PhysicianReview
    from ._planning import RegistryContext

__all__ = ["collect_report_data"]

logger = logging.getLogger(__name__)


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
        amendments = {m.id: m for m in registry.list_amendments(a.id)}
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
                    detail=_amended(d.plan, amendments) + d.detail,
                )
            )
    rows.sort(key=lambda r: (r.date, r.protocol_id, r.number, r.source))
    return tuple(rows)


def _amended(plan: dict[str, Any], amendments: dict[int, Any]) -> str:
    """Say which recorded amendment a session's dose came from, if any."""
    inner = plan.get("session_plan", plan) if isinstance(plan, dict) else {}
    aid = inner.get("amendment_id") if isinstance(inner, dict) else None
    found = amendments.get(aid) if isinstance(aid, int) else None
    if found is None:
        return ""
    m = found.amendment
    what = []
    if m.intensity_pct_rmt is not None:
        what.append(f"{m.intensity_pct_rmt:g} % RMT")
    if m.trains_per_session is not None:
        what.append(f"{m.trains_per_session} train(s)")
    if m.closed_loop is not None:
        what.append("closed-loop trigger rule")
    return f"amended dose ({', '.join(what)}; {m.reason}); "


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
    from ..meta import load_evidence
    from ..planner import plan_for_patient, pool_evidence
    from ..protocol import load_library
    from ._planning import context_from_registry

    day = site_today(registry, site) if today is None else today
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
        policy=context.policy,
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
        assignment_review=_assignment_review(registry, context, result),
    )
    logger.info("Report data of %s/%s gathered.", site, code)
    return data


def _assignment_review(
    registry: Registry, context: RegistryContext, result: PatientPlan
) -> PhysicianReview | None:
    """Return the review stored with the planned protocol's assignment if it covers."""
    from ._safety import review_keys

    verdict = result.verdict
    if verdict is None or not verdict.needs_review or verdict.review is not None:
        return None
    ids = [a.id for a in context.assignments if a.protocol_id == result.protocol_id]
    if not ids:
        return None
    stored = registry.assignment_verdict(max(ids))
    if stored.review is None or not review_keys(verdict) <= review_keys(stored):
        return None
    return stored.review
