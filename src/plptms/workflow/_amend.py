"""Amend an assigned dose: recorded, reasoned, only lower, checked again.

A clinic lowers the intensity for tolerability, gives fewer trains, or sets the
trigger rule of closed-loop sessions without assigning the protocol again: an
amendment (:class:`plptms.protocol.DoseAmendment`). It is refused when any value
would raise the dose; the amended protocol is checked by the safety engine again
under the site's policy, with the assignment's overrides and its physician review
(carried only while it covers every rule that asks for review); only then is it
stored. Every session from ``from_session`` on is planned from the amended dose
(:func:`plptms.workflow.prepare_start`), and the plan names the amendment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..protocol import AmendmentRefusedError, DoseAmendment, amend_protocol
from ..safety import Decision, Verdict

if TYPE_CHECKING:
    from ..protocol import Protocol
    from ..registry import AmendmentOut, Registry

__all__ = ["AmendmentResult", "amend_dose", "amended_protocol"]


class AmendmentResult(BaseModel):
    """An amendment stored with the verdict on the amended dose.

    Attributes
    ----------
    amendment_id : int
        The stored amendment.
    assignment_id : int
        The assignment it changes.
    amendment : plptms.protocol.DoseAmendment
        What changed and why.
    verdict : plptms.safety.Verdict
        The safety engine's verdict on the amended protocol (with the patient's
        latest RMT when there is one).
    """

    model_config = ConfigDict(frozen=True)

    amendment_id: int
    assignment_id: int
    amendment: DoseAmendment
    verdict: Verdict


def amended_protocol(
    reg: Registry, assignment_id: int, protocol: Protocol, number: int
) -> tuple[Protocol, AmendmentOut | None]:
    """Return the protocol as it applies to session ``number`` of an assignment.

    Parameters
    ----------
    reg : Registry
        The registry.
    assignment_id : int
        The assignment.
    protocol : plptms.protocol.Protocol
        The protocol as assigned.
    number : int
        Session number, from 1.

    Returns
    -------
    protocol : plptms.protocol.Protocol
        With the amendment in force applied (the protocol itself when none).
    amendment : plptms.registry.AmendmentOut | None
        The amendment applied.
    """
    found = reg.amendment_for_session(assignment_id, number)
    if found is None:
        return protocol, None
    return amend_protocol(protocol, found.amendment), found


def amend_dose(
    reg: Registry,
    site: str,
    code: str,
    protocol_id: str,
    amendment: DoseAmendment,
    *,
    actor: str,
) -> AmendmentResult:
    """Check and record a lower dose for an assigned protocol.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.
    protocol_id : str
        The assigned protocol.
    amendment : plptms.protocol.DoseAmendment
        The lower values, the first session they apply to and the reason.
    actor : str
        Who records it.

    Returns
    -------
    result : AmendmentResult
        The stored amendment and the verdict on the amended dose.

    Raises
    ------
    plptms.protocol.AmendmentRefusedError
        If a value would raise the dose, or the amended dose is not accepted by
        the safety engine (refused, incomplete, or needing a physician review
        that the assignment's review does not cover).
    plptms.registry.RegistryError
        On an unknown patient, an unassigned protocol or a bad actor.
    """
    from ._safety import check_for_site, verdict_for_assignment

    if not isinstance(amendment, DoseAmendment):
        raise TypeError(
            f"Invalid value for 'amendment': got {type(amendment).__name__}; "
            "allowed: plptms.protocol.DoseAmendment."
        )
    aid, proto = reg.find_assignment(site, code, protocol_id)
    amended = amend_protocol(proto, amendment)
    rmt = reg.latest_rmt(site, code)
    if rmt is not None:
        verdict = verdict_for_assignment(reg, site, aid, amended, rmt[0])
    else:
        stored = reg.assignment_verdict(aid)
        verdict = check_for_site(
            reg,
            site,
            amended,
            rmt_pct_mso=None,
            overrides=stored.overrides,
            review=stored.review,
        )
    missing = [r for r in verdict.not_checked if not r.needs_patient]
    if verdict.decision is Decision.REFUSED or missing:
        what = "; ".join(
            f"[{r.block}] {r.rule_id}" for r in (*verdict.failures, *missing)
        )
        raise AmendmentRefusedError(
            f"The amended dose of {protocol_id!r} is not accepted by the safety "
            f"engine: {what}. Nothing was recorded."
        )
    if verdict.decision is Decision.REVIEW:
        what = "; ".join(f"[{r.block}] {r.rule_id}" for r in verdict.to_review)
        raise AmendmentRefusedError(
            f"The amended dose of {protocol_id!r} needs a physician's review that "
            f"the assignment's review does not cover ({what}): assign the protocol "
            "again with that review instead. Nothing was recorded."
        )
    amendment_id = reg.record_amendment(aid, amendment, actor=actor)
    return AmendmentResult(
        amendment_id=amendment_id,
        assignment_id=aid,
        amendment=amendment,
        verdict=verdict,
    )
