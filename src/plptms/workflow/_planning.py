"""The planner's view of a registered patient, built from what the registry holds.

Application layer: it reads registry records and hands the planner (a core
package, which never imports the registry) plain values.

Only recorded values are used. A field the registry does not hold stays ``None``
(unknown) and is listed in :attr:`RegistryContext.unknown`; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..planner import PatientContext, PriorTreatment
from ..registry import AssessmentOut, AssignmentOut, PatientOut, RegistryError
from ..safety import SafetyPolicy
from ..utils import check_type
from ._sites import site_today

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..registry import Registry
    from ..safety import ScreeningReport

__all__ = [
    "PAIN_SCALE_PREFERENCE",
    "LatestScore",
    "RegistryContext",
    "context_from_records",
    "context_from_registry",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Pain-intensity scales in the order the summary prefers them (phantom pain first,
#: average before worst, VAS before NRS).
PAIN_SCALE_PREFERENCE: tuple[str, ...] = (
    "vas_phantom_average",
    "nrs_phantom_average",
    "vas_phantom_worst",
    "nrs_phantom_worst",
    "vas_stump_average",
    "nrs_stump_average",
    "vas_stump_worst",
    "nrs_stump_worst",
)

_HAMD = "ham_d17"
_HAMA = "ham_a"

#: Mean days in a month of the Gregorian calendar (365.2425 / 12).
_DAYS_PER_MONTH = 365.2425 / 12.0


class LatestScore(BaseModel):
    """The latest computed score of one scale.

    Attributes
    ----------
    scale_id : str
        Scale.
    visit_date : datetime.date
        Visit of the score.
    visit_kind : str
        Kind of that visit.
    total : float
        Total score.
    band : str | None
        Severity band, if the scale defines one.
    later_not_computed : int
        Later assessments of the scale whose total could not be computed (missing
        items; nothing is imputed).
    """

    model_config = _FROZEN

    scale_id: str
    visit_date: dt.date
    visit_kind: str
    total: float
    band: str | None
    later_not_computed: int = 0


class RegistryContext(BaseModel):
    """A :class:`PatientContext` built from the registry, with its provenance.

    Where each value came from, and what the registry does not hold.

    Attributes
    ----------
    patient_id : str
        ``SITE/CODE``.
    context : PatientContext
        What the planner uses; fields the registry lacks are ``None``.
    rmt_measured_on : datetime.date | None
        Date of the RMT used.
    screened_on : datetime.date | None
        Date of the screening used.
    latest_scores : tuple of LatestScore
        Latest computed score of every scale recorded, pain scales first.
    pain : LatestScore | None
        Latest pain-intensity score (first of :data:`PAIN_SCALE_PREFERENCE` with a
        score).
    assignments : tuple of AssignmentOut
        Protocols assigned before, oldest first.
    sources : tuple of str
        Each value used and where it came from.
    unknown : tuple of str
        Each value the registry does not hold (left unknown, never guessed).
    policy : plptms.safety.SafetyPolicy
        The safety policy in force at the patient's site (the default policy
        when built from records alone).
    """

    model_config = _FROZEN

    patient_id: str
    context: PatientContext
    rmt_measured_on: dt.date | None
    screened_on: dt.date | None
    latest_scores: tuple[LatestScore, ...]
    pain: LatestScore | None
    assignments: tuple[AssignmentOut, ...]
    sources: tuple[str, ...]
    unknown: tuple[str, ...]
    policy: SafetyPolicy = SafetyPolicy()


def _latest_scores(assessments: Sequence[AssessmentOut]) -> dict[str, LatestScore]:
    out: dict[str, LatestScore] = {}
    pending: dict[str, int] = {}
    for a in sorted(assessments, key=lambda a: (a.visit_date, a.id)):
        if a.deleted:
            continue
        if a.total is None:
            pending[a.scale_id] = pending.get(a.scale_id, 0) + 1
            continue
        pending[a.scale_id] = 0
        out[a.scale_id] = LatestScore(
            scale_id=a.scale_id,
            visit_date=a.visit_date,
            visit_kind=a.visit_kind.value,
            total=float(a.total),
            band=a.band,
        )
    for scale_id, n in pending.items():
        if n and scale_id in out:
            out[scale_id] = out[scale_id].model_copy(update={"later_not_computed": n})
    return out


def _score_int(score: LatestScore) -> int:
    if not float(score.total).is_integer():
        raise RegistryError(
            f"Invalid value for {score.scale_id!r}: got total {score.total!r} on "
            f"{score.visit_date.isoformat()}; allowed: a whole-number sum of items."
        )
    return int(score.total)


def context_from_records(
    patient: PatientOut,
    assessments: Sequence[AssessmentOut],
    screening: ScreeningReport | None,
    rmt: tuple[float, dt.date] | None,
    assignments: Sequence[AssignmentOut] = (),
    *,
    as_of: dt.date,
    prior_treatments: Sequence[PriorTreatment] = (),
    policy: SafetyPolicy | None = None,
) -> RegistryContext:
    """Build the planner's view of a patient from registry records.

    Parameters
    ----------
    patient : plptms.registry.PatientOut
        The patient (its PLP history gives the amputation).
    assessments : sequence of plptms.registry.AssessmentOut
        The patient's assessments; the latest computed HAM-D 17 and HAM-A totals
        are used.
    screening : plptms.safety.ScreeningReport | None
        Latest screening report, ``None`` if never screened.
    rmt : tuple of (float, datetime.date) | None
        Latest resting motor threshold, % MSO, and its date.
    assignments : sequence of plptms.registry.AssignmentOut
        Earlier protocol assignments. The registry holds no response to them, so
        they are listed, not used for ranking.
    as_of : datetime.date
        Reference date for the time since amputation.
    prior_treatments : sequence of PriorTreatment
        Earlier courses with response, as stated by the clinician (the registry
        does not record a response).
    policy : plptms.safety.SafetyPolicy | None
        The site's safety policy; the default when ``None``.

    Returns
    -------
    context : RegistryContext
        The context with its sources and the fields left unknown.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    plptms.registry.RegistryError
        If the patient has no PLP history (the side and limb of the amputation,
        which set the target hemisphere, are then unknown), or a score total is
        not a whole number.
    """
    check_type(patient, PatientOut, "patient")
    check_type(as_of, dt.date, "as_of")
    from ..scales import PLPHistory

    pid = f"{patient.site}/{patient.code}"
    if not patient.history:
        raise RegistryError(
            f"Invalid value for 'history': got none for {pid}; allowed: a recorded "
            "PLP history with the side and limb of the amputation (the target "
            "hemisphere depends on it; record it with `plptms patient add "
            "--history`)."
        )
    hist = PLPHistory.model_validate(patient.history)
    sources: list[str] = []
    unknown: list[str] = []
    amputation = hist.amputation
    level = amputation.level
    sources.append(
        f"amputation: {hist.side.value} {hist.limb.value} limb"
        + (f", {level}" if level else "")
        + f" (PLP history taken {hist.assessed_on.isoformat()})"
    )
    if level is None:
        unknown.append("amputation level: not recorded in the PLP history")
    cause = hist.cause.value
    if hist.cause_details:
        cause += f" ({hist.cause_details})"
    months: float | None = None
    amp_date = patient.amputation_date
    if amp_date is None:
        unknown.append("time since amputation: amputation date not recorded")
    else:
        months = round(max((as_of - amp_date).days, 0) / _DAYS_PER_MONTH, 1)
        sources.append(
            f"time since amputation: {months:.1f} months (amputation "
            f"{amp_date.isoformat()}, as of {as_of.isoformat()})"
        )
    status = None
    screened_on = None
    if screening is None:
        unknown.append("safety screening: not done (screen before delivery)")
    else:
        status = screening.status
        screened_on = screening.screened_on
        when = "an unknown date" if screened_on is None else screened_on.isoformat()
        sources.append(f"screening: {status.value} (screened {when})")
    rmt_value = None
    rmt_on = None
    if rmt is None:
        unknown.append(
            "resting motor threshold: not measured (intensity in % MSO not yet known)"
        )
    else:
        rmt_value, rmt_on = float(rmt[0]), rmt[1]
        sources.append(
            f"resting motor threshold: {rmt_value:g} % MSO (measured "
            f"{rmt_on.isoformat()})"
        )
    latest = _latest_scores(assessments)
    totals: dict[str, int | None] = {}
    for scale_id, name in ((_HAMD, "HAM-D 17"), (_HAMA, "HAM-A")):
        sc = latest.get(scale_id)
        if sc is None:
            totals[scale_id] = None
            unknown.append(f"{name}: no computed total in the registry")
            continue
        totals[scale_id] = _score_int(sc)
        note = (
            f"; {sc.later_not_computed} later assessment(s) could not be scored"
            if sc.later_not_computed
            else ""
        )
        sources.append(
            f"{name}: {totals[scale_id]} ({sc.visit_date.isoformat()}, "
            f"{sc.visit_kind}){note}"
        )
    pain = next((latest[s] for s in PAIN_SCALE_PREFERENCE if s in latest), None)
    if pain is None:
        unknown.append("pain intensity: no computed VAS or NRS score in the registry")
    else:
        sources.append(
            f"pain: {pain.scale_id} {pain.total:g} ({pain.visit_date.isoformat()}, "
            f"{pain.visit_kind})"
        )
    stated = {p.protocol_id for p in prior_treatments}
    unstated = [a for a in assignments if a.protocol_id not in stated]
    if unstated:
        ids = ", ".join(sorted({a.protocol_id for a in unstated}))
        unknown.append(
            f"response to earlier course(s) ({ids}): not recorded in the registry, "
            "so not used for ranking"
        )
    for p in prior_treatments:
        sources.append(f"prior course {p.protocol_id}: {p.response.value} (stated)")
    if not assignments and not prior_treatments:
        sources.append("prior rTMS courses: none in the registry")
    context = PatientContext(
        amputation=amputation,
        amputation_cause=cause,
        screening=status,
        rmt_pct_mso=rmt_value,
        prior_treatments=tuple(prior_treatments),
        hamd_total=totals[_HAMD],
        hama_total=totals[_HAMA],
        months_since_amputation=months,
        patient_id=pid,
    )
    pain_first = [latest[s] for s in PAIN_SCALE_PREFERENCE if s in latest]
    others = [latest[s] for s in sorted(latest) if s not in PAIN_SCALE_PREFERENCE]
    logger.info("Context of %s: %d unknown field(s).", pid, len(unknown))
    return RegistryContext(
        patient_id=pid,
        context=context,
        rmt_measured_on=rmt_on,
        screened_on=screened_on,
        latest_scores=tuple(pain_first + others),
        pain=pain,
        assignments=tuple(assignments),
        sources=tuple(sources),
        unknown=tuple(unknown),
        policy=SafetyPolicy() if policy is None else policy,
    )


def context_from_registry(
    registry: Registry,
    site: str,
    code: str,
    *,
    as_of: dt.date | None = None,
    prior_treatments: Sequence[PriorTreatment] = (),
) -> RegistryContext:
    """Build the planner's view of a registered patient.

    Parameters
    ----------
    registry : plptms.registry.Registry
        An open registry.
    site, code : str
        The patient.
    as_of : datetime.date | None
        Reference date for the time since amputation; today when ``None``.
    prior_treatments : sequence of PriorTreatment
        Earlier courses with response, as stated by the clinician.

    Returns
    -------
    context : RegistryContext
        See :func:`context_from_records`.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such patient.
    plptms.registry.RegistryError
        If the patient has no PLP history.
    """
    patient = registry.get_patient(site, code)
    return context_from_records(
        patient,
        registry.list_assessments(site, code),
        registry.latest_screening(site, code),
        registry.latest_rmt(site, code),
        registry.list_assignments(site, code),
        as_of=site_today(registry, site) if as_of is None else as_of,
        prior_treatments=prior_treatments,
        policy=registry.site_policy(site),
    )
