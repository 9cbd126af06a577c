"""The treatment plan of a patient's assigned protocol, for the web page and the API.

:func:`treatment_plan_for` is the guarded read: ``treatment.read`` first (the
plan reveals the protocol, so never the blinded rater), then the patient's site
(:func:`plptms.workflow._views._patient_in_scope`: another site's patient is
reported as a missing one), on the registry scoped to the user's sites.

The plan is built the way the clinician report builds it
(:func:`plptms.workflow.collect_report_data`): the planner's view of the
patient from :func:`plptms.workflow.context_from_registry`, then
:func:`plptms.planner.plan_for_patient` under the site's safety policy, and the
physician's review stored with the assignment when it covers what the verdict
asks to review. The protocol planned is the patient's latest assignment, as it
was assigned (its stored protocol and recorded overrides), so a protocol given
from a file is planned too. Nothing is stored and nothing here computes a
dose, a date or a verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ..planner import TreatmentPlan
from ..registry import RecordNotFoundError, RegistryError
from ..safety import PhysicianReview
from ..utils import check_type
from ._views import PatientSummary, _patient_in_scope
from ._views_clinic import VerdictView, verdict_view

if TYPE_CHECKING:
    from ..registry import AssignmentOut, Registry

__all__ = [
    "START_RANGE",
    "AssignedProtocol",
    "PlanView",
    "StartDateError",
    "treatment_plan_for",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: What the page and the API say when no protocol is assigned.
NO_ASSIGNMENT = (
    "No protocol is assigned to this patient: there is no plan yet. Assign a "
    "protocol (it is checked by the safety engine) to see its plan."
)

#: Start dates a calendar may be built from (a sanity bound, not a clinical rule:
#: it keeps every session and follow-up date a valid calendar date).
START_RANGE: tuple[dt.date, dt.date] = (dt.date(2000, 1, 1), dt.date(2100, 12, 31))


class StartDateError(ValueError):
    """A refused start date of the calendar (the message names ``start``)."""


class AssignedProtocol(BaseModel):
    """The assignment the plan is made for.

    Attributes
    ----------
    assignment_id : int
        The assignment.
    protocol_id : str
        The protocol assigned.
    protocol_name : str
        Its name.
    assigned_on : datetime.date
        Date of the assignment.
    decision : str
        Safety decision stored with the assignment.
    """

    model_config = _FROZEN

    assignment_id: int
    protocol_id: str
    protocol_name: str
    assigned_on: dt.date
    decision: str


class PlanView(BaseModel):
    """The treatment plan of a patient's current assignment, or why there is none.

    Attributes
    ----------
    patient : PatientSummary
        The patient.
    assignment : AssignedProtocol | None
        The latest assignment; ``None`` when no protocol is assigned.
    start_date : datetime.date | None
        First possible treatment day of the calendar (the assignment date
        unless another was asked for); ``None`` without an assignment.
    plan : plptms.planner.TreatmentPlan | None
        Blocks (% RMT, % MSO when the RMT is known), localisation, calendar,
        follow-ups, maintenance, warnings and target deviations; ``None`` when
        there is no plan (see ``problem``).
    verdict : VerdictView | None
        The safety verdict of the protocol at the patient's RMT (a refusal
        included).
    review : plptms.safety.PhysicianReview | None
        The physician's review stored with the assignment, when it covers what
        the verdict asks to review.
    problem : str | None
        Why there is no plan: no assignment, no PLP history, a screening
        exclusion, a safety refusal or a protocol that cannot be planned.
    rmt_measured_on : datetime.date | None
        Date of the RMT the % MSO values use.
    unknown : tuple of str
        What the registry does not hold (left unknown, never guessed).
    """

    model_config = _FROZEN

    patient: PatientSummary
    assignment: AssignedProtocol | None
    start_date: dt.date | None
    plan: TreatmentPlan | None
    verdict: VerdictView | None
    review: PhysicianReview | None
    problem: str | None
    rmt_measured_on: dt.date | None = None
    unknown: tuple[str, ...] = ()


def _assigned(a: AssignmentOut) -> AssignedProtocol:
    return AssignedProtocol(
        assignment_id=a.id,
        protocol_id=a.protocol_id,
        protocol_name=str(a.protocol.get("name", a.protocol_id)),
        assigned_on=a.assigned_on,
        decision=a.decision,
    )


def treatment_plan_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    *,
    start: dt.date | None = None,
) -> PlanView:
    """Return the treatment plan of a patient's latest assignment (guarded).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    start : datetime.date | None
        First possible treatment day of the calendar; the date of the
        assignment when ``None``.

    Returns
    -------
    view : PlanView
        The plan, or (``plan`` ``None``) the reason there is none: no protocol
        assigned, no PLP history, a screening exclusion, a safety refusal.

    Raises
    ------
    TypeError
        If ``start`` is not a date.
    StartDateError
        If ``start`` is outside :data:`START_RANGE`.
    plptms.access.AccessDeniedError
        If the role may not read treatment (a blinded rater).
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.TREATMENT_READ)
    if start is not None:
        check_type(start, dt.date, "start")
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    # another site's patient is a 404 like a missing one; then the permission
    # at the patient's site
    patient = _patient_in_scope(reg, principal, site, code)
    require(principal, Permission.TREATMENT_READ, site=site)
    lo, hi = START_RANGE
    if start is not None and not lo <= start <= hi:
        raise StartDateError(
            f"Invalid value for 'start': got {start.isoformat()}; allowed range is "
            f"[{lo.isoformat()}, {hi.isoformat()}]."
        )
    assignments = reg.list_assignments(site, code)
    if not assignments:
        return PlanView(
            patient=patient,
            assignment=None,
            start_date=None,
            plan=None,
            verdict=None,
            review=None,
            problem=NO_ASSIGNMENT,
        )
    latest = assignments[-1]
    day = latest.assigned_on if start is None else start
    return _plan_view(reg, patient, latest, day)


def _plan_view(
    reg: Registry, patient: PatientSummary, latest: AssignmentOut, start: dt.date
) -> PlanView:
    """Plan ``latest`` the way the clinician report plans (see the module)."""
    from ..planner import plan_for_patient
    from ..protocol import Protocol, load_library
    from ._planning import context_from_registry
    from ._reports import _assignment_review

    assignment = _assigned(latest)
    empty = PlanView(
        patient=patient,
        assignment=assignment,
        start_date=start,
        plan=None,
        verdict=None,
        review=None,
        problem=None,
    )
    try:
        context = context_from_registry(reg, patient.site, patient.code)
    except RecordNotFoundError:
        raise
    except RegistryError as exc:  # no PLP history: the hemisphere is unknown
        return empty.model_copy(update={"problem": str(exc)})
    # the protocol as it was assigned (a file's protocol included), with the
    # overrides recorded at assignment
    assigned = Protocol.model_validate(latest.protocol)
    lib = load_library()
    lib = dataclasses.replace(lib, protocols={**lib.protocols, assigned.id: assigned})
    stored = reg.assignment_verdict(latest.id)
    try:
        result = plan_for_patient(
            context.context,
            start_date=start,
            protocol_id=assigned.id,
            library=lib,
            overrides=stored.overrides,
            policy=context.policy,
        )
    except ValueError as exc:  # a recorded override no longer accepted
        return empty.model_copy(update={"problem": str(exc)})
    logger.info(
        "Plan of %s/%s from assignment %d.", patient.site, patient.code, latest.id
    )
    return empty.model_copy(
        update={
            "plan": result.plan,
            "verdict": None if result.verdict is None else verdict_view(result.verdict),
            "review": _assignment_review(reg, context, result),
            "problem": result.problem,
            "rmt_measured_on": context.rmt_measured_on,
            "unknown": context.unknown,
        }
    )
