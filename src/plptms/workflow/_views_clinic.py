"""Guarded clinic use cases for the web pages: screening and protocol assignment.

Each function checks the permission table first (:func:`plptms.access.require`),
then the patient's site (:func:`plptms.workflow._views._patient_in_scope`: a
patient at another site is reported as a missing one), and runs on the registry
scoped to the user's sites, with the signed-in user as the audited actor. The
clinical rules are those of :func:`plptms.workflow.record_screening` and
:func:`plptms.workflow.assign_protocol`; nothing here decides a verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ._views import PatientSummary, ScreeningView, _patient_in_scope

if TYPE_CHECKING:
    import datetime as dt

    from ..registry import Registry
    from ..safety import Verdict
    from ._clinic import AssignmentResult

__all__ = [
    "ANSWERS",
    "AssignPage",
    "RuleLine",
    "ScreeningFormView",
    "ScreeningItemField",
    "VerdictView",
    "assign_page",
    "assign_protocol_for",
    "record_screening_for",
    "screening_form",
    "verdict_view",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: The answers a screening item takes.
ANSWERS: tuple[str, ...] = ("no", "yes", "unknown")


class ScreeningItemField(BaseModel):
    """One screening item: its id, its shipped short label and its class."""

    model_config = _FROZEN

    id: str
    topic: str
    item_class: str


class ScreeningFormView(BaseModel):
    """The screening form of a patient, with the latest verdict."""

    model_config = _FROZEN

    patient: PatientSummary
    items: tuple[ScreeningItemField, ...]
    latest: ScreeningView | None


class RuleLine(BaseModel):
    """One safety rule of a verdict, as the pages list it."""

    model_config = _FROZEN

    rule_id: str
    block: str
    status: str
    message: str


class VerdictView(BaseModel):
    """A safety verdict: its decision and the rules behind it.

    Attributes
    ----------
    protocol_id : str
        The protocol checked.
    decision : str
        ``accepted``, ``review``, ``refused`` or ``incomplete``.
    policy_name : str
        The site's policy it was checked under.
    rmt_pct_mso : float | None
        The RMT it was checked at, % MSO.
    failures : tuple of RuleLine
        The failed rules (refused).
    to_review : tuple of RuleLine
        The rules asking for a physician's review.
    not_checked : tuple of RuleLine
        Rules not checked (unreported parameters, or no RMT).
    reviewed_by : str | None
        The physician whose review the verdict carries.
    """

    model_config = _FROZEN

    protocol_id: str
    decision: str
    policy_name: str
    rmt_pct_mso: float | None
    failures: tuple[RuleLine, ...]
    to_review: tuple[RuleLine, ...]
    not_checked: tuple[RuleLine, ...]
    reviewed_by: str | None


class AssignPage(BaseModel):
    """The protocol-assignment page of a patient."""

    model_config = _FROZEN

    patient: PatientSummary
    protocol_ids: tuple[str, ...]
    rmt_pct_mso: float | None
    assigned: tuple[str, ...]
    verdict: VerdictView | None


def _lines(rules: object) -> tuple[RuleLine, ...]:
    return tuple(
        RuleLine(
            rule_id=r.rule_id,
            block=r.block,
            status=r.status.value,
            message=r.message,
        )
        for r in rules  # type: ignore[attr-defined]
    )


def verdict_view(verdict: Verdict) -> VerdictView:
    """Turn a :class:`plptms.safety.Verdict` into what the pages show.

    Parameters
    ----------
    verdict : plptms.safety.Verdict
        The verdict.

    Returns
    -------
    view : VerdictView
        Decision, policy, RMT and the failed, to-review and unchecked rules.
    """
    return VerdictView(
        protocol_id=verdict.protocol_id,
        decision=verdict.decision.value,
        policy_name=verdict.policy_name,
        rmt_pct_mso=verdict.rmt_pct_mso,
        failures=_lines(verdict.failures),
        to_review=_lines(verdict.to_review),
        not_checked=_lines(verdict.not_checked),
        reviewed_by=None if verdict.review is None else verdict.review.physician,
    )


def _items() -> tuple[ScreeningItemField, ...]:
    from ..safety import load_screening_items

    return tuple(
        ScreeningItemField(id=i.id, topic=i.topic, item_class=i.item_class.value)
        for i in load_screening_items()
    )


def _latest(reg: Registry, site: str, code: str) -> ScreeningView | None:
    s = reg.latest_screening(site, code)
    if s is None:
        return None
    return ScreeningView(
        status=s.status.value, screened_on=s.screened_on, reasons=s.reasons
    )


def screening_form(
    reg: Registry, principal: Principal, site: str, code: str
) -> ScreeningFormView:
    """Return the screening form of a patient (items and the latest verdict).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.

    Returns
    -------
    form : ScreeningFormView
        The shipped items (id, short label, class) in questionnaire order.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record screenings.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.SCREENING_WRITE)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    patient = _patient_in_scope(reg, principal, site, code)
    return ScreeningFormView(
        patient=patient, items=_items(), latest=_latest(reg, site, code)
    )


def record_screening_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    answers: dict[str, str],
    *,
    screened_on: dt.date | None = None,
) -> ScreeningView:
    """Screen a patient and store the report, the signed-in user as the actor.

    Every shipped item must be answered (``no``, ``yes`` or ``unknown``): a form
    left half-filled is refused rather than read as ``unknown``.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (the audited actor).
    site, code : str
        The patient.
    answers : dict of str to str
        Item id to answer.
    screened_on : datetime.date | None
        Date of screening (the site's today when ``None``); not in the future.

    Returns
    -------
    screening : ScreeningView
        The verdict stored: eligible, needs physician review or excluded, with
        the reasons.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record screenings.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    ValueError
        If an item is missing or unknown, or an answer is not allowed (the
        message names the item); nothing is stored.
    """
    from ..safety import ScreeningAnswers
    from ._clinic import record_screening

    require(principal, Permission.SCREENING_WRITE)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    ids = [i.id for i in _items()]
    unknown = sorted(set(answers) - set(ids))
    if unknown:
        raise ValueError(
            f"Invalid value for 'answers': got item {unknown[0]!r}; allowed items "
            f"are {', '.join(ids)}."
        )
    for item_id in ids:
        value = answers.get(item_id)
        if value not in ANSWERS:
            raise ValueError(
                f"Invalid value for 'answers.{item_id}': got {value!r}; allowed "
                f"values are {', '.join(ANSWERS)}."
            )
    parsed = ScreeningAnswers(answers=dict(answers), screened_on=screened_on)
    _, report = record_screening(reg, site, code, parsed, actor=principal.username)
    return ScreeningView(
        status=report.status.value,
        screened_on=report.screened_on,
        reasons=report.reasons,
    )


def _library_ids() -> tuple[str, ...]:
    from ..protocol import load_library

    return tuple(sorted(load_library().protocols))


def _protocol(protocol_id: str) -> object:
    from ..protocol import load_library
    from ..utils import check_option

    ids = _library_ids()
    check_option(protocol_id, "protocol_id", ids)
    return load_library().protocol(protocol_id)


def assign_page(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    protocol_id: str | None = None,
) -> AssignPage:
    """Return the assignment page, with a protocol's verdict at the patient's RMT.

    Nothing is stored: the verdict is the one :func:`plptms.workflow.assign_protocol`
    would compute now (the site's policy, the patient's latest RMT).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    protocol_id : str | None
        A library protocol to check; ``None`` for the list only.

    Returns
    -------
    page : AssignPage
        The library's protocol ids, the RMT, what is assigned, the verdict.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not assign protocols.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    ValueError
        If ``protocol_id`` is not a library protocol (the message lists them).
    """
    from ._safety import check_for_site

    require(principal, Permission.PROTOCOL_ASSIGN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    patient = _patient_in_scope(reg, principal, site, code)
    rmt = reg.latest_rmt(site, code)
    verdict = None
    if protocol_id:
        proto = _protocol(protocol_id)
        verdict = verdict_view(
            check_for_site(
                reg,
                site,
                proto,  # type: ignore[arg-type]
                rmt_pct_mso=None if rmt is None else rmt[0],
            )
        )
    return AssignPage(
        patient=patient,
        protocol_ids=_library_ids(),
        rmt_pct_mso=None if rmt is None else rmt[0],
        assigned=tuple(a.protocol_id for a in reg.list_assignments(site, code)),
        verdict=verdict,
    )


def assign_protocol_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    protocol_id: str,
    *,
    review_reason: str | None = None,
) -> AssignmentResult:
    """Assign a library protocol, the signed-in physician as actor and reviewer.

    A verdict that needs review is assigned only with ``review_reason``: the
    review is recorded as :class:`plptms.safety.PhysicianReview` by the
    signed-in user (the same review ``plptms assign --review-physician`` records).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in physician (actor and reviewer).
    site, code : str
        The patient.
    protocol_id : str
        A library protocol.
    review_reason : str | None
        Why it may proceed despite what the verdict asks to review.

    Returns
    -------
    result : plptms.workflow.AssignmentResult
        The assignment and its stored verdict.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not assign protocols.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    AssignmentRefusedError
        If the verdict is refused, incomplete, or needs a review not given
        (nothing stored; ``verdict`` says why).
    ValueError
        On an unknown protocol or a bad review reason (nothing stored).
    """
    from ..safety import PhysicianReview
    from ._clinic import assign_protocol

    require(principal, Permission.PROTOCOL_ASSIGN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    proto = _protocol(protocol_id)
    review = None
    text = (review_reason or "").strip()
    if text:
        review = PhysicianReview(physician=principal.username, reason=text)
    return assign_protocol(
        reg,
        site,
        code,
        proto,  # type: ignore[arg-type]
        actor=principal.username,
        review=review,
    )
