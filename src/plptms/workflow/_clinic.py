"""Clinical use cases before delivery: record a screening, assign a protocol.

Each use case checks what the guidelines require before it writes, writes through
the registry, and returns a typed result; shells call these, not the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..safety import Decision, SafetyError, Verdict
from ._sites import site_today

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from ..protocol import Protocol
    from ..registry import Registry
    from ..safety import (
        Override,
        PhysicianReview,
        RuleResult,
        ScreeningAnswers,
        ScreeningReport,
    )

__all__ = [
    "AssignmentRefusedError",
    "AssignmentResult",
    "assign_protocol",
    "record_screening",
]


class AssignmentRefusedError(SafetyError):
    """A protocol cannot be assigned as it stands; ``verdict`` says why."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class AssignmentResult(BaseModel):
    """A protocol assigned with its verdict.

    Attributes
    ----------
    assignment_id : int
        The assignment.
    verdict : plptms.safety.Verdict
        The verdict stored with it (with the physician's review, if one was
        needed).
    """

    model_config = ConfigDict(frozen=True)

    assignment_id: int
    verdict: Verdict


def record_screening(
    reg: Registry,
    site: str,
    code: str,
    answers: ScreeningAnswers,
    *,
    actor: str,
) -> tuple[int, ScreeningReport]:
    """Screen a patient and store the report.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.
    answers : plptms.safety.ScreeningAnswers
        The answers (dated; the site's today when undated).
    actor : str
        Who records it.

    Returns
    -------
    id, report : int, plptms.safety.ScreeningReport
        Row id and the report (eligible, needs physician review or excluded).
    """
    from ..safety import screen

    if answers.screened_on is None:
        answers = answers.model_copy(update={"screened_on": site_today(reg, site)})
    report = screen(answers)
    return reg.record_screening(site, code, report, actor=actor), report


def _rules(rules: Sequence[RuleResult]) -> str:
    return "; ".join(f"[{r.block}] {r.rule_id}" for r in rules)


def assign_protocol(
    reg: Registry,
    site: str,
    code: str,
    protocol: Protocol,
    *,
    actor: str,
    overrides: Sequence[Override] = (),
    review: PhysicianReview | None = None,
    assigned_on: dt.date | None = None,
) -> AssignmentResult:
    """Check a protocol under the site's policy and assign it to a patient.

    The verdict is computed with the patient's latest RMT (when there is one)
    and the recorded overrides. Only a verdict that can lead to delivery is
    stored: a refused protocol, or one that cannot be fully checked (unreported
    parameters), is not assigned; one that needs physician review is assigned
    only with the physician's recorded review, which is stored with it and
    carried to each session while it covers what needs review.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.
    protocol : plptms.protocol.Protocol
        The protocol (a library protocol or a validated file).
    actor : str
        Who assigns.
    overrides : sequence of plptms.safety.Override
        Recorded operator overrides of overridable refusals.
    review : plptms.safety.PhysicianReview | None
        The physician's review of what the verdict asks to review.
    assigned_on : datetime.date | None
        Date (today when ``None``).

    Returns
    -------
    result : AssignmentResult
        The assignment and its stored verdict.

    Raises
    ------
    AssignmentRefusedError
        If the verdict is refused, incomplete, or needs a review not given.
    plptms.registry.RegistryError
        On an unknown patient or bad input.
    """
    from ._safety import check_for_site

    rmt = reg.latest_rmt(site, code)
    verdict = check_for_site(
        reg,
        site,
        protocol,
        rmt_pct_mso=None if rmt is None else rmt[0],
        overrides=overrides,
        review=review,
    )
    if verdict.decision is Decision.REFUSED:
        raise AssignmentRefusedError(
            f"Protocol {protocol.id!r} is refused by the safety engine and cannot be "
            f"assigned: {_rules(verdict.failures)} (an overridable refusal "
            "needs a recorded override, then a physician review).",
            verdict,
        )
    if verdict.decision is Decision.INCOMPLETE:
        missing = "; ".join(
            f"[{r.block}] {r.field}" for r in verdict.not_checked if not r.needs_patient
        )
        raise AssignmentRefusedError(
            f"Protocol {protocol.id!r} cannot be fully checked ({missing} "
            "unreported): give every train parameter before assigning it.",
            verdict,
        )
    if verdict.decision is Decision.REVIEW:
        raise AssignmentRefusedError(
            f"Protocol {protocol.id!r} needs a physician's review before it is "
            f"assigned: {_rules(verdict.to_review)}; "
            "record the physician and the reason.",
            verdict,
        )
    aid = reg.assign_protocol(
        site, code, protocol, verdict, actor=actor, assigned_on=assigned_on
    )
    return AssignmentResult(assignment_id=aid, verdict=verdict)
